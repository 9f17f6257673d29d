/* test_metrics_paper.c — the "paper" metric style (mto/metrics.h) against
 * values derived by hand from reading the rouge package 1.0.1 (pltrdy/rouge:
 * rouge/rouge.py Rouge.get_scores / _get_avg_scores, rouge/rouge_score.py
 * rouge_l_summary_level / _union_lcs / _recon_lcs, all with exclusive=True,
 * i.e. word SETS) and the paper's attempt/metrics/metrics.py (do_score: the
 * max over (pred, tail) pairs, 0 for the head if any pair raises; tails lose
 * "<extra_...>" and are stripped; exact match = pred.strip() == tail).
 * Reading of the package, used in every comment below:
 *   get_scores(h, r, avg=True, ignore_empty=True): drop pairs with an empty h or
 *   r (then zip(*[]) raises ValueError); each text -> [" ".join(s.split()) for s
 *   in text.split(".") if len(s) > 0]; no sentence -> ValueError.
 *   m = |set(words of ref)|, n = |set(words of hyp)|; llcs = |union over (ref
 *   sentence, hyp sentence) of set(recon LCS)|; P = llcs/n, R = llcs/m,
 *   F = 2 * ((P*R) / (P + R + 1e-8)); avg over one pair = F. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/metrics.h"
#include "tap.h"

#define PAPER MTO_METRIC_STYLE_PAPER
#define MTO MTO_METRIC_STYLE_MTO

/* F exactly as the package computes it from P and R. */
static double pkg_f(double p, double r) { return 2.0 * ((p * r) / (p + r + 1e-8)); }

static double pair(const char *h, const char *r) { return mto_rouge_l_paper_pair(h, strlen(h), r, strlen(r)); }

static double best(const char *pred, const char *const *refs, size_t n, int style)
{
    return mto_rouge_l_best_n(pred, strlen(pred), refs, NULL, n, style);
}

static void issue_cases(void)
{
    /* words {Sauce} vs {sauce}: different (case-sensitive), llcs = 0 -> F = 0 */
    is_near(pair("Sauce", "sauce"), 0.0, 0.0, "paper: Sauce vs sauce is 0 (case-sensitive)");
    const char *sauce = "sauce";
    is_near(best("Sauce", &sauce, 1, MTO), 1.0, 1e-12, "mto: Sauce vs sauce is 1 (lowercased)");
    /* hyp a a a b, ref a b a: n = |{a,b}| = 2, m = 2. _recon_lcs(x=ref, y=hyp): at
     * (3,4) a != b, T[2][4] = 2 is not > T[3][3] = 2 -> left; (3,3) a = a take;
     * (2,2) b != a, T[1][2] = 1 not > T[2][1] = 1 -> left; (2,1) b != a,
     * T[1][1] = 1 > T[2][0] = 0 -> up; (1,1) a = a take: LCS [a, a], set {a},
     * llcs = 1. P = R = 1/2 -> F = 2 * (.25 / (1 + 1e-8)) = 0.499999995 */
    is_near(pair("a a a b", "a b a"), pkg_f(0.5, 0.5), 0.0, "paper: 'a a a b' vs 'a b a' = 0.4999999950");
    ok(fabs(pair("a a a b", "a b a") - 0.5) < 1e-8, "  ... which is the issue's 0.500");
    const char *aba = "a b a";
    is_near(best("a a a b", &aba, 1, MTO), 4.0 / 7.0, 1e-12, "mto: 'a a a b' vs 'a b a' = 4/7 (LCS 2, P 2/4, R 2/3)");
}

static void hand_cases(void)
{
    /* identical: llcs = n = m = 3 -> P = R = 1 -> F = 2/(2 + 1e-8) = 0.999999995, not 1 */
    is_near(pair("to afford food", "to afford food"), pkg_f(1, 1), 0.0, "paper: identical texts score 0.999999995");
    ok(pair("to afford food", "to afford food") < 1.0, "  ... strictly below 1");
    /* repeated words count once: hyp {the,cat}, ref {the,cat}; LCS(x=[the,cat],
     * y=[the,cat,the]): (2,3) cat != the, T[1][3] = 1 not > T[2][2] = 2 -> left;
     * cat = cat; the = the -> {the,cat}: P = R = 1 (mto: P 2/3, R 1 -> 0.8) */
    is_near(pair("the cat the", "the cat"), pkg_f(1, 1), 0.0, "paper: repeated hyp words count once");
    /* the package's docstring example, as two hyp sentences split on '.':
     * ref w1..w5 (m = 5); hyp sentences c1 = w1 w2 w6 w7 w8, c2 = w1 w3 w8 w9 w5,
     * n = |{w1,w2,w6,w7,w8,w3,w9,w5}| = 8. LCS(ref, c1) = w1 w2, LCS(ref, c2) =
     * w1 w3 w5; union {w1,w2,w3,w5} -> llcs 4: P = 4/8, R = 4/5 */
    double v = pair("w1 w2 w6 w7 w8. w1 w3 w8 w9 w5", "w1 w2 w3 w4 w5");
    is_near(v, pkg_f(0.5, 0.8), 0.0, "paper: union LCS over '.'-sentences (P 1/2, R 4/5)");
    /* the same ref split into two sentences changes nothing here: each sentence's
     * union adds its new words; ref words still {w1..w5} */
    is_near(pair("w1 w2 w6 w7 w8. w1 w3 w8 w9 w5", "w1 w2. w3 w4 w5"), pkg_f(0.5, 0.8), 0.0,
            "paper: union over ref sentences too");
    /* str.split() whitespace: tab, newline, U+00A0 and U+3000 separate words */
    is_near(pair("a\xc2\xa0" "b\t c\xe3\x80\x80", "a b c"), pkg_f(1, 1), 0.0,
            "paper: Unicode whitespace (NBSP, ideographic space) splits words");
    /* punctuation stays in words: {eat!} vs {eat} -> 0 */
    is_near(pair("eat!", "eat"), 0.0, 0.0, "paper: punctuation is part of a word");
    /* a whitespace-only text is one sentence with the single word "": "" = "" */
    is_near(pair("   ", " "), pkg_f(1, 1), 0.0, "paper: two blank texts match (the word \"\")");
    is_near(pair("   ", "x"), 0.0, 0.0, "paper: a blank hyp against words is 0, not an error");
    /* what raises: empty text, or only dots (no sentence) */
    is_near(pair("", "x"), -1.0, 0.0, "paper pair: empty hyp raises (-1)");
    is_near(pair("x", ""), -1.0, 0.0, "paper pair: empty ref raises (-1)");
    is_near(pair("...", "x"), -1.0, 0.0, "paper pair: a hyp of only dots raises (-1)");
    /* "a. .b".split(".") = ["a", " ", "b"], all non-empty: sentences a | "" | b,
     * so hyp words {a, "", b} (n = 3); ref {a, b}; LCSs {a}, {}, {b} -> P 2/3, R 1 */
    is_near(pair("a. .b", "a b"), pkg_f(2.0 / 3.0, 1), 0.0, "paper: a blank sentence between dots adds the word \"\"");
}

static void head_cases(void)
{
    /* best over references: ref 2 gives LCS to pay bills (P 1, R 3/4); ref 1 gives
     * 'to' (P 1/3, R 1/5) */
    const char *refs[] = {"to afford food and rent", "to pay the bills"};
    is_near(best("to pay bills", refs, 2, PAPER), pkg_f(1, 0.75), 0.0, "paper: maximum over references");
    /* any raising reference makes the head 0 (do_score's try around the loop) */
    const char *with_empty[] = {"to eat", ""};
    is_near(best("to eat", with_empty, 2, PAPER), 0.0, 0.0, "paper: one empty reference zeroes the head");
    is_near(best("to eat", with_empty, 2, MTO), 1.0, 1e-12, "mto: the empty reference is just a 0");
    is_near(best("", refs, 2, PAPER), 0.0, 0.0, "paper: an empty prediction scores 0");
    is_near(best("x", refs, 0, PAPER), 0.0, 0.0, "paper: no references scores 0");
    /* references lose <extra_...> and are stripped; predictions are used as they are */
    const char *sent = " <extra_id_0> to eat ";
    is_near(best("to eat", &sent, 1, PAPER), pkg_f(1, 1), 0.0, "paper: reference sentinels removed");
    const char *plain = "to eat";
    /* hyp {<extra_id_0>, to, eat}: n 3, m 2, llcs 2 -> P 2/3, R 1 */
    is_near(best("<extra_id_0> to eat", &plain, 1, PAPER), pkg_f(2.0 / 3.0, 1), 0.0,
            "paper: a prediction's sentinel stays a word");
    /* reference that is only a sentinel becomes "" -> raises -> 0 */
    const char *only = "<extra_id_1>";
    is_near(best("x", &only, 1, PAPER), 0.0, 0.0, "paper: a reference of only a sentinel raises -> 0");
}

static void nul_cases(void)
{
    /* "a\0b c" is 5 bytes: paper words {"a\0b", "c"} vs {a, b, c}: LCS c -> P 1/2, R 1/3 */
    const char pred[] = "a\0b c";
    const char *ref = "a b c";
    size_t rl = 5;
    is_near(mto_rouge_l_best_n(pred, 5, &ref, &rl, 1, PAPER), pkg_f(0.5, 1.0 / 3.0), 0.0,
            "paper: a NUL byte is part of a word");
    /* mto: NUL separates like any non-alphanumeric byte: a b c = a b c (was 0.5 reading "a") */
    is_near(mto_rouge_l_best_n(pred, 5, &ref, &rl, 1, MTO), 1.0, 1e-12, "mto: text after a NUL counts");
    /* same tokens as "a b c" (3 tokens: no 4-gram, so not 1; was the BLEU of "a") */
    double want = mto_bleu_sentence("a b c", &ref, 1, MTO_BLEU_SMOOTH_DEFAULT);
    is_near(mto_bleu_sentence_n(pred, 5, &ref, &rl, 1, MTO_BLEU_SMOOTH_DEFAULT), want, 0.0,
            "bleu: text after a NUL counts");
    ok(want > mto_bleu_sentence("a", &ref, 1, MTO_BLEU_SMOOTH_DEFAULT), "  ... and differs from the BLEU of 'a'");
    const char *other = "a\0c";
    size_t ol = 3;
    is_int(mto_exact_match_n("a\0b", 3, &other, &ol, 1, MTO), 0, "mto exact match: a\\0b != a\\0c");
    is_int(mto_exact_match_n("a\0b", 3, &other, &ol, 1, PAPER), 0, "paper exact match: a\\0b != a\\0c");
    const char *two[] = {"a\0b", "a\0c"};
    size_t tl[] = {3, 3};
    is_int(mto_unique_count_n(two, tl, 2, MTO), 2, "mto unique: a\\0b, a\\0c are 2");
    is_int(mto_unique_count_n(two, tl, 2, PAPER), 2, "paper unique: a\\0b, a\\0c are 2");
    is_int(mto_mc_pick_n("a\0c", 3, two, tl, 2), 1, "mc_pick reads past the NUL");
    const double sc[] = {1, 0, 0.5};
    const char *g[] = {"x\0a", "x\0b", "x\0a"};
    size_t gl[] = {3, 3, 3};
    /* groups x\0a (1, .5 -> .75) and x\0b (0): (0.75 + 0) / 2 */
    is_near(mto_mean_by_group_n(sc, g, gl, 3), 0.375, 1e-15, "mean_by_group: groups differ after a NUL");
    size_t n;
    char **t = mto_metric_tokenize_n("ab\0cd", 5, &n);
    ok(t && n == 2 && !strcmp(t[0], "ab") && !strcmp(t[1], "cd"), "tokenize_n: NUL separates tokens");
    free(t);
}

static void match_cases(void)
{
    const char *r = "to eat";
    int (*em)(const char *, size_t, const char *const *, const size_t *, size_t, int) = mto_exact_match_n;
    is_int(em(" to eat\n", 8, &r, NULL, 1, PAPER), 1, "paper exact match strips whitespace");
    is_int(em("to eat\xc2\xa0", 8, &r, NULL, 1, PAPER), 1, "paper exact match strips Unicode whitespace");
    is_int(em("To eat", 6, &r, NULL, 1, PAPER), 0, "paper exact match is case-sensitive");
    is_int(em("to eat.", 7, &r, NULL, 1, PAPER), 0, "paper exact match keeps punctuation");
    is_int(em("to eat.", 7, &r, NULL, 1, MTO), 1, "mto exact match ignores punctuation");
    is_int(em("to  eat", 7, &r, NULL, 1, PAPER), 0, "paper exact match keeps inner spacing");
    const char *s = "<extra_id_0> to eat";
    is_int(em("to eat", 6, &s, NULL, 1, PAPER), 1, "paper exact match: reference sentinel removed");
    const char *zh = "\xe4\xb8\xad\xe5\x9b\xbd"; /* 中国 */
    is_int(em("\xe6\x97\xa5\xe6\x9c\xac", 6, &zh, NULL, 1, MTO), 0, "mto exact match: 日本 != 中国");
    is_int(em("\xe6\x97\xa5\xe6\x9c\xac", 6, &zh, NULL, 1, PAPER), 0, "paper exact match: 日本 != 中国");
    ok(mto_exact_match(" \xe4\xb8\xad\xe5\x9b\xbd", &zh, 1), "mto exact match: 中国 = ' 中国'");
    const char *u[] = {"\xe6\x97\xa5\xe6\x9c\xac", "\xe4\xb8\xad\xe5\x9b\xbd", "!"};
    is_int(mto_unique_count(u, 3), 3, "mto unique: 日本, 中国, ! are 3 (was 1)");
    const char *p[] = {"a cat", "A cat!", "a cat", " a cat"};
    is_int(mto_unique_count_n(p, NULL, 4, PAPER), 3, "paper unique: raw texts (a cat, A cat!, ' a cat')");
    is_int(mto_unique_count_n(p, NULL, 4, MTO), 1, "mto unique: normal forms");
}

int main(void)
{
    issue_cases();
    hand_cases();
    head_cases();
    nul_cases();
    match_cases();
    return tap_done();
}
