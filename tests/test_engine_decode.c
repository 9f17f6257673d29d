/* test_engine_decode.c — decoding: the key/value-cached decoder gives the
 * same tokens as running the whole prefix through the training forward;
 * beam search with one beam is greedy; scores agree with mto_t5_score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "mto/optim.h"
#include "mto/t5.h"
#include "t5_internal.h"
#include "tap.h"

enum { B = 3, TS = 7, ML = 9 };
static const int32_t SRC[B * TS] = {5, 9, 12, 7, 13, 1, 0, 8, 3, 1, 0, 0, 0, 0, 2, 20, 14, 15, 16, 17, 1};

/* Train on a copy task (target = source) so the model emits varied tokens and eos. */
static float train_copy(mto_t5 *m, int steps)
{
    enum { N = 16, T = 7 };
    int32_t src[N * T], lab[N * T];
    mto_rng r;
    mto_rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        int len = 3 + (int)mto_rng_below(&r, 4);
        for (int t = 0; t < T; t++) {
            int32_t y = t < len ? 2 + (int32_t)mto_rng_below(&r, 20) : t == len ? MTO_T5_EOS : MTO_T5_PAD;
            src[i * T + t] = y;
            lab[i * T + t] = t <= len ? y : MTO_T5_IGNORE;
        }
    }
    mto_error e;
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAMW);
    mto_param_view *v = calloc(m->nparams, sizeof *v);
    mto_t5_zero_grad(m, &e);
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *p = &m->table[i];
        v[i] = (mto_param_view){p->name, m->params + p->offset, m->grads + p->offset, 1, p->numel};
    }
    mto_optim *o = mto_optim_new(&oc, v, m->nparams, &e);
    mto_t5_batch b = {N, T, T, src, lab};
    for (int s = 0; s < steps; s++) {
        mto_t5_zero_grad(m, &e);
        mto_t5_forward(m, &b, 1, &e);
        mto_t5_backward(m, &e);
        mto_optim_step(o, 3e-3f, &e);
    }
    mto_t5_forward(m, &b, 0, &e);
    mto_optim_free(o);
    free(v);
    return m->loss;
}

static void run(int v11)
{
    const char *name = v11 ? "v1.1" : "v1.0";
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = 32; c.d_ff = 64; c.d_kv = 8; c.num_heads = 4; c.num_layers = 2; c.num_decoder_layers = 2;
    c.num_buckets = 8; c.max_distance = 16; c.vocab_size = 50;
    c.ff = v11 ? MTO_T5_FF_GATED_GELU : MTO_T5_FF_RELU;
    c.tie_word_embeddings = !v11;
    mto_error e;
    c.dropout_rate = 0.05f;
    mto_t5 *m = mto_t5_new(&c, 7 + v11, &e);
    float l = train_copy(m, 300);
    ok(l < 0.5f, "%s: 300 AdamW steps learn a copy task (eval loss %.3f)", name, l);
    int32_t o1[B * ML], o2[B * ML], o3[B * ML];
    int l1[B], l2[B], l3[B];
    double s1[B], s2[B], s3[B];
    mto_t5_gen_opts g = {ML, 1, 1.0f, 1}, u = {ML, 1, 1.0f, 0};
    ok(mto_t5_generate(m, SRC, B, TS, &g, o1, l1, s1, &e) == 0, "%s: cached greedy runs", name);
    ok(mto_t5_generate(m, SRC, B, TS, &u, o2, l2, s2, &e) == 0, "%s: uncached greedy runs", name);
    double ds = 0;
    for (int b = 0; b < B; b++) ds = fmax(ds, fabs(s1[b] - s2[b]));
    ok(memcmp(o1, o2, sizeof o1) == 0 && memcmp(l1, l2, sizeof l1) == 0 && ds < 1e-4,
       "%s: cached greedy == uncached argmax path (score diff %.2g)", name, ds);
    tap_diag("%s greedy lengths %d %d %d, first ids %d %d %d", name, l1[0], l1[1], l1[2], o1[0], o1[1], o1[2]);
    ok(t5_beam_search(m, SRC, B, TS, &g, o3, l3, s3, &e) == 0 && memcmp(o1, o3, sizeof o1) == 0 &&
       memcmp(l1, l3, sizeof l1) == 0, "%s: beam search with 1 beam == greedy", name);

    /* the greedy sequences scored as targets give the greedy log-probs */
    int32_t lab[B * ML];
    for (int i = 0; i < B * ML; i++) lab[i] = (i % ML) < l1[i / ML] ? o1[i] : MTO_T5_IGNORE;
    mto_t5_batch bt = {B, TS, ML, SRC, lab};
    double sc[B];
    ok(mto_t5_score(m, &bt, sc, &e) == 0, "%s: score runs", name);
    ds = 0;
    for (int b = 0; b < B; b++) ds = fmax(ds, fabs(sc[b] - s1[b]));
    ok(ds < 1e-4, "%s: score of greedy output == its decoding log-prob (diff %.2g)", name, ds);

    mto_t5_gen_opts bc = {ML, 4, 1.0f, 1}, bu = {ML, 4, 1.0f, 0};
    ok(mto_t5_generate(m, SRC, B, TS, &bc, o1, l1, s1, &e) == 0, "%s: cached beam search (4 beams) runs", name);
    ok(mto_t5_generate(m, SRC, B, TS, &bu, o2, l2, s2, &e) == 0, "%s: uncached beam search runs", name);
    ok(memcmp(o1, o2, sizeof o1) == 0 && memcmp(l1, l2, sizeof l1) == 0,
       "%s: cached beam search == uncached", name);
    for (int i = 0; i < B * ML; i++) lab[i] = (i % ML) < l1[i / ML] ? o1[i] : MTO_T5_IGNORE;
    mto_t5_score(m, &bt, sc, &e);
    ds = 0;
    for (int b = 0; b < B; b++) ds = fmax(ds, fabs(sc[b] - s1[b]));
    ok(ds < 1e-4, "%s: beam hypothesis score == its scored log-prob (diff %.2g)", name, ds);
    mto_t5_gen_opts bad = {0, 1, 1.0f, 1};
    ok(mto_t5_generate(m, SRC, B, TS, &bad, o1, l1, s1, &e) == MTO_EINVAL, "max_len 0 refused: %s", e.msg);
    mto_t5_free(m);
}

int main(void)
{
    run(0);
    run(1);
    return tap_done();
}
