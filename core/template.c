/* template.c — template plugins behind a small C API (see mto/template.h). */
#include "handle.h"
#include "mto/template.h"

struct mto_template {
    mto__handle h;
};

int mto_template_open(const char *name, const mto_options *opts, mto_template **tpl, mto_error *err)
{
    *tpl = mto__handle_open(MTO_KIND_TEMPLATE, name, opts, sizeof **tpl, err);
    return *tpl ? 0 : err && err->code ? err->code : MTO_ENOTFOUND;
}

void mto_template_free(mto_template *tpl) { mto__handle_free(tpl); }

int mto_template_render(mto_template *tpl, const mto_record *rec, mto_text *input, mto_text *target,
                        mto_error *err)
{
    const mto_template_ops *ops = tpl->h.desc->ops;
    return mto__handle_rc(&tpl->h, ops->render(tpl->h.state, rec, input, target, err), err);
}

uint32_t mto_template_flags(const mto_template *tpl)
{
    return ((const mto_template_ops *)tpl->h.desc->ops)->flags;
}

const char *mto_template_name(const mto_template *tpl) { return tpl->h.desc->name; }
