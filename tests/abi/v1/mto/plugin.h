/* mto/plugin.h — the plugin ABI: the one header a plugin author needs.
 *
 * A plugin is a shared object that exports exactly one symbol,
 *
 *     int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err);
 *
 * The host (libmto) dlopen()s the file, calls the entry once, and the plugin
 * registers one or more `const` descriptors with host->register_plugin(). Each
 * descriptor names a kind (objective, reader, template, tokenizer, matcher), a
 * string name ("span_corruption", "atomic", "masked_prompting", ...) and a
 * kind-specific table of operations.
 *
 * Versioning (modelled on SQLite's loadable extensions):
 *  - MTO_ABI_VERSION is bumped only when something is *added*. The host table
 *    (mto_host) and every ops table only grow at the end; nothing is removed or
 *    reordered. A plugin built against ABI N runs on any host >= N.
 *  - Every struct that crosses the boundary starts with `struct_size` (and the
 *    descriptor with `abi_version`), so either side can tell which fields the
 *    other knows about. A plugin that needs a newer host function checks
 *    `host->struct_size` / `host->abi_version` before using it.
 *  - The host refuses a descriptor whose abi_version is newer than its own or
 *    older than MTO_ABI_MIN_VERSION, a file without the entry symbol, and a
 *    name already registered for that kind — with a message naming the file
 *    and the reason. Other plugins keep loading.
 *
 * Ownership: the host owns every opaque handle (mto_ids, mto_text, mto_record,
 * mto_options, mto_rng, sinks); plugins only fill them through host functions.
 * Plugin state returned by create()/load() is freed by the same plugin's
 * destroy(). Descriptors and ops tables must live as long as the plugin is
 * loaded (static const storage). No struct is passed by value.
 *
 * Errors: functions return 0 on success or a negative MTO_E* code and fill
 * `err` (use host->error(err, code, "file:line: what went wrong")). A plugin
 * never calls exit() or abort().
 *
 * Build one out of tree with:
 *     cc -shared -fPIC $(pkg-config --cflags mto-plugin) myobj.c -o myobj.so
 * and put it in a directory listed in $MTO_PLUGIN_PATH.
 */
#ifndef MTO_PLUGIN_H
#define MTO_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes, and the oldest one the host still accepts. */
#define MTO_ABI_VERSION 1
#define MTO_ABI_MIN_VERSION 1

/* Name of the single exported entry point. */
#define MTO_PLUGIN_ENTRY "mto_plugin_init"

/* What a descriptor provides. */
typedef enum mto_plugin_kind {
    MTO_KIND_OBJECTIVE = 1, /* text/record -> (input ids, target ids) */
    MTO_KIND_READER = 2,    /* file -> records */
    MTO_KIND_TEMPLATE = 3,  /* record -> (input text, target text) */
    MTO_KIND_TOKENIZER = 4, /* text <-> ids */
    MTO_KIND_MATCHER = 5    /* task -> recommended objective family */
} mto_plugin_kind;

/* Opaque handles, owned by the host. */
typedef struct mto_options mto_options;         /* key -> value settings (from Lua) */
typedef struct mto_rng mto_rng;                 /* seeded random generator */
typedef struct mto_ids mto_ids;                 /* growable array of int32 token ids */
typedef struct mto_text mto_text;               /* growable UTF-8 string */
typedef struct mto_record mto_record;           /* field name -> string value */
typedef struct mto_record_sink mto_record_sink; /* where a reader sends records */
typedef struct mto_registrar mto_registrar;     /* passed to the entry point */

struct mto_plugin_desc;

/* Functions the host lends to plugins. Append-only: new members go at the end. */
typedef struct mto_host {
    uint32_t abi_version; /* host's MTO_ABI_VERSION */
    uint32_t struct_size; /* sizeof(mto_host) in the host */

    /* Errors and logging. error() formats into err and returns code. */
    int (*error)(mto_error *err, int code, const char *fmt, ...);
    void (*log)(const char *plugin, const char *fmt, ...);

    /* Memory (the host's allocator; may fail and return NULL). */
    void *(*alloc)(size_t n);
    void *(*realloc)(void *p, size_t n);
    void (*free)(void *p);

    /* Options: string/number lookup with a default when the key is absent. */
    const char *(*opt_str)(const mto_options *o, const char *key, const char *dflt);
    double (*opt_num)(const mto_options *o, const char *key, double dflt);

    /* Randomness: all randomness comes from the host's seeded generator. */
    uint64_t (*rng_u64)(mto_rng *r);
    double (*rng_uniform)(mto_rng *r); /* uniform in [0, 1) */

    /* Token id arrays. */
    int (*ids_push)(mto_ids *ids, int32_t id);
    size_t (*ids_len)(const mto_ids *ids);
    const int32_t *(*ids_data)(const mto_ids *ids);

    /* Text buffers. n == (size_t)-1 means strlen(s). */
    int (*text_append)(mto_text *t, const char *s, size_t n);
    const char *(*text_data)(const mto_text *t);

    /* Records. record_emit() hands the record to the sink (it takes ownership,
     * also on error). record_get() returns NULL for an absent field. */
    mto_record *(*record_new)(void);
    int (*record_set)(mto_record *r, const char *field, const char *value, size_t n);
    const char *(*record_get)(const mto_record *r, const char *field);
    void (*record_free)(mto_record *r);
    int (*record_emit)(mto_record_sink *sink, mto_record *r, mto_error *err);
    /* Count something a reader skipped or noticed ("none_tails", 1). */
    void (*sink_count)(mto_record_sink *sink, const char *what, long n);

    /* Registration (only valid during mto_plugin_init). */
    int (*register_plugin)(mto_registrar *reg, const struct mto_plugin_desc *desc, mto_error *err);
} mto_host;

/* Every descriptor. */
typedef struct mto_plugin_desc {
    uint32_t abi_version; /* MTO_ABI_VERSION the plugin was compiled against */
    uint32_t struct_size; /* sizeof(mto_plugin_desc) at compile time */
    int kind;             /* an mto_plugin_kind */
    const char *name;     /* identifier, unique per kind: "span_corruption" */
    const char *version;  /* the plugin's own version string: "1.0" */
    const char *summary;  /* one line for `mto plugins` */
    const void *ops;      /* the kind's ops table below */
} mto_plugin_desc;

/* Convenience initialiser for the two header fields. */
#define MTO_PLUGIN_DESC_HEADER MTO_ABI_VERSION, (uint32_t)sizeof(mto_plugin_desc)

/* ---- objectives ---------------------------------------------------------- */

/* One example as an objective sees it. Ids never include eos. */
typedef struct mto_objective_io {
    uint32_t struct_size;
    const int32_t *text;   /* the text (or the source side of a supervised pair) */
    size_t text_len;
    const int32_t *target; /* the supervised target, if any (mapping) */
    size_t target_len;
    size_t span_begin;     /* a marked span [begin, end) of text, for salient- */
    size_t span_end;       /* span masking; begin == end means none */
    int32_t eos_id;        /* 1 for T5 */
    int32_t sentinel0;     /* id of <extra_id_0>; <extra_id_N> = sentinel0 - N */
    int32_t n_sentinels;   /* how many sentinels exist (100 for T5) */
} mto_objective_io;

typedef struct mto_objective_ops {
    uint32_t struct_size;
    /* Make state from options (density, mean_span, ...). *state may stay NULL. */
    int (*create)(const mto_host *host, const mto_options *opts, void **state, mto_error *err);
    /* Write the model input and target (target ends with eos) for one example. */
    int (*apply)(void *state, const mto_objective_io *io, mto_rng *rng,
                 mto_ids *input, mto_ids *target, mto_error *err);
    void (*destroy)(void *state);
} mto_objective_ops;

/* ---- task readers -------------------------------------------------------- */

typedef struct mto_reader_ops {
    uint32_t struct_size;
    /* Read `path`, emitting one record per item. Errors name path:line. */
    int (*read)(const mto_host *host, const char *path, const mto_options *opts,
                mto_record_sink *sink, mto_error *err);
} mto_reader_ops;

/* ---- templates ----------------------------------------------------------- */

enum {
    MTO_TEMPLATE_MASKED = 1u << 0,   /* output has a mask slot (<extra_id_0>) */
    MTO_TEMPLATE_SOFT_PRE = 1u << 1, /* k soft prompt tokens before the text */
    MTO_TEMPLATE_SOFT_POST = 1u << 2 /* k soft prompt tokens after the text */
};

typedef struct mto_template_ops {
    uint32_t struct_size;
    uint32_t flags; /* MTO_TEMPLATE_* */
    int (*create)(const mto_host *host, const mto_options *opts, void **state, mto_error *err);
    /* Render a record as (input text, target text). Missing fields are errors. */
    int (*render)(void *state, const mto_record *rec, mto_text *input, mto_text *target,
                  mto_error *err);
    void (*destroy)(void *state);
} mto_template_ops;

/* ---- tokenizers ---------------------------------------------------------- */

typedef struct mto_tokenizer_ops {
    uint32_t struct_size;
    /* Load a model file (e.g. spiece.model). */
    int (*load)(const mto_host *host, const char *path, void **state, mto_error *err);
    /* Text -> ids, without eos; sentinel strings map to their ids. */
    int (*encode)(void *state, const char *text, size_t len, mto_ids *out, mto_error *err);
    /* Ids -> text; pad/eos are dropped, sentinels rendered as <extra_id_N>. */
    int (*decode)(void *state, const int32_t *ids, size_t n, mto_text *out, mto_error *err);
    /* Number of ids the tokenizer can produce (sentinels included). */
    int32_t (*vocab_size)(void *state);
    /* Id of a piece, or -1. */
    int32_t (*piece_to_id)(void *state, const char *piece);
    /* Train a new model from a text file, writing model_prefix.model. */
    int (*train)(const mto_host *host, const char *input, const char *model_prefix,
                 int vocab_size, const mto_options *opts, mto_error *err);
    void (*destroy)(void *state);
} mto_tokenizer_ops;

/* ---- entry point --------------------------------------------------------- */

typedef int (*mto_plugin_init_fn)(const mto_host *host, mto_registrar *reg, mto_error *err);

#if defined(__GNUC__)
#define MTO_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define MTO_PLUGIN_EXPORT
#endif

/* ---- matchers (appended; ABI 1) ------------------------------------------ */

/* A matcher decides, for one task, which objective family suits it:
 * "filling" (masked templates, denoising-style) or "mapping" (plain seq2seq).
 * The task arrives as a summary record of strings: "task", "relation" (the
 * most frequent one) and, when the caller measured them, "mi", "ppl.TEMPLATE",
 * "ll.TEMPLATE", "rank.TEMPLATE", "best_template" (see lua/mto/match.lua).
 * decide() appends the family to `family` and a one-line reason to `why`;
 * leaving `family` empty means "no opinion", and the caller asks the next
 * matcher. Both built-in matchers (rules, scoring) live in plugins/matchers/. */
typedef struct mto_matcher_ops {
    uint32_t struct_size;
    /* Make state from options (a rules table path, a threshold, ...). *state may stay NULL. */
    int (*create)(const mto_host *host, const mto_options *opts, void **state, mto_error *err);
    int (*decide)(void *state, const mto_record *task_summary, mto_text *family, mto_text *why,
                  mto_error *err);
    void (*destroy)(void *state);
} mto_matcher_ops;

#ifdef __cplusplus
}
#endif
#endif
