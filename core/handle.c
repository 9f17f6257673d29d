/* handle.c — a plugin instance (descriptor + state) for the create/destroy
 * kinds: objectives, templates and matchers. */
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "mto/alloc.h"

/* The kind's create() and destroy(); either may be NULL (no state). */
static void kind_fns(const mto_plugin_desc *d,
                     int (**create)(const mto_host *, const mto_options *, void **, mto_error *),
                     void (**destroy)(void *))
{
    *create = NULL, *destroy = NULL;
    if (d->kind == MTO_KIND_OBJECTIVE) {
        const mto_objective_ops *o = d->ops;
        *create = o->create, *destroy = o->destroy;
    } else if (d->kind == MTO_KIND_TEMPLATE) {
        const mto_template_ops *o = d->ops;
        *create = o->create, *destroy = o->destroy;
    } else if (d->kind == MTO_KIND_MATCHER) {
        const mto_matcher_ops *o = d->ops;
        *create = o->create, *destroy = o->destroy;
    }
}

void *mto__handle_open(int kind, const char *name, const mto_options *opts, size_t size, mto_error *err)
{
    const mto_plugin_desc *d = mto_plugin_require(kind, name, err);
    if (!d) return NULL;
    mto__handle *h = mto_calloc(1, size);
    if (!h) {
        mto_error_set(err, MTO_ENOMEM, "%s '%s': out of memory", mto_kind_name(kind), name);
        return NULL;
    }
    h->desc = d;
    int (*create)(const mto_host *, const mto_options *, void **, mto_error *);
    void (*destroy)(void *);
    kind_fns(d, &create, &destroy);
    if (create && mto__handle_rc(h, create(mto_host_table(), opts, &h->state, err), err)) {
        free(h);
        return NULL;
    }
    return h;
}

void mto__handle_free(void *handle)
{
    mto__handle *h = handle;
    if (!h) return;
    int (*create)(const mto_host *, const mto_options *, void **, mto_error *);
    void (*destroy)(void *);
    kind_fns(h->desc, &create, &destroy);
    if (destroy) destroy(h->state);
    free(h);
}

int mto__handle_rc(const mto__handle *h, int rc, mto_error *err)
{
    if (rc == 0) return 0;
    int code = rc < 0 ? rc : MTO_EPLUGIN;
    if (err && !err->msg[0])
        mto_error_set(err, code, "%s %s failed (%s)", mto_kind_name(h->desc->kind), h->desc->name,
                      mto_strerror(code));
    return code;
}
