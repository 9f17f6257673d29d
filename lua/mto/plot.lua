-- mto.plot — metric vs number of shots, one line per template, error bars over
-- seeds, as a PNG through gnuplot. Without gnuplot: a clear note, never an error.
--
--   local png, note = mto.plot{results = "out/", value = "rouge_l", x = "shots",
--                              lines = "template", where = {method = "finetune"},
--                              out = "out/rouge_l.png", title = "xIntent"}
-- Non-numeric x values (shots = "full") are left out of the line plot (noted).
-- Returns the PNG path, or nil and the note.
local results = require "mto.results"
local tbl = require "mto.table"

local M = {}

local function note(spec, msg)
  if not spec.quiet then io.stderr:write("mto.plot: ", msg, "\n") end
  return nil, msg
end

--- true when a gnuplot executable is on PATH (figures are written only then).
local function have_gnuplot()
  local p = io.popen("command -v gnuplot 2>/dev/null")
  if not p then return false end
  local s = p:read("a") or ""
  p:close()
  return s:match("%S") ~= nil
end
M.have_gnuplot = have_gnuplot

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

function M.plot(spec)
  if type(spec) ~= "table" then error("mto.plot: expected a table", 2) end
  local value, xcol, lcol = spec.value or "rouge_l", spec.x or "shots", spec.lines or "template"
  local out = spec.out or ("plot-" .. value .. ".png")
  local ok, rows = pcall(results.load, spec.results)
  if not ok then return note(spec, tostring(rows)) end
  -- mean/std per (line, x)
  local lines, lorder, skipped = {}, {}, {}
  for _, r in ipairs(rows) do
    local keep = (not r.status or r.status == "ok") and tonumber(r[value]) ~= nil
    for k, v in pairs(spec.where or {}) do keep = keep and tostring(r[k]) == tostring(v) end
    if keep then
      local x = tonumber(r[xcol])
      if not x then skipped[tostring(r[xcol])] = true
      else
        local l = tostring(r[lcol])
        if not lines[l] then lines[l] = {}; lorder[#lorder + 1] = l end
        lines[l][x] = lines[l][x] or {}
        table.insert(lines[l][x], tonumber(r[value]))
      end
    end
  end
  if #lorder == 0 then return note(spec, "no numeric " .. xcol .. " / " .. value .. " values to plot") end
  local base = out:gsub("%.png$", "")
  local dat, allx = {}, {}
  for i, l in ipairs(lorder) do
    local xs = {}
    for x in pairs(lines[l]) do xs[#xs + 1] = x end
    table.sort(xs)
    dat[#dat + 1] = "# " .. l
    for _, x in ipairs(xs) do
      allx[x] = true
      local mean, std = tbl.mean_std(lines[l][x])
      dat[#dat + 1] = string.format("%.10g %.10g %.10g", x, mean, std)
    end
    if i < #lorder then dat[#dat + 1] = ""; dat[#dat + 1] = "" end -- gnuplot data blocks (index)
  end
  local f = io.open(base .. ".dat", "w")
  if not f then return note(spec, "cannot write " .. base .. ".dat") end
  f:write(table.concat(dat, "\n"), "\n")
  f:close()
  local tics = {}
  for x in pairs(allx) do tics[#tics + 1] = x end
  table.sort(tics)
  for i, x in ipairs(tics) do tics[i] = string.format("%.10g", x) end
  local plots = {}
  for i, l in ipairs(lorder) do
    plots[i] = string.format("%s index %d using 1:2:3 with yerrorlines title %s", quote(base .. ".dat"), i - 1,
                             quote(l):gsub('"', ""))
  end
  local script = table.concat({
    "set terminal pngcairo size 800,500 noenhanced",
    "set output " .. quote(out),
    "set title " .. quote(spec.title or (value .. " vs " .. xcol)),
    "set xlabel " .. quote(xcol),
    "set ylabel " .. quote(value),
    "set key outside right",
    "set grid",
    "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05", -- error bars at the ends stay visible
    "set xtics (" .. table.concat(tics, ", ") .. ")",
    "plot " .. table.concat(plots, ", "),
  }, "\n") .. "\n"
  f = io.open(base .. ".gp", "w")
  if not f then return note(spec, "cannot write " .. base .. ".gp") end
  f:write(script)
  f:close()
  local extra = next(skipped) and (" (non-numeric " .. xcol .. " left out)") or ""
  if not have_gnuplot() then
    return note(spec, "gnuplot not found: wrote " .. base .. ".dat and " .. base ..
                ".gp; install gnuplot and run `gnuplot " .. base .. ".gp` for the PNG" .. extra)
  end
  local okrun = os.execute("gnuplot " .. quote(base .. ".gp") .. " 2>/dev/null")
  if not okrun then
    -- pngcairo may be missing from a minimal gnuplot: fall back to the plain png terminal
    script = script:gsub("pngcairo", "png", 1)
    f = io.open(base .. ".gp", "w")
    f:write(script)
    f:close()
    okrun = os.execute("gnuplot " .. quote(base .. ".gp") .. " 2>/dev/null")
  end
  if not okrun then return note(spec, "gnuplot failed on " .. base .. ".gp; the data is in " .. base .. ".dat") end
  if extra ~= "" then note(spec, "wrote " .. out .. extra) end
  return out
end

return M
