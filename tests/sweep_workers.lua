-- sweep_workers.lua — sweep:run{workers = N} (TAP): the tiny sweep run by two forked
-- worker processes gives the same rows and predictions as one process with the same
-- thread count, leaves no parts behind, resumes, and a worker that dies is reported
-- with its rows kept for the rerun.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, is = T.ok, T.is
local slurp = require("mto.fs").read_file

-- options and helpers that need no data
ok(mto.ncpu() >= 1, "mto.ncpu() = " .. mto.ncpu())
local before = mto.threads()
is(mto.threads(1), before, "mto.threads(n) returns the previous count")
is(mto.threads(), 1, "mto.threads() reads it back")
local e0, m0 = pcall(mto.threads, 0)
ok(not e0 and m0:find("thread count"), "mto.threads(0) rejected: " .. tostring(m0))

local tiny = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/sweep_tiny.lua")
tiny.need_data(T)
local tmp = os.tmpname()
local dir = tmp .. ".d"
local tokpath = tiny.tokenizer(tmp)

local eb, mb = pcall(function() return tiny.sweep(tokpath):run{results = dir .. "/bad", workers = "two"} end)
ok(not eb and mb:find("workers must be", 1, true), "workers = 'two' rejected: " .. tostring(mb))

-- the reference: one process, one thread (workers train with one thread each)
local serial = tiny.sweep(tokpath):run{results = dir .. "/serial", quiet = true, workers = 1}
local t1 = mto._clock()
local par = tiny.sweep(tokpath):run{results = dir .. "/workers", quiet = true, workers = 2}
T.diag(string.format("workers = 2: %.2f s", mto._clock() - t1))
is(par.workers, 2, "two workers ran")
is(par.ran, 8, "all 8 points ran")
is(#par.rows, 8, "8 rows merged into results.csv")
local TIMES = {wall = true, train_wall = true, finished = true}
local same, preds = #serial.rows == #par.rows, true
for i, a in ipairs(serial.rows) do
  local b = par.rows[i] or {}
  for k, v in pairs(a) do
    if not TIMES[k] and b[k] ~= v then
      same = false
      T.diag(string.format("row %d %s: %s vs %s", i, k, tostring(v), tostring(b[k])))
    end
  end
  preds = preds and slurp(dir .. "/serial/" .. a.predictions) == slurp(dir .. "/workers/" .. (b.predictions or "?"))
end
ok(same, "rows equal the one-process run's, in the sweep's order (times aside)")
ok(preds, "predictions files equal")
is(#(mto._listdir(dir .. "/workers/parts") or {}), 0, "no part files left")
local again = tiny.sweep(tokpath):run{results = dir .. "/workers", quiet = true, workers = 2}
ok(again.ran == 0 and again.skipped == 8, "resume with workers: nothing retrained")

-- a worker that dies: the parent names it, the other worker's rows stay, a rerun finishes
local sweep = require "mto.sweep"
sweep.methods.dies = function(ctx)
  if ctx.point.seed == 2 and ctx.point.shots == 8 then os.exit(3, false) end
  return ctx.model:train(ctx.train, ctx.opts)
end
local spec = tiny.spec(tokpath)
spec.methods = {"dies"}
local ed, md = pcall(function() return mto.sweep(spec):run{results = dir .. "/dies", quiet = true, workers = 2} end)
ok(not ed and md:find("worker %d/2 exited with status 3") and md:find("rerun to resume", 1, true),
   "a dead worker is reported: " .. tostring(md))
local kept = require("mto.results").load(dir .. "/dies")
ok(#kept >= 4 and #kept < 8, "the points that finished were kept (" .. #kept .. " of 8)")
sweep.methods.dies = function(ctx) return ctx.model:train(ctx.train, ctx.opts) end
local rest = mto.sweep(spec):run{results = dir .. "/dies", quiet = true, workers = 2}
ok(rest.ran == 8 - #kept and #rest.rows == 8, "the rerun trains only the rest (" .. rest.ran .. ")")

mto.threads(before)
if not os.getenv("KEEP") then os.execute("rm -rf '" .. dir .. "' '" .. tmp .. "' '" .. tmp .. ".txt' '" .. tmp .. ".model' '" .. tmp .. ".vocab'") end
T.done()
