/* matcher.c — matcher plugins behind a small C API (see mto/matcher.h). */
#include "handle.h"
#include "mto/matcher.h"

struct mto_matcher {
    mto__handle h;
};

int mto_matcher_open(const char *name, const mto_options *opts, mto_matcher **m, mto_error *err)
{
    *m = mto__handle_open(MTO_KIND_MATCHER, name, opts, sizeof **m, err);
    return *m ? 0 : err && err->code ? err->code : MTO_ENOTFOUND;
}

void mto_matcher_free(mto_matcher *m) { mto__handle_free(m); }

int mto_matcher_decide(mto_matcher *m, const mto_record *task_summary, mto_text *family, mto_text *why,
                       mto_error *err)
{
    const mto_matcher_ops *ops = m->h.desc->ops;
    return mto__handle_rc(&m->h, ops->decide(m->h.state, task_summary, family, why, err), err);
}

const char *mto_matcher_name(const mto_matcher *m) { return m->h.desc->name; }
