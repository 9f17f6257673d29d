-- mto.progress — what a sweep shows while it trains, on stderr.
--
--   terminal:      one live line per worker (the point, its step and smoothed loss,
--                  elapsed time, the ETA of the point, of the phase and, with
--                  progress.plan{points = N}, of the whole run), redrawn in place;
--                  each finished point leaves one line above them.
--   not a terminal (a log file, CI, Slurm): one line per finished point, plus a
--                  "progress:" heartbeat line at most every 30 s (heartbeat = S).
--   verbose:       per-step lines as well (step 1, every quarter, the last).
--   quiet:         nothing but errors.
-- Notes (warnings) and the lines of finished points are whole lines written between
-- redraws, so they never interleave with the live lines. Local workers
-- (sweep:run{workers = N}) never write to the terminal: each writes its status and
-- finished lines to files the parent's progress object draws from (P:watch).
--
--   local P = require "mto.progress"
--   local p = P.new{quiet = false, points = 16}  -- tty detected with mto._isatty(2)
--   local cb = p:start("[3/16] xIntent mapping 30 s1")   -- a m:train progress function
--   p:finish("rouge_l 0.231, 120 steps, 4.2 s");  p:note("skipped 4 finished points")
--   P.plan{points = 400}   -- the whole run's point count (several sweeps): run ETA
local mto = require "mto"
local fs = require "mto.fs"

local M = {}
local P = {}
P.__index = P

local function clock(s)
  s = math.max(0, math.floor(s + 0.5))
  if s >= 3600 then return string.format("%dh%02dm", s // 3600, s % 3600 // 60) end
  if s >= 60 then return string.format("%dm%02ds", s // 60, s % 60) end
  return s .. "s"
end
M.clock = clock

-- The whole run, across sweep:run calls in this process (set by the script).
M.run = nil
function M.plan(o)
  M.run = {points = assert(math.tointeger(o.points), "progress.plan: points = N"), done = o.done or 0,
           start = fs.clock()}
  return M.run
end

-- opts: quiet, tty (default: stderr is a terminal), out, verbose, heartbeat (seconds,
-- default 30), points (the phase's point count), width (default $COLUMNS or 100),
-- worker = {status = PATH, log = PATH} (a worker process: write there, not to out).
function M.new(opts)
  opts = opts or {}
  local tty = opts.tty
  if tty == nil then tty = mto._isatty(2) end
  local verbose = opts.verbose
  if verbose == nil then verbose = (os.getenv("MTO_VERBOSE") or "") ~= "" and os.getenv("MTO_VERBOSE") ~= "0" end
  return setmetatable({quiet = opts.quiet, tty = tty, out = opts.out or io.stderr, verbose = verbose,
                       heartbeat = opts.heartbeat or 30, points = opts.points or 0, done = 0,
                       worker = opts.worker, t0 = fs.clock(), last_out = fs.clock(), drawn = 0,
                       width = opts.width or math.tointeger(tonumber(os.getenv("COLUMNS") or "")) or 100,
                       live = {}}, P)
end

-- ---- drawing -------------------------------------------------------------------

function P:_fit(s)
  local w = math.max(20, self.width - 1)
  return #s > w and s:sub(1, w - 1) .. "~" or s
end

function P:_clear()
  if self.drawn > 0 then
    self.out:write("\r" .. (self.drawn > 1 and string.format("\27[%dA", self.drawn - 1) or "") .. "\27[J")
    self.drawn = 0
  end
end

-- Redraw the live lines in place (terminal only).
function P:_draw(lines)
  local buf = {}
  if self.drawn > 0 then buf[1] = "\r" .. (self.drawn > 1 and string.format("\27[%dA", self.drawn - 1) or "") end
  for i, l in ipairs(lines) do buf[#buf + 1] = self:_fit(l) .. "\27[K" .. (i < #lines and "\n" or "") end
  buf[#buf + 1] = "\27[J"
  self.out:write(table.concat(buf))
  self.out:flush()
  self.drawn = #lines
end

-- One whole line (a finished point, a note, a heartbeat), above the live lines.
function P:_line(s)
  if self.tty then self:_clear() end
  self.out:write(s, "\n")
  if self.tty and self.lines then self:_draw(self.lines) end
  self.out:flush()
  self.last_out = fs.clock()
end

-- ETA text of the phase and the run: finished points plus frac, the fractions
-- done of the running ones.
function P:_etas(frac)
  local now = fs.clock()
  local t = {}
  local units = self.done + frac
  if self.points > 0 then
    local el = now - self.t0
    local eta = units > 0 and el / units * math.max(0, self.points - units) or nil
    t[#t + 1] = string.format("phase %d/%d %s ETA %s", self.done, self.points, clock(el), eta and clock(eta) or "?")
  end
  local run = M.run
  if run and run.points > 0 then
    local ru = run.done + frac -- run.done counts this phase's finished points too
    local el = now - run.start
    local eta = ru > 0 and el / ru * math.max(0, run.points - ru) or nil
    t[#t + 1] = string.format("run %d/%d ETA %s", run.done, run.points, eta and clock(eta) or "?")
  end
  return table.concat(t, " | ")
end

local function point_text(st)
  local eta = st.step > 0 and st.elapsed / st.step * math.max(0, st.total - st.step) or 0
  return string.format("%s step %d/%d loss %.4f %s ETA %s", st.label, st.step, st.total, st.loss,
                       clock(st.elapsed), clock(eta))
end

-- A worker's line for the parent: kind F (a finished point) or N (anything else).
function P:_log(kind, line)
  local f = io.open(self.worker.log, "a")
  if f then f:write(kind, " ", line, "\n") f:close() end
end

-- ---- one process's points -----------------------------------------------------------

function P:start(label)
  self.label, self.cur = label, nil
  if self.quiet then return nil end
  local every, last, avg = nil, -1, nil
  return function(step, total, loss, elapsed)
    avg = avg and 0.9 * avg + 0.1 * loss or loss -- smoothed: a single batch's loss is noisy
    local st = {label = label, step = step, total = total, loss = avg, elapsed = elapsed}
    self.cur = st
    local now = fs.clock()
    if self.worker then -- the parent draws: a status file, rewritten at most twice a second
      if self.verbose then
        every = every or math.max(1, total // 4)
        if step == 1 or step % every == 0 or step == total then self:_log("N", point_text(st)) end
      end
      if now - last >= 0.5 or step == total then
        last = now
        local tmp = self.worker.status .. ".tmp"
        local f = io.open(tmp, "w")
        if f then
          f:write(string.format("%d\t%d\t%.9g\t%.3f\t%d\t%s\n", step, total, avg, elapsed, self.done, label))
          f:close()
          os.rename(tmp, self.worker.status)
        end
      end
      return
    end
    if self.verbose then
      every = every or math.max(1, total // 4)
      if step == 1 or step % every == 0 or step == total then self:_line(point_text(st)) end
      return
    end
    if self.tty then
      if now - last < 0.1 and step < total then return end -- at most ~10 redraws a second
      last = now
      local frac = total > 0 and math.min(1, step / total) or 0
      local etas = self:_etas(frac)
      self.lines = {point_text(st) .. (etas ~= "" and " | " .. etas or "")}
      self:_draw(self.lines)
    elseif now - self.last_out >= self.heartbeat then
      local frac = total > 0 and math.min(1, step / total) or 0
      local etas = self:_etas(frac)
      self:_line("progress: " .. point_text(st) .. (etas ~= "" and "; " .. etas or ""))
    end
  end
end

-- The point started by start() ended: one line.
function P:finish(msg)
  self.done = self.done + 1
  if M.run then M.run.done = M.run.done + 1 end
  if self.quiet then return end
  local line = string.format("%s %s", self.label or "", msg)
  if self.worker then
    self:_log("F", line)
    os.remove(self.worker.status)
    return
  end
  self.lines = nil
  self:_line(line)
end

function P:note(msg)
  if self.quiet then return end
  if self.worker then self:_log("N", msg) return end
  self:_line(msg)
end

-- ---- a parent watching worker processes ----------------------------------------------

-- ws: an array of {name =, status = PATH, log = PATH} (one per worker). Prints the lines
-- workers logged since the last call, then redraws the live lines (terminal) or writes
-- a heartbeat when none was written for `heartbeat` seconds. final: no live lines.
function P:watch(ws, final)
  if self.quiet then return end
  local units, live, parts = 0, {}, {}
  for _, w in ipairs(ws) do
    local f = io.open(w.log, "r")
    if f then
      f:seek("set", w.pos or 0)
      local text = f:read("a") or ""
      f:close()
      local upto = text:match("^.*\n") or ""
      w.pos = (w.pos or 0) + #upto
      for kind, line in upto:gmatch("(%u) ([^\n]*)\n") do
        if kind == "F" then
          self.done = self.done + 1
          if M.run then M.run.done = M.run.done + 1 end
        end
        self:_line(line)
      end
    end
    local st
    f = not final and io.open(w.status, "r")
    if f then
      local s = f:read("l")
      f:close()
      local step, total, loss, el, _, label = (s or ""):match("^(%d+)\t(%d+)\t(%S+)\t(%S+)\t(%d+)\t(.*)$")
      if step then
        st = {step = tonumber(step), total = tonumber(total), loss = tonumber(loss) or 0, elapsed = tonumber(el) or 0,
              label = label}
        units = units + (st.total > 0 and math.min(1, st.step / st.total) or 0)
      end
    end
    if st then
      live[#live + 1] = point_text(st)
      parts[#parts + 1] = string.format("%s step %d/%d", st.label, st.step, st.total)
    end
  end
  if final then
    if self.tty then self:_clear() end
    self.lines = nil
    return
  end
  local etas = self:_etas(units)
  if self.tty then
    live[#live + 1] = etas ~= "" and etas or string.format("%d points done", self.done)
    self.lines = live
    self:_draw(live)
  elseif fs.clock() - self.last_out >= self.heartbeat then
    if etas ~= "" then table.insert(parts, 1, etas) end
    self:_line("progress: " .. (#parts > 0 and table.concat(parts, "; ") or string.format("%d points done", self.done)))
  end
end

return M
