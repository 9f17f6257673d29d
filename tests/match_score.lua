-- match_score.lua — per-token scoring (TAP): m:token_logprobs agrees with m:score,
-- batching several pairs per forward (padding, length sorting) changes nothing,
-- and the tail-only sum leaves out the sentinel, the eos and template words.
local mto = require "mto"
local L = dofile(os.getenv("MTO_SRCDIR") .. "/tests/match_lib.lua")
local T = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua")
local ok, near = T.ok, T.near

local m = mto.new(L.CONFIG, 7)
local S0, S1 = L.V - 1, L.V - 2

local lp = m:token_logprobs({3, 4, 5, 1}, {6, 7, 1})
local sum = 0
for _, x in ipairs(lp) do sum = sum + x end
ok(#lp == 3, "one log-prob per target token")
near(sum, m:score({3, 4, 5, 1}, {6, 7, 1}), 1e-4, "token log-probs sum to m:score")
ok(lp[1] < 0 and lp[2] < 0 and lp[3] < 0, "log-probs are negative")

-- a batch of different lengths, scored together and one by one
local srcs = {{3, 4, 5, 1}, {9, 1}, {10, 11, 12, 13, 14, 15, 1}, {3, 4, 5, 1}, {20, S0, 1}}
local tgts = {{6, 7, 1}, {S0, 8, 1}, {16, 1}, {6, 7, 1}, {S0, 21, 22, 23, S1, 1}}
local tails = {{6, 7}, {8}, {16}, {6, 7}, {21, 22, 23}}
local all = m:score_batch{srcs = srcs, tgts = tgts, tails = tails, sentinels = {L.V - L.NSENT, L.V - 1}}
local same, worst = true, 0
for i = 1, #srcs do
  local one = m:token_logprobs(srcs[i], tgts[i])
  for t = 1, #one do
    worst = math.max(worst, math.abs(one[t] - all[i][t]))
    if #one ~= #all[i] then same = false end
  end
end
ok(same and worst < 1e-4, string.format("batched == one by one (max |diff| %.2g)", worst))
local small = m:score_batch{srcs = srcs, tgts = tgts, batch_size = 2}
local bw = 0
for i = 1, #srcs do for t = 1, #tgts[i] do bw = math.max(bw, math.abs(small[i][t] - all[i][t])) end end
ok(bw < 1e-4, string.format("batch_size 2 == batch_size 32 (max |diff| %.2g)", bw))
ok(math.abs(all[1][1] - all[4][1]) < 1e-5, "identical pairs give identical scores (to float rounding across batch rows)")
local list = m:token_logprobs({srcs[1], srcs[2]}, {tgts[1], tgts[2]})
ok(#list == 2 and #list[2] == 3 and math.abs(list[2][2] - all[2][2]) < 1e-4, "token_logprobs takes lists of lists")

-- tail tokens only: <extra_id_0> tail eos -> only the tail's positions count
near(all[2].tail_sum, all[2][2], 1e-12, "masked target: the sentinel and the eos are not counted")
ok(all[2].tail_n == 1 and all[2].exact, "one tail token, found exactly")
near(all[1].tail_sum, all[1][1] + all[1][2], 1e-12, "mapping target: the eos is not counted")
near(all[5].tail_sum, all[5][2] + all[5][3] + all[5][4], 1e-12, "two sentinels around the tail: only the tail")
ok(all[5].tail_n == 3, "3 tail tokens")
near(all[5].tail_mean, all[5].tail_sum / 3, 1e-12, "tail_mean = tail_sum / tail_n")
local full = 0
for _, x in ipairs(all[2]) do full = full + x end
ok(math.abs(full - all[2].tail_sum) > 1e-6, "the full target score differs from the tail-only score")

-- mto.tail_mask, the same rule from Lua
local pos, exact = mto.tail_mask({S0, 5, 6, 1}, {5, 6}, {sentinels = {L.V - L.NSENT, L.V - 1}})
ok(exact and #pos == 2 and pos[1] == 2 and pos[2] == 3, "tail_mask: positions 2,3 of <extra_id_0> a b eos")
pos, exact = mto.tail_mask({S0, 5, 6, 1}, {7}, {sentinels = {L.V - L.NSENT, L.V - 1}})
ok(not exact and #pos == 2 and pos[1] == 2, "tail_mask fallback: after the last sentinel")
near(mto.match_rank({-1, -0.5, -2, -1}, 1), 2.5, 0, "match_rank with a tie")
near(mto.perplexity(-6, 3), math.exp(2), 1e-12, "perplexity")
near(mto.maskability(10, 4), 0.6, 1e-12, "maskability")
ok(mto.match_family(0.6) == "filling" and mto.match_family(0.1) == "mapping" and mto.match_family(0.1, 0.05) == "filling",
   "match_family with the default and a given threshold")

-- errors
ok(T.raises("tgts[1][2] is not a token id in [0, 96)", m.score_batch, m, {srcs = {{3}}, tgts = {{3, 96}}}), "id outside the vocabulary named")
ok(T.raises("2 sources but 1 targets", m.score_batch, m, {srcs = {{3}, {4}}, tgts = {{3}}}), "count mismatch named")
ok(T.raises("batch_size 0", m.score_batch, m, {srcs = {{3}}, tgts = {{3}}, batch_size = 0}), "batch_size 0 rejected")
local empty = m:score_batch{srcs = {{3, 1}}, tgts = {{}}}
ok(#empty == 1 and #empty[1] == 0, "an empty target scores to an empty list")
T.done()
