/* test_train_loop.c — the training loop on a tiny random T5: it overfits 8
 * examples, repeats bit for bit with the same seed, covers every example once
 * per epoch, restores the best parameters when early stopping, stops with
 * MTO_ENUMERIC naming the step on a NaN loss, and honours cancel/max_steps. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "mto/train.h"
#include "tap.h"

enum { N = 8, V = 48, MAXLEN = 8 };

static int32_t SRC[N][MAXLEN], TGT[N][MAXLEN], TGT2[N][MAXLEN];
static mto_example EX[N], EX2[N];

static void make_data(void)
{
    mto_rng r;
    mto_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        int sl = 3 + (int)mto_rng_below(&r, 4), tl = 2 + (int)mto_rng_below(&r, 3);
        for (int t = 0; t < sl; t++) SRC[i][t] = 2 + (int32_t)mto_rng_below(&r, V - 2);
        SRC[i][sl] = MTO_T5_EOS;
        for (int t = 0; t < tl; t++) {
            TGT[i][t] = 2 + (int32_t)mto_rng_below(&r, V - 2);
            TGT2[i][t] = 2 + (int32_t)mto_rng_below(&r, V - 2);
        }
        TGT[i][tl] = TGT2[i][tl] = MTO_T5_EOS;
        EX[i] = (mto_example){SRC[i], TGT[i], sl + 1, tl + 1};
        EX2[i] = (mto_example){SRC[i], TGT2[i], sl + 1, tl + 1}; /* same sources, other targets */
    }
}

static mto_t5 *tiny(uint64_t seed)
{
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = 32; c.d_ff = 64; c.d_kv = 8; c.num_heads = 4;
    c.num_layers = 2; c.num_decoder_layers = 2; c.vocab_size = V;
    c.num_buckets = 8; c.max_distance = 16;
    c.ff = MTO_T5_FF_GATED_GELU; c.tie_word_embeddings = 0;
    c.dropout_rate = 0.1f;
    mto_error e;
    mto_t5 *m = mto_t5_new(&c, seed, &e);
    if (!m) tap_diag("mto_t5_new: %s", e.msg);
    return m;
}

/* progress callback: records the curve; optionally poisons or cancels at a step */
typedef struct rec {
    float loss[4096];
    long n;
    mto_t5 *poison_model;
    long poison_at, cancel_at;
    volatile int cancel;
} rec;

static void on_progress(void *ud, long step, long total, float loss, double elapsed)
{
    rec *r = ud;
    (void)total; (void)elapsed;
    if (r->n < 4096) r->loss[r->n++] = loss;
    if (r->poison_model && step == r->poison_at) r->poison_model->w.dec_final_ln[0] = NAN;
    if (r->cancel_at && step == r->cancel_at) r->cancel = 1;
}

static void base_opts(mto_train_opts *o, rec *r)
{
    mto_train_opts_default(o);
    o->lr = 3e-3f;
    o->epochs = 80;
    o->batch_size = 4;
    o->seed = 5;
    o->progress = on_progress;
    o->progress_ud = r;
    o->cancel = &r->cancel;
}

static void test_batching(void)
{
    enum { M = 203 };
    static int32_t ids[M];
    static mto_example ex[M];
    mto_rng r;
    mto_rng_seed(&r, 3);
    for (int i = 0; i < M; i++) {
        ids[i] = 5;
        ex[i] = (mto_example){ids, ids, 1 + (int)mto_rng_below(&r, 40), 1 + (int)mto_rng_below(&r, 10)};
    }
    mto_error e;
    mto_batch_plan p, q, s;
    ok(mto_batch_plan_make(&p, ex, M, 8, 42, 0, &e) == 0, "batch plan for 203 examples, batch 8");
    is_int(p.nbatches, 26, "26 batches");
    int seen[M] = {0}, sizes_ok = 1, sorted = 1;
    for (size_t b = 0; b < p.nbatches; b++) {
        size_t k = p.start[b + 1] - p.start[b];
        if (k != 8 && k != 3) sizes_ok = 0;
        for (size_t i = p.start[b]; i < p.start[b + 1]; i++) {
            seen[p.order[i]]++;
            if (i > p.start[b] && ex[p.order[i]].src_len < ex[p.order[i - 1]].src_len) sorted = 0;
        }
    }
    int once = 1;
    for (int i = 0; i < M; i++) once &= seen[i] == 1;
    ok(once, "every example exactly once per epoch");
    ok(sizes_ok && p.start[p.nbatches] == M, "batches of 8 plus one of 3");
    ok(sorted, "each batch holds examples sorted by source length (bucketed)");
    mto_batch_plan_make(&q, ex, M, 8, 42, 0, &e);
    ok(memcmp(p.order, q.order, M * sizeof *p.order) == 0, "same seed and epoch -> same plan");
    mto_batch_plan_make(&s, ex, M, 8, 42, 1, &e);
    ok(memcmp(p.order, s.order, M * sizeof *p.order) != 0, "next epoch -> different plan");
    mto_batch_plan_free(&p); mto_batch_plan_free(&q); mto_batch_plan_free(&s);

    /* padding and truncation (eos kept) */
    mto_batch_buf buf;
    memset(&buf, 0, sizeof buf);
    int32_t a[] = {7, 8, 9, 10, 1}, b2[] = {4, 1};
    mto_example te[2] = {{a, a, 5, 5}, {b2, b2, 2, 2}};
    size_t idx[2] = {0, 1};
    ok(mto_batch_fill(&buf, te, idx, 2, 3, 0, &e) == 0, "batch fill");
    int32_t want_src[] = {7, 8, 1, 4, 1, 0};
    int32_t want_lab[] = {7, 8, 9, 10, 1, 4, 1, -100, -100, -100};
    ok(buf.b.Ts == 3 && memcmp(buf.src, want_src, sizeof want_src) == 0, "source truncated to 3 keeps eos, padded with 0");
    ok(buf.b.Tt == 5 && memcmp(buf.labels, want_lab, sizeof want_lab) == 0, "labels padded with -100");
    mto_example empty = {a, a, 0, 5};
    ok(mto_batch_fill(&buf, &empty, idx, 1, 0, 0, &e) == MTO_EINVAL && strstr(e.msg, "example 1"),
       "empty source -> error naming the example");
    mto_batch_buf_free(&buf);
}

static void test_overfit_and_determinism(void)
{
    mto_t5 *base = tiny(1);
    if (!base) { ok(0, "tiny model"); return; }
    mto_error e;
    mto_t5 *m1 = mto_train_clone_model(base, &e), *m2 = mto_train_clone_model(base, &e),
           *m3 = mto_train_clone_model(base, &e);
    static rec r1, r2, r3;
    mto_train_opts o;
    mto_train_result res;
    base_opts(&o, &r1);
    double before;
    mto_eval_loss(m1, EX, N, 4, 0, 0, &before, &e);
    int rc = mto_train(m1, EX, N, &o, &res, &e);
    ok(rc == 0, "train 8 examples, 80 epochs (%s)", rc ? e.msg : "ok");
    is_int(res.steps, 160, "160 steps (2 per epoch)");
    is_int(res.examples, 640, "640 examples seen");
    double after;
    mto_eval_loss(m1, EX, N, 4, 0, 0, &after, &e);
    tap_diag("loss %.4f -> %.4f (first step %.4f, last epoch %.4f), %.2f s", before, after, res.first_loss,
             res.final_loss, res.wall);
    ok(after < before / 10, "eval loss falls by more than 10x (%.3f -> %.3f)", before, after);
    ok(res.final_loss < res.first_loss / 5, "training loss falls by more than 5x");

    /* predictions reproduce the memorised targets */
    mto_t5_gen_opts g = {MAXLEN, 1, 1.0f, 1};
    int32_t out[N * MAXLEN];
    int len[N], exact = 0;
    ok(mto_predict(m1, EX, N, 3, 0, &g, out, len, &e) == 0, "predict");
    for (int i = 0; i < N; i++)
        exact += len[i] == EX[i].tgt_len && memcmp(out + i * MAXLEN, EX[i].tgt, (size_t)len[i] * 4) == 0;
    ok(exact >= 6, "greedy predictions match %d/8 memorised targets", exact);

    base_opts(&o, &r2);
    mto_train(m2, EX, N, &o, &res, &e);
    ok(r1.n == 160 && r2.n == r1.n && memcmp(r1.loss, r2.loss, sizeof(float) * (size_t)r1.n) == 0,
       "same seed -> bit-identical loss curve");
    ok(memcmp(m1->params, m2->params, m1->numel * sizeof(float)) == 0, "same seed -> bit-identical parameters");
    base_opts(&o, &r3);
    o.seed = 6;
    mto_train(m3, EX, N, &o, &res, &e);
    ok(memcmp(r1.loss, r3.loss, sizeof(float) * 160) != 0, "another seed -> another curve");
    mto_t5_free(m1); mto_t5_free(m2); mto_t5_free(m3); mto_t5_free(base);
}

static void test_early_stopping(void)
{
    mto_t5 *m = tiny(2);
    mto_error e;
    static rec r;
    mto_train_opts o;
    mto_train_result res;
    base_opts(&o, &r);
    o.valid = EX2; /* same sources, conflicting targets: validation loss rises as the model memorises */
    o.nvalid = N;
    o.eval_every = 1;
    o.patience = 5;
    int rc = mto_train(m, EX, N, &o, &res, &e);
    ok(rc == 0, "train with validation (%s)", rc ? e.msg : "ok");
    ok(res.stopped_early && res.steps < 160, "stopped early at step %ld", res.steps);
    ok(res.best_step >= 0 && res.best_step == res.steps - 5, "best at step %ld = stop - patience", res.best_step);
    double vl;
    mto_eval_loss(m, EX2, N, o.batch_size, 0, 0, &vl, &e);
    ok(vl == res.best_valid_loss, "restored parameters give exactly the best validation loss (%.6f)", vl);
    mto_t5_free(m);
}

static void test_nan_cancel_steps(void)
{
    mto_error e;
    mto_train_opts o;
    mto_train_result res;
    static rec r1, r2, r3, r4;

    mto_t5 *m = tiny(3);
    base_opts(&o, &r1);
    r1.poison_model = m;
    r1.poison_at = 2;
    int rc = mto_train(m, EX, N, &o, &res, &e);
    ok(rc == MTO_ENUMERIC, "NaN loss -> MTO_ENUMERIC");
    ok(strcasestr(e.msg, "nan") && strstr(e.msg, "step 3"), "message names the step: %s", e.msg);
    mto_t5_free(m);

    m = tiny(3);
    base_opts(&o, &r2);
    r2.cancel_at = 3;
    rc = mto_train(m, EX, N, &o, &res, &e);
    ok(rc == 0 && res.cancelled && res.steps == 3, "cancel flag stops after step 3 (steps %ld)", res.steps);
    mto_t5_free(m);

    m = tiny(3);
    base_opts(&o, &r3);
    o.max_steps = 7;
    o.batch_size = 3;
    o.grad_accum = 2;
    o.schedule = MTO_LR_LINEAR;
    o.warmup_steps = 2;
    rc = mto_train(m, EX, N, &o, &res, &e);
    ok(rc == 0 && res.steps == 7 && res.epochs == 4, "max_steps 7 with accumulation: %ld steps, %d epochs",
       res.steps, res.epochs);
    mto_t5_free(m);

    m = tiny(3);
    base_opts(&o, &r4);
    o.batch_size = 0;
    ok(mto_train(m, EX, N, &o, &res, &e) == MTO_EINVAL, "batch_size 0 -> MTO_EINVAL");
    o.batch_size = 2;
    o.max_src_len = 2;
    o.max_tgt_len = 2;
    o.epochs = 1;
    ok(mto_train(m, EX, N, &o, &res, &e) == 0 && res.steps == 4, "truncated training runs");
    mto_t5_free(m);
}

int main(void)
{
    make_data();
    test_batching();
    test_overfit_and_determinism();
    test_early_stopping();
    test_nan_cancel_steps();
    return tap_done();
}
