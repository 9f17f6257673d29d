/* metrics_bleu.c — BLEU-4 as NLTK's nltk.translate.bleu_score computes it
 * (sentence_bleu = corpus_bleu of one pair), weights (.25,.25,.25,.25):
 *   p_n = sum clipped n-gram matches / sum max(1, #hyp n-grams)   (modified precision;
 *         a hyp n-gram's count is clipped to its max count in any one reference)
 *   if no unigram matches: 0
 *   smoothing: none (method0) replaces p_n = 0 by DBL_MIN; method1 by 0.1/denominator
 *   BP = 1 if c > r, 0 if c = 0, else exp(1 - r/c), r = sum of closest reference
 *        lengths (ties -> shorter), c = sum of hypothesis lengths
 *   BLEU = BP * exp(sum_n .25 * log p_n)
 * Tokens as in metrics.h. */
#include "mto/alloc.h"
#include "metrics_impl.h"
#include "mto/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ORDER 4
#define EPSILON 0.1 /* NLTK SmoothingFunction(epsilon=0.1) */

typedef struct {
    long num[MAX_ORDER + 1], den[MAX_ORDER + 1];
    long hyp_len, ref_len;
} bleu_counts;

static size_t count_in(const mto_idseq *s, const int *gram, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i + n <= s->n; i++) c += memcmp(s->id + i, gram, n * sizeof(int)) == 0;
    return c;
}

/* Add one example (seq[0] = hypothesis, seq[1..nref] = references) to the counts. */
static void add_example(bleu_counts *bc, const mto_idseq *seq, size_t nref)
{
    const mto_idseq *h = &seq[0];
    for (size_t n = 1; n <= MAX_ORDER; n++) {
        long matched = 0, total = h->n >= n ? (long)(h->n - n + 1) : 0;
        for (size_t i = 0; i + n <= h->n; i++) {
            const int *g = h->id + i;
            size_t first = 1; /* count each distinct n-gram once, at its first position */
            for (size_t j = 0; j < i && first; j++) first = memcmp(h->id + j, g, n * sizeof(int)) != 0;
            if (!first) continue;
            size_t ch = count_in(h, g, n), cmax = 0;
            for (size_t r = 1; r <= nref; r++) {
                size_t cr = count_in(&seq[r], g, n);
                if (cr > cmax) cmax = cr;
            }
            matched += (long)(ch < cmax ? ch : cmax);
        }
        bc->num[n] += matched;
        bc->den[n] += total > 1 ? total : 1;
    }
    /* closest reference length; on a tie the shorter one */
    long hl = (long)h->n, best = -1;
    for (size_t r = 1; r <= nref; r++) {
        long rl = (long)seq[r].n;
        if (best < 0 || labs(rl - hl) < labs(best - hl) || (labs(rl - hl) == labs(best - hl) && rl < best))
            best = rl;
    }
    bc->hyp_len += hl;
    bc->ref_len += best < 0 ? 0 : best;
}

static double finish(const bleu_counts *bc, int smoothing)
{
    if (bc->num[1] == 0) return 0.0;
    double terms[MAX_ORDER];
    for (int n = 1; n <= MAX_ORDER; n++) {
        double p;
        if (bc->num[n] != 0) p = (double)bc->num[n] / (double)bc->den[n];
        else if (smoothing == MTO_BLEU_SMOOTH_METHOD1) p = (0 + EPSILON) / (double)bc->den[n];
        else p = DBL_MIN; /* NLTK method0 */
        terms[n - 1] = 0.25 * log(p);
    }
    /* Neumaier summation, standing in for Python's math.fsum */
    double s = 0.0, comp = 0.0;
    for (int i = 0; i < MAX_ORDER; i++) {
        double t = s + terms[i];
        comp += fabs(s) >= fabs(terms[i]) ? (s - t) + terms[i] : (terms[i] - t) + s;
        s = t;
    }
    s += comp;
    double bp;
    if (bc->hyp_len > bc->ref_len) bp = 1.0;
    else if (bc->hyp_len == 0) bp = 0.0;
    else bp = exp(1.0 - (double)bc->ref_len / (double)bc->hyp_len);
    return bp * exp(s);
}

/* Encode one example and add it; 0 or -1 when out of memory. */
static int add_text(bleu_counts *bc, const char *pred, size_t plen, const char *const *refs,
                    const size_t *ref_lens, size_t n)
{
    const char **texts = mto_malloc((n + 1) * sizeof *texts);
    size_t *lens = mto_malloc((n + 1) * sizeof *lens);
    mto_idseq *seq = mto_malloc((n + 1) * sizeof *seq);
    int *ids = NULL;
    if (texts && lens && seq) {
        texts[0] = pred;
        lens[0] = plen;
        for (size_t i = 0; i < n; i++) {
            texts[i + 1] = refs[i];
            lens[i + 1] = mto_metric_len(refs, ref_lens, i);
        }
        ids = mto_metric_encode(texts, lens, n + 1, seq);
    }
    if (ids) add_example(bc, seq, n);
    int rc = ids ? 0 : -1;
    free(ids);
    free(texts);
    free(lens);
    free(seq);
    return rc;
}

double mto_bleu_sentence(const char *pred, const char *const *refs, size_t n, int smoothing)
{
    return mto_bleu_sentence_n(pred, pred ? strlen(pred) : 0, refs, NULL, n, smoothing);
}

double mto_bleu_sentence_n(const char *pred, size_t plen, const char *const *refs,
                           const size_t *ref_lens, size_t n, int smoothing)
{
    if (n == 0) return 0.0;
    bleu_counts bc = {0};
    if (add_text(&bc, pred, plen, refs, ref_lens, n)) return NAN;
    return finish(&bc, smoothing);
}

double mto_bleu_corpus(const char *const *preds, const char *const *const *refs,
                       const size_t *nrefs, size_t n, int smoothing)
{
    return mto_bleu_corpus_n(preds, NULL, refs, NULL, nrefs, n, smoothing);
}

double mto_bleu_corpus_n(const char *const *preds, const size_t *pred_lens,
                         const char *const *const *refs, const size_t *const *ref_lens,
                         const size_t *nrefs, size_t n, int smoothing)
{
    bleu_counts bc = {0};
    for (size_t i = 0; i < n; i++)
        if (add_text(&bc, preds[i], mto_metric_len(preds, pred_lens, i), refs[i],
                     ref_lens ? ref_lens[i] : NULL, nrefs[i]))
            return NAN;
    return finish(&bc, smoothing);
}
