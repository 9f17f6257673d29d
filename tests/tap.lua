-- tests/tap.lua — the TAP helpers every Lua test shares (one copy instead of one per
-- file). Load it from the source tree, which the harness names in MTO_SRCDIR (so it
-- is found from a VPATH build too):
--   local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
--   local ok, is = T.ok, T.is
-- Each dofile gives a fresh counter. End the file with T.done().
local T = {}
local n, failed, planned = 0, 0, nil

-- T.plan(k): announce k tests up front; T.done() fails unless exactly k ran.
function T.plan(k) planned = k; print("1.." .. k) end

-- T.skip_all(why): the whole file is skipped for a reason that must be given; exits 0.
function T.skip_all(why)
  print("1..0 # SKIP " .. assert(why, "skip_all needs a reason"))
  os.exit(0)
end

-- T.diag(...): its arguments as "# " comment lines (multi-line text stays commented).
function T.diag(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  local text = table.concat(parts, " "):gsub("\n$", "")
  for line in (text .. "\n"):gmatch("(.-)\n") do print("# " .. line) end
end

-- T.ok(cond, name): one test, passing when cond is truthy; returns cond.
function T.ok(cond, name)
  n = n + 1
  if not cond then failed = failed + 1 end
  print(string.format("%sok %d - %s", cond and "" or "not ", n, tostring(name)))
  return cond
end

-- T.is(got, want, name): one test, got == want; on failure both are shown. Returns the verdict.
function T.is(got, want, name)
  local good = got == want
  if not T.ok(good, name) then T.diag(string.format("got %s, want %s", tostring(got), tostring(want))) end
  return good
end

-- T.near(got, want, tol, name): one test, |got - want| <= tol (both numbers). Returns the verdict.
function T.near(got, want, tol, name)
  local good = type(got) == "number" and type(want) == "number" and math.abs(got - want) <= tol
  if not T.ok(good, name) then
    T.diag(string.format("got %s, want %s (tol %g)", tostring(got), tostring(want), tol))
  end
  return good
end

-- T.like(text, s, name): one test, text contains the plain string s. Returns the verdict.
function T.like(text, s, name)
  local good = type(text) == "string" and text:find(s, 1, true) ~= nil
  if not T.ok(good, name) then T.diag(string.format("%q does not contain %q", tostring(text), s)) end
  return good
end

-- T.raises(s, f, ...): no test of its own: true when f(...) raises an error whose text
-- contains the plain string s (else a diagnostic and false); the message is returned second.
function T.raises(s, f, ...)
  local good, msg = pcall(f, ...)
  if good then T.diag("no error") return false, nil end
  if not tostring(msg):find(s, 1, true) then T.diag("error was: " .. tostring(msg)) return false, msg end
  return true, msg
end

-- T.skip(why): one skipped test (it counts, it does not pass silently: the reason is shown).
function T.skip(why)
  n = n + 1
  print(string.format("ok %d # SKIP %s", n, assert(why, "skip needs a reason")))
end

-- T.tmpdir(tag) -> a new directory $TMPDIR/mto-TAG-XXXXXX for the test's files (the test removes it).
function T.tmpdir(tag)
  local name = os.tmpname() -- a unique name (mkstemp); the file itself is not needed
  os.remove(name)
  local dir = string.format("%s/mto-%s-%s", os.getenv("TMPDIR") or "/tmp", tag, name:match("[^/]+$"))
  require("mto.fs").mkdir(dir)
  return dir
end

-- T.count(): how many tests have run so far.
function T.count() return n end

-- T.done(): done_testing: prints the plan when none was announced, then exits 1 if a
-- test failed or the count differs from an announced plan, 0 otherwise.
function T.done()
  if planned == nil then
    print("1.." .. n)
  elseif n ~= planned then
    T.diag(string.format("planned %d tests but ran %d", planned, n))
    failed = failed + 1
  end
  os.exit(failed == 0 and 0 or 1)
end

return T
