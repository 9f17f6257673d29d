/* test_matmul.c — the matrix-product layer (core/matmul.c): the default path is
 * cblas_sgemm bit for bit; oneDNN fp32 agrees with it; bf16 products equal the
 * exact product of the bf16-rounded inputs to fp32 accumulation error; each
 * oneDNN shape makes one primitive; and a bf16 model trains like fp32 (100
 * steps) and gives logits near the PyTorch reference. MTO_BF16=emulate lets
 * the bf16 part run on CPUs without native bf16. Also: decoding's few-row
 * products (t5_mm_rows) and when the bf16 copy of the weights is remade. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matmul_impl.h"
#include "mto/optim.h"
#include "mto/safetensors.h"
#include "mto/t5.h"
#include "mto/train.h"
#include "tap.h"

static unsigned rs = 12345;
static float frand(void) { rs = rs * 1103515245u + 12345u; return ((rs >> 8) & 0xffff) / 32768.0f - 1.0f; }
static void fill(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = frand(); }
static float bf(float f) { union { uint32_t u; float f; } v; v.u = (uint32_t)mto_f32_to_bf16(f) << 16; return v.f; }

/* Stored sizes of op(A) (M x K) and op(B) (K x N) with padded leading dimensions. */
typedef struct prob { int ta, tb, M, N, K, lda, ldb, ldc; float alpha, beta; float *A, *B, *C0; } prob;

static void prob_make(prob *p, int ta, int tb, int M, int N, int K, float alpha, float beta)
{
    *p = (prob){ta, tb, M, N, K, (ta ? M : K) + 3, (tb ? K : N) + 5, N + 2, alpha, beta, NULL, NULL, NULL};
    size_t na = (size_t)(ta ? K : M) * p->lda, nb = (size_t)(tb ? N : K) * p->ldb, nc = (size_t)M * p->ldc;
    p->A = malloc(na * 4); p->B = malloc(nb * 4); p->C0 = malloc(nc * 4);
    fill(p->A, na); fill(p->B, nb); fill(p->C0, nc);
}

static float *prob_c(const prob *p)
{
    size_t nc = (size_t)p->M * p->ldc;
    float *c = malloc(nc * 4);
    memcpy(c, p->C0, nc * 4);
    return c;
}

static float at(const float *X, int t, int ld, int i, int j) { return t ? X[(size_t)j * ld + i] : X[(size_t)i * ld + j]; }

/* max over C of |got - want| / (sum |terms| + |beta C|): the error relative to the
 * product's magnitude; want = alpha op(A) op(B) + beta C in double (inputs rounded to bf16 if r). */
static double err_vs_exact(const prob *p, const float *C, int r)
{
    double worst = 0;
    for (int i = 0; i < p->M; i++)
        for (int j = 0; j < p->N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < p->K; k++) {
                double a = at(p->A, p->ta, p->lda, i, k), b = at(p->B, p->tb, p->ldb, k, j);
                if (r) a = bf((float)a), b = bf((float)b);
                s += a * b;
                mag += fabs(a * b);
            }
            double c0 = p->C0[(size_t)i * p->ldc + j];
            double want = p->alpha * s + p->beta * c0, scale = fabs(p->alpha) * mag + fabs(p->beta * c0);
            double e = fabs(C[(size_t)i * p->ldc + j] - want) / (scale > 0 ? scale : 1);
            if (e > worst) worst = e;
        }
    return worst;
}

static void test_products(const mto_t5 *m32, mto_t5 *m16, int have_bf16)
{
    for (int t = 0; t < 4; t++) {
        prob p;
        prob_make(&p, t & 1, t >> 1, 37, 53, 71, 0.5f, t == 3 ? 0.0f : 1.0f);
        size_t nc = (size_t)p.M * p.ldc;
        float *ref = prob_c(&p), *c = prob_c(&p);
        cblas_sgemm(CblasRowMajor, p.ta ? CblasTrans : CblasNoTrans, p.tb ? CblasTrans : CblasNoTrans, p.M, p.N, p.K,
                    p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, ref, p.ldc);
        mto_matmul_set_backend(MTO_MATMUL_OPENBLAS, NULL);
        t5_mm(m32, p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, c, p.ldc);
        ok(!memcmp(c, ref, nc * 4), "openblas fp32 ta%d tb%d: bit-identical to cblas_sgemm", p.ta, p.tb);
        if (mto_matmul_have_dnnl()) {
            memcpy(c, p.C0, nc * 4);
            mto_matmul_set_backend(MTO_MATMUL_DNNL, NULL);
            t5_mm(m32, p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, c, p.ldc);
            mto_matmul_set_backend(MTO_MATMUL_OPENBLAS, NULL);
            double e = err_vs_exact(&p, c, 0);
            ok(e <= 1e-6, "dnnl fp32 ta%d tb%d beta %g: error %.2g <= 1e-6 of the exact product", p.ta, p.tb,
               p.beta, e);
            ok(c[p.N] == p.C0[p.N] && c[p.N + 1] == p.C0[p.N + 1], "dnnl fp32 ta%d tb%d: padding of C untouched",
               p.ta, p.tb);
        }
        if (have_bf16) {
            memcpy(c, p.C0, nc * 4);
            t5_mm(m16, p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, c, p.ldc);
            double e = err_vs_exact(&p, c, 1), e0 = err_vs_exact(&p, c, 0);
            ok(e <= 1e-6 && e0 > 1e-5, "bf16 ta%d tb%d: error %.2g <= 1e-6 of the product of the bf16-rounded "
               "inputs (%.2g of the fp32 one)", p.ta, p.tb, e, e0);
        }
        free(ref); free(c); free(p.A); free(p.B); free(p.C0);
    }
}

static void test_cache(void)
{
    if (!mto_matmul_have_dnnl()) { tap_skip("no oneDNN: primitive cache"); return; }
    float a[6 * 4], b[4 * 5], c[6 * 5];
    fill(a, 24); fill(b, 20);
    mto_dnnl_mm(0, 0, 0, 6, 5, 4, 1.0f, a, 4, b, 5, 0.0f, c, 5, 1);
    long n0 = mto_dnnl_primitives_created();
    for (int i = 0; i < 5; i++) mto_dnnl_mm(0, 0, 0, 6, 5, 4, 1.0f, a, 4, b, 5, 0.0f, c, 5, 1);
    ok(mto_dnnl_primitives_created() == n0, "dnnl: the same shape 5 more times makes no new primitive");
    mto_dnnl_mm(0, 0, 0, 5, 5, 4, 1.0f, a, 4, b, 5, 0.0f, c, 5, 1);
    ok(mto_dnnl_primitives_created() == n0 + 1, "dnnl: a new shape makes one");
}

static mto_t5 *tiny(uint64_t seed)
{
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = 64; c.d_ff = 256; c.d_kv = 16; c.num_heads = 4; c.num_layers = c.num_decoder_layers = 2;
    c.vocab_size = 300; c.dropout_rate = 0.0f;
    mto_error e;
    return mto_t5_new(&c, seed, &e);
}

/* 100 AdamW steps over 4 fixed batches; losses into out[100]. */
static int train100(mto_t5 *m, int prec, float *out)
{
    mto_error e;
    if (mto_t5_set_precision(m, prec, &e) != prec || mto_t5_zero_grad(m, &e)) return -1;
    size_t nv = 0;
    mto_param_view *v = mto_train_views(m, &nv, &e);
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAMW);
    mto_optim *o = mto_optim_new(&oc, v, m->nparams, &e);
    enum { B = 8, Ts = 24, Tt = 8 };
    int32_t src[4][B * Ts], lab[4][B * Tt];
    unsigned x = 99;
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < B * Ts; i++) src[k][i] = 2 + (int)((x = x * 1103515245u + 12345u) >> 8) % 40;
        for (int i = 0; i < B * Tt; i++) lab[k][i] = 2 + (src[k][(i / Tt) * Ts + i % Tt] * 7) % 298; /* learnable */
    }
    int rc = o ? 0 : -1;
    for (int s = 0; s < 100 && !rc; s++) {
        mto_t5_batch b = {B, Ts, Tt, src[s % 4], lab[s % 4]};
        rc = mto_t5_zero_grad(m, &e) || mto_t5_forward(m, &b, 1, &e) || mto_t5_backward(m, &e) ||
             mto_optim_step(o, 1e-3f, &e);
        out[s] = m->loss;
    }
    mto_optim_free(o);
    free(v);
    return rc;
}

static void test_training(void)
{
    float l32[100], l16[100];
    mto_t5 *a = tiny(3), *b = tiny(3);
    int r32 = train100(a, MTO_PREC_FP32, l32), r16 = train100(b, MTO_PREC_BF16, l16);
    ok(!r32 && !r16, "100 training steps in fp32 and bf16");
    double worst = 0, wabs = 0; /* worst |diff| / (10% of the fp32 loss + 0.05) */
    int at_ = 0;
    for (int s = 0; s < 100; s++) {
        double d = fabs(l16[s] - l32[s]) / (0.10 * l32[s] + 0.05);
        if (d > worst) worst = d, at_ = s, wabs = fabs(l16[s] - l32[s]);
    }
    tap_diag("loss fp32 %.4f -> %.4f, bf16 %.4f -> %.4f", l32[0], l32[99], l16[0], l16[99]);
    ok(l32[99] < 0.5 * l32[0], "fp32 learns (%.3f -> %.3f)", l32[0], l32[99]);
    ok(worst <= 1, "bf16 loss within 10%% + 0.05 of fp32 at every one of 100 steps (closest call: step %d, "
       "|diff| %.3g = %.2f of the bound)", at_, wabs, worst);
    ok(fabs(l16[99] - l32[99]) <= 0.03 * l32[99] + 0.01, "bf16 final loss %.4f vs fp32 %.4f", l16[99], l32[99]);
    /* back to fp32: the same bits as a model that never used bf16 */
    mto_error e;
    mto_t5_set_precision(b, MTO_PREC_FP32, &e);
    memcpy(b->params, a->params, a->numel * sizeof(float));
    int32_t src[2 * 10], lab[2 * 4];
    for (int i = 0; i < 20; i++) src[i] = 3 + i;
    for (int i = 0; i < 8; i++) lab[i] = 5 + i;
    mto_t5_batch bt = {2, 10, 4, src, lab};
    mto_t5_forward(a, &bt, 0, &e);
    mto_t5_forward(b, &bt, 0, &e);
    ok(b->mm == NULL && !memcmp(a->logits, b->logits, 2 * 4 * 300 * sizeof(float)),
       "back to fp32: bf16 state freed, logits bit-identical to a model that never used bf16");
    mto_t5_free(a);
    mto_t5_free(b);
}

/* t5_mm_rows / t5_mm_few: matrix-vector products (fp32 OpenBLAS, R <= T5_MV_ROWS)
 * within rounding of sgemm's; more rows are t5_mm's call itself, bit for bit. */
static void test_rows(const mto_t5 *m32)
{
    enum { N = 301, K = 67 };
    for (int R = 1; R <= T5_MV_ROWS + 1; R++) {
        float *x = malloc((size_t)R * K * 4), *W = malloc((size_t)N * K * 4), *c0 = malloc((size_t)R * N * 4);
        float *c1 = malloc((size_t)R * N * 4), *c2 = malloc((size_t)R * N * 4);
        fill(x, (size_t)R * K); fill(W, (size_t)N * K); fill(c0, (size_t)R * N);
        memcpy(c1, c0, (size_t)R * N * 4);
        memcpy(c2, c0, (size_t)R * N * 4);
        t5_mm_rows(m32, R, N, K, 0.5f, x, W, 1.0f, c1);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, N, K, 0.5f, x, K, W, K, 1.0f, c2, N);
        double md = 0, mx = 0;
        for (int i = 0; i < R * N; i++) {
            md = fmax(md, fabs((double)c1[i] - c2[i]));
            mx = fmax(mx, fabs((double)c2[i]));
        }
        if (R <= T5_MV_ROWS)
            ok(md <= 1e-6 * mx && md <= 1e-5, "t5_mm_rows R=%d (sgemv): max diff %.2g from sgemm (max |C| %.3g)", R,
               md, mx);
        else
            ok(!memcmp(c1, c2, (size_t)R * N * 4), "t5_mm_rows R=%d: bit-identical to cblas_sgemm", R);
        /* x B with B stored K x N (row stride N + 3), C with row stride N + 1: attention's ctx = P V */
        float *Bk = malloc((size_t)K * (N + 3) * 4), *d1 = malloc((size_t)R * (N + 1) * 4);
        float *d2 = malloc((size_t)R * (N + 1) * 4);
        fill(Bk, (size_t)K * (N + 3));
        fill(d1, (size_t)R * (N + 1));
        memcpy(d2, d1, (size_t)R * (N + 1) * 4);
        t5_mm_few(NULL, 0, R, N, K, 1.0f, x, K, Bk, N + 3, 0.0f, d1, N + 1);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, N, K, 1.0f, x, K, Bk, N + 3, 0.0f, d2, N + 1);
        md = mx = 0;
        for (int i = 0; i < R * (N + 1); i++) {
            md = fmax(md, fabs((double)d1[i] - d2[i]));
            mx = fmax(mx, fabs((double)d2[i]));
        }
        int pad = 1;
        for (int r = 0; r < R; r++) pad &= d1[(size_t)r * (N + 1) + N] == d2[(size_t)r * (N + 1) + N];
        ok(md <= 1e-6 * mx && md <= 1e-5 && pad && (R <= T5_MV_ROWS || md == 0),
           "t5_mm_few R=%d, B not transposed, strided: max diff %.2g from sgemm, padding untouched", R, md);
        free(Bk); free(d1); free(d2);
        free(x); free(W); free(c0); free(c1); free(c2);
    }
}

/* The bf16 weights are remade once per weight change, not per call. */
static void test_shadow(void)
{
    mto_t5 *m = tiny(5), *fresh = tiny(6);
    mto_error e;
    enum { B = 2, Ts = 10, T = 6 };
    int32_t src[B * Ts], out[B * T], out2[B * T], lab[B * 4];
    int len[B], len2[B];
    double sc[B], sc2[B], sc0[B];
    for (int i = 0; i < B * Ts; i++) src[i] = 3 + (i * 7) % 50;
    for (int i = 0; i < B * 4; i++) lab[i] = 5 + i;
    mto_t5_gen_opts go = {T, 1, 1.0f, 1};
    int rc = mto_t5_set_precision(m, MTO_PREC_BF16, &e) != MTO_PREC_BF16;
    rc = rc || mto_t5_generate(m, src, B, Ts, &go, out, len, sc0, &e);
    long b1 = m->mm ? m->mm->builds : -1;
    rc = rc || mto_t5_generate(m, src, B, Ts, &go, out, len, sc, &e);
    mto_t5_batch bt = {B, Ts, 4, src, lab};
    rc = rc || mto_t5_forward(m, &bt, 0, &e);
    ok(!rc && b1 == 1 && m->mm->builds == 1, "bf16 weights made once for two decodes and a forward (%ld)",
       rc ? -1L : m->mm->builds);
    /* one AdamW step */
    size_t nv2 = 0;
    mto_param_view *v = rc ? NULL : mto_train_views(m, &nv2, &e);
    rc = rc || !v;
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAMW);
    mto_optim *o = rc ? NULL : mto_optim_new(&oc, v, m->nparams, &e);
    rc = rc || !o || mto_t5_forward(m, &bt, 1, &e) || mto_t5_backward(m, &e) || mto_optim_step(o, 1e-2f, &e);
    long b2 = rc ? -1 : m->mm->builds;
    rc = rc || mto_t5_generate(m, src, B, Ts, &go, out, len, sc, &e);
    ok(!rc && b2 == 1 && m->mm->builds == 2, "an optimizer step: remade once, at the next decode (%ld -> %ld)", b2,
       rc ? -1L : m->mm->builds);
    /* the same weights in a model that never had a shadow */
    memcpy(fresh->params, m->params, m->numel * sizeof(float));
    rc = rc || mto_t5_set_precision(fresh, MTO_PREC_BF16, &e) != MTO_PREC_BF16 ||
         mto_t5_generate(fresh, src, B, Ts, &go, out2, len2, sc2, &e);
    ok(!rc && !memcmp(out, out2, sizeof out) && !memcmp(sc, sc2, sizeof sc) && sc[0] != sc0[0],
       "after the step, decoding equals a fresh bf16 model's with the same weights (score %.6f, %.6f before)",
       sc[0], sc0[0]);
    /* a direct write, announced */
    m->w.shared[3] += 1.0f;
    mto_weights_changed();
    rc = rc || mto_t5_generate(m, src, B, Ts, &go, out, len, sc, &e);
    ok(!rc && m->mm->builds == 3, "mto_weights_changed(): remade at the next decode");
    mto_optim_free(o);
    free(v);
    mto_t5_free(m);
    mto_t5_free(fresh);
}

/* bf16 logits of the reference checkpoints against PyTorch's fp32 logits. */
static void test_reference(const char *srcdir, const char *variant, double tol)
{
    char p[4096];
    mto_error e;
    snprintf(p, sizeof p, "%s/tests/ref/%s", srcdir, variant);
    mto_t5 *m = mto_t5_load(p, &e);
    snprintf(p, sizeof p, "%s/tests/ref/%s-expected.safetensors", srcdir, variant);
    mto_st_file *f = NULL;
    if (!m || mto_st_open(p, &f, &e)) { ok(0, "%s: load (%s)", variant, e.msg); mto_t5_free(m); return; }
    const mto_st_tensor *ts = mto_st_find(f, "src"), *tl = mto_st_find(f, "labels"), *tg = mto_st_find(f, "logits");
    size_t ns = (size_t)mto_st_numel(ts), nl = (size_t)mto_st_numel(tl), ng = (size_t)mto_st_numel(tg);
    float *s = malloc(ns * 4), *l = malloc(nl * 4), *want = malloc(ng * 4);
    int32_t *si = malloc(ns * 4), *li = malloc(nl * 4);
    mto_st_read_f32(f, ts, s, ns, &e); mto_st_read_f32(f, tl, l, nl, &e); mto_st_read_f32(f, tg, want, ng, &e);
    for (size_t i = 0; i < ns; i++) si[i] = (int32_t)s[i];
    for (size_t i = 0; i < nl; i++) li[i] = (int32_t)l[i];
    mto_t5_batch b = {(int)ts->shape[0], (int)ts->shape[1], (int)tl->shape[1], si, li};
    mto_t5_set_precision(m, MTO_PREC_BF16, &e);
    int rc = mto_t5_forward(m, &b, 0, &e);
    double md = 0, mx = 0;
    for (size_t i = 0; i < ng && !rc; i++) {
        md = fmax(md, fabs((double)m->logits[i] - want[i]));
        mx = fmax(mx, fabs((double)want[i]));
    }
    ok(!rc && md <= tol * mx && md > 1e-4,
       "%s bf16: logits max abs diff %.3g <= %.2g x max |logit| %.3g of the PyTorch fp32 reference (fp32: <= 1e-4)",
       variant, md, tol, mx);
    free(s); free(l); free(want); free(si); free(li);
    mto_st_close(f);
    mto_t5_free(m);
}

int main(void)
{
    char srcdir[2048];
    const char *sd = getenv("MTO_SRCDIR");
    snprintf(srcdir, sizeof srcdir, "%s", sd ? sd : MTO_SRCDIR);
    unsetenv("MTO_MATMUL");
    setenv("MTO_BF16", "emulate", 1); /* run the bf16 path on any CPU oneDNN supports */
    char d[256];
    mto_matmul_describe(d, sizeof d);
    tap_diag("%s", d);
    ok(mto_matmul_backend() == MTO_MATMUL_OPENBLAS, "openblas is the default backend");
    mto_t5 *m32 = tiny(1), *m16 = tiny(1);
    mto_error e;
    ok(mto_t5_precision(m32) == MTO_PREC_FP32 && m32->mm == NULL, "models start in fp32");
    int p16 = mto_t5_set_precision(m16, MTO_PREC_BF16, &e);
    ok(p16 == (mto_matmul_have_dnnl() ? MTO_PREC_BF16 : MTO_PREC_FP32), "bf16 %s",
       mto_matmul_have_dnnl() ? "taken" : "falls back to fp32 without oneDNN");
    ok(mto_t5_set_precision(m16, 7, &e) < 0 && e.code == MTO_EINVAL, "an unknown precision is an error");
    ok(mto_matmul_set_backend(5, &e) == MTO_EINVAL, "an unknown backend is an error");
    if (!mto_matmul_have_dnnl()) ok(mto_matmul_set_backend(MTO_MATMUL_DNNL, &e) == MTO_EINVAL, "no dnnl backend");
    test_products(m32, m16, p16 == MTO_PREC_BF16);
    test_cache();
    test_rows(m32);
    mto_t5_free(m32);
    mto_t5_free(m16);
    if (p16 != MTO_PREC_BF16) {
        tap_skip("no oneDNN: bf16 training and reference");
        return tap_done();
    }
    test_training();
    test_shadow();
    test_reference(srcdir, "t5-v10", 0.02);
    test_reference(srcdir, "t5-v11", 0.02);
    return tap_done();
}
