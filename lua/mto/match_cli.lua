-- mto.match_cli — the `mto match` command line:
--
--   mto match --model DIR --task [NAME=]READER:PATH [--task ...] [--templates a,b,c]
--             [--n N] [--seed S] [--candidates K] [--threshold T] [--matcher scoring,rules]
--             [--rules FILE] [--tokenizer FILE] [--batch-size B] [--csv FILE] [--markdown FILE]
--
-- Prints the markdown tables (scores per task x template, then one recommendation
-- per task saying which matcher decided). M.main(args) returns the exit status:
-- 0 ok, 1 failure, 2 usage. Also runs as a script: mto run lua/mto/match_cli.lua ARGS.
local mto = require "mto"

local M = {}

M.USAGE = [[
usage: mto match --model DIR --task [NAME=]READER:PATH [--task ...] [options]
  --templates a,b,c   candidate templates (default mapping,masked_mapping,prompting,masked_prompting)
  --n N               examples per task (default 64)      --seed S          sampling seed (default 1)
  --candidates K      distractor tails per example (4)    --threshold T     MI threshold (0.3)
  --matcher a,b       matchers in order (default scoring) --rules FILE      table for the rules matcher
  --tokenizer FILE    spiece.model (default: the model directory's)
  --batch-size B      pairs per forward pass (32)
  --csv FILE          write the table as CSV              --markdown FILE   write the markdown too
]]

local function split(s)
  local out = {}
  for x in s:gmatch("[^,]+") do out[#out + 1] = x end
  return out
end

function M.parse(args)
  local o = {tasks = {}}
  local i = 1
  local function val(flag)
    i = i + 1
    if args[i] == nil then error("mto match: " .. flag .. " needs a value", 0) end
    return args[i]
  end
  local function int(flag)
    local v = math.tointeger(tonumber(val(flag)))
    if not v then error("mto match: " .. flag .. " needs an integer", 0) end
    return v
  end
  while args[i] do
    local a = args[i]
    if a == "--model" then o.model = val(a)
    elseif a == "--task" then
      local v = val(a)
      local name, rest = v:match("^([^=:]+)=(.+)$")
      local reader, path = (rest or v):match("^([%w_]+):(.+)$")
      if not reader then error("mto match: --task expects [NAME=]READER:PATH, got " .. v, 0) end
      o.tasks[#o.tasks + 1] = {name = name or path:match("([^/]+)$"):gsub("%.%w+$", ""), reader = reader, path = path}
    elseif a == "--templates" then o.templates = split(val(a))
    elseif a == "--n" then o.n = int(a)
    elseif a == "--seed" then o.seed = int(a)
    elseif a == "--candidates" then o.candidates = int(a)
    elseif a == "--batch-size" then o.batch_size = int(a)
    elseif a == "--threshold" then
      o.threshold = tonumber(val(a))
      if not o.threshold then error("mto match: --threshold needs a number", 0) end
    elseif a == "--matcher" then o.matcher = split(val(a))
    elseif a == "--rules" then o.matcher_opts = {rules = {table = val(a)}}
    elseif a == "--tokenizer" then o.tokenizer = val(a)
    elseif a == "--csv" then o.csv = val(a)
    elseif a == "--markdown" then o.markdown = val(a)
    elseif a == "--help" or a == "-h" then o.help = true
    else error("mto match: unknown argument '" .. a .. "'", 0) end
    i = i + 1
  end
  return o
end

function M.main(args)
  local ok, o = pcall(M.parse, args or {})
  if not ok then io.stderr:write(o, "\n", M.USAGE) return 2 end
  if o.help then io.stdout:write(M.USAGE) return 0 end
  if not o.model or #o.tasks == 0 then io.stderr:write("mto match: --model and --task are required\n", M.USAGE) return 2 end
  local good, res = pcall(mto.match, o)
  if not good then io.stderr:write("mto match: ", tostring(res), "\n") return 1 end
  io.stdout:write(res.markdown)
  return 0
end

-- run as a script (mto run match_cli.lua ARGS): the first vararg is not the module name
local first = ...
if first ~= "mto.match_cli" then os.exit(M.main({...})) end

return M
