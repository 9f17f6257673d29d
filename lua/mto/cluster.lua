-- mto.cluster — a sweep shared by several processes: MPI ranks (`mpirun -np N mto run
-- sweep.lua`) or Slurm array tasks (MTO_SHARD=I/N, see `mto slurm`). Each process runs
-- a deterministic share of the unfinished points and appends its rows to its own file
-- RESULTS/parts/MODE-I-of-N.csv (whole lines, fsync'ed, like results.csv); the parts
-- are folded into results.csv — by rank 0 after the last MPI barrier, by the array
-- task that finds every point finished, and by any later run that has the directory
-- to itself — sorted in the sweep's point order, one row per key. Resume reads
-- results.csv and every part, so a rerun with another N (or serially) carries on.
--
--   local C = require "mto.cluster"
-- With run{data_parallel = true} under mpirun the ranks instead train every point
-- together (m:train{data_parallel = true}) and rank 0 alone writes results.csv.
--
--   C.world(opts) -> {mode = "serial"|"mpi"|"array"|"dp", rank =, size =}
--   local sh = C.open(dir, columns, points, opts)   -- sh.done[key] -> row; sh.store:append(row)
--   C.worker_store(dir, columns, I, N)              -- a local worker's part (results store)
--   sh:select(todo) -> this process's share;  sh:finish() -> rows (merged when possible), merged?
--   C.collect(dir, columns, order) / C.merge(dir, columns, order)
local mto = require "mto"
local fs = require "mto.fs"
local results = require "mto.results"
local lock = require "mto.lock"

local M = {}

-- Where this process stands. MPI is initialised only when mpirun/srun launched us.
function M.world(opts)
  local shard = (opts and opts.shard) or os.getenv("MTO_SHARD")
  if shard == "" then shard = nil end
  local mpi = mto.mpi
  if mpi and mpi.launched() then
    local rank, size = mpi.init()
    if size > 1 then
      if shard then error("cluster: MTO_SHARD=" .. shard .. " is set while running as " .. size ..
                          " MPI ranks; use one or the other", 0) end
      -- data_parallel: every rank trains every point together, rank 0 writes
      return {mode = opts and opts.data_parallel and "dp" or "mpi", rank = rank, size = size}
    end
  end
  if shard then
    local i, n = tostring(shard):match("^(%d+)/(%d+)$")
    i, n = tonumber(i), tonumber(n)
    if not i or n < 1 or i >= n then
      error("cluster: MTO_SHARD must be I/N with 0 <= I < N, got '" .. tostring(shard) .. "'", 0)
    end
    if n > 1 then return {mode = "array", rank = i, size = n} end
  end
  return {mode = "serial", rank = 0, size = 1}
end

local function parts_dir(dir) return dir .. "/parts" end

local function part_files(dir)
  local out = {}
  for _, name in ipairs(fs.listdir(parts_dir(dir)) or {}) do
    if name:match("%.csv$") then out[#out + 1] = parts_dir(dir) .. "/" .. name end
  end
  return out
end

local check_columns = results.check_columns

-- Every finished row of dir: results.csv in its order, a part's row replacing an
-- older one with the same key in place (parts are newer than results.csv), new keys
-- after them in point order (order[key] = index; unknown keys last, as found).
-- Returns header, rows, part paths.
function M.collect(dir, columns, order)
  local main = dir .. "/results.csv"
  local header, rows = results.read(main)
  header = header or columns
  check_columns(main, header, columns)
  local list, pos = {}, {}
  for _, r in ipairs(rows or {}) do
    if r.key and pos[r.key] then list[pos[r.key]] = r
    else list[#list + 1] = r; if r.key then pos[r.key] = #list end end
  end
  local fresh, fpos = {}, {}
  local parts = part_files(dir)
  for _, path in ipairs(parts) do
    local h, prow = results.read(path)
    if h then
      check_columns(path, h, columns)
      for _, r in ipairs(prow) do
        if r.key and pos[r.key] then list[pos[r.key]] = r
        elseif r.key and fpos[r.key] then fresh[fpos[r.key]] = r
        else fresh[#fresh + 1] = r; if r.key then fpos[r.key] = #fresh end end
      end
    end
  end
  local seq = {}
  for i, r in ipairs(fresh) do seq[r] = i end
  table.sort(fresh, function(a, b)
    local x, y = order and order[a.key] or math.huge, order and order[b.key] or math.huge
    if x ~= y then return x < y end
    return seq[a] < seq[b]
  end)
  for _, r in ipairs(fresh) do list[#list + 1] = r end
  return header, list, parts
end

-- Fold the parts into results.csv (atomically: a temp file renamed over it), then
-- remove them. Only for a process that has dir to itself (or a finished array).
-- Returns the merged rows.
function M.merge(dir, columns, order)
  if #part_files(dir) == 0 then return nil, false end -- the common case: nothing to read
  local header, rows, parts = M.collect(dir, columns, order)
  local lines = {results.csv_line(header, #header)}
  for _, r in ipairs(rows) do
    local v = {}
    for i, c in ipairs(header) do v[i] = r[c] end
    lines[#lines + 1] = results.csv_line(v, #header)
  end
  fs.write_file(dir .. "/results.csv", table.concat(lines, "\n") .. "\n")
  for _, p in ipairs(parts) do os.remove(p) end
  return rows, true
end

-- ---- one process's view of a sweep ---------------------------------------------

local Shard = {}
Shard.__index = Shard

-- rank 0's outcome (nil or an error message) on every rank, so all fail together
local function together(w, fn)
  local ok, err = pcall(fn)
  local msg = ok and "" or tostring(err)
  if w.mode == "mpi" then msg = mto.mpi.bcast(msg) end
  if msg ~= "" then error(msg, 0) end
end

function M.open(dir, columns, points, opts)
  local w = M.world(opts)
  local self = setmetatable({dir = dir, columns = columns, world = w, mode = w.mode, rank = w.rank,
                             size = w.size, order = {}, points = points}, Shard)
  for i, p in ipairs(points) do self.order[p.key] = i end
  local ok, err = pcall(Shard._open, self, dir, columns, w)
  if not ok then self:close(); error(err, 0) end
  return self
end

-- One writer per results file (mto.lock): a serial run (and its local workers) and
-- rank 0 of a data-parallel run lock the whole directory for the run; MPI ranks and
-- array tasks lock their own part; merges lock the directory.
function Shard:_open(dir, columns, w)
  if w.mode == "serial" then
    self.lock = lock.dir(dir)
    M.merge(dir, columns, self.order) -- leftovers of an interrupted sharded run
    self.store = results.open(dir .. "/results.csv", columns)
    self.done = self.store.done
    return
  end
  if w.mode == "dp" then
    together(w, function()
      if w.rank == 0 then
        self.lock = lock.dir(dir)
        M.merge(dir, columns, self.order)
        self.store = results.open(dir .. "/results.csv", columns)
      end
    end)
    local _, rows = M.collect(dir, columns, self.order)
    self.done = {}
    for _, r in ipairs(rows) do if r.key then self.done[r.key] = r end end
    if w.rank ~= 0 then self.store = {append = function() end} end -- the same rows as rank 0's
    return
  end
  -- MPI: rank 0 folds leftovers in (holding the directory) while the others wait; an
  -- array task never merges here (other tasks may be writing their parts right now)
  together(w, function()
    if w.rank == 0 and w.mode == "mpi" then
      local lk = lock.dir(dir)
      local ok, err = pcall(M.merge, dir, columns, self.order)
      lk:release()
      if not ok then error(err, 0) end
    end
  end)
  if w.mode == "mpi" then mto.mpi.barrier() end
  fs.mkdir(parts_dir(dir))
  local lk, err = lock.try_shard(dir, w.mode, w.rank, w.size)
  if w.mode == "mpi" then -- all ranks stop together when one cannot lock its part
    local bad = mto.mpi.allreduce({lk and 0 or 1}, "max")[1]
    if bad > 0 and lk then lk:release(); lk = nil; err = "cluster: another rank could not lock its part" end
  end
  if not lk then error(err, 0) end
  self.lock = lk
  local _, rows = M.collect(dir, columns, self.order)
  self.done = {}
  for _, r in ipairs(rows) do if r.key then self.done[r.key] = r end end
  self.part = string.format("%s/%s-%d-of-%d.csv", parts_dir(dir), w.mode, w.rank, w.size)
  self.store = results.open(self.part, columns)
  -- no rank trains before every rank has read what is done: a fast rank's first row
  -- would otherwise change a slow rank's todo list (the ranks deal it round robin)
  if w.mode == "mpi" then mto.mpi.barrier() end
end

-- Release this process's lock (sweep:run calls it when the run ends or fails).
function Shard:close()
  if self.lock then self.lock:release(); self.lock = nil end
end

-- Local worker I of N (sweep:run{workers = N}, a forked process) appends the points it
-- claims to its own part RESULTS/parts/workers-I-of-N.csv; the parent merges once every
-- worker exited. Returns that part's results store.
function M.worker_store(dir, columns, rank, size)
  fs.mkdir(parts_dir(dir))
  return results.open(string.format("%s/workers-%d-of-%d.csv", parts_dir(dir), rank, size), columns)
end

-- This process's share of the unfinished points: MPI ranks deal the common todo list
-- round robin (every rank read the same files after the barrier); array tasks start
-- at different times, so they deal by position in the whole sweep instead.
function Shard:select(todo)
  if self.size == 1 or self.mode == "dp" then return todo end
  local mine = {}
  for i, p in ipairs(todo) do
    local slot = self.mode == "mpi" and i - 1 or self.order[p.key] - 1
    if slot % self.size == self.rank then mine[#mine + 1] = p end
  end
  return mine
end

-- The rows of the whole sweep so far, and whether results.csv now holds them all.
function Shard:finish()
  if self.mode == "serial" then return self.store:rows(), true end
  if self.mode == "dp" then
    mto.mpi.barrier()
    return results.load(self.dir .. "/results.csv"), true
  end
  self:close() -- this shard is done; the merge below needs the whole directory
  if self.mode == "mpi" then
    mto.mpi.barrier()
    together(self.world, function()
      if self.rank == 0 then
        local lk = lock.dir(self.dir)
        local ok, err = pcall(M.merge, self.dir, self.columns, self.order)
        lk:release()
        if not ok then error(err, 0) end
      end
    end)
    return results.load(self.dir .. "/results.csv"), true
  end
  -- array: the last task to finish merges. Each task releases its shard lock before it
  -- tries the directory's, so of two tasks finishing together one always gets it; a
  -- task still running holds it off (and will merge itself when it ends).
  local lk = lock.try_dir(self.dir)
  if not lk then
    local _, rows = M.collect(self.dir, self.columns, self.order)
    return rows, false
  end
  local ok, rows, merged = pcall(function()
    local _, rows = M.collect(self.dir, self.columns, self.order)
    local have = {}
    for _, r in ipairs(rows) do if r.key then have[r.key] = true end end
    for _, p in ipairs(self.points) do
      if not have[p.key] then return rows, false end
    end
    return (M.merge(self.dir, self.columns, self.order)), true
  end)
  lk:release()
  if not ok then error(rows, 0) end
  return rows, merged
end

return M
