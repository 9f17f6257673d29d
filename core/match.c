/* match.c — numerics of zero-shot matching (see mto/match.h). */
#include <math.h>
#include <string.h>

#include "mto/match.h"

static int special(int32_t id, const mto_match_special *sp)
{
    return id == 0 || id == sp->eos || (id >= sp->sent_lo && id <= sp->sent_hi);
}

size_t mto_match_tail_mask(const int32_t *tgt, size_t n, const int32_t *tail, size_t ntail,
                           const mto_match_special *sp, uint8_t *mask, int *exact)
{
    memset(mask, 0, n);
    *exact = 0;
    size_t begin = n, end = n;
    /* last occurrence: a template may repeat tail words earlier in the target */
    if (ntail > 0 && ntail <= n)
        for (size_t i = n - ntail + 1; i-- > 0;)
            if (memcmp(tgt + i, tail, ntail * sizeof *tail) == 0) {
                begin = i, end = i + ntail, *exact = 1;
                break;
            }
    if (!*exact) { /* fallback: what follows the last sentinel */
        begin = 0, end = n;
        for (size_t i = 0; i < n; i++)
            if (tgt[i] >= sp->sent_lo && tgt[i] <= sp->sent_hi) begin = i + 1;
    }
    size_t count = 0;
    for (size_t i = begin; i < end; i++)
        if (!special(tgt[i], sp)) mask[i] = 1, count++;
    return count;
}

double mto_match_masked_sum(const float *lp, const uint8_t *mask, size_t len, long *n)
{
    double s = 0;
    long k = 0;
    for (size_t i = 0; i < len; i++)
        if (mask[i]) s += lp[i], k++;
    *n = k;
    return s;
}

double mto_match_rank(const double *scores, size_t n, size_t gold)
{
    double g = scores[gold];
    if (isnan(g)) return (double)n; /* an unscorable gold is last */
    long higher = 0, tied = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == gold || isnan(scores[i])) continue;
        if (scores[i] > g) higher++;
        else if (scores[i] == g) tied++;
    }
    return 1.0 + (double)higher + 0.5 * (double)tied;
}

void mto_match_stats_init(mto_match_stats *s) { memset(s, 0, sizeof *s); }

void mto_match_stats_add(mto_match_stats *s, double sum_lp, long ntok)
{
    if (ntok <= 0) return;
    s->sum_lp += sum_lp;
    s->ntok += ntok;
    s->nex++;
}

void mto_match_stats_add_rank(mto_match_stats *s, double rank)
{
    s->sum_rank += rank;
    s->sum_rr += 1.0 / rank;
    s->top1 += rank == 1.0;
    s->nrank++;
}

double mto_match_mean_ll(const mto_match_stats *s) { return s->ntok > 0 ? s->sum_lp / (double)s->ntok : NAN; }

double mto_match_ppl(double sum_lp, long ntok) { return ntok > 0 ? exp(-sum_lp / (double)ntok) : NAN; }

double mto_match_mi(double ppl_prompting, double ppl_masked)
{
    if (!isfinite(ppl_prompting) || !isfinite(ppl_masked) || ppl_prompting <= 0 || ppl_masked <= 0) return NAN;
    return (ppl_prompting - ppl_masked) / ppl_prompting;
}

const char *mto_match_family(double mi, double threshold)
{
    if (isnan(mi)) return NULL;
    return mi >= threshold ? "filling" : "mapping";
}
