-- mto.sweep — a grid of experiments: tasks x models x templates x shots x seeds x
-- methods x any training option, each point trained, decoded, scored and written
-- as one CSV row (plus a predictions TSV). Rerunning skips finished points.
--
--   local sw = mto.sweep{
--     tasks = {xIntent = {reader = "atomic", train = "train.tsv", test = "test.tsv",
--                         valid = "validation.tsv", opts = {}, max_test_heads = 50}},
--     models = {tiny = {config = {...}, seed = 1}},   -- or {path = "ckpt/"}, a model, a function
--     tokenizer = "spiece.model",                     -- when a model brings none
--     templates = {"mapping", "masked_mapping"},      -- or {name = {template =, opts =}}
--     shots = {30, "full"}, seeds = {1, 2, 3}, methods = {"finetune"},
--     train = {optimizer = "adamw", lr = 1e-3, epochs = 10, batch_size = 8},
--     full = {epochs = 3, patience = 2},              -- overrides for shots = "full"
--     axes = {lr = {1e-3, 1e-4}},                     -- any training option as an axis
--     eval = {max_len = 32, beams = 1, batch_size = 32,
--             metrics = {"rouge_l", "rouge_l_paper", "exact_match"}},  -- columns to score (below)
--     fewshot = {tails = 3},   -- {tails = 1, order = "paper", refs = 3}: the paper code's heads
--     phrases = "paper",       -- every template's phrase set (the paper code's wording)
--   }
--   for _, p in ipairs(sw:points()) do print(p.key) end   -- preview, nothing runs
--   local summary = sw:run{results = "out/", quiet = false, plot = true}
--
-- eval.metrics names the generation metrics each row gets, each a column (default
-- rouge_l, bleu, corpus_bleu, exact_match, unique): per head (mean per relation, then
-- over relations) rouge_l, rouge_l_paper, bleu, exact_match, exact_match_paper; over
-- the whole test set corpus_bleu, unique, unique_paper. "_paper" = the MTO paper's
-- code (mto.rouge_l{style = "paper"}: pltrdy/rouge 1.0.1). sweep.metrics.head /
-- sweep.metrics.corpus take more. QA rows always score accuracy.
--
-- Methods are functions in sweep.methods (finetune built in; prompt_tune is the
-- extension point for soft prompts): method(ctx) -> training result table.
local mto = require "mto"
local fs = require "mto.fs"
local fewshot = require "mto.fewshot"
local results = require "mto.results"
local progress = require "mto.progress"
local MC = require "mto.mc"

local M = {}
M.methods = {}

function M.methods.finetune(ctx)
  return ctx.model:train(ctx.train, ctx.opts)
end

function M.methods.prompt_tune(ctx)
  local impl = mto.prompt_tune
  if type(impl) ~= "function" then
    error("method prompt_tune: soft-prompt training is not available in this build " ..
          "(it needs mto.prompt_tune(ctx))", 0)
  end
  local res = impl(ctx)
  -- the test decoding below calls ctx.model:predict: the trained prompt (over the
  -- frozen model) answers it with its soft tokens inserted
  if type(res) == "table" and res.prompt then ctx.model = res.prompt end
  -- options the prompt trained with instead of the point's (its optimizer and lr):
  -- this row's columns record what ran (the key, and so resume, stay the point's)
  for k, v in pairs(type(res) == "table" and res.overrides or {}) do
    if ctx.point and ctx.point[k] ~= nil then ctx.point[k] = v end
  end
  return res
end

-- the defaults live in C (mto.train_defaults "sweep": the library's, with 10 epochs and
-- sources / targets cut at 128 / 64 tokens); these six become every point's columns
local TRAIN_DEFAULTS = {}
for _, k in ipairs{"optimizer", "lr", "epochs", "batch_size", "max_src_len", "max_tgt_len"} do
  TRAIN_DEFAULTS[k] = mto.train_defaults("sweep")[k]
end
local EVAL_DEFAULTS = {max_len = 32, beams = 1, batch_size = 32}
local PAPER = {style = "paper"}
-- Generation metrics by name: head metrics take (prediction, references) of one
-- test head; corpus metrics take (predictions, reference lists) of the test set.
M.metrics = {
  head = {
    rouge_l = function(p, refs) return mto.rouge_l(p, refs) end,
    rouge_l_paper = function(p, refs) return mto.rouge_l(p, refs, PAPER) end,
    bleu = function(p, refs) return mto.bleu(p, refs) end,
    exact_match = function(p, refs) return mto.exact_match(p, refs) and 1 or 0 end,
    exact_match_paper = function(p, refs) return mto.exact_match(p, refs, PAPER) and 1 or 0 end,
  },
  corpus = {
    corpus_bleu = function(preds, refs) return mto.corpus_bleu(preds, refs) end,
    unique = function(preds) return mto.unique_count(preds) end,
    unique_paper = function(preds) return mto.unique_count(preds, PAPER) end,
  },
}
local DEFAULT_METRICS = {"rouge_l", "bleu", "corpus_bleu", "exact_match", "unique"}
local FIXED = {"task", "model", "template", "shots", "seed", "method"}
local METRICS = {"status", "template_used", "rouge_l", "bleu", "corpus_bleu", "exact_match", "accuracy", "unique",
                 "n_train", "n_test", "steps", "epochs_run", "first_loss", "final_loss", "best_valid_loss",
                 "train_wall", "wall", "predictions", "finished", "error"}
M.metric_columns = METRICS
-- columns of sweeps with a multiple-choice task (mto.mc): the generated answer's
-- accuracy is `accuracy` (a prediction naming no choice counts as wrong), mc_nomatch
-- counts those predictions; rank classification picks by the mean log-likelihood per
-- target token (accuracy_rank_mean) and by the sum (accuracy_rank_sum)
local MC_METRICS = {"mc_nomatch", "accuracy_rank_mean", "accuracy_rank_sum"}
M.mc_metric_columns = MC_METRICS

-- Does the spec name a multiple-choice task (reader *mcqa, or records with nchoices)?
local function has_mc_task(tasks)
  for _, t in ipairs(tasks) do
    local v = t.value
    if type(v) == "table" then
      if type(v.reader) == "string" and v.reader:match("mcqa$") then return true end
      local recs = v.test_records or v.train_records
      if type(recs) == "table" and recs[1] and recs[1].nchoices ~= nil then return true end
    end
  end
  return false
end

-- ---- helpers -------------------------------------------------------------------

local function sorted_keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  table.sort(k, function(a, b) return tostring(a) < tostring(b) end)
  return k
end

local function canon(v)
  if type(v) == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.14g", v)
  end
  if type(v) == "boolean" then return v and "true" or "false" end
  return tostring(v)
end
M.canon = canon

-- Named entries from an array ({"a", {name = "b", ...}}) or a map ({a = {...}}), in a stable order.
local function named(spec, what)
  if spec == nil then error("sweep: '" .. what .. "' is required", 3) end
  local out = {}
  if type(spec) ~= "table" then spec = {spec} end
  if #spec > 0 then
    for i, v in ipairs(spec) do
      if type(v) == "string" then out[#out + 1] = {name = v, value = v}
      elseif type(v) == "table" and v.name then out[#out + 1] = {name = v.name, value = v}
      else error(string.format("sweep: %s[%d] needs a name", what, i), 3) end
    end
  else
    for _, k in ipairs(sorted_keys(spec)) do out[#out + 1] = {name = k, value = spec[k]} end
  end
  if #out == 0 then error("sweep: '" .. what .. "' is empty", 3) end
  return out
end

local function list(v, dflt)
  if v == nil then return dflt end
  if type(v) ~= "table" then return {v} end
  return v
end

-- ---- the sweep object ----------------------------------------------------------

local Sweep = {}
Sweep.__index = Sweep

function M.new(spec)
  if type(spec) ~= "table" then error("mto.sweep: expected a table", 2) end
  local self = setmetatable({spec = spec}, Sweep)
  self.tasks = named(spec.tasks, "tasks")
  self.models = named(spec.models, "models")
  self.templates = named(spec.templates, "templates")
  self.shots = list(spec.shots, {30})
  self.seeds = list(spec.seeds, {1})
  self.methods = list(spec.methods, {"finetune"})
  for _, s in ipairs(self.shots) do
    if s ~= "full" and (math.type(s) ~= "integer" or s < 0) then
      error("mto.sweep: shots must be non-negative integers (0: zero-shot, no training) or \"full\", got " ..
            tostring(s), 2)
    end
  end
  for _, a in ipairs{"shots", "seeds", "methods"} do
    if #self[a] == 0 then error("mto.sweep: '" .. a .. "' is empty (a sweep of no points)", 2) end
  end
  for _, s in ipairs(self.seeds) do
    if math.type(s) ~= "integer" then error("mto.sweep: seeds must be integers, got " .. tostring(s), 2) end
  end
  for _, m in ipairs(self.methods) do
    if not M.methods[m] then error("mto.sweep: unknown method '" .. tostring(m) .. "'", 2) end
  end
  -- training options: defaults < spec.train < axes; every one becomes a column
  self.train = {}
  self.explicit = {} -- the training options the spec names (train, axes, full), not defaults
  for k, v in pairs(TRAIN_DEFAULTS) do self.train[k] = v end
  for k, v in pairs(spec.train or {}) do
    if k == "valid" or k == "progress" or k == "seed" then
      error("mto.sweep: train." .. k .. " is set by the sweep itself", 2)
    end
    self.train[k] = v
    self.explicit[k] = true
  end
  for k in pairs(spec.axes or {}) do self.explicit[k] = true end
  for k in pairs(spec.full or {}) do self.explicit[k] = true end
  self.axes = {}
  for _, k in ipairs(sorted_keys(spec.axes or {})) do
    local vals = list(spec.axes[k])
    if #vals == 0 then error("mto.sweep: axis '" .. k .. "' has no values", 2) end
    for _, f in ipairs(FIXED) do
      if k == f then error("mto.sweep: '" .. k .. "' is a fixed axis; set it at the top level", 2) end
    end
    self.axes[#self.axes + 1] = {name = k, values = vals}
    if self.train[k] == nil then self.train[k] = vals[1] end
  end
  self.eval = {}
  for k, v in pairs(EVAL_DEFAULTS) do self.eval[k] = v end
  for k, v in pairs(spec.eval or {}) do if k ~= "metrics" then self.eval[k] = v end end
  -- eval.metrics: which columns are scored (not a column itself, nor part of the key)
  self.metrics = list((spec.eval or {}).metrics, DEFAULT_METRICS)
  if #self.metrics == 0 then error("mto.sweep: eval.metrics is empty", 2) end
  for _, name in ipairs(self.metrics) do
    if not (M.metrics.head[name] or M.metrics.corpus[name]) then
      local known = {}
      for _, kind in ipairs{"head", "corpus"} do
        for _, k in ipairs(sorted_keys(M.metrics[kind])) do known[#known + 1] = k end
      end
      error("mto.sweep: eval.metrics: unknown metric '" .. tostring(name) .. "' (known: " ..
            table.concat(known, ", ") .. ")", 2)
    end
  end
  local fs = spec.fewshot or {}
  self.tails = fs.tails or 3
  -- order = "paper": mto.fewshot's reproduction of the paper code's head selection
  -- (counts over each split's whole file, refs = references per test head); a
  -- column and part of the key, so such rows never resume default-order ones
  if fs.order ~= nil and fs.order ~= "paper" and fs.order ~= "mto" then
    error("mto.sweep: fewshot.order must be \"paper\" or \"mto\", got " .. tostring(fs.order), 2)
  end
  self.test_refs = fs.refs or 3
  if math.type(self.test_refs) ~= "integer" or self.test_refs < 1 then
    error("mto.sweep: fewshot.refs must be a positive integer", 2)
  end
  self.sampling = fs.order == "paper" and (self.test_refs == 3 and "paper" or "paper/refs=" .. self.test_refs) or nil
  if spec.phrases ~= nil and type(spec.phrases) ~= "string" then
    error("mto.sweep: phrases must be a phrase set name such as \"paper\"", 2)
  end
  self.phrases = spec.phrases
  -- columns: key, fixed axes, training options, eval options, metrics
  self.option_names = sorted_keys(self.train)
  self.columns = {"key"}
  for _, c in ipairs(FIXED) do self.columns[#self.columns + 1] = c end
  self.columns[#self.columns + 1] = "tails"
  if self.sampling then self.columns[#self.columns + 1] = "sampling" end
  if self.phrases then self.columns[#self.columns + 1] = "phrases" end
  for _, c in ipairs(self.option_names) do self.columns[#self.columns + 1] = c end
  for _, k in ipairs(sorted_keys(self.eval)) do self.columns[#self.columns + 1] = "eval_" .. k end
  local have = {}
  for _, c in ipairs(METRICS) do self.columns[#self.columns + 1] = c; have[c] = true end
  if has_mc_task(self.tasks) then
    for _, c in ipairs(MC_METRICS) do self.columns[#self.columns + 1] = c; have[c] = true end
  end
  for _, c in ipairs(self.metrics) do -- a chosen metric without a standard column gets one
    if not have[c] then self.columns[#self.columns + 1] = c; have[c] = true end
  end
  return self
end

-- Every point, in a stable order, each with its configuration and a stable key.
function Sweep:points()
  local pts = {}
  local function emit(base)
    local p = {}
    for k, v in pairs(base) do p[k] = v end
    p.tails = self.tails
    local parts = {}
    for _, c in ipairs(FIXED) do parts[#parts + 1] = c .. "=" .. canon(p[c]) end
    parts[#parts + 1] = "tails=" .. canon(p.tails)
    if self.sampling then
      p.sampling = self.sampling
      parts[#parts + 1] = "sampling=" .. self.sampling
    end
    if self.phrases then
      p.phrases = self.phrases
      parts[#parts + 1] = "phrases=" .. self.phrases
    end
    for _, k in ipairs(self.option_names) do
      if p[k] == nil then p[k] = self.train[k] end
      parts[#parts + 1] = k .. "=" .. canon(p[k])
    end
    for _, k in ipairs(sorted_keys(self.eval)) do
      p["eval_" .. k] = self.eval[k]
      parts[#parts + 1] = "eval_" .. k .. "=" .. canon(self.eval[k])
    end
    -- the rest of the configuration (definitions, data files, checkpoints) as a hash
    parts[#parts + 1] = "fp=" .. require("mto.key").point(self, p)
    p.key = table.concat(parts, ";")
    pts[#pts + 1] = p
  end
  local function axes(i, base)
    if i > #self.axes then return emit(base) end
    for _, v in ipairs(self.axes[i].values) do
      base[self.axes[i].name] = v
      axes(i + 1, base)
    end
    base[self.axes[i].name] = nil
  end
  for _, t in ipairs(self.tasks) do
    for _, m in ipairs(self.models) do
      for _, tp in ipairs(self.templates) do
        for _, s in ipairs(self.shots) do
          for _, seed in ipairs(self.seeds) do
            for _, meth in ipairs(self.methods) do
              axes(1, {task = t.name, model = m.name, template = tp.name, shots = s, seed = seed, method = meth})
            end
          end
        end
      end
    end
  end
  return pts
end

-- ---- resources, loaded once per run ---------------------------------------------

local function find(entries, name)
  for _, e in ipairs(entries) do if e.name == name then return e.value end end
end

local function read_split(task, which)
  local v = task[which .. "_records"]
  if v then return v end
  if not task[which] then return nil end
  return (mto.read(task.reader or "atomic", task[which], task.opts))
end

function Sweep:_task(name)
  self.cache.tasks = self.cache.tasks or {}
  local c = self.cache.tasks[name]
  if c then return c end
  local t = find(self.tasks, name)
  if type(t) ~= "table" then error("sweep: task '" .. name .. "' must be a table", 0) end
  c = {train = read_split(t, "train"), valid = read_split(t, "valid"), test_records = read_split(t, "test")}
  if not c.train or #c.train == 0 then error("sweep: task '" .. name .. "' has no training records", 0) end
  if not c.test_records or #c.test_records == 0 then error("sweep: task '" .. name .. "' has no test records", 0) end
  c.qa = c.test_records[1].nchoices ~= nil
  if c.qa then
    c.test = {}
    for _, r in ipairs(c.test_records) do c.test[#c.test + 1] = {relation = "qa", head = r.question, records = {r}, refs = {}} end
    if t.max_test_heads then
      local keep = {}
      for i = 1, math.min(t.max_test_heads, #c.test) do keep[i] = c.test[i] end
      c.test = keep
    end
  elseif self.sampling == "paper" then
    -- the paper counts a head's rows and relations over the split's whole file
    local function counts(which, recs)
      if t[which .. "_counts"] then return t[which .. "_counts"] end
      if not t[which] or not (t.opts and t.opts.relations) then return recs end
      local o = {}
      for k, v in pairs(t.opts) do if k ~= "relations" then o[k] = v end end
      return (mto.read(t.reader or "atomic", t[which], o))
    end
    c.train_counts = counts("train", c.train)
    c.test = fewshot.test(c.test_records, {max_heads = t.max_test_heads, order = "paper", refs = self.test_refs,
                                           counts = counts("test", c.test_records)})
  else
    c.test = fewshot.test(c.test_records, {max_heads = t.max_test_heads, seed = t.test_seed or 0})
  end
  self.cache.tasks[name] = c
  return c
end

function Sweep:_model(name)
  self.cache.models = self.cache.models or {}
  local c = self.cache.models[name]
  if c then return c end
  local v = find(self.models, name)
  local m
  if type(v) == "userdata" then m = v
  elseif type(v) == "function" then m = v()
  elseif type(v) == "table" and v.path then m = assert(mto.load(v.path))
  elseif type(v) == "table" and v.config then m = mto.new(v.config, v.seed or 0)
  else error("sweep: model '" .. name .. "' needs config=, path=, a model or a function", 0) end
  local tok = m.tokenizer or (type(v) == "table" and v.tokenizer) or self.spec.tokenizer
  if type(tok) == "string" then tok = mto.tokenizer(tok) end
  if not tok then error("sweep: model '" .. name .. "' has no tokenizer; set tokenizer=", 0) end
  if tok.vocab_size > m.config.vocab_size then
    error(string.format("sweep: model '%s' has vocab_size %d but its tokenizer has %d pieces", name,
                        m.config.vocab_size, tok.vocab_size), 0)
  end
  c = {model = m, tok = tok}
  self.cache.models[name] = c
  return c
end

function Sweep:_template(name)
  self.cache.templates = self.cache.templates or {}
  local c = self.cache.templates[name]
  if c then return c end
  local v = find(self.templates, name) or name  -- "auto" resolves to a template not in the list
  local function with_set(o) -- spec.phrases unless the template names its own
    if not self.phrases then return o end
    local out = {phrases = self.phrases}
    for k, x in pairs(o or {}) do out[k] = x end
    return out
  end
  if type(v) == "string" then c = mto.template(v, with_set(nil))
  elseif type(v) == "table" then c = mto.template(v.template or v.name, with_set(v.opts))
  else c = v end
  self.cache.templates[name] = c
  return c
end

local with_eos = require("mto.match").with_eos

local function encode_src(tok, text) return with_eos(tok:encode(text)) end

local function examples(tok, tpl, records)
  local ex = {}
  for i, r in ipairs(records) do
    local input, target = tpl:render(r)
    ex[i] = {src = encode_src(tok, input), tgt = tok:encode(target)}
  end
  return ex
end

-- A prediction as text: sentinels and surrounding space removed.
local function clean(s)
  return (s:gsub("<extra_id_%d+>", " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end
M.clean = clean

local function tsv(s) return (tostring(s or ""):gsub("[\t\r\n]", " ")) end

-- A file name for the predictions of a point: readable prefix + hash of the key.
local function pred_name(p)
  local h = fewshot.hash(p.key) & 0xffffffff
  local base = string.format("%s-%s-%s-%s-s%s", p.task, p.model, p.template, p.shots, p.seed)
  return (base:gsub("[^%w%._%-]", "_")) .. string.format("-%08x.tsv", h)
end

-- A full-data point's training state (m:train{checkpoint = ...}): one directory per
-- point under RESULTS/checkpoints/, so a point killed mid-training (a Slurm time
-- limit) resumes from its last state; removed once the point's row is written.
local function ckpt_dir(dir, p)
  return dir .. "/checkpoints/" .. pred_name(p):gsub("%.tsv$", "")
end

-- Set a point's training-state options as m:train sees them: full-data points
-- checkpoint into their own directory (full = {checkpoint_every = N | "10m" (the
-- default) | false}); few-shot points are short and never do. sweep:run's up-front
-- validation (mto.check) applies the same rule.
function M.training_state(opts, p, dir)
  if p.shots == "full" and opts.checkpoint_every ~= false then
    opts.checkpoint, opts.checkpoint_every = ckpt_dir(dir, p), opts.checkpoint_every or "10m"
  else
    opts.checkpoint_every = nil
  end
end

local function remove_ckpt(path)
  for _, f in ipairs(fs.listdir(path) or {}) do os.remove(path .. "/" .. f) end
  os.remove(path)
  os.remove((path:gsub("/[^/]+$", ""))) -- RESULTS/checkpoints, once empty
end

-- ---- one point -------------------------------------------------------------------

-- template = "auto": the template mto.match recommends for this task with this
-- model (zero-shot scoring on the task's training records), decided once per
-- (task, model) and recorded in the row's template_used column. spec.match holds
-- mto.match options (templates, n, seed, matcher, ...).
function Sweep:_auto_template(task_name, model_name)
  self.cache.auto = self.cache.auto or {}
  local k = task_name .. "\0" .. model_name
  if self.cache.auto[k] then return self.cache.auto[k] end
  local task, mc = self:_task(task_name), self:_model(model_name)
  local o = {}
  for key, v in pairs(self.spec.match or {}) do o[key] = v end
  o.model, o.tokenizer, o.by_relation = mc.model, mc.tok, false
  o.tasks = {[task_name] = {records = task.train}}
  local r = mto.match(o)
  local rec = r.tasks[task_name]
  if not rec or not rec.template then error("sweep: template \"auto\": no recommendation for task '" .. task_name .. "'", 0) end
  self.cache.auto[k] = rec.template
  return rec.template
end

function Sweep:_run_point(p, dir, prog, label)
  local t0 = fs.clock()
  local tname = p.template
  if find(self.templates, tname) == "auto" then tname = self:_auto_template(p.task, p.model) end
  local task, mc, tpl = self:_task(p.task), self:_model(p.model), self:_template(tname)
  local tok = mc.tok
  local recs = p.shots == 0 and {} or fewshot.sample(task.train, {shots = p.shots, tails = p.tails, seed = p.seed,
                                                                  order = self.sampling, counts = task.train_counts})
  local opts = {}
  for _, k in ipairs(self.option_names) do opts[k] = p[k] end
  if p.shots == "full" then
    for k, v in pairs(self.spec.full or {}) do opts[k] = v end
    if task.valid and #task.valid > 0 then
      opts.valid = examples(tok, tpl, task.valid)
      opts.patience = opts.patience or 3
    end
  end
  M.training_state(opts, p, dir)
  opts.seed = p.seed
  if self.data_parallel then opts.data_parallel = true end -- run{data_parallel = true} under mpirun
  opts.progress = prog:start(label)
  -- each point trains its own copy, freed as soon as the point is scored: Lua sees
  -- a model as a few bytes and would let hundreds of copies pile up before collecting
  local copy = mc.model:copy()
  local ctx = {point = p, model = copy, tokenizer = tok, template = tpl,
               train = examples(tok, tpl, recs), opts = opts, records = recs, explicit = self.explicit}
  local row = {n_train = #ctx.train, n_test = #task.test, status = "ok", template_used = tname}
  local ok, res
  if p.shots == 0 then -- zero-shot: the model as it is (the method never runs)
    ok, res = true, {steps = 0, epochs = 0}
  else
    ok, res = pcall(M.methods[p.method], ctx)
    if not ok and opts.checkpoint and tostring(res):find("written by a different training run", 1, true) then
      -- the training options changed since the state was saved (full = {...} is not part of
      -- the key): that state cannot be continued; train the point afresh
      prog:note(string.format("sweep: %s: training state from other options discarded (%s)", p.key, opts.checkpoint))
      remove_ckpt(opts.checkpoint)
      copy:free()
      copy = mc.model:copy()
      ctx.model = copy
      ok, res = pcall(M.methods[p.method], ctx)
    end
  end
  if not ok then
    copy:free()
    -- the reason without the Lua position of the call (it names sweep.lua, not the cause)
    row.status, row.error = "failed", (tostring(res):gsub("^[^:%s]+%.lua:%d+: ", ""))
    row.wall = fs.clock() - t0
    return row
  end
  if res.cancelled then
    copy:free()
    error("sweep: point stopped (SIGTERM, or its progress function returned true)" ..
          (opts.checkpoint and "; its training state is kept for the rerun" or ""), 0)
  end
  row.steps, row.epochs_run, row.first_loss, row.final_loss = res.steps, res.epochs, res.first_loss, res.final_loss
  if (res.resumed_from or 0) > 0 then row.resumed_from = res.resumed_from end -- shown, not a column
  row.best_valid_loss, row.train_wall = res.best_valid_loss, res.wall
  -- decode the test heads
  local srcs, inputs = {}, {}
  for i, g in ipairs(task.test) do
    inputs[i] = tpl:render(g.records[1])
    srcs[i] = encode_src(tok, inputs[i])
  end
  local out = ctx.model:predict(srcs, {max_len = self.eval.max_len, beams = self.eval.beams,
                                       batch_size = self.eval.batch_size, max_src_len = opts.max_src_len,
                                       precision = opts.precision})
  local ranked -- rank classification of the choices (mto.mc), when the model can score
  if task.qa and self.eval.rank ~= false and type(ctx.model) == "userdata" and ctx.model.score_batch then
    local recs = {}
    for i, g in ipairs(task.test) do recs[i] = g.records[1] end
    ranked = MC.rank(ctx.model, tok, tpl, recs, {batch_size = self.eval.batch_size})
  end
  copy:free()
  local preds, lines = {}, {"relation\thead\tinput\tprediction\tscore\treferences"}
  local scores, per_head, groups, nomatch = {}, {}, {}, 0
  local head_names, score_name = {}, nil
  for _, name in ipairs(self.metrics) do
    if M.metrics.head[name] then
      head_names[#head_names + 1] = name
      per_head[name] = {}
      score_name = score_name or name -- the predictions file's score column
    end
  end
  for i, g in ipairs(task.test) do
    preds[i] = clean(tok:decode(out[i]))
    if task.qa then
      local r = g.records[1]
      local pick, gold = MC.pick(preds[i], MC.choices(r)), MC.gold(r)
      if pick == nil then nomatch = nomatch + 1 end
      scores[i] = (pick and pick == gold) and 1 or 0
      g.refs = {r["choice" .. tostring(gold)] or ""}
    else
      for _, name in ipairs(head_names) do per_head[name][i] = M.metrics.head[name](preds[i], g.refs) end
      scores[i] = score_name and per_head[score_name][i] or 0
    end
    groups[i] = g.relation
    lines[#lines + 1] = table.concat({tsv(g.relation), tsv(g.head), tsv(inputs[i]), tsv(preds[i]),
                                      string.format("%.4f", scores[i]), tsv(table.concat(g.refs, " | "))}, "\t")
  end
  if task.qa then
    row.accuracy = mto.mean_by_group(scores, groups)
    row.unique = mto.unique_count(preds)
    row.mc_nomatch = nomatch
    if ranked then
      local recs = {}
      for i, g in ipairs(task.test) do recs[i] = g.records[1] end
      row.accuracy_rank_mean = MC.score(recs, ranked.mean)
      row.accuracy_rank_sum = MC.score(recs, ranked.sum)
    end
  else
    for _, name in ipairs(head_names) do row[name] = mto.mean_by_group(per_head[name], groups) end
    local refs = {}
    for i, g in ipairs(task.test) do refs[i] = g.refs end
    for _, name in ipairs(self.metrics) do
      if M.metrics.corpus[name] then row[name] = M.metrics.corpus[name](preds, refs) end
    end
  end
  row.predictions = "predictions/" .. pred_name(p)
  fs.write_file(dir .. "/" .. row.predictions, table.concat(lines, "\n") .. "\n")
  row.wall = fs.clock() - t0
  return row
end

-- ---- running -------------------------------------------------------------------

-- Train, score and append every point of list (with claim, only those claim(i)
-- grants); counts go into summary.
local function run_list(self, list, dir, store, prog, prefix, summary, claim)
  for i, p in ipairs(list) do
    if claim and not claim(i) then goto next end
    local label = string.format("%s[%d/%d] %s %s %s shots=%s seed=%s", prefix, i, #list, p.task, p.model,
                                p.template, p.shots, p.seed)
    local row = self:_run_point(p, dir, prog, label)
    for k, v in pairs(p) do row[k] = v end
    row.finished = os.date("!%Y-%m-%dT%H:%M:%SZ")
    store:append(row)
    if p.shots == "full" then remove_ckpt(ckpt_dir(dir, p)) end -- the row is durable: its training state is not needed
    summary.ran = summary.ran + 1
    if summary.points then mto._sweep_done(summary.skipped + summary.ran) end -- for the SIGINT message
    if row.status == "failed" then
      summary.failed = summary.failed + 1
      prog:finish("FAILED: " .. row.error)
    else
      local mname = row.accuracy and "accuracy" or (row.rouge_l and "rouge_l") or self.metrics[1]
      local metric = string.format("%s %.4f", mname, tonumber(row[mname]) or 0)
      prog:finish(string.format("%s, %d steps, loss %.4f, %.2f s%s", metric, row.steps, row.final_loss or 0 / 0, row.wall,
                                row.resumed_from and string.format(" (resumed at step %d)", row.resumed_from) or ""))
    end
    ::next::
  end
end

-- workers = N | "auto" (one per core) | nil (MTO_WORKERS, else 1) -> a count >= 1
local function worker_count(w)
  if w == nil or w == "" then w = os.getenv("MTO_WORKERS") end
  if w == nil or w == "" then return 1 end
  if w == "auto" then return mto.ncpu() end
  local n = math.tointeger(tonumber(w))
  if not n or n < 1 then error("sweep:run: workers must be a positive integer or \"auto\", got " .. tostring(w), 0) end
  return n
end

-- Empty claims directory (a killed run's leftovers removed).
local function fresh_claims(path)
  for _, f in ipairs(fs.listdir(path) or {}) do os.remove(path .. "/" .. f) end
  os.remove(path)
end

-- Run todo in n forked worker processes (`threads` engine threads each, each
-- appending to its cluster.worker_store part), wait for all, merge the parts into
-- results.csv. Each worker takes the next unclaimed point (an O_EXCL file per point),
-- so points of uneven cost spread evenly. Rows a worker finished survive a failed
-- sibling: the error says to rerun, which resumes.
local function run_workers(self, todo, dir, order, n, opts, summary, parent_prog)
  local cluster = require "mto.cluster"
  local claims = dir .. "/parts/claims"
  fresh_claims(claims)
  fs.mkdir(dir .. "/parts")
  fs.mkdir(claims)
  io.stdout:flush(); io.stderr:flush()
  local part_paths = {} -- SIGINT: the parent counts the workers' rows in their parts
  for r = 0, n - 1 do part_paths[#part_paths + 1] = string.format("%s/parts/workers-%d-of-%d.csv", dir, r, n) end
  mto._sweep_interrupt(summary.points, summary.skipped, part_paths)
  local pids = {}
  for r = 0, n - 1 do
    local pid, err = mto._fork()
    if not pid then
      for _, q in ipairs(pids) do mto._wait(q) end
      error("sweep:run: cannot start worker " .. (r + 1) .. ": " .. err, 0)
    end
    if pid == 0 then -- the worker: its share, then leave without running the parent's script on
      local ok, e = pcall(function()
        mto._sweep_interrupt(nil) -- the parent reports an interrupt
        mto.threads(opts.threads or 1)
        local store = cluster.worker_store(dir, self.columns, r, n)
        -- no terminal output: status and finished lines go to files the parent draws from
        local prog = progress.new{quiet = opts.quiet, tty = false, verbose = parent_prog.verbose,
                                  worker = {status = string.format("%s/status-%d", claims, r + 1),
                                            log = string.format("%s/log-%d", claims, r + 1)}}
        local function claim(i)
          local mine, err = mto._claim(claims .. "/" .. i)
          if mine == nil then error(err, 0) end
          return mine
        end
        run_list(self, todo, dir, store, prog, string.format("(worker %d/%d) ", r + 1, n),
                 {ran = 0, failed = 0}, claim)
      end)
      if not ok then io.stderr:write(string.format("sweep worker %d/%d: %s\n", r + 1, n, tostring(e))) end
      mto._exit(ok and 0 or 1)
    end
    pids[#pids + 1] = pid
  end
  -- wait for the workers, drawing their progress (prog:watch) four times a second
  local bad, left, ended, ws = {}, #pids, {}, {}
  for i = 1, #pids do
    ws[i] = {status = string.format("%s/status-%d", claims, i), log = string.format("%s/log-%d", claims, i)}
  end
  while left > 0 do
    for i, pid in ipairs(pids) do
      if not ended[i] then
        local ok, why = mto._wait(pid, true)
        if ok ~= false then
          ended[i], left = true, left - 1
          if not ok then bad[#bad + 1] = string.format("worker %d/%d %s", i, n, why) end
        end
      end
    end
    parent_prog:watch(ws, left == 0)
    if left > 0 then mto._sleep(0.25) end
  end
  fresh_claims(claims)
  cluster.merge(dir, self.columns, order)
  if #bad > 0 then
    error(string.format("sweep:run: %s; the points that finished are in %s/results.csv, rerun to resume",
                        table.concat(bad, ", "), dir), 0)
  end
  local rows = results.load(dir .. "/results.csv")
  local want = {}
  for _, p in ipairs(todo) do want[p.key] = true end
  for _, row in ipairs(rows) do
    if want[row.key] then
      summary.ran = summary.ran + 1
      if row.status == "failed" then summary.failed = summary.failed + 1 end
    end
  end
  return rows
end

-- Run every unfinished point; returns {ran=, skipped=, failed=, rows=, path=, table=}.
-- Under `mpirun -np N` (or with MTO_SHARD=I/N) each process runs its share of the
-- points (mto.cluster); rows then holds the whole sweep once results.csv is merged.
-- run{data_parallel = true} under mpirun: all ranks train each point together instead.
-- run{workers = N} (or MTO_WORKERS=N, "auto" = one per core) on one machine: N forked
-- processes share the points, each training with `threads` (default 1) engine threads.
function Sweep:_run(opts)
  local dir = opts.results
  local workers = worker_count(opts.workers)
  fs.mkdir(dir)
  fs.mkdir(dir .. "/predictions")
  local path = dir .. "/results.csv"
  local pts = self:points()
  -- under mpirun (or MTO_SHARD=I/N) this process runs its share and writes its own part
  local shard = require("mto.cluster").open(dir, self.columns, pts, opts)
  local store = shard.store
  -- the whole grid and the results location, before the first point trains (and
  -- before sweep.spec records a spec that cannot run)
  require("mto.check").sweep(self, dir, pts, shard.store and shard.store.path)
  -- the directory belongs to one spec (DIR/sweep.spec); more axis values need run{extend = true}
  require("mto.key").check_spec(dir, require("mto.key").record(self), opts, next(shard.done) ~= nil,
                                shard.rank == 0 or shard.mode == "array")
  self.data_parallel = shard.mode == "dp"
  local verbose = opts.verbose
  if verbose == nil then verbose = self.spec.verbose end
  local prog = progress.new{quiet = opts.quiet or (self.data_parallel and shard.rank > 0), tty = opts.tty,
                            verbose = verbose, heartbeat = opts.heartbeat}
  self.cache = {}
  local todo = {}
  for _, p in ipairs(pts) do
    local old = shard.done[p.key]
    if not old or (opts.retry_failed and old.status == "failed") then todo[#todo + 1] = p end
  end
  local summary = {ran = 0, skipped = #pts - #todo, failed = 0, path = path, points = #pts,
                   shard = {mode = shard.mode, rank = shard.rank, size = shard.size}}
  todo = shard:select(todo)
  summary.shard.assigned = #todo
  prog.points = #todo -- the phase ETA
  mto._sweep_interrupt(#pts, summary.skipped) -- SIGINT/SIGTERM: "interrupted: K of N points done"
  if summary.skipped > 0 then
    prog:note(string.format("sweep: %d of %d points already in %s, skipped", summary.skipped, #pts, path))
  end
  if shard.mode == "serial" and workers > 1 and #todo > 1 then
    local n = math.min(workers, #todo)
    summary.workers = n
    summary.rows = run_workers(self, todo, dir, shard.order, n, opts, summary, prog)
    summary.merged = true
  else
    local prefix = shard.size > 1 and string.format("(%s %d/%d) ", shard.mode, shard.rank, shard.size) or ""
    run_list(self, todo, dir, store, prog, prefix, summary)
    summary.rows, summary.merged = shard:finish()
  end
  self.cache = nil
  if opts.plot and summary.merged and (shard.mode == "array" or shard.rank == 0) then
    local value = opts.value or "rouge_l"
    summary.plot = require("mto.plot").plot{results = summary.rows, value = value,
                                            out = dir .. "/plot-" .. value .. ".png", quiet = opts.quiet}
  end
  return summary
end

-- The run holds its results lock (mto.lock, taken by mto.cluster.open) until it ends,
-- also when it fails.
function Sweep:run(opts)
  opts = opts or {}
  if not opts.results then error("sweep:run: results = DIR is required", 2) end
  local lock = require "mto.lock"
  local mark = lock.mark()
  local ok, summary = pcall(self._run, self, opts)
  mto._sweep_interrupt(nil)
  lock.release_since(mark)
  if not ok then
    self.cache = nil
    -- the cause, not the position inside mto's own modules
    error(type(summary) == "string" and summary:gsub("^lua/mto/[%w_]+%.lua:%d+: ", "") or summary, 0)
  end
  return summary
end

return M
