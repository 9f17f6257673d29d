/* mto/objective.h — run an objective plugin from C: (text, target) ids in,
 * the model's (input ids, target ids) out, through the validated ops table. */
#ifndef MTO_OBJECTIVE_H
#define MTO_OBJECTIVE_H

#include "mto/error.h"
#include "mto/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mto_objective mto_objective;

/* Make an instance of objective plugin `name` with opts (may be NULL). */
int mto_objective_open(const char *name, const mto_options *opts, mto_objective **obj, mto_error *err);
/* Free an instance (NULL is fine). */
void mto_objective_free(mto_objective *obj);
/* Append one example's model input and target (ending with eos) to input and target. */
int mto_objective_apply(mto_objective *obj, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                        mto_ids *target, mto_error *err);
/* The plugin's registered name. */
const char *mto_objective_name(const mto_objective *obj);
#ifdef MTO_ABI_TEST_GROWN
/* tests/abi only: the appended member, or MTO_ENOTFOUND for a plugin built without it. */
int mto_objective_describe(mto_objective *obj, mto_text *out, mto_error *err);
#endif

#ifdef __cplusplus
}
#endif
#endif
