/* metrics_impl.h — what the metric files share: texts as token-id sequences. Private. */
#ifndef MTO_METRICS_IMPL_H
#define MTO_METRICS_IMPL_H

#include <stddef.h>

typedef struct mto_idseq {
    const int *id; /* token ids; equal tokens (strcmp) have equal ids */
    size_t n;
} mto_idseq;

/* Length of text i: lens[i], or strlen(texts[i]) when lens is NULL (a NULL text is ""). */
size_t mto_metric_len(const char *const *texts, const size_t *lens, size_t i);

/* Tokenize texts[0..k) (mto_metric_tokenize_n, text i being lens[i] bytes, or
 * NUL-terminated when lens is NULL) into out[0..k), ids shared across all k
 * texts. Returns the malloc'ed id storage to free() (non-NULL even when there
 * are no tokens), or NULL if memory runs out. */
int *mto_metric_encode(const char *const *texts, const size_t *lens, size_t k, mto_idseq *out);

/* Python's whitespace (str.isspace) for the paper style (metrics_paper.c):
 * the byte length of the whitespace character at p (< end), or 0. */
size_t mto_metric_pyspace(const unsigned char *p, const unsigned char *end);
/* s[*start..*stop) is s.strip() (Python whitespace). */
void mto_metric_pystrip(const char *s, size_t len, size_t *start, size_t *stop);
/* The paper's cleaning of a reference into out (len bytes of room):
 * re.sub(r'<extra_.*?>', '', s).strip(); returns the new length. */
size_t mto_metric_paper_ref(const char *s, size_t len, char *out);

/* The paper style of mto_rouge_l_best_n (metrics_paper.c). */
double mto_rouge_l_paper_best(const char *pred, size_t plen, const char *const *refs,
                              const size_t *ref_lens, size_t n);

#endif
