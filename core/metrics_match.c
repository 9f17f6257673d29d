/* metrics_match.c — exact match, distinct predictions, multiple choice.
 * "Normal form" = the metric tokens joined by single spaces (metrics.h), so
 * case, punctuation and spacing never decide a match; articles are kept. */
#include "mto/alloc.h"
#include "mto/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int mto_exact_match(const char *pred, const char *const *refs, size_t n)
{
    char *p = mto_metric_normalize(pred);
    int hit = 0;
    for (size_t i = 0; p && i < n && !hit; i++) {
        char *r = mto_metric_normalize(refs[i]);
        hit = r && strcmp(p, r) == 0;
        free(r);
    }
    free(p);
    return hit;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

long mto_unique_count(const char *const *preds, size_t n)
{
    if (n == 0) return 0;
    char **v = mto_calloc(n, sizeof *v);
    long distinct = -1;
    size_t i = 0;
    if (v) {
        for (; i < n; i++)
            if (!(v[i] = mto_metric_normalize(preds[i]))) break;
    }
    if (v && i == n) {
        qsort(v, n, sizeof *v, cmp_str);
        distinct = 1;
        for (size_t k = 1; k < n; k++) distinct += strcmp(v[k], v[k - 1]) != 0;
    }
    for (size_t k = 0; v && k < n; k++) free(v[k]);
    free(v);
    return distinct;
}

long mto_mc_pick(const char *pred, const char *const *choices, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mto_exact_match(pred, &choices[i], 1)) return (long)i;
    long best = n ? 0 : -1;
    double best_f = -1.0;
    for (size_t i = 0; i < n; i++) {
        double f = mto_rouge_l_f1(pred, choices[i]);
        if (f > best_f) {
            best_f = f;
            best = (long)i;
        }
    }
    return best;
}

double mto_mc_accuracy(const long *pred, const long *gold, size_t n)
{
    if (n == 0) return NAN;
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) hit += pred[i] == gold[i];
    return (double)hit / (double)n;
}
