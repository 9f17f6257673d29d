-- sweep_keys.lua — resume keys that cannot go stale (lua/mto/key.lua). For each field the
-- adversarial pass changed under the same names (model config and seed, checkpoint
-- content, a data file's content or mtime, max_test_heads, template options, epochs,
-- eval options, added seeds) the point's key changes, and the results directory,
-- which records the spec it was made with (sweep.spec), refuses the changed sweep
-- instead of reporting "already done". Added axis values need run{extend = true}.
-- mto.table refuses to average rows that differ in more than the seed. TAP.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
local function copy_file(a, b)
  local f = assert(io.open(a, "rb")); local s = f:read("a"); f:close()
  f = assert(io.open(b, "wb")); f:write(s); f:close()
end

local tiny = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/sweep_tiny.lua")
tiny.need_data(T)
local dir = T.tmpdir("sweep-keys")
local tokpath = tiny.tokenizer(dir .. "/tok")
copy_file(tiny.data .. "/test.tsv", dir .. "/test.tsv")

-- one point, one epoch: fast
local function spec(change)
  local s = tiny.spec(tokpath, {epochs = 1})
  s.templates, s.shots, s.seeds = {"mapping"}, {4}, {1}
  s.tasks.xIntent.test = dir .. "/test.tsv"
  if change then change(s) end
  return s
end
local function key(s) return mto.sweep(s):points()[1].key end
local function run(s, res, o)
  o = o or {}
  o.results, o.quiet = res, true
  return pcall(function() return mto.sweep(s):run(o) end)
end

local base = key(spec())
ok(base:find("template=mapping", 1, true) and base:find(";fp=%x+$"), "the key is readable and ends with a hash: " .. base)
ok(key(spec()) == base, "the key is stable")
local res = dir .. "/r"
local ok1, s1 = run(spec(), res)
ok(ok1 and s1.ran == 1, "first run trains the point")
local ok2, s2 = run(spec(), res)
ok(ok2 and s2.ran == 0 and s2.skipped == 1, "rerun skips it")

-- each change: a new key, and the directory refuses with a message naming it
local cases = {
  {"model config (d_ff)", function(s) s.models.tiny.config.d_ff = 32 end, "models 'tiny' changed"},
  {"model seed", function(s) s.models.tiny.seed = 2 end, "models 'tiny' changed"},
  {"max_test_heads", function(s) s.tasks.xIntent.max_test_heads = 12 end, "tasks 'xIntent' changed"},
  {"reader options", function(s) s.tasks.xIntent.opts = {relations = {"xIntent"}} end, "tasks 'xIntent' changed"},
  {"template options", function(s)
     s.templates = {{name = "mapping", template = "mapping", opts = {prefix = "q: "}}}
   end, "templates 'mapping' changed"},
  {"epochs", function(s) s.train.epochs = 2 end, "train.epochs 1 -> 2"},
  {"eval max_len", function(s) s.eval.max_len = 8 end, "eval.max_len 12 -> 8"},
  {"full-data overrides", function(s) s.full = {epochs = 3} end, "full {} -> {", same_key = true},
  {"few-shot tails", function(s) s.fewshot = {tails = 1} end, "fewshot {} -> {"},
}
for _, c in ipairs(cases) do
  local k = key(spec(c[2]))
  if c.same_key then ok(k == base, c[1] .. ": a few-shot point's key stays (full-data points' change)")
  else ok(k ~= base, c[1] .. ": the key changes") end
  local okr, e = run(spec(c[2]), res)
  ok(not okr and tostring(e):find("different sweep", 1, true) and tostring(e):find(c[3], 1, true),
     c[1] .. ": refused: " .. tostring(e))
end

-- a data file: its content, or only its mtime
local f = assert(io.open(dir .. "/test.tsv", "ab")); f:write("PersonX tests\txIntent\tto see\n"); f:close()
ok(key(spec()) ~= base, "data file content: the key changes")
local okd, ed = run(spec(), res)
ok(not okd and tostring(ed):find("tasks 'xIntent' changed", 1, true), "data file content: refused: " .. tostring(ed))
copy_file(tiny.data .. "/test.tsv", dir .. "/test.tsv") -- the same bytes, a new mtime
ok(key(spec()) ~= base, "data file mtime: the key changes")

-- a checkpoint's content under the same path
local cfg = spec().models.tiny.config
local ck = dir .. "/ck.safetensors"
mto.new(cfg, 1):save(ck)
local function ckspec(s) s.models = {tiny = {path = ck}} end
local k1 = key(spec(ckspec))
local okc = run(spec(ckspec), dir .. "/rc")
ok(okc, "a checkpoint model runs")
mto.new(cfg, 2):save(ck)
ok(key(spec(ckspec)) ~= k1, "checkpoint content: the key changes")
local okc2, ec2 = run(spec(ckspec), dir .. "/rc")
ok(not okc2 and tostring(ec2):find("models 'tiny' changed", 1, true), "checkpoint content: refused: " .. tostring(ec2))

-- a model given as an object: its weights are in the key
local function objspec(seed) return function(s) s.models = {tiny = mto.new(cfg, seed)} end end
local ko = key(spec(objspec(1)))
ok(ko == key(spec(objspec(1))), "model object: equal weights, equal key")
ok(ko ~= key(spec(objspec(2))), "model object: other weights, another key")

-- seeds added: only with extend; then the union is recorded
local res2 = dir .. "/r2"
run(spec(), res2)
local two = function(s) s.seeds = {1, 2} end
local oks, es = run(spec(two), res2)
ok(not oks and tostring(es):find("adds seeds 2", 1, true) and tostring(es):find("extend = true", 1, true),
   "an added seed needs extend: " .. tostring(es))
local oke, se = run(spec(two), res2, {extend = true})
ok(oke and se.ran == 1 and se.skipped == 1, "with extend = true only the new seed trains")
local okx, sx = run(spec(two), res2)
ok(okx and sx.ran == 0 and sx.skipped == 2, "afterwards the extended spec reruns without extend")
local oksub, ssub = run(spec(), res2)
ok(oksub and ssub.skipped == 1, "a subset of the recorded axes runs without extend")
local okax, eax = run(spec(function(s) s.axes = {lr = {3e-3, 1e-3}} end), res2)
ok(not okax and tostring(eax):find("adds axes.lr 0.001", 1, true), "an option made an axis (old value kept) needs extend: " .. tostring(eax))

-- a directory with results but no sweep.spec (an older mto's keys)
local old = dir .. "/old"
mto._mkdir(old)
copy_file(res .. "/results.csv", old .. "/results.csv")
local oko, eo = run(spec(), old)
ok(not oko and tostring(eo):find("without a sweep.spec", 1, true), "an older directory is refused: " .. tostring(eo))

-- mto.table never averages rows that differ in more than the seed
local R = require "mto.results"
local rows = {}
for _, e in ipairs{{1, 2}, {2, 2}, {1, 5}} do
  rows[#rows + 1] = {key = string.format("task=t;template=mapping;shots=4;seed=%d;epochs=%d;fp=ab", e[1], e[2]),
                     template = "mapping", shots = "4", seed = tostring(e[1]), epochs = tostring(e[2]),
                     rouge_l = "0.5", status = "ok"}
end
local okt, et = pcall(mto.table, {results = rows, rows = "template", cols = "shots", value = "rouge_l"})
ok(not okt and tostring(et):find("epochs (2 vs 5)", 1, true), "table: epochs 2 and 5 not averaged: " .. tostring(et))
local okt2 = pcall(mto.table, {results = {rows[1], rows[2]}, rows = "template", cols = "shots", value = "rouge_l"})
ok(okt2, "table: two seeds are averaged")
local okt3 = pcall(mto.table, {results = rows, rows = "template", cols = "shots", value = "rouge_l", over = {"epochs"}})
ok(okt3, "table: over = {'epochs'} allows it explicitly")
local okt4, t4 = pcall(mto.table, {results = rows, rows = "template", cols = "epochs", value = "rouge_l"})
ok(okt4 and t4:find("| mapping |", 1, true), "table: epochs as a column separates them")
local _ = R

os.execute("rm -rf '" .. dir .. "'")
T.done()
