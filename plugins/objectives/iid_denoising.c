/* iid_denoising.c — every token is noise with probability `density` (0.15),
 * independently (T5's iid_noise_mask); each run of adjacent noise tokens
 * becomes one sentinel, so input and target look like span corruption's.
 * A draw may mask nothing: the target is then eos alone, as in T5. */
#include "noise.h"

typedef struct {
    const mto_host *h;
    double density;
} iid_state;

static int iid_create(const mto_host *h, const mto_options *o, void **state, mto_error *err)
{
    double d = h->opt_num(o, "density", 0.15);
    int rc = noise_check_params(h, "iid_denoising", d, 1.0, err);
    if (rc) return rc;
    iid_state *p = h->alloc(sizeof *p);
    if (!p) return h->error(err, MTO_ENOMEM, "iid_denoising: out of memory");
    p->h = h;
    p->density = d;
    *state = p;
    return 0;
}

static int iid_apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                     mto_ids *target, mto_error *err)
{
    iid_state *s = state;
    const mto_host *h = s->h;
    unsigned char *mask = h->alloc(io->text_len + 1);
    if (!mask) return h->error(err, MTO_ENOMEM, "iid_denoising: out of memory");
    for (size_t i = 0; i < io->text_len; i++) mask[i] = h->rng_uniform(rng) < s->density;
    int rc = noise_to_sentinels(h, io, mask, input, target, err);
    h->free(mask);
    return rc;
}

static void iid_destroy(void *state)
{
    iid_state *s = state;
    if (s) s->h->free(s);
}

static const mto_objective_ops iid_ops = {sizeof(mto_objective_ops), iid_create, iid_apply,
                                          iid_destroy};

static const mto_plugin_desc iid_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "iid_denoising", "1.0",
    "i.i.d. token noise (density 0.15); adjacent noise tokens share one sentinel", &iid_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &iid_desc, err);
}
