/* mto/host.h — the host side of plugins: loading, the registry, and the
 * concrete buffers (ids, text, records, options, rng) that plugins fill
 * through the mto_host function table. */
#ifndef MTO_HOST_H
#define MTO_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"
#include "mto/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- loading and the registry (the library's only global state) -------- */

/* One loaded plugin descriptor, as `mto plugins` lists it. */
typedef struct mto_plugin_info {
    const mto_plugin_desc *desc; /* the plugin's own descriptor */
    const char *file;            /* absolute path of the .so it came from */
} mto_plugin_info;

/* Load every plugin on the search path ($MTO_PLUGIN_PATH, then the installed
 * pkglibdir, or the build tree when running uninstalled). Idempotent. Files
 * that are refused are reported through mto_plugin_problem_count() / _at();
 * returns 0 even then, so the rest keep working. MTO_ENOMEM if memory ran out (a later call retries). */
int mto_plugins_load_all(mto_error *err);

/* Load one file (absolute or relative path). Returns 0 or an error naming the file. */
int mto_plugin_load_file(const char *path, mto_error *err);

/* Find a registered descriptor by kind and name; NULL if absent. */
const mto_plugin_desc *mto_plugin_find(int kind, const char *name);

/* Find, or fail with a message listing what is available. */
const mto_plugin_desc *mto_plugin_require(int kind, const char *name, mto_error *err);

/* Find-or-fail, returning the descriptor's ops table: checked at registration
 * to hold every function the host calls for that kind (cast it to that kind's
 * mto_*_ops). The per-kind wrappers (mto/objective.h, ...) are built on it. */
const void *mto_plugin_ops(int kind, const char *name, mto_error *err);

/* Number of registered descriptors, and the i-th one (registration order). */
size_t mto_plugin_count(void);
const mto_plugin_info *mto_plugin_at(size_t i);

/* Messages for files that were refused during loading ("file: reason"). */
size_t mto_plugin_problem_count(void);
const char *mto_plugin_problem_at(size_t i);

/* Directories searched, in order, separated by ':' (for diagnostics). */
const char *mto_plugin_search_path(void);

/* "objective", "reader", ... ; "unknown" otherwise. Parses the reverse too (-1 if unknown). */
const char *mto_kind_name(int kind);
int mto_kind_from_name(const char *name);

/* Forget everything (tests). */
void mto_plugins_reset(void);

/* The host function table handed to plugins. */
const mto_host *mto_host_table(void);

/* ---- the concrete buffers behind the opaque handles ---------------------- */

struct mto_ids { int32_t *data; size_t len, cap; };
struct mto_text { char *data; size_t len, cap; };

void mto_ids_init(mto_ids *ids);
void mto_ids_free(mto_ids *ids);
int mto_ids_push(mto_ids *ids, int32_t id);
void mto_text_init(mto_text *t);
void mto_text_free(mto_text *t);
int mto_text_append(mto_text *t, const char *s, size_t n);

/* Records: an ordered list of (field, value) strings. */
mto_record *mto_record_new(void);
void mto_record_free(mto_record *r);
int mto_record_set(mto_record *r, const char *field, const char *value, size_t n);
const char *mto_record_get(const mto_record *r, const char *field);
size_t mto_record_nfields(const mto_record *r);
const char *mto_record_field_at(const mto_record *r, size_t i, const char **value);
mto_record *mto_record_copy(const mto_record *r);

/* A sink collecting records into an array, with named counters. */
struct mto_record_sink {
    mto_record **items;
    size_t len, cap;
    struct { char *what; long n; } *counts;
    size_t ncounts;
};
void mto_sink_init(mto_record_sink *s);
void mto_sink_free(mto_record_sink *s); /* frees the records too */
long mto_sink_get_count(const mto_record_sink *s, const char *what);

/* Options: an ordered key -> string map (numbers stored as text). */
mto_options *mto_options_new(void);
void mto_options_free(mto_options *o);
int mto_options_set(mto_options *o, const char *key, const char *value);
const char *mto_options_get(const mto_options *o, const char *key, const char *dflt);
double mto_options_num(const mto_options *o, const char *key, double dflt);

/* The seeded generator (xoshiro256**, seeded with splitmix64). */
struct mto_rng { uint64_t s[4]; };
void mto_rng_seed(mto_rng *r, uint64_t seed);
uint64_t mto_rng_u64(mto_rng *r);
double mto_rng_uniform(mto_rng *r);
/* Uniform integer in [0, n). */
uint64_t mto_rng_below(mto_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double mto_rng_normal(mto_rng *r);

#ifdef __cplusplus
}
#endif
#endif
