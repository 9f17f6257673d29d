-- mto.table — pivot sweep results: rows x cols, mean ± std over everything else
-- (normally the seeds), best cell of each row marked; markdown, CSV or LaTeX.
--
--   print(mto.table{results = "out/", rows = "template", cols = "shots", value = "rouge_l",
--                   where = {method = "finetune"}, by = {"model"}, format = "markdown",
--                   digits = 3, scale = 1, lower_is_better = false, over = {})
-- A cell averages rows that differ only in the seed (and the columns listed in over):
-- rows that differ in anything else are an error naming the difference.
-- Returns the text and the data ({{key=, rows=, cols=, cells=[r][c] = {mean,std,n,best}}, ...}).
-- Failed runs (status ~= "ok") are left out and counted in a note.
--
-- Gain tables, as the paper reports its results: each template's relative gain
-- over a baseline template (Mapping), in percent, per model (by) and relation
-- (cols), with the paired bootstrap 95% CI of mto.stats (the statistics the
-- default study uses) over the units both templates ran (on = {"replicate",
-- "seed"}: the same seed draws the same few-shot heads):
--
--   print(mto.table{results = "out/", rows = "template", cols = "task", value = "rouge_l_paper",
--                   by = {"model"}, where = {shots = 30, method = "finetune"},
--                   gain_over = "mapping", format = "markdown", digits = 3, reps = 2000, seed = 1})
--   -- the same: require("mto.table").gain{..., baseline = "mapping"}
--
-- Layout (markdown; csv is long, one line per cell; latex a tabular): templates as
-- rows with the baseline first, relations as columns, one block per model; a cell
-- is "mean (+gain% [lo, hi])", gain = 100 (mean T - mean Mapping) / mean Mapping
-- over the paired units, the baseline's cell its mean. Means are over all of a
-- template's runs; fewer than 2 paired units give the gain without an interval.
local results = require "mto.results"

local M = {}

local function mean_std(v)
  local n, s = #v, 0
  for _, x in ipairs(v) do s = s + x end
  local mean = s / n
  if n < 2 then return mean, 0, n end
  local q = 0
  for _, x in ipairs(v) do q = q + (x - mean) ^ 2 end
  return mean, math.sqrt(q / (n - 1)), n -- sample std, as the paper's tables
end
M.mean_std = mean_std

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return {v}
end

local function label(row, names)
  local parts = {}
  for i, c in ipairs(names) do parts[i] = tostring(row[c] or "") end
  return table.concat(parts, " / ")
end

local function matches(row, where)
  for k, v in pairs(where or {}) do
    if type(v) == "table" then
      local any = false
      for _, x in ipairs(v) do any = any or tostring(row[k]) == tostring(x) end
      if not any then return false end
    elseif tostring(row[k]) ~= tostring(v) then return false end
  end
  return true
end

-- A row's configuration without the columns a cell averages over (its key's parts
-- other than seed=; the fp= hash goes too when a task, model or template may vary).
local function key_parts(key)
  local out = {}
  for part in (key .. ";"):gmatch("([^;]*);") do out[#out + 1] = part end
  return out
end

local function signature(r, over)
  if not r.key then return nil end
  local keep = {}
  for _, part in ipairs(key_parts(r.key)) do
    local name = part:match("^([^=]*)=") or part
    if not over[name] and not (name == "fp" and (over.task or over.model or over.template)) then
      keep[#keep + 1] = part
    end
  end
  return table.concat(keep, ";")
end

-- The names in which two keys differ, with both values.
local function key_diff(a, b)
  local va, vb, out = {}, {}, {}
  for _, p in ipairs(key_parts(a)) do local k, v = p:match("^([^=]*)=(.*)$"); if k then va[k] = v end end
  for _, p in ipairs(key_parts(b)) do local k, v = p:match("^([^=]*)=(.*)$"); if k then vb[k] = v end end
  for k, v in pairs(va) do
    if vb[k] ~= v then out[#out + 1] = string.format("%s (%s vs %s)", k, v, tostring(vb[k])) end
  end
  for k, v in pairs(vb) do if va[k] == nil then out[#out + 1] = string.format("%s (unset vs %s)", k, v) end end
  table.sort(out)
  return table.concat(out, ", ")
end

-- Build the pivot data for one group of rows.
local function pivot(rows, spec)
  local rn, cn = as_list(spec.rows), as_list(spec.cols)
  local rlab, clab, rseen, cseen, vals = {}, {}, {}, {}, {}
  -- a cell is a mean over seeds (and the columns of spec.over): rows that differ in
  -- anything else must not be averaged together
  local over, sigs = {seed = true}, {}
  for _, c in ipairs(as_list(spec.over)) do over[c] = true end
  for _, c in ipairs(rn) do over[c] = true end
  for _, c in ipairs(cn) do over[c] = true end
  for _, r in ipairs(rows) do
    local x = tonumber(r[spec.value])
    if x then
      local a, b = label(r, rn), #cn > 0 and label(r, cn) or spec.value
      if not rseen[a] then rseen[a] = true; rlab[#rlab + 1] = a end
      if not cseen[b] then cseen[b] = true; clab[#clab + 1] = b end
      vals[a] = vals[a] or {}
      vals[a][b] = vals[a][b] or {}
      local sg = signature(r, over)
      if sg then
        local ck = a .. "\0" .. b
        local first = sigs[ck]
        if not first then sigs[ck] = {sig = sg, key = r.key}
        elseif first.sig ~= sg then
          error(string.format("mto.table: cell (%s, %s) would average rows that differ in more than the " ..
                              "seed: %s; add the column to rows, cols, by or where (or list it in over = {...})",
                              a, b, key_diff(first.key, r.key)), 0)
        end
      end
      table.insert(vals[a][b], x * (spec.scale or 1))
    end
  end
  local cells = {}
  for i, a in ipairs(rlab) do
    cells[i] = {}
    local best
    for j, b in ipairs(clab) do
      local v = vals[a][b]
      if v then
        local mean, std, n = mean_std(v)
        cells[i][j] = {mean = mean, std = std, n = n}
        if not best or (spec.lower_is_better and mean < best or not spec.lower_is_better and mean > best) then
          best = mean
        end
      end
    end
    for j = 1, #clab do
      local c = cells[i][j]
      if c and #clab > 1 and c.mean == best then c.best = true end
    end
  end
  return {rows = rlab, cols = clab, cells = cells, row_name = table.concat(rn, " / ")}
end

local function fmt(c, d)
  return string.format("%." .. d .. "f ± %." .. d .. "f", c.mean, c.std)
end

-- cell(c, digits) -> the text of one cell (default: mean ± std, the row's best in bold)
local function md_table(t, spec, title, cell)
  local d = spec.digits or 3
  cell = cell or function(c) return not c and "–" or c.best and "**" .. fmt(c, d) .. "**" or fmt(c, d) end
  local out = {}
  if title then out[#out + 1] = "### " .. title; out[#out + 1] = "" end
  local head = {t.row_name ~= "" and t.row_name or spec.value}
  for _, c in ipairs(t.cols) do head[#head + 1] = c end
  out[#out + 1] = "| " .. table.concat(head, " | ") .. " |"
  out[#out + 1] = "|" .. string.rep("---|", #head)
  for i, r in ipairs(t.rows) do
    local line = {r}
    for j = 1, #t.cols do line[#line + 1] = cell(t.cells[i][j], d) end
    out[#out + 1] = "| " .. table.concat(line, " | ") .. " |"
  end
  return table.concat(out, "\n") .. "\n"
end

local function markdown(t, spec, title) return md_table(t, spec, title) end

local function latex_escape(s) return (tostring(s):gsub("([_%%&#$])", "\\%1")) end

-- cell(c, digits) -> the text of one cell (default: mean $\pm$ std, the row's best in bold)
local function latex_table(t, spec, title, cell)
  local d = spec.digits or 3
  cell = cell or function(c)
    local s = c and string.format("%." .. d .. "f $\\pm$ %." .. d .. "f", c.mean, c.std) or "--"
    return c and c.best and "\\textbf{" .. s .. "}" or s
  end
  local out = {}
  if title then out[#out + 1] = "% " .. title end
  out[#out + 1] = "\\begin{tabular}{l" .. string.rep("r", #t.cols) .. "}"
  out[#out + 1] = "\\hline"
  local head = {latex_escape(t.row_name ~= "" and t.row_name or spec.value)}
  for _, c in ipairs(t.cols) do head[#head + 1] = latex_escape(c) end
  out[#out + 1] = table.concat(head, " & ") .. " \\\\"
  out[#out + 1] = "\\hline"
  for i, r in ipairs(t.rows) do
    local line = {latex_escape(r)}
    for j = 1, #t.cols do line[#line + 1] = cell(t.cells[i][j], d) end
    out[#out + 1] = table.concat(line, " & ") .. " \\\\"
  end
  out[#out + 1] = "\\hline"
  out[#out + 1] = "\\end{tabular}"
  return table.concat(out, "\n") .. "\n"
end

local function latex(t, spec, title) return latex_table(t, spec, title) end

-- Long CSV: one line per cell, so the numbers stay machine-readable.
local function csv(t, spec, title, first)
  local out = {}
  if first then out[1] = results.csv_line{"table", t.row_name ~= "" and t.row_name or "row", "col", "mean", "std", "n", "best"} end
  local d = (spec.digits or 3) + 3
  for i, r in ipairs(t.rows) do
    for j, c in ipairs(t.cols) do
      local cell = t.cells[i][j]
      if cell then
        out[#out + 1] = results.csv_line{title or "", r, c, string.format("%." .. d .. "f", cell.mean),
                                         string.format("%." .. d .. "f", cell.std), cell.n, cell.best and 1 or 0}
      end
    end
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

-- The rows a table uses (where; status ok) and how many failed runs it leaves out.
local function select_rows(spec, fn)
  local all = results.load(spec.results or error(fn .. ": results = is required", 3))
  local rows, failed = {}, 0
  for _, r in ipairs(all) do
    if matches(r, spec.where) then
      if r.status and r.status ~= "ok" then failed = failed + 1 else rows[#rows + 1] = r end
    end
  end
  return rows, failed
end

-- ---- gain tables ------------------------------------------------------------------

local function gain_data(rows, spec, base)
  local S = require "mto.stats"
  local rn, cn = as_list(spec.rows), as_list(spec.cols)
  local on = spec.on or {"replicate", "seed"}
  local rlab, clab, rseen, cseen, per_col = {}, {}, {}, {}, {}
  local rowkey = "(" .. table.concat(rn, " / ") .. ")" -- the row label, as a column of its own
  for _, r in ipairs(rows) do
    if tonumber(r[spec.value]) then
      local a, b = label(r, rn), #cn > 0 and label(r, cn) or spec.value
      if not rseen[a] then rseen[a] = true; rlab[#rlab + 1] = a end
      if not cseen[b] then cseen[b] = true; clab[#clab + 1] = b end
      local copy = {}
      for k, v in pairs(r) do copy[k] = v end
      copy[rowkey] = a
      per_col[b] = per_col[b] or {}
      table.insert(per_col[b], copy)
    end
  end
  -- the baseline first, the other rows in order of appearance
  local ordered = {}
  if rseen[base] then ordered[1] = base end
  for _, a in ipairs(rlab) do if a ~= base then ordered[#ordered + 1] = a end end
  local cells = {}
  for i = 1, #ordered do cells[i] = {} end
  for j, b in ipairs(clab) do
    local ok, p = pcall(S.pair, per_col[b], {by = rowkey, on = on, value = spec.value})
    if not ok then
      error(string.format("mto.table: gain: %s; narrow the rows with where = {...} so each (%s, %s) " ..
                          "has one run per unit (%s)", (tostring(p):gsub("^[^:]+:%d+: ", "")), table.concat(rn, "/"),
                          b, table.concat(on, ", ")), 0)
    end
    for i, a in ipairs(ordered) do
      local vals = {}
      for _, u in ipairs(p.units) do
        local x = p.values[a] and p.values[a][u]
        if x then vals[#vals + 1] = x * (spec.scale or 1) end
      end
      if #vals > 0 then
        local mean = 0
        for _, x in ipairs(vals) do mean = mean + x end
        local c = {mean = mean / #vals, n = #vals}
        if a == base then c.base = true
        elseif p.values[base] then
          local x, y = S.aligned(p, a, base)
          if #x > 0 then
            local g = S.gain(x, y, {reps = spec.reps, seed = spec.seed})
            c.gain, c.lo, c.hi, c.pairs = g.gain, g.lo, g.hi, #x
            c.na = g.gain == nil -- the baseline's mean over these units is 0
          end
        end
        cells[i][j] = c
      end
    end
  end
  return {rows = ordered, cols = clab, cells = cells, row_name = table.concat(rn, " / "), baseline = base}
end

local function pct(x) return string.format("%+.1f%%", x) end

local function gain_cell(c, d, latex_mode)
  if not c then return latex_mode and "--" or "–" end
  local m = string.format("%." .. d .. "f", c.mean)
  if c.base then return m .. " (base)" end
  if c.na then return m .. " (n/a)" end
  if not c.gain then return m end
  local g = pct(c.gain)
  if c.lo then g = g .. " [" .. pct(c.lo) .. ", " .. pct(c.hi) .. "]" end
  if latex_mode then g = g:gsub("%%", "\\%%") end
  return m .. " (" .. g .. ")"
end

local function gain_markdown(t, spec, title)
  return md_table(t, spec, title, gain_cell)
end

local function gain_latex(t, spec, title)
  return latex_table(t, spec, title, function(c, d) return gain_cell(c, d, true) end)
end

local function num(x, d) return x and string.format("%." .. d .. "f", x) or "" end

local function gain_csv(t, spec, title, first)
  local out = {}
  if first then
    out[1] = results.csv_line{"table", t.row_name ~= "" and t.row_name or "row", "col", "mean", "n", "baseline",
                              "gain_pct", "gain_lo", "gain_hi", "pairs"}
  end
  local d = (spec.digits or 3) + 3
  for i, r in ipairs(t.rows) do
    for j, c in ipairs(t.cols) do
      local cell = t.cells[i][j]
      if cell then
        out[#out + 1] = results.csv_line{title or "", r, c, num(cell.mean, d), cell.n, t.baseline,
                                         num(cell.gain, 4), num(cell.lo, 4), num(cell.hi, 4), cell.pairs or ""}
      end
    end
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

-- One table per distinct value of spec.by's columns (one table without by): build(group)
-- makes a table's data, renderers[spec.format] its text. Returns the texts, the data
-- (in order of first appearance) and the format. Errors are raised at the level of
-- the caller of M.make / M.gain.
local function by_groups(rows, spec, renderers, build)
  local by, groups, order = as_list(spec.by), {}, {}
  for _, r in ipairs(rows) do
    local k = #by > 0 and label(r, by) or ""
    if not groups[k] then groups[k] = {}; order[#order + 1] = k end
    table.insert(groups[k], r)
  end
  local format = spec.format or "markdown"
  local render = renderers[format]
  if not render then error("mto.table: unknown format '" .. tostring(format) .. "' (markdown, csv, latex)", 3) end
  local text, data = {}, {}
  for i, k in ipairs(order) do
    local t = build(groups[k])
    t.key = k
    data[#data + 1] = t
    local title = #by > 0 and (table.concat(by, " / ") .. " = " .. k) or spec.title
    text[#text + 1] = render(t, spec, title, i == 1)
  end
  return text, data, format
end

-- The gain table (see the top). spec as mto.table plus baseline (or gain_over),
-- on, reps, seed; returns the text and the data (cells[r][c] = {mean, n, gain, lo, hi, pairs, base}).
function M.gain(spec)
  if type(spec) ~= "table" then error("mto.table: expected a table", 2) end
  if not spec.value then error("mto.table: value = COLUMN is required", 2) end
  if not spec.rows then error("mto.table: rows = COLUMN is required", 2) end
  local base = spec.baseline or spec.gain_over
  if type(base) ~= "string" then error("mto.table: gain: baseline = TEMPLATE (e.g. \"mapping\") is required", 2) end
  local rows, failed = select_rows(spec, "mto.table")
  local text, data, format = by_groups(rows, spec, {markdown = gain_markdown, latex = gain_latex, csv = gain_csv},
                                       function(group) return gain_data(group, spec, base) end)
  local s = table.concat(text, format == "csv" and "" or "\n")
  local on = table.concat(spec.on or {"replicate", "seed"}, ", ")
  local na = false
  for _, t in ipairs(data) do
    for _, row in ipairs(t.cells) do for _, c in pairs(row) do na = na or c.na end end
  end
  na = na and "; n/a: the baseline's mean is 0" or ""
  if format == "markdown" then
    s = s .. string.format("\n%s: mean over runs (gain over %s in %%, paired by %s, bootstrap 95%% CI)%s%s.\n",
                           spec.value, base, on, na,
                           failed > 0 and string.format("; %d failed runs left out", failed) or "")
  elseif format == "latex" then
    s = s .. string.format("%% %s: mean (gain over %s in \\%%, paired by %s, bootstrap 95\\%% CI)%s%s\n", spec.value,
                           base, on, na, failed > 0 and string.format("; %d failed runs left out", failed) or "")
  end
  if #data == 0 then s = string.format("(no results for %s)\n", spec.value) end
  return s, data
end

function M.make(spec)
  if type(spec) ~= "table" then error("mto.table: expected a table", 2) end
  if spec.gain_over ~= nil or spec.baseline ~= nil then return M.gain(spec) end
  if not spec.value then error("mto.table: value = COLUMN is required", 2) end
  if not spec.rows then error("mto.table: rows = COLUMN is required", 2) end
  local rows, failed = select_rows(spec, "mto.table")
  local text, data, format = by_groups(rows, spec, {markdown = markdown, latex = latex, csv = csv},
                                       function(group) return pivot(group, spec) end)
  local sep = format == "csv" and "" or "\n"
  local s = table.concat(text, sep)
  if format == "markdown" then
    s = s .. string.format("\n%s: mean ± std over seeds%s; best in row in bold.\n", spec.value,
                           failed > 0 and string.format(" (%d failed runs left out)", failed) or "")
  elseif failed > 0 and format == "latex" then
    s = s .. string.format("%% %d failed runs left out\n", failed)
  end
  if #data == 0 then s = string.format("(no results for %s)\n", spec.value) end
  return s, data
end

return M
