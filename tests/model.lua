-- model.lua — the T5 engine from Lua (TAP), on the reference fixtures.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
local function near(a, b, tol) return math.abs(a - b) <= tol * math.max(1, math.abs(b)) end

local src_dir = os.getenv("MTO_SRCDIR") or "."
local m, err = mto.load(src_dir .. "/tests/ref/t5-v11")
ok(m ~= nil, "mto.load(HF directory) " .. tostring(err or ""))
local c = m.config
ok(c.d_model == 16 and c.num_heads == 2 and c.feed_forward_proj == "gated-gelu"
   and c.tie_word_embeddings == false, "m.config is a table of HF keys")
ok(m:num_params() > 0, "num_params")

local src = {{5, 9, 12, 7, 33, 1}, {8, 3, 1}}
local tgt = {{4, 6, 40, 1}, {11, 1}}
local l1 = m:loss(src[1], tgt[1])
local s1 = m:score(src[1], tgt[1])
ok(type(l1) == "number" and l1 > 0, "m:loss returns a positive number")
ok(near(-s1 / #tgt[1], l1, 1e-5), "score = -loss * target length")
local sb = m:score(src, tgt)
ok(type(sb) == "table" and #sb == 2 and near(sb[1], s1, 1e-5), "batched score (padded) equals the single score")
ok(near(sb[2], m:score(src[2], tgt[2]), 1e-5), "second row too")
local lb = m:loss(src, tgt)
ok(near(lb, -(sb[1] + sb[2]) / 6, 1e-5), "batched loss is the mean over all target tokens")

local ids, lp = m:generate(src[1], {max_len = 6})
ok(type(ids) == "table" and #ids <= 6 and type(lp) == "number", "generate returns ids and a log-prob")
local all_int = true
for _, v in ipairs(ids) do all_int = all_int and math.type(v) == "integer" end
ok(all_int, "generated ids are integers")
local ids1 = m:generate(src[1], {max_len = 6, beams = 1})
ok(table.concat(ids, ",") == table.concat(ids1, ","), "beams = 1 is the default greedy")
local gb, gs = m:generate(src, {max_len = 6, beams = 3})
ok(type(gb) == "table" and #gb == 2 and type(gs[2]) == "number", "batched beam search returns a list per source")

local r = mto.new({d_model = 8, d_ff = 16, d_kv = 4, num_heads = 2, num_layers = 1, vocab_size = 32,
                   relative_attention_num_buckets = 8, feed_forward_proj = "relu"}, 7)
ok(r.config.num_decoder_layers == 1 and r.config.tie_word_embeddings == true, "mto.new with HF config keys")
local tmp = os.tmpname()
os.remove(tmp)
tmp = tmp .. ".safetensors"
ok(r:save(tmp), "m:save(file)")
local r2 = assert(mto.load(tmp))
ok(r2:loss({3, 4, 1}, {5, 1}) == r:loss({3, 4, 1}, {5, 1}), "reloaded model gives the identical loss")
os.remove(tmp)
local r3 = mto.new({d_model = 8, d_ff = 16, d_kv = 4, num_heads = 2, num_layers = 1, vocab_size = 32,
                    relative_attention_num_buckets = 8, feed_forward_proj = "relu"}, 7)
ok(r3:loss({3, 4, 1}, {5, 1}) == r:loss({3, 4, 1}, {5, 1}), "same seed, same model")

local good, msg = pcall(mto.load, "/nonexistent/model")
ok(not good and msg:match("/nonexistent/model"), "load failure raises a message naming the path")
ok(not pcall(mto.new, {feed_forward_proj = "swish"}), "unsupported feed_forward_proj is an error")
ok(not pcall(m.loss, m, {5, 999}, {1}), "out-of-vocab id is an error")
T.done()
