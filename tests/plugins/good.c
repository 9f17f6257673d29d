/* good.c — a well-formed test plugin: one objective that copies its input. */
#include "mto/plugin.h"

static int apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                 mto_ids *target, mto_error *err);

static const mto_host *H;

static const mto_objective_ops ops = {
    .struct_size = sizeof(mto_objective_ops),
    .apply = apply,
};

static const mto_plugin_desc desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "test_copy", "0.1", "copies input to target", &ops,
};

static int apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                 mto_ids *target, mto_error *err)
{
    (void)state; (void)rng; (void)err;
    for (size_t i = 0; i < io->text_len; i++) {
        H->ids_push(input, io->text[i]);
        H->ids_push(target, io->text[i]);
    }
    return H->ids_push(target, io->eos_id);
}

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    H = host;
    return host->register_plugin(reg, &desc, err);
}
