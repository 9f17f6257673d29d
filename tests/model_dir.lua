-- model_dir.lua — a saved model directory is self-contained: config.json,
-- model.safetensors and spiece.model; mto.load brings the tokenizer back.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok

local dir = os.tmpname(); os.remove(dir); assert(os.execute("mkdir -p " .. dir))
local text = dir .. "/text.txt"
local f = assert(io.open(text, "w"))
for i = 1, 400 do f:write(("the %s number %d is a kind of thing near word%d\n"):format(i % 2 == 0 and "even" or "odd", i, i % 37)) end
f:close()
local spm = mto.train_tokenizer{input = text, model_prefix = dir .. "/tok", vocab_size = 200}
local tok = mto.tokenizer(spm)
local m = mto.new({d_model = 16, d_ff = 32, d_kv = 4, num_heads = 2, num_layers = 1,
                   vocab_size = tok.vocab_size, feed_forward_proj = "gated-gelu",
                   tie_word_embeddings = false}, 3)
ok(m.tokenizer == nil, "a new model has no tokenizer")
m.tokenizer = tok
ok(m.tokenizer == tok, "tokenizer can be attached")
local okk = pcall(function() m.config = {} end)
ok(not okk, "other fields are read-only")
local out = dir .. "/model"
assert(os.execute("mkdir -p " .. out))
ok(m:save(out), "save to a directory")
for _, name in ipairs{"config.json", "model.safetensors", "spiece.model"} do
  local h = io.open(out .. "/" .. name, "rb")
  ok(h ~= nil, "saved directory has " .. name)
  if h then h:close() end
end
local m2, err = mto.load(out)
ok(m2 ~= nil, "reload the directory " .. tostring(err))
ok(m2 and m2.tokenizer ~= nil, "reloaded model has its tokenizer")
local ids = tok:encode("the even number 12 is a kind of thing")
ok(m2 and table.concat(m2.tokenizer:encode("the even number 12 is a kind of thing"), ",") == table.concat(ids, ","),
   "reloaded tokenizer encodes the same ids")
local src, tgt = ids, {ids[1], 1}
ok(m2 and m:score(src, tgt) == m2:score(src, tgt), "reloaded model scores identically")
ok(m2 and m2:save(out), "saving over its own directory (same spiece.model) works")
-- a corrupt spiece.model: mto.load raises a message naming the file
local h = assert(io.open(out .. "/spiece.model", "wb")); h:write("not a model"); h:close()
local good, msg = pcall(mto.load, out)
ok(not good and tostring(msg):find("spiece.model", 1, true), "corrupt spiece.model is named: " .. tostring(msg))
os.execute("rm -rf " .. dir)
T.done()
