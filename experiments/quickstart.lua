-- quickstart.lua — the embedded default experiment (DESIGN §6): the paper's
-- study, made real on miniature WordNet worlds that tiny models can learn,
-- replicated, with held-out phrasing and paired statistics.
--
--   mto run experiments/quickstart.lua [options]
--
--   --replicates R  independent replicates, each with its own world sample and
--                   pre-training seed (default 3)
--   --cache DIR     where worlds and base models are kept ($MTO_CACHE, else ./mto-cache)
--   --results DIR   where the study writes its CSV / predictions / tables.md / figures
--                   (default: CACHE/results-<configuration>)
--   --report DIR    also copy tables.md and the figures there (e.g. experiments/report)
--   --conditions LIST  pre-training / template conditions, comma-separated, of
--                   heldout (primary), verbatim, unseen (default: all three)
--   --verbatim-replicates N  pre-train the verbatim condition in the first N
--                   replicates only (default 1: it doubles a replicate's pre-training)
--   --synsets N (300) --forms N (3)   world size, surface forms per fact
--   --stage1 N --stage2 N            pre-training steps (default 2000 / 800)
--   --shots N (30) --seeds N (3)                 the few-shot phase (per replicate)
--   --more-shots N (60) --more-seeds N (1)       the larger shot count (0 = none)
--   --full-seeds N (1) --full-epochs N (5) --full-patience N (1)   full data (0 seeds = none)
--   --epochs N (10)  fine-tuning epochs
--   --workers N     pre-training jobs and study points run by N processes at once
--                   (default: one per core); every process uses one engine thread,
--                   so the tables do not depend on N
--   --quick         a few-minute smoke version     --tiny   a seconds-long one (tests)
--   --deadends LIST the paper's parts that measured no signal in the earlier single-draw
--                   study, re-measured on every replicate (issue 16), comma-separated, of
--                   rank (zero-shot multiple choice by rank classification), prompt (prompt
--                   tuning initialised from the relation phrase), adapt (the adaptation arm);
--                   default all three, "none" to skip; experiments/deadends.lua has the full sweeps
--   --no-study      stop after the knowledge probe and the matching table
--   --quiet         no progress lines
--
-- What it does, per replicate r = 1..R:
--  1. builds world r from Debian's wordnet-base (seed r): facts as sentences in
--     --forms surface forms next to glosses; heads split train / valid / test;
--  2. pre-trains three tiny base models per pre-training condition (seed r):
--     span corruption + salient spans (t5 v1.1), then prefix LM (lm-adapt), or
--     mixed with supervised mapping on other relations (original t5);
--     heldout: valid/test heads' facts never in the templates' form; verbatim: every form;
--  3. the knowledge probe: can each model fill held-out facts zero-shot, in the
--     templates' form (across forms) and in a form it read?
--  4. the matching table on validation examples: which template does each model "speak"?
--  5. the study: few-shot fine-tuning, every template family, three relations
--     (heldout, verbatim, and unseen = the natural templates with a phrase no
--     pre-training sentence contains), the larger shot count and full data (heldout),
--     with baselines (most frequent tail, copy-from-head, random-init model).
-- Then the tables (mean ± 95% CI over replicates x seeds), the paired comparisons
-- of each regime's aligned template, the verdict, matching scored against the
-- outcome, and the figures. Delete the cache directory to start over.
local mto = require "mto"
local fs = require "mto.fs"

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"
local S = require "study"
local St = require "mto.stats"

-- ---- options ----------------------------------------------------------------------
local o = {cache = os.getenv("MTO_CACHE") or "mto-cache", replicates = 3, synsets = 300, forms = 3,
           stage1 = nil, stage2 = nil, quick = false, tiny = false, study = true, quiet = false,
           shots = 30, seeds = 3, epochs = 10, more_shots = 60, more_seeds = 1, full_seeds = 1, full_epochs = 5,
           full_patience = 1, workers = "auto", conditions = "heldout,verbatim,unseen", verbatim_replicates = 1,
           deadends = "rank,prompt,adapt"}
local NUMERIC = {["--replicates"] = "replicates", ["--verbatim-replicates"] = "verbatim_replicates", ["--synsets"] = "synsets", ["--forms"] = "forms",
                 ["--seeds"] = "seeds", ["--stage1"] = "stage1", ["--stage2"] = "stage2",
                 ["--shots"] = "shots", ["--epochs"] = "epochs", ["--more-shots"] = "more_shots",
                 ["--more-seeds"] = "more_seeds", ["--full-seeds"] = "full_seeds", ["--full-epochs"] = "full_epochs",
                 ["--full-patience"] = "full_patience"}
local i = 1
while arg[i] do
  local a = arg[i]
  local function val() i = i + 1; return arg[i] or error("quickstart: " .. a .. " needs a value", 0) end
  if a == "--cache" then o.cache = val()
  elseif a == "--results" then o.results = val()
  elseif a == "--report" then o.report = val()
  elseif a == "--conditions" then o.conditions = val()
  elseif a == "--deadends" then o.deadends = val()
  elseif NUMERIC[a] then
    local v = math.tointeger(tonumber(val()))
    if not v or v < 0 then error("quickstart: " .. a .. " needs a non-negative integer", 0) end
    o[NUMERIC[a]] = v
  elseif a == "--workers" then
    local v = val()
    o.workers = v == "auto" and v or math.tointeger(tonumber(v))
    if not o.workers or (o.workers ~= "auto" and o.workers < 1) then error("quickstart: --workers needs a positive integer or auto", 0) end
  elseif a == "--quick" then o.quick = true
  elseif a == "--tiny" then o.tiny = true
  elseif a == "--no-study" then o.study = false
  elseif a == "--quiet" then o.quiet = true
  else error("quickstart: unknown option " .. a .. " (see the comment at the top of the script)", 0) end
  i = i + 1
end
if o.replicates < 1 or o.forms < 2 or o.forms > 3 then error("quickstart: --replicates >= 1, --forms 2 or 3", 0) end
local cond = {}
for c in o.conditions:gmatch("[^,]+") do
  if c ~= "heldout" and c ~= "verbatim" and c ~= "unseen" then error("quickstart: unknown condition " .. c, 0) end
  cond[c] = true
end
if not cond.heldout then error("quickstart: --conditions must include heldout (the primary condition)", 0) end
local dead = {}
for c in o.deadends:gmatch("[^,]+") do
  if c ~= "rank" and c ~= "prompt" and c ~= "adapt" and c ~= "none" then
    error("quickstart: --deadends takes rank, prompt, adapt or none, comma-separated", 0)
  end
  dead[c] = c ~= "none" or nil
end
local model_config
if o.quick then
  o.stage1, o.stage2, o.seeds = o.stage1 or 300, o.stage2 or 100, math.min(o.seeds, 2)
  o.more_shots, o.full_epochs = math.min(o.more_shots, 40), 2
end
if o.tiny then -- seconds: for tests of the pipeline, not for results
  o.synsets, o.stage1, o.stage2, o.seeds, o.epochs = math.min(o.synsets, 60), o.stage1 or 20, o.stage2 or 10, math.min(o.seeds, 2), 1
  o.shots, o.more_shots, o.full_epochs = 3, 5, 1
  model_config = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 2, num_layers = 1, num_decoder_layers = 1,
                  feed_forward_proj = "gated-gelu", tie_word_embeddings = false, dropout_rate = 0.0}
end
local nworkers = o.workers == "auto" and mto.ncpu() or o.workers
-- One engine thread everywhere (pre-training jobs, probe, matching, every study
-- point), so that no number depends on the core count or on --workers: with
-- OPENBLAS_CORETYPE fixed, the tables are bit-identical on any x86-64 machine.
mto.threads(1)
local R = o.replicates

local t_start = fs.clock()
local function say(...) print(string.format(...)); io.stdout:flush() end
local function elapsed() return require("mto.progress").clock(fs.clock() - t_start) end
local function seq(n) local t = {} for s = 1, n do t[s] = s end return t end

say("mto %s — the default experiment: Match Task to Objective on miniature WordNet worlds", mto.version)
say("cache: %s (delete it to start over); %d replicate%s; conditions: %s; %d worker process%s, one engine thread each",
    o.cache, R, R == 1 and "" or "s", o.conditions, nworkers, nworkers == 1 and "" or "es")
say("environment: OPENBLAS_CORETYPE=%s (unset: OpenBLAS picks the kernel for this CPU; the report uses Haswell)",
    os.getenv("OPENBLAS_CORETYPE") or "unset")
fs.mkdir(o.cache)
local tag = (o.quick and "-quick" or "") .. (o.tiny and "-tiny" or "")
local report = {}       -- tables.md: deterministic content only (no times)
local function add(title, text) report[#report + 1] = string.format("### %s\n\n%s\n", title, text) end
local function show(title, text) say("\n### %s\n\n%s", title, text); add(title, text) end

-- ---- 1. the worlds -----------------------------------------------------------------
say("\n## 1. Worlds (%s)\n", elapsed())
local worlds, wnames = {}, {}
for r = 1, R do
  wnames[r] = world.dirname(o.synsets, o.forms, r)
  worlds[r] = world.build{dir = o.cache .. "/" .. wnames[r], synsets = o.synsets, seed = r, forms = o.forms,
                          vocab_size = o.tiny and 800 or nil}
  local w = worlds[r]
  say("replicate %d: %s", r, world.describe(w))
  for _, c in ipairs{"heldout", "verbatim"} do
    if cond[c] or c == "heldout" then
      local ts = world.text_stats(w, c)
      say("  pre-training text, %-8s %d sentences, %d tokens", c, ts.sentences, ts.tokens)
    end
  end
  if w.stats.unknown_tokens > 0 then say("WARNING: %d unknown tokens in the world's text", w.stats.unknown_tokens) end
end
add("Configuration", string.format(
  "%d replicates (world seed = pre-training seed = replicate); %d synsets, %d surface forms per fact; " ..
  "pre-training %s / %s steps; %d-shot with %d seeds per replicate, %d-shot with %d, full data with %d; conditions %s " ..
  "(verbatim pre-trained in the first %d replicate%s).",
  R, o.synsets, o.forms, tostring(o.stage1 or B.DEFAULTS.stage1), tostring(o.stage2 or B.DEFAULTS.stage2), o.shots,
  o.seeds, o.more_shots, o.more_seeds, o.full_seeds, o.conditions, math.min(R, o.verbatim_replicates),
  math.min(R, o.verbatim_replicates) == 1 and "" or "s"))

-- ---- 2. base models -----------------------------------------------------------------
say("\n## 2. Base models (%s): %d pre-training jobs at a time", elapsed(), nworkers)
local t0 = fs.clock()
local specs = {}
for r = 1, R do
  for _, c in ipairs{"heldout", "verbatim"} do
    if c == "heldout" or cond.verbatim and c == "verbatim" and r <= o.verbatim_replicates then
      specs[#specs + 1] = {w = worlds[r], condition = c, seed = r, replicate = r, label = string.format("r%d/%s", r, c),
                           dir = string.format("%s/%s/models-%s%s", o.cache, wnames[r], c, tag)}
    end
  end
end
local specs_dir = {} -- replicate -> its heldout base models' directory
for _, sp in ipairs(specs) do if sp.condition == "heldout" then specs_dir[sp.replicate] = sp.dir end end
local bopts = {stage1 = o.stage1, stage2 = o.stage2, quiet = o.quiet, workers = nworkers, config = model_config}
if o.tiny then bopts.batch_size, bopts.copies = 16, 1 end
local mlist, logs = B.ensure_many(specs, bopts)
local pre_wall = fs.clock() - t0
local models = {}   -- models[r][condition][regime]
local cached = true
for k, sp in ipairs(specs) do
  models[sp.replicate] = models[sp.replicate] or {}
  models[sp.replicate][sp.condition] = mlist[k]
  for _, rg in ipairs(B.REGIMES) do
    local l = logs[k][rg]
    cached = cached and l.cached
    say("  %-12s %-9s %s", sp.label, rg, l.cached and "(cached)" or
        string.format("%d steps, %.0f s, final loss %.3f (stage 1: %s)", l.steps, l.wall, l.final_loss,
                      logs[k].stage1.cached and "cached" or string.format("%.0f s", logs[k].stage1.wall)))
  end
end
say("pre-training: %.0f s wall%s", pre_wall, cached and " (all cached)" or "")
for r = 1, R do
  local random = mto.new(models[r].heldout.v1_1.config, 12345 + r)
  random.tokenizer = worlds[r].tok
  models[r].heldout.random = random
end

-- ---- 3. the knowledge probe ---------------------------------------------------------------
say("\n## 3. Knowledge probe (%s): zero-shot exact match filling the test heads' facts", elapsed())
local t_probe = fs.clock()
local probe_rows = {"| replicate | model | template form, masked | template form, continuation | " ..
                    "a pre-training form, masked | template form masked, hard |", "|---|---|---|---|---|---|"}
local pcols = {}   -- pcols[label] = {list per column}
local plabels = {}
local function prow(r, label, tf, seen)
  probe_rows[#probe_rows + 1] = string.format("| %d | %s | %.3f | %.3f | %.3f | %.3f |", r, label, tf.masked,
                                              tf.continuation or 0, seen.masked, tf.masked_hard)
  if not pcols[label] then pcols[label] = {{}, {}, {}, {}}; plabels[#plabels + 1] = label end
  local c = pcols[label]
  table.insert(c[1], tf.masked); table.insert(c[2], tf.continuation or 0)
  table.insert(c[3], seen.masked); table.insert(c[4], tf.masked_hard)
end
for r = 1, R do
  local w = worlds[r]
  local g1, g2 = B.probe_set(w, "test", 1), B.probe_set(w, "test", 2)
  for _, c in ipairs{"heldout", "verbatim"} do
    if models[r][c] then
      for _, rg in ipairs(B.REGIMES) do
        prow(r, rg .. " (" .. c .. ")", B.probe(models[r][c][rg], w, g1), B.probe(models[r][c][rg], w, g2))
      end
    end
  end
  prow(r, "random-init", B.probe(models[r].heldout.random, w, g1), B.probe(models[r].heldout.random, w, g2))
  local bl = B.baselines(w, g1)
  local mf = {masked = bl.most_frequent, continuation = bl.most_frequent, masked_hard = bl.most_frequent_hard}
  local cp = {masked = bl.copy_head, continuation = bl.copy_head, masked_hard = bl.copy_head_hard}
  prow(r, "baseline: most frequent tail", mf, mf)
  prow(r, "baseline: copy head's last word", cp, cp)
end
local pmean = {"| model | template form, masked | template form, continuation | a pre-training form, masked | " ..
               "template form masked, hard |", "|---|---|---|---|---|"}
for _, l in ipairs(plabels) do
  local c = pcols[l]
  pmean[#pmean + 1] = string.format("| %s | %s | %s | %s | %s |", l, S.ci_cell(c[1]), S.ci_cell(c[2]), S.ci_cell(c[3]),
                                    S.ci_cell(c[4]))
end
say("Inputs: the template form (`X is a kind of <extra_id_0>.` / `X is a kind of`), which under heldout no test fact")
say("was pre-trained in (the model must carry the fact across forms), and form 2 (`X is a type of <extra_id_0>.`),")
say("which it read. Hard = heads whose tails share no word with the head.")
show("Knowledge probe, mean ± 95% CI over replicates (exact match, test heads)", table.concat(pmean, "\n"))
show("Knowledge probe per replicate", table.concat(probe_rows, "\n"))

-- ---- 4. matching ------------------------------------------------------------------------
say("\n## 4. Matching (%s): zero-shot on validation examples, tail tokens only (sentinels excluded)", elapsed())
local t_match = fs.clock()
local recommend = {}
for r = 1, R do
  local mtext, rec = S.matching(models[r].heldout, B.REGIMES, worlds[r], {split = "valid",
                                tasks = {hypernym = true, part_holonym = true, member_holonym = true}})
  recommend[r] = rec
  show(string.format("Matching, replicate %d (heldout models)", r), mtext)
end

if not o.study then
  fs.write_file(o.cache .. "/probe" .. tag .. ".md", table.concat(report, "\n"))
  say("\n(--no-study) done in %s", elapsed())
  return
end

for r = 1, R do
  for _, c in pairs(models[r]) do for _, m in pairs(c) do m:trim() end end
end

-- ---- 5. the study -------------------------------------------------------------------------
local results = o.results or string.format("%s/results-r%d-n%d-f%d%s", o.cache, R, o.synsets, o.forms, tag)
fs.mkdir(results)
say("\n## 5. Study (%s): results in %s/", elapsed(), results)
say("fine-tuning: AdamW lr 1e-4, %d epochs, batch 8; %d-shot with %d seeds per replicate (seed s draws the same " ..
    "heads for every template and model), %d-shot with %d, full data with %d (<= %d epochs, patience %d)",
    o.epochs, o.shots, o.seeds, o.more_shots, o.more_seeds, o.full_seeds, o.full_epochs, o.full_patience)
local t_study = fs.clock()
local rows, base_rows = {}, {}
local function on_phase(r, c)
  return function(t)
    say("  r%d %-8s %-13s %4d points (%d run now, %d failed) %6.1f s", r, c, t.phase, t.points, t.ran, t.failed, t.wall)
  end
end
local unseen_tpls = {}
for _, t in ipairs{"prompting", "masked_prompting"} do
  unseen_tpls[#unseen_tpls + 1] = {name = t, template = t, opts = {phrases = world.UNSEEN_PHRASES}}
end
local common = {seeds = seq(o.seeds), shots = o.shots, lr = 1e-4, epochs = o.epochs, quiet = o.quiet,
                workers = o.workers, groups = {"relations"}}
local function run(r, c, ms, extra)
  local opt = {}
  for k, v in pairs(common) do opt[k] = v end
  for k, v in pairs(extra) do opt[k] = v end
  opt.results, opt.on_phase = string.format("%s/r%d/%s", results, r, c), on_phase(r, c)
  local rs = S.run(ms, worlds[r], opt)
  for _, row in ipairs(rs) do row.replicate, row.condition = r, c; rows[#rows + 1] = row end
end
for r = 1, R do
  local hm = models[r].heldout
  run(r, "heldout", hm, {random_name = "random", random = {seeds = {1}, full = false},
                         more = o.more_shots > 0 and o.more_seeds > 0 and {shots = o.more_shots, seeds = seq(o.more_seeds)} or nil,
                         full = o.full_seeds > 0 and {seeds = seq(o.full_seeds), epochs = o.full_epochs,
                                                      patience = o.full_patience} or nil})
  if cond.verbatim and models[r].verbatim then run(r, "verbatim", models[r].verbatim, {}) end
  if cond.unseen then
    run(r, "unseen", {v1_1 = hm.v1_1, lm_adapt = hm.lm_adapt, t5 = hm.t5}, {templates = unseen_tpls})
  end
  for _, b in ipairs(S.baseline_rows(worlds[r], {})) do b.replicate = r; base_rows[#base_rows + 1] = b end
end
-- unseen phrase: Mapping and MaskedMapping carry no phrase, so their heldout rows
-- (same models, same heads) are that condition's rows too
if cond.unseen then
  local extra = {}
  for _, row in ipairs(rows) do
    if row.condition == "heldout" and tostring(row.shots) == tostring(o.shots) and
       (row.template == "mapping" or row.template == "masked_mapping") and row.model ~= "random" then
      extra[#extra + 1] = S.relabel(row, {condition = "unseen"})
    end
  end
  for _, c in ipairs(extra) do rows[#rows + 1] = c end
end
local study_wall = fs.clock() - t_study

-- ---- 5b. the dead ends, on every replicate's heldout models ---------------------------------
local D = require "deadends"
local t_dead = fs.clock()
local dead_text = {}
if next(dead) then
  say("\n## 5b. Dead ends (%s): %s, heldout models of every replicate", elapsed(), o.deadends)
  local ranks, pt_rows, pt_base, ad_rows, ad_probes, ad_info, ad_src = {}, {}, {}, {}, {}, {}, {}
  local pt_settings = {D.PT_SETTINGS[2], D.PT_DEFAULT}
  local adapt_steps = o.tiny and 5 or 300
  for r = 1, R do
    local hm = models[r].heldout
    local dopts = {results = string.format("%s/r%d/deadends", results, r), seeds = seq(o.seeds), shots = o.shots,
                   lr = 1e-4, epochs = o.epochs, quiet = o.quiet, workers = o.workers, replicate = r, text = false}
    if dead.rank then ranks[r] = D.mcqa_rank(hm, worlds[r], {}) end
    if dead.prompt then
      dopts.pt_settings = pt_settings
      local res = D.prompt(hm, worlds[r], dopts)
      for _, row in ipairs(res.rows) do pt_rows[#pt_rows + 1] = row end
      for _, row in ipairs(res.base_rows) do pt_base[#pt_base + 1] = row end
    end
    if dead.adapt then
      local base = {}
      for _, row in ipairs(rows) do
        if row.replicate == r and row.condition == "heldout" and row.model == "lm_adapt" then base[#base + 1] = row end
      end
      dopts.base_rows, dopts.adapt_seed, dopts.adapt_steps = base, r, adapt_steps
      dopts.adapt_dir = specs_dir[r] .. "/adapted" -- next to the base models: a cached run reuses them
      local res = D.adapt(hm, worlds[r], dopts)
      for _, row in ipairs(res.rows) do ad_rows[#ad_rows + 1] = row end
      ad_probes[r], ad_info[r], ad_src[r] = res.probes, res.info, res.n_source
    end
    say("  r%d dead ends done (%s)", r, elapsed())
  end
  if dead.rank then
    dead_text[#dead_text + 1] = {"Dead end 1: multiple choice by rank classification, zero-shot, heldout models",
                                 (D.mcqa_rank_text(ranks))}
  end
  if dead.prompt then
    dead_text[#dead_text + 1] = {"Dead end 2: prompt tuning initialised from the relation phrase, heldout models",
                                 D.prompt_text(pt_rows, {tasks = {"hypernym"}, templates = {"post_pt", "masked_post_pt"},
                                                         models = {"v1_1", "lm_adapt"}, settings = pt_settings,
                                                         base_rows = pt_base, shots = o.shots})}
  end
  if dead.adapt then
    dead_text[#dead_text + 1] = {"Dead end 3: the adaptation arm (lm_adapt adapted to the masked format, and an LM control)",
                                 D.adapt_text(ad_rows, {base = "lm_adapt", arms = {"mask", "lm"}, probes = ad_probes,
                                                        info = ad_info, steps = adapt_steps, adapt_lr = 5e-4,
                                                        shots = o.shots, lr = 1e-4, epochs = o.epochs, n_source = ad_src,
                                                        adapt_seed = "= replicate"})}
  end
end
local dead_wall = fs.clock() - t_dead

-- ---- 6. tables ------------------------------------------------------------------------------
local conds = {"heldout"}
if cond.verbatim then conds[#conds + 1] = "verbatim" end
if cond.unseen then conds[#conds + 1] = "unseen" end
local CDESC = {heldout = "held-out phrasing (primary): test facts never pre-trained in the templates' form",
               verbatim = "verbatim: test facts pre-trained in the templates' form too",
               unseen = "unseen phrase: the natural templates with a relation phrase no pre-training sentence contains"}
say("\n## 6. Tables (%s): mean ± 95%% CI half-width over replicates x seeds (n units)", elapsed())
local cells = {}
for _, c in ipairs(conds) do
  show(string.format("%d-shot ROUGE-L, %s", o.shots, CDESC[c]),
       S.ci_table(rows, base_rows, {shots = o.shots, condition = c, metric = "rouge_l", method = "finetune",
                                    models = c == "heldout" and {"v1_1", "lm_adapt", "t5", "random"} or nil}))
  local ptext, pc = S.paired_table(rows, {shots = o.shots, condition = c, metric = "rouge_l", method = "finetune"})
  cells[c] = pc
  show(string.format("%d-shot, %s: aligned template minus each other template, paired over replicates x seeds " ..
                     "(mean [95%% CI], * = CI above 0), and its gain over Mapping in %% [paired bootstrap CI]",
                     o.shots, c), ptext)
end
show(string.format("%d-shot ROUGE-L on the hard subset (tail shares no word with the head), heldout", o.shots),
     S.ci_table(rows, base_rows, {shots = o.shots, condition = "heldout", metric = "rouge_l_hard", method = "finetune"}))
local cells_more = {}
for _, sh in ipairs{o.more_shots > 0 and o.more_seeds > 0 and o.more_shots or nil, o.full_seeds > 0 and "full" or nil} do
  local label = sh == "full" and "full data" or (sh .. "-shot")
  show(string.format("%s ROUGE-L, heldout", label),
       S.ci_table(rows, base_rows, {shots = sh, condition = "heldout", metric = "rouge_l", method = "finetune"}))
  local ptext, pc = S.paired_table(rows, {shots = sh, condition = "heldout", metric = "rouge_l", method = "finetune"})
  cells_more["heldout, " .. label] = pc
  show(string.format("%s, heldout: aligned template minus each other template, paired", label), ptext)
end
local vconds = {}
for _, c in ipairs(conds) do vconds[#vconds + 1] = c end
for k, v in pairs(cells_more) do cells[k] = v end
for _, k in ipairs{"heldout, " .. o.more_shots .. "-shot", "heldout, full data"} do
  if cells_more[k] then vconds[#vconds + 1] = k end
end
show(string.format("Verdict (%d-shot unless named): cells (relations) where the regime's aligned template " ..
                   "has the highest mean, and where in addition its paired CI against every other template excludes 0",
                   o.shots), S.verdict(cells, vconds))
local mtext, _, mtot = S.matching_eval(rows, recommend, {shots = o.shots, condition = "heldout", metric = "rouge_l",
                                                          method = "finetune"})
show(string.format("Matching scored by code: mto.match's recommendation (validation examples) against the %d-shot " ..
                   "winner of the same replicate (heldout) and the aligned template, pooled over replicates and relations",
                   o.shots), mtext)
for _, d in ipairs(dead_text) do show(d[1], d[2]) end

-- ---- 7. figures ---------------------------------------------------------------------------
local F = require "figures"
local figs = {}
local p1, n1 = F.templates(rows, {out = results .. "/templates.png", condition = "heldout", shots = o.shots,
                                  metric = "rouge_l", title = string.format("%d-shot, heldout: mean of %d replicates x %d seeds",
                                                                            o.shots, R, o.seeds)})
local shots_list = {o.shots}
if o.more_shots > 0 and o.more_seeds > 0 then shots_list[#shots_list + 1] = o.more_shots end
if o.full_seeds > 0 then shots_list[#shots_list + 1] = "full" end
local p2, n2 = F.shots(rows, {out = results .. "/shots.png", condition = "heldout", shots_list = shots_list,
                              metric = "rouge_l", title = "ROUGE-L vs shots, heldout (95% CI over replicates x seeds)"})
for _, p in ipairs{p1 or n1, p2 or n2} do say("figure: %s", p); figs[#figs + 1] = p end

fs.write_file(results .. "/tables.md", "# The default study: tables\n\n" .. table.concat(report, "\n"))
say("\nall tables in %s/tables.md", results)
if o.report then
  fs.mkdir(o.report)
  os.execute(string.format("cp '%s/tables.md' '%s/' && cp %s '%s/' 2>/dev/null", results, o.report,
                           (p1 and ("'" .. p1 .. "'") or "") .. " " .. (p2 and ("'" .. p2 .. "'") or ""), o.report))
  say("report copied to %s/", o.report)
end
say("\nwall times: worlds %.0f s, pre-training %.0f s%s, probe %.0f s, matching %.0f s, study %.0f s, dead ends %.0f s; " ..
    "total %s", t0 - t_start, pre_wall, cached and " (cached)" or "", t_match - t_probe, t_study - t_match, study_wall,
    dead_wall, elapsed())
