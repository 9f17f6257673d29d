/* duplicate.c — registers a name good.c already took, plus one fresh name:
 * the duplicate is refused, the fresh one still registers. */
#include "mto/plugin.h"

static int apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                 mto_ids *target, mto_error *err)
{
    (void)state, (void)io, (void)rng, (void)input, (void)target, (void)err;
    return 0;
}

/* apply() is the one function an objective must have (create/destroy are optional) */
static const mto_objective_ops ops = {.struct_size = sizeof(mto_objective_ops), .apply = apply};
static const mto_plugin_desc dup = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "test_copy", "0.2", "same name as good.c", &ops,
};
static const mto_plugin_desc fresh = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "test_fresh", "0.2", "a new name", &ops,
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    host->register_plugin(reg, &dup, err); /* expected to fail; keep going */
    return host->register_plugin(reg, &fresh, err);
}
