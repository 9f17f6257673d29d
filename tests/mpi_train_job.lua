-- mpi_train_job.lua — driven by tests/mpi_train.sh. Modes:
--   single OUT     train two tiny configurations in one process, write the loss curves
--   dp OUT         the same with m:train{data_parallel = true} (run under mpirun);
--                  every rank writes OUT.R (its curve and its final parameters' loss)
--   mismatch       ranks given different examples must all fail with a clear message
--   compare A B... TAP lines (no plan): the curves of B... match A within 1e-5 relative
local mto = require "mto"
local mode = arg[1]

-- Synthetic task: 45 examples with varied lengths (uneven slices, varied token counts).
local function data()
  local ex, x = {}, 12345
  local function rnd(n) x = (x * 1103515245 + 12345) % 2147483648; return x % n end
  for i = 1, 45 do
    local s, t = {}, {}
    for j = 1, 3 + rnd(8) do s[j] = 3 + rnd(60) end
    s[#s + 1] = 1
    for j = 1, 1 + rnd(6) do t[j] = 3 + (s[j] or 7) % 60 end
    ex[i] = {src = s, tgt = t}
  end
  return ex
end

local CFG = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 2, num_decoder_layers = 2,
             vocab_size = 64, feed_forward_proj = "gated-gelu", tie_word_embeddings = false,
             relative_attention_num_buckets = 8, relative_attention_max_distance = 32}
-- (a) batches of 8 (the last of 5), (b) batches of 4 with accumulation 2: the batch of 1
-- leaves one of two ranks without examples
local RUNS = {
  {name = "a", opts = {batch_size = 8, epochs = 3, lr = 3e-3, seed = 7, dropout = false}},
  {name = "b", opts = {batch_size = 4, grad_accum = 2, max_steps = 12, lr = 3e-3, seed = 3, dropout = false,
                       optimizer = "adafactor"}},
}

local function train_all(dp)
  local ex, lines = data(), {}
  for _, r in ipairs(RUNS) do
    local m = mto.new(CFG, 1)
    local o = {}
    for k, v in pairs(r.opts) do o[k] = v end
    o.data_parallel = dp
    o.progress = function(step, _, loss) lines[#lines + 1] = string.format("%s %d %.9g", r.name, step, loss) end
    m:train(ex, o)
    lines[#lines + 1] = string.format("%s final %.9g", r.name, m:eval_loss(ex))
  end
  return table.concat(lines, "\n") .. "\n"
end

local function write(path, text) local f = assert(io.open(path, "w")); f:write(text); f:close() end

if mode == "single" then
  write(arg[2], train_all(false))
  -- not launched by mpirun: data_parallel is plain training, and MPI stays off
  local again = train_all(true)
  write(arg[2] .. ".flag", again == train_all(false) and not mto.mpi.active() and "same\n" or "differs\n")
elseif mode == "dp" then
  local text = train_all(true)
  write(arg[2] .. "." .. mto.mpi.rank(), string.format("size %d\n", mto.mpi.size()) .. text)
elseif mode == "mismatch" then
  local ex = data()
  if mto.mpi.rank() == 1 then ex[3] = ex[4] end
  local ok, err = pcall(function() mto.new(CFG, 1):train(ex, {data_parallel = true, max_steps = 1}) end)
  print(string.format("rank %d %s %s", mto.mpi.rank(), ok and "trained" or "failed", ok and "" or tostring(err)))
elseif mode == "compare" then
  local T = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua") -- no plan: mpi_train.sh relays the lines
  local function curve(path)
    local c = {}
    for line in io.lines(path) do
      local run, step, v = line:match("^(%S+) (%S+) (%S+)$")
      if run then c[#c + 1] = {run .. " " .. step, tonumber(v)} end
    end
    return c
  end
  local ref = curve(arg[2])
  for i = 3, #arg do
    local c = curve(arg[i])
    local worst, same = 0, #c == #ref and #ref > 0
    for j = 1, math.min(#c, #ref) do
      same = same and c[j][1] == ref[j][1]
      worst = math.max(worst, math.abs(c[j][2] - ref[j][2]) / math.max(math.abs(ref[j][2]), 1e-30))
    end
    T.ok(same and worst <= 1e-5, string.format("%s: %d points, the same steps, worst relative difference %.3g <= 1e-5",
                                                arg[i]:match("[^/]+$"), #c, worst))
    T.diag(string.format("%s worst %.3g", arg[i], worst))
  end
end
