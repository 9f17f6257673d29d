-- mto.adapt — unsupervised adaptation before fine-tuning (DESIGN.md §5):
--
--   local r = mto.adapt{
--     model = m or "DIR", tokenizer = tok or "spiece.model" (default: model.tokenizer),
--     source = {corpus = "file.txt"} | {lines = {...}} | {task = records} | {task = "reader:path"},
--     objective = "mask" | "lm" | "mixed",
--     groups = {GROUP = "mask"|"lm"|"filling"|"mapping"} or an mto.match result (mixed only),
--     steps = 200, out = "DIR", seed = 1,
--     train = {lr = 5e-4, batch_size = 8, optimizer = "adamw", ...},   -- m:train options
--     template_opts = {...}, split = "tail" | "random", min_words = 3, mask_ratio = 0.5, max_examples = nil}
--   -> {model = adapted copy, out = DIR, n = examples, counts = {mask =, lm =}, train = m:train result}
--
--   mto.adapt_data{source=, objective=, groups=, seed=, ...} -> {{input=, target=, kind=, group=}, ...}
--
-- Data: a corpus is split into sentences, each into a head and a held-out
-- continuation (a seeded cut in the second half); task records are rendered
-- into natural sentences with their relation phrase (the "prompting" template:
-- head + phrase | tail) and split at the tail (split = "random" cuts the whole
-- sentence like a corpus line instead). Formats: mask = head <extra_id_0> ->
-- <extra_id_0> continuation (denoising), lm = head -> continuation (prefix LM),
-- mixed = per example by its group (record.group, else its relation): groups
-- maps a group to mask/lm; groups it does not name draw mask with mask_ratio.
-- The model is copied and trained with m:train for `steps` optimizer steps;
-- out gets config.json, model.safetensors, spiece.model and adapt.json.
local mto = require "mto"
local match = require "mto.match"
local stats = require "mto.stats"
local fs = require "mto.fs"

local M = {}

local function words(s)
  local w = {}
  for x in s:gmatch("%S+") do w[#w + 1] = x end
  return w
end

-- Sentences of a text: split after . ! ? followed by space; lines are boundaries too.
local function sentences(text, out)
  for line in text:gmatch("[^\n]+") do
    line = line:gsub("([%.!?])%s+", "%1\n")
    for s in line:gmatch("[^\n]+") do
      s = s:gsub("^%s+", ""):gsub("%s+$", "")
      if s ~= "" then out[#out + 1] = s end
    end
  end
  return out
end

-- Cut a sentence into head and continuation: a seeded point in its second half.
local function cut(s, rand, min_words)
  local w = words(s)
  if #w < min_words then return nil end
  local lo = math.max(1, #w // 2)
  local k = lo + rand(#w - lo) - 1 -- lo .. #w-1 words of head
  return table.concat(w, " ", 1, k), table.concat(w, " ", k + 1)
end

local KIND = {mask = "mask", filling = "mask", lm = "lm", mapping = "lm"}

-- groups: {g = kind} or an mto.match result ({tasks = {name = {family=, relation=}}}).
local function group_kinds(groups)
  local out = {}
  if type(groups) ~= "table" then return out end
  if groups.tasks and groups.order then
    for _, name in ipairs(groups.order) do
      local t = groups.tasks[name]
      out[name] = KIND[t.family]
      if t.relation and t.relation ~= "" then out[t.relation] = KIND[t.family] end
    end
    return out
  end
  for g, k in pairs(groups) do
    if not KIND[k] then error("mto.adapt: groups." .. tostring(g) .. " = " .. tostring(k) .. " (mask, lm, filling or mapping)", 0) end
    out[g] = KIND[k]
  end
  return out
end

function M.build(spec)
  if type(spec) ~= "table" then error("mto.adapt_data: expected a table", 2) end
  local src = spec.source
  if type(src) ~= "table" then error("mto.adapt: source = {corpus = path} | {lines = {...}} | {task = records} is required", 0) end
  local objective = spec.objective or "mask"
  if objective ~= "mask" and objective ~= "lm" and objective ~= "mixed" then
    error("mto.adapt: objective '" .. tostring(objective) .. "' (mask, lm, mixed)", 0)
  end
  local rand = stats.rng(spec.seed or 1)
  local min_words = spec.min_words or 3
  local pairs_ = {} -- {head, cont, group}
  if src.corpus or src.lines or src.text then
    local ss = {}
    if src.corpus then
      local fh, err = io.open(src.corpus, "r")
      if not fh then error("mto.adapt: " .. tostring(err), 0) end
      sentences(fh:read("a"), ss)
      fh:close()
    end
    if src.text then sentences(src.text, ss) end
    for _, l in ipairs(src.lines or {}) do sentences(l, ss) end
    for _, s in ipairs(ss) do
      local h, c = cut(s, rand, min_words)
      if h then pairs_[#pairs_ + 1] = {h, c} end
    end
  elseif src.task or src.records then
    local recs = src.task or src.records
    if type(recs) == "string" then
      local reader, path = recs:match("^([%w_]+):(.+)$")
      if not reader then error("mto.adapt: source.task: expected records or \"reader:path\"", 0) end
      recs = mto.read(reader, path)
    end
    local tpl = mto.template(spec.template or "prompting", spec.template_opts)
    for _, r in ipairs(recs) do
      if r.head and r.tail and r.tail ~= "" then
        local input, target = tpl:render(r)
        local group = r.group or r.relation
        if spec.split == "random" then
          local h, c = cut(input .. " " .. target, rand, min_words)
          if h then pairs_[#pairs_ + 1] = {h, c, group} end
        else
          pairs_[#pairs_ + 1] = {input, target, group}
        end
      end
    end
  else
    error("mto.adapt: source needs corpus, lines, text, task or records", 0)
  end
  if spec.max_examples and #pairs_ > spec.max_examples then
    local keep = match.sample_indices(#pairs_, spec.max_examples, rand)
    table.sort(keep)
    local p = {}
    for i, k in ipairs(keep) do p[i] = pairs_[k] end
    pairs_ = p
  end
  local kinds, ratio = group_kinds(spec.groups), spec.mask_ratio or 0.5
  local out = {}
  for i, p in ipairs(pairs_) do
    local kind = objective
    if objective == "mixed" then
      kind = p[3] and kinds[p[3]] or nil
      if not kind then kind = (rand(1000000) - 1) / 1000000 < ratio and "mask" or "lm" end
    end
    if kind == "mask" then
      out[i] = {input = p[1] .. " <extra_id_0>", target = "<extra_id_0> " .. p[2], kind = "mask", group = p[3]}
    else
      out[i] = {input = p[1], target = p[2], kind = "lm", group = p[3]}
    end
  end
  return out
end

local function write(path, text)
  local fh, err = io.open(path, "w")
  if not fh then error("mto.adapt: " .. tostring(err), 0) end
  fh:write(text)
  fh:close()
end

local function json_str(s) return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"' end

function M.run(spec)
  if type(spec) ~= "table" then error("mto.adapt: expected a table", 2) end
  local model = spec.model
  if type(model) == "string" then
    local okp, m = pcall(mto.load, model)
    if not okp then error("mto.adapt: " .. tostring(m), 0) end
    model = m
  end
  if not model then error("mto.adapt: model = (model or directory) is required", 0) end
  local tok = spec.tokenizer or model.tokenizer
  if type(tok) == "string" then tok = mto.tokenizer(tok) end
  if not tok then error("mto.adapt: no tokenizer (pass tokenizer = , or a model directory with spiece.model)", 0) end
  local steps = spec.steps or 200
  if math.type(steps) ~= "integer" or steps < 1 then error("mto.adapt: steps must be a positive integer", 0) end
  local data = M.build(spec)
  if #data == 0 then error("mto.adapt: the source gave no examples", 0) end
  local ex, counts = {}, {mask = 0, lm = 0}
  for i, d in ipairs(data) do
    ex[i] = {src = match.with_eos(tok:encode(d.input)), tgt = tok:encode(d.target)} -- m:train appends the target's eos
    counts[d.kind] = counts[d.kind] + 1
  end
  local opts = {lr = 5e-4, batch_size = 8, optimizer = "adamw"}
  for k, v in pairs(spec.train or {}) do opts[k] = v end
  opts.max_steps, opts.seed = steps, spec.seed or 1
  local m = model:copy()
  local res = m:train(ex, opts)
  if spec.out then
    fs.mkdir(spec.out)
    if type(tok) == "userdata" then m.tokenizer = tok end
    m:save(spec.out)
    local src = spec.source
    local what = src.corpus and ("corpus " .. src.corpus) or (type(src.task) == "string" and ("task " .. src.task))
                 or (src.lines and "lines") or (src.text and "text") or "task records"
    write(spec.out .. "/adapt.json", string.format(
      '{\n  "source": %s,\n  "objective": %s,\n  "steps": %d,\n  "seed": %d,\n  "examples": %d,\n' ..
      '  "mask_examples": %d,\n  "lm_examples": %d,\n  "first_loss": %.6g,\n  "final_loss": %.6g\n}\n',
      json_str(what), json_str(spec.objective or "mask"), res.steps, opts.seed, #ex, counts.mask, counts.lm,
      res.first_loss, res.final_loss))
  end
  return {model = m, out = spec.out, n = #ex, counts = counts, train = res}
end

return M
