/* prompt_tuning.c — templates for prompt tuning: the host puts k trainable
 * soft tokens before (SOFT_PRE) or after (SOFT_POST) the rendered text; only
 * those embeddings train. The text is the head (plus the relation phrase with
 * option with_phrase=1); masked variants end the input with the mask slot,
 * and SOFT_POST tokens belong before that trailing <extra_id_0>:
 *
 *   pre_pt          [P1..Pk] head               -> tail
 *   masked_pre_pt   [P1..Pk] head <extra_id_0>  -> <extra_id_0> tail
 *   post_pt         head [P1..Pk]               -> tail
 *   masked_post_pt  head [P1..Pk] <extra_id_0>  -> <extra_id_0> tail */
#include "tmpl.h"

static int pt_create(const mto_host *h, const mto_options *o, void **state, mto_error *err,
                  const char *name, uint32_t flags)
{
    tmpl_state *s;
    int rc = tmpl_create(h, o, name, flags, &s, err);
    if (rc) return rc;
    *state = s; /* with_phrase comes from the option (default 0; 1 with phrases = "paper") */
    return 0;
}

#define PT_PRE MTO_TEMPLATE_SOFT_PRE
#define PT_POST MTO_TEMPLATE_SOFT_POST
#define PT_MASK MTO_TEMPLATE_MASKED

static int pt_create_pre(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return pt_create(h, o, st, err, "pre_pt", PT_PRE);
}
static int pt_create_masked_pre(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return pt_create(h, o, st, err, "masked_pre_pt", PT_PRE | PT_MASK);
}
static int pt_create_post(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return pt_create(h, o, st, err, "post_pt", PT_POST);
}
static int pt_create_masked_post(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return pt_create(h, o, st, err, "masked_post_pt", PT_POST | PT_MASK);
}

#define PT_OPS(create_fn, flags) \
    {sizeof(mto_template_ops), (flags), create_fn, tmpl_render_triple, tmpl_destroy_state}

static const mto_template_ops pt_pre_ops = PT_OPS(pt_create_pre, PT_PRE);
static const mto_template_ops pt_masked_pre_ops = PT_OPS(pt_create_masked_pre, PT_PRE | PT_MASK);
static const mto_template_ops pt_post_ops = PT_OPS(pt_create_post, PT_POST);
static const mto_template_ops pt_masked_post_ops = PT_OPS(pt_create_masked_post, PT_POST | PT_MASK);

static const mto_plugin_desc pt_descs[] = {
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "pre_pt", "1.0", "[soft prompt] head -> tail",
     &pt_pre_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "masked_pre_pt", "1.0",
     "[soft prompt] head <extra_id_0> -> <extra_id_0> tail", &pt_masked_pre_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "post_pt", "1.0", "head [soft prompt] -> tail",
     &pt_post_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "masked_post_pt", "1.0",
     "head [soft prompt] <extra_id_0> -> <extra_id_0> tail", &pt_masked_post_ops},
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    for (size_t i = 0; i < sizeof pt_descs / sizeof pt_descs[0]; i++) {
        int rc = host->register_plugin(reg, &pt_descs[i], err);
        if (rc) return rc;
    }
    return 0;
}
