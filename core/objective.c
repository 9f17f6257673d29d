/* objective.c — objective plugins behind a small C API (see mto/objective.h). */
#include "handle.h"
#include "mto/objective.h"

struct mto_objective {
    mto__handle h;
};

int mto_objective_open(const char *name, const mto_options *opts, mto_objective **obj, mto_error *err)
{
    *obj = mto__handle_open(MTO_KIND_OBJECTIVE, name, opts, sizeof **obj, err);
    return *obj ? 0 : err && err->code ? err->code : MTO_ENOTFOUND;
}

void mto_objective_free(mto_objective *obj) { mto__handle_free(obj); }

int mto_objective_apply(mto_objective *obj, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                        mto_ids *target, mto_error *err)
{
    const mto_objective_ops *ops = obj->h.desc->ops;
    return mto__handle_rc(&obj->h, ops->apply(obj->h.state, io, rng, input, target, err), err);
}

const char *mto_objective_name(const mto_objective *obj) { return obj->h.desc->name; }

#ifdef MTO_ABI_TEST_GROWN
int mto_objective_describe(mto_objective *obj, mto_text *out, mto_error *err)
{
    const mto_objective_ops *ops = obj->h.desc->ops;
    /* a member a later ABI appended: read only when the plugin's table has it */
    if (!MTO_HAS_MEMBER(ops, mto_objective_ops, describe) || !ops->describe)
        return mto_error_set(err, MTO_ENOTFOUND, "objective '%s' was built without describe()",
                             obj->h.desc->name);
    return mto__handle_rc(&obj->h, ops->describe(obj->h.state, out, err), err);
}
#endif
