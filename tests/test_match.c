/* test_match.c — matching numerics against hand-computed values: which
 * target positions count (tail tokens only: no sentinel, no eos, no pad),
 * gold rank with ties, perplexity, the maskability index and the family. */
#include <math.h>
#include <stdint.h>

#include "mto/match.h"
#include "tap.h"

static const mto_match_special SP = {1, 32000, 32099}; /* eos 1, T5 sentinels */

static int mask_is(const uint8_t *m, const char *want)
{
    for (size_t i = 0; want[i]; i++)
        if (m[i] != (want[i] == '1')) return 0;
    return 1;
}

int main(void)
{
    uint8_t m[16];
    int exact;

    /* masked target "<extra_id_0> a b c" + eos: only a b c count */
    const int32_t t1[] = {32099, 5, 6, 7, 1}, tail1[] = {5, 6, 7};
    is_int(mto_match_tail_mask(t1, 5, tail1, 3, &SP, m, &exact), 3, "masked target: 3 tail tokens");
    ok(exact && mask_is(m, "01110"), "sentinel and eos excluded, tail found exactly");

    /* mapping target "a b" + eos */
    const int32_t t2[] = {5, 6, 1}, tail2[] = {5, 6};
    is_int(mto_match_tail_mask(t2, 3, tail2, 2, &SP, m, &exact), 2, "mapping target: 2 tail tokens");
    ok(exact && mask_is(m, "110"), "eos excluded");

    /* template words before the tail that repeat it: the last occurrence counts */
    const int32_t t3[] = {5, 6, 9, 5, 6, 1};
    is_int(mto_match_tail_mask(t3, 6, tail2, 2, &SP, m, &exact), 2, "repeated words: still 2");
    ok(exact && mask_is(m, "000110"), "the last occurrence is the tail");

    /* tail tokenized differently in context: everything after the last sentinel */
    const int32_t t4[] = {7, 32099, 8, 32098, 9, 4, 1}, tail4[] = {3};
    is_int(mto_match_tail_mask(t4, 7, tail4, 1, &SP, m, &exact), 2, "fallback counts after the last sentinel");
    ok(!exact && mask_is(m, "0000110"), "fallback mask, exact = 0");
    const int32_t t5[] = {4, 0, 5, 1};
    is_int(mto_match_tail_mask(t5, 4, tail4, 1, &SP, m, &exact), 2, "fallback without sentinel: all but pad/eos");
    is_int(mto_match_tail_mask(t5, 4, tail4, 0, &SP, m, &exact), 2, "empty tail falls back too");

    const float lp[] = {-0.5f, -1.0f, -2.0f, -3.0f};
    const uint8_t mk[] = {0, 1, 1, 0};
    long n;
    is_near(mto_match_masked_sum(lp, mk, 4, &n), -3.0, 1e-12, "masked sum -1 + -2");
    is_int(n, 2, "masked count");

    const double sc[] = {-1.0, -0.5, -2.0, -1.0};
    is_near(mto_match_rank(sc, 4, 0), 2.5, 0, "rank: one higher, one tie -> 2.5");
    is_near(mto_match_rank(sc, 4, 1), 1.0, 0, "rank of the best is 1");
    is_near(mto_match_rank(sc, 4, 2), 4.0, 0, "rank of the worst is 4");
    const double sn[] = {NAN, -1.0}, sn2[] = {-1.0, NAN};
    is_near(mto_match_rank(sn, 2, 0), 2.0, 0, "NaN gold ranks last");
    is_near(mto_match_rank(sn2, 2, 0), 1.0, 0, "NaN candidate is ignored");

    is_near(mto_match_ppl(-6.0, 3), exp(2.0), 1e-12, "ppl exp(6/3)");
    ok(isnan(mto_match_ppl(0, 0)), "ppl without tokens is NaN");
    is_near(mto_match_mi(10.0, 4.0), 0.6, 1e-15, "MI (10-4)/10 = 0.6");
    is_near(mto_match_mi(4.0, 10.0), -1.5, 1e-15, "MI (4-10)/4 = -1.5");
    ok(isnan(mto_match_mi(INFINITY, 2.0)) && isnan(mto_match_mi(0, 2.0)), "MI undefined for inf / zero PPL");
    is_str(mto_match_family(0.6, 0.3), "filling", "0.6 >= 0.3 -> filling");
    is_str(mto_match_family(mto_match_mi(10.0, 7.0), 0.3), "filling", "MI exactly at the threshold -> filling");
    is_str(mto_match_family(0.29, 0.3), "mapping", "0.29 -> mapping");
    is_str(mto_match_family(-1.5, 0.3), "mapping", "negative MI -> mapping");
    is_str(mto_match_family(0.2, 0.1), "filling", "threshold is an option");
    ok(mto_match_family(NAN, 0.3) == NULL, "NaN MI -> no family");

    mto_match_stats st;
    mto_match_stats_init(&st);
    mto_match_stats_add(&st, -3.0, 2);
    mto_match_stats_add(&st, -1.0, 0); /* no tail tokens: skipped */
    mto_match_stats_add(&st, -3.0, 4);
    is_int(st.nex, 2, "stats: 2 examples");
    is_int(st.ntok, 6, "stats: 6 tokens");
    is_near(mto_match_mean_ll(&st), -1.0, 1e-15, "mean LL -6/6");
    is_near(mto_match_ppl(st.sum_lp, st.ntok), exp(1.0), 1e-12, "stats ppl = e");
    mto_match_stats_add_rank(&st, 1.0);
    mto_match_stats_add_rank(&st, 2.5);
    is_near(st.sum_rank / st.nrank, 1.75, 1e-15, "mean rank 1.75");
    is_near(st.sum_rr / st.nrank, 0.7, 1e-15, "MRR (1 + 0.4)/2");
    is_int(st.top1, 1, "top-1 count");
    return tap_done();
}
