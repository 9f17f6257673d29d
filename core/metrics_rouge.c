/* metrics_rouge.c — ROUGE-L F1 (LCS over tokens), best-of-references per head,
 * and the per-relation-then-over-relations average the paper's tables use.
 * Same numbers as Google's rouge_score (rougeL, no stemming); the paper
 * style lives in metrics_paper.c. */
#include "mto/alloc.h"
#include "metrics_impl.h"
#include "mto/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Length of the longest common subsequence; two DP rows over b. -1 if out of memory. */
static long lcs(const mto_idseq *a, const mto_idseq *b)
{
    size_t *prev = mto_calloc(b->n + 1, sizeof *prev), *cur = mto_calloc(b->n + 1, sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return -1;
    }
    for (size_t i = 1; i <= a->n; i++) {
        for (size_t j = 1; j <= b->n; j++) {
            if (a->id[i - 1] == b->id[j - 1]) cur[j] = prev[j - 1] + 1;
            else cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    long r = (long)prev[b->n];
    free(prev);
    free(cur);
    return r;
}

static double f1(const mto_idseq *pred, const mto_idseq *ref)
{
    if (pred->n == 0 || ref->n == 0) return 0.0;
    long l = lcs(pred, ref);
    if (l < 0) return NAN;
    double p = (double)l / (double)pred->n, r = (double)l / (double)ref->n;
    return p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
}

double mto_rouge_l_f1(const char *pred, const char *ref)
{
    return mto_rouge_l_best(pred, &ref, 1);
}

double mto_rouge_l_best(const char *pred, const char *const *refs, size_t n)
{
    return mto_rouge_l_best_n(pred, pred ? strlen(pred) : 0, refs, NULL, n, MTO_METRIC_STYLE_MTO);
}

double mto_rouge_l_best_n(const char *pred, size_t plen, const char *const *refs,
                          const size_t *ref_lens, size_t n, int style)
{
    if (style == MTO_METRIC_STYLE_PAPER) return mto_rouge_l_paper_best(pred, plen, refs, ref_lens, n);
    if (n == 0) return 0.0;
    const char **texts = mto_malloc((n + 1) * sizeof *texts);
    size_t *lens = mto_malloc((n + 1) * sizeof *lens);
    mto_idseq *seq = mto_malloc((n + 1) * sizeof *seq);
    int *ids = NULL;
    double best = NAN;
    if (texts && lens && seq) {
        texts[0] = pred;
        lens[0] = plen;
        for (size_t i = 0; i < n; i++) {
            texts[i + 1] = refs[i];
            lens[i + 1] = mto_metric_len(refs, ref_lens, i);
        }
        ids = mto_metric_encode(texts, lens, n + 1, seq);
    }
    if (ids) {
        best = 0.0;
        for (size_t i = 1; i <= n; i++) {
            double f = f1(&seq[0], &seq[i]);
            if (isnan(f)) { best = NAN; break; }
            if (f > best) best = f;
        }
    }
    free(ids);
    free(texts);
    free(lens);
    free(seq);
    return best;
}

typedef struct { const char *g; size_t len; size_t at; double v; } grouped;

static int cmp_bytes(const grouped *x, const grouped *y)
{
    int c = memcmp(x->g, y->g, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int cmp_group(const void *a, const void *b)
{
    const grouped *x = a, *y = b;
    int c = cmp_bytes(x, y);
    return c ? c : (x->at > y->at) - (x->at < y->at); /* stable: sums add in input order */
}

double mto_mean_by_group(const double *scores, const char *const *groups, size_t n)
{
    return mto_mean_by_group_n(scores, groups, NULL, n);
}

double mto_mean_by_group_n(const double *scores, const char *const *groups, const size_t *glens,
                           size_t n)
{
    if (n == 0) return NAN;
    grouped *v = mto_malloc(n * sizeof *v);
    if (!v) return NAN;
    for (size_t i = 0; i < n; i++) {
        const char *g = groups && groups[i] ? groups[i] : "";
        v[i] = (grouped){g, groups && groups[i] ? mto_metric_len(groups, glens, i) : 0, i, scores[i]};
    }
    qsort(v, n, sizeof *v, cmp_group);
    double sum_of_means = 0.0;
    size_t ngroups = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double s = 0.0;
        while (j < n && cmp_bytes(&v[j], &v[i]) == 0) s += v[j++].v;
        sum_of_means += s / (double)(j - i);
        ngroups++;
        i = j;
    }
    free(v);
    return sum_of_means / (double)ngroups;
}
