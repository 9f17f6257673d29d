/* prefix_lm.c — split a text at a random point: input = prefix, target =
 * the rest + eos (T5's prefix_lm / random_prefix_noise_mask).
 *
 * The prefix keeps k tokens, k uniform in [lo, len-1] with
 * lo = max(1, round((1 - 2*density) * (len-1))); density 0.5 (the default)
 * gives k uniform in [1, len-1], so the prefix and the target are never
 * empty when len >= 2. A 1-token text goes entirely to the target. */
#include <math.h>

#include "noise.h"

typedef struct {
    const mto_host *h;
    double density;
} plm_state;

static int plm_create(const mto_host *h, const mto_options *o, void **state, mto_error *err)
{
    double d = h->opt_num(o, "density", 0.5);
    if (!(d > 0.0 && d <= 0.5))
        return h->error(err, MTO_EINVAL, "prefix_lm: option density must be in (0, 0.5], got %g",
                        d);
    plm_state *p = h->alloc(sizeof *p);
    if (!p) return h->error(err, MTO_ENOMEM, "prefix_lm: out of memory");
    p->h = h;
    p->density = d;
    *state = p;
    return 0;
}

static int plm_apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                     mto_ids *target, mto_error *err)
{
    plm_state *s = state;
    const mto_host *h = s->h;
    size_t len = io->text_len, k = 0;
    if (len >= 2) {
        size_t hi = len - 1;
        double l = rint((1.0 - 2.0 * s->density) * (double)hi);
        size_t lo = l < 1 ? 1 : (size_t)l;
        if (lo > hi) lo = hi;
        k = lo + noise_below(h, rng, hi - lo + 1);
    }
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++)
        rc = h->ids_push(i < k ? input : target, io->text[i]);
    if (rc == 0) rc = h->ids_push(target, io->eos_id);
    if (rc) return h->error(err, MTO_ENOMEM, "prefix_lm: out of memory");
    return 0;
}

static void plm_destroy(void *state)
{
    plm_state *s = state;
    if (s) s->h->free(s);
}

static const mto_objective_ops plm_ops = {sizeof(mto_objective_ops), plm_create, plm_apply,
                                          plm_destroy};

static const mto_plugin_desc plm_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "prefix_lm", "1.0",
    "prefix LM: input = random prefix, target = continuation + eos", &plm_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &plm_desc, err);
}
