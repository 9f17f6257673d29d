/* metrics_impl.h — what the metric files share: texts as token-id sequences. Private. */
#ifndef MTO_METRICS_IMPL_H
#define MTO_METRICS_IMPL_H

#include <stddef.h>

typedef struct mto_idseq {
    const int *id; /* token ids; equal tokens (strcmp) have equal ids */
    size_t n;
} mto_idseq;

/* Tokenize texts[0..k) (mto_metric_tokenize) into out[0..k), ids shared across
 * all k texts. Returns the malloc'ed id storage to free() (non-NULL even when
 * there are no tokens), or NULL if memory runs out. */
int *mto_metric_encode(const char *const *texts, size_t k, mto_idseq *out);

#endif
