-- tests/metrics.lua — the Lua metric functions (TAP). Runs under `mto run`
-- or under tests/test_metrics_lua (which preloads only the metrics area).
local mto = mto or require "mto"
local n, failed = 0, 0
local function ok(c, name)
  n = n + 1
  if not c then failed = failed + 1 end
  print((c and "ok " or "not ok ") .. n .. " - " .. name)
end
local function near(a, b, name) ok(type(a) == "number" and math.abs(a - b) <= 1e-12, name .. " (" .. tostring(a) .. ")") end

-- LCS "to afford food" in "to afford food and rent": P 1, R 3/5 -> .75
near(mto.rouge_l("to afford food", {"to afford food and rent"}), 0.75, "rouge_l with an array of refs")
near(mto.rouge_l("to afford food", "to afford food and rent"), 0.75, "rouge_l with one ref string")
near(mto.rouge_l("to pay bills", {"to afford food and rent", "to pay the bills"}), 6 / 7, "rouge_l takes the best ref")
near(mto.bleu("the cat is on the mat", {"the cat is on the mat"}), 1, "bleu of an identical sentence is 1")
-- "the the the the": p1 = 2/4, p2..4 smoothed .1/3, .1/2, .1/1, BP exp(-.5)
local want = math.exp(-0.5) * (0.5 * (0.1 / 3) * 0.05 * 0.1) ^ 0.25
near(mto.bleu("the the the the", {"the cat is on the mat"}), want, "bleu defaults to method1 smoothing")
near(mto.bleu("the the the the", {"the cat is on the mat"}, {smoothing = "method1"}), want, "bleu smoothing='method1'")
ok(mto.bleu("the the the the", {"the cat is on the mat"}, {smoothing = "none"}) < 1e-200, "bleu smoothing='none' is ~0")
near(mto.corpus_bleu({"a b c d", "the cat is on the mat"}, {{"a b c d"}, "the cat is on the mat"}), 1, "corpus_bleu of perfect pairs is 1")
ok(mto.exact_match("To pay the BILLS.", {"x", "to pay the bills"}) == true, "exact_match true after normalisation")
ok(mto.exact_match("to pay bills", "to pay the bills") == false, "exact_match false")
ok(mto.unique_count({"a cat", "A cat!", "a dog"}) == 2, "unique_count")
near(mto.mean_by_group({1, 0, 1, 0.5}, {"xIntent", "xIntent", "xNeed", "xIntent"}), 0.75, "mean_by_group per relation")
ok(mto.mc_pick("stay at home.", {"go", "stay home", "Stay at home"}) == 3, "mc_pick is 1-based")
ok(mto.mc_pick("x", {}) == nil, "mc_pick with no choices is nil")
near(mto.mc_accuracy({1, 2, 3, 2}, {1, 2, 2, 2}), 0.75, "mc_accuracy")
local t = mto.metric_tokens("PersonX's car!")
ok(#t == 3 and t[1] == "personx" and t[2] == "s" and t[3] == "car", "metric_tokens")
local good, err = pcall(mto.rouge_l, "a", {"b", 3})
ok(not good and err:find("refs%[2%]"), "a bad reference is a clear error: " .. tostring(err))
good, err = pcall(mto.bleu, "a", {"a"}, {smoothing = "method7"})
ok(not good and err:find("method7"), "unknown smoothing is refused: " .. tostring(err))
good, err = pcall(mto.corpus_bleu, {"a"}, {})
ok(not good and err:find("reference lists"), "length mismatch is refused: " .. tostring(err))
print("1.." .. n)
if failed > 0 then os.exit(1) end
