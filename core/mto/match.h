/* mto/match.h — the numerics of zero-shot task-to-objective matching
 * (DESIGN.md §5): which target positions count (tail tokens only), the rank
 * of the gold target among candidates, perplexity, the maskability index
 * and the family it suggests. The orchestration (templates, sampling,
 * batching, tables) is lua/mto/match.lua. */
#ifndef MTO_MATCH_H
#define MTO_MATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ids that never count as tail tokens: pad 0, eos, and sentinels in [sent_lo, sent_hi]. */
typedef struct mto_match_special {
    int32_t eos, sent_lo, sent_hi;
} mto_match_special;

/* Mark in mask[0..n) the positions of tgt that belong to the tail: the last
 * occurrence of tail[0..ntail) as a contiguous run (*exact = 1); if the run is
 * absent (tokenized differently in context), every position after the last
 * sentinel (*exact = 0). Special ids are never marked. Returns the count. */
size_t mto_match_tail_mask(const int32_t *tgt, size_t n, const int32_t *tail, size_t ntail,
                           const mto_match_special *sp, uint8_t *mask, int *exact);

/* Sum of lp over marked positions (count in *n). */
double mto_match_masked_sum(const float *lp, const uint8_t *mask, size_t len, long *n);

/* Rank of scores[gold] among scores[0..n): 1 + #higher + #tied/2 (ties share the mean rank). NaN scores rank last. */
double mto_match_rank(const double *scores, size_t n, size_t gold);

/* Running statistics of one (task, template). */
typedef struct mto_match_stats {
    double sum_lp;   /* tail-token log-probs of the gold targets */
    long ntok;       /* tail tokens counted */
    long nex;        /* examples counted */
    double sum_rank; /* gold ranks */
    double sum_rr;   /* reciprocal ranks */
    long top1;       /* golds ranked strictly first (rank == 1) */
    long nrank;      /* examples ranked */
} mto_match_stats;

void mto_match_stats_init(mto_match_stats *s);
/* One gold example: its tail log-prob sum and token count (examples with ntok 0 are skipped). */
void mto_match_stats_add(mto_match_stats *s, double sum_lp, long ntok);
/* One ranking of the gold among candidates. */
void mto_match_stats_add_rank(mto_match_stats *s, double rank);
/* Mean log-likelihood per tail token (NaN without tokens). */
double mto_match_mean_ll(const mto_match_stats *s);
/* Perplexity exp(-sum_lp / ntok) (NaN without tokens). */
double mto_match_ppl(double sum_lp, long ntok);

/* MI = (ppl_prompting - ppl_masked) / ppl_prompting; NaN unless both are finite and > 0. */
double mto_match_mi(double ppl_prompting, double ppl_masked);
/* "filling" if mi >= threshold, "mapping" otherwise; NULL if mi is NaN. */
const char *mto_match_family(double mi, double threshold);

#ifdef __cplusplus
}
#endif
#endif
