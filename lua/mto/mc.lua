-- mto.mc — multiple-choice decisions for QA records (question, choice1..choiceN,
-- answer): the two rules a sweep reports side by side.
--
--   local mc = require "mto.mc"
--   mc.choices(record)                 -> {"text 1", "text 2", ...}
--   mc.gold(record)                    -> 1-based index of the gold choice
--   mc.pick(pred, choices)             -> index, or nil when the prediction names no choice
--   mc.rank(model, tok, tpl, records, {batch_size = 32, eos = 1})
--       -> {mean = {index, ...}, sum = {index, ...}, scores = {{{sum=, n=, mean=}, ...}, ...}}
--   mc.score(records, picks)           -> accuracy (a nil pick is wrong), number of nil picks
--
-- Generate, then match (mc.pick): a generated answer names a choice when its
-- normal form equals the choice's text (case, punctuation and spacing ignored),
-- else when it starts with a choice label ("choice2", as mc_mapping and
-- choice_prompting write it), else by the highest ROUGE-L F1 with a choice's text
-- (first on ties) — but only if that ROUGE-L is above 0. A prediction sharing no
-- word with any choice names none: it counts as wrong, and sweeps report how many
-- there were (column mc_nomatch). (mto.mc_pick, the C rule, is the same without the
-- label rule: nil when no choice shares a word with the prediction.)
--
-- Rank classification (mc.rank), the rule T5-family models use for zero-shot
-- multiple choice: each choice is rendered as the template's target for the
-- question (the record with answer = choiceK), scored under the model as the
-- target of the template's input, and the best choice wins. The score counts the
-- target's tokens after its leading sentinels plus the final eos: their sum
-- (log p of the whole answer; favours short answers) and their mean per token
-- (length-normalised). Both picks are returned; ties go to the lower index.
-- Nothing is decoded: one forward pass per (question, choice), batched.
local mto = require "mto"

local M = {}

function M.choices(r)
  local n = tonumber(r.nchoices)
  local out = {}
  if n then
    for k = 1, n do out[k] = r["choice" .. k] or "" end
  else
    while r["choice" .. (#out + 1)] do out[#out + 1] = r["choice" .. (#out + 1)] end
  end
  return out
end

-- The gold index: answer_index, or answer as "K", "choiceK", a letter or a choice's text.
function M.gold(r)
  local k = tonumber(r.answer_index)
  if k then return math.tointeger(k) end
  local a = tostring(r.answer or "")
  k = tonumber(a:match("^choice(%d+)$") or a:match("^(%d+)$"))
  if k then return math.tointeger(k) end
  if a:match("^%a$") then return a:upper():byte() - 64 end
  for i, c in ipairs(M.choices(r)) do if c == a then return i end end
  return nil
end

local function norm(s) return (s:lower():gsub("[^%w]+", " "):gsub("^ ", ""):gsub(" $", "")) end

function M.pick(pred, choices)
  pred = tostring(pred or "")
  local n = #choices
  if n == 0 then return nil end
  for i, c in ipairs(choices) do
    if mto.exact_match(pred, {c}) then return i end
  end
  local label = tonumber(norm(pred):match("^choice ?(%d+)%f[^%d]"))
  if label and label >= 1 and label <= n then return math.tointeger(label) end
  local best, best_f = nil, 0
  for i, c in ipairs(choices) do
    local f = mto.rouge_l(pred, {c})
    if f > best_f then best, best_f = i, f end
  end
  return best
end

function M.score(records, picks)
  local hit, none = 0, 0
  for i, r in ipairs(records) do
    local p = picks[i]
    if p == nil then none = none + 1
    elseif p == M.gold(r) then hit = hit + 1 end
  end
  return #records > 0 and hit / #records or 0 / 0, none
end

-- A copy of r whose answer is choice k.
local function with_answer(r, k)
  local c = {}
  for key, v in pairs(r) do c[key] = v end
  c.answer, c.answer_index = "choice" .. k, k
  return c
end

function M.rank(model, tok, tpl, records, opts)
  opts = opts or {}
  local eos = opts.eos or 1
  if type(model) ~= "userdata" and type(model) ~= "table" or not model.score_batch then
    error("mto.mc.rank: the model has no score_batch (a prompt-tuned model is not supported)", 2)
  end
  local srcs, tgts, skip, where = {}, {}, {}, {}
  for i, r in ipairs(records) do
    local choices = M.choices(r)
    if #choices == 0 then error(string.format("mto.mc.rank: record %d has no choices", i), 2) end
    for k = 1, #choices do
      local input, target = tpl:render(with_answer(r, k))
      local s = tok:encode(input)
      s[#s + 1] = eos
      local t = tok:encode(target)
      local lead = 0
      while lead < #t and t[lead + 1] == tok:sentinel(lead) do lead = lead + 1 end -- <extra_id_0>, ...
      t[#t + 1] = eos
      srcs[#srcs + 1], tgts[#tgts + 1], skip[#tgts + 1] = s, t, lead
      where[#tgts] = {i, k}
    end
  end
  local lp = #srcs > 0 and model:score_batch{srcs = srcs, tgts = tgts, batch_size = opts.batch_size or 32} or {}
  local out = {mean = {}, sum = {}, scores = {}}
  for j, a in ipairs(lp) do
    local i, k = where[j][1], where[j][2]
    local s, n = 0, 0
    for t = skip[j] + 1, #a do s, n = s + a[t], n + 1 end
    out.scores[i] = out.scores[i] or {}
    out.scores[i][k] = {sum = s, n = n, mean = s / n}
  end
  for i, sc in ipairs(out.scores) do
    local bm, bs = 1, 1
    for k = 2, #sc do
      if sc[k].mean > sc[bm].mean then bm = k end
      if sc[k].sum > sc[bs].sum then bs = k end
    end
    out.mean[i], out.sum[i] = bm, bs
  end
  return out
end

return M
