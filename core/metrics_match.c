/* metrics_match.c — exact match, distinct predictions, multiple choice.
 * "Normal form" (mto style) = the metric tokens joined by single spaces
 * (metrics.h), so case, punctuation and spacing never decide a match; articles
 * are kept. A text without any metric token keeps its own bytes (ASCII
 * whitespace trimmed) as its normal form, so two different all-non-ASCII texts
 * differ. The paper style compares stripped texts byte for byte. Texts are
 * read by length: NUL bytes are ordinary bytes. */
#include "mto/alloc.h"
#include "metrics_impl.h"
#include "mto/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *s; size_t n; } form;

static int is_ascii_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13); }

/* The normal form of s in the given style (malloc'ed in f->s); 0, or -1 when out of memory. */
static int normal_form(const char *s, size_t len, int style, int is_ref, form *f)
{
    if (!s) s = "", len = 0;
    if (style == MTO_METRIC_STYLE_PAPER) {
        f->s = mto_malloc(len ? len : 1);
        if (!f->s) return -1;
        if (is_ref) f->n = mto_metric_paper_ref(s, len, f->s);
        else {
            size_t a, b;
            mto_metric_pystrip(s, len, &a, &b);
            memcpy(f->s, s + a, b - a);
            f->n = b - a;
        }
        return 0;
    }
    f->s = mto_metric_normalize_n(s, len);
    if (!f->s) return -1;
    f->n = strlen(f->s);
    if (f->n == 0) { /* no [a-z0-9] token: the text itself, ASCII whitespace trimmed */
        size_t a = 0, b = len;
        while (a < b && is_ascii_space((unsigned char)s[a])) a++;
        while (b > a && is_ascii_space((unsigned char)s[b - 1])) b--;
        char *t = mto_malloc(b - a + 1);
        if (!t) return free(f->s), f->s = NULL, -1;
        memcpy(t, s + a, b - a);
        free(f->s);
        f->s = t;
        f->n = b - a;
    }
    return 0;
}

static int form_cmp(const form *x, const form *y)
{
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

int mto_exact_match(const char *pred, const char *const *refs, size_t n)
{
    int r = mto_exact_match_n(pred, pred ? strlen(pred) : 0, refs, NULL, n, MTO_METRIC_STYLE_MTO);
    return r > 0;
}

int mto_exact_match_n(const char *pred, size_t plen, const char *const *refs,
                      const size_t *ref_lens, size_t n, int style)
{
    form p;
    if (normal_form(pred, plen, style, 0, &p)) return -1;
    int hit = 0;
    for (size_t i = 0; i < n && !hit; i++) {
        form r;
        if (normal_form(refs[i], mto_metric_len(refs, ref_lens, i), style, 1, &r)) {
            hit = -1;
            break;
        }
        hit = form_cmp(&p, &r) == 0;
        free(r.s);
    }
    free(p.s);
    return hit;
}

static int cmp_form(const void *a, const void *b) { return form_cmp(a, b); }

long mto_unique_count(const char *const *preds, size_t n)
{
    return mto_unique_count_n(preds, NULL, n, MTO_METRIC_STYLE_MTO);
}

long mto_unique_count_n(const char *const *preds, const size_t *lens, size_t n, int style)
{
    if (n == 0) return 0;
    form *v = mto_calloc(n, sizeof *v);
    long distinct = -1;
    size_t i = 0;
    if (v) {
        for (; i < n; i++) {
            const char *s = preds[i] ? preds[i] : "";
            size_t len = mto_metric_len(preds, lens, i);
            if (style == MTO_METRIC_STYLE_PAPER) { /* pandas unique(): the raw texts */
                v[i].s = mto_malloc(len ? len : 1);
                if (!v[i].s) break;
                memcpy(v[i].s, s, len);
                v[i].n = len;
            } else if (normal_form(s, len, style, 0, &v[i])) {
                break;
            }
        }
    }
    if (v && i == n) {
        qsort(v, n, sizeof *v, cmp_form);
        distinct = 1;
        for (size_t k = 1; k < n; k++) distinct += form_cmp(&v[k], &v[k - 1]) != 0;
    }
    for (size_t k = 0; v && k < n; k++) free(v[k].s);
    free(v);
    return distinct;
}

long mto_mc_pick(const char *pred, const char *const *choices, size_t n)
{
    return mto_mc_pick_n(pred, pred ? strlen(pred) : 0, choices, NULL, n);
}

long mto_mc_pick_n(const char *pred, size_t plen, const char *const *choices,
                   const size_t *choice_lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t cl = mto_metric_len(choices, choice_lens, i);
        if (mto_exact_match_n(pred, plen, &choices[i], &cl, 1, MTO_METRIC_STYLE_MTO) > 0)
            return (long)i;
    }
    /* A prediction sharing no word with any choice names none: -1 (wrong), not
     * choice 0, which would lean every score toward the first position. */
    long best = -1;
    double best_f = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t cl = mto_metric_len(choices, choice_lens, i);
        double f = mto_rouge_l_best_n(pred, plen, &choices[i], &cl, 1, MTO_METRIC_STYLE_MTO);
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
