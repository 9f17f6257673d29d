-- mto.check — a sweep's whole grid and results location checked before the first
-- point trains (an unknown template, eval.max_len = 1e9, dropout = 0 on an axis or an
-- unwritable results.csv used to fail only after earlier points had trained).
--
--   require("mto.check").sweep(sw, dir, points, store_path)   -- raises naming the problem
local mto = require "mto"

local M = {}

local function int_in(v, lo, hi) return math.type(v) == "integer" and v >= lo and v <= hi end

local function describe(p)
  return string.format("task=%s model=%s template=%s shots=%s seed=%s", tostring(p.task), tostring(p.model),
                       tostring(p.template), tostring(p.shots), tostring(p.seed))
end

function M.sweep(sw, dir, points, store_path)
  sw.cache = sw.cache or {}
  -- templates (not "auto": mto.match picks it) and readers exist
  for _, t in ipairs(sw.templates) do
    if t.value ~= "auto" then
      local ok, e = pcall(sw._template, sw, t.name)
      if not ok then
        error(string.format("sweep: template '%s': %s", t.name, (tostring(e):gsub("^[^:%s]+%.lua:%d+: ", ""))), 0)
      end
    end
  end
  local readers = {}
  for _, p in ipairs(mto.plugins()) do if p.kind == "reader" then readers[p.name] = true end end
  for _, t in ipairs(sw.tasks) do
    local r = type(t.value) == "table" and (t.value.reader or "atomic")
    if type(r) == "string" and not readers[r] then
      error(string.format("sweep: task '%s': no reader plugin named '%s'", t.name, r), 0)
    end
  end
  -- eval options
  local e = sw.eval
  if not int_in(e.max_len, 1, 100000) then
    error("sweep: eval.max_len must be an integer 1..100000, got " .. tostring(e.max_len), 0)
  end
  if not int_in(e.beams, 1, 1000) then error("sweep: eval.beams must be an integer 1..1000, got " .. tostring(e.beams), 0) end
  if not int_in(e.batch_size, 1, 1 << 30) then
    error("sweep: eval.batch_size must be a positive integer, got " .. tostring(e.batch_size), 0)
  end
  -- every point's training options, as m:train will see them
  local seen = {}
  local canon = require("mto.key").canon
  for _, p in ipairs(points) do
    local opts = {}
    for _, k in ipairs(sw.option_names) do opts[k] = p[k] end
    if p.shots == "full" then for k, v in pairs(sw.spec.full or {}) do opts[k] = v end end
    local c = canon(opts) .. p.method .. (p.shots == "full" and "/full" or "")
    require("mto.sweep").training_state(opts, p, dir) -- the training state, as _run_point sets it
    if not seen[c] then
      seen[c] = true
      -- unknown keys only for finetune (other methods may take options of their own)
      local ok, err = pcall(mto._check_train_opts, opts, p.method == "finetune")
      if not ok then error(string.format("sweep: point %s: %s", describe(p), tostring(err)), 0) end
    end
  end
  -- the results location
  if store_path then
    local f, err = io.open(store_path, "a")
    if not f then error("sweep: cannot write results: " .. tostring(err), 0) end
    f:close()
  end
  local probe = dir .. "/predictions/.probe-" .. mto._getpid()
  local f, err = io.open(probe, "w")
  if not f then error("sweep: cannot write predictions: " .. tostring(err), 0) end
  f:close()
  os.remove(probe)
end

return M
