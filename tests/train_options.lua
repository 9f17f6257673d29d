-- train_options.lua — m:train and p:train take one list of options (mto._train_keys,
-- lua/l_opts.c): every option on it, given a valid value, works in both, and a key
-- not on it is refused by both. TAP.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok

local cfg = {d_model = 16, d_ff = 32, d_kv = 4, num_heads = 4, num_layers = 1, vocab_size = 64, dropout_rate = 0.0}
local m = mto.new(cfg, 1)
local ex = {{src = {5, 6, 1}, tgt = {7}}, {src = {8, 9, 1}, tgt = {10}}}
local dir = os.tmpname()
os.remove(dir)

-- a valid value for every option; a new option without one here fails the first check
local values = {
  optimizer = "adamw", lr = 1e-3, weight_decay = 0.0, schedule = "linear", warmup = 1, epochs = 1,
  max_steps = 2, batch_size = 1, grad_accum = 2, max_src_len = 8, max_tgt_len = 8, clip = 1.0, seed = 3,
  dropout = false, valid = ex, patience = 1, eval_every = 1, min_delta = 0.0,
  progress = function() end, data_parallel = true, precision = "fp32",
  checkpoint = dir, checkpoint_every = 1,
}
local needs = {checkpoint_every = "checkpoint"} -- an option that only means something with another

local keys = mto._train_keys
ok(type(keys) == "table" and #keys >= 20, "mto._train_keys lists the training options")
local listed = {}
for _, k in ipairs(keys) do listed[k] = true end
ok(listed.data_parallel and listed.precision and listed.checkpoint, "data_parallel, precision and checkpoint are on it")

local trainers = {
  {"m:train", function(o) return m:copy():train(ex, o) end},
  {"p:train", function(o) return m:prompt{k = 2, init = "uniform", seed = 1}:train(ex, o) end},
}
for _, k in ipairs(keys) do
  ok(values[k] ~= nil, "the test has a value for option " .. k)
  for _, t in ipairs(trainers) do
    os.execute("rm -rf '" .. dir .. "'")
    local o = {max_steps = 2}
    o[k] = values[k]
    if needs[k] then o[needs[k]] = values[needs[k]] end
    local good, r = pcall(t[2], o)
    ok(good and type(r) == "table" and r.steps and r.steps >= 1,
       string.format("%s{%s = %s} trains: %s", t[1], k, tostring(values[k]), good and "ok" or tostring(r)))
  end
end
os.execute("rm -rf '" .. dir .. "'")

for _, t in ipairs(trainers) do
  local good, e = pcall(t[2], {epochs = 1, no_such_option = 1})
  ok(not good and tostring(e):find("unknown option 'no_such_option'", 1, true), t[1] .. " refuses an unknown key: " .. tostring(e))
  good, e = pcall(t[2], {optimizer = "sgd"})
  ok(not good and tostring(e):find("unknown optimizer 'sgd' (adamw, adafactor)", 1, true),
     t[1] .. " names the optimizers: " .. tostring(e))
end

T.done()
