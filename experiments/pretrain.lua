-- pretrain.lua — build the miniature world and pre-train the three tiny base
-- models (v1_1, lm_adapt, t5) into a directory, without running the study.
-- quickstart.lua calls the same code and caches the result; this script is
-- the way to (re)produce those checkpoints on purpose, e.g. with more steps:
--
--   mto run experiments/pretrain.lua [--out DIR] [--synsets N] [--seed S]
--                                     [--stage1 STEPS] [--stage2 STEPS]
--
-- Each model directory (HF layout + spiece.model) loads with mto.load(DIR).
local mto = require "mto"
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"

local o = {out = (os.getenv("MTO_CACHE") or "mto-cache"), synsets = 300, seed = 1}
local i = 1
while arg[i] do
  local a, v = arg[i], arg[i + 1]
  if a == "--out" then o.out = v
  elseif a == "--synsets" then o.synsets = math.tointeger(tonumber(v))
  elseif a == "--seed" then o.seed = math.tointeger(tonumber(v))
  elseif a == "--stage1" then o.stage1 = math.tointeger(tonumber(v))
  elseif a == "--stage2" then o.stage2 = math.tointeger(tonumber(v))
  else error("pretrain: unknown option " .. a, 0) end
  i = i + 2
end
local wdir = string.format("%s/world-%d-s%d", o.out, o.synsets, 1)
mto._mkdir(o.out)
local w = world.build{dir = wdir, synsets = o.synsets, seed = 1}
print(world.describe(w))
local t0 = mto._clock()
local models, log = B.ensure(w, {dir = wdir .. "/models", seed = o.seed, stage1 = o.stage1, stage2 = o.stage2})
print(string.format("pre-training: %.0f s (seed %d)", mto._clock() - t0, o.seed))
local groups = B.probe_set(w)
local bl = B.baselines(w, groups)
print(string.format("probe on %d held-out heads (exact match): baselines most frequent %.3f, copy head %.3f",
                    #groups, bl.most_frequent, bl.copy_head))
for _, r in ipairs(B.REGIMES) do
  local p = B.probe(models[r], w, groups)
  print(string.format("  %-9s masked %.3f  continuation %.3f  (hard: %.3f / %.3f)  %s%s", r, p.masked, p.continuation,
                      p.masked_hard, p.continuation_hard, wdir .. "/models/" .. r, log[r].cached and " (cached)" or ""))
end
