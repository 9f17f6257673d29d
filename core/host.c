/* host.c — the concrete buffers behind the plugin ABI's opaque handles
 * (ids, text, records, sinks, options) and the mto_host function table that
 * lends them to plugins. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "mto/host.h"

/* ---- ids and text -------------------------------------------------------- */

static int grow(void **data, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) {
        if (cap2 > ((size_t)-1) / 2 / elem) return MTO_ENOMEM;
        cap2 *= 2;
    }
    void *p = mto_realloc(*data, cap2 * elem);
    if (!p) return MTO_ENOMEM;
    *data = p;
    *cap = cap2;
    return 0;
}

void mto_ids_init(mto_ids *ids) { memset(ids, 0, sizeof *ids); }
void mto_ids_free(mto_ids *ids) { free(ids->data); mto_ids_init(ids); }

int mto_ids_push(mto_ids *ids, int32_t id)
{
    if (grow((void **)&ids->data, &ids->cap, ids->len + 1, sizeof *ids->data)) return MTO_ENOMEM;
    ids->data[ids->len++] = id;
    return 0;
}

void mto_text_init(mto_text *t) { memset(t, 0, sizeof *t); }
void mto_text_free(mto_text *t) { free(t->data); mto_text_init(t); }

int mto_text_append(mto_text *t, const char *s, size_t n)
{
    if (n == (size_t)-1) n = s ? strlen(s) : 0;
    if (grow((void **)&t->data, &t->cap, t->len + n + 1, 1)) return MTO_ENOMEM;
    if (n) memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
    return 0;
}

/* ---- records: small ordered field lists ---------------------------------- */

struct mto_record {
    char **keys, **vals;
    size_t len, cap;
};

mto_record *mto_record_new(void) { return mto_calloc(1, sizeof(mto_record)); }

void mto_record_free(mto_record *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->len; i++) {
        free(r->keys[i]);
        free(r->vals[i]);
    }
    free(r->keys);
    free(r->vals);
    free(r);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = mto_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int mto_record_set(mto_record *r, const char *field, const char *value, size_t n)
{
    if (!r || !field || !value) return MTO_EINVAL;
    if (n == (size_t)-1) n = strlen(value);
    char *v = dup_n(value, n);
    if (!v) return MTO_ENOMEM;
    for (size_t i = 0; i < r->len; i++)
        if (strcmp(r->keys[i], field) == 0) {
            free(r->vals[i]);
            r->vals[i] = v;
            return 0;
        }
    size_t cap = r->cap;
    if (r->len == cap) {
        size_t c2 = cap ? cap * 2 : 8;
        char **k = mto_realloc(r->keys, c2 * sizeof *k);
        if (!k) { free(v); return MTO_ENOMEM; }
        r->keys = k;
        char **vv = mto_realloc(r->vals, c2 * sizeof *vv);
        if (!vv) { free(v); return MTO_ENOMEM; }
        r->vals = vv;
        r->cap = c2;
    }
    char *k = dup_n(field, strlen(field));
    if (!k) { free(v); return MTO_ENOMEM; }
    r->keys[r->len] = k;
    r->vals[r->len] = v;
    r->len++;
    return 0;
}

const char *mto_record_get(const mto_record *r, const char *field)
{
    if (!r || !field) return NULL;
    for (size_t i = 0; i < r->len; i++)
        if (strcmp(r->keys[i], field) == 0) return r->vals[i];
    return NULL;
}

size_t mto_record_nfields(const mto_record *r) { return r ? r->len : 0; }

const char *mto_record_field_at(const mto_record *r, size_t i, const char **value)
{
    if (!r || i >= r->len) return NULL;
    if (value) *value = r->vals[i];
    return r->keys[i];
}

mto_record *mto_record_copy(const mto_record *r)
{
    mto_record *c = mto_record_new();
    if (!c) return NULL;
    for (size_t i = 0; r && i < r->len; i++)
        if (mto_record_set(c, r->keys[i], r->vals[i], (size_t)-1)) {
            mto_record_free(c);
            return NULL;
        }
    return c;
}

/* ---- sinks --------------------------------------------------------------- */

void mto_sink_init(mto_record_sink *s) { memset(s, 0, sizeof *s); }

void mto_sink_free(mto_record_sink *s)
{
    for (size_t i = 0; i < s->len; i++) mto_record_free(s->items[i]);
    free(s->items);
    for (size_t i = 0; i < s->ncounts; i++) free(s->counts[i].what);
    free(s->counts);
    mto_sink_init(s);
}

static int sink_emit(mto_record_sink *s, mto_record *r, mto_error *err)
{
    if (!s || !r) {
        mto_record_free(r);
        return mto_error_set(err, MTO_EINVAL, "record_emit: null sink or record");
    }
    if (grow((void **)&s->items, &s->cap, s->len + 1, sizeof *s->items)) {
        mto_record_free(r);
        return mto_error_set(err, MTO_ENOMEM, "record_emit: out of memory after %zu records", s->len);
    }
    s->items[s->len++] = r;
    return 0;
}

static void sink_count(mto_record_sink *s, const char *what, long n)
{
    if (!s || !what) return;
    for (size_t i = 0; i < s->ncounts; i++)
        if (strcmp(s->counts[i].what, what) == 0) {
            s->counts[i].n += n;
            return;
        }
    void *p = mto_realloc(s->counts, (s->ncounts + 1) * sizeof *s->counts);
    if (!p) return;
    s->counts = p;
    char *w = dup_n(what, strlen(what));
    if (!w) return;
    s->counts[s->ncounts].what = w;
    s->counts[s->ncounts].n = n;
    s->ncounts++;
}

long mto_sink_get_count(const mto_record_sink *s, const char *what)
{
    for (size_t i = 0; i < s->ncounts; i++)
        if (strcmp(s->counts[i].what, what) == 0) return s->counts[i].n;
    return 0;
}

/* ---- options: a record under another name -------------------------------- */

mto_options *mto_options_new(void) { return (mto_options *)mto_record_new(); }
void mto_options_free(mto_options *o) { mto_record_free((mto_record *)o); }

int mto_options_set(mto_options *o, const char *key, const char *value)
{
    return mto_record_set((mto_record *)o, key, value, (size_t)-1);
}

const char *mto_options_get(const mto_options *o, const char *key, const char *dflt)
{
    const char *v = mto_record_get((const mto_record *)o, key);
    return v ? v : dflt;
}

double mto_options_num(const mto_options *o, const char *key, double dflt)
{
    const char *v = mto_record_get((const mto_record *)o, key);
    if (!v) return dflt;
    char *end;
    double d = strtod(v, &end);
    if (end == v) {
        if (strcmp(v, "true") == 0) return 1;
        if (strcmp(v, "false") == 0) return 0;
        return dflt;
    }
    return d;
}

/* ---- the host table ------------------------------------------------------ */

static int host_error(mto_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

static void host_log(const char *plugin, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mto: %s: ", plugin ? plugin : "plugin");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static size_t h_ids_len(const mto_ids *ids) { return ids->len; }
static const int32_t *h_ids_data(const mto_ids *ids) { return ids->data; }
static const char *h_text_data(const mto_text *t) { return t->data ? t->data : ""; }
static const char *h_opt_str(const mto_options *o, const char *key, const char *dflt)
{
    return mto_options_get(o, key, dflt);
}
static double h_opt_num(const mto_options *o, const char *key, double dflt)
{
    return mto_options_num(o, key, dflt);
}

/* defined in registry.c */
int mto__register_plugin(mto_registrar *reg, const mto_plugin_desc *desc, mto_error *err);

static const mto_host host_table = {
    .abi_version = MTO_ABI_VERSION,
    .struct_size = sizeof(mto_host),
    .error = host_error,
    .log = host_log,
    .alloc = malloc,
    .realloc = realloc,
    .free = free,
    .opt_str = h_opt_str,
    .opt_num = h_opt_num,
    .rng_u64 = mto_rng_u64,
    .rng_uniform = mto_rng_uniform,
    .ids_push = mto_ids_push,
    .ids_len = h_ids_len,
    .ids_data = h_ids_data,
    .text_append = mto_text_append,
    .text_data = h_text_data,
    .record_new = mto_record_new,
    .record_set = mto_record_set,
    .record_get = mto_record_get,
    .record_free = mto_record_free,
    .record_emit = sink_emit,
    .sink_count = sink_count,
    .register_plugin = mto__register_plugin,
};

const mto_host *mto_host_table(void) { return &host_table; }
