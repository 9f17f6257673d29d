-- mto.progress — what a sweep shows while it trains, on stderr: a one-line bar
-- per point on a terminal (step, smoothed loss, ETA), plain periodic lines otherwise,
-- nothing but errors when quiet.
--
--   local P = require "mto.progress"
--   local p = P.new{quiet = false}       -- tty detected with mto._isatty(2)
--   local cb = p:start("[3/16] xIntent mapping 30 s1")   -- a m:train progress function
--   p:finish("rouge_l 0.231, 120 steps, 4.2 s");  p:note("skipped 4 finished points")
local mto = require "mto"

local M = {}
local P = {}
P.__index = P

function M.new(opts)
  opts = opts or {}
  local tty = opts.tty
  if tty == nil then tty = mto._isatty(2) end
  return setmetatable({quiet = opts.quiet, tty = tty, out = opts.out or io.stderr}, P)
end

local function clock(s)
  s = math.max(0, math.floor(s + 0.5))
  if s >= 3600 then return string.format("%dh%02dm", s // 3600, s % 3600 // 60) end
  if s >= 60 then return string.format("%dm%02ds", s // 60, s % 60) end
  return s .. "s"
end
M.clock = clock

function P:start(label)
  self.label, self.shown = label, false
  if self.quiet then return nil end
  local out, tty, every, last, avg = self.out, self.tty, nil, -1, nil
  return function(step, total, loss, elapsed)
    avg = avg and 0.9 * avg + 0.1 * loss or loss -- smoothed: a single batch's loss is noisy
    local eta = step > 0 and elapsed / step * math.max(0, total - step) or 0
    if tty then
      if elapsed - last < 0.1 and step < total then return end -- at most ~10 redraws a second
      last = elapsed
      local w = 20
      local fill = total > 0 and math.min(w, math.floor(w * step / total)) or 0
      out:write(string.format("\r%s [%s%s] %d/%d loss %.4f ETA %s\27[K", label, string.rep("#", fill),
                              string.rep("-", w - fill), step, total, avg, clock(eta)))
      self.shown = true
    else
      every = every or math.max(1, total // 4)
      if step == 1 or step % every == 0 or step == total then
        out:write(string.format("%s step %d/%d loss %.4f elapsed %s ETA %s\n", label, step, total, avg,
                                clock(elapsed), clock(eta)))
      end
    end
    out:flush()
  end
end

function P:finish(msg)
  if self.quiet then return end
  if self.tty and self.shown then self.out:write("\r\27[K") end
  self.out:write(string.format("%s %s\n", self.label or "", msg))
  self.out:flush()
end

function P:note(msg)
  if self.quiet then return end
  self.out:write(msg, "\n")
  self.out:flush()
end

return M
