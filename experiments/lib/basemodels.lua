-- basemodels.lua — the three tiny base models of the default experiment and
-- the knowledge probe (DESIGN §6). All three share stage 1 (span corruption
-- mixed with salient-span masking of the fact slot, like t5 v1.1 with REALM's
-- salient spans) and then get the same number of stage-2 steps:
--
--   v1_1      more of stage 1                           (t5 v1.1: span corruption only)
--   lm_adapt  prefix LM, half of the fact sentences     (lm-adapt: span corruption, then LM)
--             split right before the fact slot
--   t5        stage 1 mixed with supervised mapping     (original t5: unsupervised +
--             on other relations (definitions, antonyms)  supervised mixture)
--
-- Sharing stage 1 keeps what the models know the same, so the study compares
-- only the objective each was last trained with.
--
--   local B = require "basemodels"
--   local models, log = B.ensure(w, {dir = ..., stage1 = 6000, stage2 = 1500, ...})
--   local p = B.probe(model, w)   -> {masked = em, continuation = em, n = heads, ...}
local mto = require "mto"
local world = require "world"

local M = {}

M.REGIMES = {"v1_1", "lm_adapt", "t5"}
M.DESCRIBE = {
  v1_1 = "span corruption + salient spans (like t5 v1.1)",
  lm_adapt = "then prefix LM (like t5 lm-adapt)",
  t5 = "then + supervised mapping on other relations (like original t5)",
}

M.DEFAULTS = {
  config = {d_model = 128, d_ff = 512, d_kv = 32, num_heads = 4, num_layers = 2, num_decoder_layers = 2,
            feed_forward_proj = "gated-gelu", tie_word_embeddings = false, dropout_rate = 0.0},
  seed = 1,
  stage1 = 2500,   -- optimizer steps of stage 1
  stage2 = 800,    -- optimizer steps of stage 2 (each regime)
  batch_size = 32,
  lr = 2e-3,
  mix = 0.2,       -- salient_span: share of marked sentences span-corrupted instead
  copies = 8,      -- noisy copies of the text per m:train call (fresh noise each call)
}

local EOS = 1

local function now() return mto._clock() end

local function append(t, x) t[#t + 1] = x end

local function with_eos(ids)
  local s = {}
  for i, v in ipairs(ids) do s[i] = v end
  s[#s + 1] = EOS
  return s
end

-- ---- example makers -------------------------------------------------------------

-- Stage 1: every sentence once per copy; marked ones through salient_span
-- (which span-corrupts a share `mix` of them instead), the others span-corrupted.
local function stage1_examples(w, objs, copies)
  local ex = {}
  local s0 = w.tok:sentinel(0)
  for _ = 1, copies do
    for _, s in ipairs(w.sentences) do
      local src, tgt
      if s.span then src, tgt = objs.salient:apply(s.ids, {span = s.span, sentinel0 = s0})
      else src, tgt = objs.span:apply(s.ids, {sentinel0 = s0}) end
      append(ex, {src = with_eos(src), tgt = tgt})
    end
  end
  return ex
end

-- lm-adapt's stage 2: prefix LM; half of the fact sentences split exactly
-- before the fact slot (the LM form of salient masking), the rest at random.
local function lm_examples(w, objs, copies, rng)
  local ex = {}
  for _ = 1, copies do
    for _, s in ipairs(w.sentences) do
      local src, tgt
      if s.span and s.span[1] > 1 and rng() < 0.5 then
        local pre, rest = {}, {}
        for i = 1, s.span[1] - 1 do pre[i] = s.ids[i] end
        for i = s.span[1], #s.ids do rest[#rest + 1] = s.ids[i] end
        src, tgt = objs.mapping:apply(pre, {target = rest})
      else
        src, tgt = objs.prefix:apply(s.ids)
      end
      append(ex, {src = with_eos(src), tgt = tgt})
    end
  end
  return ex
end

-- The original t5's supervised mixture: tasks on relations the study does not
-- use, in mapping format with a task prefix ("define: X" -> its definition,
-- "opposite: X" -> its antonym), mixed 1:1 with stage-1 examples.
local function supervised_pairs(w)
  local pairs_ = {}
  for _, c in ipairs(w.synsets) do append(pairs_, {"define: " .. c.head, c.def}) end
  for _, f in ipairs(w.facts) do
    if f.relation == "antonym" then append(pairs_, {"opposite: " .. f.head, f.tail}) end
  end
  local out = {}
  for i, p in ipairs(pairs_) do out[i] = {src = w.tok:encode(p[1]), tgt = w.tok:encode(p[2])} end
  return out
end

local function t5_examples(w, objs, copies, sup)
  local ex = stage1_examples(w, objs, copies)
  local n = #ex
  -- as many supervised examples as unsupervised ones
  local i = 0
  while #ex < 2 * n do
    i = i % #sup + 1
    local src, tgt = objs.mapping:apply(sup[i].src, {target = sup[i].tgt})
    append(ex, {src = with_eos(src), tgt = tgt})
  end
  return ex
end

-- ---- training ---------------------------------------------------------------------

-- Train m for `steps` optimizer steps on batches drawn from make(round) (called
-- again with fresh noise whenever a round's examples are used up).
local function train_steps(m, steps, make, o, label)
  local done, round, t0, last = 0, 0, now(), now()
  local losses = {}
  while done < steps do
    round = round + 1
    local ex = make(round)
    local chunk = math.min(steps - done, math.max(1, #ex // o.batch_size))
    local r = m:train(ex, {optimizer = "adamw", lr = o.lr, schedule = "constant", warmup = 20,
                           max_steps = chunk, epochs = 1, batch_size = o.batch_size, clip = 1.0,
                           seed = o.seed * 1000 + round,
                           progress = function(step, _, loss)
                             if now() - last >= (o.every or 10) and not o.quiet then
                               last = now()
                               io.stderr:write(string.format("  %-9s step %5d/%d  loss %.3f  %s\n", label, done + step,
                                                             steps, loss, require("mto.progress").clock(now() - t0)))
                             end
                           end})
    done = done + r.steps
    losses[#losses + 1] = r.final_loss
  end
  return {steps = done, wall = now() - t0, final_loss = losses[#losses]}
end
M.train_steps = train_steps

local function objectives(seed)
  return {salient = mto.objective("salient_span", {mix = M.DEFAULTS.mix, seed = seed}),
          span = mto.objective("span_corruption", {seed = seed + 1}),
          prefix = mto.objective("prefix_lm", {seed = seed + 2}),
          mapping = mto.objective("mapping")}
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function opts_with_defaults(o)
  local t = {}
  for k, v in pairs(M.DEFAULTS) do t[k] = v end
  for k, v in pairs(o or {}) do t[k] = v end
  return t
end

-- The three base models in o.dir/<regime>/ (HF layout + spiece.model), trained
-- if absent. Returns {regime = model}, and a log {regime = {steps=, wall=, ...}}.
function M.ensure(w, o)
  o = opts_with_defaults(o)
  local dir = assert(o.dir, "basemodels.ensure: dir = is required")
  mto._mkdir(dir)
  local models, log = {}, {}
  local have = true
  for _, r in ipairs(M.REGIMES) do have = have and exists(dir .. "/" .. r .. "/model.safetensors") end
  if have then
    for _, r in ipairs(M.REGIMES) do
      models[r] = assert(mto.load(dir .. "/" .. r))
      log[r] = {cached = true}
    end
    return models, log
  end
  local cfg = {}
  for k, v in pairs(o.config) do cfg[k] = v end
  cfg.vocab_size = w.tok.vocab_size
  local objs = objectives(o.seed)
  local s1 = dir .. "/stage1"
  local base
  if exists(s1 .. "/model.safetensors") then
    base = assert(mto.load(s1))
    log.stage1 = {cached = true}
  else
    base = mto.new(cfg, o.seed)
    base.tokenizer = w.tok
    if not o.quiet then
      io.stderr:write(string.format("pre-training stage 1 (%s): %d steps of batch %d, %d parameters\n",
                                    M.DESCRIBE.v1_1, o.stage1, o.batch_size, base:num_params()))
    end
    log.stage1 = train_steps(base, o.stage1, function() return stage1_examples(w, objs, o.copies) end, o, "stage 1")
    mto._mkdir(s1)
    base:save(s1)
  end
  local sup = supervised_pairs(w)
  local rng_state = o.seed * 7 + 3
  local function rng()  -- a small LCG: which fact sentences split at the slot
    rng_state = (rng_state * 6364136223846793005 + 1442695040888963407)
    return ((rng_state >> 11) & 0xfffff) / 0x100000
  end
  local makers = {
    v1_1 = function() return stage1_examples(w, objs, o.copies) end,
    lm_adapt = function() return lm_examples(w, objs, o.copies, rng) end,
    t5 = function() return t5_examples(w, objs, math.max(1, o.copies // 2), sup) end,
  }
  for _, r in ipairs(M.REGIMES) do
    local m = base:copy()
    if not o.quiet then io.stderr:write(string.format("pre-training stage 2, %s: %s, %d steps\n", r, M.DESCRIBE[r], o.stage2)) end
    log[r] = train_steps(m, o.stage2, makers[r], o, r)
    mto._mkdir(dir .. "/" .. r)
    m.tokenizer = w.tok
    m:save(dir .. "/" .. r)
    models[r] = m
  end
  return models, log
end

-- ---- the knowledge probe --------------------------------------------------------------

local function clean(s)
  return (s:gsub("<extra_id_%d+>", " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""):gsub("%.$", ""))
end

-- Held-out facts (test heads of the studied relations) in the canonical
-- pre-training surface form, grouped per (relation, head) with all tails as
-- references. Returns {groups, masked = {src}, continuation = {src}}.
function M.probe_set(w, split)
  local by, groups = {}, {}
  for _, rel in ipairs(world.STUDY) do
    for _, f in ipairs(w.tasks[rel][split or "test"]) do
      local k = rel .. "\0" .. f.head
      local g = by[k]
      if not g then
        g = {relation = rel, head = f.head, refs = {}, hard = true}
        by[k] = g
        groups[#groups + 1] = g
        local pre = world.FORMS[rel][1]:match("^(.-){tail}"):gsub("{head}", f.head):gsub("%s+$", "")
        g.masked = pre .. " <extra_id_0>."
        g.continuation = pre
      end
      g.refs[#g.refs + 1] = f.tail
      g.hard = g.hard and f.hard == 1
    end
  end
  return groups
end

-- Zero-shot exact match of filling held-out facts: masked (the span-corruption
-- form) and continuation (the prefix-LM form); per relation and on the hard subset.
function M.probe(m, w, groups)
  groups = groups or M.probe_set(w)
  local tok = w.tok
  local res = {n = #groups}
  for _, form in ipairs{"masked", "continuation"} do
    local srcs = {}
    for i, g in ipairs(groups) do srcs[i] = with_eos(tok:encode(g[form])) end
    local out = m:predict(srcs, {max_len = 16, batch_size = 64})
    local hit, hard_hit, nhard, per = 0, 0, 0, {}
    for i, g in ipairs(groups) do
      local p = clean(tok:decode(out[i]))
      g["pred_" .. form] = p
      local e = mto.exact_match(p, g.refs) and 1 or 0
      hit = hit + e
      if g.hard then nhard = nhard + 1; hard_hit = hard_hit + e end
      per[g.relation] = per[g.relation] or {0, 0}
      per[g.relation][1] = per[g.relation][1] + e
      per[g.relation][2] = per[g.relation][2] + 1
    end
    res[form] = hit / #groups
    res[form .. "_hard"] = nhard > 0 and hard_hit / nhard or 0
    res[form .. "_per"] = per
  end
  return res
end

-- Trivial baselines on the same groups: the most frequent training tail of the
-- relation, and the head's last word.
function M.baselines(w, groups)
  groups = groups or M.probe_set(w)
  local top = {}
  for _, rel in ipairs(world.STUDY) do
    local c, best, bn = {}, "", 0
    for _, f in ipairs(w.tasks[rel].train) do
      c[f.tail] = (c[f.tail] or 0) + 1
      if c[f.tail] > bn then best, bn = f.tail, c[f.tail] end
    end
    top[rel] = best
  end
  local res = {most_frequent = 0, copy_head = 0, most_frequent_hard = 0, copy_head_hard = 0, n = #groups, top = top}
  local nhard = 0
  for _, g in ipairs(groups) do
    local last = g.head:match("(%S+)$")
    local mf = mto.exact_match(top[g.relation], g.refs) and 1 or 0
    local cp = mto.exact_match(last, g.refs) and 1 or 0
    res.most_frequent, res.copy_head = res.most_frequent + mf, res.copy_head + cp
    if g.hard then
      nhard = nhard + 1
      res.most_frequent_hard, res.copy_head_hard = res.most_frequent_hard + mf, res.copy_head_hard + cp
    end
  end
  res.most_frequent, res.copy_head = res.most_frequent / #groups, res.copy_head / #groups
  if nhard > 0 then
    res.most_frequent_hard, res.copy_head_hard = res.most_frequent_hard / nhard, res.copy_head_hard / nhard
  end
  res.nhard = nhard
  return res
end

return M
