-- pretrain.lua — build the miniature world of one replicate and pre-train its
-- three tiny base models (v1_1, lm_adapt, t5) for one pre-training condition,
-- without running the study. quickstart.lua calls the same code and caches the
-- result in the same place; this script is the way to (re)produce those
-- checkpoints on purpose, e.g. with more steps, and to read the probe across forms:
--
--   mto run experiments/pretrain.lua [--out DIR] [--replicate R] [--synsets N] [--forms N]
--                                     [--condition heldout|verbatim] [--stage1 STEPS] [--stage2 STEPS]
--                                     [--workers N]
--   mto run experiments/pretrain.lua --trace [--replicate R] [--forms N] [--lr X] [--steps N] [--decay]
--
-- --trace: how the default's pre-training was chosen (README): stage 1 alone, as the
-- models get it, with the knowledge probe after every round of the stage-1 text; one
-- tab-separated line per round (steps, loss at its start and end, probe masked /
-- continuation); --lr (default the models'), --steps (3200), --decay (linear to a tenth).
--
-- Replicate R uses world seed R and pre-training seed R. Each model directory
-- (HF layout + spiece.model) loads with mto.load(DIR).
local mto = require "mto"
local fs = require "mto.fs"
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"

local o = {out = (os.getenv("MTO_CACHE") or "mto-cache"), synsets = 300, replicate = 1, forms = 3,
           condition = "heldout", workers = mto.ncpu()}
local i = 1
while arg[i] do
  local a, v = arg[i], arg[i + 1]
  if a == "--trace" or a == "--decay" then o[a:sub(3)], v = true, nil
  elseif v == nil then error("pretrain: " .. a .. " needs a value", 0)
  elseif a == "--lr" then o.lr = tonumber(v) or error("pretrain: --lr needs a number", 0)
  elseif a == "--steps" then o.steps = math.tointeger(tonumber(v)) or error("pretrain: --steps needs an integer", 0)
  elseif a == "--out" then o.out = v
  elseif a == "--condition" then o.condition = v
  elseif a == "--synsets" or a == "--replicate" or a == "--forms" or a == "--stage1" or a == "--stage2" or
         a == "--workers" then
    o[a:sub(3)] = math.tointeger(tonumber(v)) or error("pretrain: " .. a .. " needs an integer", 0)
  else error("pretrain: unknown option " .. a, 0) end
  i = i + (v == nil and 1 or 2)
end
local wdir = o.out .. "/" .. world.dirname(o.synsets, o.forms, o.replicate)
fs.mkdir(o.out)
local w = world.build{dir = wdir, synsets = o.synsets, seed = o.replicate, forms = o.forms}
print(world.describe(w))
if o.trace then
  mto.threads(1)
  print(string.format("# stage 1 of world %d, %d forms, lr %g%s, %d steps", o.replicate, o.forms,
                      o.lr or B.DEFAULTS.lr, o.decay and " decaying to a tenth" or " constant", o.steps or 3200))
  print("steps\tloss_first\tloss_final\tprobe_masked\tprobe_continuation")
  B.trace_stage1(w, o.replicate, {lr = o.lr, steps = o.steps or 3200, decay = o.decay}, function(n, l0, l1, p)
    print(string.format("%d\t%.3f\t%.3f\t%.3f\t%.3f", n, l0, l1, p.masked, p.continuation or 0))
    io.stdout:flush()
  end)
  return
end
local ts = world.text_stats(w, o.condition)
print(string.format("pre-training text (%s): %d sentences, %d tokens", o.condition, ts.sentences, ts.tokens))
local t0 = fs.clock()
local mdir = wdir .. "/models-" .. o.condition
local models, log = B.ensure(w, {dir = mdir, condition = o.condition, seed = o.replicate, stage1 = o.stage1,
                                  stage2 = o.stage2, workers = o.workers})
print(string.format("pre-training: %.0f s (seed %d, %d workers)", fs.clock() - t0, o.replicate, o.workers))
for k = 1, o.forms do
  local groups = B.probe_set(w, "test", k)
  local bl = B.baselines(w, groups)
  print(string.format("probe, form %d (%s), %d test heads (exact match): baselines most frequent %.3f, copy head %.3f",
                      k, world.FORMS.hypernym[k], #groups, bl.most_frequent, bl.copy_head))
  for _, r in ipairs(B.REGIMES) do
    local p = B.probe(models[r], w, groups)
    print(string.format("  %-9s masked %.3f  continuation %s  (hard masked %.3f)  %s%s", r, p.masked,
                        p.continuation and string.format("%.3f", p.continuation) or "  -  ", p.masked_hard,
                        mdir .. "/" .. r, log[r].cached and " (cached)" or ""))
  end
end
