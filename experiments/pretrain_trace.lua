-- pretrain_trace.lua — how the default study's pre-training was chosen: stage 1
-- of experiments/lib/basemodels.lua on world r, with the knowledge probe (masked,
-- template form, test heads: retrieval across surface forms) after every round
-- of the stage-1 text. One line per round: steps, loss at the round's start and
-- end, probe masked / continuation.
--
--   OPENBLAS_CORETYPE=Haswell mto run experiments/pretrain_trace.lua \
--       [--replicate R (1)] [--forms N (3)] [--lr X (1e-3)] [--steps N (3200)] [--decay] [--cache DIR]
--
-- --decay: lr falls linearly over the run to a tenth (one value per round).
local mto = require "mto"
local fs = require "mto.fs"
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"

local o = {replicate = 1, forms = 3, lr = 1e-3, steps = 3200, decay = false,
           cache = os.getenv("MTO_CACHE") or "mto-cache"}
local i = 1
while arg[i] do
  local a = arg[i]
  local function num() i = i + 1; return tonumber(arg[i]) or error("pretrain_trace: " .. a .. " needs a number", 0) end
  if a == "--replicate" then o.replicate = math.tointeger(num())
  elseif a == "--forms" then o.forms = math.tointeger(num())
  elseif a == "--lr" then o.lr = num()
  elseif a == "--steps" then o.steps = math.tointeger(num())
  elseif a == "--decay" then o.decay = true
  elseif a == "--cache" then i = i + 1; o.cache = arg[i] or error("pretrain_trace: --cache needs a value", 0)
  else error("pretrain_trace: unknown option " .. a, 0) end
  i = i + 1
end
local r = o.replicate
mto.threads(1)
fs.mkdir(o.cache)
local w = world.build{dir = string.format("%s/world-300-f%d-s%d", o.cache, o.forms, r), synsets = 300, seed = r,
                      forms = o.forms}
local d = B.DEFAULTS
local cfg = {}
for k, v in pairs(d.config) do cfg[k] = v end
cfg.vocab_size = w.tok.vocab_size
local objs = {salient = mto.objective("salient_span", {mix = d.mix, seed = r}),
              span = mto.objective("span_corruption", {seed = r + 1})}
local sents = world.sentences_for(w, "heldout")
local m = mto.new(cfg, r)
m.tokenizer = w.tok
local groups = B.probe_set(w)
print(string.format("# world %d, %d forms, lr %g%s, batch %d, %d steps", r, o.forms, o.lr,
                    o.decay and " decaying to a tenth" or " constant", d.batch_size, o.steps))
print("steps\tloss_first\tloss_final\tprobe_masked\tprobe_continuation")
local done, round, t0 = 0, 0, fs.clock()
while done < o.steps do
  round = round + 1
  local ex = B.stage1_examples(w, objs, d.copies, sents)
  local chunk = math.min(o.steps - done, math.max(1, #ex // d.batch_size))
  local lr = o.decay and o.lr * math.max(0.1, 1 - done / o.steps) or o.lr
  -- the same call as basemodels' train_steps (constant lr, 20 warmup steps, clip 1)
  local res = m:train(ex, {optimizer = "adamw", lr = lr, schedule = "constant", warmup = 20, max_steps = chunk,
                           epochs = 1, batch_size = d.batch_size, clip = 1.0, seed = r * 1000 + round})
  done = done + res.steps
  local p = B.probe(m, w, groups)
  print(string.format("%d\t%.3f\t%.3f\t%.3f\t%.3f", done, res.first_loss, res.final_loss, p.masked, p.continuation or 0))
  io.stdout:flush()
end
io.stderr:write(string.format("pretrain_trace: %.0f s\n", fs.clock() - t0))
