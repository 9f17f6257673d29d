/* metrics_tokens.c — the tokenizer of the default ("mto") metric style (see
 * metrics.h): lowercase ASCII, anything outside [a-z0-9] separates tokens.
 * Texts are read by length, so an embedded NUL byte is one more separator. */
#include "mto/alloc.h"
#include "metrics_impl.h"
#include "mto/metrics.h"

#include <stdlib.h>
#include <string.h>

static int is_tok(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static char lower(unsigned char c) { return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); }

size_t mto_metric_len(const char *const *texts, const size_t *lens, size_t i)
{
    if (lens) return lens[i];
    return texts[i] ? strlen(texts[i]) : 0;
}

char **mto_metric_tokenize(const char *s, size_t *n)
{
    return mto_metric_tokenize_n(s, s ? strlen(s) : 0, n);
}

char **mto_metric_tokenize_n(const char *s, size_t len, size_t *n)
{
    if (!s) s = "", len = 0;
    const unsigned char *u = (const unsigned char *)s, *end = u + len;
    size_t count = 0, chars = 0;
    for (const unsigned char *p = u; p < end; p++) {
        if (is_tok(*p)) {
            chars++;
            if (p == u || !is_tok(p[-1])) count++;
        }
    }
    /* one block: count+1 pointers, then each token with its NUL */
    char **v = mto_malloc((count + 1) * sizeof(char *) + chars + count);
    if (!v) return NULL;
    char *w = (char *)(v + count + 1);
    size_t k = 0;
    const unsigned char *p = u;
    while (p < end) {
        if (!is_tok(*p)) { p++; continue; }
        v[k++] = w;
        while (p < end && is_tok(*p)) *w++ = lower(*p++);
        *w++ = '\0';
    }
    v[k] = NULL;
    if (n) *n = k;
    return v;
}

char *mto_metric_normalize(const char *s)
{
    return mto_metric_normalize_n(s, s ? strlen(s) : 0);
}

char *mto_metric_normalize_n(const char *s, size_t slen)
{
    size_t n;
    char **t = mto_metric_tokenize_n(s, slen, &n);
    if (!t) return NULL;
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(t[i]) + 1;
    char *out = mto_malloc(len), *w = out;
    if (out) {
        for (size_t i = 0; i < n; i++) {
            if (i) *w++ = ' ';
            size_t l = strlen(t[i]);
            memcpy(w, t[i], l);
            w += l;
        }
        *w = '\0';
    }
    free(t);
    return out;
}

typedef struct { const char *s; int *slot; } tok_ref;

static int cmp_tok(const void *a, const void *b)
{
    return strcmp(((const tok_ref *)a)->s, ((const tok_ref *)b)->s);
}

int *mto_metric_encode(const char *const *texts, const size_t *lens, size_t k, mto_idseq *out)
{
    char ***toks = mto_calloc(k ? k : 1, sizeof *toks);
    if (!toks) return NULL;
    size_t total = 0, ok = 1;
    for (size_t i = 0; i < k && ok; i++) {
        toks[i] = mto_metric_tokenize_n(texts[i], mto_metric_len(texts, lens, i), &out[i].n);
        ok = toks[i] != NULL;
        if (ok) total += out[i].n;
    }
    int *ids = ok ? mto_malloc((total ? total : 1) * sizeof(int)) : NULL;
    tok_ref *refs = ids ? mto_malloc((total ? total : 1) * sizeof *refs) : NULL;
    if (refs) {
        /* sort every token occurrence by text, then number the distinct ones */
        size_t at = 0;
        for (size_t i = 0; i < k; i++) {
            out[i].id = ids + at;
            for (size_t j = 0; j < out[i].n; j++, at++) refs[at] = (tok_ref){toks[i][j], ids + at};
        }
        qsort(refs, total, sizeof *refs, cmp_tok);
        int next = -1;
        for (size_t t = 0; t < total; t++) {
            if (t == 0 || strcmp(refs[t].s, refs[t - 1].s)) next++;
            *refs[t].slot = next;
        }
    } else {
        free(ids);
        ids = NULL;
    }
    free(refs);
    for (size_t i = 0; i < k; i++) free(toks[i]);
    free(toks);
    return ids;
}
