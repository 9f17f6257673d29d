-- world.lua — the miniature world of the default experiment (DESIGN §6).
--
-- A bounded set of WordNet noun synsets (Debian wordnet-base) whose facts are
-- written as natural sentences in several surface forms next to their glosses:
-- the pre-training text of the tiny base models. Heads are split into train /
-- validation / test; test heads' facts are in the pre-training text but never
-- in fine-tuning data, so few-shot training asks the model to retrieve what it
-- read. Everything is deterministic in (synsets, seed).
--
--   local world = require "world"
--   local w = world.build{dir = "mto-cache/world-600-s1", synsets = 600, seed = 1}
--   w.tasks.hypernym.train / .valid / .test     records {head, relation, tail, synset, hard}
--   w.tasks.mcqa.train / .valid / .test         wordnet_mcqa-shaped records over world heads
--   w.sentences   {text=, ids=, span={first,last} | nil, kind=, relation=, head=, split=, form=}
--   w.tok         the SentencePiece tokenizer trained on the world's text (w.tokenizer_path)
--   w.stats       counts printed by world.describe(w)
local mto = require "mto"
local fs = require "mto.fs"

local M = {}

-- Relations studied (few-shot tasks) and the others written into the text.
M.STUDY = {"hypernym", "part_holonym", "member_holonym"}
M.OTHER = {"antonym"}

-- Surface forms. The first is the template form: it equals the natural
-- templates' relation phrase + tail (`prompting` renders "X is a kind of").
-- Under the held-out condition (the study's primary one) the facts of valid
-- and test heads are written in every form but the first, those of training
-- heads in all of them: the few-shot task teaches the template form, and the
-- model must carry a test fact across forms (DESIGN §6).
M.FORMS = {
  hypernym = {"{head} is a kind of {tail}.", "{head} is a type of {tail}.",
              "among the kinds of {tail} is {head}."},
  part_holonym = {"{head} is part of {tail}.", "{tail} has {head} as one of its parts.",
                  "one part of {tail} is {head}."},
  member_holonym = {"{head} is a member of {tail}.", "{tail} counts {head} among its members.",
                    "one member of {tail} is {head}."},
  antonym = {"{head} is the opposite of {tail}.", "the opposite of {head} is {tail}."},
}
-- A relation phrase that no pre-training sentence contains (the "unseen
-- phrase" condition: the natural templates with this phrase instead).
M.UNSEEN_PHRASES = {hypernym = "belongs to the category of", part_holonym = "is a component of",
                    member_holonym = "belongs to the group"}
-- The pre-training conditions: which fact sentences the text contains.
M.CONDITIONS = {
  heldout = "test and valid heads' facts in every surface form but the template's; training heads' in all",
  verbatim = "every fact in every surface form, the template's included",
}
M.GLOSS_FORMS = {"{head} means {def}.", "{head}: {def}."}

local function words(s)
  local w = {}
  for x in s:lower():gmatch("[%a%d]+") do w[#w + 1] = x end
  return w
end
M.words = words

-- The "hard" subset: the tail shares no word with the head (many WordNet
-- hypernyms are the head's last word: "cocktail sauce" -> "sauce").
function M.is_hard(head, tail)
  local hw = {}
  for _, x in ipairs(words(head)) do hw[x] = true end
  for _, x in ipairs(words(tail)) do if hw[x] then return false end end
  return true
end

local function ok_name(s, max_words, max_chars)
  if #s > max_chars or not s:match("^%a[%a%-' ]*$") then return false end
  return #words(s) <= max_words
end

-- Definition: the gloss before its first ';', bounded in words.
local function short_def(d, max_words)
  d = d:gsub(";.*$", ""):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if #words(d) > max_words or #words(d) < 2 then return nil end
  return d
end

local function fill(form, t)
  return (form:gsub("{(%w+)}", function(k) return t[k] end))
end

-- Seeded permutation (the engine's, so runs agree across machines).
local function shuffled(list, seed)
  local perm = mto._permutation(#list, seed)
  local out = {}
  for i = 1, #list do out[i] = list[perm[i]] end
  return out
end

local function write(path, text)
  fs.write_file(path, text)
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- ---- selection -------------------------------------------------------------------

-- Read WordNet nouns and choose the world's synsets.
local wordnet_cache = {}  -- the WordNet read, once per process (replicates share it)
local function select(o)
  local key = o.wordnet or ""
  local recs = wordnet_cache[key] or mto.read("wordnet", key, {pos = "n",
    relations = {"hypernym", "part_holonym", "member_holonym", "antonym", "definition"}})
  wordnet_cache[key] = recs
  local syn, order, head_count = {}, {}, {}
  for _, r in ipairs(recs) do
    local s = syn[r.synset]
    if not s then
      s = {synset = r.synset, head = r.head, lexname = r.lexname, rels = {}}
      syn[r.synset] = s
      order[#order + 1] = s
      head_count[r.head:lower()] = (head_count[r.head:lower()] or 0) + 1
    end
    if r.relation == "definition" then s.def = s.def or r.tail
    else
      s.rels[r.relation] = s.rels[r.relation] or {}
      table.insert(s.rels[r.relation], r.tail)
    end
  end
  -- candidates: short unambiguous head (one synset in all of WordNet), short
  -- definition, a hypernym; every tail short too (bad tails are dropped)
  local part, member, plain = {}, {}, {}
  for _, s in ipairs(order) do
    local def = s.def and short_def(s.def, o.max_def_words)
    if def and head_count[s.head:lower()] == 1 and ok_name(s.head, 3, 24) then
      local facts = {}
      for _, rel in ipairs{"hypernym", "part_holonym", "member_holonym", "antonym"} do
        for _, t in ipairs(s.rels[rel] or {}) do
          if ok_name(t, 3, 24) and t:lower() ~= s.head:lower() then
            facts[rel] = facts[rel] or {}
            if #facts[rel] < 3 then table.insert(facts[rel], t) end
          end
        end
      end
      if facts.hypernym then
        local c = {synset = s.synset, head = s.head, def = def, facts = facts, lexname = s.lexname}
        if facts.part_holonym then part[#part + 1] = c
        elseif facts.member_holonym then member[#member + 1] = c
        else plain[#plain + 1] = c end
      end
    end
  end
  -- shares of the world from synsets with a part holonym, with a member
  -- holonym and the others (so each studied relation has enough heads); a
  -- seeded draw, kept in WordNet order
  local chosen = {}
  local function take(pool, n, seed)
    for i, c in ipairs(shuffled(pool, seed)) do if i <= n then chosen[#chosen + 1] = c end end
  end
  local np = math.min(#part, math.floor(o.synsets * o.part_share + 0.5))
  local nm = math.min(#member, math.floor(o.synsets * o.member_share + 0.5))
  take(part, np, o.seed)
  take(member, nm, o.seed + 1)
  take(plain, o.synsets - np - nm, o.seed + 2)
  table.sort(chosen, function(a, b) return a.synset < b.synset end)
  return chosen, {wordnet_synsets = #order, candidates = #part + #member + #plain}
end

-- ---- the world -------------------------------------------------------------------

local DEFAULTS = {synsets = 600, seed = 1, part_share = 0.35, member_share = 0.25, max_def_words = 12,
                  test_share = 0.4, valid_share = 0.1, vocab_size = 3000, mc_choices = 3,
                  forms = 3, gloss_forms = 1}

-- The cache directory name of world (synsets, forms, seed): one layout for
-- quickstart, pretrain and deadends, so each finds the others' worlds and models.
function M.dirname(synsets, forms, seed)
  return string.format("world-%d-f%d-s%d", synsets, forms, seed)
end

-- Build (or reload) the world in o.dir; the tokenizer is trained once and reused.
function M.build(o)
  local opt = {}
  for k, v in pairs(DEFAULTS) do opt[k] = v end
  for k, v in pairs(o or {}) do opt[k] = v end
  assert(opt.dir, "world.build: dir = is required")
  fs.mkdir(opt.dir)
  local chosen, st = select(opt)

  -- split heads: test / valid / train (seeded)
  local perm = shuffled(chosen, opt.seed + 3)
  local ntest = math.floor(#perm * opt.test_share + 0.5)
  local nvalid = math.floor(#perm * opt.valid_share + 0.5)
  for i, c in ipairs(perm) do
    c.split = i <= ntest and "test" or i <= ntest + nvalid and "valid" or "train"
  end

  -- facts and tasks
  local w = {dir = opt.dir, opt = opt, synsets = chosen, tasks = {}, stats = st, facts = {}}
  for _, rel in ipairs(M.STUDY) do w.tasks[rel] = {train = {}, valid = {}, test = {}} end
  for _, c in ipairs(chosen) do
    for _, rel in ipairs{"hypernym", "part_holonym", "member_holonym", "antonym"} do
      for _, t in ipairs(c.facts[rel] or {}) do
        local f = {head = c.head, relation = rel, tail = t, synset = c.synset, split = c.split,
                   hard = M.is_hard(c.head, t) and 1 or 0, lexname = c.lexname}
        w.facts[#w.facts + 1] = f
        if w.tasks[rel] then table.insert(w.tasks[rel][c.split], f) end
      end
    end
  end

  -- multiple choice over the world: "Which word means DEF?" (the gloss's own
  -- wording), distractors drawn from other world heads; 3 choices keep the
  -- inputs short (the study trains on them hundreds of times)
  w.tasks.mcqa = {train = {}, valid = {}, test = {}}
  local heads = {}
  for _, c in ipairs(chosen) do heads[#heads + 1] = c.head end
  for i, c in ipairs(chosen) do
    local perm2 = mto._permutation(#heads, opt.seed * 7919 + i)
    local choices = {}
    for _, j in ipairs(perm2) do
      if #choices >= opt.mc_choices - 1 then break end
      if heads[j] ~= c.head then choices[#choices + 1] = heads[j] end
    end
    local at = (i * 2654435761 + opt.seed) % opt.mc_choices + 1
    table.insert(choices, at, c.head)
    local q = "Which word means " .. c.def .. "?"
    local r = {question = q, nchoices = opt.mc_choices, answer = "choice" .. at, answer_index = at,
               answer_text = c.head, definition = c.def, synset = c.synset, pos = "n",
               relation = "mcqa", head = q, tail = c.head, hard = 1}
    for k, h in ipairs(choices) do r["choice" .. k] = h end
    table.insert(w.tasks.mcqa[c.split], r)
  end

  -- the pre-training text: every surface form of every fact, glosses next to
  -- them; `pre` and `slot` locate the salient span (the tail; a gloss's head)
  local texts = {}
  for _, c in ipairs(chosen) do
    for k, form in ipairs(M.GLOSS_FORMS) do
      if k > opt.gloss_forms then break end
      local text = fill(form, {head = c.head, def = c.def})
      texts[#texts + 1] = {kind = "gloss", head = c.head, split = c.split, form = k, text = text,
                           pre = "", slot = c.head}
    end
  end
  for _, f in ipairs(w.facts) do
    for k, form in ipairs(M.FORMS[f.relation]) do
      if k > opt.forms then break end
      local pre = fill(form:match("^(.-){tail}"), f)
      texts[#texts + 1] = {kind = "fact", relation = f.relation, head = f.head, tail = f.tail,
                           split = f.split, form = k, hard = f.hard, text = fill(form, f),
                           pre = pre, slot = f.tail}
    end
  end

  -- vocabulary trained on the world's text
  w.tokenizer_path = opt.dir .. "/spiece.model"
  if not exists(w.tokenizer_path) then
    local lines = {}
    for i, t in ipairs(texts) do lines[i] = t.text end
    -- the multiple-choice inputs as the QA templates lay them out, so that
    -- "choice1:" and "The answer is" are pieces, not a dozen characters
    for _, r in ipairs(w.tasks.mcqa.train) do
      local l = {r.question}
      for k = 1, r.nchoices do l[#l + 1] = "choice" .. k .. ": " .. r["choice" .. k] end
      lines[#lines + 1] = table.concat(l, " ") .. " The answer is"
    end
    write(opt.dir .. "/pretrain.txt", table.concat(lines, "\n") .. "\n")
    local size = opt.vocab_size
    while true do
      local ok, e = pcall(mto.train_tokenizer, {input = opt.dir .. "/pretrain.txt", model_prefix = opt.dir .. "/spiece",
                          vocab_size = size, model_type = "unigram", character_coverage = 1.0, seed = 1,
                          num_threads = 1})
      if ok then break end
      -- a small text cannot fill a large vocabulary: SentencePiece says so; shrink
      if size <= 500 then error(e, 0) end
      size = math.floor(size * 0.8)
    end
  end
  w.tok = mto.tokenizer(w.tokenizer_path)

  -- token ids; the slot's token span from encoding the text up to it and up
  -- to its end (SentencePiece pieces never cross a space), checked against the
  -- whole text's ids
  local function starts_with(a, b)
    if #b > #a then return false end
    for i = 1, #b do if a[i] ~= b[i] then return false end end
    return true
  end
  local unk, mismatch = 0, 0
  w.sentences = {}
  for _, t in ipairs(texts) do
    local ids = w.tok:encode(t.text)
    local pre = t.pre:gsub("%s+$", "")
    local a = pre == "" and {} or w.tok:encode(pre)
    local b = w.tok:encode(pre == "" and t.slot or pre .. " " .. t.slot)
    if starts_with(ids, b) and starts_with(b, a) and #b > #a then t.span = {#a + 1, #b}
    else mismatch = mismatch + 1 end
    for _, id in ipairs(ids) do if id == 2 then unk = unk + 1 end end
    t.ids, t.pre, t.slot = ids, nil, nil
    w.sentences[#w.sentences + 1] = t
  end
  local ntok = 0
  for _, t in ipairs(w.sentences) do ntok = ntok + #t.ids end
  st.synsets, st.sentences, st.tokens, st.unknown_tokens, st.span_mismatch = #chosen, #w.sentences, ntok, unk, mismatch
  st.vocab_size = w.tok.vocab_size
  for _, rel in ipairs(M.STUDY) do
    local t = w.tasks[rel]
    local hard = 0
    for _, f in ipairs(t.test) do hard = hard + f.hard end
    st[rel] = {train = #t.train, valid = #t.valid, test = #t.test, test_hard = hard}
  end
  st.mcqa = {train = #w.tasks.mcqa.train, valid = #w.tasks.mcqa.valid, test = #w.tasks.mcqa.test}

  -- visible files: the facts with their split (a user can grep them)
  local fpath = opt.dir .. "/facts.tsv"
  if not exists(fpath) then
    local lines = {"head\trelation\ttail\tsplit\thard\tsynset"}
    for _, f in ipairs(w.facts) do
      lines[#lines + 1] = table.concat({f.head, f.relation, f.tail, f.split, f.hard, f.synset}, "\t")
    end
    write(fpath, table.concat(lines, "\n") .. "\n")
  end
  return w
end

-- The pre-training sentences of a condition ("heldout" or "verbatim"): the
-- template form (form 1) of a studied relation's fact is left out for heads
-- outside the training split under "heldout".
function M.sentences_for(w, condition)
  if condition == "verbatim" then return w.sentences end
  assert(condition == "heldout", "world.sentences_for: condition must be heldout or verbatim")
  local study, out = {}, {}
  for _, r in ipairs(M.STUDY) do study[r] = true end
  for _, s in ipairs(w.sentences) do
    if not (s.kind == "fact" and study[s.relation] and s.form == 1 and s.split ~= "train") then out[#out + 1] = s end
  end
  return out
end

-- Counts of a condition's pre-training text.
function M.text_stats(w, condition)
  local ss = M.sentences_for(w, condition)
  local ntok = 0
  for _, s in ipairs(ss) do ntok = ntok + #s.ids end
  return {sentences = #ss, tokens = ntok}
end

-- One paragraph of figures about the world.
function M.describe(w)
  local s = w.stats
  local out = {string.format("world: %d synsets (of %d WordNet nouns, %d candidates), %d sentences, %d tokens, " ..
                             "vocabulary %d, unknown tokens %d, span mismatches %d",
                             s.synsets, s.wordnet_synsets, s.candidates, s.sentences, s.tokens, s.vocab_size,
                             s.unknown_tokens, s.span_mismatch)}
  for _, rel in ipairs(M.STUDY) do
    local r = s[rel]
    out[#out + 1] = string.format("  %-15s facts train %4d  valid %3d  test %4d (hard %d)", rel, r.train, r.valid,
                                  r.test, r.test_hard)
  end
  out[#out + 1] = string.format("  %-15s questions train %4d  valid %3d  test %4d", "mcqa", s.mcqa.train, s.mcqa.valid,
                                s.mcqa.test)
  return table.concat(out, "\n")
end

return M
