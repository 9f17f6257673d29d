-- example_cluster.lua — experiments/example_sweep.lua's grid, ready for a cluster.
--
--   mto run experiments/example_cluster.lua [DATA_DIR] [RESULTS_DIR]              one process
--   mpirun -np 8 mto run experiments/example_cluster.lua ...                      8 ranks share the points
--   mto slurm experiments/example_cluster.lua --tasks 8 -o sweep.sbatch           a Slurm job array
--   mpirun -np 8 mto run experiments/example_cluster.lua DATA RESULTS full        the full-data point,
--                                                                                 trained by all 8 ranks together
-- Each point's row is the one a serial run writes; reruns of any size resume.
local mto = require "mto"

local data = arg[1] or ((os.getenv("MTO_SHARED_DATA") or ".") .. "/atomic2020-sample")
local full = arg[3] == "full"
-- the few-shot and the full-data sweeps differ in their options: a results directory
-- holds one sweep (its sweep.spec), so each has its own
local out = (arg[2] or "results-cluster") .. (full and "/full" or "/fewshot")
local model_dir = os.getenv("MODEL") or "mto-cache/world-300-s1/models/v1_1"

local sweep = mto.sweep{
  tasks = {xIntent = {reader = "atomic", opts = {relations = {"xIntent"}},
                      train = data .. "/train.tsv", valid = data .. "/validation.tsv",
                      test = data .. "/test.tsv", max_test_heads = 50}},
  models = {base = {path = model_dir}},
  templates = {"mapping", "masked_prompting"},
  -- few-shot points are many and small: share them out; the full-data point is
  -- one large run: train it data-parallel (no dropout, so its losses match a
  -- single process's to float rounding)
  shots = full and {"full"} or {30}, seeds = full and {1} or {1, 2, 3},
  train = {optimizer = "adamw", lr = 1e-4, epochs = full and 3 or 10, batch_size = full and 32 or 8,
           dropout = not full},
  eval = {max_len = 24},
}
local summary = sweep:run{results = out, data_parallel = full}
local s = summary.shard
if summary.merged and s.rank == 0 then
  print(mto.table{results = out, rows = "template", cols = "shots", value = "rouge_l"})
end
print(("%s %d/%d: %d points run here, %d were already done, %d failed%s"):format(s.mode, s.rank, s.size,
      summary.ran, summary.skipped, summary.failed, summary.merged and "" or " (other shards still running)"))
