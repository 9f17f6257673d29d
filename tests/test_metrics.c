/* test_metrics.c — ROUGE-L, BLEU, exact match, unique count, multiple choice:
 * hand-computed cases (arithmetic in the comments), and agreement with NLTK's
 * sentence_bleu / corpus_bleu (tests/ref/bleu_fixtures.tsv, written by
 * tests/ref/make_bleu_fixtures.py) to 1e-9 relative. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/metrics.h"
#include "tap.h"

#define TOL 1e-9

static double rel(double got, double want)
{
    if (want == 0.0) return fabs(got);
    return fabs(got - want) / fabs(want);
}

static void tokenizer_cases(void)
{
    size_t n;
    char **t = mto_metric_tokenize("  PersonX's car,  is\tRED!! caf\xc3\xa9 x2 ", &n);
    /* lowercase; anything outside [a-z0-9] separates, including the UTF-8 bytes of é */
    is_int(n, 7, "tokenize: 7 tokens");
    ok(n == 7 && !strcmp(t[0], "personx") && !strcmp(t[1], "s") && !strcmp(t[2], "car") &&
       !strcmp(t[4], "red") && !strcmp(t[5], "caf") && !strcmp(t[6], "x2") && t[7] == NULL,
       "tokenize: personx s car is red caf x2");
    free(t);
    t = mto_metric_tokenize("", &n);
    ok(t && n == 0 && t[0] == NULL, "tokenize: empty text has no tokens");
    free(t);
    char *s = mto_metric_normalize("  To   Afford, food! ");
    is_str(s, "to afford food", "normalize joins tokens with single spaces");
    free(s);
}

static void rouge_cases(void)
{
    /* pred "the cat sat on the mat" (6), ref "the cat is on the mat" (6):
     * LCS the cat on the mat = 5; P = R = 5/6; F = 5/6 = 0.833333... */
    is_near(mto_rouge_l_f1("the cat sat on the mat", "the cat is on the mat"), 5.0 / 6, 1e-12,
            "rouge-l: LCS 5 of 6/6 -> 5/6");
    /* pred "to afford food" (3), ref "to afford food and rent" (5): LCS 3,
     * P = 1, R = 3/5, F = 2*.6/(1.6) = 0.75 */
    is_near(mto_rouge_l_f1("to afford food", "to afford food and rent"), 0.75, 1e-12,
            "rouge-l: P 1, R 3/5 -> 0.75");
    /* case and punctuation do not matter: identical tokens -> 1 */
    is_near(mto_rouge_l_f1("To afford FOOD!", "to afford food"), 1.0, 1e-12, "rouge-l: case/punctuation ignored");
    /* order matters: "a b c" vs "c b a": LCS 1, P = R = 1/3, F = 1/3 */
    is_near(mto_rouge_l_f1("a b c", "c b a"), 1.0 / 3, 1e-12, "rouge-l: reversed -> LCS 1 -> 1/3");
    /* LCS is a subsequence, not a substring: "a x b y c" vs "a b c": LCS 3,
     * P = 3/5, R = 1, F = 2*.6/1.6 = 0.75 */
    is_near(mto_rouge_l_f1("a x b y c", "a b c"), 0.75, 1e-12, "rouge-l: gapped subsequence counts");
    is_near(mto_rouge_l_f1("", "a b"), 0.0, 0, "rouge-l: empty prediction scores 0");
    is_near(mto_rouge_l_f1("a b", "!!"), 0.0, 0, "rouge-l: reference without tokens scores 0");
    is_near(mto_rouge_l_f1("x y", "a b"), 0.0, 0, "rouge-l: no overlap scores 0");
    /* best over refs: vs "to pay the bills" LCS(to pay bills) = 3: P 1, R 3/4 -> 6/7;
     * vs "to afford food and rent" LCS 1: P 1/3, R 1/5 -> 0.25. Best 6/7. */
    const char *refs[] = {"to afford food and rent", "to pay the bills"};
    is_near(mto_rouge_l_best("to pay bills", refs, 2), 6.0 / 7, 1e-12, "rouge-l best: max over references");
    is_near(mto_rouge_l_best("to pay bills", refs, 0), 0.0, 0, "rouge-l best: no references -> 0");

    /* per relation then over relations: xIntent {1, 0, .5} -> .5; xNeed {1} -> 1;
     * mean of means = .75 (the flat mean would be 2.5/4 = .625) */
    const double sc[] = {1.0, 0.0, 1.0, 0.5};
    const char *rel_[] = {"xIntent", "xIntent", "xNeed", "xIntent"};
    is_near(mto_mean_by_group(sc, rel_, 4), 0.75, 1e-12, "mean by group: per relation, then over relations");
    is_near(mto_mean_by_group(sc, NULL, 4), 0.625, 1e-12, "mean by group: no groups = plain mean");
    ok(isnan(mto_mean_by_group(sc, rel_, 0)), "mean by group: nothing to average is NaN");
}

static void bleu_hand_cases(void)
{
    const char *r1[] = {"the cat is on the mat"};
    /* identical 6-token sentence: every p_n = 1, BP = 1 -> 1 */
    is_near(mto_bleu_sentence("the cat is on the mat", r1, 1, MTO_BLEU_SMOOTH_NONE), 1.0, 1e-12,
            "bleu: identical sentence scores 1");
    /* "the the the the" vs r1: unigram "the" count 4 clipped to 2 -> p1 = 2/4;
     * bigram "the the" absent -> p2..p4 = 0. method1: p2 = .1/3, p3 = .1/2, p4 = .1/1.
     * c = 4 < r = 6 -> BP = exp(1 - 6/4) = exp(-.5).
     * BLEU = exp(-.5) * (0.5 * .1/3 * .05 * .1)^(1/4) */
    double want = exp(-0.5) * pow(0.5 * (0.1 / 3) * 0.05 * 0.1, 0.25);
    is_near(mto_bleu_sentence("the the the the", r1, 1, MTO_BLEU_SMOOTH_METHOD1), want, 1e-12,
            "bleu method1: clipped unigrams, epsilon 0.1 for missing n-grams, BP exp(-.5)");
    /* unsmoothed, the zero precisions count as DBL_MIN (NLTK method0) */
    want = exp(-0.5) * exp(0.25 * (log(0.5) + 3 * log(DBL_MIN)));
    ok(rel(mto_bleu_sentence("the the the the", r1, 1, MTO_BLEU_SMOOTH_NONE), want) < 1e-12,
       "bleu none: zero precisions become DBL_MIN (~1e-232 here, not exactly 0)");
    /* no unigram in common -> 0, smoothing or not */
    is_near(mto_bleu_sentence("dog", r1, 1, MTO_BLEU_SMOOTH_METHOD1), 0.0, 0, "bleu: no unigram match -> 0");
    is_near(mto_bleu_sentence("", r1, 1, MTO_BLEU_SMOOTH_METHOD1), 0.0, 0, "bleu: empty prediction -> 0");
    is_near(mto_bleu_sentence("the cat", r1, 0, MTO_BLEU_SMOOTH_METHOD1), 0.0, 0, "bleu: no references -> 0");
    /* brevity: hyp "a b c d e f" (6), refs of 8 and 4 tokens, both 2 away: the
     * shorter (4) is used, 6 > 4 -> BP 1; all n-grams match -> 1 */
    const char *r2[] = {"a b c d e f g h", "a b c d"};
    is_near(mto_bleu_sentence("a b c d e f", r2, 2, MTO_BLEU_SMOOTH_NONE), 1.0, 1e-12,
            "bleu: closest-length tie picks the shorter reference");
    /* hyp "a b c d" vs "a b c d e f g h": all p_n = 1, BP = exp(1 - 8/4) = exp(-1) */
    const char *r3[] = {"a b c d e f g h"};
    is_near(mto_bleu_sentence("a b c d", r3, 1, MTO_BLEU_SMOOTH_NONE), exp(-1.0), 1e-12,
            "bleu: brevity penalty exp(1 - r/c)");
    ok(MTO_BLEU_SMOOTH_DEFAULT == MTO_BLEU_SMOOTH_METHOD1, "bleu: the default smoothing is NLTK method1");
}

static void match_cases(void)
{
    const char *refs[] = {"to afford food and rent", "To pay the bills."};
    ok(mto_exact_match("to pay the BILLS", refs, 2), "exact match: normal forms equal");
    ok(!mto_exact_match("to pay bills", refs, 2), "exact match: a missing article is a miss");
    ok(!mto_exact_match("", refs, 2), "exact match: empty prediction misses");
    ok(!mto_exact_match("x", refs, 0), "exact match: no references misses");
    const char *preds[] = {"a cat", "A cat!", "a dog", "", "  "};
    is_int(mto_unique_count(preds, 5), 3, "unique: 'a cat' x2, 'a dog', empty x2 -> 3");
    is_int(mto_unique_count(preds, 0), 0, "unique: none -> 0");
    const char *choices[] = {"go to the store", "stay home", "Stay at home"};
    is_int(mto_mc_pick("stay at home.", choices, 3), 2, "mc pick: exact normal-form match wins");
    /* "stay home please": vs choice 1 LCS 2: P 2/3, R 1 -> .8; vs choice 2 LCS 2: P 2/3, R 2/3 -> 2/3 */
    is_int(mto_mc_pick("stay home please", choices, 3), 1, "mc pick: else the best ROUGE-L");
    is_int(mto_mc_pick("x", choices, 0), -1, "mc pick: no choices -> -1");
    is_int(mto_mc_pick("purple", choices, 3), -1, "mc pick: a prediction sharing no word with any choice names none");
    const long p[] = {0, 1, 2, 1}, g[] = {0, 1, 1, 1};
    is_near(mto_mc_accuracy(p, g, 4), 0.75, 0, "mc accuracy: 3 of 4");
    ok(isnan(mto_mc_accuracy(p, g, 0)), "mc accuracy: empty is NaN");
}

/* tests/ref/bleu_fixtures.tsv against NLTK */
static void nltk_fixtures(void)
{
    const char *src = getenv("MTO_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/ref/bleu_fixtures.tsv", src ? src : MTO_SRCDIR);
    FILE *f = fopen(path, "r");
    if (!f) {
        ok(0, "open %s: %s", path, strerror(errno));
        return;
    }
    enum { MAXROWS = 256, MAXREF = 8 };
    static char *preds[MAXROWS], *refs[MAXROWS][MAXREF];
    static const char *const *refp[MAXROWS];
    static size_t nrefs[MAXROWS];
    char *line = NULL;
    size_t cap = 0, rows = 0;
    ssize_t len;
    double w1 = 0, w0 = 0, wr = 0;
    enum { MAXCORPUS = 4 };
    double c1[MAXCORPUS], c0[MAXCORPUS];
    char *crow[MAXCORPUS];
    int ncorpus = 0, bad_rows = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') line[--len] = 0;
        if (line[0] == '#' || !line[0]) continue;
        char *fields[16];
        int nf = 0;
        for (char *p = line, *tab; nf < 16; p = tab + 1) {
            fields[nf++] = p;
            if (!(tab = strchr(p, '\t'))) break;
            *tab = 0;
        }
        if (!strcmp(fields[0], "corpus") && nf == 4 && ncorpus < MAXCORPUS) {
            c1[ncorpus] = strtod(fields[1], NULL);
            c0[ncorpus] = strtod(fields[2], NULL);
            crow[ncorpus++] = strdup(fields[3]); /* rows refer to 'sent' rows, maybe later */
            continue;
        }
        if (strcmp(fields[0], "sent") || nf < 6 || rows == MAXROWS || nf - 5 > MAXREF) {
            bad_rows++;
            continue;
        }
        preds[rows] = strdup(fields[1]);
        double b1 = strtod(fields[2], NULL), b0 = strtod(fields[3], NULL), rl = strtod(fields[4], NULL);
        nrefs[rows] = (size_t)(nf - 5);
        for (int i = 5; i < nf; i++) refs[rows][i - 5] = strdup(fields[i]);
        const char *const *r = (const char *const *)refs[rows];
        refp[rows] = r;
        double e1 = rel(mto_bleu_sentence(preds[rows], r, nrefs[rows], MTO_BLEU_SMOOTH_METHOD1), b1);
        double e0 = rel(mto_bleu_sentence(preds[rows], r, nrefs[rows], MTO_BLEU_SMOOTH_NONE), b0);
        double er = fabs(mto_rouge_l_best(preds[rows], r, nrefs[rows]) - rl);
        if (!(e1 <= TOL) || !(e0 <= TOL))
            tap_diag("row %zu \"%s\": method1 rel %.3g, none rel %.3g", rows + 1, preds[rows], e1, e0);
        if (!(e1 <= w1)) w1 = e1;
        if (!(e0 <= w0)) w0 = e0;
        if (!(er <= wr)) wr = er;
        rows++;
    }
    free(line);
    fclose(f);
    ok(rows >= 50 && !bad_rows, "nltk fixtures: %zu pairs read, %d malformed rows", rows, bad_rows);
    ok(w1 <= TOL, "sentence BLEU method1 matches NLTK on every pair (worst rel %.2e)", w1);
    ok(w0 <= TOL, "sentence BLEU unsmoothed matches NLTK on every pair (worst rel %.2e)", w0);
    ok(wr <= 1e-12, "ROUGE-L best matches the script's LCS on every pair (worst abs %.2e)", wr);
    ok(ncorpus == 2, "nltk fixtures: %d corpus lines", ncorpus);
    for (int c = 0; c < ncorpus; c++) {
        /* gather the listed rows */
        static const char *cp[MAXROWS];
        static const char *const *cr[MAXROWS];
        static size_t cn[MAXROWS];
        size_t k = 0;
        for (char *p = crow[c], *end; *p && k < MAXROWS; p = *end ? end + 1 : end) {
            size_t i = (size_t)strtoul(p, &end, 10);
            if (end == p || i >= rows) break;
            cp[k] = preds[i];
            cr[k] = refp[i];
            cn[k++] = nrefs[i];
        }
        double g1 = mto_bleu_corpus(cp, cr, cn, k, MTO_BLEU_SMOOTH_METHOD1);
        double g0 = mto_bleu_corpus(cp, cr, cn, k, MTO_BLEU_SMOOTH_NONE);
        ok(k > 10 && rel(g1, c1[c]) <= TOL, "corpus BLEU method1 over %zu pairs matches NLTK (%.12g vs %.12g)",
           k, g1, c1[c]);
        ok(k > 10 && rel(g0, c0[c]) <= TOL, "corpus BLEU unsmoothed over %zu pairs matches NLTK (%.12g vs %.12g)",
           k, g0, c0[c]);
        free(crow[c]);
    }
    tap_diag("nltk agreement, worst relative: sentence method1 %.2e, unsmoothed %.2e", w1, w0);
    for (size_t i = 0; i < rows; i++) {
        free(preds[i]);
        for (size_t j = 0; j < nrefs[i]; j++) free(refs[i][j]);
    }
}

int main(void)
{
    tokenizer_cases();
    rouge_cases();
    bleu_hand_cases();
    match_cases();
    nltk_fixtures();
    return tap_done();
}
