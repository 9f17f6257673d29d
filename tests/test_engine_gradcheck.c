/* test_engine_gradcheck.c — central finite differences against the analytic
 * backward of every kernel and of the whole tiny T5 (both variants, with and
 * without dropout). The comparison is per tensor: ||fd - an|| / ||an|| over
 * the sampled coordinates, which a 10% error in one coordinate fails (checked
 * below), while float rounding in the differences stays well under it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "mto/t5.h"
#include "t5_internal.h"
#include "tap.h"

#define TOL 2e-2



static mto_rng rng;
static float urand(void) { return (float)(mto_rng_uniform(&rng) * 2 - 1); }
static void fill(float *x, size_t n, float s) { for (size_t i = 0; i < n; i++) x[i] = urand() * s; }

/* A scalar function of the current buffers (double for the reduction). */
typedef double (*scalar_fn)(void *ctx);

/* Relative error of analytic an[] vs central differences of f w.r.t. x[], over up to `k` coords. */
static double fd_rel(scalar_fn f, void *ctx, float *x, const float *an, size_t n, size_t k, float eps)
{
    double num = 0, den = 0;
    size_t step = n > k ? n / k : 1;
    for (size_t i = (n > k ? mto_rng_below(&rng, step) : 0); i < n; i += step) {
        float x0 = x[i], xp = x0 + eps, xm = x0 - eps; /* the step actually taken in float */
        x[i] = xp;
        double fp = f(ctx);
        x[i] = xm;
        double fm = f(ctx);
        x[i] = x0;
        double fd = (fp - fm) / ((double)xp - xm);
        num += (fd - an[i]) * (fd - an[i]);
        den += (double)an[i] * an[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-12);
}

static void check(const char *what, double rel)
{
    if (!ok(rel < TOL, "%s gradient matches finite differences", what)) tap_diag("relative error %.3g", rel);
}

/* ---- kernels: loss = sum(out * R) ---- */

enum { N = 5, D = 8, O = 6 };
static float X[N * D], W[O * D], Wn[D], R[N * O > N * D ? N * O : N * D], OUT[N * O > N * D ? N * O : N * D],
    RSTD[N];

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static double f_linear(void *c) { (void)c; mto_k_linear(NULL, OUT, X, W, N, D, O, 0); return dot(OUT, R, N * O); }
static double f_rms(void *c) { (void)c; mto_k_rmsnorm(OUT, RSTD, X, Wn, N, D, 1e-6f); return dot(OUT, R, N * D); }
static double f_relu(void *c) { (void)c; mto_k_relu(OUT, X, N * D); return dot(OUT, R, N * D); }
static double f_gelu(void *c) { (void)c; mto_k_gelu(OUT, X, N * D); return dot(OUT, R, N * D); }
static double f_softmax(void *c)
{
    (void)c;
    memcpy(OUT, X, sizeof X);
    for (int i = 0; i < N; i++) mto_k_softmax(OUT + i * D, D);
    return dot(OUT, R, N * D);
}
static int32_t LAB[N] = {3, MTO_T5_IGNORE, 0, 7, 2};
static double f_xent(void *c)
{
    (void)c;
    float lse[N], lp[N];
    int n;
    return mto_k_xent(lse, lp, X, LAB, N, D, &n) / n;
}

static void test_kernels(void)
{
    float dX[N * D], dW[O * D], dWn[D];
    fill(X, N * D, 1.5f); fill(W, O * D, 1); fill(Wn, D, 1); fill(R, sizeof R / sizeof R[0], 1);
    memset(dX, 0, sizeof dX); memset(dW, 0, sizeof dW);
    mto_k_linear_bwd(NULL, dX, dW, R, X, W, N, D, O);
    check("linear dx", fd_rel(f_linear, NULL, X, dX, N * D, 40, 1e-2f));
    check("linear dW", fd_rel(f_linear, NULL, W, dW, O * D, 48, 1e-2f));

    memset(dX, 0, sizeof dX); memset(dWn, 0, sizeof dWn);
    f_rms(NULL);
    mto_k_rmsnorm_bwd(dX, dWn, R, X, Wn, RSTD, N, D);
    check("rmsnorm dx", fd_rel(f_rms, NULL, X, dX, N * D, 40, 1e-2f));
    check("rmsnorm dw", fd_rel(f_rms, NULL, Wn, dWn, D, 8, 1e-2f));

    for (int i = 0; i < N * D; i++) if (fabsf(X[i]) < 0.05f) X[i] = 0.3f; /* keep away from the kink */
    memset(dX, 0, sizeof dX);
    mto_k_relu_bwd(dX, R, X, N * D);
    check("relu", fd_rel(f_relu, NULL, X, dX, N * D, 40, 1e-2f));
    memset(dX, 0, sizeof dX);
    mto_k_gelu_bwd(dX, R, X, N * D);
    check("gelu (tanh)", fd_rel(f_gelu, NULL, X, dX, N * D, 40, 1e-2f));
    is_near(mto_k_gelu1(1.0f), 0.8411919906f, 1e-6, "gelu_new(1) = 0.841192");

    f_softmax(NULL);
    for (int i = 0; i < N; i++) mto_k_softmax_bwd(dX + i * D, R + i * D, OUT + i * D, D);
    check("softmax", fd_rel(f_softmax, NULL, X, dX, N * D, 40, 1e-2f));

    float lse[N], lp[N];
    int n;
    mto_k_xent(lse, lp, X, LAB, N, D, &n);
    is_int(n, 4, "cross-entropy counts non-ignored labels");
    memcpy(dX, X, sizeof X);
    mto_k_xent_bwd(dX, lse, LAB, N, D, 1.0f / n);
    check("cross-entropy", fd_rel(f_xent, NULL, X, dX, N * D, 40, 1e-2f));
    int zero = 1;
    for (int j = 0; j < D; j++) zero &= dX[D + j] == 0.0f;
    ok(zero, "ignored label row gets zero gradient");

    /* the checker must catch a 10% error in one coordinate */
    memset(dX, 0, sizeof dX); memset(dW, 0, sizeof dW);
    mto_k_linear_bwd(NULL, dX, dW, R, X, W, N, D, O);
    size_t big = 0;
    for (size_t i = 0; i < O * D; i++) if (fabsf(dW[i]) > fabsf(dW[big])) big = i;
    dW[big] *= 1.1f;
    ok(fd_rel(f_linear, NULL, W, dW, O * D, O * D, 1e-2f) > TOL, "checker rejects a gradient 10%% off in one entry");
}

/* ---- attention ---- */

enum { AB = 2, AT = 5, AS = 6, AH = 2, AK = 3, ANB = 8 };
static float Q[AB * AT * AH * AK], K[AB * AS * AH * AK], Vv[AB * AS * AH * AK], REL[ANB * AH],
    P[AB * AH * AT * AS], CTX[AB * AT * AH * AK], RA[AB * AT * AH * AK], SCR[4096];
static uint8_t KM[AB * AS] = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1};
static t5_attn_shape SH;
static double f_attn(void *c)
{
    (void)c;
    t5_attn_fwd(&SH, Q, K, Vv, P, CTX, SCR);
    return dot(CTX, RA, sizeof CTX / sizeof CTX[0]);
}

static void attn_case(const char *name, int Tk, int causal, int bidir, float drop)
{
    memset(&SH, 0, sizeof SH);
    SH.B = AB; SH.Tq = AT; SH.Tk = Tk; SH.H = AH; SH.dkv = AK; SH.ldq = SH.ldk = AH * AK;
    SH.rel = REL; SH.num_buckets = ANB; SH.max_distance = 16; SH.bidirectional = bidir; SH.causal = causal;
    SH.kmask = causal ? NULL : KM; SH.kstride_b = Tk; SH.drop = drop; SH.key = 1234;
    static float dQ[sizeof Q / 4], dK[sizeof K / 4], dV[sizeof K / 4], dR[ANB * AH];
    memset(dQ, 0, sizeof dQ); memset(dK, 0, sizeof dK); memset(dV, 0, sizeof dV); memset(dR, 0, sizeof dR);
    f_attn(NULL);
    t5_attn_bwd(&SH, Q, K, Vv, P, RA, dQ, dK, dV, dR, SCR);
    char buf[128];
    size_t nk = (size_t)AB * Tk * AH * AK;
    snprintf(buf, sizeof buf, "attention %s dQ", name); check(buf, fd_rel(f_attn, NULL, Q, dQ, sizeof Q / 4, 60, 1e-2f));
    snprintf(buf, sizeof buf, "attention %s dK", name); check(buf, fd_rel(f_attn, NULL, K, dK, nk, 60, 1e-2f));
    snprintf(buf, sizeof buf, "attention %s dV", name); check(buf, fd_rel(f_attn, NULL, Vv, dV, nk, 60, 1e-2f));
    snprintf(buf, sizeof buf, "attention %s drel", name); check(buf, fd_rel(f_attn, NULL, REL, dR, ANB * AH, 16, 1e-2f));
}

static void test_attention(void)
{
    fill(Q, sizeof Q / 4, 1); fill(K, sizeof K / 4, 1); fill(Vv, sizeof Vv / 4, 1); fill(REL, ANB * AH, 1);
    fill(RA, sizeof RA / 4, 1);
    attn_case("bidirectional+padding", AS, 0, 1, 0);
    attn_case("causal", AT, 1, 0, 0);
    attn_case("with dropout", AS, 0, 1, 0.3f);
    /* masked keys get zero weight */
    SH.drop = 0; SH.causal = 0; SH.kmask = KM; SH.Tk = AS; SH.kstride_b = AS;
    f_attn(NULL);
    ok(P[4] == 0.0f && P[5] == 0.0f, "padded keys get zero attention");
    /* HF buckets: bidirectional 32/128 and causal */
    is_int(mto_t5_bucket(0, 1, 32, 128), 0, "bucket(0)");
    is_int(mto_t5_bucket(3, 1, 32, 128), 19, "bucket(+3) bidirectional");
    is_int(mto_t5_bucket(-3, 1, 32, 128), 3, "bucket(-3) bidirectional");
    is_int(mto_t5_bucket(-20, 1, 32, 128), 10, "bucket(-20) log range");
    is_int(mto_t5_bucket(-1000, 1, 32, 128), 15, "bucket clamps");
    is_int(mto_t5_bucket(5, 0, 32, 128), 0, "causal: future offsets bucket 0");
    is_int(mto_t5_bucket(-20, 0, 32, 128), 17, "causal bucket(-20)");
}

/* ---- the whole model ---- */

typedef struct mctx { mto_t5 *m; mto_t5_batch *b; int train; uint64_t step; } mctx;

static double f_model(void *c)
{
    mctx *x = c;
    x->m->step = x->step; /* replay the same dropout masks */
    mto_error e;
    if (mto_t5_forward(x->m, x->b, x->train, &e)) return NAN;
    return x->m->loss;
}

static void tiny_config(mto_t5_config *c, int v11)
{
    mto_t5_config_default(c);
    c->d_model = 16; c->d_ff = 32; c->d_kv = 4; c->num_heads = 2;
    c->num_layers = 2; c->num_decoder_layers = 3; c->num_buckets = 8; c->max_distance = 16;
    c->vocab_size = 40; c->ff = v11 ? MTO_T5_FF_GATED_GELU : MTO_T5_FF_RELU;
    c->tie_word_embeddings = !v11; c->dropout_rate = 0.1f;
}

static const int32_t SRC[3 * 6] = {5, 9, 12, 7, 1, 0, 8, 3, 1, 0, 0, 0, 22, 23, 24, 25, 26, 1};
static const int32_t LABELS[3 * 4] = {4, 6, 1, MTO_T5_IGNORE, 11, 1, MTO_T5_IGNORE, MTO_T5_IGNORE, 30, 31, 32, 1};

static void test_model(int v11, int train)
{
    mto_t5_config c;
    tiny_config(&c, v11);
    mto_error e;
    mto_t5 *m = mto_t5_new(&c, 42, &e);
    if (!ok(m != NULL, "tiny model created")) { tap_diag("%s", e.msg); return; }
    /* give the norms non-trivial weights so their gradients are tested */
    for (size_t i = 0; i < m->nparams; i++)
        if (strstr(m->table[i].name, "norm"))
            for (size_t j = 0; j < m->table[i].numel; j++) m->params[m->table[i].offset + j] = 1.0f + 0.3f * urand();
    mto_t5_batch b = {3, 6, 4, SRC, LABELS};
    mctx x = {m, &b, train, 7};
    f_model(&x);
    mto_t5_zero_grad(m, &e);
    int rc = mto_t5_backward(m, &e);
    ok(rc == 0, "backward runs");
    char buf[256];
    /* v1.1 is smooth: tight. v1.0's ReLUs put kinks inside some differences
     * (more with dropout), so a smaller step and a looser bound; the PyTorch
     * reference test holds every gradient to 1e-3 regardless. */
    double tol = v11 ? 1e-2 : 6e-2;
    float eps = v11 ? 1e-2f : 3e-3f;
    double worst = 0;
    const char *wname = "";
    int bad = 0;
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *p = &m->table[i];
        double r = fd_rel(f_model, &x, m->params + p->offset, m->grads + p->offset, p->numel, 12, eps);
        if (r > worst) worst = r, wname = p->name;
        if (!(r < tol)) { bad++; tap_diag("%s: relative error %.3g", p->name, r); }
    }
    snprintf(buf, sizeof buf, "%s %s: all %zu parameter gradients match finite differences (worst %.2g, %s)",
             v11 ? "v1.1" : "v1.0", train ? "train/dropout" : "eval", m->nparams, worst, wname);
    ok(bad == 0, "%s", buf);

    /* accumulation: a second backward of the same forward doubles the grads */
    float *g1 = malloc(m->numel * sizeof *g1);
    memcpy(g1, m->grads, m->numel * sizeof *g1);
    f_model(&x);
    mto_t5_backward(m, &e);
    double maxd = 0;
    for (size_t i = 0; i < m->numel; i++) maxd = fmax(maxd, fabs(m->grads[i] - 2 * g1[i]));
    ok(maxd < 1e-5, "gradients accumulate across backward calls (max diff %.2g)", maxd);
    double n0 = mto_t5_clip_grad_norm(m, 0);
    double n1 = mto_t5_clip_grad_norm(m, n0 / 2);
    double n2 = mto_t5_clip_grad_norm(m, 0);
    ok(fabs(n1 - n0) < 1e-9 && fabs(n2 - n0 / 2) < 1e-4 * n0, "clip_grad_norm scales the global norm to the limit");
    mto_t5_zero_grad(m, &e);
    int z = 1;
    for (size_t i = 0; i < m->numel; i++) z &= m->grads[i] == 0.0f;
    ok(z, "zero_grad clears every gradient");
    free(g1);
    mto_t5_free(m);
}

static void test_determinism(void)
{
    mto_t5_config c;
    tiny_config(&c, 1);
    mto_error e;
    float l[2][3];
    for (int r = 0; r < 2; r++) {
        mto_t5 *m = mto_t5_new(&c, 99, &e);
        mto_t5_batch b = {3, 6, 4, SRC, LABELS};
        for (int s = 0; s < 3; s++) { mto_t5_forward(m, &b, 1, &e); l[r][s] = m->loss; }
        mto_t5_free(m);
    }
    ok(memcmp(l[0], l[1], sizeof l[0]) == 0, "same seed gives bit-identical training losses");
    ok(l[0][0] != l[0][1], "dropout masks change between steps");
}

int main(void)
{
    mto_rng_seed(&rng, 2024);
    test_kernels();
    test_attention();
    for (int v = 0; v < 2; v++)
        for (int t = 0; t < 2; t++) test_model(v, t);
    test_determinism();
    return tap_done();
}
