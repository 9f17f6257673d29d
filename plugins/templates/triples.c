/* triples.c — the paper's four template families for (head, relation, tail)
 * records (ATOMIC, WordNet):
 *
 *   mapping            head                               -> tail
 *   masked_mapping     head <extra_id_0>                  -> <extra_id_0> tail
 *   prompting          head + relation phrase             -> tail
 *   masked_prompting   head + relation phrase <extra_id_0> -> <extra_id_0> tail
 *
 * e.g. prompting on (PersonX applies for jobs, xIntent, to afford food) gives
 * "PersonX applies for jobs because PersonX intended" -> "to afford food".
 * Options (prefix, task_prefix, phrase, phrase.REL, phrases) in tmpl.h. */
#include "tmpl.h"

static int tri_create(const mto_host *h, const mto_options *o, void **state, mto_error *err,
                  const char *name, uint32_t flags, int with_phrase)
{
    tmpl_state *s;
    int rc = tmpl_create(h, o, name, flags, &s, err);
    if (rc) return rc;
    s->with_phrase = with_phrase;
    *state = s;
    return 0;
}

static int tri_create_mapping(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return tri_create(h, o, st, err, "mapping", 0, 0);
}
static int tri_create_masked_mapping(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return tri_create(h, o, st, err, "masked_mapping", MTO_TEMPLATE_MASKED, 0);
}
static int tri_create_prompting(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return tri_create(h, o, st, err, "prompting", 0, 1);
}
static int tri_create_masked_prompting(const mto_host *h, const mto_options *o, void **st,
                                   mto_error *err)
{
    return tri_create(h, o, st, err, "masked_prompting", MTO_TEMPLATE_MASKED, 1);
}

#define TRI_OPS(create_fn, flags) \
    {sizeof(mto_template_ops), (flags), create_fn, tmpl_render_triple, tmpl_destroy_state}

static const mto_template_ops tri_mapping_ops = TRI_OPS(tri_create_mapping, 0);
static const mto_template_ops tri_masked_mapping_ops = TRI_OPS(tri_create_masked_mapping, MTO_TEMPLATE_MASKED);
static const mto_template_ops tri_prompting_ops = TRI_OPS(tri_create_prompting, 0);
static const mto_template_ops tri_masked_prompting_ops =
    TRI_OPS(tri_create_masked_prompting, MTO_TEMPLATE_MASKED);

static const mto_plugin_desc tri_descs[] = {
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "mapping", "1.0", "head -> tail", &tri_mapping_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "masked_mapping", "1.0",
     "head <extra_id_0> -> <extra_id_0> tail", &tri_masked_mapping_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "prompting", "1.0",
     "head + relation phrase -> tail", &tri_prompting_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "masked_prompting", "1.0",
     "head + relation phrase <extra_id_0> -> <extra_id_0> tail", &tri_masked_prompting_ops},
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    for (size_t i = 0; i < sizeof tri_descs / sizeof tri_descs[0]; i++) {
        int rc = host->register_plugin(reg, &tri_descs[i], err);
        if (rc) return rc;
    }
    return 0;
}
