/* test_prompt.c — soft prompts: slot insertion, finite-difference gradient of
 * the loss w.r.t. the prompt (pre and post, v1.0 and v1.1) through the frozen
 * backward, frozen == full backward for the prompt gradient (with dropout too),
 * model weights bit-identical after prompt tuning (memcmp of the arena, no
 * gradient arena ever allocated), loss going down, the prompt-only checkpoint
 * round trip (same embeddings, same decoded ids and loss), and bad inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mto/host.h"
#include "mto/prompt.h"
#include "mto/t5.h"
#include "mto/train.h"
#include "tap.h"

static void tiny_config(mto_t5_config *c, int v11)
{
    mto_t5_config_default(c);
    c->d_model = 16; c->d_ff = 32; c->d_kv = 4; c->num_heads = 2;
    c->num_layers = 2; c->num_decoder_layers = 2; c->num_buckets = 8; c->max_distance = 16;
    c->vocab_size = 40; c->ff = v11 ? MTO_T5_FF_GATED_GELU : MTO_T5_FF_RELU;
    c->tie_word_embeddings = !v11; c->dropout_rate = 0.1f;
}

/* ---- insertion ------------------------------------------------------------- */

static void test_insert(void)
{
    mto_error e;
    mto_prompt *p = mto_prompt_new(3, 8, MTO_PROMPT_PRE, &e);
    int32_t src[] = {5, 6, 7, 39, 1}, out[16];
    int n = mto_prompt_insert(p, src, 5, 0, out);
    int32_t pre[] = {-1, -2, -3, 5, 6, 7, 39, 1};
    ok(n == 8 && memcmp(out, pre, sizeof pre) == 0, "pre: slots -1..-k before the text");
    p->placement = MTO_PROMPT_POST;
    n = mto_prompt_insert(p, src, 5, 0, out);
    int32_t post[] = {5, 6, 7, 39, -1, -2, -3, 1};
    ok(n == 8 && memcmp(out, post, sizeof post) == 0, "post: slots before the final eos");
    p->mask_id = 39;
    n = mto_prompt_insert(p, src, 5, 0, out);
    int32_t mpost[] = {5, 6, 7, -1, -2, -3, 39, 1};
    ok(n == 8 && memcmp(out, mpost, sizeof mpost) == 0, "masked post: slots before the trailing sentinel");
    n = mto_prompt_insert(p, src, 5, 3, out);
    int32_t trunc[] = {5, 6, -1, -2, -3, 1};
    ok(n == 6 && memcmp(out, trunc, sizeof trunc) == 0, "the text is truncated first (eos kept), slots on top");
    mto_prompt_free(p);
    ok(mto_prompt_new(0, 8, MTO_PROMPT_PRE, &e) == NULL && strstr(e.msg, "k 0"), "k = 0 refused: %s", e.msg);
}

/* ---- gradients -------------------------------------------------------------- */

static const int32_t TEXT[3 * 5] = {5, 9, 12, 7, 1, 8, 3, 1, 0, 0, 22, 23, 24, 25, 1};
static const int32_t LABELS[3 * 4] = {4, 6, 1, MTO_T5_IGNORE, 11, 1, MTO_T5_IGNORE, MTO_T5_IGNORE, 30, 31, 32, 1};
enum { B = 3, TS = 5, TT = 4, K = 3 };

/* The batch with the prompt's slots: rows padded to TS + K. */
static void prompted_batch(const mto_prompt *p, int32_t *src)
{
    for (int b = 0; b < B; b++) {
        int n = 0;
        while (n < TS && TEXT[b * TS + n] != 0) n++;
        int len = mto_prompt_insert(p, TEXT + b * TS, n, 0, src + b * (TS + K));
        for (int t = len; t < TS + K; t++) src[b * (TS + K) + t] = 0;
    }
}

static double loss_of(mto_t5 *m, const mto_t5_batch *b)
{
    mto_error e;
    mto_t5_forward(m, b, 0, &e);
    return m->loss;
}

static void test_grad(int v11, int placement)
{
    const char *tag = v11 ? (placement == MTO_PROMPT_PRE ? "v1.1 pre" : "v1.1 post")
                          : (placement == MTO_PROMPT_PRE ? "v1.0 pre" : "v1.0 post");
    mto_t5_config c;
    tiny_config(&c, v11);
    mto_error e;
    mto_t5 *m = mto_t5_new(&c, 42, &e);
    mto_prompt *p = mto_prompt_new(K, c.d_model, placement, &e);
    mto_prompt_init_uniform(p, 0.8f, 3, &e);
    int32_t src[B * (TS + K)];
    prompted_batch(p, src);
    mto_t5_batch b = {B, TS + K, TT, src, LABELS};
    mto_prompt_attach(m, p, 1, &e);
    memset(p->grad, 0, sizeof(float) * K * c.d_model);
    loss_of(m, &b);
    int rc = mto_t5_backward(m, &e);
    ok(rc == 0 && m->grads == NULL, "%s: frozen backward runs without a gradient arena", tag);
    /* central differences over every prompt coordinate */
    float eps = v11 ? 1e-2f : 3e-3f;
    double num = 0, den = 0;
    for (int i = 0; i < K * c.d_model; i++) {
        float x0 = p->emb[i], xp = x0 + eps, xm = x0 - eps;
        p->emb[i] = xp;
        double fp = loss_of(m, &b);
        p->emb[i] = xm;
        double fm = loss_of(m, &b);
        p->emb[i] = x0;
        double fd = (fp - fm) / ((double)xp - xm);
        num += (fd - p->grad[i]) * (fd - p->grad[i]);
        den += (double)p->grad[i] * p->grad[i];
    }
    double rel = sqrt(num) / (sqrt(den) + 1e-12), tol = v11 ? 1e-2 : 5e-2;
    if (!ok(rel < tol && den > 0, "%s: prompt gradient matches finite differences (rel %.2g)", tag, rel))
        tap_diag("relative error %.3g, |grad| %.3g", rel, sqrt(den));

    /* frozen and full backward give the same prompt gradient, bit for bit, with dropout on */
    size_t nb = sizeof(float) * K * c.d_model;
    float *g_frozen = malloc(nb), *g_full = malloc(nb);
    for (int mode = 0; mode < 2; mode++) {
        m->frozen = mode == 0;
        m->step = 10;
        memset(p->grad, 0, nb);
        mto_t5_forward(m, &b, 1, &e);
        mto_t5_backward(m, &e);
        memcpy(mode == 0 ? g_frozen : g_full, p->grad, nb);
    }
    ok(memcmp(g_frozen, g_full, nb) == 0 && m->grads != NULL,
       "%s: frozen backward == full backward for the prompt (dropout on)", tag);
    free(g_frozen); free(g_full);
    mto_prompt_detach(m);
    mto_prompt_free(p);
    mto_t5_free(m);
}

/* ---- training, weights frozen, save/load ---------------------------------- */

enum { NEX = 12, PK = 8 };
static int32_t SRCS[NEX][6], TGTS[NEX][3];

static void make_task(mto_example *ex)
{
    for (int i = 0; i < NEX; i++) {
        for (int t = 0; t < 5; t++) SRCS[i][t] = 3 + (i * 7 + t * 5) % 30;
        SRCS[i][5] = MTO_T5_EOS;
        /* the target is a fixed function of the first token: learnable from a prompt */
        TGTS[i][0] = 10 + SRCS[i][0] % 4;
        TGTS[i][1] = 20;
        TGTS[i][2] = MTO_T5_EOS;
        ex[i] = (mto_example){SRCS[i], TGTS[i], 6, 3};
    }
}

static void test_train(int v11)
{
    const char *tag = v11 ? "v1.1" : "v1.0";
    mto_t5_config c;
    tiny_config(&c, v11);
    mto_error e;
    mto_t5 *m = mto_t5_new(&c, 7, &e);
    mto_example ex[NEX];
    make_task(ex);
    size_t nb = m->numel * sizeof(float);
    float *before = malloc(nb);
    memcpy(before, m->params, nb);
    mto_prompt *p = mto_prompt_new(PK, c.d_model, v11 ? MTO_PROMPT_POST : MTO_PROMPT_PRE, &e);
    int32_t phrase[] = {5, 6};
    int rc = mto_prompt_init_ids(p, m, phrase, 2, &e);
    size_t rb = sizeof(float) * c.d_model;
    ok(rc == 0 && memcmp(p->emb, m->w.shared + 5 * c.d_model, rb) == 0 &&
           memcmp(p->emb + (PK - 1) * c.d_model, m->w.shared + 6 * c.d_model, rb) == 0 && strcmp(p->init, "phrase") == 0,
       "%s: phrase init repeats the phrase's embeddings to fill k", tag);
    rc = mto_prompt_init_vocab(p, m, 2, 0, 5, &e);
    ok(rc == 0 && strcmp(p->init, "vocab") == 0, "%s: init from sampled vocabulary rows", tag);
    float *emb0 = malloc(sizeof(float) * PK * c.d_model);
    memcpy(emb0, p->emb, sizeof(float) * PK * c.d_model);
    double l0, l1;
    mto_prompt_eval_loss(m, p, ex, NEX, 8, 0, 0, &l0, &e);
    mto_train_opts o;
    mto_prompt_train_opts_default(&o);
    ok(o.optim.kind == MTO_OPT_ADAFACTOR && fabsf(o.lr - 0.3f) < 1e-7f, "%s: default optimizer Adafactor lr 0.3", tag);
    o.max_steps = 100;
    o.batch_size = 4;
    o.seed = 1;
    mto_train_result r;
    rc = mto_prompt_train(m, p, ex, NEX, &o, &r, &e);
    if (!ok(rc == 0 && r.steps == 100, "%s: 100 prompt-tuning steps", tag)) tap_diag("%s", e.msg);
    mto_prompt_eval_loss(m, p, ex, NEX, 8, 0, 0, &l1, &e);
    ok(l1 < 0.9 * l0, "%s: prompt tuning lowers the loss (%.4f -> %.4f)", tag, l0, l1);
    ok(memcmp(before, m->params, nb) == 0, "%s: every model parameter bit-identical after prompt tuning", tag);
    ok(m->grads == NULL && m->soft_k == 0 && !m->frozen, "%s: no gradient arena, model detached after training",
       tag);
    ok(memcmp(emb0, p->emb, sizeof(float) * PK * c.d_model) != 0, "%s: the prompt itself moved", tag);

    /* prompt-only checkpoint */
    char path[] = "/tmp/mto-prompt-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    p->mask_id = 37;
    snprintf(p->template_name, sizeof p->template_name, "post_pt");
    rc = mto_prompt_save(p, path, &e);
    mto_prompt *q = rc ? NULL : mto_prompt_load(path, &e);
    if (!ok(q != NULL, "%s: prompt saved and loaded", tag)) tap_diag("%s", e.msg);
    if (q) {
        ok(q->k == p->k && q->d_model == p->d_model && q->placement == p->placement && q->mask_id == 37 &&
               strcmp(q->init, "vocab") == 0 && strcmp(q->template_name, "post_pt") == 0 &&
               memcmp(q->emb, p->emb, sizeof(float) * PK * c.d_model) == 0,
           "%s: same embeddings and metadata after the round trip", tag);
        p->mask_id = q->mask_id = -1;
        mto_t5_gen_opts g = {5, 1, 1.0f, 1};
        int32_t o1[NEX * 5], o2[NEX * 5];
        int n1[NEX], n2[NEX];
        double la, lb;
        mto_prompt_predict(m, p, ex, NEX, 4, 0, &g, o1, n1, &e);
        mto_prompt_predict(m, q, ex, NEX, 4, 0, &g, o2, n2, &e);
        mto_prompt_eval_loss(m, q, ex, NEX, 8, 0, 0, &la, &e);
        mto_prompt_eval_loss(m, p, ex, NEX, 8, 0, 0, &lb, &e);
        ok(memcmp(o1, o2, sizeof o1) == 0 && memcmp(n1, n2, sizeof n1) == 0 && la == lb,
           "%s: loaded prompt decodes the same ids and gives the same loss", tag);
        /* the prompt matters: the bare model decodes something else on some input or scores differently */
        double lbare;
        mto_eval_loss(m, ex, NEX, 8, 0, 0, &lbare, &e);
        ok(lbare != la, "%s: the prompt changes the model's loss (%.4f bare vs %.4f)", tag, lbare, la);
        mto_prompt_free(q);
    }
    unlink(path);

    /* bad inputs */
    mto_t5_save(m, path, NULL, &e);
    ok(mto_prompt_load(path, &e) == NULL && strstr(e.msg, path) && strstr(e.msg, "not a soft prompt"),
       "a model checkpoint is refused as a prompt: %s", e.msg);
    unlink(path);
    mto_prompt *wrong = mto_prompt_new(2, c.d_model + 1, MTO_PROMPT_PRE, &e);
    ok(mto_prompt_attach(m, wrong, 1, &e) != 0 && strstr(e.msg, "d_model"), "d_model mismatch refused: %s", e.msg);
    mto_prompt_free(wrong);
    int32_t bad[] = {-5, 3, 1}, lab[] = {4, 1};
    mto_t5_batch bb = {1, 3, 2, bad, lab};
    ok(mto_t5_forward(m, &bb, 0, &e) != 0 && strstr(e.msg, "source id -5"), "slot ids need an attached prompt: %s",
       e.msg);
    m->frozen = 1;
    mto_train_opts_default(&o);
    ok(mto_train(m, ex, NEX, &o, &r, &e) != 0 && strstr(e.msg, "frozen"), "a frozen model without views refused");
    m->frozen = 0;
    free(before); free(emb0);
    mto_prompt_free(p);
    mto_t5_free(m);
}

int main(void)
{
    test_insert();
    for (int v11 = 0; v11 < 2; v11++) {
        test_grad(v11, MTO_PROMPT_PRE);
        test_grad(v11, MTO_PROMPT_POST);
    }
    test_train(0);
    test_train(1);
    return tap_done();
}
