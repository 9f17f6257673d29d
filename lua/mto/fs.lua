-- mto.fs — the file-system and clock helpers experiments need, as a public module
-- (the C functions behind it, mto._mkdir and friends, are private and may change).
-- Errors are raised with the path in the message, except where noted.
--
--   local fs = require "mto.fs"
--   fs.mkdir(dir); fs.write_file(dir .. "/table.md", md); local t0 = fs.clock()
local mto = require "mto"

local M = {}

-- fs.clock() -> seconds on a monotonic clock (a float; only differences mean anything).
M.clock = mto._clock

-- fs.mkdir(path): create the directory and its parents (mkdir -p); an existing one is fine.
M.mkdir = mto._mkdir

-- fs.write_file(path, text): write through a temporary file + fsync + rename, so readers never see half a file.
M.write_file = mto._write_file

-- fs.append_line(path, line): append line .. "\n" in one write with fsync (a crash leaves all of it or none).
M.append_line = mto._append_line

-- fs.listdir(dir) -> the entry names sorted in C order (no . and ..), or nil, message.
M.listdir = mto._listdir

-- fs.read_file(path) -> the whole file as a string, or nil, message.
function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

-- fs.exists(path) -> true when path can be opened for reading (a file or a directory).
function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

return M
