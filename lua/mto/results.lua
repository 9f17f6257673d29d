-- mto.results — the results file of a sweep: one CSV row per run, appended as a
-- whole line with fsync (mto.fs.append_line), so a killed sweep leaves every
-- finished row intact and no partial one; resume skips keys already present.
--
--   local R = require "mto.results"
--   local store = R.open(path, columns)   -- creates the file with its header, or reads it
--   store.done[key] -> row;  store:append(row);  store:rows() -> rows (last row per key)
--   R.load(src) -> rows   (src: a CSV path, a results directory, a sweep run summary or rows)
--   R.csv_line(values), R.parse(text), R.read(path) -> header, rows, complete
local fs = require "mto.fs"

local M = {}

-- One field: a newline would split the row, so it becomes a space.
local function field(v)
  local s = v == nil and "" or tostring(v)
  s = s:gsub("[\r\n]", " ")
  if s:find('[,"]') or s:match("^%s") or s:match("%s$") then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- values[1..n] as one CSV line (n defaults to #values; nil fields are empty).
function M.csv_line(values, n)
  local out = {}
  for i = 1, n or #values do out[i] = field(values[i]) end
  return table.concat(out, ",")
end

-- RFC 4180 parser: returns an array of records (arrays of strings) and whether the text
-- ended with a complete line.
function M.parse(text)
  local recs, rec, i, n = {}, {}, 1, #text
  local complete = n == 0 or text:sub(n, n) == "\n"
  while i <= n do
    local c = text:sub(i, i)
    if c == '"' then
      local buf = {}
      i = i + 1
      while true do
        local j = text:find('"', i, true)
        if not j then buf[#buf + 1] = text:sub(i); i = n + 1; complete = false; break end
        buf[#buf + 1] = text:sub(i, j - 1)
        if text:sub(j + 1, j + 1) == '"' then buf[#buf + 1] = '"'; i = j + 2
        else i = j + 1; break end
      end
      rec[#rec + 1] = table.concat(buf)
    else
      local j = text:find("[,\n]", i)
      local v = text:sub(i, (j or n + 1) - 1):gsub("\r$", "")
      rec[#rec + 1] = v
      i = j or n + 1
    end
    local d = text:sub(i, i)
    if d == "," then
      i = i + 1
      if i > n then rec[#rec + 1] = "" end
    elseif d == "\n" or i > n then
      recs[#recs + 1] = rec
      rec = {}
      i = i + 1
    end
  end
  return recs, complete
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Rows as maps from a CSV text; the last row for each key wins.
local function to_rows(path, text)
  local recs, complete = M.parse(text)
  local header = recs[1]
  if not header then return {}, {}, complete end
  local rows = {}
  local last = complete and #recs or #recs - 1 -- an unfinished last line is not a row
  for r = 2, last do
    local rec = recs[r]
    if #rec ~= #header then
      error(string.format("%s: row %d has %d fields, the header has %d", path, r, #rec, #header), 0)
    end
    local row = {}
    for c, name in ipairs(header) do row[name] = rec[c] end
    rows[#rows + 1] = row
  end
  return header, rows, complete
end

-- header, rows (every whole row in file order, not deduplicated), complete; nil when
-- the file cannot be read (mto.cluster merges per-rank files with it).
function M.read(path)
  local text = read_all(path)
  if not text then return nil end
  return to_rows(path, text)
end

local function dedupe(rows)
  local pos, out = {}, {}
  for _, r in ipairs(rows) do
    local k = r.key
    if k and pos[k] then out[pos[k]] = r
    else out[#out + 1] = r; if k then pos[k] = #out end end
  end
  return out
end

--- Raises an error naming path unless header (an existing file's columns) has every one of columns.
function M.check_columns(path, header, columns)
  local have = {}
  for _, h in ipairs(header) do have[h] = true end
  for _, c in ipairs(columns) do
    if not have[c] then
      error(string.format("%s: existing results have no column '%s' (a different sweep?); " ..
                          "use another results directory", path, c), 0)
    end
  end
end

local Store = {}
Store.__index = Store

function M.open(path, columns)
  local self = setmetatable({path = path, done = {}, list = {}}, Store)
  local text = read_all(path)
  if not text or text == "" then
    self.header = columns
    fs.write_file(path, M.csv_line(columns) .. "\n")
    return self
  end
  local header, rows, complete = to_rows(path, text)
  if not complete then
    -- only a crash inside write(2) could leave this; keep the whole lines, atomically
    local cut = text:match("^(.*\n)") or ""
    fs.write_file(path, cut)
  end
  M.check_columns(path, header, columns)
  self.header = header
  for _, r in ipairs(rows) do self:_remember(r) end
  return self
end

function Store:_remember(row)
  self.list[#self.list + 1] = row
  if row.key then self.done[row.key] = row end
end

-- The caller's row is left as it is (numbers stay numbers); the store keeps
-- the row as it will read back from the file: strings, "" for absent values.
function Store:append(row)
  local values, kept = {}, {}
  for k, v in pairs(row) do kept[k] = v end
  for i, c in ipairs(self.header) do
    local v = row[c]
    if type(v) == "number" then v = M.format_number(v) end
    values[i] = v
    kept[c] = v ~= nil and tostring(v):gsub("[\r\n]", " ") or ""
  end
  fs.append_line(self.path, M.csv_line(values, #self.header))
  self:_remember(kept)
end

function Store:rows() return dedupe(self.list) end

-- Numbers in a stable, short, round-trippable-enough form.
function M.format_number(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
  if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
  return string.format("%.6g", v)
end

-- Rows from a path (CSV file or results directory), a run summary ({rows=}) or rows.
function M.load(src)
  if type(src) == "table" then return src.rows or src end
  if type(src) ~= "string" then error("results: expected a path or rows, got " .. type(src), 2) end
  local text = read_all(src)
  if not text then text = read_all(src .. "/results.csv"); src = src .. "/results.csv" end
  if not text then error(src .. ": cannot read results", 2) end
  local _, rows = to_rows(src, text)
  return dedupe(rows)
end

return M
