-- match.lua — the matcher end to end (TAP): a tiny model pre-trained in the test on
-- the mask format (head + phrase <extra_id_0> -> <extra_id_0> tail) is matched to
-- the masked template with MI > 0 ("filling"); one pre-trained on plain mapping
-- (head + phrase -> tail) gets the reverse. Also: which matcher decided, rule
-- overrides, the threshold option, gold ranks, the markdown and CSV outputs.
local mto = require "mto"
local L = dofile(os.getenv("MTO_SRCDIR") .. "/tests/match_lib.lua")
local T = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua")
local ok = T.ok
local t0 = os.clock()

local tok = L.tokenizer()
local masked_model, rm = L.trained(tok, "masked_prompting", 300, 1)
local plain_model, rp = L.trained(tok, "prompting", 300, 1)
T.diag(string.format("pre-training loss: mask format %.3f -> %.4f, mapping format %.3f -> %.4f",
                    rm.first_loss, rm.final_loss, rp.first_loss, rp.final_loss))
ok(rm.final_loss < 0.1 and rp.final_loss < 0.1, "both tiny models learned their format")

local tmp = os.tmpname()
local function run(model, extra)
  local spec = {model = model, tokenizer = tok, tasks = {facts = L.facts()}, n = 16, seed = 3, candidates = 4,
                n_sentinels = L.NSENT}
  for k, v in pairs(extra or {}) do spec[k] = v end
  return mto.match(spec)
end

local A = run(masked_model, {csv = tmp .. ".csv", markdown = tmp .. ".md"})
T.diag(A.markdown)
local a = A.tasks.facts
local function row(res, tpl)
  for _, r in ipairs(res.rows) do if r.template == tpl then return r end end
end
ok(a.mi and a.mi > 0.3, string.format("mask-trained model: MI = %.3f > 0.3", a.mi or 0 / 0))
ok(a.family == "filling" and a.template == "masked_prompting", "mask-trained model: filling, masked_prompting recommended")
ok(a.decided_by == "scoring" and a.why:find("MI = ", 1, true), "the scoring matcher decided: " .. tostring(a.why))
ok(a.mi_pair == "prompting/masked_prompting", "MI from the prompting pair")
ok(row(A, "masked_prompting").ppl < row(A, "prompting").ppl, "masked PPL < prompting PPL")
ok(row(A, "masked_prompting").top1 >= 0.8, "gold ranks first among 5 candidates with the mask format: "
   .. row(A, "masked_prompting").top1)
ok(row(A, "masked_prompting").n == 16 and row(A, "masked_prompting").tail_tokens == 32 and
   row(A, "masked_prompting").inexact == 0, "16 examples, 2 tail tokens each, all found exactly")

local B = run(plain_model)
T.diag(B.markdown)
local b = B.tasks.facts
ok(b.mi and b.mi < 0, string.format("mapping-trained model: MI = %.3f < 0", b.mi or 0 / 0))
ok(b.family == "mapping" and b.template == "prompting", "mapping-trained model: mapping, prompting recommended")
ok(row(B, "prompting").top1 >= 0.8, "gold ranks first with the plain format: " .. row(B, "prompting").top1)
ok(row(B, "prompting").ppl < row(B, "masked_prompting").ppl, "prompting PPL < masked PPL")

-- the threshold is an option; other matchers and who decided
local th = run(masked_model, {threshold = 2})
ok(th.tasks.facts.family == "mapping", "threshold 2 turns the same MI into mapping")
local R = run(masked_model, {matcher = {"rules", "scoring"}, matcher_opts = {rules = {rules = {hypernym = "mapping"}}}})
ok(R.tasks.facts.decided_by == "rules" and R.tasks.facts.family == "mapping", "rules first: the override decides")
ok(R.tasks.facts.template == "prompting" or R.tasks.facts.template == "mapping", "mapping family -> an unmasked template")
ok(R.tasks.facts.why:find("option rules", 1, true), "why names the override: " .. R.tasks.facts.why)
local other = L.facts("HasA") -- has a phrase, not in the rules table
local U = run(masked_model, {tasks = {facts = other}, matcher = {"rules", "scoring"}})
ok(U.tasks.facts.decided_by == "scoring", "a relation the rules do not know falls to the next matcher")
local N = run(masked_model, {templates = {"mapping", "masked_mapping"}, mi_pairs = {{"prompting", "masked_prompting"}}})
ok(N.tasks.facts.mi == nil and N.tasks.facts.decided_by == "best_template", "no MI pair: the best template decides")

-- tasks from several relations are split; outputs
local mixed = L.facts("hypernym")
for _, r in ipairs(L.facts("part_holonym")) do mixed[#mixed + 1] = r end
local S = run(masked_model, {tasks = {w = mixed}, templates = {"prompting", "masked_prompting"}, n = 8})
ok(#S.order == 2 and S.tasks["w/hypernym"] and S.tasks["w/part_holonym"], "two relations -> two tasks")
local fh = io.open(tmp .. ".csv")
local csv = fh and fh:read("a") or ""
if fh then fh:close() end
ok(csv:find("^task,relation,template,masked,n,tail_tokens,mean_ll,ppl") and select(2, csv:gsub("\n", "")) == 5,
   "CSV written: header + 4 template rows")
ok(csv:find("facts,hypernym,masked_prompting,1,16,32,", 1, true) ~= nil, "CSV row for masked_prompting")
fh = io.open(tmp .. ".md")
ok(fh and fh:read("a") == A.markdown, "markdown written")
if fh then fh:close() end
os.remove(tmp .. ".csv")
os.remove(tmp .. ".md")
os.remove(tmp)
-- template = "auto" in a sweep: each model gets the template the matcher recommends
local rdir = os.tmpname()
os.remove(rdir)
local facts = L.facts()
local sw = mto.sweep{tasks = {facts = {train_records = facts, test_records = facts}},
                     models = {masked = masked_model, plain = plain_model}, tokenizer = tok,
                     templates = {"auto"}, shots = {4}, seeds = {1}, train = {epochs = 1, lr = 1e-4},
                     eval = {max_len = 4}, match = {n = 16, seed = 3, candidates = 4, n_sentinels = L.NSENT}}
ok(#sw:points() == 2 and sw:points()[1].template == "auto", "sweep preview: template auto, one point per model")
local sum = sw:run{results = rdir, quiet = true}
local used = {}
for _, r in ipairs(sum.rows) do used[r.model] = r.template_used end
ok(used.masked == "masked_prompting" and used.plain == "prompting",
   "sweep template auto: masked_prompting for the mask-trained model, prompting for the other (got "
   .. tostring(used.masked) .. ", " .. tostring(used.plain) .. ")")
os.execute("rm -rf '" .. rdir .. "'")
ok(T.raises("tasks = ", mto.match, {model = masked_model, tokenizer = tok}), "missing tasks named")
T.diag(string.format("%.1f s CPU", os.clock() - t0))
T.done()
