-- tests/deadends.lua — smoke test of experiments/lib/deadends.lua on a tiny world
-- (60 synsets, a few pre-training steps): the zero-shot rank-classification table,
-- the multiple-choice sweeps (zero-shot and few-shot), the prompt-tuning settings
-- (init from the phrase reaches the prompt) and the adaptation arm, including its
-- reuse of the unadapted model's rows. Prints TAP.
local mto = require "mto"
local src = os.getenv("MTO_SRCDIR") or "."
package.path = src .. "/experiments/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"
local S = require "study"
local D = require "deadends"
local mc = require "mto.mc"

local T = dofile(src .. "/tests/tap.lua")
local ok, fs = T.ok, require "mto.fs"
local dir = T.tmpdir("deadends-test")
local t0 = fs.clock()
mto.threads(1)
local w = world.build{dir = dir .. "/world", synsets = 60, seed = 3, vocab_size = 800}
local models = B.ensure(w, {dir = dir .. "/models", stage1 = 20, stage2 = 10, batch_size = 16, copies = 1,
                            quiet = true, config = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 2, num_layers = 1,
                            num_decoder_layers = 1, feed_forward_proj = "gated-gelu", tie_word_embeddings = false,
                            dropout_rate = 0.0}})
models.random = mto.new(models.v1_1.config, 5)
models.random.tokenizer = w.tok

-- zero-shot rank classification: every model x QA template, accuracies in [0, 1]
local r = D.mcqa_rank(models, w, {mcqa_test = 6, models = {"v1_1", "random"}})
local good = true
for _, m in ipairs{"v1_1", "random"} do
  for _, t in ipairs(D.QA_TEMPLATES) do
    local a = r.acc[m][t]
    good = good and a and a.mean >= 0 and a.mean <= 1 and a.sum >= 0 and a.sum <= 1
    good = good and math.abs(a.mean * 6 - math.floor(a.mean * 6 + 0.5)) < 1e-9 -- k of 6 questions
  end
end
ok(good, "rank classification: an accuracy per model and template, k/6")
ok(r.text:find("| v1_1 |", 1, true) and r.text:find("best constant", 1, true), "rank table with the constant baseline")
local bl = D.mc_baselines(w, 6)
ok(bl.constant >= 1 / 3 and bl.constant <= 1 and bl.n == 6, "best constant position on 6 questions: " .. bl.constant)

-- the multiple-choice sweeps: zero-shot and few-shot, with the mc columns
local m = D.mcqa({v1_1 = models.v1_1}, w, {results = dir .. "/res", seeds = {1}, shots = 3, mcqa_test = 4,
                                           mcqa_epochs = 1, models = {"v1_1"}, quiet = true, workers = 1})
local z, f, filled = 0, 0, true
for _, row in ipairs(m.rows) do
  if row.phase == "mcqa zero-shot" then z = z + 1; ok(tonumber(row.steps) == 0, "zero-shot row trained 0 steps") end
  if row.phase == "mcqa few-shot" then f = f + 1 end
  if tonumber(row.mc_nomatch) == nil or tonumber(row.accuracy_rank_mean) == nil then filled = false end
end
ok(filled, "every mcqa row has mc_nomatch and the rank accuracies")
ok(z == #D.QA_TEMPLATES and f == #D.QA_TEMPLATES, string.format("mcqa rows: %d zero-shot, %d few-shot", z, f))
ok(m.text:find("0-shot rank mean", 1, true), "mcqa table")

-- prompt tuning: one setting with init from the phrase
local seen_init
local P = require "mto.prompt"
local tune = P.tune
P.tune = function(ctx) seen_init = P.defaults.init; return tune(ctx) end
local pt = D.prompt(models, w, {results = dir .. "/res", seeds = {1}, shots = 3, quiet = true, workers = 1,
                                pt_models = {"v1_1"}, pt_templates = {"masked_post_pt"},
                                pt_settings = {D.PT_SETTINGS[1],
                                               {name = "phrase-tiny", init = "phrase", k = 4, lr = 0.3, epochs = 1,
                                                what = "test"}}})
P.tune = tune
ok(#pt.rows == 2 and pt.rows[2].setting == "phrase-tiny", "one prompt-tuning row per setting")
ok(seen_init == "phrase" and P.defaults.init == "vocab", "the setting's init reached mto.prompt_tune; defaults restored")
ok(pt.text:find("Paired by replicate and seed", 1, true), "prompt-tuning table and paired comparison")

-- adaptation: the arms run, the unadapted model's rows are reused when given
local base = S.run({lm_adapt = models.lm_adapt}, w, {results = dir .. "/study", seeds = {1}, shots = 3, lr = 1e-4,
                                                    epochs = 1, quiet = true, groups = {"relations"}})
local ad = D.adapt(models, w, {results = dir .. "/res", seeds = {1}, shots = 3, epochs = 1, adapt_steps = 3,
                               base_rows = base, quiet = true, workers = 1})
local count = {}
for _, row in ipairs(ad.rows) do count[row.model] = (count[row.model] or 0) + 1 end
local cells = #world.STUDY * #D.TRIPLE_TEMPLATES
ok(count.none == cells and count.mask == cells and count.lm == cells,
   string.format("adaptation rows: none %s, mask %s, lm %s (want %d each)", count.none, count.mask, count.lm, cells))
local ran = require("mto.results").load(dir .. "/res/adapt/few-shot")
local none_ran = false
for _, row in ipairs(ran) do none_ran = none_ran or row.model == "none" end
ok(not none_ran, "the unadapted model's points were reused, not rerun")
local loaded, adapted = pcall(mto.load, dir .. "/res/adapt/models/mask-0.0005-3-s1")
ok(loaded and adapted ~= nil, "adapted model saved (a rerun loads it)")
ok(ad.text:find("mask vs lm adaptation", 1, true) and ad.probes.mask and ad.probes.none, "adaptation report and probes")
-- pooling over worlds: the same rows again as replicate 2 double the units
local function copy_as(rows, rep)
  local out = {}
  for _, row in ipairs(rows) do out[#out + 1] = S.relabel(row, {replicate = rep}) end
  return out
end
local two = copy_as(ad.rows)
for _, c in ipairs(copy_as(ad.rows, 2)) do two[#two + 1] = c end
local txt = D.adapt_text(two, {base = "lm_adapt", arms = {"mask", "lm"}, probes = {ad.probes, ad.probes},
                               info = {ad.info, ad.info}, steps = 3, adapt_lr = 5e-4, shots = 3, lr = 1e-4, epochs = 1,
                               n_source = {ad.n_source, ad.n_source}})
ok(ad.text:find("over 1 units", 1, true) and txt:find("over 2 units", 1, true),
   "adaptation pooled over two worlds: 2 units (replicate x seed)")
local ptwo = copy_as(pt.rows)
for _, c in ipairs(copy_as(pt.rows, 2)) do ptwo[#ptwo + 1] = c end
local ptxt = D.prompt_text(ptwo, {tasks = {"hypernym"}, templates = {"masked_post_pt"}, models = {"v1_1"},
                                  settings = {D.PT_SETTINGS[1], {name = "phrase-tiny", init = "phrase", k = 4, lr = 0.3,
                                  epochs = 1, what = "test"}}, base_rows = pt.base_rows, shots = 3})
ok(ptxt:find("over 2 units", 1, true), "prompt tuning pooled over two worlds: 2 units")
local rtxt, best = D.mcqa_rank_text({r, r}, {"v1_1", "random"})
ok(rtxt:find("over 2 worlds", 1, true) and best.value >= 0 and best.value <= 1, "rank table pooled over two worlds")
io.stderr:write(string.format("# deadends smoke test took %.1f s\n", fs.clock() - t0))
os.execute("rm -rf '" .. dir .. "'")
T.done()
