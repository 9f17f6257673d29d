-- example_sweep.lua — a minimal sweep to copy and adapt: one model, two
-- templates, two shot counts, three seeds, on ATOMIC-style triples.
--
--   mto run experiments/example_sweep.lua [DATA_DIR] [RESULTS_DIR]
--
-- DATA_DIR holds train.tsv / validation.tsv / test.tsv (head, relation, tail);
-- default: $MTO_SHARED_DATA/atomic2020-sample. Rerun it and finished points
-- are skipped (results are appended to RESULTS_DIR/results.csv).
local mto = require "mto"

local data = arg[1] or ((os.getenv("MTO_SHARED_DATA") or ".") .. "/atomic2020-sample")
local out = arg[2] or "results-example"

-- 1. The model: a Hugging Face T5 directory (config.json, model.safetensors,
--    spiece.model) ...  models = {t5 = {path = "/path/to/t5-base"}}
--    ... or, as here, a model pre-trained by experiments/pretrain.lua / quickstart.lua.
local model_dir = os.getenv("MODEL") or "mto-cache/world-300-s1/models/v1_1"

local sweep = mto.sweep{
  -- 2. Tasks: a reader and the files of each split (valid is used for early stopping
  --    with shots = "full"; max_test_heads keeps evaluation short).
  tasks = {xIntent = {reader = "atomic", opts = {relations = {"xIntent"}},
                      train = data .. "/train.tsv", valid = data .. "/validation.tsv",
                      test = data .. "/test.tsv", max_test_heads = 50}},
  models = {base = {path = model_dir}},
  -- 3. Templates: the mapping baseline and the one aligned with span corruption.
  templates = {"mapping", "masked_prompting"},
  -- 4. The grid: 30 heads (up to 3 tails each) and full data, three seeds.
  shots = {30, "full"}, seeds = {1, 2, 3},
  -- 5. Gentle fine-tuning keeps what the model knows (lr 1e-4, <= 10 epochs).
  train = {optimizer = "adamw", lr = 1e-4, epochs = 10, batch_size = 8},
  eval = {max_len = 24},
}
local summary = sweep:run{results = out}
-- 6. A table: templates x shots, mean ± std over seeds.
print(mto.table{results = out, rows = "template", cols = "shots", value = "rouge_l"})
print(("%d points run, %d already done, %d failed"):format(summary.ran, summary.skipped, summary.failed))
