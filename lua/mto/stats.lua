-- mto.stats — the statistics every table of a study uses: a mean with its 95%
-- confidence interval (Student's t), paired differences between two conditions
-- measured on the same units (same seed = same few-shot heads, same replicate),
-- and the paper's relative gain over a baseline with a paired bootstrap CI.
--
--   local S = require "mto.stats"
--   S.mean_ci{0.41, 0.44, 0.39}          -> {mean=, sd=, n=, lo=, hi=, half=}
--   S.paired({a1, a2, ...}, {b1, b2, ...}) -> mean_ci of a_i - b_i (+ p, two-sided paired t)
--   S.gain(a, b)                          -> {gain=100*(mean a - mean b)/mean b, lo=, hi=} (bootstrap)
--   S.pair(rows, {by = "template", on = {"replicate", "seed"}, value = "rouge_l"})
--       -> {units = {unit keys in order}, values = {[template] = {[unit] = x}}}
--   S.aligned(p, "masked_prompting", "mapping") -> a, b (lists over the units both have)
-- With n < 2 the interval is undefined: lo and hi are nil, and callers print the mean alone.
local M = {}

--- Mean, sample sd, n and the 95% t interval of a list of numbers.
function M.mean_ci(xs)
  local n, s = #xs, 0
  if n == 0 then return {n = 0} end
  for _, x in ipairs(xs) do s = s + x end
  local mean = s / n
  if n < 2 then return {mean = mean, sd = 0, n = n} end
  local q = 0
  for _, x in ipairs(xs) do q = q + (x - mean) ^ 2 end
  local sd = math.sqrt(q / (n - 1))
  local half = M.t975(n - 1) * sd / math.sqrt(n)
  return {mean = mean, sd = sd, n = n, half = half, lo = mean - half, hi = mean + half}
end

-- Regularised incomplete beta by its continued fraction (Numerical Recipes' betacf),
-- enough for the two-sided p of a t statistic.
local function betacf(a, b, x)
  local qab, qap, qam = a + b, a + 1, a - 1
  local c, d = 1, 1 - qab * x / qap
  if math.abs(d) < 1e-300 then d = 1e-300 end
  d = 1 / d
  local h = d
  for m = 1, 300 do
    local m2 = 2 * m
    local aa = m * (b - m) * x / ((qam + m2) * (a + m2))
    d = 1 + aa * d; if math.abs(d) < 1e-300 then d = 1e-300 end
    c = 1 + aa / c; if math.abs(c) < 1e-300 then c = 1e-300 end
    d = 1 / d; h = h * d * c
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
    d = 1 + aa * d; if math.abs(d) < 1e-300 then d = 1e-300 end
    c = 1 + aa / c; if math.abs(c) < 1e-300 then c = 1e-300 end
    d = 1 / d
    local del = d * c
    h = h * del
    if math.abs(del - 1) < 1e-12 then break end
  end
  return h
end

local function lgamma(x) -- Lanczos, |error| < 2e-10 for x > 0
  local g = {76.18009172947146, -86.50532032941677, 24.01409824083091,
             -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5}
  local y, tmp = x, x + 5.5
  tmp = tmp - (x + 0.5) * math.log(tmp)
  local ser = 1.000000000190015
  for j = 1, 6 do y = y + 1; ser = ser + g[j] / y end
  return -tmp + math.log(2.5066282746310005 * ser / x)
end

local function ibeta(a, b, x)
  if x <= 0 then return 0 elseif x >= 1 then return 1 end
  local bt = math.exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * math.log(x) + b * math.log(1 - x))
  if x < (a + 1) / (a + b + 2) then return bt * betacf(a, b, x) / a end
  return 1 - bt * betacf(b, a, 1 - x) / b
end

--- Two-sided p-value of a t statistic with df degrees of freedom.
function M.t_pvalue(t, df)
  if t ~= t then return nil end
  return ibeta(df / 2, 0.5, df / (df + t * t))
end

local t975_cache = {}
--- t quantile for a two-sided 95% interval with `df` degrees of freedom, found by
--- bisection on t_pvalue (so CIs and p-values always agree), cached per df.
function M.t975(df)
  assert(df >= 1, "stats.t975: df must be >= 1")
  if t975_cache[df] then return t975_cache[df] end
  local lo, hi = 0, 1000
  for _ = 1, 200 do
    local mid = (lo + hi) / 2
    if M.t_pvalue(mid, df) > 0.05 then lo = mid else hi = mid end
  end
  t975_cache[df] = (lo + hi) / 2
  return t975_cache[df]
end

--- Paired comparison: the mean_ci of a[i] - b[i], with the paired t test's p.
function M.paired(a, b)
  assert(#a == #b, "stats.paired: the two lists must have the same length")
  local d = {}
  for i = 1, #a do d[i] = a[i] - b[i] end
  local r = M.mean_ci(d)
  if r.n and r.n >= 2 then
    if r.sd > 0 then r.p = M.t_pvalue(r.mean / (r.sd / math.sqrt(r.n)), r.n - 1)
    else r.p = r.mean == 0 and 1 or 0 end
  end
  return r
end

--- The Lua layer's one random generator (splitmix64): rng(seed) returns draw, and
--- draw(n) is a uniform integer in [1, n], the same sequence on every machine.
--- (Bootstrap CIs, matching's example sampling and adaptation's cuts all use it.)
function M.rng(seed)
  local s = math.tointeger(seed) or 0
  return function(n)
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 1) % n + 1
  end
end
local rng = M.rng

--- Relative gain of a over the baseline b in percent, 100 (mean a - mean b) / mean b,
--- with a paired percentile bootstrap 95% CI (opts.reps resamples, default 2000, seeded).
function M.gain(a, b, opts)
  assert(#a == #b, "stats.gain: the two lists must have the same length")
  opts = opts or {}
  local n = #a
  local function g(idx)
    local sa, sb = 0, 0
    for _, i in ipairs(idx) do sa = sa + a[i]; sb = sb + b[i] end
    if sb == 0 then return nil end
    return 100 * (sa - sb) / sb
  end
  local all = {}
  for i = 1, n do all[i] = i end
  local r = {n = n, gain = n > 0 and g(all) or nil}
  if n < 2 or r.gain == nil then return r end
  local draw, reps, gs = rng(opts.seed or 1), opts.reps or 2000, {}
  for _ = 1, reps do
    local idx = {}
    for k = 1, n do idx[k] = draw(n) end
    local x = g(idx)
    if x then gs[#gs + 1] = x end
  end
  table.sort(gs)
  if #gs >= 20 then
    r.lo = gs[math.max(1, math.floor(0.025 * #gs + 0.5))]
    r.hi = gs[math.min(#gs, math.floor(0.975 * #gs + 0.5))]
  end
  return r
end

--- Group rows into paired values: values[level of `by`][unit] = value, where a unit
--- is the tuple of the `on` columns (e.g. replicate and seed). Rows whose value is
--- not a number are skipped; a unit seen twice for one level is an error.
function M.pair(rows, spec)
  local by, on, value = spec.by, spec.on or {"seed"}, spec.value
  local values, units, seen = {}, {}, {}
  for _, r in ipairs(rows) do
    local x = tonumber(r[value])
    if x then
      local parts = {}
      for i, c in ipairs(on) do parts[i] = tostring(r[c] or "") end
      local u, lev = table.concat(parts, "/"), tostring(r[by])
      values[lev] = values[lev] or {}
      if values[lev][u] ~= nil then
        error(string.format("stats.pair: two rows for %s = %s at unit %s", by, lev, u), 2)
      end
      values[lev][u] = x
      if not seen[u] then seen[u] = true; units[#units + 1] = u end
    end
  end
  return {units = units, values = values}
end

--- The two levels' values over the units both have, in unit order.
function M.aligned(p, la, lb)
  local a, b = {}, {}
  local va, vb = p.values[la] or {}, p.values[lb] or {}
  for _, u in ipairs(p.units) do
    if va[u] ~= nil and vb[u] ~= nil then a[#a + 1] = va[u]; b[#b + 1] = vb[u] end
  end
  return a, b
end

--- "0.512 [0.47, 0.55]" (or "0.512" without an interval).
function M.fmt(r, digits, key)
  digits = digits or 3
  local f = "%." .. digits .. "f"
  local v = r[key or "mean"]
  if v == nil then return "–" end
  if r.lo == nil then return string.format(f, v) end
  return string.format(f .. " [" .. f .. ", " .. f .. "]", v, r.lo, r.hi)
end

return M
