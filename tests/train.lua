-- train.lua — the training binding (TAP): m:train / m:eval_loss / m:predict / m:copy,
-- option and input errors, progress and early stop, and the file helpers the
-- experiment layer relies on. Needs no data.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, raises = T.ok, T.raises

local cfg = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 2, num_decoder_layers = 2,
             vocab_size = 40, feed_forward_proj = "gated-gelu", tie_word_embeddings = false,
             relative_attention_num_buckets = 8}
local base = mto.new(cfg, 3)
local ex = {}
for i = 1, 8 do ex[i] = {src = {i + 2, i + 9, (i * 7) % 30 + 2, 1}, tgt = {(i * 5) % 30 + 2, i + 20}} end

local m = base:copy()
ok(tostring(m):find("mto.model", 1, true), "copy is a model")
local before = m:eval_loss(ex)
local seen = {}
local r = m:train(ex, {lr = 3e-3, epochs = 60, batch_size = 4, seed = 1,
                       progress = function(step, total, loss, elapsed)
                         seen[#seen + 1] = loss
                         return false
                       end})
local after = m:eval_loss(ex)
ok(r.steps == 120 and #seen == 120 and r.epochs == 60, "120 steps, progress called each step")
ok(after < before / 10, string.format("loss falls more than 10x (%.3f -> %.4f)", before, after))
ok(base:eval_loss(ex) == before, "training the copy leaves the original untouched")
local big = base:copy()
local l_before = big:eval_loss(ex)
ok(big:trim() > 0 and big:trim() == 0, "m:trim() releases the activation buffers once")
ok(big:eval_loss(ex) == l_before, "m:trim(): the next call remakes them, same loss")
local gone = base:copy()
gone:free()
ok(raises("model has been freed", gone.eval_loss, gone, ex), "m:free(): later calls raise 'model has been freed'")
gone:free()
ok(tostring(gone) == "mto.model(freed)", "a freed model says so: " .. tostring(gone))
ok(base:eval_loss(ex) == before, "m:free() twice is harmless and leaves the original alone")
ok(r.best_valid_loss == nil and r.wall > 0 and r.final_loss < r.first_loss, "result fields")
local preds = m:predict(ex, {max_len = 6})
local exact = 0
for i = 1, #ex do
  exact = exact + ((#preds[i] == 2 and preds[i][1] == ex[i].tgt[1] and preds[i][2] == ex[i].tgt[2]) and 1 or 0)
end
ok(exact >= 6, "predict (eos dropped) reproduces " .. exact .. "/8 targets")
local bare = m:predict({ex[1].src}, {max_len = 6})
ok(#bare == 1 and #bare[1] == #preds[1], "predict takes bare id arrays too")

-- same seed, same curve (through Lua)
local function curve(seed)
  local c, l = base:copy(), {}
  c:train(ex, {lr = 3e-3, epochs = 3, batch_size = 3, seed = seed, progress = function(_, _, loss) l[#l + 1] = loss end})
  return table.concat(l, ",")
end
ok(curve(5) == curve(5) and curve(5) ~= curve(6), "same seed -> same loss curve; other seed -> other curve")

-- early stopping and stop from progress
local conflicting = {}
for i = 1, 8 do conflicting[i] = {src = ex[i].src, tgt = {ex[9 - i].tgt[1], 3}} end
local e = base:copy()
local er = e:train(ex, {lr = 3e-3, epochs = 60, batch_size = 4, valid = conflicting, patience = 3, eval_every = 1})
ok(er.stopped_early and er.best_step < er.steps, "early stopping (best step " .. er.best_step .. " of " .. er.steps .. ")")
ok(math.abs(e:eval_loss(conflicting, {batch_size = 4}) - er.best_valid_loss) < 1e-12, "best parameters restored")
local s = base:copy():train(ex, {epochs = 10, batch_size = 2, progress = function(step) return step == 3 end})
ok(s.cancelled and s.steps == 3, "progress returning true stops training")

-- errors
ok(raises("unknown option 'colour'", m.train, m, ex, {colour = 1}), "unknown option named")
ok(raises("unknown optimizer 'sgd'", m.train, m, ex, {optimizer = "sgd"}), "unknown optimizer named")
ok(raises("examples[2].tgt[1] is not a token id in [0, 40)", m.train, m, {ex[1], {src = {3}, tgt = {40}}}), "id outside the vocabulary named")
ok(raises("examples[1].src is not an array", m.train, m, {{tgt = {3}}}), "missing src named")
ok(raises("boom", m.train, m, ex, {progress = function() error("boom") end}), "error in progress propagates")
ok(raises("batch_size 0", m.train, m, ex, {batch_size = 0}), "batch_size 0 rejected")
local nan = base:copy()
local rn = pcall(nan.train, nan, ex, {lr = 1e30, clip = 0, epochs = 5, batch_size = 2})
local _, msg = pcall(nan.train, nan, ex, {epochs = 1})
ok(not rn or tostring(msg):lower():find("nan"), "huge lr ends in a NaN error")
ok(tostring(msg):find("step %d+"), "NaN error names the step: " .. tostring(msg))

-- helpers
local tmpf = os.tmpname()
local dir = tmpf .. ".d"
mto._mkdir(dir .. "/a/b")
local p = dir .. "/a/b/x.csv"
mto._append_line(p, "one")
mto._append_line(p, "two,three")
local f = io.open(p); local text = f:read("a"); f:close()
ok(text == "one\ntwo,three\n", "_append_line appends whole lines (mkdir -p made the path)")
ok(raises("newline", mto._append_line, p, "a\nb"), "_append_line refuses an embedded newline")
mto._write_file(p, "new")
f = io.open(p); text = f:read("a"); f:close()
ok(text == "new", "_write_file replaces the file")
local perm = mto._permutation(20, 9)
local hit = {}
for _, v in ipairs(perm) do hit[v] = true end
local all = #perm == 20
for i = 1, 20 do all = all and hit[i] end
ok(all and table.concat(perm, ",") == table.concat(mto._permutation(20, 9), ","), "_permutation: seeded permutation of 1..n")
os.execute("rm -rf '" .. dir .. "' '" .. tmpf .. "'")
T.done()
