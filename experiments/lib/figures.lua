-- figures.lua — the default study's figures as PNGs through gnuplot (DESIGN §6):
--   F.templates(rows, {out=, condition=, shots=, metric=})   templates x regimes, CI error bars
--   F.shots(rows, {out=, condition=, shots_list = {30, 60, "full"}, metric=})
--                                                           metric vs shots, one line per template,
--                                                           one panel per regime, over the relations
--                                                           measured at every shot setting
-- Each value is the mean over the three relations of one unit (replicate x seed),
-- and the bars are the 95% t CI over units. Writes OUT.dat and OUT.gp next to the
-- PNG; without gnuplot returns nil and a note (never an error).
local St = require "mto.stats"
local world = require "world"
local S = require "study"

local F = {}

local have_gnuplot = require("mto.plot").have_gnuplot

-- unit values: mean over relations of rows of (model, template) per (replicate, seed)
local function units(rows, o, model, tpl, shots, tasks)
  tasks = tasks or world.STUDY
  local by, order = {}, {}
  for _, r in ipairs(S.select_rows(rows, {shots = shots, condition = o.condition, method = "finetune", model = model})) do
    if r.template == tpl and tonumber(r[o.metric]) then
      local u = tostring(r.replicate) .. "/" .. tostring(r.seed)
      if not by[u] then by[u] = {}; order[#order + 1] = u end
      by[u][r.task] = tonumber(r[o.metric])
    end
  end
  local xs = {}
  for _, u in ipairs(order) do
    local s, n = 0, 0
    for _, t in ipairs(tasks) do if by[u][t] then s, n = s + by[u][t], n + 1 end end
    if n == #tasks then xs[#xs + 1] = s / n end
  end
  return St.mean_ci(xs)
end

local function run(base, script, dat)
  local f = assert(io.open(base .. ".dat", "w"))
  f:write(dat)
  f:close()
  f = assert(io.open(base .. ".gp", "w"))
  f:write(script)
  f:close()
  if not have_gnuplot() then return nil, "gnuplot not found: wrote " .. base .. ".gp (install gnuplot-nox)" end
  if not os.execute("gnuplot '" .. base .. ".gp' 2>/dev/null") then
    f = assert(io.open(base .. ".gp", "w"))
    f:write((script:gsub("pngcairo", "png", 1)))
    f:close()
    if not os.execute("gnuplot '" .. base .. ".gp' 2>/dev/null") then return nil, "gnuplot failed on " .. base .. ".gp" end
  end
  return base .. ".png"
end

local function ci(r) return r.mean, r.lo or r.mean, r.hi or r.mean end

function F.templates(rows, o)
  local base = o.out:gsub("%.png$", "")
  local tpls = S.TRIPLE_TEMPLATES
  local dat = {}
  for i, tpl in ipairs(tpls) do
    dat[#dat + 1] = "# " .. tpl
    for k, m in ipairs(S.REGIMES) do
      local r = units(rows, o, m, tpl, o.shots)
      if r.mean then
        dat[#dat + 1] = string.format("%.3f %.6f %.6f %.6f", k + (i - 2.5) * 0.17, ci(r))
      end
    end
    dat[#dat + 1] = "\n"
  end
  local plots = {}
  for i, tpl in ipairs(tpls) do
    plots[i] = string.format("'%s.dat' index %d using 1:2:3:4 with yerrorbars pt 7 ps 1 lw 2 title '%s'", base, i - 1, tpl)
  end
  local script = table.concat({
    "set terminal pngcairo size 640,360 font ',9' noenhanced",
    "set output '" .. base .. ".png'",
    "set title '" .. (o.title or "") .. "'",
    "set ylabel '" .. o.metric .. " (mean of 3 relations, 95% CI)'",
    "set xrange [0.4:3.6]",
    "set yrange [0:*]",
    "set xtics ('v1_1' 1, 'lm_adapt' 2, 't5' 3)",
    "set key outside right",
    "set grid ytics",
    "plot " .. table.concat(plots, ", "),
  }, "\n") .. "\n"
  return run(base, script, table.concat(dat, "\n") .. "\n")
end

function F.shots(rows, o)
  local base = o.out:gsub("%.png$", "")
  local tpls = S.TRIPLE_TEMPLATES
  -- the relations measured at every shot setting (a larger shot count runs only
  -- where a relation has more training heads than that)
  local tasks = {}
  for _, t in ipairs(world.STUDY) do
    local all = true
    for _, sh in ipairs(o.shots_list) do
      all = all and #S.select_rows(rows, {shots = sh, condition = o.condition, method = "finetune", task = t}) > 0
    end
    if all then tasks[#tasks + 1] = t end
  end
  if #tasks == 0 then return nil, "no relation measured at every shot setting" end
  local dat, idx = {}, 0
  local index = {}
  for _, m in ipairs(S.REGIMES) do
    for i, tpl in ipairs(tpls) do
      dat[#dat + 1] = "# " .. m .. " " .. tpl
      for k, sh in ipairs(o.shots_list) do
        local r = units(rows, o, m, tpl, sh, tasks)
        if r.mean then dat[#dat + 1] = string.format("%.3f %.6f %.6f %.6f", k + (i - 2.5) * 0.05, ci(r)) end
      end
      dat[#dat + 1] = "\n"
      index[m .. tpl] = idx
      idx = idx + 1
    end
  end
  local labels = {}
  for k, sh in ipairs(o.shots_list) do labels[k] = string.format("'%s' %d", tostring(sh), k) end
  local lines = {
    "set terminal pngcairo size 900,320 font ',9' noenhanced",
    "set output '" .. base .. ".png'",
    "set multiplot layout 1,3 title '" .. (o.title or "") .. " — " .. table.concat(tasks, ", ") .. "'",
    "set xrange [0.7:" .. (#o.shots_list + 0.3) .. "]",
    "set yrange [0:1]",
    "set xtics (" .. table.concat(labels, ", ") .. ")",
    "set xlabel 'shots'",
    "set grid ytics",
    "set key bottom right",
  }
  for j, m in ipairs(S.REGIMES) do
    local plots = {}
    for i, tpl in ipairs(tpls) do
      plots[i] = string.format("'%s.dat' index %d using 1:2:3:4 with yerrorlines pt 7 ps 0.8 lw 2 title '%s'", base,
                               index[m .. tpl], tpl)
    end
    lines[#lines + 1] = "set title '" .. m .. "'"
    if j == 1 then
      lines[#lines + 1] = "set ylabel '" .. o.metric .. (#tasks > 1 and " (mean of " .. #tasks .. " relations)'" or "'")
    else lines[#lines + 1] = "unset ylabel"; lines[#lines + 1] = "unset key" end
    lines[#lines + 1] = "plot " .. table.concat(plots, ", ")
  end
  lines[#lines + 1] = "unset multiplot"
  return run(base, table.concat(lines, "\n") .. "\n", table.concat(dat, "\n") .. "\n")
end

return F
