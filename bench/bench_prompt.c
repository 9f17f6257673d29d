/* bench_prompt.c — a prompt-tuning step against a fine-tuning step on the same
 * model and the same batch (k soft slots in front of every source, so both
 * steps see identical shapes): fine-tuning = zero grads + forward + full
 * backward + Adafactor over every parameter; prompt tuning = forward + frozen
 * backward (dX only, no weight-gradient products) + Adafactor over the k x
 * d_model prompt. Prints both times, their phases and the ratio.
 * --only prompt|finetune runs one kind alone, so peak_rss_mb is that kind's
 * memory (prompt tuning never allocates the gradient arena or optimizer state).
 * --precision bf16 runs the products in bf16 (mto/matmul.h).
 * Usage: bench_prompt SHAPE [--threads N] [--steps N] [--k K] [--only prompt|finetune] [--precision fp32|bf16] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "mto/matmul.h"
#include "mto/optim.h"
#include "mto/prompt.h"
#include "mto/t5.h"

typedef struct shape {
    const char *name;
    int d_model, d_ff, d_kv, heads, layers, vocab, B, Ts, Tt;
} shape;

/* the shapes of bench_train.c */
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

static int fail(const char *what, const mto_error *e)
{
    fprintf(stderr, "bench_prompt: %s: %s\n", what, e->msg);
    return 1;
}

/* Median of n doubles (sorts in place). */
static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    const shape *s = NULL;
    int threads = 1, steps = 10, warmup = 2, k = 20, run[2] = {1, 1}, prec = MTO_PREC_FP32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--k") && i + 1 < argc) k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec = mto_precision_parse(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            i++;
            run[0] = !strcmp(argv[i], "finetune");
            run[1] = !strcmp(argv[i], "prompt");
        }
        else
            for (size_t j = 0; j < sizeof shapes / sizeof shapes[0]; j++)
                if (!strcmp(argv[i], shapes[j].name)) s = &shapes[j];
    }
    if (!s || steps < 1 || k < 1 || !(run[0] || run[1]) || prec < 0) {
        fprintf(stderr, "usage: bench_prompt {t5-small|tiny} [--threads N] [--steps N] [--k K] [--only prompt|finetune] "
                        "[--precision fp32|bf16]\n");
        return 2;
    }
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(threads);
#endif
    mto_error e;
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = s->d_model; c.d_ff = s->d_ff; c.d_kv = s->d_kv; c.num_heads = s->heads;
    c.num_layers = c.num_decoder_layers = s->layers; c.vocab_size = s->vocab;
    c.dropout_rate = 0.0f;
    mto_t5 *m = mto_t5_new(&c, 0, &e);
    if (!m || mto_t5_set_precision(m, prec, &e) < 0) return fail("model", &e);
    mto_prompt *p = mto_prompt_new(k, c.d_model, MTO_PROMPT_PRE, &e);
    if (!p || mto_prompt_init_vocab(p, m, 3, 0, 1, &e)) return fail("prompt", &e);

    /* one batch: k slots, then random text (same generator as bench_train) */
    int Ts = s->Ts + k;
    int32_t *src = malloc(sizeof(int32_t) * s->B * Ts), *lab = malloc(sizeof(int32_t) * s->B * s->Tt);
    unsigned x = 1;
    for (int b = 0; b < s->B; b++)
        for (int t = 0; t < Ts; t++)
            src[b * Ts + t] = t < k ? -(t + 1) : 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % (s->vocab - 2);
    for (int i = 0; i < s->B * s->Tt; i++) lab[i] = 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % (s->vocab - 2);
    mto_t5_batch batch = {s->B, Ts, s->Tt, src, lab};

    /* optimizers: Adafactor for both, over every parameter (+ the prompt) or over the prompt only */
    if (run[0] && mto_t5_zero_grad(m, &e)) return fail("grads", &e);
    mto_param_view *all = calloc(m->nparams + 1, sizeof *all);
    for (size_t i = 0; run[0] && i < m->nparams; i++) {
        const mto_t5_param *q = &m->table[i];
        all[i] = (mto_param_view){q->name, m->params + q->offset, m->grads + q->offset,
                                  q->ndim == 2 ? (size_t)q->shape[0] : 1, q->ndim == 2 ? (size_t)q->shape[1] : q->numel};
    }
    all[m->nparams] = (mto_param_view){"prompt.embedding", p->emb, p->grad, (size_t)k, (size_t)c.d_model};
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAFACTOR);
    mto_optim *o_ft = run[0] ? mto_optim_new(&oc, all, m->nparams + 1, &e) : NULL;
    if (run[0] && !o_ft) return fail("optimizer", &e);
    mto_optim *o_pt = mto_optim_new(&oc, all + m->nparams, 1, &e);
    if (!o_pt) return fail("optimizer", &e);

    /* phases per step: zero, forward, backward, optimizer; mode 0 fine-tune, 1 prompt-tune.
     * The two modes alternate step by step, so load on the machine hits both alike. */
    double *tot[2], ph[2][4] = {{0}};
    tot[0] = calloc((size_t)steps, sizeof(double));
    tot[1] = calloc((size_t)steps, sizeof(double));
    float loss[2] = {0, 0};
    for (int i = 0; i < warmup + steps; i++) {
        for (int mode = 0; mode < 2; mode++) {
            if (!run[mode]) continue;
            double t[5];
            int rc = mto_prompt_attach(m, p, mode, &e);
            t[0] = now();
            if (!rc && mode == 0) rc = mto_t5_zero_grad(m, &e);
            memset(p->grad, 0, sizeof(float) * k * c.d_model);
            t[1] = now();
            if (!rc) rc = mto_t5_forward(m, &batch, 1, &e);
            t[2] = now();
            if (!rc) rc = mto_t5_backward(m, &e);
            t[3] = now();
            if (!rc) rc = mto_optim_step(mode ? o_pt : o_ft, mode ? 0.3f : 1e-4f, &e);
            t[4] = now();
            if (rc) return fail(mode ? "prompt step" : "fine-tune step", &e);
            loss[mode] = m->loss;
            if (i < warmup) continue;
            for (int q = 0; q < 4; q++) ph[mode][q] += t[q + 1] - t[q];
            tot[mode][i - warmup] = t[4] - t[0];
        }
    }
    mto_prompt_detach(m);
    double ft = median(tot[0], steps), pt = median(tot[1], steps);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (run[0] && run[1])
        printf("prompt %s threads=%d k=%d B=%d Ts=%d Tt=%d finetune_step_ms=%.2f prompt_step_ms=%.2f "
               "ratio=%.3f speedup=%.2fx peak_rss_mb=%.1f\n",
               s->name, threads, k, s->B, Ts, s->Tt, ft * 1e3, pt * 1e3, pt / ft, ft / pt, ru.ru_maxrss / 1024.0);
    else
        printf("prompt %s threads=%d k=%d B=%d Ts=%d Tt=%d only=%s step_ms=%.2f peak_rss_mb=%.1f\n", s->name,
               threads, k, s->B, Ts, s->Tt, run[0] ? "finetune" : "prompt", (run[0] ? ft : pt) * 1e3,
               ru.ru_maxrss / 1024.0);
    for (int mode = 0; mode < 2; mode++)
        if (run[mode])
            printf("# %s %s phases_ms zero_grad=%.2f forward=%.2f backward=%.2f optimizer=%.2f loss=%.4f\n",
                   s->name, mode ? "prompt  " : "finetune", ph[mode][0] * 1e3 / steps, ph[mode][1] * 1e3 / steps,
                   ph[mode][2] * 1e3 / steps, ph[mode][3] * 1e3 / steps, loss[mode]);
    mto_optim_free(o_ft);
    mto_optim_free(o_pt);
    free(all); free(src); free(lab); free(tot[0]); free(tot[1]);
    mto_prompt_free(p);
    mto_t5_free(m);
    return 0;
}
