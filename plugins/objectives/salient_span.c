/* salient_span.c — mask exactly the marked span [span_begin, span_end) of a
 * text: input = text before, <extra_id_0>, text after; target = <extra_id_0>,
 * the span, eos (salient span masking, as in REALM and closed-book QA). The
 * marked span is usually a fact's tail, so the model learns to retrieve it;
 * the same shape is MTO's adaptation data (head + phrase + sentinel ->
 * sentinel + tail).
 *
 * Options: mix (0): probability that an example is span-corrupted instead;
 * density, mean_span, roll: that span corruption's settings (see
 * span_corruption.c). An example with no marked span is span-corrupted. */
#include "noise.h"

typedef struct {
    const mto_host *h;
    double mix, density, mean_span;
    int roll;
} sal_state;

static int sal_create(const mto_host *h, const mto_options *o, void **state, mto_error *err)
{
    sal_state s = {h, h->opt_num(o, "mix", 0.0), h->opt_num(o, "density", 0.15),
                   h->opt_num(o, "mean_span", 3.0), h->opt_num(o, "roll", 1.0) != 0.0};
    if (!(s.mix >= 0.0 && s.mix <= 1.0))
        return h->error(err, MTO_EINVAL, "salient_span: option mix must be in [0, 1], got %g",
                        s.mix);
    int rc = noise_check_params(h, "salient_span", s.density, s.mean_span, err);
    if (rc) return rc;
    sal_state *p = h->alloc(sizeof *p);
    if (!p) return h->error(err, MTO_ENOMEM, "salient_span: out of memory");
    *p = s;
    *state = p;
    return 0;
}

static int sal_apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                     mto_ids *target, mto_error *err)
{
    sal_state *s = state;
    const mto_host *h = s->h;
    size_t b = io->span_begin, e = io->span_end;
    if (b > e || e > io->text_len)
        return h->error(err, MTO_EINVAL, "salient_span: span [%zu, %zu) outside the text of %zu tokens",
                        b, e, io->text_len);
    if (io->n_sentinels < 1)
        return h->error(err, MTO_EINVAL, "salient_span: no sentinels available");
    int corrupt = b == e || (s->mix > 0.0 && h->rng_uniform(rng) < s->mix);
    unsigned char *mask = h->alloc(io->text_len + 1);
    if (!mask) return h->error(err, MTO_ENOMEM, "salient_span: out of memory");
    int rc = 0;
    if (corrupt)
        rc = noise_span_mask(h, rng, io->text_len, s->density, s->mean_span, s->roll,
                             (size_t)io->n_sentinels, mask, err);
    else
        for (size_t i = 0; i < io->text_len; i++) mask[i] = i >= b && i < e;
    if (rc == 0) rc = noise_to_sentinels(h, io, mask, input, target, err);
    h->free(mask);
    return rc;
}

static void sal_destroy(void *state)
{
    sal_state *s = state;
    if (s) s->h->free(s);
}

static const mto_objective_ops sal_ops = {sizeof(mto_objective_ops), sal_create, sal_apply,
                                          sal_destroy};

static const mto_plugin_desc sal_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "salient_span", "1.0",
    "mask the marked span (a fact's tail) with <extra_id_0>; option mix = share span-corrupted",
    &sal_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &sal_desc, err);
}
