/* handle.h — what objective.c, template.c and matcher.c share (internal to
 * libmto): a registered plugin plus the state its create() made, freed with
 * its destroy(). Each public handle (mto_objective, ...) starts with one. */
#ifndef MTO_HANDLE_H
#define MTO_HANDLE_H

#include <stddef.h>

#include "mto/host.h"

typedef struct mto__handle {
    const mto_plugin_desc *desc; /* name and ops (validated at registration) */
    void *state;                 /* from ops->create, or NULL */
} mto__handle;

/* Find plugin `name` of `kind`, allocate `size` zeroed bytes (a struct that
 * starts with an mto__handle) and run the plugin's create(opts); NULL with err set. */
void *mto__handle_open(int kind, const char *name, const mto_options *opts, size_t size, mto_error *err);
/* Run the plugin's destroy() and free the handle (NULL is fine). */
void mto__handle_free(void *handle);
/* A plugin call's return code: 0, or a negative code with err naming the plugin. */
int mto__handle_rc(const mto__handle *h, int rc, mto_error *err);

#endif
