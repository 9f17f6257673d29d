-- surface.lua — the model and the soft prompt answer alike (issue 19): m:generate and
-- p:generate return (ids, log-prob) for one source and arrays of each for several;
-- m:score and p:score take (src, tgt), (srcs, tgts) and items alike; loaders and
-- constructors raise (never nil, message). TAP.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
local function near(a, b, tol) return type(a) == "number" and type(b) == "number" and math.abs(a - b) <= tol end

local m = mto.new({d_model = 16, d_ff = 32, d_kv = 4, num_heads = 4, num_layers = 1, vocab_size = 64,
                   dropout_rate = 0.0}, 1)
local p = m:prompt{k = 3, init = "uniform", seed = 2}
local srcs = {{5, 6, 7, 1}, {9, 3, 1}}
local tgts = {{8, 1}, {10, 11, 1}}
local items = {{src = srcs[1], tgt = tgts[1]}, {src = srcs[2], tgt = tgts[2]}}

for _, who in ipairs{{"m", m}, {"p", p}} do
  local name, x = who[1], who[2]
  -- generate: one source -> ids, number; several -> array, array
  local ids, lp = x:generate(srcs[1], {max_len = 5})
  ok(type(ids) == "table" and type(lp) == "number" and lp <= 0, name .. ":generate(src) -> ids, log-prob")
  local ib, lb = x:generate(srcs, {max_len = 5})
  ok(type(ib) == "table" and #ib == 2 and type(lb) == "table" and #lb == 2, name .. ":generate(srcs) -> arrays")
  ok(table.concat(ib[1], " ") == table.concat(ids, " ") and near(lb[1], lp, 1e-4), name .. ":generate: the batch's first row is the single call")
  -- the log-prob is the score of what was generated (with the eos when it ended with one)
  local full = {table.unpack(ids)}
  if #ids < 5 then full[#full + 1] = 1 end
  ok(near(lp, x:score(srcs[1], full), 1e-3), name .. ":generate's log-prob is " .. name .. ":score of its ids")
  -- score: (src, tgt) -> number, (srcs, tgts) -> array, items -> array
  local s1 = x:score(srcs[1], tgts[1])
  local sb = x:score(srcs, tgts)
  local si = x:score(items)
  ok(type(s1) == "number" and s1 < 0, name .. ":score(src, tgt) -> number")
  ok(type(sb) == "table" and #sb == 2 and near(sb[1], s1, 1e-4), name .. ":score(srcs, tgts) -> array")
  ok(type(si) == "table" and #si == 2 and near(si[1], sb[1], 1e-4) and near(si[2], sb[2], 1e-4),
     name .. ":score(items) -> the same array")
end

-- loading and construction fail by raising, with a message naming the culprit
local good, msg = pcall(mto.load, "/nonexistent/model")
ok(not good and tostring(msg):find("/nonexistent/model", 1, true), "mto.load raises: " .. tostring(msg))
good, msg = pcall(mto.load_plugin, "/nonexistent/x.so")
ok(not good and tostring(msg):find("/nonexistent/x.so", 1, true), "mto.load_plugin raises: " .. tostring(msg))
good, msg = pcall(mto.new, {d_model = 16, feed_forward_proj = "swish"})
ok(not good and tostring(msg):find("swish", 1, true), "mto.new raises: " .. tostring(msg))
good, msg = pcall(mto.objective, "no_such_objective")
ok(not good and tostring(msg):find("no_such_objective", 1, true), "mto.objective raises: " .. tostring(msg))
good, msg = pcall(mto.template, "no_such_template")
ok(not good and tostring(msg):find("no_such_template", 1, true), "mto.template raises: " .. tostring(msg))
good, msg = pcall(m.load_prompt, m, "/nonexistent/prompt.safetensors")
ok(not good and tostring(msg):find("/nonexistent/prompt.safetensors", 1, true), "m:load_prompt raises: " .. tostring(msg))

T.done()
