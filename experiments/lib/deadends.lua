-- deadends.lua — the three parts of the paper's method that the default study
-- measured no signal for, each as a phase the study (or experiments/deadends.lua)
-- can call on the default experiment's base models:
--
--   local D = require "deadends"
--   D.mcqa(models, w, o)   multiple choice: generate-then-match (no-match = wrong, counted)
--                          and rank classification (mean / sum log-likelihood per choice),
--                          zero-shot (shots = 0) and after o.shots-shot fine-tuning
--   D.prompt(models, w, o) prompt tuning with the known remedies: init from the relation
--                          phrase, many more steps, a longer prompt, an lr sweep
--   D.adapt(models, w, o)  the adaptation arm: a model continued-pre-trained (mto.adapt) on
--                          the training split's facts as unlabelled text in the masked format
--                          (and, as a control, the same text in the LM format), then
--                          o.shots-shot fine-tuning with every template, paired by seed
-- Each returns {rows = sweep rows, text = markdown (tables with 95% CIs), wall = s}.
--
-- models: {v1_1 =, lm_adapt =, t5 =, random =} (mto models with a tokenizer), as
-- basemodels.ensure returns them; w: the world (w.tasks[name].train/valid/test,
-- w.tok, w.tokenizer_path, w.opt.mc_choices), as world.build returns it. Options
-- common to all: results = DIR (each phase writes DIR/<phase>/...), seeds = {1, ...},
-- shots (30), workers, quiet, lr (1e-4), epochs (10).
local mto = require "mto"
local fs = require "mto.fs"
local stats = require "mto.stats"
local mc = require "mto.mc"
local world = require "world"

local D = {}

D.TRIPLE_TEMPLATES = {"mapping", "masked_mapping", "prompting", "masked_prompting"}
D.QA_TEMPLATES = {"mc_mapping", "answer_prompting", "masked_answer_prompting", "choice_prompting",
                  "masked_choice_prompting"}

local function seq(n) local t = {} for i = 1, n do t[i] = i end return t end

local study = require "study"
local max_target_len = study.max_target_len -- tokens of the longest rendered target

local function task_spec(w, name, max_test)
  local t = w.tasks[name]
  return {train_records = t.train, valid_records = t.valid, test_records = t.test, max_test_heads = max_test}
end

-- Run one sweep into dir; returns its rows (only this sweep's keys) and the wall time.
local function run_sweep(spec, dir, o)
  local t0 = fs.clock()
  local sw = mto.sweep(spec)
  local keys = {}
  for _, p in ipairs(sw:points()) do keys[p.key] = true end
  local sum = sw:run{results = dir, quiet = o.quiet, workers = o.workers}
  local rows = {}
  for _, r in ipairs(require("mto.results").load(dir)) do
    if keys[r.key] and r.status == "ok" then rows[#rows + 1] = r end
  end
  return rows, fs.clock() - t0, sum.ran
end

-- "12 points, 340 s of point time" (the points' own wall times, summed: what they cost
-- when they ran, also after a rerun skipped them) + ", now Ns" when some ran now
local function cost(rows, wall, ran)
  local t = 0
  for _, r in ipairs(rows) do t = t + (tonumber(r.wall) or 0) end
  return string.format("%d points, %.0f s of point time%s", #rows, t,
                       ran and ran > 0 and string.format(", %.0f s wall now", wall) or ", cached")
end

local function num(x) return tonumber(x) end
local function f3(x) return x and string.format("%.3f", x) or "–" end

-- mean [95% t CI] of a list
local function ci(xs)
  if #xs == 0 then return "–" end
  return stats.fmt(stats.mean_ci(xs))
end

-- Wilson 95% interval of k successes in n
local function wilson(p, n)
  local z = 1.959964
  local d = 1 + z * z / n
  local c = (p + z * z / (2 * n)) / d
  local h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
  return string.format("%.3f [%.3f, %.3f]", p, c - h, c + h)
end

local function where_(rows, where)
  local out = {}
  for _, r in ipairs(rows) do
    local keep = true
    for k, v in pairs(where) do if tostring(r[k]) ~= tostring(v) then keep = false end end
    if keep then out[#out + 1] = r end
  end
  return out
end

local function values(rows, col)
  local v = {}
  for _, r in ipairs(rows) do local x = num(r[col]); if x then v[#v + 1] = x end end
  return v
end

-- ---- multiple choice -------------------------------------------------------------------

-- The constant baselines on the first n test questions: chance, and the best
-- "always answer position k" (an oracle ceiling for a model that ignores the question).
function D.mc_baselines(w, n)
  local count, m = {}, 0
  for i, r in ipairs(w.tasks.mcqa.test) do
    if i > n then break end
    local g = mc.gold(r)
    m, count[g] = m + 1, (count[g] or 0) + 1
  end
  local best, bestn = 1, -1
  for k = 1, w.opt.mc_choices do if (count[k] or 0) > bestn then best, bestn = k, count[k] or 0 end end
  return {chance = 1 / w.opt.mc_choices, constant = bestn / math.max(1, m), position = best, n = m}
end

-- o.mcqa_test (default: every test question), o.mcqa_epochs (5), o.max_src_len (64), o.mcqa_seeds (o.seeds),
-- o.models (default v1_1, lm_adapt, t5, random).
function D.mcqa(models, w, o)
  local t0 = fs.clock()
  local names = o.models or {"v1_1", "lm_adapt", "t5", "random"}
  local ms = {}
  for _, n in ipairs(names) do ms[n] = models[n] end
  local ntest = math.min(o.mcqa_test or #w.tasks.mcqa.test, #w.tasks.mcqa.test)
  local recs = {}
  for _, r in ipairs(w.tasks.mcqa.train) do recs[#recs + 1] = r end -- decode lengths from train, never test
  local function spec(shots, seeds)
    return {tasks = {mcqa = task_spec(w, "mcqa", ntest)}, models = ms, templates = D.QA_TEMPLATES,
            tokenizer = w.tokenizer_path, shots = {shots}, seeds = seeds,
            train = {optimizer = "adamw", lr = o.lr or 1e-4, epochs = o.mcqa_epochs or 5, batch_size = 8,
                     max_src_len = o.max_src_len or 64, max_tgt_len = 24},
            eval = {max_len = max_target_len(w.tok, D.QA_TEMPLATES, recs) + 2, beams = 1, batch_size = 64}}
  end
  local zrows, zwall, zran = run_sweep(spec(0, {1}), o.results .. "/mcqa/zero-shot", o)
  local seeds = o.mcqa_seeds or o.seeds
  local frows, fwall, fran = run_sweep(spec(o.shots or 30, seeds), o.results .. "/mcqa/few-shot", o)
  local bl = D.mc_baselines(w, ntest)
  local out = {string.format("Multiple choice: %d test questions, %d choices; chance %.3f, always answering " ..
                             "position %d (the best constant) %.3f. Zero-shot: one run, Wilson 95%% CI over " ..
                             "questions. %d-shot: fine-tuning (AdamW lr %g, %d epochs), mean [95%% t CI] over " ..
                             "%d seeds. gen = generate then match (a prediction naming no choice is wrong; " ..
                             "no-match = how many), rank = rank classification by mean log-likelihood per " ..
                             "token / by the sum.", ntest, w.opt.mc_choices, bl.chance, bl.position, bl.constant,
                             o.shots or 30, o.lr or 1e-4, o.mcqa_epochs or 5, #seeds), "",
               "| model / template | 0-shot gen (no-match) | 0-shot rank mean | 0-shot rank sum | " ..
               (o.shots or 30) .. "-shot gen | no-match | rank mean | rank sum |",
               "|---|---|---|---|---|---|---|---|"}
  local best = {value = -1}
  for _, n in ipairs(names) do
    for _, t in ipairs(D.QA_TEMPLATES) do
      local z = where_(zrows, {model = n, template = t})[1]
      local f = where_(frows, {model = n, template = t})
      local zc = z and string.format("%s (%d)", wilson(num(z.accuracy), ntest), num(z.mc_nomatch)) or "–"
      local fr = stats.mean_ci(values(f, "accuracy_rank_mean"))
      for _, c in ipairs{{z and num(z.accuracy_rank_mean), "0-shot rank mean"}, {z and num(z.accuracy_rank_sum), "0-shot rank sum"},
                         {fr.mean, "few-shot rank mean"}, {stats.mean_ci(values(f, "accuracy")).mean, "few-shot gen"}} do
        if c[1] and c[1] > best.value then best = {value = c[1], what = n .. " / " .. t .. ", " .. c[2]} end
      end
      out[#out + 1] = string.format("| %s / %s | %s | %s | %s | %s | %s | %s | %s |", n, t, zc,
                                    z and wilson(num(z.accuracy_rank_mean), ntest) or "–",
                                    z and wilson(num(z.accuracy_rank_sum), ntest) or "–",
                                    ci(values(f, "accuracy")), f3(stats.mean_ci(values(f, "mc_nomatch")).mean),
                                    ci(values(f, "accuracy_rank_mean")), ci(values(f, "accuracy_rank_sum")))
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = string.format("Best cell: %s = %.3f (best constant %.3f). Cost: zero-shot %s; few-shot %s.",
                                best.what or "–", best.value, bl.constant, cost(zrows, zwall, zran),
                                cost(frows, fwall, fran))
  local rows = {}
  for _, r in ipairs(zrows) do r.phase = "mcqa zero-shot"; rows[#rows + 1] = r end
  for _, r in ipairs(frows) do r.phase = "mcqa few-shot"; rows[#rows + 1] = r end
  return {rows = rows, text = table.concat(out, "\n"), wall = fs.clock() - t0, baselines = bl, best = best}
end

-- Zero-shot rank classification only (no sweep, nothing decoded): the cheap multiple-
-- choice table of the default study. o.models ({"v1_1", "lm_adapt", "t5", "random"}),
-- o.mcqa_test (every test question). Returns {text =, wall =, acc = {[model] = {[template] = {mean =, sum =}}}}.
function D.mcqa_rank(models, w, o)
  o = o or {}
  local t0 = fs.clock()
  local names = o.models or {"v1_1", "lm_adapt", "t5", "random"}
  local ntest = math.min(o.mcqa_test or #w.tasks.mcqa.test, #w.tasks.mcqa.test)
  local test = {table.unpack(w.tasks.mcqa.test, 1, ntest)}
  local bl = D.mc_baselines(w, ntest)
  local out = {string.format("Zero-shot rank classification (mto.mc.rank: each choice scored as the template's " ..
                             "target; accuracy [Wilson 95%% CI] over %d test questions, %d choices; by mean " ..
                             "log-likelihood per token / by the sum). Chance %.3f; always answering position %d " ..
                             "(the best constant) %.3f.", ntest, w.opt.mc_choices, bl.chance, bl.position, bl.constant), "",
               "| model | " .. table.concat(D.QA_TEMPLATES, " | ") .. " |", "|---" .. string.rep("|---", #D.QA_TEMPLATES) .. "|"}
  local acc = {}
  for _, n in ipairs(names) do
    acc[n] = {}
    local cells = {}
    for _, t in ipairs(D.QA_TEMPLATES) do
      local r = mc.rank(models[n], w.tok, mto.template(t), test, {batch_size = 32})
      local am, as = mc.score(test, r.mean), mc.score(test, r.sum)
      acc[n][t] = {mean = am, sum = as}
      cells[#cells + 1] = wilson(am, ntest) .. " / " .. wilson(as, ntest)
    end
    models[n]:trim()
    out[#out + 1] = string.format("| %s | %s |", n, table.concat(cells, " | "))
  end
  return {text = table.concat(out, "\n"), wall = fs.clock() - t0, acc = acc, baselines = bl}
end

-- The zero-shot rank-classification table pooled over worlds: rs = {D.mcqa_rank result
-- per world}; accuracy mean [95% t CI] over worlds, next to the best constant of each world.
function D.mcqa_rank_text(rs, names)
  names = names or {"v1_1", "lm_adapt", "t5", "random"}
  local const, nq = {}, {}
  for _, r in ipairs(rs) do const[#const + 1] = r.baselines.constant; nq[#nq + 1] = tostring(r.baselines.n) end
  local out = {string.format("Zero-shot rank classification (mto.mc.rank: each choice scored as the template's target; " ..
                             "accuracy by mean log-likelihood per token / by the sum; mean [95%% t CI] over %d worlds " ..
                             "of %s test questions, %d choices). Chance %.3f; always answering the best constant " ..
                             "position of each world %s.", #rs, table.concat(nq, ", "),
                             math.floor(1 / rs[1].baselines.chance + 0.5), rs[1].baselines.chance, ci(const)), "",
               "| model | " .. table.concat(D.QA_TEMPLATES, " | ") .. " |", "|---" .. string.rep("|---", #D.QA_TEMPLATES) .. "|"}
  local cm = stats.mean_ci(const)
  local best, above = {value = -1}, {}
  for _, n in ipairs(names) do
    local cells = {}
    for _, t in ipairs(D.QA_TEMPLATES) do
      local am, as = {}, {}
      for _, r in ipairs(rs) do am[#am + 1], as[#as + 1] = r.acc[n][t].mean, r.acc[n][t].sum end
      for _, c in ipairs{{am, "mean"}, {as, "sum"}} do
        local m = stats.mean_ci(c[1])
        local what = n .. " / " .. t .. " by the " .. c[2]
        if m.mean > best.value then best = {value = m.mean, lo = m.lo, what = what} end
        if m.lo and cm.hi and m.lo > cm.hi then above[#above + 1] = string.format("%s %.3f [%.3f, %.3f]", what, m.mean, m.lo, m.hi) end
      end
      cells[#cells + 1] = ci(am) .. " / " .. ci(as)
    end
    out[#out + 1] = string.format("| %s | %s |", n, table.concat(cells, " | "))
  end
  out[#out + 1] = ""
  out[#out + 1] = string.format("Cells whose CI lies above the best constant's (%s): %s.", stats.fmt(cm),
                                #above > 0 and table.concat(above, "; ") or "none")
  return table.concat(out, "\n"), best, cm
end

-- ---- prompt tuning ---------------------------------------------------------------------

-- The settings tried; the first is the default study's.
D.PT_SETTINGS = {
  {name = "vocab-k20-lr0.3-e10", init = "vocab", k = 20, lr = 0.3, epochs = 10, what = "as in the study"},
  {name = "phrase-k20-untrained", init = "phrase", k = 20, lr = 1e-9, epochs = 1,
   what = "the phrase-init prompt itself (lr 1e-9: no learning)"},
  {name = "phrase-k20-lr0.3-e10", init = "phrase", k = 20, lr = 0.3, epochs = 10, what = "init from the phrase"},
  {name = "phrase-k20-lr0.3-e60", init = "phrase", k = 20, lr = 0.3, epochs = 60, what = "+ 6x the steps"},
  {name = "phrase-k50-lr0.3-e60", init = "phrase", k = 50, lr = 0.3, epochs = 60, what = "+ a longer prompt"},
  {name = "phrase-k20-lr0.1-e60", init = "phrase", k = 20, lr = 0.1, epochs = 60, what = "lr 0.1"},
  {name = "phrase-k20-lr1-e60", init = "phrase", k = 20, lr = 1.0, epochs = 60, what = "lr 1.0"},
  {name = "phrase-k20-lr0.03-e60", init = "phrase", k = 20, lr = 0.03, epochs = 60, what = "lr 0.03"},
  {name = "phrase-k20-lr0.01-e60", init = "phrase", k = 20, lr = 0.01, epochs = 60, what = "lr 0.01"},
  {name = "phrase-k20-lr0.03-e10", init = "phrase", k = 20, lr = 0.03, epochs = 10, what = "lr 0.03 at the study's 10 epochs"},
}
-- The setting the default study runs (quickstart --deadends prompt): the best of the
-- sweep above on the single-draw world, and the cheapest of the good ones.
D.PT_DEFAULT = D.PT_SETTINGS[#D.PT_SETTINGS]

-- Units of a paired comparison: (replicate, seed). Rows of one world carry
-- replicate = o.replicate (default 1), so the same tables pool several worlds.
local UNIT = {"replicate", "seed"}
local function tag(rows, r) for _, row in ipairs(rows) do row.replicate = row.replicate or r end return rows end
local function unit_key(r) return tostring(r.replicate) .. "/" .. tostring(r.seed) end
local function nunits(rows)
  local u, n = {}, 0
  for _, r in ipairs(rows) do
    local k = unit_key(r)
    if not u[k] then u[k], n = true, n + 1 end
  end
  return n
end
local function diff_text(d) return stats.fmt(d) .. (d.p and string.format(" p=%.3f", d.p) or "") end

-- Decode lengths from the training split (never test), over the given templates.
local function decode_len(w, tasks, tpls)
  local recs = {}
  for _, t in ipairs(tasks) do for _, r in ipairs(w.tasks[t].train) do recs[#recs + 1] = r end end
  return max_target_len(w.tok, tpls, recs) + 2
end

-- o.pt_tasks ({"hypernym"}), o.pt_templates ({"post_pt", "masked_post_pt"}: the soft
-- tokens where the relation phrase goes), o.pt_models ({"v1_1", "lm_adapt"}),
-- o.pt_settings (D.PT_SETTINGS), o.pt_seeds (o.seeds), o.replicate (1). o.text = false:
-- rows only (to pool several worlds with D.prompt_text).
function D.prompt(models, w, o)
  local t0 = fs.clock()
  local P = require "mto.prompt"
  local tasks = o.pt_tasks or {"hypernym"}
  local tpls = o.pt_templates or {"post_pt", "masked_post_pt"}
  local names = o.pt_models or {"v1_1", "lm_adapt"}
  local settings = o.pt_settings or D.PT_SETTINGS
  local ms, ts = {}, {}
  for _, n in ipairs(names) do ms[n] = models[n] end
  for _, t in ipairs(tasks) do ts[t] = task_spec(w, t) end
  local rows, walls = {}, {}
  local saved = {}
  for k, v in pairs(P.defaults) do saved[k] = v end
  for _, s in ipairs(settings) do
    P.defaults.k, P.defaults.init = s.k, s.init -- read by mto.prompt_tune in each point (forked workers too)
    local spec = {tasks = ts, models = ms, templates = tpls, methods = {"prompt_tune"}, tokenizer = w.tokenizer_path,
                  shots = {o.shots or 30}, seeds = o.pt_seeds or o.seeds,
                  train = {optimizer = "adafactor", lr = s.lr, epochs = s.epochs, batch_size = 8, max_src_len = 32,
                           max_tgt_len = 24},
                  eval = {max_len = decode_len(w, tasks, tpls), beams = 1, batch_size = 64}}
    local ok, r, wall, ran = pcall(run_sweep, spec, o.results .. "/prompt/" .. s.name, o)
    for k in pairs(P.defaults) do P.defaults[k] = saved[k] end
    for k, v in pairs(saved) do P.defaults[k] = v end
    if not ok then error(r, 0) end
    walls[s.name] = cost(r, wall, ran)
    for _, row in ipairs(r) do row.setting = s.name; rows[#rows + 1] = row end
  end
  tag(rows, o.replicate or 1)
  local base = tag(study.baseline_rows(w, {}), o.replicate or 1)
  local res = {rows = rows, base_rows = base, walls = walls, wall = fs.clock() - t0}
  if o.text ~= false then
    res.text = D.prompt_text(rows, {tasks = tasks, templates = tpls, models = names, settings = settings, walls = walls,
                                    base_rows = base, shots = o.shots})
  end
  return res
end

-- The prompt-tuning tables of rows from one or more worlds (units = replicate x seed):
-- o = {tasks, templates, models, settings, walls = {[setting] = text}, base_rows, shots}.
function D.prompt_text(rows, o)
  local tasks, tpls, names, settings = o.tasks, o.templates, o.models, o.settings
  local out = {string.format("Prompt tuning, %d-shot, %s, Adafactor (constant lr), batch 8; ROUGE-L mean [95%% t CI] " ..
                             "over %d units (replicate x seed); the model frozen, only the k soft tokens train.",
                             o.shots or 30, table.concat(tasks, ", "),
                             nunits(where_(rows, {setting = settings[1].name}))), ""}
  for _, task in ipairs(tasks) do
    local bl, btpl = {}, {}
    for _, b in ipairs(o.base_rows or {}) do
      if b.task == task and b.rouge_l then
        if not bl[b.template] then bl[b.template] = {}; btpl[#btpl + 1] = b.template end
        table.insert(bl[b.template], b.rouge_l)
      end
    end
    local bt = {}
    for _, t in ipairs(btpl) do bt[#bt + 1] = t .. " " .. ci(bl[t]) end
    out[#out + 1] = string.format("**%s** (baselines: %s)", task, table.concat(bt, ", "))
    out[#out + 1] = ""
    local head = {"| setting |"}
    local sep = {"|---|"}
    for _, n in ipairs(names) do
      for _, t in ipairs(tpls) do head[#head + 1] = " " .. n .. " / " .. t .. " |"; sep[#sep + 1] = "---|" end
    end
    out[#out + 1] = table.concat(head)
    out[#out + 1] = table.concat(sep)
    for _, s in ipairs(settings) do
      local cells = {string.format("| %s (%s%s) |", s.name, s.what, o.walls and o.walls[s.name] and ("; " .. o.walls[s.name]) or "")}
      for _, n in ipairs(names) do
        for _, t in ipairs(tpls) do
          cells[#cells + 1] = " " .. ci(values(where_(rows, {setting = s.name, model = n, template = t, task = task}),
                                               "rouge_l")) .. " |"
        end
      end
      out[#out + 1] = table.concat(cells)
    end
    -- each setting against a reference, paired by unit (same replicate, same seed = same heads)
    local untrained
    for _, s in ipairs(settings) do if s.init == "phrase" and s.lr < 1e-6 then untrained = s end end
    local function paired_lines(title, ref, keep)
      out[#out + 1] = ""
      out[#out + 1] = title
      out[#out + 1] = ""
      for _, s in ipairs(settings) do
        if s ~= ref and keep(s) then
          local parts = {}
          for _, n in ipairs(names) do
            for _, t in ipairs(tpls) do
              local p = stats.pair(where_(rows, {model = n, template = t, task = task}),
                                   {by = "setting", on = UNIT, value = "rouge_l"})
              local a, b = stats.aligned(p, s.name, ref.name)
              parts[#parts + 1] = string.format("%s/%s %s", n, t, diff_text(stats.paired(a, b)))
            end
          end
          out[#out + 1] = string.format("- %s: %s", s.name, table.concat(parts, "; "))
        end
      end
    end
    if settings[1] ~= untrained then
      paired_lines(string.format("Paired by replicate and seed against %s (difference [95%% CI], p):", settings[1].name),
                   settings[1], function() return true end)
    end
    if untrained then
      paired_lines("Trained phrase prompts against the untrained one (what training adds), paired by replicate and seed:",
                   untrained, function(s) return s.init == "phrase" end)
    end
    out[#out + 1] = ""
  end
  return table.concat(out, "\n")
end

-- ---- adaptation ------------------------------------------------------------------------

-- o.adapt_model ("lm_adapt"), o.adapt_steps (300), o.adapt_lr (5e-4), o.adapt_arms
-- ({"mask", "lm"}: the objective of each adapted copy; "none" = the model as it is is
-- always there), o.adapt_seed (1), o.replicate (1), o.adapt_dir (where the adapted copies are kept; default DIR/adapt/models), o.base_rows (rows of the unadapted
-- model's few-shot points with the same shots, seeds, training and decode length, e.g.
-- the study's: then only the arms run). The adapted models are saved under
-- DIR/adapt/models/<arm> and reused by a rerun. o.text = false: rows and probes only
-- (to pool several worlds with D.adapt_text).
function D.adapt(models, w, o)
  local t0 = fs.clock()
  local base = o.adapt_model or "lm_adapt"
  local arms = o.adapt_arms or {"mask", "lm"}
  local steps, lr = o.adapt_steps or 300, o.adapt_lr or 5e-4
  local mdir = o.adapt_dir or (o.results .. "/adapt/models") -- the adapted copies: models, cached like the base models
  fs.mkdir(o.results .. "/adapt")
  fs.mkdir(mdir)
  local src = {}
  for _, rel in ipairs(world.STUDY) do for _, r in ipairs(w.tasks[rel].train) do src[#src + 1] = r end end
  local ms = {none = models[base]}
  local info = {}
  for _, arm in ipairs(arms) do
    local dir = string.format("%s/%s-%s-%d-s%d", mdir, arm, tostring(lr), steps, o.adapt_seed or 1)
    local loaded, m = pcall(mto.load, dir) -- absent: adapt now (mto.load raises, or returns nil)
    local logf = io.open(dir .. "/adapt.log")
    if loaded and m and logf then -- a rerun reports what the adaptation reported (no times: tables stay equal)
      local n, first, final = logf:read("n", "n", "n")
      info[arm] = {n = n, first = first, final = final}
    else
      local r = mto.adapt{model = models[base], tokenizer = w.tok, source = {task = src}, objective = arm,
                          steps = steps, seed = o.adapt_seed or 1, out = dir,
                          train = {lr = lr, batch_size = 8, optimizer = "adamw"}}
      m = r.model
      info[arm] = {n = r.n, first = r.train.first_loss, final = r.train.final_loss}
      fs.write_file(dir .. "/adapt.log", string.format("%d %.17g %.17g\n", r.n, r.train.first_loss, r.train.final_loss))
    end
    if logf then logf:close() end
    m.tokenizer = w.tok
    ms[arm] = m
  end
  -- the knowledge probe of each arm (does adaptation move what a format retrieves?)
  local B = require "basemodels"
  local groups = B.probe_set(w)
  local probes = {}
  for _, arm in ipairs{"none", table.unpack(arms)} do probes[arm] = B.probe(ms[arm], w, groups); ms[arm]:trim() end
  local ts = {}
  for _, t in ipairs(world.STUDY) do ts[t] = task_spec(w, t) end
  local spec = {tasks = ts, models = ms, templates = D.TRIPLE_TEMPLATES, tokenizer = w.tokenizer_path,
                shots = {o.shots or 30}, seeds = o.seeds,
                train = {optimizer = "adamw", lr = o.lr or 1e-4, epochs = o.epochs or 10, batch_size = 8,
                         max_src_len = 32, max_tgt_len = 24},
                eval = {max_len = decode_len(w, world.STUDY, D.TRIPLE_TEMPLATES), beams = 1, batch_size = 64}}
  if o.base_rows then -- the unadapted model's points were run already (same shots, seeds and training)
    spec.models = {}
    for _, arm in ipairs(arms) do spec.models[arm] = ms[arm] end
  end
  local rows, wall, ran = run_sweep(spec, o.results .. "/adapt/few-shot", o)
  local swept = cost(rows, wall, ran)
  for _, r in ipairs(o.base_rows or {}) do
    if r.model == base and tostring(r.shots) == tostring(o.shots or 30) and r.status == "ok" and
       (r.method == nil or r.method == "finetune") then
      rows[#rows + 1] = study.relabel(r, {model = "none"})
    end
  end
  tag(rows, o.replicate or 1)
  local res = {rows = rows, wall = fs.clock() - t0, probes = probes, info = info, cost = swept, n_source = #src}
  if o.text ~= false then
    res.text = D.adapt_text(rows, {base = base, arms = arms, probes = {probes}, info = {info}, steps = steps,
                                   adapt_lr = lr, shots = o.shots, lr = o.lr, epochs = o.epochs,
                                   n_source = {#src}, cost = swept, adapt_seed = o.adapt_seed or 1})
  end
  return res
end

-- The adaptation tables of rows from one or more worlds (units = replicate x seed):
-- o = {base, arms, probes = {per world {[arm] = probe}}, info = {per world {[arm] = ...}},
-- steps, adapt_lr, shots, lr, epochs, n_source = {per world}, cost, adapt_seed (text)}.
function D.adapt_text(rows, o)
  local arms, all = o.arms, {"none", table.unpack(o.arms)}
  local nsrc = {}
  for _, n in ipairs(o.n_source) do nsrc[#nsrc + 1] = tostring(n) end
  local out = {string.format("Adaptation of **%s**: mto.adapt on the training-split facts (%s per world) of %s rendered as " ..
                             "sentences (the prompting phrase) and split at the tail — objective mask (`head phrase " ..
                             "<extra_id_0>` -> `<extra_id_0> tail`) or, as a control for the extra exposure to the " ..
                             "same text, lm (`head phrase` -> `tail`); %d steps, AdamW lr %g, batch 8, adaptation seed %s; no " ..
                             "test head is in it. Then %d-shot fine-tuning as in the study (AdamW lr %g, %d " ..
                             "epochs); ROUGE-L mean [95%% t CI] over %d units (replicate x seed).",
                             o.base, table.concat(nsrc, ", "), table.concat(world.STUDY, ", "), o.steps, o.adapt_lr,
                             tostring(o.adapt_seed or 1), o.shots or 30, o.lr or 1e-4, o.epochs or 10,
                             nunits(where_(rows, {model = "none"}))), ""}
  out[#out + 1] = "Knowledge probe of each arm (zero-shot exact match on held-out facts, mean [95% CI] over worlds; " ..
                  "adaptation loss first -> final):"
  out[#out + 1] = ""
  out[#out + 1] = "| arm | masked | continuation | adaptation |"
  out[#out + 1] = "|---|---|---|---|"
  for _, arm in ipairs(all) do
    local pm, pc, ad = {}, {}, {}
    for k, p in ipairs(o.probes) do
      pm[#pm + 1], pc[#pc + 1] = p[arm].masked, p[arm].continuation
      local i = o.info[k][arm]
      if arm ~= "none" then
        ad[#ad + 1] = string.format("%d ex., %.3f -> %.3f", i.n, i.first, i.final)
      end
    end
    out[#out + 1] = string.format("| %s | %s | %s | %s |", arm, ci(pm), ci(pc), arm == "none" and "—" or table.concat(ad, "; "))
  end
  out[#out + 1] = ""
  out[#out + 1] = "| arm / template | " .. table.concat(world.STUDY, " | ") .. " | mean of the three |"
  out[#out + 1] = "|---" .. string.rep("|---", #world.STUDY + 1) .. "|"
  -- per unit, the mean over the relations (a unit = a replicate and a seed: the same
  -- world and heads in every arm); units in a fixed order
  local units, seen = {}, {}
  for _, r in ipairs(rows) do
    local k = unit_key(r)
    if r.model == "none" and not seen[k] then seen[k] = true; units[#units + 1] = k end
  end
  table.sort(units)
  local function sums(arm, tpl)
    local by = {}
    for _, r in ipairs(where_(rows, {model = arm, template = tpl})) do
      local k = unit_key(r)
      by[k] = by[k] or {n = 0, sum = 0}
      by[k].n, by[k].sum = by[k].n + 1, by[k].sum + num(r.rouge_l)
    end
    return by
  end
  -- only units every arm and template completed, so that paired lists stay aligned
  local complete = {}
  for _, k in ipairs(units) do complete[#complete + 1] = k end
  for _, arm in ipairs(all) do
    for _, t in ipairs(D.TRIPLE_TEMPLATES) do
      local by, keep = sums(arm, t), {}
      for _, k in ipairs(complete) do if by[k] and by[k].n == #world.STUDY then keep[#keep + 1] = k end end
      complete = keep
    end
  end
  local function per_unit(arm, tpl)
    local by, v = sums(arm, tpl), {}
    for _, k in ipairs(complete) do v[#v + 1] = by[k].sum / by[k].n end
    return v
  end
  for _, arm in ipairs(all) do
    for _, t in ipairs(D.TRIPLE_TEMPLATES) do
      local cells = {}
      for _, rel in ipairs(world.STUDY) do
        cells[#cells + 1] = ci(values(where_(rows, {model = arm, template = t, task = rel}), "rouge_l"))
      end
      cells[#cells + 1] = ci(per_unit(arm, t))
      out[#out + 1] = string.format("| %s / %s | %s |", arm, t, table.concat(cells, " | "))
    end
  end
  -- paired: each adapted arm minus none, per template (mean of the three relations per unit);
  -- and the masked-minus-plain gap (masked_prompting - prompting) per arm, and its change
  out[#out + 1] = ""
  out[#out + 1] = "Paired by replicate and seed (mean of the three relations; difference [95% CI], p):"
  out[#out + 1] = ""
  local function diff(a, b) return diff_text(stats.paired(a, b)) end
  local function minus(a, b) local v = {} for i = 1, #a do v[i] = a[i] - b[i] end return v end
  for _, arm in ipairs(arms) do
    local parts = {}
    for _, t in ipairs(D.TRIPLE_TEMPLATES) do parts[#parts + 1] = t .. " " .. diff(per_unit(arm, t), per_unit("none", t)) end
    out[#out + 1] = string.format("- %s − none: %s", arm, table.concat(parts, "; "))
  end
  local gaps = {}
  for _, arm in ipairs(all) do
    gaps[arm] = {prompt = minus(per_unit(arm, "masked_prompting"), per_unit(arm, "prompting")),
                 map = minus(per_unit(arm, "masked_mapping"), per_unit(arm, "mapping"))}
    out[#out + 1] = string.format("- %s: masked_prompting − prompting %s; masked_mapping − mapping %s", arm,
                                  ci(gaps[arm].prompt), ci(gaps[arm].map))
  end
  for _, arm in ipairs(arms) do
    out[#out + 1] = string.format("- change of the masked − plain gap, %s vs none: prompting pair %s; mapping pair %s",
                                  arm, diff(gaps[arm].prompt, gaps.none.prompt), diff(gaps[arm].map, gaps.none.map))
  end
  if gaps.mask and gaps.lm then
    out[#out + 1] = string.format("- mask vs lm adaptation (same text, other format), change of the gap: prompting pair %s; " ..
                                  "mapping pair %s", diff(gaps.mask.prompt, gaps.lm.prompt), diff(gaps.mask.map, gaps.lm.map))
  end
  if o.cost then
    out[#out + 1] = ""
    out[#out + 1] = string.format("Cost of the fine-tuning points: %s.", o.cost)
  end
  return table.concat(out, "\n")
end

return D
