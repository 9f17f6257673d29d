-- tests/experiments.lua — smoke test of the default experiment's building
-- blocks on a tiny world (60 synsets, a few steps): world invariants, the
-- salient spans, base-model training + cache reuse, the probe, matching, and a
-- tiny study through the sweep API. Prints TAP.
local mto = require "mto"
local src = os.getenv("MTO_SRCDIR") or "."
package.path = src .. "/experiments/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"
local S = require "study"

local T = dofile(src .. "/tests/tap.lua")
local ok, fs = T.ok, require "mto.fs"
local dir = T.tmpdir("exp-test")

-- world
local w = world.build{dir = dir .. "/world", synsets = 60, seed = 3, vocab_size = 800}
ok(w.stats.synsets == 60, "60 synsets chosen")
ok(w.stats.unknown_tokens == 0, "no unknown tokens in the world's text")
ok(w.stats.span_mismatch == 0, "every salient span located")
local heads, dup = {}, false
for _, c in ipairs(w.synsets) do
  if heads[c.head] then dup = true end
  heads[c.head] = c.split
end
ok(not dup, "heads are unique")
local leak = false
for _, rel in ipairs(world.STUDY) do
  for _, f in ipairs(w.tasks[rel].train) do leak = leak or heads[f.head] ~= "train" end
  for _, f in ipairs(w.tasks[rel].test) do leak = leak or heads[f.head] ~= "test" end
end
ok(not leak, "train and test facts come from disjoint heads")
local badhard = false
for _, f in ipairs(w.facts) do badhard = badhard or (f.hard == 1) ~= world.is_hard(f.head, f.tail) end
ok(world.is_hard("cocktail sauce", "condiment") and not world.is_hard("cocktail sauce", "sauce") and not badhard,
   "hard = the tail shares no word with the head")
-- held-out phrasing: under "heldout" a valid/test head's fact is in every
-- surface form but the template form (form 1); a training head's in all forms;
-- "verbatim" has every form of every fact
local function texts_of(cond)
  local t = {}
  for _, s in ipairs(world.sentences_for(w, cond)) do t[s.text] = true end
  return t
end
local held, verb = texts_of("heldout"), texts_of("verbatim")
local function form(rel, k, f) return (world.FORMS[rel][k]:gsub("{head}", f.head):gsub("{tail}", f.tail)) end
local leaked, missing, train_missing, verb_missing, nform = 0, 0, 0, 0, #world.FORMS.hypernym
for _, rel in ipairs(world.STUDY) do
  for _, split in ipairs{"test", "valid"} do
    for _, f in ipairs(w.tasks[rel][split]) do
      if held[form(rel, 1, f)] then leaked = leaked + 1 end
      for k = 2, nform do if not held[form(rel, k, f)] then missing = missing + 1 end end
      for k = 1, nform do if not verb[form(rel, k, f)] then verb_missing = verb_missing + 1 end end
    end
  end
  for _, f in ipairs(w.tasks[rel].train) do
    for k = 1, nform do if not held[form(rel, k, f)] then train_missing = train_missing + 1 end end
  end
end
ok(nform >= 3 and w.opt.forms >= 3, "at least three surface forms per fact")
ok(leaked == 0, "heldout: no valid/test fact in the template form (" .. leaked .. " leaked)")
ok(missing == 0, "heldout: valid/test facts in every other form (" .. missing .. " missing)")
ok(train_missing == 0, "heldout: training facts in every form (" .. train_missing .. " missing)")
ok(verb_missing == 0, "verbatim: every fact in every form (" .. verb_missing .. " missing)")
-- the prompting template's phrase is form 1's; the unseen phrases occur in no sentence
local inp = mto.template("prompting"):render{head = "X", relation = "hypernym", tail = "Y"}
ok(world.FORMS.hypernym[1]:gsub("{head}", "X"):find(inp, 1, true) == 1, "form 1 is the prompting template's form")
local unseen_hit = 0
for _, s in ipairs(w.sentences) do
  for _, ph in pairs(world.UNSEEN_PHRASES) do if s.text:find(ph, 1, true) then unseen_hit = unseen_hit + 1 end end
end
ok(unseen_hit == 0, "the unseen phrases occur in no pre-training sentence")
-- the t5 regime's supervised mixture is in Mapping's own format (no task prefix)
local sup = B.supervised_pairs(w)
local c1 = w.synsets[1]
local want = mto.template("mapping"):render{head = c1.head, relation = "definition", tail = c1.def}
local same = #sup[1].src == #w.tok:encode(want)
for k, v in ipairs(w.tok:encode(want)) do same = same and sup[1].src[k] == v end
ok(same and want == c1.head, "supervised mixture input = the mapping template's input (" .. want .. ")")
-- a salient span decodes to the fact's tail
local spans_ok, checked = true, 0
for _, s in ipairs(w.sentences) do
  if s.kind == "fact" and checked < 50 then
    checked = checked + 1
    local piece = {table.unpack(s.ids, s.span[1], s.span[2])}
    spans_ok = spans_ok and w.tok:decode(piece) == s.tail
  end
end
ok(spans_ok and checked > 0, "salient spans decode to the tails")
local q = w.tasks.mcqa.test[1]
ok(q and q[q.answer] == q.answer_text and q.nchoices == w.opt.mc_choices and q.nchoices >= 2,
   "multiple-choice records in the wordnet_mcqa shape")
-- second build reuses the tokenizer and gives the same world
local w2 = world.build{dir = dir .. "/world", synsets = 60, seed = 3, vocab_size = 800}
ok(w2.stats.tokens == w.stats.tokens and #w2.facts == #w.facts, "rebuilding is deterministic")

-- base models: a few steps each, then cached
local t0 = fs.clock()
local models, log = B.ensure(w, {dir = dir .. "/models", stage1 = 20, stage2 = 10, batch_size = 16, copies = 1,
                                 quiet = true, config = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 2,
                                 num_layers = 1, num_decoder_layers = 1, feed_forward_proj = "gated-gelu",
                                 tie_word_embeddings = false, dropout_rate = 0.0}})
ok(models.v1_1 and models.lm_adapt and models.t5, "three base models trained")
ok(log.stage1.steps == 20 and log.t5.steps == 10, "requested steps taken")
local _, log2 = B.ensure(w, {dir = dir .. "/models", quiet = true})
ok(log2.v1_1.cached and log2.t5.cached, "second call loads the cached models")
local p = B.probe(models.v1_1, w)
ok(p.n > 0 and p.masked >= 0 and p.masked <= 1 and p.continuation >= 0, "probe runs on " .. p.n .. " heads")
local g3 = B.probe_set(w, "test", 3)
ok(g3[1].masked:find("<extra_id_0>", 1, true) and g3[1].continuation == nil,
   "probe in a form whose tail is not last: masked only (" .. g3[1].masked .. ")")
local traced = {}
B.trace_stage1(w, 3, {steps = 4}, function(n, l0, l1, pr) traced[#traced + 1] = {n, l0, l1, pr.masked} end)
ok(#traced >= 1 and traced[#traced][1] == 4 and traced[1][2] > 0 and traced[#traced][4] >= 0,
   "trace_stage1: stage 1 for 4 steps with a loss and a probe per round")
local bl = B.baselines(w)
ok(bl.copy_head_hard == 0, "copy-from-head scores 0 on the hard subset")
local ll, best = S.match_scores(models.v1_1, w.tok, S.TRIPLE_TEMPLATES, {w.tasks.hypernym.valid[1]})
ok(ll.masked_prompting < 0 and ll.mapping < 0 and ll[best] >= ll.prompting,
   "match_scores (mto.match): negative tail-token log-likelihoods, the best is the highest")

-- a tiny study: one base model, two templates, a few shots, one seed
local rows, times = S.run({v1_1 = models.v1_1}, w, {results = dir .. "/results", seeds = {1}, shots = 3, lr = 1e-4,
                                                    epochs = 1, quiet = true, mcqa = {max_test = 5}})
local okrows, failed = 0, 0
for _, r in ipairs(rows) do
  if r.status == "ok" then okrows = okrows + 1 else failed = failed + 1 end
end
ok(okrows == 3 * 4 + 5 and failed == 0, string.format("study rows: %d ok, %d failed", okrows, failed))
local tbl = S.table(rows, S.baseline_rows(w), {shots = 3, metric = "rouge_l"})
ok(tbl:find("v1_1 / masked_prompting", 1, true) and tbl:find("baseline (copy head's last word)", 1, true),
   "table carries templates and baselines")
-- the later phases: random-init baseline (few-shot + full), larger shots,
-- full data, and prompt tuning with the prompt-tuning families
local rows2, times2 = S.run({v1_1 = models.v1_1, random = mto.new(models.v1_1.config, 5)}, w,
  {results = dir .. "/results2", seeds = {1}, shots = 3, lr = 1e-4, epochs = 1, quiet = true, groups = {"relations"},
   random_name = "random", random = {seeds = {1}}, more = {shots = 5, seeds = {1}},
   full = {seeds = {1}, epochs = 1, patience = 1}, prompt = {seeds = {1}, epochs = 1, random = true}})
local phases, count, bad = {}, {}, 0
for _, t in ipairs(times2) do phases[#phases + 1] = t.phase; ok(t.wall >= 0 and t.points > 0, "phase " .. t.phase .. " timed") end
ok(table.concat(phases, ",") == "few-shot,random-init,larger shots,full data,prompt tuning,prompt tuning, random-init",
   "phases in order: " .. table.concat(phases, ","))
for _, r in ipairs(rows2) do
  if r.status ~= "ok" then bad = bad + 1 end
  local k = r.method .. "/" .. r.shots .. "/" .. (r.template:match("_pt$") and "pt" or "std")
  count[k] = (count[k] or 0) + 1
end
ok(bad == 0, bad .. " failed rows in the later phases")
-- random-init: 12 few-shot + 12 full; v1_1: 12 few-shot, 12 full; larger shots only where
-- a relation has more than 5 training heads; prompt tuning: 2 models x 4 families x 3 relations
ok(count["finetune/3/std"] == 24 and count["finetune/full/std"] == 24, "few-shot and full-data rows for both models")
ok((count["prompt_tune/3/pt"] or 0) == 24 and not count["finetune/3/pt"], "prompt tuning rows use the pt families")
ok((count["finetune/5/std"] or 0) > 0 and (count["finetune/5/std"] or 0) % 4 == 0, "larger-shot rows")
local pt = S.table(rows2, S.baseline_rows(w), {shots = 3, metric = "rouge_l", method = "prompt_tune"})
ok(pt:find("v1_1 / masked_pre_pt", 1, true) and pt:find("random / post_pt", 1, true), "prompt-tuning table")
local win = S.winners(rows, {shots = 3, metric = "rouge_l", method = "finetune"})
ok(win:find("| v1_1 | hypernym |", 1, true) and win:find("(one seed)", 1, true), "winners table (one seed: no verdict)")
-- replicated statistics on synthetic rows: 2 replicates x 3 seeds; v1_1's
-- aligned template (masked_prompting) 0.2 above the others with small noise on
-- hypernym, level with them on part_holonym
local syn = {}
local function noise(r, s, k) return ((r * 7 + s * 13 + k * 5) % 11) / 1000 end
for r = 1, 2 do
  for sd = 1, 3 do
    for k, tpl in ipairs(S.TRIPLE_TEMPLATES) do
      for _, task in ipairs{"hypernym", "part_holonym"} do
        local v = 0.3 + noise(r, sd, k)
        if task == "hypernym" and tpl == "masked_prompting" then v = v + 0.2 end
        syn[#syn + 1] = {status = "ok", shots = 30, method = "finetune", condition = "heldout", model = "v1_1",
                         template = tpl, task = task, replicate = r, seed = sd, rouge_l = v}
      end
    end
  end
end
local ptxt, pcells = S.paired_table(syn, {shots = 30, condition = "heldout", metric = "rouge_l",
                                          models = {"v1_1"}, tasks = {"hypernym", "part_holonym"}})
ok(#pcells == 2 and pcells[1].wins and not pcells[2].wins, "paired table: a clear win is a win, a tie is not")
ok(ptxt:find("| v1_1 | hypernym | masked_prompting |", 1, true) and ptxt:find("%+6%d %["),
   "paired table shows the gain over mapping in % with a CI")
local vt = S.verdict({heldout = pcells}, {"heldout"})
ok(vt:find("| heldout | v1_1 | masked_prompting | 1 of 2 | 1 of 2 |", 1, true), "verdict counts the cells")
local _, _, tot = S.matching_eval(syn, {[1] = {hypernym = {v1_1 = "masked_prompting"}},
                                        [2] = {hypernym = {v1_1 = "mapping"}}}, {shots = 30, condition = "heldout",
                                        metric = "rouge_l"})
ok(tot[1] == 2 and tot[2] == 1 and tot[3] == 1 and tot[4] == 2,
   string.format("matching scored against the winners: %d of %d equal the winner, %d aligned; winner aligned %d",
                 tot[2], tot[1], tot[3], tot[4]))
local ok_split = pcall(S.matching, models, {"v1_1"}, w, {split = "test"})
ok(not ok_split, "matching refuses the test split")
io.stderr:write(string.format("# smoke test took %.1f s\n", fs.clock() - t0))
os.execute("rm -rf '" .. dir .. "'")
T.done()
