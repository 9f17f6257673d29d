-- mpi_sweep_job.lua — driven by tests/mpi_sweep.sh. Modes:
--   tokenizer PREFIX            train the tiny sweep's tokenizer, print its path
--   sweep DIR TOK [SEEDS]       run the tiny sweep (tests/sweep_tiny.lua) into DIR; SEEDS
--                               "1" runs half of it; prints "rank R of N ran A skipped S merged M"
--   dp DIR TOK [dp]             2 points without dropout; "dp": run{data_parallel = true}
--   compare A B [ordered]       TAP lines (no plan): B's results == A's (and in A's order)
--   close A B                   TAP lines: B (data parallel) has A's losses within 1e-5
local mto = require "mto"
local tiny = dofile(os.getenv("MTO_SRCDIR") .. "/tests/sweep_tiny.lua")
local mode = arg[1]

if mode == "tokenizer" then print(tiny.tokenizer(arg[2])) return end

if mode == "sweep" or mode == "dp" then
  local spec = tiny.spec(arg[3], {epochs = 4})
  if arg[4] then spec.seeds = {tonumber(arg[4])} end
  if mode == "dp" then -- 2 points, no dropout (its masks depend on the slicing)
    spec.shots, spec.seeds, spec.train.dropout = {8}, {1}, false
  end
  -- count the points trained with m:train{data_parallel = true}
  local methods, dp_calls = require("mto.sweep").methods, 0
  local finetune = methods.finetune
  methods.finetune = function(ctx)
    if ctx.opts.data_parallel then dp_calls = dp_calls + 1 end
    return finetune(ctx)
  end
  -- a run on half the seeds, then on all: adding seeds to a directory needs extend
  local s = mto.sweep(spec):run{results = arg[2], quiet = true, data_parallel = arg[4] == "dp", extend = true}
  print(string.format("rank %d of %d ran %d skipped %d merged %s rows %d dp %d", s.shard.rank, s.shard.size, s.ran,
                      s.skipped, tostring(s.merged), #s.rows, dp_calls))
  return
end

local R = require "mto.results"
local ok = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua").ok -- no plan: mpi_sweep.sh relays the lines
local slurp = require("mto.fs").read_file

if mode == "close" then -- close A B: a data-parallel sweep against its serial twin
  local _, ra = R.read(arg[2] .. "/results.csv")
  local _, rb = R.read(arg[3] .. "/results.csv")
  ra, rb = ra or {}, rb or {}
  ok(#ra == 2 and #rb == 2, string.format("2 rows in both, written once (%d, %d)", #ra, #rb))
  local by, worst, same, steps = {}, 0, true, true
  for _, r in ipairs(rb) do by[r.key] = r end
  for _, r in ipairs(ra) do
    local o = by[r.key] or {}
    for _, c in ipairs{"first_loss", "final_loss"} do
      local x, y = tonumber(r[c]), tonumber(o[c])
      if not x or not y then worst = math.huge else worst = math.max(worst, math.abs(x - y) / math.abs(x)) end
    end
    steps = steps and r.steps == o.steps and o.status == "ok"
    same = same and slurp(arg[2] .. "/" .. r.predictions) == slurp(arg[3] .. "/" .. (o.predictions or "?"))
  end
  ok(steps, "same points, same steps, status ok")
  ok(worst <= 1e-5, string.format("first/final losses within 1e-5 relative of the serial run (worst %.3g)", worst))
  print("# predictions " .. (same and "identical" or "differ") .. " to the serial run's")
  return
end

-- compare DIR_A DIR_B
local a, b = arg[2], arg[3]
local _, ra = R.read(a .. "/results.csv")
local _, rb = R.read(b .. "/results.csv")
ra, rb = ra or {}, rb or {}
ok(#ra == 8 and #rb == 8, string.format("8 rows in both results files (%d, %d)", #ra, #rb))
local seen, dup = {}, false
for _, r in ipairs(rb) do dup = dup or seen[r.key]; seen[r.key] = true end
ok(not dup, "no key appears twice")
if arg[4] == "ordered" then
  local order = #ra == #rb
  for i = 1, math.min(#ra, #rb) do order = order and ra[i].key == rb[i].key end
  ok(order, "rows in the serial run's order")
end
local by, same, preds, bad = {}, true, true, nil
for _, r in ipairs(rb) do by[r.key] = r end
local skip = {wall = true, train_wall = true, finished = true}
for _, r in ipairs(ra) do
  local o = by[r.key]
  if not o then same = false; bad = "missing " .. r.key
  else
    for k, v in pairs(r) do
      if not skip[k] and o[k] ~= v then same = false; bad = bad or (k .. ": " .. v .. " vs " .. tostring(o[k])) end
    end
    local pa, pb = slurp(a .. "/" .. r.predictions), slurp(b .. "/" .. o.predictions)
    preds = preds and pa ~= nil and pa == pb
  end
end
ok(same, "every row has the serial run's metrics, losses and settings" .. (bad and (" (" .. bad .. ")") or ""))
ok(preds, "every point's predictions file is byte-identical")
local left = require("mto.fs").listdir(b .. "/parts") or {}
ok(#left == 0, "no per-rank part files left after the merge (" .. #left .. ")")
