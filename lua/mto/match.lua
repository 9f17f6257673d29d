-- mto.match — automatic task-to-objective matching (DESIGN.md §5), zero-shot:
--
--   local r = mto.match{
--     model = m or "DIR", tokenizer = tok or "spiece.model" (default: model.tokenizer),
--     tasks = {xIntent = records | "reader:path" | {reader=, path=, opts=} | {records=}},
--     templates = {"mapping", "masked_mapping", "prompting", "masked_prompting"}   -- or {name = {template=, opts=}}
--     template_opts = {...},  -- given to every template (e.g. phrases)
--     n = 64, seed = 1, candidates = 4,     -- examples per task; distractor tails per example
--     threshold = 0.3,                      -- MI >= threshold -> "filling"
--     matcher = "scoring" | "rules" | {"rules", "scoring"} | matcher objects (first with an opinion decides)
--     matcher_opts = {rules = {table=, rules = {REL = "filling"}}, scoring = {...}},
--     mi_pairs = {{"prompting", "masked_prompting"}, {"mapping", "masked_mapping"}},
--     by_relation = true,                   -- a task with several relations becomes NAME/REL tasks
--     batch_size = 32, n_sentinels = 100, csv = "FILE", markdown = "FILE", log = function(line) end}
--
-- For every task and template the pre-trained model scores the task's examples:
-- mean log-likelihood per *tail* token (sentinels, eos and template words in the
-- target are not counted), its perplexity, and the rank of the gold tail among
-- the gold plus `candidates` tails of other heads (seeded; ranked by mean tail
-- log-likelihood). MI = (PPL_prompting - PPL_masked_prompting) / PPL_prompting.
-- Returns
--   r.rows            one row per (task, template): task, relation, template, masked, n, tail_tokens,
--                     mean_ll, ppl, mean_rank, mrr, top1, candidates, inexact
--   r.tasks[name]     {task, relation, mi, mi_pair, family, template, best_template, decided_by, why, n}
--                     (r.tasks[name].template is what a sweep's template = "auto" uses)
--   r.order           task names in order;  r.markdown, r.csv   the tables as text
local mto = require "mto"
local stats = require "mto.stats"

local M = {}

M.DEFAULT_TEMPLATES = {"mapping", "masked_mapping", "prompting", "masked_prompting"}
M.MI_PAIRS = {{"prompting", "masked_prompting"}, {"mapping", "masked_mapping"}}
-- The T5 end-of-sequence id (pad 0, eos 1, unk 2): the one definition the Lua layer uses.
M.EOS = 1
local EOS = M.EOS

local function isnan(x) return x ~= x end
local function num(x) return (x ~= nil and not isnan(x)) and x or nil end

-- k indices of 1..n in random order (partial Fisher-Yates).
local function sample_indices(n, k, rand)
  local idx = {}
  for i = 1, n do idx[i] = i end
  k = math.min(k, n)
  for i = 1, k do
    local j = i - 1 + rand(n - i + 1)
    idx[i], idx[j] = idx[j], idx[i]
  end
  local out = {}
  for i = 1, k do out[i] = idx[i] end
  return out
end
M.sample_indices = sample_indices

-- ---- inputs --------------------------------------------------------------------

local function read_spec(v, where)
  if type(v) == "string" then
    local reader, path = v:match("^([%w_]+):(.+)$")
    if not reader then error(where .. ": expected \"reader:path\", got \"" .. v .. "\"", 0) end
    return mto.read(reader, path)
  elseif type(v) == "table" then
    if v.records then return v.records end
    if v.reader then return mto.read(v.reader, v.path or v.train, v.opts) end
    return v
  end
  error(where .. ": expected records, \"reader:path\" or {reader=, path=}", 0)
end

-- {{name=, records=, relation=}} in a stable order.
local function load_tasks(spec)
  if type(spec.tasks) ~= "table" then error("mto.match: tasks = {name = records | \"reader:path\" | {...}} is required", 0) end
  local raw = {}
  if #spec.tasks > 0 then
    for i, v in ipairs(spec.tasks) do
      local name = type(v) == "table" and v.name or (type(v) == "string" and v:match("([^/:]+)$"):gsub("%.%w+$", "")) or ("task" .. i)
      raw[#raw + 1] = {name = name, records = read_spec(v, "tasks[" .. i .. "]")}
    end
  else
    local names = {}
    for k in pairs(spec.tasks) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do raw[#raw + 1] = {name = k, records = read_spec(spec.tasks[k], "tasks." .. k)} end
  end
  local tasks = {}
  for _, t in ipairs(raw) do
    local rels, order = {}, {}
    for _, r in ipairs(t.records) do
      local rel = r.relation or ""
      if not rels[rel] then rels[rel] = {}; order[#order + 1] = rel end
      table.insert(rels[rel], r)
    end
    if #order > 1 and spec.by_relation ~= false then
      for _, rel in ipairs(order) do
        tasks[#tasks + 1] = {name = t.name .. "/" .. rel, records = rels[rel], relation = rel}
      end
    else
      local best, bn = order[1] or "", -1
      for _, rel in ipairs(order) do if #rels[rel] > bn then best, bn = rel, #rels[rel] end end
      tasks[#tasks + 1] = {name = t.name, records = t.records, relation = best}
    end
  end
  return tasks
end

local function load_templates(spec)
  local list, out = spec.templates or M.DEFAULT_TEMPLATES, {}
  if type(list) == "string" then list = {list} end
  local function add(name, tname, opts)
    local o = {}
    for k, v in pairs(spec.template_opts or {}) do o[k] = v end
    for k, v in pairs(opts or {}) do o[k] = v end
    local obj = mto.template(tname, o)
    out[#out + 1] = {name = name, obj = obj, masked = obj.masked}
  end
  if #list > 0 then
    for _, v in ipairs(list) do
      if type(v) == "string" then add(v, v)
      else add(v.name or v.template, v.template or v.name, v.opts) end
    end
  else
    local names = {}
    for k in pairs(list) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      local v = list[k]
      if type(v) == "string" then add(k, v) else add(k, v.template or k, v.opts) end
    end
  end
  if #out == 0 then error("mto.match: no templates", 0) end
  return out
end

local function load_matchers(spec)
  local list = spec.matcher or "scoring"
  if type(list) ~= "table" or getmetatable(list) then list = {list} end
  local out = {}
  for _, v in ipairs(list) do
    if type(v) == "string" then
      local opts = {}
      for k, x in pairs((spec.matcher_opts or {})[v] or {}) do opts[k] = x end
      if v == "scoring" and opts.threshold == nil then opts.threshold = spec.threshold or 0.3 end
      out[#out + 1] = mto.matcher(v, opts)
    else
      out[#out + 1] = v -- anything with :decide(summary) and .name
    end
  end
  return out
end

-- ---- scoring ------------------------------------------------------------------

local function encoder(tok)
  local cache = {}
  return function(text)
    local ids = cache[text]
    if not ids then ids = tok:encode(text); cache[text] = ids end
    return ids
  end
end

--- A copy of the id list ids with the eos id appended (a model source or target).
function M.with_eos(ids)
  local out = table.move(ids, 1, #ids, 1, {})
  out[#out + 1] = EOS
  return out
end
local with_eos = M.with_eos

-- Pick the examples and their distractor tails (shared by every template).
local function plan(task, n, k, seed)
  local recs = task.records
  local rand = stats.rng(seed)
  local chosen = sample_indices(#recs, n, rand)
  table.sort(chosen) -- file order: the table does not depend on the draw order
  local golds, pool, seen = {}, {}, {}
  for _, r in ipairs(recs) do
    local h, t = r.head or "", r.tail or ""
    golds[h] = golds[h] or {}
    golds[h][t] = true
    if t ~= "" and not seen[t] then seen[t] = true; pool[#pool + 1] = t end
  end
  local ex = {}
  for _, i in ipairs(chosen) do
    local r = recs[i]
    if r.tail and r.tail ~= "" then
      local cands, used = {r.tail}, {}
      local tries = 0
      while #cands < k + 1 and tries < 20 * (k + 1) do
        tries = tries + 1
        local t = pool[rand(#pool)]
        if not golds[r.head or ""][t] and not used[t] then used[t] = true; cands[#cands + 1] = t end
      end
      ex[#ex + 1] = {record = r, cands = cands}
    end
  end
  return ex
end

local function score_template(model, enc, tpl, ex, opts)
  local srcs, tgts, tails, owner = {}, {}, {}, {}
  for i, e in ipairs(ex) do
    for c, tail in ipairs(e.cands) do
      local rec = {}
      for k, v in pairs(e.record) do rec[k] = v end
      rec.tail = tail
      local input, target = tpl.obj:render(rec)
      srcs[#srcs + 1] = with_eos(enc(input))
      tgts[#tgts + 1] = with_eos(enc(target))
      tails[#tails + 1] = enc(tail)
      owner[#owner + 1] = {i, c}
    end
  end
  local res = model:score_batch{srcs = srcs, tgts = tgts, tails = tails, sentinels = opts.sentinels,
                                eos = EOS, batch_size = opts.batch_size}
  local sum, ntok, nex, inexact = 0, 0, 0, 0
  local sum_rank, sum_rr, top1, nrank = 0, 0, 0, 0
  local per = {}
  for j, o in ipairs(owner) do
    per[o[1]] = per[o[1]] or {}
    per[o[1]][o[2]] = res[j]
  end
  for i = 1, #ex do
    local g = per[i][1]
    if g.tail_n > 0 then
      sum, ntok, nex = sum + g.tail_sum, ntok + g.tail_n, nex + 1
      if not g.exact then inexact = inexact + 1 end
      if #per[i] > 1 then
        local scores = {}
        for c, r in ipairs(per[i]) do scores[c] = num(r.tail_mean) or -math.huge end
        local rank = mto.match_rank(scores, 1)
        sum_rank, sum_rr, nrank = sum_rank + rank, sum_rr + 1 / rank, nrank + 1
        if rank == 1 then top1 = top1 + 1 end
      end
    end
  end
  return {n = nex, tail_tokens = ntok, mean_ll = ntok > 0 and sum / ntok or nil,
          ppl = num(mto.perplexity(sum, ntok)), mean_rank = nrank > 0 and sum_rank / nrank or nil,
          mrr = nrank > 0 and sum_rr / nrank or nil, top1 = nrank > 0 and top1 / nrank or nil,
          candidates = opts.candidates + 1, inexact = inexact}
end

-- ---- decision ------------------------------------------------------------------

local function decide(task, rows, templates, matchers, spec)
  local by = {}
  for _, r in ipairs(rows) do by[r.template] = r end
  local s = {task = task.name, relation = task.relation}
  for _, pair in ipairs(spec.mi_pairs or M.MI_PAIRS) do
    local a, b = by[pair[1]], by[pair[2]]
    if a and b and a.ppl and b.ppl then
      s.mi = num(mto.maskability(a.ppl, b.ppl))
      s.mi_pair = pair[1] .. "/" .. pair[2]
      break
    end
  end
  local best, bestll
  for _, r in ipairs(rows) do
    s["ppl." .. r.template], s["ll." .. r.template], s["rank." .. r.template] = r.ppl, r.mean_ll, r.mean_rank
    if r.mean_ll and (not bestll or r.mean_ll > bestll) then best, bestll = r.template, r.mean_ll end
  end
  s.best_template = best
  local out = {task = task.name, relation = task.relation, mi = s.mi, mi_pair = s.mi_pair, best_template = best,
               n = rows[1] and rows[1].n or 0}
  local whys = {}
  for _, m in ipairs(matchers) do
    local fam, why = m:decide(s)
    whys[#whys + 1] = why
    if fam then out.family, out.decided_by, out.why = fam, m.name, why; break end
  end
  if not out.family then
    local masked
    for _, t in ipairs(templates) do if t.name == best then masked = t.masked end end
    out.family = masked and "filling" or "mapping"
    out.decided_by = "best_template"
    whys[#whys + 1] = "fallback: the best template " .. tostring(best) .. (masked and " is" or " is not") .. " masked"
    out.why = table.concat(whys, "; ")
  end
  -- the recommended template: the best of the decided family, else the best overall
  local want, pick, pickll = out.family == "filling", nil, nil
  for _, t in ipairs(templates) do
    local r = by[t.name]
    if r and r.mean_ll and (not not t.masked) == want and (not pickll or r.mean_ll > pickll) then
      pick, pickll = t.name, r.mean_ll
    end
  end
  out.template = pick or best
  return out
end

-- ---- tables ---------------------------------------------------------------------

local function f(x, fmt) return x and string.format(fmt, x) or "" end

local function markdown(res)
  local L = {"| task | template | n | tail tokens | mean LL/token | PPL | gold rank | top-1 |",
             "|---|---|---:|---:|---:|---:|---:|---:|"}
  for _, r in ipairs(res.rows) do
    L[#L + 1] = string.format("| %s | %s | %d | %d | %s | %s | %s | %s |", r.task, r.template, r.n, r.tail_tokens,
                              f(r.mean_ll, "%.4f"), f(r.ppl, "%.3f"),
                              r.mean_rank and string.format("%.2f / %d", r.mean_rank, r.candidates) or "",
                              f(r.top1, "%.3f"))
  end
  L[#L + 1] = ""
  L[#L + 1] = "| task | relation | MI | family | template | decided by | why |"
  L[#L + 1] = "|---|---|---:|---|---|---|---|"
  for _, name in ipairs(res.order) do
    local t = res.tasks[name]
    L[#L + 1] = string.format("| %s | %s | %s | %s | %s | %s | %s |", t.task, t.relation or "", f(t.mi, "%.3f"),
                              t.family, t.template or "", t.decided_by, (t.why or ""):gsub("|", "/"))
  end
  return table.concat(L, "\n") .. "\n"
end

local function csvq(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

M.CSV_COLUMNS = {"task", "relation", "template", "masked", "n", "tail_tokens", "mean_ll", "ppl", "mean_rank", "mrr",
                 "top1", "candidates", "inexact", "mi", "family", "recommended", "decided_by"}

local function csv(res)
  local L = {table.concat(M.CSV_COLUMNS, ",")}
  for _, r in ipairs(res.rows) do
    local t = res.tasks[r.task]
    local row = {}
    for i, c in ipairs(M.CSV_COLUMNS) do
      local v = r[c]
      if c == "mi" or c == "family" or c == "decided_by" then v = t[c]
      elseif c == "recommended" then v = (t.template == r.template) and 1 or 0
      elseif c == "masked" then v = r.masked and 1 or 0 end
      if math.type(v) == "float" then v = string.format("%.6g", v) end
      row[i] = csvq(v)
    end
    L[#L + 1] = table.concat(row, ",")
  end
  return table.concat(L, "\n") .. "\n"
end

local function write(path, text)
  local fh, err = io.open(path, "w")
  if not fh then error("mto.match: " .. tostring(err), 0) end
  fh:write(text)
  fh:close()
end

-- ---- entry ----------------------------------------------------------------------

function M.run(spec)
  if type(spec) ~= "table" then error("mto.match: expected a table", 2) end
  local model = spec.model
  if type(model) == "string" then
    local okp, m = pcall(mto.load, model)
    if not okp then error("mto.match: " .. tostring(m), 0) end
    model = m
  end
  if not model then error("mto.match: model = (model or directory) is required", 0) end
  local tok = spec.tokenizer or model.tokenizer
  if type(tok) == "string" then tok = mto.tokenizer(tok) end
  if not tok then error("mto.match: no tokenizer (pass tokenizer = , or a model directory with spiece.model)", 0) end
  local nsent = spec.n_sentinels or 100
  local opts = {sentinels = {tok:sentinel(nsent - 1), tok:sentinel(0)}, batch_size = spec.batch_size or 32,
                candidates = spec.candidates or 4}
  local n, seed = spec.n or 64, spec.seed or 1
  local tasks, templates, matchers = load_tasks(spec), load_templates(spec), load_matchers(spec)
  local enc, log = encoder(tok), spec.log or function() end
  local res = {rows = {}, tasks = {}, order = {}, threshold = spec.threshold or 0.3}
  for ti, task in ipairs(tasks) do
    local ex = plan(task, n, opts.candidates, seed + ti - 1)
    local rows = {}
    for _, tpl in ipairs(templates) do
      local r = score_template(model, enc, tpl, ex, opts)
      r.task, r.relation, r.template, r.masked = task.name, task.relation, tpl.name, not not tpl.masked
      rows[#rows + 1] = r
      res.rows[#res.rows + 1] = r
      log(string.format("%s %s: mean LL %s, PPL %s", task.name, tpl.name, f(r.mean_ll, "%.4f"), f(r.ppl, "%.3f")))
    end
    res.tasks[task.name] = decide(task, rows, templates, matchers, spec)
    res.order[#res.order + 1] = task.name
  end
  res.markdown, res.csv = markdown(res), csv(res)
  if spec.csv then write(spec.csv, res.csv) end
  if spec.markdown then write(spec.markdown, res.markdown) end
  return res
end

return M
