-- deadends.lua — measure the default study's three dead ends on its base models
-- (experiments/lib/deadends.lua): multiple choice by rank classification, prompt
-- tuning with the known remedies, and the paper's adaptation step.
--
--   mto run experiments/deadends.lua [--cache DIR] [--results DIR] [--only mcqa,prompt,adapt]
--                                    [--replicates R (3)] [--seeds N (3)] [--pt-seeds N (3)]
--                                    [--mcqa-seeds N (3)] [--workers N] [--quick] [--quiet]
--
-- The worlds and base models are the default experiment's heldout ones, replicate
-- r = 1..R (built and cached by experiments/quickstart.lua in --cache, else built
-- here the same way). Results go to RESULTS (default CACHE/deadends-r<R>/), one
-- directory per replicate; a rerun skips finished points. Rank classification,
-- prompt tuning and adaptation are pooled over replicates x seeds; the multiple-
-- choice sweeps are reported per replicate. The report is printed and written to
-- RESULTS/deadends.md. For reported numbers run it with OPENBLAS_CORETYPE=Haswell
-- (the sgemm kernel decides the base models' bits).
local mto = require "mto"
local fs = require "mto.fs"
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"
local D = require "deadends"

local o = {cache = os.getenv("MTO_CACHE") or "mto-cache", synsets = 300, forms = 3, replicates = 3, seeds = 3,
           pt_seeds = 3, mcqa_seeds = 3, workers = "auto", only = {mcqa = true, prompt = true, adapt = true}}
local i = 1
while arg[i] do
  local a = arg[i]
  local function val() i = i + 1; return arg[i] or error("deadends: " .. a .. " needs a value", 0) end
  local function int() local v = math.tointeger(tonumber(val())); if not v or v < 1 then
    error("deadends: " .. a .. " needs a positive integer", 0) end return v end
  if a == "--cache" then o.cache = val()
  elseif a == "--results" then o.results = val()
  elseif a == "--replicates" then o.replicates = int()
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

local t_start = fs.clock()
local function say(...) print(string.format(...)); io.stdout:flush() end
local function seq(n) local t = {} for k = 1, n do t[k] = k end return t end
fs.mkdir(o.cache)
mto.threads(1) -- as the default study: no number depends on the core count
local R = o.replicates
local results = o.results or string.format("%s/deadends-r%d%s", o.cache, R, o.quick and "-quick" or "")
fs.mkdir(results)
local opts = {seeds = seq(o.quick and math.min(o.seeds, 2) or o.seeds), pt_seeds = seq(o.quick and 1 or o.pt_seeds),
              mcqa_seeds = seq(o.quick and 1 or o.mcqa_seeds), shots = 30, workers = o.workers, quiet = o.quiet,
              text = false}
if o.quick then
  opts.mcqa_test, opts.adapt_steps = 20, 50
  opts.pt_settings = {D.PT_SETTINGS[2], D.PT_DEFAULT}
end
local settings = opts.pt_settings or D.PT_SETTINGS

local load = io.open("/proc/loadavg") and io.open("/proc/loadavg"):read("l") or "?"
local header = string.format("deadends: %d replicate%s of the default study's heldout base models (world-%d-f%d-s<r>); " ..
                             "results in %s/\nstarted %s UTC, OPENBLAS_CORETYPE=%s, workers %s, load average at start %s",
                             R, R == 1 and "" or "s", o.synsets, o.forms, results, os.date("!%Y-%m-%d %H:%M"),
                             os.getenv("OPENBLAS_CORETYPE") or "(unset)", tostring(o.workers), load)
say("%s", header)
local report = {"# Dead ends, measured\n", header:gsub("\n", "; ") .. "\n"}
local function section(title, text, wall)
  local sec = string.format("## %s (%.0f s)\n\n%s\n", title, wall, text)
  report[#report + 1] = sec
  say("\n%s", sec)
end

local ranks, pt, ad = {}, {rows = {}, base = {}, walls = {}}, {rows = {}, probes = {}, info = {}, src = {}, cost = {}}
local walls = {mcqa = 0, prompt = 0, adapt = 0}
for r = 1, R do
  local wname = world.dirname(o.synsets, o.forms, r)
  local w = world.build{dir = o.cache .. "/" .. wname, synsets = o.synsets, seed = r, forms = o.forms}
  local mdir = string.format("%s/%s/models-heldout%s", o.cache, wname, o.quick and "-quick" or "")
  local models, log = B.ensure(w, {dir = mdir, condition = "heldout", seed = r, stage1 = o.quick and 300 or nil,
                                   stage2 = o.quick and 100 or nil, quiet = o.quiet})
  say("replicate %d: base models in %s%s", r, mdir, log.v1_1.cached and " (cached)" or " (pre-trained now)")
  models.random = mto.new(models.v1_1.config, 12345 + r)
  models.random.tokenizer = w.tok
  for _, n in ipairs{"v1_1", "lm_adapt", "t5", "random"} do models[n]:trim() end
  local ro = {}
  for k, v in pairs(opts) do ro[k] = v end
  ro.results, ro.replicate, ro.adapt_seed = string.format("%s/r%d", results, r), r, r
  if o.only.mcqa then
    local t0 = fs.clock()
    ranks[r] = D.mcqa_rank(models, w, ro)
    local m = D.mcqa(models, w, ro)
    section(string.format("Multiple choice, generate-then-match and rank classification, replicate %d", r), m.text,
            fs.clock() - t0)
    walls.mcqa = walls.mcqa + fs.clock() - t0
  end
  if o.only.prompt then
    local res = D.prompt(models, w, ro)
    for _, row in ipairs(res.rows) do pt.rows[#pt.rows + 1] = row end
    for _, row in ipairs(res.base_rows) do pt.base[#pt.base + 1] = row end
    for k, v in pairs(res.walls) do pt.walls[k] = (pt.walls[k] and (pt.walls[k] .. "; ") or "") .. "r" .. r .. ": " .. v end
    walls.prompt = walls.prompt + res.wall
  end
  if o.only.adapt then
    local res = D.adapt(models, w, ro)
    for _, row in ipairs(res.rows) do ad.rows[#ad.rows + 1] = row end
    ad.probes[r], ad.info[r], ad.src[r], ad.cost[r] = res.probes, res.info, res.n_source, "r" .. r .. ": " .. res.cost
    walls.adapt = walls.adapt + res.wall
  end
end
if o.only.mcqa then
  section("Multiple choice by rank classification, zero-shot, pooled over replicates", (D.mcqa_rank_text(ranks)), 0)
end
if o.only.prompt then
  section("Prompt tuning with the known remedies", D.prompt_text(pt.rows, {tasks = {"hypernym"},
          templates = {"post_pt", "masked_post_pt"}, models = {"v1_1", "lm_adapt"}, settings = settings,
          walls = pt.walls, base_rows = pt.base, shots = 30}), walls.prompt)
end
if o.only.adapt then
  section("The adaptation arm", D.adapt_text(ad.rows, {base = "lm_adapt", arms = {"mask", "lm"}, probes = ad.probes,
          info = ad.info, steps = opts.adapt_steps or 300, adapt_lr = 5e-4, shots = 30, lr = 1e-4, epochs = 10,
          n_source = ad.src, cost = table.concat(ad.cost, "; "), adapt_seed = "= replicate"}), walls.adapt)
end
local endload = io.open("/proc/loadavg") and io.open("/proc/loadavg"):read("l") or "?"
report[#report + 1] = string.format("Total wall time %.0f s; load average at the end %s.\n", fs.clock() - t_start, endload)
fs.write_file(results .. "/deadends.md", table.concat(report, "\n"))
say("total %.0f s; report in %s/deadends.md", fs.clock() - t_start, results)
