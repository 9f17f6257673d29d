-- deadends.lua — measure the default study's three dead ends on its base models
-- (experiments/lib/deadends.lua): multiple choice by rank classification, prompt
-- tuning with the known remedies, and the paper's adaptation step.
--
--   mto run experiments/deadends.lua [--cache DIR] [--results DIR] [--only mcqa,prompt,adapt]
--                                    [--seeds N (5)] [--pt-seeds N (3)] [--workers N] [--quick] [--quiet]
--
-- The world and base models are the default experiment's (built and cached by
-- experiments/quickstart.lua or experiments/pretrain.lua in --cache, else built
-- here the same way). Results go to RESULTS (default CACHE/deadends-<world>/); a
-- rerun skips finished points. The report (markdown tables with 95% CIs) is
-- printed and written to RESULTS/deadends.md. For reported numbers run it with
-- OPENBLAS_CORETYPE=Haswell (the sgemm kernel decides the base models' bits).
local mto = require "mto"
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"
local D = require "deadends"

local o = {cache = os.getenv("MTO_CACHE") or "mto-cache", synsets = 300, seeds = 5, pt_seeds = 3, mcqa_seeds = 3,
           workers = "auto", only = {mcqa = true, prompt = true, adapt = true}}
local i = 1
while arg[i] do
  local a = arg[i]
  local function val() i = i + 1; return arg[i] or error("deadends: " .. a .. " needs a value", 0) end
  local function int() local v = math.tointeger(tonumber(val())); if not v or v < 1 then
    error("deadends: " .. a .. " needs a positive integer", 0) end return v end
  if a == "--cache" then o.cache = val()
  elseif a == "--results" then o.results = val()
  elseif a == "--seeds" then o.seeds = int()
  elseif a == "--pt-seeds" then o.pt_seeds = int()
  elseif a == "--mcqa-seeds" then o.mcqa_seeds = int()
  elseif a == "--workers" then local v = val(); o.workers = v == "auto" and v or math.tointeger(tonumber(v))
  elseif a == "--only" then
    o.only = {}
    for p in val():gmatch("[^,]+") do
      if p ~= "mcqa" and p ~= "prompt" and p ~= "adapt" then error("deadends: --only takes mcqa, prompt, adapt", 0) end
      o.only[p] = true
    end
  elseif a == "--quick" then o.quick = true
  elseif a == "--quiet" then o.quiet = true
  else error("deadends: unknown option " .. a .. " (see the comment at the top of the script)", 0) end
  i = i + 1
end

local t_start = mto._clock()
local function say(...) print(string.format(...)); io.stdout:flush() end
local wname = string.format("world-%d-s%d", o.synsets, 1)
mto._mkdir(o.cache)
local w = world.build{dir = o.cache .. "/" .. wname, synsets = o.synsets, seed = 1}
local mdir = o.cache .. "/" .. wname .. (o.quick and "/models-quick" or "/models")
local models, log = B.ensure(w, {dir = mdir, stage1 = o.quick and 300 or nil, stage2 = o.quick and 100 or nil,
                                 quiet = o.quiet})
models.random = mto.new(models.v1_1.config, 12345)
models.random.tokenizer = w.tok
for _, n in ipairs{"v1_1", "lm_adapt", "t5", "random"} do models[n]:trim() end
local results = o.results or (o.cache .. "/deadends-" .. wname .. (o.quick and "-quick" or ""))
mto._mkdir(results)

local function seq(n) local t = {} for k = 1, n do t[k] = k end return t end
local opts = {results = results, seeds = seq(o.quick and math.min(o.seeds, 2) or o.seeds),
              pt_seeds = seq(o.quick and 1 or o.pt_seeds),
              mcqa_seeds = seq(o.quick and 1 or o.mcqa_seeds), shots = 30, workers = o.workers, quiet = o.quiet}
if o.quick then
  opts.mcqa_test, opts.adapt_steps = 20, 50
  opts.pt_settings = {D.PT_SETTINGS[1], D.PT_SETTINGS[2]}
end

local load = io.open("/proc/loadavg") and io.open("/proc/loadavg"):read("l") or "?"
local header = string.format("deadends: %s, base models in %s%s; results in %s/\nstarted %s UTC, " ..
                             "OPENBLAS_CORETYPE=%s, workers %s, load average at start %s",
                             wname, mdir, log.v1_1.cached and " (cached)" or " (pre-trained now)", results,
                             os.date("!%Y-%m-%d %H:%M"), os.getenv("OPENBLAS_CORETYPE") or "(unset)",
                             tostring(o.workers), load)
say("%s", header)
local report = {"# Dead ends, measured\n", header:gsub("\n", "; ") .. "\n"}
for _, ph in ipairs{{"mcqa", "Multiple choice by rank classification"}, {"prompt", "Prompt tuning with the known remedies"},
                    {"adapt", "The adaptation arm"}} do
  if o.only[ph[1]] then
    local r = D[ph[1]](models, w, opts)
    local sec = string.format("## %s (%.0f s)\n\n%s\n", ph[2], r.wall, r.text)
    report[#report + 1] = sec
    say("\n%s", sec)
  end
end
local endload = io.open("/proc/loadavg") and io.open("/proc/loadavg"):read("l") or "?"
report[#report + 1] = string.format("Total wall time %.0f s; load average at the end %s.\n", mto._clock() - t_start, endload)
mto._write_file(results .. "/deadends.md", table.concat(report, "\n"))
say("total %.0f s; report in %s/deadends.md", mto._clock() - t_start, results)
