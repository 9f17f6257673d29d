-- mto.key — what makes a sweep point's resume key cover its whole configuration, and
-- the spec fingerprint a results directory records.
--
--   K.canon(v) -> a canonical string of any Lua value (tables with sorted keys, floats
--                 exact, file paths as given)
--   K.file(path) -> "size:mtime:hash" of a regular file (the content hash is cached per
--                   process by path, size and mtime)
--   K.checkpoint(path) -> the identity of a checkpoint file or HF directory (its .json,
--                         .safetensors and .model files)
--   K.hash(s) -> 16 hex digits
--   K.check_spec(dir, record, opts) -- compare with (or write) DIR/sweep.spec
local mto = require "mto"
local fs = require "mto.fs"

local M = {}

function M.hash(s) return mto._hash(s) end

local function sorted(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return ks
end

function M.canon(v, seen)
  local t = type(v)
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v ~= v then return "nan" end
    for d = 15, 16 do -- the shortest form that reads back exactly
      local t = string.format("%." .. d .. "g", v)
      if tonumber(t) == v then return t end
    end
    return string.format("%.17g", v)
  elseif t == "string" then return string.format("%q", v)
  elseif t == "boolean" or t == "nil" then return tostring(v)
  elseif t == "table" then
    seen = seen or {}
    if seen[v] then error("key: a table that contains itself cannot be part of a sweep's configuration", 0) end
    seen[v] = true
    local out = {}
    for _, k in ipairs(sorted(v)) do out[#out + 1] = M.canon(k, seen) .. "=" .. M.canon(v[k], seen) end
    seen[v] = nil
    return "{" .. table.concat(out, ",") .. "}"
  elseif t == "userdata" then
    -- a model object: its parameters and config; another object (a template): what it
    -- says about itself, not its address
    local okh, h = pcall(mto._model_hash, v)
    local ok, cfg = pcall(function() return v.config end)
    if okh then return "model:" .. h .. (ok and type(cfg) == "table" and M.canon(cfg, seen) or "") end
    if ok and type(cfg) == "table" then return "userdata" .. M.canon(cfg, seen) end
    local name
    ok, name = pcall(function() return v.name end)
    if ok and name ~= nil then return "userdata:" .. tostring(name) end
    return "userdata"
  end
  return t -- functions: only their presence counts
end

local cache = {}

-- "size:mtime:hash" of a regular file; raises naming the file when it cannot be read.
function M.file(path)
  local id, err = mto._file_id(path)
  if not id then error("sweep: " .. err, 0) end
  if id.type ~= "file" then
    error(string.format("sweep: %s: %s", path, id.type == "directory" and "is a directory" or "not a regular file"), 0)
  end
  local ck = string.format("%s\0%d\0%d\0%d\0%d", path, id.size, id.mtime, id.dev, id.ino)
  local h = cache[ck]
  if not h then
    h, err = mto._hash_file(path)
    if not h then error("sweep: " .. err, 0) end
    cache[ck] = h
  end
  return string.format("%d:%d:%s", id.size, id.mtime, h)
end

function M.checkpoint(path)
  local id, err = mto._file_id(path)
  if not id then error("sweep: model " .. err, 0) end
  if id.type ~= "directory" then return M.file(path) end
  local parts, any = {}, false
  for _, name in ipairs(fs.listdir(path) or {}) do
    if name:match("%.json$") or name:match("%.safetensors$") or name:match("%.model$") then
      local fid = mto._file_id(path .. "/" .. name)
      if fid and fid.type == "file" then
        parts[#parts + 1] = name .. "=" .. M.file(path .. "/" .. name)
        any = any or not name:match("%.json$")
      end
    end
  end
  if not any then -- a PyTorch-only directory: its .bin files
    for _, name in ipairs(fs.listdir(path) or {}) do
      if name:match("%.bin$") then parts[#parts + 1] = name .. "=" .. M.file(path .. "/" .. name) end
    end
  end
  return "dir{" .. table.concat(parts, ",") .. "}"
end

-- ---- a sweep's fingerprints ---------------------------------------------------------

-- control characters out of names that go into sweep.spec lines
local function clean(s) return (tostring(s):gsub("%c", function(c) return string.format("\\%03d", c:byte()) end)) end

local function task_fp(t)
  if type(t) ~= "table" then return M.hash(M.canon(t)) end
  local c = {}
  for k, v in pairs(t) do
    if (k == "train" or k == "valid" or k == "test") and type(v) == "string" then c[k] = {file = M.file(v)}
    else c[k] = v end
  end
  return M.hash(M.canon(c))
end

local function model_fp(v)
  if type(v) ~= "table" then return M.hash(M.canon(v)) end
  local c = {}
  for k, x in pairs(v) do
    if k == "path" and type(x) == "string" then c.path = {checkpoint = M.checkpoint(x)}
    elseif k == "tokenizer" and type(x) == "string" then c.tokenizer = {file = M.file(x)}
    else c[k] = x end
  end
  return M.hash(M.canon(c))
end

-- Fingerprints of the sweep's named entries and of its settings, once per sweep object.
function M.fingerprints(sw)
  if sw._fp then return sw._fp end
  local fp = {tasks = {}, models = {}, templates = {}}
  for _, t in ipairs(sw.tasks) do fp.tasks[t.name] = task_fp(t.value) end
  for _, m in ipairs(sw.models) do fp.models[m.name] = model_fp(m.value) end
  for _, t in ipairs(sw.templates) do fp.templates[t.name] = M.hash(M.canon(t.value)) end
  local spec = sw.spec
  local tok = spec.tokenizer
  fp.tokenizer = type(tok) == "string" and M.file(tok) or M.canon(tok)
  fp.fewshot = M.canon(spec.fewshot or {})
  fp.full = M.canon(spec.full or {})
  fp.match = M.canon(spec.match or {})
  sw._fp = fp
  return fp
end

-- The hash of everything about point p that its readable key part does not spell out
-- (and, exactly, what it does): task, model and template definitions with their
-- files' identities, tokenizer, few-shot, full-data and match settings, options.
function M.point(sw, p)
  local fp = M.fingerprints(sw)
  local c = {task = fp.tasks[p.task], model = fp.models[p.model], template = fp.templates[p.template],
             tokenizer = fp.tokenizer, fewshot = fp.fewshot, shots = p.shots, method = p.method, tails = p.tails,
             full = p.shots == "full" and fp.full or nil,
             match = sw.templates and (function()
               for _, t in ipairs(sw.templates) do if t.name == p.template and t.value == "auto" then return fp.match end end
             end)() or nil,
             train = {}, eval = {}}
  for _, k in ipairs(sw.option_names) do c.train[k] = p[k] end
  for k, v in pairs(sw.eval) do c.eval[k] = v end
  return M.hash(M.canon(c))
end

-- What DIR/sweep.spec records: settings that are not axes (base), and every axis's
-- values with their fingerprints.
function M.record(sw)
  local fp = M.fingerprints(sw)
  local rec = {base = {tokenizer = fp.tokenizer, fewshot = fp.fewshot, full = fp.full, match = fp.match},
               axes = {tasks = {}, models = {}, templates = {}, shots = {}, seeds = {}, methods = {}}}
  local axis = {}
  for _, a in ipairs(sw.axes) do
    axis[a.name] = true
    rec.axes["axes." .. a.name] = {}
    for _, v in ipairs(a.values) do rec.axes["axes." .. a.name][clean(M.canon(v))] = "1" end
  end
  for k, v in pairs(sw.train) do if not axis[k] then rec.base["train." .. k] = clean(M.canon(v)) end end
  for k, v in pairs(sw.eval) do rec.base["eval." .. k] = clean(M.canon(v)) end
  for n, h in pairs(fp.tasks) do rec.axes.tasks[clean(n)] = h end
  for n, h in pairs(fp.models) do rec.axes.models[clean(n)] = h end
  for n, h in pairs(fp.templates) do rec.axes.templates[clean(n)] = h end
  for _, v in ipairs(sw.shots) do rec.axes.shots[clean(M.canon(v))] = "1" end
  for _, v in ipairs(sw.seeds) do rec.axes.seeds[clean(M.canon(v))] = "1" end
  for _, v in ipairs(sw.methods) do rec.axes.methods[clean(v)] = "1" end
  for k, v in pairs(rec.base) do rec.base[k] = clean(v) end
  return rec
end

-- ---- the spec a results directory records -------------------------------------------

-- record: {base = {name = canon}, axes = {axis = {value-name = fingerprint}}}
local function serialise(rec)
  local out = {"mto-sweep-spec 1"}
  for _, k in ipairs(sorted(rec.base)) do out[#out + 1] = "base\t" .. k .. "\t" .. rec.base[k] end
  for _, a in ipairs(sorted(rec.axes)) do
    for _, v in ipairs(sorted(rec.axes[a])) do out[#out + 1] = "axis\t" .. a .. "\t" .. v .. "\t" .. rec.axes[a][v] end
  end
  return table.concat(out, "\n") .. "\n"
end

local function parse(text, path)
  local rec = {base = {}, axes = {}}
  local first = true
  for line in text:gmatch("[^\n]+") do
    if first then
      if line ~= "mto-sweep-spec 1" then error(path .. ": not a sweep spec (first line '" .. line .. "')", 0) end
      first = false
    else
      local kind, a, b, c = line:match("^(%a+)\t([^\t]*)\t([^\t]*)\t?(.*)$")
      if kind == "base" then rec.base[a] = b
      elseif kind == "axis" then rec.axes[a] = rec.axes[a] or {}; rec.axes[a][b] = c
      else error(path .. ": bad line '" .. line .. "'", 0) end
    end
  end
  return rec
end

local function short(s)
  s = tostring(s)
  if #s > 60 then return s:sub(1, 57) .. "..." end
  return s
end

-- Compare the sweep's record with DIR/sweep.spec. A missing file is written (after a
-- check that the directory holds no results of an older mto); a differing base or a
-- changed axis value is an error; new axis values need opts.extend (then the file is
-- rewritten with the union). has_rows: whether results already exist. write: whether
-- this process may write the file.
function M.check_spec(dir, rec, opts, has_rows, write)
  local path = dir .. "/sweep.spec"
  local f = io.open(path, "rb")
  if not f then
    if has_rows then
      error(string.format("%s: results without a sweep.spec (written by an older mto, whose resume keys " ..
                          "did not cover the whole configuration); use a new results directory", dir), 0)
    end
    if write then fs.write_file(path, serialise(rec)) end
    return
  end
  local old = parse(f:read("a"), path)
  f:close()
  local changed, added = {}, {}
  for k, v in pairs(old.base) do
    local axis = k:match("^train%.(.+)$")
    if rec.base[k] == nil and axis and rec.axes["axes." .. axis] and rec.axes["axes." .. axis][v] then
      -- a training option became an axis that keeps its old value: an extension
      added[#added + 1] = "train." .. axis .. " as an axis"
    elseif rec.base[k] ~= v then
      changed[#changed + 1] = string.format("%s %s -> %s", k, short(v), short(rec.base[k] or "(unset)"))
    end
  end
  for k, v in pairs(rec.base) do
    if old.base[k] == nil then changed[#changed + 1] = string.format("%s (unset) -> %s", k, short(v)) end
  end
  for a, vals in pairs(rec.axes) do
    for v, fp in pairs(vals) do
      local was = old.axes[a] and old.axes[a][v]
      local opt = not old.axes[a] and a:match("^axes%.(.+)$")
      if was == nil and not (opt and old.base["train." .. opt] == v) then
        added[#added + 1] = a .. " " .. v
      elseif was ~= nil and was ~= fp then
        changed[#changed + 1] = string.format("%s '%s' changed (its definition, files or checkpoint)", a, v)
      end
    end
  end
  table.sort(changed)
  table.sort(added)
  if #changed > 0 then
    error(string.format("%s holds results of a different sweep: %s; use a new results directory", dir,
                        table.concat(changed, ", ")), 0)
  end
  if #added > 0 then
    if not opts.extend then
      error(string.format("%s: this sweep adds %s to the one recorded in %s; pass run{extend = true} to " ..
                          "add them to this directory, or use a new one", dir, table.concat(added, ", "), path), 0)
    end
    for a, vals in pairs(rec.axes) do
      old.axes[a] = old.axes[a] or {}
      for v, fp in pairs(vals) do old.axes[a][v] = fp end
    end
    for k, v in pairs(rec.base) do old.base[k] = v end
    for k in pairs(old.base) do if rec.base[k] == nil then old.base[k] = nil end end
    if write then fs.write_file(path, serialise(old)) end
  end
end

return M
