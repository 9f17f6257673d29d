-- tests/stats.lua — mto.stats: CIs, paired differences, bootstrap gain (TAP).
local S = require "mto.stats"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
local function near(a, b, tol, name) ok(type(a) == "number" and math.abs(a - b) <= tol, name .. " (" .. tostring(a) .. ")") end

-- mean_ci: {1,2,3,4,5}: mean 3, sd sqrt(2.5), half = 2.776 * sd / sqrt 5 (R: t.test)
local r = S.mean_ci{1, 2, 3, 4, 5}
near(r.mean, 3, 1e-12, "mean")
near(r.sd, math.sqrt(2.5), 1e-12, "sample sd")
near(r.lo, 1.036757, 1e-5, "95% CI low (t, df 4)")
near(r.hi, 4.963243, 1e-5, "95% CI high")
ok(S.mean_ci{0.5}.lo == nil, "one value: no interval")
ok(S.mean_ci{}.n == 0, "no values: n = 0")
near(S.t975(4), 2.776445, 1e-5, "t quantile, df 4 (2.776445)")
near(S.t975(60), 2.000298, 1e-5, "t quantile, df 60 (2.000298)")

-- paired: R t.test(a, b, paired = TRUE): d = {0.1, 0.2, 0.1, 0.3}, t = 3.6556, p = 0.03535
local p = S.paired({0.5, 0.6, 0.4, 0.8}, {0.4, 0.4, 0.3, 0.5})
near(p.mean, 0.175, 1e-12, "paired mean difference")
near(p.p, 0.03535, 2e-4, "paired t p-value")
near(p.lo, 0.02264, 1e-4, "paired CI low")
ok(S.paired({1, 2}, {1, 2}).p == 1, "identical pairs: p = 1")
ok(not pcall(S.paired, {1}, {1, 2}), "paired refuses lists of different lengths")

-- gain: 100 (mean a - mean b) / mean b; bootstrap is seeded, so repeatable
local g = S.gain({0.6, 0.66, 0.63}, {0.3, 0.33, 0.3})
near(g.gain, 100 * (1.89 - 0.93) / 0.93, 1e-9, "relative gain in percent")
ok(g.lo and g.hi and g.lo <= g.gain and g.gain <= g.hi, "gain lies in its bootstrap CI")
local g2 = S.gain({0.6, 0.66, 0.63}, {0.3, 0.33, 0.3})
ok(g2.lo == g.lo and g2.hi == g.hi, "bootstrap CI is deterministic")
ok(S.gain({1}, {0}).gain == nil, "gain over a zero baseline is undefined")

-- pair / aligned: units are (replicate, seed); a missing unit drops out of both
local rows = {
  {template = "m", replicate = 1, seed = 1, rouge_l = 0.5}, {template = "p", replicate = 1, seed = 1, rouge_l = 0.7},
  {template = "m", replicate = 1, seed = 2, rouge_l = 0.4}, {template = "p", replicate = 1, seed = 2, rouge_l = 0.6},
  {template = "m", replicate = 2, seed = 1, rouge_l = 0.3},
}
local pr = S.pair(rows, {by = "template", on = {"replicate", "seed"}, value = "rouge_l"})
ok(#pr.units == 3, "three units")
local a, b = S.aligned(pr, "p", "m")
ok(#a == 2 and a[1] == 0.7 and b[2] == 0.4, "aligned keeps the shared units in order")
rows[#rows + 1] = {template = "m", replicate = 2, seed = 1, rouge_l = 0.9}
ok(not pcall(S.pair, rows, {by = "template", on = {"replicate", "seed"}, value = "rouge_l"}), "a duplicated unit is an error")
ok(S.fmt({mean = 0.5, lo = 0.4, hi = 0.6}) == "0.500 [0.400, 0.600]", "fmt with an interval")
ok(S.fmt({mean = 0.5}) == "0.500", "fmt without")

T.done()
