/* metrics_paper.c — the "paper" metric style: ROUGE-L as the MTO paper's code
 * computes it with the rouge package (pltrdy/rouge 1.0.1), and its cleaning of
 * references. Written for mto from reading that package's rouge.py and
 * rouge_score.py and the paper's attempt/metrics/metrics.py; the definition is
 * in mto/metrics.h (mto_rouge_l_paper_pair). Texts are read by length. */
#include "mto/alloc.h"
#include "metrics_impl.h"
#include "mto/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Byte length of the Python whitespace character (str.isspace) at p, or 0.
 * ASCII 9-13, 28-31, 32; U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000 in UTF-8. Invalid UTF-8 is never space. */
size_t mto_metric_pyspace(const unsigned char *p, const unsigned char *end)
{
    size_t left = (size_t)(end - p);
    unsigned char c = p[0];
    if ((c >= 9 && c <= 13) || (c >= 28 && c <= 32)) return 1;
    if (c == 0xC2 && left >= 2 && (p[1] == 0x85 || p[1] == 0xA0)) return 2;
    if (left < 3) return 0;
    if (c == 0xE1 && p[1] == 0x9A && p[2] == 0x80) return 3;
    if (c == 0xE2 && p[1] == 0x80 && ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
        return 3;
    if (c == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) return 3;
    if (c == 0xE3 && p[1] == 0x80 && p[2] == 0x80) return 3;
    return 0;
}

void mto_metric_pystrip(const char *s, size_t len, size_t *start, size_t *stop)
{
    const unsigned char *u = (const unsigned char *)s, *p = u, *end = u + len;
    size_t first = len, last = 0;
    while (p < end) {
        size_t w = mto_metric_pyspace(p, end);
        if (w) {
            p += w;
            continue;
        }
        if (first == len) first = (size_t)(p - u);
        p++;
        last = (size_t)(p - u);
    }
    if (first == len) first = last = 0;
    *start = first;
    *stop = last;
}

size_t mto_metric_paper_ref(const char *s, size_t len, char *out)
{
    /* re.sub(r'<extra_.*?>', '', s): '.' does not match a newline */
    size_t w = 0, i = 0;
    while (i < len) {
        if (len - i >= 7 && memcmp(s + i, "<extra_", 7) == 0) {
            size_t j = i + 7;
            while (j < len && s[j] != '>' && s[j] != '\n') j++;
            if (j < len && s[j] == '>') {
                i = j + 1;
                continue;
            }
        }
        out[w++] = s[i++];
    }
    size_t a, b;
    mto_metric_pystrip(out, w, &a, &b);
    memmove(out, out + a, b - a);
    return b - a;
}

typedef struct {
    const char *s;
    size_t n;
    int *id; /* where the word's id goes */
} word;

typedef struct {
    size_t nwords, nsent;
    size_t *sent;  /* sentence k = words [sent[k], sent[k+1]) */
    int *id;       /* word ids */
} doc;

/* Count (words == NULL) or fill the words of a text, sentence by sentence. */
static void split_doc(const char *s, size_t len, doc *d, word *words)
{
    const unsigned char *u = (const unsigned char *)s, *end = u + len;
    size_t nw = 0, ns = 0;
    const unsigned char *p = u;
    while (p <= end) {
        const unsigned char *dot = memchr(p, '.', (size_t)(end - p));
        const unsigned char *stop = dot ? dot : end;
        if (stop > p) { /* a non-empty piece: one sentence */
            if (words) d->sent[ns] = nw;
            ns++;
            size_t before = nw;
            const unsigned char *q = p;
            while (q < stop) {
                size_t sp = mto_metric_pyspace(q, stop);
                if (sp) {
                    q += sp;
                    continue;
                }
                const unsigned char *w0 = q;
                while (q < stop && !mto_metric_pyspace(q, stop)) q++;
                if (words) words[nw] = (word){(const char *)w0, (size_t)(q - w0), &d->id[nw]};
                nw++;
            }
            if (nw == before) { /* only whitespace: " ".join([]) == "", one empty word */
                if (words) words[nw] = (word){(const char *)p, 0, &d->id[nw]};
                nw++;
            }
        }
        if (!dot) break;
        p = dot + 1;
    }
    if (words) d->sent[ns] = nw;
    d->nwords = nw;
    d->nsent = ns;
}

static int cmp_word(const void *a, const void *b)
{
    const word *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Number of distinct ids among ids[0..n), using mark[] (size nid, all 0 on entry and exit). */
static size_t distinct(const int *ids, size_t n, unsigned char *mark)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!mark[ids[i]]) mark[ids[i]] = 1, k++;
    for (size_t i = 0; i < n; i++) mark[ids[i]] = 0;
    return k;
}

double mto_rouge_l_paper_pair(const char *hyp, size_t hlen, const char *ref, size_t rlen)
{
    if (!hyp) hyp = "", hlen = 0;
    if (!ref) ref = "", rlen = 0;
    if (hlen == 0 || rlen == 0) return -1.0; /* ignore_empty drops the pair; zip(*[]) raises */
    doc h = {0}, r = {0};
    split_doc(hyp, hlen, &h, NULL);
    split_doc(ref, rlen, &r, NULL);
    if (h.nsent == 0 || r.nsent == 0) return -1.0; /* "Hypothesis is empty." / "Reference is empty." */
    size_t total = h.nwords + r.nwords, maxr = 0, maxh = 0;
    double f = NAN;
    word *words = mto_malloc(total * sizeof *words);
    int *ids = mto_malloc(total * sizeof *ids);
    h.sent = mto_malloc((h.nsent + 1) * sizeof *h.sent);
    r.sent = mto_malloc((r.nsent + 1) * sizeof *r.sent);
    unsigned char *mark = mto_calloc(total, 1), *in_union = mto_calloc(total, 1);
    size_t *table = NULL;
    if (!words || !ids || !h.sent || !r.sent || !mark || !in_union) goto done;
    h.id = ids;
    r.id = ids + h.nwords;
    split_doc(hyp, hlen, &h, words);
    split_doc(ref, rlen, &r, words + h.nwords);
    qsort(words, total, sizeof *words, cmp_word);
    int next = -1;
    for (size_t i = 0; i < total; i++) {
        if (i == 0 || cmp_word(&words[i], &words[i - 1])) next++;
        *words[i].id = next;
    }
    size_t m = distinct(r.id, r.nwords, mark), n = distinct(h.id, h.nwords, mark);
    for (size_t k = 0; k < r.nsent; k++)
        if (r.sent[k + 1] - r.sent[k] > maxr) maxr = r.sent[k + 1] - r.sent[k];
    for (size_t k = 0; k < h.nsent; k++)
        if (h.sent[k + 1] - h.sent[k] > maxh) maxh = h.sent[k + 1] - h.sent[k];
    table = mto_malloc((maxr + 1) * (maxh + 1) * sizeof *table);
    if (!table) goto done;
    size_t llcs = 0, W = maxh + 1;
    for (size_t a = 0; a < r.nsent; a++) {
        const int *x = r.id + r.sent[a];
        size_t nx = r.sent[a + 1] - r.sent[a];
        for (size_t b = 0; b < h.nsent; b++) {
            const int *y = h.id + h.sent[b];
            size_t ny = h.sent[b + 1] - h.sent[b];
            for (size_t i = 0; i <= nx; i++)
                for (size_t j = 0; j <= ny; j++) {
                    size_t v = 0;
                    if (i && j) {
                        if (x[i - 1] == y[j - 1]) v = table[(i - 1) * W + j - 1] + 1;
                        else {
                            size_t up = table[(i - 1) * W + j], left = table[i * W + j - 1];
                            v = up > left ? up : left;
                        }
                    }
                    table[i * W + j] = v;
                }
            /* the package's _recon_lcs: match -> diagonal; up if strictly larger; else left */
            size_t i = nx, j = ny;
            while (i && j) {
                if (x[i - 1] == y[j - 1]) {
                    if (!in_union[x[i - 1]]) in_union[x[i - 1]] = 1, llcs++;
                    i--, j--;
                } else if (table[(i - 1) * W + j] > table[i * W + j - 1]) i--;
                else j--;
            }
        }
    }
    double p = (double)llcs / (double)n, rr = (double)llcs / (double)m;
    f = 2.0 * ((p * rr) / (p + rr + 1e-8));
done:
    free(words);
    free(ids);
    free(h.sent);
    free(r.sent);
    free(mark);
    free(in_union);
    free(table);
    return f;
}

double mto_rouge_l_paper_best(const char *pred, size_t plen, const char *const *refs,
                              const size_t *ref_lens, size_t n)
{
    if (!pred) pred = "", plen = 0;
    double best = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t len = mto_metric_len(refs, ref_lens, i);
        char *clean = mto_malloc(len ? len : 1);
        if (!clean) return NAN;
        size_t cl = mto_metric_paper_ref(refs[i] ? refs[i] : "", len, clean);
        double f = mto_rouge_l_paper_pair(pred, plen, clean, cl);
        free(clean);
        if (isnan(f)) return NAN;
        if (f < 0) return 0.0; /* do_score: any raise makes the head's score 0 */
        if (i == 0 || f > best) best = f;
    }
    return best;
}
