-- sweep_validate.lua — a sweep fails before its first point trains (issue 21): an
-- unknown template, an out-of-range eval option, a bad value on an axis (dropout = 0)
-- and an unwritable results file are found by sweep:run up front; an empty axis is
-- an error of mto.sweep itself. TAP.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
local tiny = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/sweep_tiny.lua")
tiny.need_data(T)
local dir = T.tmpdir("sweep-validate")
local tokpath = tiny.tokenizer(dir .. "/tok")
local trained = 0
local sweep = require "mto.sweep"
local finetune = sweep.methods.finetune
sweep.methods.finetune = function(ctx) trained = trained + 1; return finetune(ctx) end

local function spec(change)
  local s = tiny.spec(tokpath, {epochs = 1})
  s.shots, s.seeds = {4}, {1}
  if change then change(s) end
  return s
end
local function refused(change, pat, name, res)
  trained = 0
  local good, e = pcall(function() return mto.sweep(spec(change)):run{results = res or (dir .. "/" .. T.count()), quiet = true} end)
  ok(not good and tostring(e):find(pat, 1, true) and trained == 0, name .. " (no point trained): " .. tostring(e))
end
-- the second template is unknown: the first must not train
refused(function(s) s.templates = {"mapping", "no_such_template"} end, "template 'no_such_template'", "an unknown template")
refused(function(s) s.eval.max_len = 1e9 end, "eval.max_len must be an integer 1..100000", "eval.max_len = 1e9")
refused(function(s) s.eval.beams = 0 end, "eval.beams", "eval.beams = 0")
refused(function(s) s.axes = {dropout = {false, 0}} end, "option dropout: expected true or false", "dropout = 0 on an axis")
refused(function(s) s.axes = {epochs = {1, 2^32 + 1}} end, "option epochs = 4294967297 out of range", "epochs = 2^32+1 on an axis")
refused(function(s) s.train.no_such_option = 1 end, "unknown option 'no_such_option'", "an unknown training option")
refused(function(s) s.tasks.xIntent.reader = "no_such_reader" end, "no reader plugin named 'no_such_reader'", "an unknown reader")
-- a refused run records no spec: the corrected sweep runs in the same directory
trained = 0
local bad = dir .. "/fixme"
pcall(function() return mto.sweep(spec(function(s) s.eval.max_len = 1e9 end)):run{results = bad, quiet = true} end)
local gf, sf = pcall(function() return mto.sweep(spec()):run{results = bad, quiet = true} end)
ok(gf and sf.ran == 2, "after a refused run the corrected sweep runs in the same directory: " .. tostring(gf and sf.ran or sf))
local ge, ee = pcall(mto.sweep, spec(function(s) s.seeds = {} end))
ok(not ge and tostring(ee):find("'seeds' is empty", 1, true), "seeds = {} is an error: " .. tostring(ee))
local gs, es = pcall(mto.sweep, spec(function(s) s.shots = {} end))
ok(not gs and tostring(es):find("'shots' is empty", 1, true), "shots = {} is an error: " .. tostring(es))

-- an unwritable results.csv (root writes anyway: skipped then)
local res = dir .. "/ro"
local first = mto.sweep(spec()):run{results = res, quiet = true}
ok(first.ran == 2, "a first run trains 2 points")
os.execute("chmod 444 '" .. res .. "/results.csv'")
local probe = io.open(res .. "/results.csv", "a")
if probe then
  probe:close()
  T.skip("running as root: a read-only results.csv is still writable")
else
  refused(function(s) s.seeds = {1, 2} end, "cannot write results", "a read-only results.csv", res)
end
-- results.csv that cannot be written even by root: a directory in its place
local rd = dir .. "/isdir"
mto._mkdir(rd .. "/results.csv")
refused(nil, rd .. "/results.csv: cannot write: Is a directory", "results.csv is a directory", rd)
os.execute("chmod -R u+w '" .. dir .. "'; rm -rf '" .. dir .. "'")
T.done()
