/* test_engine_threads.c — the engine's own threads (t5_pool.c / t5_par.c) give
 * the serial numbers: a model big enough for every threaded path (norms,
 * activations, gated backward, attention over the batch, cross-entropy) runs
 * one training forward/backward with 1 and with 2 threads; loss, logits and
 * every gradient must agree to float rounding (only the order of a few
 * partial sums differs), and 2 threads twice must agree bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mto/t5.h"
#include "tap.h"

#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
#include <cblas.h>

enum { B = 8, TS = 64, TT = 16 };

typedef struct run { float loss; float *grads, *logits; } run;

static int step(mto_t5 *m, const mto_t5_batch *b, int threads, run *r)
{
    mto_error e;
    openblas_set_num_threads(threads);
    m->step = 0;
    if (mto_t5_zero_grad(m, &e) || mto_t5_forward(m, b, 1, &e)) return -1;
    size_t nl = (size_t)B * TT * m->cfg.vocab_size;
    r->loss = m->loss;
    r->logits = malloc(nl * sizeof(float));
    r->grads = malloc(m->numel * sizeof(float));
    if (!r->logits || !r->grads) return -1;
    memcpy(r->logits, m->logits, nl * sizeof(float));
    if (mto_t5_backward(m, &e)) return -1;
    memcpy(r->grads, m->grads, m->numel * sizeof(float));
    return 0;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return den > 0 ? num / den : num;
}

static void check(int v11)
{
    const char *name = v11 ? "v1.1 gated-gelu" : "v1.0 relu";
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = 128; c.d_ff = 256; c.d_kv = 32; c.num_heads = 4;
    c.num_layers = c.num_decoder_layers = 2; c.vocab_size = 3000;
    c.ff = v11 ? MTO_T5_FF_GATED_GELU : MTO_T5_FF_RELU;
    c.tie_word_embeddings = !v11;
    c.dropout_rate = 0.1f;
    mto_error e;
    mto_t5 *m = mto_t5_new(&c, 3, &e);
    int32_t src[B * TS], lab[B * TT];
    unsigned x = 11;
    for (int i = 0; i < B * TS; i++) src[i] = 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % 2990;
    for (int i = 0; i < B * TT; i++) lab[i] = 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % 2990;
    for (int i = 0; i < B; i++) src[i * TS + TS - 1 - i] = 0; /* some padding */
    lab[TT - 1] = MTO_T5_IGNORE;
    mto_t5_batch b = {B, TS, TT, src, lab};
    run r1 = {0}, r2 = {0}, r3 = {0};
    int rc = !m || step(m, &b, 1, &r1) || step(m, &b, 2, &r2) || step(m, &b, 2, &r3);
    ok(rc == 0, "%s: train steps with 1 and 2 threads run", name);
    if (!rc) {
        size_t nl = (size_t)B * TT * c.vocab_size;
        double dl = fabs((double)r1.loss - r2.loss) / fabs((double)r1.loss);
        double dlog = max_rel(r2.logits, r1.logits, nl), dg = 0;
        const char *worst = "";
        for (size_t i = 0; i < m->nparams; i++) {
            const mto_t5_param *p = &m->table[i];
            double d = max_rel(r2.grads + p->offset, r1.grads + p->offset, p->numel);
            if (d > dg) { dg = d; worst = p->name; }
        }
        ok(dl <= 1e-6, "%s: loss with 2 threads == 1 thread (rel %.2g)", name, dl);
        ok(dlog <= 1e-5, "%s: logits with 2 threads == 1 thread (rel %.2g)", name, dlog);
        ok(dg <= 1e-4, "%s: every gradient with 2 threads == 1 thread (worst rel %.2g, %s)", name, dg, worst);
        ok(r2.loss == r3.loss && !memcmp(r2.grads, r3.grads, m->numel * sizeof(float)),
           "%s: 2 threads twice give identical bits", name);
    }
    free(r1.grads); free(r1.logits); free(r2.grads); free(r2.logits); free(r3.grads); free(r3.logits);
    mto_t5_free(m);
}

int main(void)
{
    check(0);
    check(1);
    return tap_done();
}
#else
int main(void)
{
    tap_skip("OpenBLAS thread control (openblas_set_num_threads) not available");
    return tap_done();
}
#endif
