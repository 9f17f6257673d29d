/* bench_decode.c — greedy decoding throughput of the C engine (encoder once,
 * decoder one token at a time over the key/value cache; --no-cache recomputes
 * the prefix). EOS is made unreachable (its embedding row, which is also the
 * tied LM-head row, is zeroed) so every run decodes exactly B x max_len
 * tokens, as the PyTorch peer (bench/torch_decode.py) does.
 * The matmul backend is MTO_MATMUL's; --precision bf16 runs the products in bf16.
 * Usage: bench_decode SHAPE [--threads N] [--reps N] [--max-len N] [--batch N] [--no-cache]
 *        [--precision fp32|bf16] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "mto/matmul.h"
#include "mto/t5.h"

typedef struct shape {
    const char *name;
    int d_model, d_ff, d_kv, heads, layers, vocab, B, Ts;
} shape;

static const shape shapes[] = {
    {"t5-small", 512, 2048, 64, 8, 6, 32128, 8, 64},
    {"tiny", 128, 512, 32, 4, 2, 8000, 16, 64},
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const shape *s = NULL;
    int threads = 1, reps = 3, max_len = 32, cache = 1, B = 0, prec = MTO_PREC_FP32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-len") && i + 1 < argc) max_len = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-cache")) cache = 0;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec = mto_precision_parse(argv[++i]);
        else
            for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
                if (!strcmp(argv[i], shapes[k].name)) s = &shapes[k];
    }
    if (!s || reps < 1 || max_len < 1 || B < 0 || prec < 0) {
        fprintf(stderr, "usage: bench_decode {t5-small|tiny} [--threads N] [--reps N] [--max-len N] [--batch N] "
                        "[--no-cache] [--precision fp32|bf16]\n");
        return 2;
    }
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(threads);
#endif
    mto_error err;
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = s->d_model; c.d_ff = s->d_ff; c.d_kv = s->d_kv; c.num_heads = s->heads;
    c.num_layers = c.num_decoder_layers = s->layers; c.vocab_size = s->vocab;
    mto_t5 *m = mto_t5_new(&c, 0, &err);
    if (!m) { fprintf(stderr, "bench_decode: %s\n", err.msg); return 1; }
    int eff = mto_t5_set_precision(m, prec, &err);
    if (eff < 0) { fprintf(stderr, "bench_decode: %s\n", err.msg); return 1; }
    if (!B) B = s->B;
    memset(m->w.shared + (size_t)MTO_T5_EOS * c.d_model, 0, c.d_model * sizeof(float));
    mto_weights_changed(); /* a direct write: bf16 weights are made from these */

    int32_t *src = malloc(sizeof(int32_t) * B * s->Ts), *out = malloc(sizeof(int32_t) * B * max_len);
    int *len = malloc(sizeof(int) * B);
    unsigned x = 7;
    for (int i = 0; i < B * s->Ts; i++) src[i] = 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % (s->vocab - 2);
    mto_t5_gen_opts o = {max_len, 1, 1.0f, cache};
    double best = 1e30, cbest = 1e30; /* wall clock; process CPU time, less moved by a loaded machine */
    long toks = 0;
    for (int r = 0; r <= reps; r++) { /* run 0 warms up */
        double t = clock_s(CLOCK_MONOTONIC), ct = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (mto_t5_generate(m, src, B, s->Ts, &o, out, len, NULL, &err)) {
            fprintf(stderr, "bench_decode: %s\n", err.msg);
            return 1;
        }
        t = clock_s(CLOCK_MONOTONIC) - t;
        ct = clock_s(CLOCK_PROCESS_CPUTIME_ID) - ct;
        toks = 0;
        for (int b = 0; b < B; b++) toks += len[b];
        if (r && t < best) best = t;
        if (r && ct < cbest) cbest = ct;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("mto-decode %s backend=%s precision=%s cache=%d batch=%d tokens_per_s=%.1f ms_per_batch=%.2f tokens=%ld "
           "peak_rss_mb=%.1f cpu_tokens_per_s=%.1f\n", s->name, mto_matmul_backend_name(mto_matmul_backend()),
           mto_precision_name(eff), cache, B, toks / best, best * 1e3, toks, ru.ru_maxrss / 1024.0, toks / cbest);
    free(src); free(out); free(len);
    mto_t5_free(m);
    return toks == (long)B * max_len ? 0 : 1;
}
