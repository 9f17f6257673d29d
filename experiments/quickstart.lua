-- quickstart.lua — the embedded default experiment (DESIGN §6): the paper's
-- study, made real on a miniature WordNet world that tiny models can learn.
--
--   mto run experiments/quickstart.lua [options]
--
--   --cache DIR     where the world and base models are kept ($MTO_CACHE, else ./mto-cache)
--   --results DIR   where the study writes its CSV / predictions (default: CACHE/results-<world>)
--   --synsets N     world size (default 300)      --seeds N   few-shot seeds (default 5)
--   --stage1 N --stage2 N   pre-training steps    --quick     a few-minute smoke version
--   --no-study      stop after the knowledge probe and the matching table
--   --quiet         no progress lines
--
-- What it does, and what each phase prints:
--  1. builds the world from Debian's wordnet-base (facts as sentences in several
--     surface forms next to glosses; heads split train/valid/test);
--  2. pre-trains three tiny base models (or loads them from the cache): span
--     corruption + salient spans (t5 v1.1), then prefix LM (lm-adapt), then a
--     supervised mixture (original t5);
--  3. the knowledge probe: can each base model fill held-out facts zero-shot?
--  4. the matching table: which template does each model "speak"?
--  5. the study: 30-head few-shot (several seeds), a larger shot count and full
--     data, every template family, three relations and a multiple-choice task,
--     with baselines (most frequent tail, copy-from-head, random-init model) and
--     the hard subset (tails sharing no word with the head).
-- Delete the cache directory to start over.
local mto = require "mto"

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lib/?.lua;" .. package.path
local world = require "world"
local B = require "basemodels"
local S = require "study"

-- ---- options ----------------------------------------------------------------------
local o = {cache = os.getenv("MTO_CACHE") or "mto-cache", synsets = 300, seeds = 5, world_seed = 1,
           stage1 = nil, stage2 = nil, quick = false, study = true, quiet = false}
local i = 1
while arg[i] do
  local a = arg[i]
  local function val() i = i + 1; return arg[i] or error("quickstart: " .. a .. " needs a value", 0) end
  if a == "--cache" then o.cache = val()
  elseif a == "--results" then o.results = val()
  elseif a == "--synsets" then o.synsets = math.tointeger(tonumber(val()))
  elseif a == "--seeds" then o.seeds = math.tointeger(tonumber(val()))
  elseif a == "--stage1" then o.stage1 = math.tointeger(tonumber(val()))
  elseif a == "--stage2" then o.stage2 = math.tointeger(tonumber(val()))
  elseif a == "--quick" then o.quick = true
  elseif a == "--no-study" then o.study = false
  elseif a == "--quiet" then o.quiet = true
  else error("quickstart: unknown option " .. a .. " (see the comment at the top of the script)", 0) end
  i = i + 1
end
if o.quick then
  o.stage1, o.stage2, o.seeds = o.stage1 or 300, o.stage2 or 100, math.min(o.seeds, 2)
end

local t_start = mto._clock()
local function say(...) print(string.format(...)); io.stdout:flush() end
local function elapsed() return require("mto.progress").clock(mto._clock() - t_start) end

say("mto %s — the default experiment: Match Task to Objective on a miniature WordNet world", mto.version)
say("cache: %s (delete it to start over)", o.cache)
mto._mkdir(o.cache)

-- ---- 1. the world -----------------------------------------------------------------
local wname = string.format("world-%d-s%d", o.synsets, o.world_seed)
local w = world.build{dir = o.cache .. "/" .. wname, synsets = o.synsets, seed = o.world_seed}
say("\n## 1. World (%s)\n\n%s", elapsed(), world.describe(w))
if w.stats.unknown_tokens > 0 then say("WARNING: %d unknown tokens in the world's text", w.stats.unknown_tokens) end

-- ---- 2. base models -----------------------------------------------------------------
local mdir = o.cache .. "/" .. wname .. (o.quick and "/models-quick" or "/models")
say("\n## 2. Base models (%s) in %s", elapsed(), mdir)
local t0 = mto._clock()
local models, log = B.ensure(w, {dir = mdir, stage1 = o.stage1, stage2 = o.stage2, quiet = o.quiet})
local pre_wall = mto._clock() - t0
if log.stage1 and not log.stage1.cached then
  say("  stage 1: %d steps, %.0f s, final loss %.3f", log.stage1.steps, log.stage1.wall, log.stage1.final_loss)
end
for _, r in ipairs(B.REGIMES) do
  local l = log[r]
  say("  %-9s %s%s", r, B.DESCRIBE[r], l.cached and " (cached)" or
      string.format(": %d steps, %.0f s, final loss %.3f", l.steps, l.wall, l.final_loss))
end
local cfg = models.v1_1.config
local random = mto.new(cfg, 12345)
random.tokenizer = w.tok
models.random = random
local names = {"v1_1", "lm_adapt", "t5", "random"}

-- ---- 3. the knowledge probe ---------------------------------------------------------------
say("\n## 3. Knowledge probe (%s): zero-shot exact match filling held-out facts\n", elapsed())
local groups = B.probe_set(w)
local bl = B.baselines(w, groups)
say("%d test heads of %s; the canonical pre-training sentence with the tail masked", #groups,
    table.concat(world.STUDY, ", "))
say("(`X is a kind of <extra_id_0>.`) or cut before it (`X is a kind of`); hard = %d heads whose tails share no word with the head.\n", bl.nhard)
say("| model | masked | masked, hard | continuation | continuation, hard |")
say("|---|---|---|---|---|")
local probes = {}
for _, n in ipairs(names) do
  local p = B.probe(models[n], w, groups)
  probes[n] = p
  say("| %s | %.3f | %.3f | %.3f | %.3f |", n, p.masked, p.masked_hard, p.continuation, p.continuation_hard)
end
say("| baseline: most frequent tail | %.3f | %.3f | %.3f | %.3f |", bl.most_frequent, bl.most_frequent_hard,
    bl.most_frequent, bl.most_frequent_hard)
say("| baseline: copy head's last word | %.3f | %.3f | %.3f | %.3f |", bl.copy_head, bl.copy_head_hard, bl.copy_head,
    bl.copy_head_hard)
local best = math.max(probes.v1_1.masked, probes.lm_adapt.masked, probes.t5.masked,
                      probes.v1_1.continuation, probes.lm_adapt.continuation, probes.t5.continuation)
if best < math.max(bl.most_frequent, bl.copy_head) + 0.1 then
  say("\nWARNING: the base models are NOT clearly above the trivial baselines; the study below measures noise.")
  say("More pre-training (--stage1 N) or a smaller world (--synsets N) would help.")
elseif best < 0.3 then
  say("\nNote: best probe %.3f is above the baselines but below the 30%% aimed for.", best)
end

-- ---- 4. matching ------------------------------------------------------------------------
say("\n## 4. Matching (%s): zero-shot, tail tokens only (sentinels excluded)", elapsed())
local mtext, recommend = S.matching(models, {"v1_1", "lm_adapt", "t5"}, w)
say("%s", mtext)

if not o.study then
  say("\n(--no-study) done in %s", elapsed())
  return
end

-- ---- 5. the study -------------------------------------------------------------------------
local results = o.results or (o.cache .. "/results-" .. wname .. (o.quick and "-quick" or ""))
say("\n## 5. Study (%s): results in %s/", elapsed(), results)
local seeds = {}
for s = 1, o.seeds do seeds[s] = s end
local methods = {"finetune"}
if type(mto.prompt_tune) == "function" then methods[2] = "prompt_tune"
else say("prompt tuning: not available in this build (mto.prompt_tune is missing); fine-tuning only") end
local study_models = {}
for _, n in ipairs(names) do study_models[n] = models[n] end
local rows = S.run(study_models, w, {results = results, seeds = seeds, shots = 30, more_shots = o.quick and 10 or 60,
                                     lr = 1e-4, epochs = 10, full_epochs = 10, methods = methods,
                                     quiet = o.quiet, skip_more = false, random_name = "random"})
local base_rows = S.baseline_rows(w)
local report = {}
for _, shots in ipairs{30, o.quick and 10 or 60, "full"} do
  local title = shots == "full" and "full data" or shots .. "-shot"
  for _, m in ipairs(methods) do
    for _, v in ipairs{{"rouge_l", "ROUGE-L", true}, {"rouge_l_hard", "hard subset, ROUGE-L", true},
                       {"exact_match", "exact match", false}} do
      local text = S.table(rows, base_rows, {shots = shots, metric = v[1], method = m, hard = v[1]:match("hard")})
      report[#report + 1] = string.format("### %s, %s: %s (mcqa: accuracy)\n\n%s\n", title, m, v[2], text)
      if v[3] then say("\n### %s, %s: %s (mcqa: accuracy)\n\n%s", title, m, v[2], text) end
    end
  end
end
mto._write_file(results .. "/tables.md", table.concat(report, "\n"))
say("\nall tables (with exact match) in %s/tables.md; done in %s (pre-training %.0f s)", results, elapsed(), pre_wall)
