-- bf16.lua — precision = "bf16" from Lua (TAP): mto.backend(), the option on
-- m:train / m:predict / p:train, an unknown value refused, and a 30-shot sweep
-- point in bf16 reaching the ROUGE-L of fp32 within the spread of the seeds.
-- Without native bf16 (and without MTO_BF16=emulate) bf16 runs as fp32: the
-- option is still accepted and the comparison is skipped.
local mto = require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, skip = T.ok, T.skip

local name, desc, native = mto.backend()
ok(name == "openblas" or name == "dnnl", "mto.backend(): " .. tostring(name))
ok(type(desc) == "string" and desc:find("OpenBLAS core", 1, true), "mto.backend(): " .. tostring(desc))
ok(not pcall(mto.backend, "cuda"), "mto.backend: an unknown backend is an error")
local have_dnnl = desc:find("oneDNN %d") ~= nil
local bf16 = have_dnnl and (native or os.getenv("MTO_BF16") == "emulate")

local cfg = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 2, num_decoder_layers = 2,
             vocab_size = 64}
local m = mto.new(cfg, 1)
local ex = {}
for i = 1, 8 do ex[i] = {src = {3 + i, 4 + i, 5 + i}, tgt = {10 + i, 11 + i}} end
local r = m:train(ex, {epochs = 2, batch_size = 4, precision = "bf16"})
ok(r and r.steps == 4 and r.final_loss == r.final_loss, "m:train{precision = 'bf16'} trains")
local okp, err = pcall(m.train, m, ex, {epochs = 1, precision = "fp8"})
ok(not okp and tostring(err):find("unknown precision 'fp8'", 1, true), "an unknown precision is refused")
local out = m:predict({{3, 4, 5}}, {max_len = 4, precision = "bf16"})
ok(type(out) == "table" and #out == 1, "m:predict{precision = 'bf16'} decodes")
local p = m:prompt{k = 4}
local pr = p:train(ex, {epochs = 1, batch_size = 4, precision = "bf16"})
ok(pr and pr.steps == 2, "p:train{precision = 'bf16'} trains")

local tiny = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/sweep_tiny.lua")
if not tiny.data then
  skip("no shared data: 30-shot sweep")
elseif not bf16 then
  skip("no native bf16 (set MTO_BF16=emulate to force it): 30-shot sweep")
else
  local tmp = os.tmpname()
  local tokpath = tiny.tokenizer(tmp)
  local function run(prec)
    local spec = tiny.spec(tokpath, {precision = prec, epochs = 6})
    spec.templates, spec.shots, spec.seeds = {"mapping"}, {30}, {1, 2, 3}
    local sum = mto.sweep(spec):run{results = tmp .. "." .. prec, quiet = true}
    local v = {}
    for _, row in ipairs(sum.rows) do v[#v + 1] = tonumber(row.rouge_l) end
    return v, sum
  end
  local t0 = mto._clock()
  local f32, s32 = run("fp32")
  local b16, s16 = run("bf16")
  local function stats(v)
    local s, lo, hi = 0, math.huge, -math.huge
    for _, x in ipairs(v) do s, lo, hi = s + x, math.min(lo, x), math.max(hi, x) end
    return s / #v, hi - lo
  end
  local m32, sp32 = stats(f32)
  local m16, sp16 = stats(b16)
  T.diag(string.format("30 shots, seeds 1-3: rouge_l fp32 %s (mean %.4f, spread %.4f), bf16 %s (mean %.4f, spread %.4f); %.1f s",
                      table.concat(f32, " "), m32, sp32, table.concat(b16, " "), m16, sp16, mto._clock() - t0))
  ok(#f32 == 3 and #b16 == 3 and s32.rows[1].precision == "fp32" and s16.rows[1].precision == "bf16",
     "sweep: precision is a training option of the points (3 seeds each)")
  ok(m32 > 0, "sweep fp32: the model learned something (mean rouge_l " .. m32 .. ")")
  ok(math.abs(m16 - m32) <= math.max(sp32, sp16),
     string.format("sweep bf16: mean rouge_l %.4f within the seed spread %.4f of fp32's %.4f", m16,
                   math.max(sp32, sp16), m32))
  os.execute("rm -rf '" .. tmp .. "'* ")
end
T.done()
