-- mc.lua — multiple choice (TAP): mto.mc's generate-then-match rule (a prediction
-- naming no choice is wrong and counted, labels "choiceK" are read), rank
-- classification (each choice scored as the template's target; sum and mean per
-- token, leading sentinels not counted) against scores computed by hand, and a
-- sweep with a multiple-choice task: zero-shot points (shots = 0), the columns
-- accuracy / mc_nomatch / accuracy_rank_mean / accuracy_rank_sum, checked against the
-- predictions file. Tiny models with a word tokenizer (tests/match_lib.lua).
local mto = require "mto"
local mc = require "mto.mc"
local L = dofile(os.getenv("MTO_SRCDIR") .. "/tests/match_lib.lua")
local T = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua")
local ok, near = T.ok, T.near

-- ---- the generate-then-match rule ----------------------------------------------------
local ch = {"red fox", "blue whale", "green frog"}
ok(mc.pick("Blue whale.", ch) == 2, "exact normal-form match")
ok(mc.pick("choice3", ch) == 3, "a bare label names its choice")
ok(mc.pick("choice1: blue whale", ch) == 1, "a leading label wins over the text after it")
ok(mc.pick("choice7", ch) == nil, "a label beyond the choices names none")
ok(mc.pick("a green thing", ch) == 3, "else the best ROUGE-L above 0")
ok(mc.pick("purple cat", ch) == nil, "no word in common with any choice: no pick (not choice 1)")
ok(mto.mc_pick("purple cat", ch) == nil, "the C rule names no choice there either (nil, not choice 1)")
ok(mc.pick("", ch) == nil and mc.pick("x", {}) == nil, "empty prediction, no choices: no pick")
local recs = {{nchoices = 3, choice1 = "a", choice2 = "b", choice3 = "c", answer = "choice2"},
              {nchoices = 3, choice1 = "a", choice2 = "b", choice3 = "c", answer = "3"},
              {nchoices = 3, choice1 = "a", choice2 = "b", choice3 = "c", answer = "A"},
              {nchoices = 3, choice1 = "a", choice2 = "b", choice3 = "c", answer = "c"}}
ok(mc.gold(recs[1]) == 2 and mc.gold(recs[2]) == 3 and mc.gold(recs[3]) == 1 and mc.gold(recs[4]) == 3,
   "gold from choiceK, K, a letter, the text")
local acc, none = mc.score(recs, {2, nil, 2, 3})
near(acc, 0.5, 1e-12, "accuracy: a nil pick is wrong")
ok(none == 1, "and counted")

-- ---- a tiny model that learned the questions -------------------------------------------
local tok = L.tokenizer()
local N = 12
local function question(i, rot)
  local r = {question = "which is d" .. i .. " ?", nchoices = 3, relation = "qa"}
  local texts = {"a" .. i, "a" .. (i % N + 1), "a" .. ((i + 4) % N + 1)} -- gold first, then rotate
  for k = 1, 3 do r["choice" .. ((k - 1 + rot) % 3 + 1)] = texts[k] end
  r.answer = "choice" .. (rot % 3 + 1)
  return r
end
local train, test = {}, {}
for i = 1, N do train[i] = question(i, i % 3); test[i] = question(i, (i + 1) % 3) end
local tpl = mto.template("masked_answer_prompting")
local ex = {}
for i, r in ipairs(train) do
  local input, target = tpl:render(r)
  local s = tok:encode(input)
  s[#s + 1] = 1
  ex[i] = {src = s, tgt = tok:encode(target)}
end
for _, r in ipairs(test) do tok:encode((tpl:render(r))) end
local m = mto.new(L.CONFIG, 3)
local res = m:train(ex, {lr = 3e-3, max_steps = 300, batch_size = 12, seed = 1, dropout = false})
T.diag(string.format("tiny model on %d questions: loss %.3f -> %.4f", N, res.first_loss, res.final_loss))
ok(res.final_loss < 0.1, "the tiny model learned the answers")

local R = mc.rank(m, tok, tpl, test)
ok(#R.mean == N and #R.sum == N and #R.scores == N, "one pick per question, both rules")
near(mc.score(test, R.mean), 1, 0, "rank classification (mean) finds every answer with the choices moved")
near(mc.score(test, R.sum), 1, 0, "rank classification (sum) too")
-- the scores are the target's log-likelihood without the leading sentinel, eos included
local input, target = tpl:render((function() local c = {} for k, v in pairs(test[5]) do c[k] = v end
                                   c.answer = "choice2"; return c end)())
local s = tok:encode(input); s[#s + 1] = 1
local t = tok:encode(target); t[#t + 1] = 1
ok(t[1] == tok:sentinel(0), "masked target starts with <extra_id_0>")
local lp = m:token_logprobs(s, t)
local want = 0
for k = 2, #lp do want = want + lp[k] end
near(R.scores[5][2].sum, want, 1e-4, "sum = log-prob of the answer tokens and eos, sentinel excluded")
ok(R.scores[5][2].n == #t - 1, "n counts those tokens")
near(R.scores[5][2].mean, want / (#t - 1), 1e-5, "mean = sum / n")
local agree = true
for i, sc in ipairs(R.scores) do
  for k = 1, 3 do
    if sc[k].mean > sc[R.mean[i]].mean or sc[k].sum > sc[R.sum[i]].sum then agree = false end
  end
end
ok(agree, "each pick is the argmax of its score")
ok(T.raises("no score_batch", function() mc.rank({}, tok, tpl, test) end), "a model that cannot score: clear error")

-- ---- in a sweep ---------------------------------------------------------------------
local dir = os.tmpname()
os.remove(dir)
local random = mto.new(L.CONFIG, 11)
local sw = mto.sweep{
  tasks = {qa = {train_records = train, test_records = test}},
  models = {learned = function() return m end, random = function() return random end},
  tokenizer = tok, templates = {"masked_answer_prompting"}, shots = {0, 4}, seeds = {1},
  train = {lr = 1e-4, epochs = 1, batch_size = 4, max_src_len = 48, max_tgt_len = 8},
  eval = {max_len = 6, batch_size = 8}}
local cols = {}
for _, c in ipairs(sw.columns) do cols[c] = true end
ok(cols.mc_nomatch and cols.accuracy_rank_mean and cols.accuracy_rank_sum, "a QA sweep has the mc columns")
local plain = mto.sweep{tasks = {x = {train_records = {{head = "h", relation = "r", tail = "t"}},
                                      test_records = {{head = "h", relation = "r", tail = "t"}}}},
                        models = {r = function() return random end}, templates = {"mapping"}}
local has = false
for _, c in ipairs(plain.columns) do has = has or c == "mc_nomatch" end
ok(not has, "a sweep without a QA task has not (its results files keep their columns)")
local sum = sw:run{results = dir, quiet = true}
ok(sum.ran == 4 and sum.failed == 0, "4 points ran: " .. sum.ran .. " ran, " .. sum.failed .. " failed")
local rows = {}
for _, r in ipairs(require("mto.results").load(dir)) do rows[r.model .. "/" .. r.shots] = r end
local z = rows["learned/0"]
ok(z and tonumber(z.steps) == 0, "shots = 0: no training step")
near(tonumber(z.accuracy_rank_mean), 1, 0, "zero-shot rank classification of the learned model in the sweep: 1.0")
near(tonumber(z.accuracy_rank_sum), 1, 0, "(sum) 1.0")
ok(rows["learned/4"] and tonumber(rows["learned/4"].steps) > 0, "shots = 4 trains")
-- accuracy and mc_nomatch agree with the predictions file under mc.pick
for _, key in ipairs{"learned/0", "random/0"} do
  local r = rows[key]
  local f = assert(io.open(dir .. "/" .. r.predictions))
  f:read("l")
  local picks, i = {}, 0
  for line in f:lines() do
    i = i + 1
    local pred = line:match("^[^\t]*\t[^\t]*\t[^\t]*\t([^\t]*)\t")
    picks[i] = mc.pick(pred, mc.choices(test[i]))
  end
  f:close()
  local a, n = mc.score(test, picks)
  near(tonumber(r.accuracy), a, 1e-9, key .. ": accuracy = mc.pick over the predictions file (" .. r.accuracy .. ")")
  ok(tonumber(r.mc_nomatch) == n, key .. ": mc_nomatch = predictions naming no choice (" .. n .. ")")
end
ok(tonumber(rows["random/0"].mc_nomatch) > 0, "the random model's babble names no choice and is counted: " ..
   rows["random/0"].mc_nomatch)
os.execute("rm -rf '" .. dir .. "'")
T.done()
