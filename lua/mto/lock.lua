-- mto.lock — one writer per results directory (and per part of a sharded run), with
-- fcntl record locks on RESULTS/.lock (lua/l_lock.c says why fcntl: it works on
-- NFS and Lustre, and the kernel drops a dead holder's locks).
--
--   byte range [0, inf) exclusive   the whole directory: a serial run, a run with local
--                                   workers (the forked workers write under the parent's
--                                   lock), a merge of the parts
--   byte 0 shared + byte k excl.    one MPI rank or Slurm array task (MTO_SHARD): shards
--                                   run side by side, two runs of the same shard do not,
--                                   and no shard runs while someone holds the directory
--
-- A holder records "pid P on host H since T" (in .lock for the directory, in
-- parts/NAME.owner for a shard) so that the run which is refused can name it.
--
--   local lock = require "mto.lock"
--   local lk = lock.dir(dir)                     -- raises, naming the holder
--   local lk = lock.shard(dir, "array", 3, 16)   -- raises, naming the holder
--   local lk, why = lock.try_dir(dir)            -- nil, message instead of raising
--   lk:release();  lock.release_since(lock.mark())  -- a run's locks, on success or error
local mto = require "mto"
local fs = require "mto.fs"

local M = {}

-- one handle per lock file per process: closing any descriptor of the file would drop
-- every lock this process holds on it, so handles are kept, never closed
local handles = {}

local function handle(dir)
  local path = dir .. "/.lock"
  local h = handles[path]
  if h then return h end
  local err
  h, err = mto._lockfile(path)
  if not h then error("results: " .. err, 0) end
  handles[path] = h
  return h
end

local function me()
  return string.format("pid %d on host %s since %s", mto._getpid(), mto._hostname(),
                       os.date("!%Y-%m-%dT%H:%M:%SZ"))
end

local MODES = {mpi = 0, array = 1}

-- the byte of shard rank of size in mode: distinct for every (mode, size, rank)
local function shard_byte(mode, rank, size)
  return 1 + 2 * (size * (size - 1) // 2 + rank) + (MODES[mode] or 0)
end

local function part_name(mode, rank, size) return string.format("%s-%d-of-%d", mode, rank, size) end

local function read_owner(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a") or ""
  f:close()
  s = s:gsub("%s+$", "")
  return s ~= "" and s or nil
end

-- Who holds what blocks a directory lock: the directory holder, or the running shards.
local function holders(dir, h, conflict)
  if conflict and conflict.type == "w" and conflict.start == 0 and conflict.len == 0 then
    local s = h:read():gsub("%s+$", "")
    return s ~= "" and s or ("pid " .. tostring(conflict.pid))
  end
  local out = {}
  for _, name in ipairs(fs.listdir(dir .. "/parts") or {}) do
    local mode, rank, size = name:match("^(%a+)%-(%d+)%-of%-(%d+)%.owner$")
    if mode and MODES[mode] then
      local b = shard_byte(mode, tonumber(rank), tonumber(size))
      if h:test("w", b, 1) then
        out[#out + 1] = string.format("%s (%s)", read_owner(dir .. "/parts/" .. name) or "?",
                                      part_name(mode, tonumber(rank), tonumber(size)))
      end
    end
  end
  if #out == 0 then return "pid " .. tostring(conflict and conflict.pid or "?") end
  return table.concat(out, ", ")
end

local Lock = {}
Lock.__index = Lock

-- every lock this process holds, oldest first
local held = {}

local function hold(lk)
  held[#held + 1] = lk
  return lk
end

function M.mark() return #held end

-- Release every lock taken since mark (a run's locks, also when it failed).
function M.release_since(mark)
  for i = #held, mark + 1, -1 do held[i]:release() end
end

function Lock:release()
  if self.released then return end
  self.released = true
  for i = #held, 1, -1 do if held[i] == self then table.remove(held, i) end end
  if self.kind == "dir" then self.h:unlock(0, 0)
  else
    self.h:unlock(self.byte, 1)
    self.h:unlock(0, 1)
    os.remove(self.owner)
  end
end

-- MTO_NO_LOCK=1: run without locks (a file system without fcntl locks, e.g. Lustre
-- mounted with -o noflock); said once on stderr.
local function unlocked(dir)
  if os.getenv("MTO_NO_LOCK") ~= "1" then return nil end
  if not M.warned then
    M.warned = true
    io.stderr:write("mto: warning: MTO_NO_LOCK=1: results directories are not locked; " ..
                    "two runs on one directory can corrupt it\n")
  end
  return setmetatable({kind = "none", dir = dir, release = function() end}, {})
end

-- h:try, with a file system that cannot lock named as such
local function try(h, dir, kind, start, len)
  local ok, a, b = pcall(h.try, h, kind, start, len)
  if not ok then
    error(string.format("%s/.lock: %s (does this file system support fcntl locks? Lustre needs -o flock; " ..
                        "MTO_NO_LOCK=1 runs without locking)", dir, tostring(a)), 0)
  end
  return a, b
end

-- dir's lock file locked (kind "w" or "r") from byte 0 for len bytes (0: to the end),
-- or nil and a message naming the holder.
local function lock_dir(dir, kind, len)
  local h = handle(dir)
  local ok, conflict = try(h, dir, kind, 0, len)
  if ok then return h end
  return nil, string.format("results directory %s is in use by another run: %s; wait for it to finish " ..
                            "or use another results directory", dir, holders(dir, h, conflict))
end

-- The whole directory, or nil and a message naming the holder.
function M.try_dir(dir)
  local nl = unlocked(dir)
  if nl then return nl end
  local h, err = lock_dir(dir, "w", 0)
  if not h then return nil, err end
  h:write(me() .. "\n")
  return hold(setmetatable({h = h, kind = "dir", dir = dir}, Lock))
end

function M.dir(dir)
  local lk, err = M.try_dir(dir)
  if not lk then error(err, 0) end
  return lk
end

-- Shard rank of size (mode "mpi" or "array"): a shared lock on the directory and an
-- exclusive one on the shard's own byte.
function M.try_shard(dir, mode, rank, size)
  local nl = unlocked(dir)
  if nl then return nl end
  local h, err = lock_dir(dir, "r", 1)
  if not h then return nil, err end
  local b = shard_byte(mode, rank, size)
  local owner = string.format("%s/parts/%s.owner", dir, part_name(mode, rank, size))
  local ok = try(h, dir, "w", b, 1)
  if not ok then
    h:unlock(0, 1)
    return nil, string.format("%s: shard %s is already running: %s; two runs of one shard would " ..
                              "train its points twice", dir, part_name(mode, rank, size),
                              read_owner(owner) or "another process")
  end
  fs.mkdir(dir .. "/parts")
  fs.write_file(owner, me() .. "\n")
  return hold(setmetatable({h = h, kind = "shard", dir = dir, byte = b, owner = owner}, Lock))
end

function M.shard(dir, mode, rank, size)
  local lk, err = M.try_shard(dir, mode, rank, size)
  if not lk then error(err, 0) end
  return lk
end

return M
