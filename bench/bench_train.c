/* bench_train.c — train-step throughput of the C engine (forward, backward,
 * AdamW), the machine's own cblas_sgemm ceiling, achieved GFLOP/s and peak
 * RSS, and the time of each phase; with oneDNN also its fp32 and bf16 matmul
 * ceilings. bench/run-bench.sh runs it next to the PyTorch peer and prints the
 * ratio. The matmul backend is MTO_MATMUL's (openblas default, dnnl).
 * The efficiency line compares the products' GFLOP/s with two ceilings: the
 * burst one (best single 1024^3 product) and the sustained one (1024^3
 * products back to back for 0.5 s before the timed steps and 0.5 s after,
 * total FLOPs over total time), which sees the same clock and neighbours as
 * the steps. --products times every product (core/matmul_stats.c): products
 * alone against the sustained ceiling, the rest of forward+backward, and the
 * slowest shapes.
 * Usage: bench_train SHAPE [--threads N] [--steps N] [--precision fp32|bf16] [--ceilings|--ceilings-only]
 *                    [--products] [--ff relu|gated-gelu] [--digest]
 * --digest prints a hash of the loss and of every parameter and gradient after
 * the steps: two builds that print the same digest computed the same bits.
 *        bench_train --info   (the matmul line of mto --version) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "matmul_impl.h"
#include "mto/matmul.h"
#include "mto/optim.h"
#include "mto/t5.h"
#include "mto/train.h"

typedef struct shape {
    const char *name;
    int d_model, d_ff, d_kv, heads, layers, vocab, B, Ts, Tt;
} shape;

static const shape shapes[] = {
    {"t5-small", 512, 2048, 64, 8, 6, 32128, 8, 64, 16},
    {"tiny", 128, 512, 32, 4, 2, 8000, 16, 64, 16},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* FLOPs of every matrix product in one forward pass (2*M*N*K each). */
static double forward_flops(const shape *s)
{
    double d = s->d_model, f = s->d_ff, inner = (double)s->heads * s->d_kv;
    double es = (double)s->B * s->Ts, ds = (double)s->B * s->Tt;
    double attn_enc = 2 * es * d * inner * 4 + 2 * 2.0 * s->B * s->heads * s->Ts * s->Ts * s->d_kv;
    double ff_enc = 2 * es * d * f * 2;
    double attn_dself = 2 * ds * d * inner * 4 + 2 * 2.0 * s->B * s->heads * s->Tt * s->Tt * s->d_kv;
    double attn_cross = 2 * ds * d * inner * 2 + 2 * es * d * inner * 2 +
                        2 * 2.0 * s->B * s->heads * s->Tt * s->Ts * s->d_kv;
    double ff_dec = 2 * ds * d * f * 2;
    double head = 2 * ds * d * s->vocab;
    return s->layers * (attn_enc + ff_enc + attn_dself + attn_cross + ff_dec) + head;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The ceilings' product: a 1024^3 sgemm on operands made once. */
enum { SQ = 1024 };
static void sgemm_square(void)
{
    static float *a, *b, *c;
    if (!a) {
        a = malloc(sizeof(float) * SQ * SQ), b = malloc(sizeof(float) * SQ * SQ), c = malloc(sizeof(float) * SQ * SQ);
        for (int i = 0; i < SQ * SQ; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, SQ, SQ, SQ, 1.0f, a, SQ, b, SQ, 0.0f, c, SQ);
}

/* The burst ceiling: the best of 5 single products, timed by clock (wall:
 * now, or process CPU time at 1 thread: cpu_now). */
static double sgemm_best(double (*clock)(void))
{
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t = clock();
        sgemm_square();
        t = clock() - t;
        if (t < best) best = t;
    }
    return 2.0 * SQ * SQ * SQ / best / 1e9;
}

/* The sustained ceiling: products back to back for at least secs; adds their
 * FLOPs and wall / process-CPU seconds to acc[0..2]. */
static void sgemm_sustained(double secs, double acc[3])
{
    double t0 = now(), c0 = cpu_now(), t;
    do {
        sgemm_square();
        acc[0] += 2.0 * SQ * SQ * SQ;
    } while ((t = now()) - t0 < secs);
    acc[1] += t - t0;
    acc[2] += cpu_now() - c0;
}

static int by_seconds(const void *x, const void *y)
{
    double a = ((const mto_mm_stat *)x)->seconds, b = ((const mto_mm_stat *)y)->seconds;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* Products alone over the timed steps (bench_train --products). */
static void print_products(const shape *s, int steps, double fwdbwd_s)
{
    static mto_mm_stat st[MTO_MM_STATS_MAX];
    long dropped = 0;
    int n = mto_mm_stats_get(st, MTO_MM_STATS_MAX, &dropped);
    double fl = 0, sec = 0;
    long calls = 0;
    for (int i = 0; i < n; i++) {
        fl += 2.0 * st[i].M * st[i].N * st[i].K * st[i].calls;
        sec += st[i].seconds;
        calls += st[i].calls;
    }
    printf("# mto %s products alone: %.2f GFLOP in %ld calls per step, %.1f ms of forward+backward's %.1f ms, "
           "%.2f GFLOP/s; other work %.1f ms per step%s\n", s->name, fl / steps / 1e9, calls / steps,
           sec * 1e3 / steps, fwdbwd_s * 1e3 / steps, sec > 0 ? fl / sec / 1e9 : 0, (fwdbwd_s - sec) * 1e3 / steps,
           dropped ? " (some shapes not listed)" : "");
    qsort(st, (size_t)n, sizeof *st, by_seconds);
    for (int i = 0; i < n && i < 14; i++)
        printf("# mto %s product %s%s M=%d N=%d K=%d: %ld per step, %.2f ms per step, %.1f GFLOP/s\n", s->name,
               st[i].ta ? "T" : "N", st[i].tb ? "T" : "N", st[i].M, st[i].N, st[i].K, st[i].calls / steps,
               st[i].seconds * 1e3 / steps, 2.0 * st[i].M * st[i].N * st[i].K * st[i].calls / st[i].seconds / 1e9);
}

/* oneDNN's ceilings on the same square product: fp32, and bf16 in / fp32 out. 0: not built. */
static double dnnl_gflops(int bf16, int threads)
{
    int n = 1024;
    size_t nn = (size_t)n * n;
    float *a = malloc(sizeof(float) * nn), *b = malloc(sizeof(float) * nn), *c = malloc(sizeof(float) * nn);
    uint16_t *ah = malloc(2 * nn), *bh = malloc(2 * nn);
    for (size_t i = 0; i < nn; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    mto_bf16_convert(ah, a, nn);
    mto_bf16_convert(bh, b, nn);
    double best = 1e30;
    for (int r = 0; r < 6; r++) {
        double t = now();
        if (mto_dnnl_mm(bf16, 0, 0, n, n, n, 1.0f, bf16 ? (void *)ah : a, n, bf16 ? (void *)bh : b, n, 0.0f, c, n,
                        threads)) {
            best = 0;
            break;
        }
        t = now() - t;
        if (r && t < best) best = t; /* run 0 creates the primitive */
    }
    free(a); free(b); free(c); free(ah); free(bh);
    return best > 0 ? 2.0 * n * n * n / best / 1e9 : 0;
}

int main(int argc, char **argv)
{
    const shape *s = NULL;
    int threads = 1, steps = 10, warmup = 2, prec = MTO_PREC_FP32, ceilings = 0, products = 0, gated = 0, digest = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec = mto_precision_parse(argv[++i]);
        else if (!strcmp(argv[i], "--ceilings")) ceilings = 1;
        else if (!strcmp(argv[i], "--ceilings-only")) ceilings = 2;
        else if (!strcmp(argv[i], "--products")) products = 1;
        else if (!strcmp(argv[i], "--digest")) digest = 1;
        else if (!strcmp(argv[i], "--ff") && i + 1 < argc) gated = !strcmp(argv[++i], "gated-gelu");
        else if (!strcmp(argv[i], "--info")) {
            char d[256];
            mto_matmul_describe(d, sizeof d);
            printf("%s\n", d);
            return 0;
        }
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else
            for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
                if (!strcmp(argv[i], shapes[k].name)) s = &shapes[k];
    }
    if (!s || prec < 0) {
        fprintf(stderr, "usage: bench_train {t5-small|tiny} [--threads N] [--steps N] [--precision fp32|bf16] "
                        "[--ceilings] [--products] [--ff relu|gated-gelu] [--digest]\n");
        return 2;
    }
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(threads);
#endif
    if (ceilings == 2) {
        printf("ceilings (1024^3 product, GFLOP/s): sgemm %.1f, oneDNN f32 %.1f, oneDNN bf16 %.1f\n", sgemm_best(now),
               dnnl_gflops(0, threads), dnnl_gflops(1, threads));
        return 0;
    }
    mto_error err;
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = s->d_model; c.d_ff = s->d_ff; c.d_kv = s->d_kv; c.num_heads = s->heads;
    c.num_layers = c.num_decoder_layers = s->layers; c.vocab_size = s->vocab;
    c.dropout_rate = 0.0f;
    if (gated) { c.ff = MTO_T5_FF_GATED_GELU; c.tie_word_embeddings = 0; } /* the v1.1 layout */
    mto_t5 *m = mto_t5_new(&c, 0, &err);
    if (!m || mto_t5_zero_grad(m, &err)) { fprintf(stderr, "bench_train: %s\n", err.msg); return 1; }
    int eff = mto_t5_set_precision(m, prec, &err);
    if (eff < 0) { fprintf(stderr, "bench_train: %s\n", err.msg); return 1; }

    size_t nv = 0;
    mto_param_view *views = mto_train_views(m, &nv, &err);
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAMW);
    mto_optim *opt = mto_optim_new(&oc, views, m->nparams, &err);
    if (!opt) { fprintf(stderr, "bench_train: %s\n", err.msg); return 1; }

    int32_t *src = malloc(sizeof(int32_t) * s->B * s->Ts), *lab = malloc(sizeof(int32_t) * s->B * s->Tt);
    unsigned x = 1;
    for (int i = 0; i < s->B * s->Ts; i++) src[i] = 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % (s->vocab - 2);
    for (int i = 0; i < s->B * s->Tt; i++) lab[i] = 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % (s->vocab - 2);
    mto_t5_batch b = {s->B, s->Ts, s->Tt, src, lab};

    double t0 = 0, ph[4] = {0}, cp[4] = {0}, cpu0 = 0; /* zero_grad, forward, backward, optimizer */
    double sus[3] = {0}; /* sustained ceiling: FLOPs, wall s, CPU s */
    long flt0 = 0;
    for (int i = 0; i < warmup + steps; i++) {
        if (i == warmup) {
            sgemm_sustained(0.5, sus);
            if (products) mto_mm_stats_enable(1);
            struct rusage r0;
            getrusage(RUSAGE_SELF, &r0);
            flt0 = r0.ru_minflt;
            cpu0 = cpu_now();
            t0 = now();
            memset(ph, 0, sizeof ph);
            memset(cp, 0, sizeof cp);
        }
        double t[5], c[5];
        int rc;
        t[0] = now(), c[0] = cpu_now();
        rc = mto_t5_zero_grad(m, &err);
        t[1] = now(), c[1] = cpu_now();
        rc = rc ? rc : mto_t5_forward(m, &b, 1, &err);
        t[2] = now(), c[2] = cpu_now();
        rc = rc ? rc : mto_t5_backward(m, &err);
        t[3] = now(), c[3] = cpu_now();
        rc = rc ? rc : mto_optim_step(opt, 1e-4f, &err);
        t[4] = now(), c[4] = cpu_now();
        if (rc) {
            fprintf(stderr, "bench_train: %s\n", err.msg);
            return 1;
        }
        for (int k = 0; k < 4; k++) ph[k] += t[k + 1] - t[k], cp[k] += c[k + 1] - c[k];
    }
    double dt = (now() - t0) / steps, cdt = (cpu_now() - cpu0) / steps;
    mto_mm_stats_on = 0;
    sgemm_sustained(0.5, sus);
    double flops = 3.0 * forward_flops(s); /* backward ~ 2x forward */
    /* matmul GFLOP/s: the same FLOPs over forward+backward time only (no AdamW, no zeroing) */
    double mm = flops / ((ph[1] + ph[2]) / steps) / 1e9, burst = sgemm_best(now), sustained = sus[0] / sus[1] / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* process CPU time per step: at 1 thread, a figure less moved by other load on the machine */
    printf("# mto %s cpu_ms_per_step=%.1f cpu_tokens_per_s=%.1f minor_faults_per_step=%.0f\n", s->name, cdt * 1e3,
           s->B * (s->Ts + s->Tt) / cdt, (double)(ru.ru_minflt - flt0) / steps);
    printf("mto %s backend=%s precision=%s tokens_per_s=%.1f step_ms=%.2f gflops=%.2f sgemm_ceiling_gflops=%.2f "
           "peak_rss_mb=%.1f loss=%.4f\n",
           s->name, mto_matmul_backend_name(mto_matmul_backend()), mto_precision_name(eff),
           s->B * (s->Ts + s->Tt) / dt, dt * 1e3, flops / dt / 1e9, burst, ru.ru_maxrss / 1024.0, m->loss);
    if (ceilings)
        printf("# ceilings threads=%d sgemm_gflops=%.1f dnnl_f32_gflops=%.1f dnnl_bf16_gflops=%.1f\n", threads,
               burst, dnnl_gflops(0, threads), dnnl_gflops(1, threads));
    printf("# mto %s phases_ms zero_grad=%.1f forward=%.1f backward=%.1f adamw=%.1f matmul_gflops=%.2f\n", s->name,
           ph[0] * 1e3 / steps, ph[1] * 1e3 / steps, ph[2] * 1e3 / steps, ph[3] * 1e3 / steps, mm);
    printf("# mto %s efficiency: forward+backward %.2f GFLOP/s = %.1f%% of the sustained sgemm ceiling %.2f "
           "(%.1f%% of the burst ceiling %.2f)\n", s->name, mm, 100 * mm / sustained, sustained, 100 * mm / burst,
           burst);
    if (products) print_products(s, steps, ph[1] + ph[2]);
    if (threads == 1) /* by process CPU time: the figures a loaded machine moves least */
        printf("# mto %s cpu_phases_ms zero_grad=%.1f forward=%.1f backward=%.1f adamw=%.1f matmul_gflops_cpu=%.2f "
               "sgemm_ceiling_gflops_cpu=%.2f\n", s->name, cp[0] * 1e3 / steps, cp[1] * 1e3 / steps,
               cp[2] * 1e3 / steps, cp[3] * 1e3 / steps, flops / ((cp[1] + cp[2]) / steps) / 1e9, sgemm_best(cpu_now));
    if (digest) { /* FNV-1a over the loss's bits, the parameters and the gradients */
        uint64_t h = 1469598103934665603ULL;
        const unsigned char *p[3] = {(const unsigned char *)&m->loss, (const unsigned char *)m->params,
                                     (const unsigned char *)m->grads};
        size_t n[3] = {sizeof m->loss, m->numel * sizeof(float), m->numel * sizeof(float)};
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < n[k]; i++) h = (h ^ p[k][i]) * 1099511628211ULL;
        printf("# mto %s digest %016llx (loss %.9g after %d steps)\n", s->name, (unsigned long long)h, m->loss,
               warmup + steps);
    }
    mto_optim_free(opt);
    free(views); free(src); free(lab);
    mto_t5_free(m);
    return 0;
}
