-- fewshot_atomic.lua — a complete few-shot study on ATOMIC-style triples:
-- four template families x shot counts x seeds, fine-tuned, decoded, scored,
-- tabulated (mean ± std over seeds) and plotted. Rerun it and finished points
-- are skipped; kill it at any time and rerun to continue.
--
--   mto run experiments/fewshot_atomic.lua [--quiet] [--model DIR] [DATA_DIR] [RESULTS_DIR]
--
-- DATA_DIR holds train.tsv / validation.tsv / test.tsv for the `atomic` reader
-- (default: $MTO_SHARED_DATA/atomic2020-sample). Without --model, a small random
-- T5 is used with a tokenizer trained on the data (a smoke test of the pipeline,
-- not a result); with --model, a Hugging Face T5 directory (config.json,
-- model.safetensors, spiece.model).
local mto = require "mto"
local fs = require "mto.fs"

local quiet, model_dir, pos = false, nil, {}
local i = 1
while arg[i] do
  if arg[i] == "--quiet" then quiet = true
  elseif arg[i] == "--model" then i = i + 1; model_dir = arg[i]
  else pos[#pos + 1] = arg[i] end
  i = i + 1
end
local data = pos[1] or ((os.getenv("MTO_SHARED_DATA") or ".") .. "/atomic2020-sample")
local out = pos[2] or "results-fewshot-atomic"
if not io.open(data .. "/train.tsv") then
  io.stderr:write("fewshot_atomic: no ", data, "/train.tsv (give DATA_DIR)\n")
  os.exit(2)
end
fs.mkdir(out)

local models, tokenizer
if model_dir then
  models = {pretrained = {path = model_dir}}
else
  -- a tokenizer trained once on the data's heads and tails, kept with the results
  tokenizer = out .. "/spiece.model"
  if not io.open(tokenizer) then
    local lines = {}
    for _, split in ipairs{"train", "validation", "test"} do
      for _, r in ipairs(mto.read("atomic", data .. "/" .. split .. ".tsv")) do
        lines[#lines + 1] = r.head
        lines[#lines + 1] = r.tail
      end
    end
    local f = assert(io.open(out .. "/spiece.txt", "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    mto.train_tokenizer{input = out .. "/spiece.txt", model_prefix = out .. "/spiece", vocab_size = 400,
                        model_type = "unigram", seed = 1, num_threads = 1}
  end
  models = {tiny = {config = {d_model = 64, d_ff = 128, d_kv = 16, num_heads = 4, num_layers = 2,
                              num_decoder_layers = 2, vocab_size = 400, feed_forward_proj = "gated-gelu",
                              tie_word_embeddings = false}, seed = 1}}
end

local sweep = mto.sweep{
  tasks = {xIntent = {reader = "atomic", train = data .. "/train.tsv", valid = data .. "/validation.tsv",
                      test = data .. "/test.tsv"}},
  models = models,
  tokenizer = tokenizer,
  templates = {"mapping", "masked_mapping", "prompting", "masked_prompting"},
  shots = {4, 8, 16},
  seeds = {1, 2, 3},
  methods = {"finetune"},
  train = {optimizer = "adamw", lr = model_dir and 1e-4 or 1e-3, epochs = 10, batch_size = 8,
           max_src_len = 64, max_tgt_len = 32},
  eval = {max_len = 24, beams = 1},
  fewshot = {tails = 3},
}
if not quiet then io.stderr:write(("%d points, results in %s/\n"):format(#sweep:points(), out)) end

local summary = sweep:run{results = out, quiet = quiet, plot = true}
local md = mto.table{results = out, rows = "template", cols = "shots", value = "rouge_l"}
print(md)
fs.write_file(out .. "/table-rouge_l.md", md)
fs.write_file(out .. "/table-rouge_l.tex",
                mto.table{results = out, rows = "template", cols = "shots", value = "rouge_l", format = "latex"})
print(("%d points trained, %d already done, %d failed; %s"):format(summary.ran, summary.skipped, summary.failed,
                                                               summary.plot or "no plot"))
