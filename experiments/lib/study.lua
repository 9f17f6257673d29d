-- study.lua — the MTO study on the miniature world: zero-shot matching table,
-- few-shot / larger-shot / full-data sweeps with every template family, and
-- tables that carry the baselines and the hard subset.
--
--   local S = require "study"
--   S.matching(models, w)                 -> markdown table (tail tokens only)
--   S.run(models, w, {results = dir, seeds = {1,...}, ...}) -> rows (with hard-subset metrics)
--   S.tables(rows, w, models)             -> markdown text
local mto = require "mto"
local world = require "world"

local M = {}

M.TRIPLE_TEMPLATES = {"mapping", "masked_mapping", "prompting", "masked_prompting"}
M.QA_TEMPLATES = {"mc_mapping", "answer_prompting", "masked_answer_prompting", "choice_prompting",
                  "masked_choice_prompting"}

local EOS = 1

local function with_eos(ids)
  local s = {}
  for i, v in ipairs(ids) do s[i] = v end
  s[#s + 1] = EOS
  return s
end

local function fmt(x, d) return x and string.format("%." .. (d or 3) .. "f", x) or "—" end

-- ---- zero-shot matching ------------------------------------------------------------

-- Mean log-likelihood per tail token (nats) of the gold target under each
-- template, sentinels excluded: score(prefix + tail) - score(prefix), where the
-- prefix is the target's leading sentinel (masked templates) or nothing.
local function tail_loglik(m, tok, tpl, records)
  local srcs, full, pre, ntail = {}, {}, {}, 0
  for i, r in ipairs(records) do
    local input, target = tpl:render(r)
    srcs[i] = with_eos(tok:encode(input))
    local t = tok:encode(target)
    local k = 0
    while k < #t and t[k + 1] >= tok.vocab_size - 100 do k = k + 1 end -- leading sentinels
    full[i] = t
    pre[i] = {table.unpack(t, 1, k)}
    ntail = ntail + (#t - k)
  end
  local total = 0
  local B = 64
  for s = 1, #records, B do
    local bs, bf, bp, hasp = {}, {}, {}, false
    for i = s, math.min(#records, s + B - 1) do
      bs[#bs + 1], bf[#bf + 1], bp[#bp + 1] = srcs[i], full[i], pre[i]
      hasp = hasp or #pre[i] > 0
    end
    local a = m:score(bs, bf)
    for _, v in ipairs(a) do total = total + v end
    if hasp then
      local b = m:score(bs, bp)
      for _, v in ipairs(b) do total = total - v end
    end
  end
  return total / math.max(1, ntail)
end
M.tail_loglik = tail_loglik

-- The matching table: rows = base model, cols = template, per task; the best
-- template of each row is the recommendation.
function M.matching(models, names, w, opts)
  opts = opts or {}
  local lines = {}
  local recommend = {}
  local tasks = {}
  for _, rel in ipairs(world.STUDY) do tasks[#tasks + 1] = {rel, M.TRIPLE_TEMPLATES} end
  tasks[#tasks + 1] = {"mcqa", M.QA_TEMPLATES}
  for _, t in ipairs(tasks) do
    local task, tpls = t[1], t[2]
    local recs = {}
    for i, r in ipairs(w.tasks[task].test) do if i <= (opts.max_records or 200) then recs[#recs + 1] = r end end
    lines[#lines + 1] = string.format("\n%s (%d test examples; mean log-likelihood per tail token, nats; higher is better)\n",
                                      task, #recs)
    lines[#lines + 1] = "| model | " .. table.concat(tpls, " | ") .. " | recommended |"
    lines[#lines + 1] = "|---" .. string.rep("|---", #tpls + 1) .. "|"
    recommend[task] = {}
    for _, name in ipairs(names) do
      local cells, best, bestv = {}, nil, -math.huge
      for j, tn in ipairs(tpls) do
        local v = tail_loglik(models[name], w.tok, mto.template(tn), recs)
        cells[j] = string.format("%.2f", v)
        if v > bestv then best, bestv = tn, v end
      end
      recommend[task][name] = best
      lines[#lines + 1] = string.format("| %s | %s | %s |", name, table.concat(cells, " | "), best)
    end
  end
  return table.concat(lines, "\n"), recommend
end

-- ---- the sweeps ---------------------------------------------------------------------

-- Sweep specs for one group of tasks; the few-shot one (shots 30, all seeds) and
-- the larger ones (a larger shot count and full data, first seed).
local function sweep_specs(models, w, o, tasks, templates)
  local ts = {}
  for _, name in ipairs(tasks) do
    local t = w.tasks[name]
    ts[name] = {train_records = t.train, valid_records = t.valid, test_records = t.test}
  end
  local base = {
    tasks = ts, models = models, templates = templates, methods = o.methods,
    tokenizer = w.tokenizer_path,
    train = {optimizer = "adamw", lr = o.lr, epochs = o.epochs, batch_size = 8, max_src_len = 96, max_tgt_len = 24},
    full = {epochs = o.full_epochs, patience = 2},
    eval = {max_len = 16, beams = 1, batch_size = 64},
    fewshot = {tails = 3},
  }
  local few, more = {}, {}
  for k, v in pairs(base) do few[k], more[k] = v, v end
  few.shots, few.seeds = {o.shots}, o.seeds
  more.shots, more.seeds = {o.more_shots, "full"}, {o.seeds[1]}
  return few, more
end

-- Read the predictions file of a row and score the hard subset (heads whose
-- tails share no word with the head).
local function hard_metrics(row, dir, hard)
  if row.status ~= "ok" or not row.predictions or row.predictions == "" then return end
  local f = io.open(dir .. "/" .. row.predictions)
  if not f then return end
  local n, rl, em = 0, 0, 0
  local first = true
  for line in f:lines() do
    if first then first = false
    else
      local rel, head, _, pred, score, refs = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      if rel and hard[rel .. "\0" .. head] then
        n = n + 1
        rl = rl + tonumber(score)
        local list = {}
        for r in (refs .. " | "):gmatch("(.-) | ") do list[#list + 1] = r end
        em = em + (mto.exact_match(pred, list) and 1 or 0)
      end
    end
  end
  f:close()
  if n > 0 then row.rouge_l_hard, row.exact_match_hard, row.n_hard = rl / n, em / n, n end
end

-- Run everything; returns the rows of both result directories, with hard-subset metrics.
function M.run(models, w, o)
  local dir = assert(o.results, "study.run: results = DIR is required")
  mto._mkdir(dir)
  local rows = {}
  local hard = {}
  for _, rel in ipairs(world.STUDY) do
    local by = {}
    for _, f in ipairs(w.tasks[rel].test) do
      local k = rel .. "\0" .. f.head
      if by[k] == nil then by[k] = true end
      by[k] = by[k] and f.hard == 1
    end
    for k, v in pairs(by) do if v then hard[k] = true end end
  end
  local groups = {
    {"relations", world.STUDY, M.TRIPLE_TEMPLATES},
    {"mcqa", {"mcqa"}, M.QA_TEMPLATES},
  }
  for _, g in ipairs(groups) do
    local sub = dir .. "/" .. g[1]
    -- the pre-trained models with every seed; the random-init baseline model
    -- with the first two (it stays near zero, and it costs as much as a base model)
    local pretrained, baseline = {}, {}
    for name, m in pairs(models) do
      if name == o.random_name then baseline[name] = m else pretrained[name] = m end
    end
    local few, more = sweep_specs(models, w, o, g[2], g[3])
    few.models = pretrained
    local phases = {{"few-shot", few}}
    if next(baseline) then
      local fr = sweep_specs(baseline, w, o, g[2], g[3])
      fr.seeds = {table.unpack(o.seeds, 1, math.min(2, #o.seeds))}
      phases[#phases + 1] = {"few-shot, random-init model", fr}
    end
    if not o.skip_more then phases[#phases + 1] = {"larger shots and full data", more} end
    for _, ph in ipairs(phases) do
      local sw = mto.sweep(ph[2])
      if not o.quiet then io.stderr:write(string.format("study: %s, %s: %d points\n", g[1], ph[1], #sw:points())) end
      sw:run{results = sub, quiet = o.quiet}
    end
    for _, r in ipairs(require("mto.results").load(sub)) do
      r.group = g[1]
      hard_metrics(r, sub, hard)
      rows[#rows + 1] = r
    end
  end
  return rows
end

-- ---- tables ----------------------------------------------------------------------------

-- Baseline rows (most frequent tail, copy the head's last word; chance for
-- multiple choice), in the same shape as sweep rows.
function M.baseline_rows(w)
  local rows = {}
  for _, rel in ipairs(world.STUDY) do
    local count, top, topn = {}, "", 0
    for _, f in ipairs(w.tasks[rel].train) do
      count[f.tail] = (count[f.tail] or 0) + 1
      if count[f.tail] > topn then top, topn = f.tail, count[f.tail] end
    end
    local by, order = {}, {}
    for _, f in ipairs(w.tasks[rel].test) do
      local g = by[f.head]
      if not g then g = {head = f.head, refs = {}, hard = true}; by[f.head] = g; order[#order + 1] = g end
      g.refs[#g.refs + 1] = f.tail
      g.hard = g.hard and f.hard == 1
    end
    for _, b in ipairs{{"(most frequent tail)", function() return top end},
                       {"(copy head's last word)", function(g) return g.head:match("(%S+)$") end}} do
      local rl, em, n, rlh, emh, nh = 0, 0, 0, 0, 0, 0
      for _, g in ipairs(order) do
        local p = b[2](g)
        local r, e = mto.rouge_l(p, g.refs), mto.exact_match(p, g.refs) and 1 or 0
        rl, em, n = rl + r, em + e, n + 1
        if g.hard then rlh, emh, nh = rlh + r, emh + e, nh + 1 end
      end
      rows[#rows + 1] = {task = rel, template = b[1], rouge_l = rl / n, exact_match = em / n,
                         rouge_l_hard = nh > 0 and rlh / nh or nil, exact_match_hard = nh > 0 and emh / nh or nil,
                         status = "ok"}
    end
  end
  rows[#rows + 1] = {task = "mcqa", template = "(chance)", accuracy = 1 / w.opt.mc_choices, status = "ok"}
  return rows
end

local function mean_std(v)
  local n, s = #v, 0
  if n == 0 then return nil end
  for _, x in ipairs(v) do s = s + x end
  local m = s / n
  if n < 2 then return m, nil, n end
  local q = 0
  for _, x in ipairs(v) do q = q + (x - m) ^ 2 end
  return m, math.sqrt(q / (n - 1)), n
end
M.mean_std = mean_std

-- One markdown table: rows = model / template (+ baselines), cols = tasks;
-- value per task: `metric` for relations, accuracy for mcqa; mean ± std over seeds.
function M.table(rows, baselines, o)
  local tasks = {}
  for _, rel in ipairs(world.STUDY) do tasks[#tasks + 1] = rel end
  tasks[#tasks + 1] = "mcqa"
  local labels, seen, cells = {}, {}, {}
  local function add(label, task, v)
    if not seen[label] then seen[label] = true; labels[#labels + 1] = label end
    cells[label] = cells[label] or {}
    cells[label][task] = cells[label][task] or {}
    table.insert(cells[label][task], v)
  end
  for _, r in ipairs(rows) do
    if r.status == "ok" and tostring(r.shots) == tostring(o.shots) and (o.method == nil or r.method == o.method) then
      local metric = r.task == "mcqa" and "accuracy" or o.metric
      local v = tonumber(r[metric])
      if r.task == "mcqa" and o.hard then v = tonumber(r.accuracy) end
      if v then
        local tpl = r.template
        if r.task == "mcqa" then
          tpl = ({mc_mapping = "mapping", answer_prompting = "prompting", masked_answer_prompting = "masked_prompting",
                  choice_prompting = "choice_prompting", masked_choice_prompting = "masked_choice_prompting"})[tpl] or tpl
        end
        add(r.model .. " / " .. tpl, r.task, v)
      end
    end
  end
  for _, b in ipairs(baselines) do
    local metric = b.task == "mcqa" and "accuracy" or o.metric
    local v = b[metric]
    if v then add("baseline " .. b.template, b.task, v) end
  end
  local out = {"| model / template | " .. table.concat(tasks, " | ") .. " |", "|---" .. string.rep("|---", #tasks) .. "|"}
  for _, l in ipairs(labels) do
    local cs = {}
    for j, t in ipairs(tasks) do
      local v = cells[l][t]
      if v then
        local m, s, n = mean_std(v)
        cs[j] = (s and string.format("%.3f ± %.3f", m, s) or string.format("%.3f", m)) .. (n > 1 and "" or "")
      else cs[j] = "" end
    end
    out[#out + 1] = "| " .. l .. " | " .. table.concat(cs, " | ") .. " |"
  end
  return table.concat(out, "\n")
end

return M
