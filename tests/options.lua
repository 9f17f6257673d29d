-- options.lua — options mean what they say (issue 21): dropout is a strict boolean
-- (0 is true in Lua), integers are range-checked before they become C ints,
-- options must be a table, NaN, infinities and negative values are errors. TAP.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
local m = mto.new({d_model = 16, d_ff = 32, d_kv = 4, num_heads = 4, num_layers = 1, vocab_size = 64}, 1)
local ex = {{src = {5, 6, 1}, tgt = {7}}}
local function refused(fn, pat, name)
  local good, e = pcall(fn)
  ok(not good and tostring(e):find(pat, 1, true), name .. ": " .. tostring(e))
end
local function train(o) return function() return m:train(ex, o) end end
refused(train{dropout = 0}, "option dropout: expected true or false, got number 0", "dropout = 0 is not 'on'")
refused(train{dropout = 0.1}, "dropout_rate", "dropout = 0.1 names the model's dropout_rate")
refused(train{dropout = "no"}, "option dropout: expected true or false", "dropout = 'no'")
refused(train{epochs = 2^32 + 1}, "option epochs = 4294967297 out of range", "epochs = 2^32 + 1 is not 1 epoch")
refused(train{epochs = math.tointeger(2^32 + 1)}, "option epochs = 4294967297 out of range", "integer epochs = 2^32 + 1")
refused(train{batch_size = 2^40}, "option batch_size = 1099511627776 out of range", "batch_size = 2^40 named as given")
refused(train{max_src_len = -1}, "option max_src_len = -1 out of range", "max_src_len = -1")
refused(train("epochs=1"), "train: options must be a table, got string", "options as a string")
refused(train(5), "train: options must be a table, got number", "options as a number")
refused(train{clip = 0/0}, "option clip", "clip = NaN")
refused(train{clip = -1}, "must not be negative", "clip = -1")
refused(train{lr = 1/0}, "option lr = inf", "lr = inf")
refused(train{lr = 1e39}, "option lr", "lr beyond float range")
refused(train{epochs = 1.5}, "option epochs: expected an integer", "epochs = 1.5")
local r = m:train(ex, {epochs = 1, dropout = false, clip = 0})
ok(r.steps == 1, "dropout = false and clip = 0 (off) train")
refused(function() return m:predict({{5, 1}}, {max_len = 2^32 + 4}) end, "option max_len = 4294967300 out of range",
        "predict max_len = 2^32 + 4 is not 4 tokens")
refused(function() return m:predict({{5, 1}}, "max_len=4") end, "predict: options must be a table", "predict options as a string")
refused(function() return m:eval_loss(ex, {batch_size = 2^33}) end, "option batch_size", "eval_loss batch_size = 2^33")
refused(function() return m:generate({5, 1}, {max_len = 2^32 + 4}) end, "option max_len = 4294967300 out of range",
        "generate max_len = 2^32 + 4 is not 4 tokens")
local gen = m:generate({5, 1}, {max_len = 3})
ok(type(gen) == "table" and #gen <= 3, "generate max_len = 3 works")
local p = m:prompt{k = 2}
refused(function() return p:train(ex, "epochs=1") end, "p:train: options must be a table", "p:train options as a string")
T.done()
