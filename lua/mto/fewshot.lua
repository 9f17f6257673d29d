-- mto.fewshot — few-shot sampling as in the paper (DESIGN §5): for each relation,
-- N heads drawn deterministically from the seed, up to k tails per head; the test
-- side groups every tail of a head as its references.
--
--   local fs = require "mto.fewshot"
--   fs.sample(records, {shots = 30, tails = 3, seed = 1}) -> records (shots = "full": all)
--   fs.groups(records) -> {{relation=, head=, records={...}, refs={tails}}, ...}
--   fs.test(records, {max_heads = nil, seed = 0}) -> groups (optionally N heads per relation)
local mto = require "mto"

local M = {}

-- FNV-1a (64-bit, wrapping): turns a relation or head into a seed offset.
local function hash(s)
  local h = 0xcbf29ce484222325
  for i = 1, #s do h = (h ~ s:byte(i)) * 0x100000001b3 end
  return h
end
M.hash = hash

-- Records grouped by (relation, head), in order of first appearance. Multiple-choice
-- records (mcqa reader) have no head: their question stands in for it.
function M.groups(records)
  local by, out = {}, {}
  for _, r in ipairs(records) do
    local rel, head = r.relation or "", r.head or r.question or ""
    local k = rel .. "\0" .. head
    local g = by[k]
    if not g then
      g = {relation = rel, head = head, records = {}, refs = {}}
      by[k] = g
      out[#out + 1] = g
    end
    g.records[#g.records + 1] = r
    g.refs[#g.refs + 1] = r.tail
  end
  return out
end

-- Groups split by relation, relations in order of first appearance.
local function by_relation(groups)
  local rels, per = {}, {}
  for _, g in ipairs(groups) do
    if not per[g.relation] then per[g.relation] = {}; rels[#rels + 1] = g.relation end
    local t = per[g.relation]
    t[#t + 1] = g
  end
  return rels, per
end

-- A seeded choice of n elements of list (all if n >= #list), in drawn order.
local function draw(list, n, seed)
  local perm = mto._permutation(#list, seed)
  local out = {}
  for i = 1, math.min(n, #list) do out[i] = list[perm[i]] end
  return out
end

local function check_shots(shots)
  if shots == "full" then return end
  if math.type(shots) ~= "integer" or shots < 1 then
    error("fewshot: shots must be a positive integer or \"full\", got " .. tostring(shots), 3)
  end
end

-- The training records of one few-shot draw.
function M.sample(records, opts)
  opts = opts or {}
  local shots, tails, seed = opts.shots or 30, opts.tails or 3, opts.seed or 0
  check_shots(shots)
  if shots == "full" then return records end
  if math.type(tails) ~= "integer" or tails < 1 then error("fewshot: tails must be a positive integer", 2) end
  local rels, per = by_relation(M.groups(records))
  local out = {}
  for _, rel in ipairs(rels) do
    for _, g in ipairs(draw(per[rel], shots, seed + hash(rel))) do
      for _, r in ipairs(draw(g.records, tails, seed + hash(rel .. "\0" .. g.head))) do out[#out + 1] = r end
    end
  end
  return out
end

-- Test groups: every tail of a head is a reference. max_heads limits the heads per
-- relation (a seeded draw, kept in file order so runs and tables line up).
function M.test(records, opts)
  opts = opts or {}
  local groups = M.groups(records)
  if not opts.max_heads then return groups end
  local rels, per = by_relation(groups)
  local keep = {}
  for _, rel in ipairs(rels) do
    for _, g in ipairs(draw(per[rel], opts.max_heads, (opts.seed or 0) + hash(rel))) do keep[g] = true end
  end
  local out = {}
  for _, g in ipairs(groups) do if keep[g] then out[#out + 1] = g end end
  return out
end

return M
