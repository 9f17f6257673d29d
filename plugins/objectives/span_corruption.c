/* span_corruption.c — T5's pre-training objective.
 *
 * round(len * density) tokens (at least 1, at most len-1) are noise, cut into
 * max(1, round(noise / mean_span)) spans; span and gap lengths are random
 * segmentations, interleaved gap first (noise.c). Each span becomes the next
 * sentinel in the input; the target lists sentinel, span, sentinel, span, ...,
 * eos.
 *
 * Options: density (0.15), mean_span (3), roll (1: rotate the pattern by a
 * uniform offset so short texts are not always masked at the end; 0: T5's
 * original placement, which always ends in a noise span). */
#include "noise.h"

typedef struct {
    const mto_host *h;
    double density, mean_span;
    int roll;
} span_state;

static int span_create(const mto_host *h, const mto_options *o, void **state, mto_error *err)
{
    span_state s = {h, h->opt_num(o, "density", 0.15), h->opt_num(o, "mean_span", 3.0),
                    h->opt_num(o, "roll", 1.0) != 0.0};
    int rc = noise_check_params(h, "span_corruption", s.density, s.mean_span, err);
    if (rc) return rc;
    span_state *p = h->alloc(sizeof *p);
    if (!p) return h->error(err, MTO_ENOMEM, "span_corruption: out of memory");
    *p = s;
    *state = p;
    return 0;
}

static int span_apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                      mto_ids *target, mto_error *err)
{
    span_state *s = state;
    const mto_host *h = s->h;
    unsigned char *mask = h->alloc(io->text_len + 1);
    if (!mask) return h->error(err, MTO_ENOMEM, "span_corruption: out of memory");
    size_t max_spans = io->n_sentinels > 0 ? (size_t)io->n_sentinels : 0;
    int rc = noise_span_mask(h, rng, io->text_len, s->density, s->mean_span, s->roll, max_spans,
                             mask, err);
    if (rc == 0) rc = noise_to_sentinels(h, io, mask, input, target, err);
    h->free(mask);
    return rc;
}

static void span_destroy(void *state)
{
    span_state *s = state;
    if (s) s->h->free(s);
}

static const mto_objective_ops span_ops = {sizeof(mto_objective_ops), span_create, span_apply,
                                           span_destroy};

static const mto_plugin_desc span_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "span_corruption", "1.0",
    "T5 span corruption: random spans -> sentinels (density 0.15, mean span 3)", &span_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &span_desc, err);
}
