-- tests/metrics.lua — the Lua metric functions (TAP). Runs under `mto run`
-- or under tests/test_metrics_lua (which preloads only the metrics area).
local mto = mto or require "mto"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok = T.ok
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

-- style = "paper": the rouge package 1.0.1 as the paper's code calls it (hand
-- derivations in tests/test_metrics_paper.c). F = 2 * (P*R / (P + R + 1e-8)).
local function pkg_f(p, r) return 2.0 * ((p * r) / (p + r + 1e-8)) end
local function exact(a, b, name) ok(a == b, name .. " (" .. tostring(a) .. ")") end
local paper = {style = "paper"}
exact(mto.rouge_l("Sauce", {"sauce"}, paper), 0.0, "paper rouge_l: Sauce vs sauce = 0")
near(mto.rouge_l("Sauce", {"sauce"}), 1, "mto rouge_l: Sauce vs sauce = 1")
exact(mto.rouge_l("a a a b", {"a b a"}, paper), pkg_f(0.5, 0.5), "paper rouge_l: a a a b vs a b a (word sets, llcs 1)")
near(mto.rouge_l("a a a b", {"a b a"}, {style = "mto"}), 4 / 7, "mto rouge_l: a a a b vs a b a = 4/7")
exact(mto.rouge_l("to pay bills", {"to afford food and rent", "to pay the bills"}, paper), pkg_f(1, 0.75),
      "paper rouge_l: max over references")
exact(mto.rouge_l("to eat", {"to eat", "  "}, paper), 0.0, "paper rouge_l: a blank reference strips to '' and raises: 0")
ok(mto.rouge_l("to eat", {"to eat", "."}, paper) == 0, "paper rouge_l: a reference that raises zeroes the head")
ok(mto.exact_match(" to eat ", {"x", "to eat"}, paper) == true, "paper exact_match strips")
ok(mto.exact_match("To eat", {"to eat"}, paper) == false, "paper exact_match is case-sensitive")
ok(mto.exact_match("\230\151\165\230\156\172", {"\228\184\173\229\155\189"}) == false,
   "mto exact_match: two all-non-ASCII strings differ")
ok(mto.unique_count({"a cat", "A cat!", "a cat"}, paper) == 2, "paper unique_count: raw texts")
local good, err = pcall(mto.rouge_l, "a", "a", {style = "nltk"})
ok(not good and err:find("nltk"), "unknown style is refused: " .. tostring(err))
-- embedded NUL bytes: every metric reads the Lua length
near(mto.rouge_l("a\0b c", {"a b c"}), 1, "rouge_l reads past a NUL (was 0.5)")
exact(mto.rouge_l("a\0b c", {"a b c"}, paper), pkg_f(0.5, 1 / 3), "paper rouge_l: a\\0b is one word")
near(mto.bleu("a\0b c d", {"a b c d"}), 1, "bleu reads past a NUL")
near(mto.corpus_bleu({"a\0b c d"}, {{"a b c d"}}), 1, "corpus_bleu reads past a NUL")
ok(mto.exact_match("a\0b", {"a\0c"}) == false, "exact_match reads past a NUL")
ok(mto.exact_match("a\0b", {"a\0c"}, paper) == false, "paper exact_match reads past a NUL")
ok(mto.unique_count({"a\0b", "a\0c"}) == 2, "unique_count reads past a NUL")
ok(mto.mc_pick("a\0c", {"a\0b", "a\0c"}) == 2, "mc_pick reads past a NUL")
near(mto.mean_by_group({1, 0}, {"r\0a", "r\0b"}), 0.5, "mean_by_group: groups differ after a NUL")
local tk = mto.metric_tokens("ab\0cd")
ok(#tk == 2 and tk[2] == "cd", "metric_tokens reads past a NUL")
T.done()
