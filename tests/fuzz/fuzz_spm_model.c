/* fuzz-sources: plugins/tokenizers/sentencepiece.cc */
/* fuzz-cxx: plugins/tokenizers/sentencepiece.cc is C++: compile it with clang++ -std=c++17 and link with clang++ */
/* fuzz-libs: -lsentencepiece -lsentencepiece_train */
/* fuzz_spm_model.c — libFuzzer target for the tokenizer's model loading path:
 * the input bytes are a SentencePiece model file handed to the
 * "sentencepiece" plugin's load(); when it loads, the model is exercised
 * (encode with sentinels, decode of every id, piece_to_id). A bad model must
 * give an error, never a crash, a leak or an exit.
 *
 * The plugin is linked in (no dlopen) and driven through a small stand-in
 * host table, so no other part of libmto is needed. Build by hand:
 *   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Icore \
 *       -c plugins/tokenizers/sentencepiece.cc -o spm.o
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore \
 *       tests/fuzz/fuzz_spm_model.c spm.o -lsentencepiece -lsentencepiece_train -lstdc++ \
 *       -o fuzz_spm_model
 *   ./fuzz_spm_model tests/fuzz/corpus/spm_model
 * Seeds: tests/fuzz/corpus/spm_model (tiny unigram and BPE models, identity
 * normalization so they stay a few KB). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mto/plugin.h"

int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err);

struct mto_ids { int32_t *data; size_t len, cap; };
struct mto_text { char *data; size_t len, cap; };

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
static const char *f_opt_str(const mto_options *o, const char *k, const char *d) { (void)o, (void)k; return d; }
static double f_opt_num(const mto_options *o, const char *k, double d) { (void)o, (void)k; return d; }
static int f_ids_push(mto_ids *v, int32_t id)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        int32_t *d = realloc(v->data, cap * sizeof *d);
        if (!d) return MTO_ENOMEM;
        v->data = d, v->cap = cap;
    }
    v->data[v->len++] = id;
    return 0;
}
static size_t f_ids_len(const mto_ids *v) { return v->len; }
static const int32_t *f_ids_data(const mto_ids *v) { return v->data; }
static int f_text_append(mto_text *t, const char *s, size_t n)
{
    if (n == (size_t)-1) n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        size_t cap = 2 * (t->len + n + 1);
        char *d = realloc(t->data, cap);
        if (!d) return MTO_ENOMEM;
        t->data = d, t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = 0;
    return 0;
}
static const char *f_text_data(const mto_text *t) { return t->data ? t->data : ""; }

static const mto_plugin_desc *found;
static int f_register(mto_registrar *reg, const mto_plugin_desc *d, mto_error *err)
{
    (void)reg, (void)err;
    found = d;
    return 0;
}

static const mto_host host = {
    MTO_ABI_VERSION, sizeof(mto_host), f_error, f_log, malloc, realloc, free, f_opt_str,
    f_opt_num, NULL, NULL, f_ids_push, f_ids_len, f_ids_data, f_text_append, f_text_data,
    NULL, NULL, NULL, NULL, NULL, NULL, f_register};

static char model_path[64]; /* /proc/self/fd/N of an in-memory file */
static int model_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mto_error err = {0};
    if (mto_plugin_init(&host, NULL, &err) || !found) {
        fprintf(stderr, "fuzz_spm_model: plugin init failed: %s\n", err.msg);
        exit(1);
    }
    model_fd = memfd_create("spm_model", 0);
    if (model_fd < 0) {
        perror("memfd_create");
        exit(1);
    }
    snprintf(model_path, sizeof model_path, "/proc/self/fd/%d", model_fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const mto_tokenizer_ops *ops = found->ops;
    if (ftruncate(model_fd, 0) != 0 || pwrite(model_fd, data, size, 0) != (ssize_t)size) return 0;
    mto_error err = {0};
    void *st = NULL;
    if (ops->load(&host, model_path, &st, &err) != 0) {
        if (st || !strstr(err.msg, model_path)) abort(); /* errors must name the file */
        return 0;
    }
    static const char text[] = "The quick <extra_id_0> fox, caf\xc3\xa9 \xe2\x98\x83 42<extra_id_99>.";
    struct mto_ids ids = {0};
    struct mto_text txt = {0};
    int32_t V = ops->vocab_size(st);
    if (ops->encode(st, text, sizeof text - 1, &ids, &err) == 0) {
        for (size_t i = 0; i < ids.len; i++)
            if (ids.data[i] < 0 || ids.data[i] >= V) abort(); /* never outside the vocabulary */
        ops->decode(st, ids.data, ids.len, &txt, &err);
    }
    for (int32_t id = 0; id < V && id < 4096; id++) { /* every id decodes or errors */
        txt.len = 0;
        ops->decode(st, &id, 1, &txt, &err);
    }
    ops->piece_to_id(st, "<extra_id_5>");
    ops->piece_to_id(st, "\xe2\x96\x81the");
    ops->destroy(st);
    free(ids.data);
    free(txt.data);
    return 0;
}
