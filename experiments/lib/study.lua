-- study.lua — the MTO study on the miniature world: zero-shot matching table,
-- few-shot / larger-shot / full-data sweeps with every template family, and
-- tables that carry the baselines and the hard subset.
--
--   local S = require "study"
--   S.matching(models, w)                 -> markdown table (tail tokens only)
--   S.run(models, w, {results = dir, seeds = {1,...}, ...}) -> rows (with hard-subset metrics)
--   S.tables(rows, w, models)             -> markdown text
local mto = require "mto"
local fs = require "mto.fs"
local world = require "world"

local M = {}

M.TRIPLE_TEMPLATES = {"mapping", "masked_mapping", "prompting", "masked_prompting"}
M.QA_TEMPLATES = {"mc_mapping", "answer_prompting", "masked_answer_prompting", "choice_prompting",
                  "masked_choice_prompting"}

local with_eos = require("mto.match").with_eos

local function fmt(x, d) return x and string.format("%." .. (d or 3) .. "f", x) or "—" end

-- ---- zero-shot matching ------------------------------------------------------------

-- Mean log-likelihood per tail token (nats) of the gold target under each of
-- `templates` (names), by the library's matcher (mto.match: tail tokens only,
-- sentinels and eos excluded), on every record; and the best template.
-- opts: template_opts (e.g. the paper's phrases), batch_size (64).
function M.match_scores(m, tok, templates, records, opts)
  opts = opts or {}
  if #records == 0 then return {}, nil end
  local r = mto.match{model = m, tokenizer = tok, tasks = {task = {records = records}}, templates = templates,
                      template_opts = opts.template_opts, n = #records, candidates = 0, by_relation = false,
                      batch_size = opts.batch_size or 64}
  local ll = {}
  for _, row in ipairs(r.rows) do ll[row.template] = row.mean_ll end
  return ll, r.tasks[r.order[1]].best_template
end

-- The matching table: rows = base model, cols = template, per task; the best
-- template of each row is the recommendation.
function M.matching(models, names, w, opts)
  opts = opts or {}
  local lines = {}
  local recommend = {}
  local tasks = {}
  -- the relations (mto.match scores head -> tail records; multiple choice is
  -- matched by rank classification instead: mto.mc, experiments/lib/deadends.lua)
  for _, rel in ipairs(world.STUDY) do tasks[#tasks + 1] = {rel, M.TRIPLE_TEMPLATES} end
  for _, t in ipairs(tasks) do
    local task, tpls = t[1], t[2]
    if opts.tasks and not opts.tasks[task] then goto continue end
    local recs, split = {}, opts.split or "valid"
    assert(split ~= "test", "study.matching: matching never reads the test split")
    for i, r in ipairs(w.tasks[task][split]) do if i <= (opts.max_records or 200) then recs[#recs + 1] = r end end
    lines[#lines + 1] = string.format("\n%s (%d %s examples; mean log-likelihood per tail token, nats; higher is better)\n",
                                      task, #recs, split)
    lines[#lines + 1] = "| model | " .. table.concat(tpls, " | ") .. " | recommended |"
    lines[#lines + 1] = "|---" .. string.rep("|---", #tpls + 1) .. "|"
    recommend[task] = {}
    for _, name in ipairs(names) do
      local ll, best = M.match_scores(models[name], w.tok, tpls, recs)
      local cells = {}
      for j, tn in ipairs(tpls) do cells[j] = ll[tn] and string.format("%.2f", ll[tn]) or "—" end
      recommend[task][name] = best
      lines[#lines + 1] = string.format("| %s | %s | %s |", name, table.concat(cells, " | "), best)
    end
    ::continue::
  end
  return table.concat(lines, "\n"), recommend
end

-- ---- the sweeps ---------------------------------------------------------------------

M.PT_TEMPLATES = {"pre_pt", "masked_pre_pt", "post_pt", "masked_post_pt"}

-- The longest target (in tokens) any of `templates` renders for `records`:
-- decoding stops there (+ sentinel and EOS) instead of at a generic 16 or 32.
function M.max_target_len(tok, templates, records)
  local n = 1
  for _, tn in ipairs(templates) do
    local tpl = type(tn) == "table" and mto.template(tn.template, tn.opts) or mto.template(tn)
    for _, r in ipairs(records) do
      local _, target = tpl:render(r)
      n = math.max(n, #tok:encode(target))
    end
  end
  return n
end

-- One sweep spec: `tasks` of the world, `models`, `templates`, shots and seeds,
-- method, training options `train` (over the group's defaults) and `full`.
local function spec(w, g, ph)
  local ts = {}
  for _, name in ipairs(ph.tasks) do
    local t = w.tasks[name]
    ts[name] = {train_records = t.train, valid_records = t.valid, test_records = t.test,
                max_test_heads = g.max_test}
  end
  local train = {optimizer = "adamw", lr = g.lr, epochs = g.epochs, batch_size = 8, max_src_len = g.max_src_len,
                 max_tgt_len = 24}
  for k, v in pairs(ph.train or {}) do train[k] = v end
  return {tasks = ts, models = ph.models, templates = ph.templates, methods = {ph.method or "finetune"},
          tokenizer = w.tokenizer_path, shots = ph.shots, seeds = ph.seeds, train = train, full = ph.full,
          eval = {max_len = g.eval_max_len, beams = 1, batch_size = 64}, fewshot = {tails = 3}}
end

-- Tasks of a group that have more training heads than `shots` (a larger shot
-- count equal to the whole training set would repeat the full-data point).
local function tasks_above(w, tasks, shots)
  local out = {}
  for _, name in ipairs(tasks) do
    local heads, n = {}, 0
    for _, r in ipairs(w.tasks[name].train) do
      local h = r.head or r.question
      if not heads[h] then heads[h] = true; n = n + 1 end
    end
    if n > shots then out[#out + 1] = name end
  end
  return out
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

-- The phases of the study, cheapest-first within each task group:
--   few-shot      the base models, every template family, o.shots, all o.seeds (fine-tuning)
--   random-init   the random-init baseline model, o.shots and full data, o.random.seeds
--   larger shots  o.more.shots on the tasks that have more training heads, o.more.seeds
--   full data     o.full.seeds, o.full.epochs / o.full.patience (early stopping on validation)
--   prompt tuning the prompt-tuning families (pre_pt, ...; method prompt_tune: soft
--                 prompt over the frozen model, Adafactor, o.prompt.lr), o.shots, o.prompt.seeds
-- A phase set to false is skipped. o.workers: each phase's points shared by that many
-- forked processes (sweep:run{workers =}, one engine thread each). o.mcqa = {max_test =, max_src_len =, epochs =,
-- full_epochs =, larger = false} keeps the long multiple-choice inputs cheap.
-- Returns the rows (with hard-subset metrics) and the phases' wall times
-- {{group=, phase=, points=, ran=, wall=}, ...}.
function M.run(models, w, o)
  local dir = assert(o.results, "study.run: results = DIR is required")
  fs.mkdir(dir)
  local rows, times = {}, {}
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
  local mc = o.mcqa or {}
  local groups = {
    {name = "relations", tasks = world.STUDY, templates = o.templates or M.TRIPLE_TEMPLATES, lr = o.lr, epochs = o.epochs,
     max_src_len = 32},
    {name = "mcqa", tasks = {"mcqa"}, templates = M.QA_TEMPLATES, lr = o.lr, epochs = mc.epochs or o.epochs,
     max_src_len = mc.max_src_len or 64, max_test = mc.max_test, full_epochs = mc.full_epochs, larger = mc.larger},
  }
  if o.groups then -- a subset, by name
    local keep = {}
    for _, g in ipairs(groups) do for _, n in ipairs(o.groups) do if g.name == n then keep[#keep + 1] = g end end end
    groups = keep
  end
  local pretrained, baseline = {}, {}
  for name, m in pairs(models) do
    if name == o.random_name then baseline[name] = m else pretrained[name] = m end
  end
  for _, g in ipairs(groups) do
    local recs = {}
    for _, t in ipairs(g.tasks) do
      for _, r in ipairs(w.tasks[t].train) do recs[#recs + 1] = r end -- decode lengths from train, never test
    end
    local tpls = {}
    for _, t in ipairs(g.templates) do tpls[#tpls + 1] = t end
    if o.prompt then for _, t in ipairs(M.PT_TEMPLATES) do tpls[#tpls + 1] = t end end
    g.eval_max_len = M.max_target_len(w.tok, tpls, recs) + 2
    local phases = {}
    if o.fewshot ~= false then
      phases[1] = {"few-shot", {tasks = g.tasks, models = pretrained, templates = g.templates, shots = {o.shots},
                                seeds = o.seeds}}
    end
    local rnd = o.random
    local full_opts = o.full and {epochs = g.full_epochs or o.full.epochs, patience = o.full.patience}
    if next(baseline) and rnd ~= false then
      rnd = rnd or {}
      local shots = {o.shots}
      if o.full and rnd.full ~= false then shots[2] = "full" end
      phases[#phases + 1] = {"random-init", {tasks = g.tasks, models = baseline, templates = g.templates, shots = shots,
                                             seeds = rnd.seeds or {o.seeds[1]}, full = full_opts}}
    end
    if o.more and g.larger ~= false then
      local ts = tasks_above(w, g.tasks, o.more.shots)
      if #ts > 0 then
        phases[#phases + 1] = {"larger shots", {tasks = ts, models = pretrained, templates = g.templates,
                                                shots = {o.more.shots}, seeds = o.more.seeds or {o.seeds[1]}}}
      end
    end
    if o.full then
      phases[#phases + 1] = {"full data", {tasks = g.tasks, models = pretrained, templates = g.templates,
                                           shots = {"full"}, seeds = o.full.seeds or {o.seeds[1]},
                                           full = full_opts}}
    end
    if o.prompt then
      local ptrain = {optimizer = o.prompt.optimizer or "adafactor", lr = o.prompt.lr or 0.3,
                      epochs = o.prompt.epochs or o.epochs}
      phases[#phases + 1] = {"prompt tuning", {tasks = g.tasks, models = pretrained, templates = M.PT_TEMPLATES,
                                               shots = {o.shots}, seeds = o.prompt.seeds or {o.seeds[1]},
                                               method = "prompt_tune", train = ptrain}}
      if o.prompt.random and next(baseline) then -- a soft prompt over the frozen random-init model: one seed
        phases[#phases + 1] = {"prompt tuning, random-init", {tasks = g.tasks, models = baseline,
                                                              templates = M.PT_TEMPLATES, shots = {o.shots},
                                                              seeds = {(o.prompt.seeds or o.seeds)[1]},
                                                              method = "prompt_tune", train = ptrain}}
      end
    end
    for _, ph in ipairs(phases) do
      local sub = dir .. "/" .. g.name .. "/" .. ph[1]:gsub("[^%w]+", "-")
      local t0 = fs.clock()
      local sw = mto.sweep(spec(w, g, ph[2]))
      local keys, npts = {}, 0
      for _, p in ipairs(sw:points()) do keys[p.key] = true; npts = npts + 1 end
      if not o.quiet then io.stderr:write(string.format("study: %s, %s: %d points\n", g.name, ph[1], npts)) end
      local sum = sw:run{results = sub, quiet = o.quiet, workers = o.workers}
      times[#times + 1] = {group = g.name, phase = ph[1], points = npts, ran = sum.ran, failed = sum.failed,
                           wall = fs.clock() - t0}
      if o.on_phase then o.on_phase(times[#times]) end
      for _, r in ipairs(require("mto.results").load(sub)) do
        if keys[r.key] then -- rows of earlier runs with other settings stay in the file, not in the tables
          r.group, r.phase = g.name, ph[1]
          hard_metrics(r, sub, hard)
          rows[#rows + 1] = r
        end
      end
    end
  end
  return rows, times
end

-- ---- tables ----------------------------------------------------------------------------

-- Baseline rows (most frequent tail, copy the head's last word; chance for
-- multiple choice), in the same shape as sweep rows.
function M.baseline_rows(w, o)
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
  -- always answering the same position: the best such constant on the test
  -- questions the study asks (the first o.mcqa_test) — an oracle ceiling for a
  -- model that ignores the question
  local count, n = {}, 0
  for i, r in ipairs(w.tasks.mcqa.test) do
    if i > ((o or {}).mcqa_test or math.huge) then break end
    n, count[r.answer_index] = n + 1, (count[r.answer_index] or 0) + 1
  end
  local best, bestn = 1, -1
  for k = 1, w.opt.mc_choices do if (count[k] or 0) > bestn then best, bestn = k, count[k] or 0 end end
  rows[#rows + 1] = {task = "mcqa", template = "(always choice" .. best .. ", best constant)",
                     accuracy = bestn / math.max(1, n), status = "ok"}
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
  local has_mc = false -- the mcqa column only when the study ran it (quickstart --mcqa)
  for _, r in ipairs(rows) do has_mc = has_mc or r.task == "mcqa" end
  if has_mc then tasks[#tasks + 1] = "mcqa" end
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
    if v and (has_mc or b.task ~= "mcqa") then add("baseline " .. b.template, b.task, v) end
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

-- Does the best template beat the runner-up by more than the seed spread?
-- Per (model, task): the best and second-best template by mean over seeds, the
-- gap, and "yes" when the gap exceeds both templates' standard deviations.
function M.winners(rows, o)
  local tasks = {}
  for _, rel in ipairs(world.STUDY) do tasks[#tasks + 1] = rel end
  tasks[#tasks + 1] = "mcqa"
  local vals, models, seen = {}, {}, {}
  for _, r in ipairs(rows) do
    if r.status == "ok" and tostring(r.shots) == tostring(o.shots) and (o.method == nil or r.method == o.method) then
      local v = tonumber(r.task == "mcqa" and r.accuracy or r[o.metric])
      if v then
        if not seen[r.model] then seen[r.model] = true; models[#models + 1] = r.model end
        local k = r.model .. "\0" .. r.task
        vals[k] = vals[k] or {}
        vals[k][r.template] = vals[k][r.template] or {}
        table.insert(vals[k][r.template], v)
      end
    end
  end
  table.sort(models)
  local out = {"| model | task | best template | mean ± std | runner-up | mean ± std | gap | gap > seed std |",
               "|---|---|---|---|---|---|---|---|"}
  for _, m in ipairs(models) do
    for _, t in ipairs(tasks) do
      local byt = vals[m .. "\0" .. t]
      if byt then
        local list = {}
        for tpl, v in pairs(byt) do
          local mean, sd, n = mean_std(v)
          list[#list + 1] = {tpl = tpl, mean = mean, sd = sd, n = n}
        end
        table.sort(list, function(a, b) return a.mean > b.mean or (a.mean == b.mean and a.tpl < b.tpl) end)
        local a, b = list[1], list[2]
        local function ms(x) return x.sd and string.format("%.3f ± %.3f", x.mean, x.sd) or string.format("%.3f", x.mean) end
        if b then
          local gap = a.mean - b.mean
          local verdict = (a.sd and b.sd) and ((gap > a.sd and gap > b.sd) and "yes" or "no") or "(one seed)"
          out[#out + 1] = string.format("| %s | %s | %s | %s | %s | %s | %.3f | %s |", m, t, a.tpl, ms(a), b.tpl, ms(b),
                                        gap, verdict)
        end
      end
    end
  end
  return table.concat(out, "\n")
end

-- ---- replicated statistics (mto.stats) ---------------------------------------------------

local St = require "mto.stats"

-- The template each base regime is aligned with (the paper's pairing): span
-- corruption -> masked prompting, prefix LM -> prompting, the supervised
-- mixture (in Mapping's own format) -> mapping.
M.ALIGNED = {v1_1 = "masked_prompting", lm_adapt = "prompting", t5 = "mapping"}
M.REGIMES = {"v1_1", "lm_adapt", "t5"}

local function select_rows(rows, o)
  local out = {}
  for _, r in ipairs(rows) do
    if r.status == "ok" and tostring(r.shots) == tostring(o.shots) and (o.method == nil or r.method == o.method)
       and (o.condition == nil or r.condition == o.condition) and (o.model == nil or r.model == o.model)
       and (o.task == nil or r.task == o.task) then
      out[#out + 1] = r
    end
  end
  return out
end
M.select_rows = select_rows

-- A copy of a result row with some fields changed (a row reused under another
-- label: the unadapted model as an adaptation arm, a heldout row as an unseen one).
function M.relabel(row, changes)
  local c = {}
  for k, v in pairs(row) do c[k] = v end
  for k, v in pairs(changes) do c[k] = v end
  return c
end

local function ci_cell(xs, digits)
  local r = St.mean_ci(xs)
  if not r.mean then return "" end
  local f = "%." .. (digits or 3) .. "f"
  if not r.half then return string.format(f .. " (n=1)", r.mean) end
  return string.format(f .. " ± " .. f, r.mean, r.half)
end
M.ci_cell = ci_cell

-- Mean ± 95% CI half-width over the units (replicates x seeds) of every
-- model / template per relation; baselines (one value per replicate) likewise.
-- o = {shots=, condition=, metric=, method=, templates = {...}, models = {...}}
function M.ci_table(rows, baselines, o)
  local tasks = o.tasks or world.STUDY
  local out = {"| model / template | " .. table.concat(tasks, " | ") .. " | n |",
               "|---" .. string.rep("|---", #tasks + 1) .. "|"}
  local sel = select_rows(rows, o)
  for _, m in ipairs(o.models or M.REGIMES) do
    for _, tpl in ipairs(o.templates or M.TRIPLE_TEMPLATES) do
      local cells, n = {}, 0
      for j, t in ipairs(tasks) do
        local xs = {}
        for _, r in ipairs(sel) do
          if r.model == m and r.template == tpl and r.task == t and tonumber(r[o.metric]) then
            xs[#xs + 1] = tonumber(r[o.metric])
          end
        end
        cells[j] = ci_cell(xs)
        n = math.max(n, #xs)
      end
      if n > 0 then
        local mark = M.ALIGNED[m] == tpl and " (aligned)" or ""
        out[#out + 1] = string.format("| %s / %s%s | %s | %d |", m, tpl, mark, table.concat(cells, " | "), n)
      end
    end
  end
  -- baselines: one row per replicate in `baselines` (tagged .replicate), for the
  -- replicates this table's rows come from
  local reps = {}
  for _, r in ipairs(sel) do reps[tostring(r.replicate)] = true end
  local bl = {}
  for _, b in ipairs(baselines or {}) do if reps[tostring(b.replicate)] then bl[#bl + 1] = b end end
  baselines = bl
  local blabels, seen = {}, {}
  for _, b in ipairs(baselines or {}) do
    if b.task ~= "mcqa" and not seen[b.template] then seen[b.template] = true; blabels[#blabels + 1] = b.template end
  end
  for _, l in ipairs(blabels) do
    local cells, n = {}, 0
    for j, t in ipairs(tasks) do
      local xs = {}
      for _, b in ipairs(baselines) do
        if b.template == l and b.task == t and b[o.metric] then xs[#xs + 1] = b[o.metric] end
      end
      cells[j] = ci_cell(xs)
      n = math.max(n, #xs)
    end
    out[#out + 1] = string.format("| baseline %s | %s | %d |", l, table.concat(cells, " | "), n)
  end
  return table.concat(out, "\n")
end

-- Paired comparisons per (regime, relation): the aligned template minus every
-- other template on the same units (same replicate and seed = same base model
-- and same few-shot heads), mean [95% CI] (paired t), and the relative gain of
-- the aligned template over Mapping in percent [paired bootstrap 95% CI].
-- Returns the markdown and a list of cells {model, task, best, wins, diffs}.
function M.paired_table(rows, o)
  local sel = select_rows(rows, o)
  local out = {"| model | task | aligned | mean | − mapping | − masked_mapping | − prompting | − masked_prompting | " ..
               "gain over mapping (%) | best template | aligned best, all CIs > 0 |",
               "|---|---|---|---|---|---|---|---|---|---|---|"}
  local cells = {}
  for _, m in ipairs(o.models or M.REGIMES) do
    for _, t in ipairs(o.tasks or world.STUDY) do
      local sub = {}
      for _, r in ipairs(sel) do if r.model == m and r.task == t then sub[#sub + 1] = r end end
      if #sub > 0 then
        local p = St.pair(sub, {by = "template", on = {"replicate", "seed"}, value = o.metric})
        local A = M.ALIGNED[m]
        local means, best, bestv = {}, nil, -math.huge
        for _, tpl in ipairs(M.TRIPLE_TEMPLATES) do
          local xs = {}
          for _, u in ipairs(p.units) do local v = (p.values[tpl] or {})[u]; if v then xs[#xs + 1] = v end end
          means[tpl] = St.mean_ci(xs)
          if means[tpl].mean and means[tpl].mean > bestv then best, bestv = tpl, means[tpl].mean end
        end
        local cs, wins, diffs = {}, true, {}
        for j, tpl in ipairs(M.TRIPLE_TEMPLATES) do
          if tpl == A then cs[j] = "—"
          else
            local a, b = St.aligned(p, A, tpl)
            local d = St.paired(a, b)
            diffs[tpl] = d
            cs[j] = d.mean and St.fmt(d, 3) or "–"
            if d.mean and d.mean > 0 and d.lo then
              cs[j] = cs[j] .. (d.lo > 0 and " *" or "")
            end
            wins = wins and d.lo ~= nil and d.lo > 0
          end
        end
        local gtxt = "—"
        if A ~= "mapping" then
          local a, b = St.aligned(p, A, "mapping")
          local g = St.gain(a, b, {reps = 2000, seed = 1})
          if g.gain then
            gtxt = g.lo and string.format("%+.0f [%+.0f, %+.0f]", g.gain, g.lo, g.hi) or string.format("%+.0f", g.gain)
          end
        end
        cells[#cells + 1] = {model = m, task = t, best = best, aligned = A, wins = wins and best == A, diffs = diffs}
        out[#out + 1] = string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", m, t, A,
                                      ci_cell((function() local xs = {}; for _, u in ipairs(p.units) do
                                        local v = (p.values[A] or {})[u]; if v then xs[#xs + 1] = v end end
                                        return xs end)()),
                                      cs[1], cs[2], cs[3], cs[4], gtxt, best or "", (wins and best == A) and "yes" or "no")
      end
    end
  end
  return table.concat(out, "\n"), cells
end

-- The verdict: per regime (and overall), in how many (relation) cells the
-- aligned template has the highest mean and its paired CI against every other
-- template excludes 0; and how often it merely has the highest mean.
function M.verdict(cells_by_condition, conditions)
  local out = {"| condition | model | aligned | highest mean | highest mean, every paired CI > 0 |",
               "|---|---|---|---|---|"}
  for _, cond in ipairs(conditions) do
    local cells = cells_by_condition[cond] or {}
    local tot, tb, tw = 0, 0, 0
    for _, m in ipairs(M.REGIMES) do
      local n, b, k = 0, 0, 0
      for _, c in ipairs(cells) do
        if c.model == m then
          n = n + 1
          if c.best == c.aligned then b = b + 1 end
          if c.wins then k = k + 1 end
        end
      end
      if n > 0 then
        out[#out + 1] = string.format("| %s | %s | %s | %d of %d | %d of %d |", cond, m, M.ALIGNED[m], b, n, k, n)
        tot, tb, tw = tot + n, tb + b, tw + k
      end
    end
    if tot > 0 then out[#out + 1] = string.format("| %s | all | | %d of %d | **%d of %d** |", cond, tb, tot, tw, tot) end
  end
  return table.concat(out, "\n")
end

-- Matching evaluated by code: per regime, pooled over replicates and relations,
-- how often mto.match's zero-shot recommendation (scored on validation
-- examples) equals the few-shot winner (highest mean over that replicate's
-- seeds) and the aligned template. recommend[rep][task][model] = template.
function M.matching_eval(rows, recommend, o)
  local sel = select_rows(rows, o)
  local lines = {"| model | recommendation = few-shot winner | recommendation = aligned template | winner = aligned template |",
                 "|---|---|---|---|"}
  local detail = {}
  local tot = {0, 0, 0, 0}
  for _, m in ipairs(M.REGIMES) do
    local n, rw, ra, wa = 0, 0, 0, 0
    for rep, rec in pairs(recommend) do
      for _, t in ipairs(world.STUDY) do
        local by = {}
        for _, r in ipairs(sel) do
          if r.model == m and r.task == t and tostring(r.replicate) == tostring(rep) and tonumber(r[o.metric]) then
            by[r.template] = by[r.template] or {}
            table.insert(by[r.template], tonumber(r[o.metric]))
          end
        end
        local win, wv = nil, -math.huge
        for _, tpl in ipairs(M.TRIPLE_TEMPLATES) do
          if by[tpl] then
            local mm = St.mean_ci(by[tpl]).mean
            if mm > wv then win, wv = tpl, mm end
          end
        end
        local r = rec[t] and rec[t][m]
        if win and r then
          n = n + 1
          if r == win then rw = rw + 1 end
          if r == M.ALIGNED[m] then ra = ra + 1 end
          if win == M.ALIGNED[m] then wa = wa + 1 end
          detail[#detail + 1] = {replicate = rep, model = m, task = t, recommended = r, winner = win}
        end
      end
    end
    if n > 0 then
      lines[#lines + 1] = string.format("| %s | %d of %d | %d of %d | %d of %d |", m, rw, n, ra, n, wa, n)
      tot = {tot[1] + n, tot[2] + rw, tot[3] + ra, tot[4] + wa}
    end
  end
  lines[#lines + 1] = string.format("| all | %d of %d | %d of %d | %d of %d |", tot[2], tot[1], tot[3], tot[1], tot[4], tot[1])
  return table.concat(lines, "\n"), detail, tot
end

return M
