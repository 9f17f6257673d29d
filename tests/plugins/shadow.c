/* shadow.c — a plugin that registers an objective named like a built-in
 * ("mapping") and one with a fresh name ("test_shadow_fresh"), the way an init
 * that stops at the first error does: the built-in's name is refused unless
 * MTO_PLUGIN_OVERRIDE=mapping, the fresh one always registers
 * (tests/plugin_safety.sh). */
#include "mto/plugin.h"

static const mto_host *H;

static int apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                 mto_ids *target, mto_error *err)
{
    (void)state; (void)rng; (void)err;
    for (size_t i = 0; i < io->text_len; i++) H->ids_push(input, io->text[i]);
    return H->ids_push(target, io->eos_id);
}

static const mto_objective_ops ops = {
    .struct_size = sizeof(mto_objective_ops),
    .apply = apply,
};

static const mto_plugin_desc descs[] = {
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "mapping", "9.9", "a shadow of the built-in", &ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "test_shadow_fresh", "9.9", "a fresh name", &ops},
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    H = host;
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
        int rc = host->register_plugin(reg, &descs[i], err);
        if (rc) return rc;
    }
    return 0;
}
