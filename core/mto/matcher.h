/* mto/matcher.h — run a matcher plugin from C: a task summary record in, a
 * recommended objective family ("filling", "mapping" or none) and a reason out. */
#ifndef MTO_MATCHER_H
#define MTO_MATCHER_H

#include "mto/error.h"
#include "mto/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mto_matcher mto_matcher;

/* Make an instance of matcher plugin `name` with opts (may be NULL). */
int mto_matcher_open(const char *name, const mto_options *opts, mto_matcher **m, mto_error *err);
/* Free an instance (NULL is fine). */
void mto_matcher_free(mto_matcher *m);
/* Append the family (left empty: no opinion) and a one-line reason. */
int mto_matcher_decide(mto_matcher *m, const mto_record *task_summary, mto_text *family, mto_text *why,
                       mto_error *err);
/* The plugin's registered name. */
const char *mto_matcher_name(const mto_matcher *m);

#ifdef __cplusplus
}
#endif
#endif
