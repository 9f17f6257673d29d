-- sweep_tiny.lua — the tiny sweep shared by tests/sweep.lua and tests/sweep_kill.sh:
-- a random 2-layer T5, the xIntent sample from ../shared/data/atomic2020-sample,
-- two templates x two shot counts x two seeds. Loaded with dofile; returns
--   {data = DIR or nil, tokenizer = function(prefix) -> path, spec/sweep = function(tokpath, extra)}
local mto = require "mto"

local M = {}
local shared = os.getenv("MTO_SHARED_DATA")
M.data = shared and (shared .. "/atomic2020-sample")
if M.data and not io.open(M.data .. "/train.tsv") then M.data = nil end
-- why the tests that need the sample skip without it
M.no_data = "no shared ATOMIC sample (MTO_SHARED_DATA unset or missing)"

-- M.need_data(T): without the sample, the test file ends here (T: tests/tap.lua's helpers),
-- skipped whole when no test has run yet, else with one skipped test.
function M.need_data(T)
  if M.data then return end
  if T.count() == 0 then T.skip_all(M.no_data) end
  T.skip(M.no_data)
  T.done()
end

-- A small unigram vocabulary trained on the sample's heads and tails (deterministic: one thread).
function M.tokenizer(prefix)
  local lines = {}
  for _, s in ipairs{"train", "validation", "test"} do
    for _, r in ipairs(mto.read("atomic", M.data .. "/" .. s .. ".tsv")) do
      lines[#lines + 1] = r.head
      lines[#lines + 1] = r.tail
    end
  end
  local f = assert(io.open(prefix .. ".txt", "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  return mto.train_tokenizer{input = prefix .. ".txt", model_prefix = prefix, vocab_size = 400,
                             model_type = "unigram", seed = 1, num_threads = 1}
end

-- extra (optional) overrides training options, e.g. {epochs = 100} for slower points.
function M.spec(tokpath, extra)
  local spec = {
    tasks = {xIntent = {reader = "atomic", train = M.data .. "/train.tsv", test = M.data .. "/test.tsv",
                        valid = M.data .. "/validation.tsv", max_test_heads = 24}},
    models = {tiny = {config = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 2,
                                num_decoder_layers = 2, vocab_size = 400, feed_forward_proj = "gated-gelu",
                                tie_word_embeddings = false, relative_attention_num_buckets = 8,
                                relative_attention_max_distance = 32}, seed = 1}},
    tokenizer = tokpath,
    templates = {"mapping", "masked_mapping"},
    shots = {4, 8},
    seeds = {1, 2},
    train = {optimizer = "adamw", lr = 3e-3, epochs = 8, batch_size = 4, max_src_len = 32, max_tgt_len = 16},
    eval = {max_len = 12, batch_size = 24},
  }
  for k, v in pairs(extra or {}) do spec.train[k] = v end
  return spec
end

function M.sweep(tokpath, extra) return mto.sweep(M.spec(tokpath, extra)) end

return M
