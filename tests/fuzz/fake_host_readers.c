/* fake_host_readers.c — see fake_host_readers.h. Plain malloc, no global state
 * beyond the constant table. */
#define _POSIX_C_SOURCE 200809L
#include "fake_host_readers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mto_record { int n, cap; char **k, **v; };

static int f_error(mto_error *err, int code, const char *fmt, ...)
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
static void f_log(const char *p, const char *fmt, ...) { (void)p, (void)fmt; }
static const char *f_opt_str(const mto_options *o, const char *key, const char *dflt)
{
    if (o)
        for (int i = 0; i + 1 < o->n; i += 2)
            if (!strcmp(o->kv[i], key)) return o->kv[i + 1];
    return dflt;
}
static double f_opt_num(const mto_options *o, const char *key, double dflt)
{
    const char *s = f_opt_str(o, key, NULL);
    return s ? atof(s) : dflt;
}
static mto_record *f_record_new(void) { return calloc(1, sizeof(mto_record)); }
static int f_record_set(mto_record *r, const char *field, const char *value, size_t n)
{
    if (r->n == r->cap) { /* grow: a CSV row may have thousands of columns */
        int cap = r->cap ? 2 * r->cap : 16;
        char **k = realloc(r->k, (size_t)cap * sizeof *k);
        if (!k) return MTO_ENOMEM;
        r->k = k;
        char **v = realloc(r->v, (size_t)cap * sizeof *v);
        if (!v) return MTO_ENOMEM;
        r->v = v, r->cap = cap;
    }
    r->k[r->n] = strdup(field);
    r->v[r->n] = malloc(n + 1);
    memcpy(r->v[r->n], value, n);
    r->v[r->n][n] = 0;
    r->n++;
    return 0;
}
static const char *f_record_get(const mto_record *r, const char *field)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->k[i], field)) return r->v[i];
    return NULL;
}
static void f_record_free(mto_record *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) free(r->k[i]), free(r->v[i]);
    free(r->k), free(r->v);
    free(r);
}
static int f_record_emit(mto_record_sink *s, mto_record *r, mto_error *err)
{
    (void)err;
    s->nrecords++;
    if (s->print) {
        for (int i = 0; i < r->n; i++) printf("%s%s=%s", i ? " | " : "", r->k[i], r->v[i]);
        printf("\n");
    }
    f_record_free(r);
    return 0;
}
static void f_sink_count(mto_record_sink *s, const char *what, long n)
{
    for (int i = 0; i < 8; i++) {
        if (!s->names[i]) s->names[i] = what; /* callers pass string literals */
        if (!strcmp(s->names[i], what)) { s->counts[i] += n; return; }
    }
}

static const mto_host table = {
    MTO_ABI_VERSION, sizeof(mto_host), f_error, f_log, malloc, realloc, free, f_opt_str,
    f_opt_num, NULL, NULL, NULL, NULL, NULL, NULL, NULL, f_record_new, f_record_set,
    f_record_get, f_record_free, f_record_emit, f_sink_count, NULL};

const mto_host *fake_host(void) { return &table; }
