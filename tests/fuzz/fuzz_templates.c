/* fuzz-sources: core/error.c core/alloc.c core/host.c core/registry.c core/rng.c plugins/templates/tmpl.c plugins/templates/phrases.c */
/* fuzz_templates.c — libFuzzer target for the template engine: every template
 * family (triples, prompt tuning, QA) with fuzzed options and records.
 *
 * Input: lines. Line 1 names the template (an unknown name picks one by its
 * bytes); then "key=value" option lines up to an empty line; then
 * "field=value" record lines. A render must succeed or fail with a message,
 * never crash, leak or hang; a successful masked render has the mask slot on
 * both sides.
 *
 * The three template plugins are compiled into this file (their entry points
 * renamed) and register through a copy of the real host table whose
 * register_plugin keeps the descriptors, so no dlopen is involved.
 * Run: tests/fuzz/run-fuzzers.sh SECONDS templates */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"

#define mto_plugin_init triples_plugin_init
#include "plugins/templates/triples.c"
#undef mto_plugin_init
#define mto_plugin_init pt_plugin_init
#include "plugins/templates/prompt_tuning.c"
#undef mto_plugin_init
#define mto_plugin_init qa_plugin_init
#include "plugins/templates/qa.c"
#undef mto_plugin_init

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                           \
        }                                                                      \
    } while (0)

static const mto_plugin_desc *descs[32];
static size_t ndescs;
static mto_host fuzz_host;

static int capture(mto_registrar *reg, const mto_plugin_desc *d, mto_error *err)
{
    (void)reg;
    (void)err;
    if (ndescs < sizeof descs / sizeof descs[0]) descs[ndescs++] = d;
    return 0;
}

static void setup(void)
{
    if (ndescs) return;
    fuzz_host = *mto_host_table();
    fuzz_host.register_plugin = capture;
    mto_error err = {0};
    CHECK(triples_plugin_init(&fuzz_host, NULL, &err) == 0);
    CHECK(pt_plugin_init(&fuzz_host, NULL, &err) == 0);
    CHECK(qa_plugin_init(&fuzz_host, NULL, &err) == 0);
    CHECK(ndescs == 13);
}

/* Next line of [*p, end) as a NUL-terminated copy (caller frees); NULL at end. */
static char *next_line(const char **p, const char *end)
{
    if (*p >= end) return NULL;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, *p, n);
    s[n] = 0;
    *p += n + (nl != NULL);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    const char *p = (const char *)data, *end = p + size;
    char *name = next_line(&p, end);
    if (!name) return 0;
    const mto_plugin_desc *d = NULL;
    unsigned h = 0;
    for (size_t i = 0; i < ndescs && !d; i++)
        if (strcmp(descs[i]->name, name) == 0) d = descs[i];
    for (const char *c = name; *c; c++) h = h * 31 + (unsigned char)*c;
    if (!d) d = descs[h % ndescs];
    free(name);

    mto_options *opts = mto_options_new();
    mto_record *rec = mto_record_new();
    CHECK(opts && rec);
    int in_record = 0;
    char *line;
    while ((line = next_line(&p, end))) {
        if (!*line) in_record = 1;
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = 0;
            if (in_record) mto_record_set(rec, line, eq + 1, (size_t)-1);
            else mto_options_set(opts, line, eq + 1);
        }
        free(line);
    }

    const mto_template_ops *ops = d->ops;
    void *state = NULL;
    mto_error err = {0};
    int rc = ops->create(&fuzz_host, opts, &state, &err);
    if (rc == 0) {
        for (int round = 0; round < 2; round++) { /* a state renders many records */
            mto_text in, tg;
            mto_text_init(&in);
            mto_text_init(&tg);
            memset(&err, 0, sizeof err);
            rc = ops->render(state, rec, &in, &tg, &err);
            if (rc == 0 && (ops->flags & MTO_TEMPLATE_MASKED)) {
                CHECK(in.data && strstr(in.data, "<extra_id_0>"));
                CHECK(tg.data && strncmp(tg.data, "<extra_id_0>", 12) == 0);
            }
            if (rc) CHECK(rc < 0 && err.msg[0]);
            mto_text_free(&in);
            mto_text_free(&tg);
        }
        ops->destroy(state);
    } else {
        CHECK(rc < 0 && err.msg[0]);
    }
    mto_options_free(opts);
    mto_record_free(rec);
    return 0;
}
