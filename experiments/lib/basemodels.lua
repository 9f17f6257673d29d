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
local fs = require "mto.fs"
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
  stage1 = 2000,   -- optimizer steps of stage 1 (the probe across forms plateaus by ~2,000: README)
  stage2 = 800,    -- optimizer steps of stage 2 (each regime)
  batch_size = 32,
  lr = 1e-3,       -- 2e-3 left replicate 3 stuck at stage-1 loss ~2 (probe 0.05); see the README
  mix = 0.2,       -- salient_span: share of marked sentences span-corrupted instead
  copies = 8,      -- noisy copies of the text per m:train call (fresh noise each call)
}

local with_eos = require("mto.match").with_eos

local function now() return fs.clock() end

local function append(t, x) t[#t + 1] = x end

-- ---- example makers -------------------------------------------------------------

-- Stage 1: every sentence once per copy; marked ones through salient_span
-- (which span-corrupts a share `mix` of them instead), the others span-corrupted.
local function stage1_examples(w, objs, copies, sents)
  local ex = {}
  local s0 = w.tok:sentinel(0)
  for _ = 1, copies do
    for _, s in ipairs(sents) do
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
local function lm_examples(w, objs, copies, rng, sents)
  local ex = {}
  for _ = 1, copies do
    for _, s in ipairs(sents) do
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
-- use (definitions, antonyms), rendered by the study's own `mapping` template
-- (input = the head, no task prefix; target = the definition / antonym), so
-- this regime is aligned with Mapping as real t5 is with its task formats;
-- mixed 1:1 with stage-1 examples.
local function supervised_pairs(w)
  local recs = {}
  for _, c in ipairs(w.synsets) do append(recs, {head = c.head, relation = "definition", tail = c.def}) end
  for _, f in ipairs(w.facts) do
    if f.relation == "antonym" then append(recs, {head = f.head, relation = "antonym", tail = f.tail}) end
  end
  local tpl = mto.template("mapping")
  local out = {}
  for i, r in ipairs(recs) do
    local input, target = tpl:render(r)
    out[i] = {src = w.tok:encode(input), tgt = w.tok:encode(target)}
  end
  return out
end
M.supervised_pairs = supervised_pairs

local function t5_examples(w, objs, copies, sup, sents)
  local ex = stage1_examples(w, objs, copies, sents)
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

local function write_log(path, l)
  fs.write_file(path, string.format("%d %.3f %.6f\n", l.steps, l.wall, l.final_loss))
end
local function read_log(path)
  local f = io.open(path)
  if not f then return {cached = true} end
  local steps, wall, loss = f:read("n", "n", "n")
  f:close()
  return {steps = steps, wall = wall, final_loss = loss}
end

-- How the pre-training was chosen (README): stage 1 alone on world w, exactly as
-- ensure_many runs it (seed, objectives, rounds of the stage-1 text) but with
-- o.lr (default DEFAULTS.lr), decaying linearly to a tenth when o.decay, for
-- o.steps steps; the knowledge probe (test heads, template form: retrieval across
-- forms) after every round. emit(steps, first_loss, final_loss, probe) per round.
function M.trace_stage1(w, seed, o, emit)
  local d = M.DEFAULTS
  local cfg = {}
  for k, v in pairs(d.config) do cfg[k] = v end
  cfg.vocab_size = w.tok.vocab_size
  local objs = objectives(seed)
  local sents = world.sentences_for(w, "heldout")
  local m = mto.new(cfg, seed)
  m.tokenizer = w.tok
  local groups = M.probe_set(w)
  local lr0, done, round = o.lr or d.lr, 0, 0
  while done < o.steps do
    round = round + 1
    local ex = stage1_examples(w, objs, d.copies, sents)
    local chunk = math.min(o.steps - done, math.max(1, #ex // d.batch_size))
    local lr = o.decay and lr0 * math.max(0.1, 1 - done / o.steps) or lr0
    local r = m:train(ex, {optimizer = "adamw", lr = lr, schedule = "constant", warmup = 20, max_steps = chunk,
                           epochs = 1, batch_size = d.batch_size, clip = 1.0, seed = seed * 1000 + round})
    done = done + r.steps
    emit(done, r.first_loss, r.final_loss, M.probe(m, w, groups))
  end
end

-- Run jobs (functions) in `workers` forked processes that claim them one at a
-- time; every job trains with one engine thread whatever the worker count, so
-- the models do not depend on it. Raises if a job failed.
local function pool(jobs, workers, claims)
  if #jobs == 0 then return end
  local prev = mto.threads(1)
  if workers <= 1 or #jobs == 1 then
    for _, job in ipairs(jobs) do job() end
    mto.threads(prev)
    return
  end
  os.execute("rm -rf '" .. claims .. "'")
  fs.mkdir(claims)
  local pids = {}
  for _ = 1, math.min(workers, #jobs) do
    local pid, err = mto._fork()
    if not pid then error("basemodels: " .. err, 0) end
    if pid == 0 then
      local ok, e = true, nil
      for i, job in ipairs(jobs) do
        if ok and mto._claim(claims .. "/" .. i) then ok, e = pcall(job) end
      end
      if not ok then io.stderr:write("basemodels: pre-training job failed: ", tostring(e), "\n") end
      mto._exit(ok and 0 or 1)
    end
    pids[#pids + 1] = pid
  end
  local bad
  for _, pid in ipairs(pids) do
    local ok, why = mto._wait(pid)
    if not ok then bad = bad or ("a pre-training worker " .. why) end
  end
  os.execute("rm -rf '" .. claims .. "'")
  mto.threads(prev)
  if bad then error("basemodels: " .. bad, 0) end
end

-- Base models of several (world, condition) pairs: specs = {{w =, condition =,
-- dir =, seed =}, ...}. Stage 1 of every spec, then the three stage-2 regimes
-- of every spec, in o.workers forked processes (one thread each); models whose
-- files exist are loaded, not trained. Returns, per spec, {regime = model} and
-- a log {stage1 =, regime = {steps=, wall=, final_loss=} | {cached = true}}.
function M.ensure_many(specs, o)
  o = opts_with_defaults(o)
  local s1jobs, s2jobs = {}, {}
  local cfgs = {}
  for k, sp in ipairs(specs) do
    local cfg = {}
    for key, v in pairs(o.config) do cfg[key] = v end
    cfg.vocab_size = sp.w.tok.vocab_size
    cfgs[k] = cfg
    local so = {}
    for key, v in pairs(o) do so[key] = v end
    so.seed = sp.seed or o.seed
    local sents = world.sentences_for(sp.w, sp.condition or "verbatim")
    local dir = sp.dir
    fs.mkdir(dir)
    local s1 = dir .. "/stage1"
    local missing = {}
    for _, r in ipairs(M.REGIMES) do
      if not exists(dir .. "/" .. r .. "/model.safetensors") then missing[#missing + 1] = r end
    end
    if #missing > 0 and not exists(s1 .. "/model.safetensors") then
      s1jobs[#s1jobs + 1] = function()
        local objs = objectives(so.seed)
        local base = mto.new(cfg, so.seed)
        base.tokenizer = sp.w.tok
        if not o.quiet then
          io.stderr:write(string.format("pre-training %s stage 1: %d steps of batch %d, %d parameters\n",
                                        sp.label or dir, so.stage1, so.batch_size, base:num_params()))
        end
        local l = train_steps(base, so.stage1, function() return stage1_examples(sp.w, objs, so.copies, sents) end,
                              so, (sp.label or "") .. " stage 1")
        fs.mkdir(s1)
        base:save(s1)
        write_log(s1 .. "/train.log", l)
      end
    end
    for _, r in ipairs(missing) do
      s2jobs[#s2jobs + 1] = function()
        local objs = objectives(so.seed)
        local base = assert(mto.load(s1))
        local sup = supervised_pairs(sp.w)
        local draw = require("mto.stats").rng(so.seed * 7 + 3) -- which fact sentences split at the slot
        local function rng() return (draw(0x100000) - 1) / 0x100000 end
        local makers = {
          v1_1 = function() return stage1_examples(sp.w, objs, so.copies, sents) end,
          lm_adapt = function() return lm_examples(sp.w, objs, so.copies, rng, sents) end,
          t5 = function() return t5_examples(sp.w, objs, math.max(1, so.copies // 2), sup, sents) end,
        }
        if not o.quiet then
          io.stderr:write(string.format("pre-training %s stage 2, %s: %s, %d steps\n", sp.label or dir, r,
                                        M.DESCRIBE[r], so.stage2))
        end
        local l = train_steps(base, so.stage2, makers[r], so, (sp.label or "") .. " " .. r)
        fs.mkdir(dir .. "/" .. r)
        base.tokenizer = sp.w.tok
        base:save(dir .. "/" .. r)
        write_log(dir .. "/" .. r .. "/train.log", l)
      end
    end
    sp._fresh = #missing > 0
  end
  local workers = o.workers or 1
  local claims = (specs[1] and specs[1].dir or ".") .. "/.claims"
  pool(s1jobs, workers, claims)
  pool(s2jobs, workers, claims)
  local all_models, all_logs = {}, {}
  for k, sp in ipairs(specs) do
    local models, log = {}, {}
    log.stage1 = sp._fresh and read_log(sp.dir .. "/stage1/train.log") or {cached = true}
    for _, r in ipairs(M.REGIMES) do
      models[r] = assert(mto.load(sp.dir .. "/" .. r))
      models[r].tokenizer = sp.w.tok
      log[r] = sp._fresh and read_log(sp.dir .. "/" .. r .. "/train.log") or {cached = true}
    end
    all_models[k], all_logs[k] = models, log
    sp._fresh = nil
  end
  return all_models, all_logs
end

-- The three base models of one world in o.dir/<regime>/ (HF layout +
-- spiece.model), trained if absent; o.condition (default "heldout").
function M.ensure(w, o)
  o = o or {}
  local models, logs = M.ensure_many({{w = w, condition = o.condition or "heldout", dir = assert(o.dir,
                                      "basemodels.ensure: dir = is required"), seed = o.seed}}, o)
  return models[1], logs[1]
end

-- ---- the knowledge probe --------------------------------------------------------------

local function clean(s)
  return (s:gsub("<extra_id_%d+>", " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""):gsub("%.$", ""))
end

-- Held-out facts (test heads of the studied relations) grouped per (relation,
-- head) with all tails as references, each with its probe inputs in surface
-- form `form` (default 1, the template form): masked = the sentence with the
-- tail replaced by <extra_id_0>; continuation = the sentence cut before the
-- tail (only for forms that end with the tail; nil otherwise).
function M.probe_set(w, split, form)
  form = form or 1
  local by, groups = {}, {}
  for _, rel in ipairs(world.STUDY) do
    local f_ = world.FORMS[rel][form]
    for _, f in ipairs(w.tasks[rel][split or "test"]) do
      local k = rel .. "\0" .. f.head
      local g = by[k]
      if not g then
        g = {relation = rel, head = f.head, refs = {}, hard = true}
        by[k] = g
        groups[#groups + 1] = g
        local h = f.head:gsub("%%", "%%%%")
        g.masked = f_:gsub("{head}", h):gsub("{tail}", "<extra_id_0>")
        if f_:match("{tail}%.$") then g.continuation = f_:match("^(.-) ?{tail}%.$"):gsub("{head}", h) end
      end
      g.refs[#g.refs + 1] = f.tail
      g.hard = g.hard and f.hard == 1
    end
  end
  return groups
end

-- Zero-shot exact match of filling held-out facts: masked (the span-corruption
-- form) and continuation (the prefix-LM form; groups without one are left out
-- of it); per relation and on the hard subset.
function M.probe(m, w, groups)
  groups = groups or M.probe_set(w)
  local tok = w.tok
  local res = {n = #groups}
  for _, form in ipairs{"masked", "continuation"} do
    local srcs, gs = {}, {}
    for _, g in ipairs(groups) do
      if g[form] then gs[#gs + 1] = g; srcs[#srcs + 1] = with_eos(tok:encode(g[form])) end
    end
    local out = #srcs > 0 and m:predict(srcs, {max_len = 16, batch_size = 64}) or {}
    local hit, hard_hit, nhard, per = 0, 0, 0, {}
    for i, g in ipairs(gs) do
      local p = clean(tok:decode(out[i]))
      g["pred_" .. form] = p
      local e = mto.exact_match(p, g.refs) and 1 or 0
      hit = hit + e
      if g.hard then nhard = nhard + 1; hard_hit = hard_hit + e end
      per[g.relation] = per[g.relation] or {0, 0}
      per[g.relation][1] = per[g.relation][1] + e
      per[g.relation][2] = per[g.relation][2] + 1
    end
    res[form] = #gs > 0 and hit / #gs or nil
    res[form .. "_hard"] = nhard > 0 and hard_hit / nhard or 0
    res[form .. "_per"] = per
    res[form .. "_n"] = #gs
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
