-- mto.fewshot — few-shot sampling as in the paper (DESIGN §5): for each relation,
-- N heads drawn deterministically from the seed, up to k tails per head; the test
-- side groups every tail of a head as its references.
--
--   local fs = require "mto.fewshot"
--   fs.sample(records, {shots = 30, tails = 3, seed = 1}) -> records (shots = "full": all)
--   fs.groups(records) -> {{relation=, head=, records={...}, refs={tails}}, ...}
--   fs.test(records, {max_heads = nil, seed = 0}) -> groups (optionally N heads per relation)
--
-- order = "paper" (in sample and test) reproduces the head selection of the
-- paper's code (github puraminy/MTO, attempt/data/tasks.py: Atomic.preproc_df
-- and Atomic.subsample, samples_per_head_per_split = {train = 1, test = 3}):
--   1. every row of the split gets two counts over the split's WHOLE file (all
--      relations; pass those records as opts.counts, default the records given):
--      px = the number of distinct relations of its head, freq = the number of
--      rows of its head;
--   2. rows are sorted by (px, freq, head, relation), all descending (byte order
--      for the texts); equal keys keep file order (pandas' sort is stable);
--   3. per relation, rows are walked in that order, keeping at most `tails`
--      (sample) or `refs` (test, default 3) rows per head, and the walk stops
--      right after the first row of head number N+1 is kept — the paper's loop
--      checks len(counter) > n_obs after appending, so it trains on N+1 heads,
--      the last with one row. test: max_heads = N (nil: every head).
--   The seed plays no part (the paper's selection is a sort, not a draw), so
--   every seed of a point sees the same heads, as in the paper.
--   Not reproduced: the paper's code tests on the last 300 training rows when a
--   test file has fewer than 300 rows, and skips rows before a start_row.
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

local function check_order(order)
  if order ~= nil and order ~= "paper" and order ~= "mto" then
    error("fewshot: order must be \"paper\" or \"mto\", got " .. tostring(order), 3)
  end
end

-- The paper's selection (see the top): the kept records of each relation, in
-- selection order, relations in order of first appearance. heads = N or nil (all).
function M.paper_rows(records, opts)
  opts = opts or {}
  local per_head, heads = opts.per_head or 1, opts.heads
  if math.type(per_head) ~= "integer" or per_head < 1 then error("fewshot: rows per head must be a positive integer", 2) end
  if heads ~= nil and (math.type(heads) ~= "integer" or heads < 0) then
    error("fewshot: the number of heads must be a non-negative integer", 2)
  end
  local freq, rels_of = {}, {}
  for _, r in ipairs(opts.counts or records) do
    local h = r.head or r.question or ""
    freq[h] = (freq[h] or 0) + 1
    rels_of[h] = rels_of[h] or {n = 0}
    local rr = rels_of[h]
    if not rr[r.relation or ""] then rr[r.relation or ""] = true; rr.n = rr.n + 1 end
  end
  local rows, rels, seen = {}, {}, {}
  for i, r in ipairs(records) do
    local h, rel = r.head or r.question or "", r.relation or ""
    rows[i] = {r = r, i = i, head = h, rel = rel, px = rels_of[h] and rels_of[h].n or 0, freq = freq[h] or 0}
    if not seen[rel] then seen[rel] = true; rels[#rels + 1] = rel end
  end
  table.sort(rows, function(a, b)
    if a.px ~= b.px then return a.px > b.px end
    if a.freq ~= b.freq then return a.freq > b.freq end
    if a.head ~= b.head then return a.head > b.head end
    if a.rel ~= b.rel then return a.rel > b.rel end
    return a.i < b.i
  end)
  local out = {}
  for _, rel in ipairs(rels) do
    local counter, nheads = {}, 0
    for _, x in ipairs(rows) do
      if x.rel == rel then
        if not counter[x.head] then counter[x.head] = 0; nheads = nheads + 1 end
        counter[x.head] = counter[x.head] + 1
        if counter[x.head] <= per_head then
          out[#out + 1] = x.r
          if heads and nheads > heads then break end
        end
      end
    end
  end
  return out
end

-- The training records of one few-shot draw.
function M.sample(records, opts)
  opts = opts or {}
  local shots, tails, seed = opts.shots or 30, opts.tails or 3, opts.seed or 0
  check_shots(shots)
  check_order(opts.order)
  if shots == "full" then return records end
  if math.type(tails) ~= "integer" or tails < 1 then error("fewshot: tails must be a positive integer", 2) end
  if opts.order == "paper" then return M.paper_rows(records, {heads = shots, per_head = tails, counts = opts.counts}) end
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
  check_order(opts.order)
  if opts.order == "paper" then
    return M.groups(M.paper_rows(records, {heads = opts.max_heads, per_head = opts.refs or 3, counts = opts.counts}))
  end
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
