/* mapping.c — the classic supervised seq2seq format: input = the text,
 * target = the supervised target + eos. No randomness. An example without a
 * target (io->target == NULL) is an error: mapping cannot invent one. */
#include "mto/plugin.h"

static int map_create(const mto_host *h, const mto_options *o, void **state, mto_error *err)
{
    (void)o;
    (void)err;
    *state = (void *)h; /* the only state is the host table */
    return 0;
}

static int map_apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                     mto_ids *target, mto_error *err)
{
    const mto_host *h = state;
    (void)rng;
    if (!io->target && io->target_len == 0)
        return h->error(err, MTO_EINVAL,
                        "mapping: the example has no supervised target (give one, or use "
                        "span_corruption / prefix_lm for raw text)");
    int rc = 0;
    for (size_t i = 0; i < io->text_len && rc == 0; i++) rc = h->ids_push(input, io->text[i]);
    for (size_t i = 0; i < io->target_len && rc == 0; i++) rc = h->ids_push(target, io->target[i]);
    if (rc == 0) rc = h->ids_push(target, io->eos_id);
    if (rc) return h->error(err, MTO_ENOMEM, "mapping: out of memory");
    return 0;
}

static void map_destroy(void *state) { (void)state; }

static const mto_objective_ops map_ops = {sizeof(mto_objective_ops), map_create, map_apply,
                                          map_destroy};

static const mto_plugin_desc map_desc = {MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "mapping",
                                         "1.0", "supervised pair as is: input -> target + eos",
                                         &map_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &map_desc, err);
}
