/* t5_kernels.c — the elementwise and row kernels of the engine, forward and
 * backward over raw float pointers. Matrix products go to t5_mm (matmul.c).
 *
 * On x86-64 the row and elementwise kernels are compiled three times, for
 * baseline x86-64 (SSE2), AVX2 and AVX-512F, and the widest the CPU runs is
 * picked at first use (MTO_KERNELS=generic|avx2|avx512 chooses; tests compare
 * them). All three give the same bits: every lane is fixed in the source (16
 * floats per block; sums of exp fold into 4 lanes in element order), GCC never
 * reassociates float arithmetic, and fp-contract=off (below) stops it fusing
 * a*b+c into one FMA where the ISA has FMA. Baseline x86-64 has no FMA, so
 * the generic variant is the code this file always compiled to. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#define T5_ISA_VARIANTS 1
#endif

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matmul_impl.h"
#include "t5_internal.h"

void mto_k_linear(const mto_t5 *m, float *out, const float *x, const float *W, int N, int in, int outd, float beta)
{
    t5_mm(m, 0, 1, N, outd, in, 1.0f, x, in, W, in, beta, out, outd);
}

void mto_k_linear_dx(const mto_t5 *m, float *dx, const float *dout, const float *W, int N, int in, int outd,
                     float beta)
{
    t5_mm(m, 0, 0, N, in, outd, 1.0f, dout, outd, W, in, beta, dx, in);
}

void mto_k_linear_dw(const mto_t5 *m, float *dW, const float *dout, const float *x, int N, int in, int outd,
                     float beta)
{
    t5_mm(m, 1, 0, outd, in, N, 1.0f, dout, outd, x, in, beta, dW, in);
}

void mto_k_linear_bwd(const mto_t5 *m, float *dx, float *dW, const float *dout, const float *x, const float *W,
                      int N, int in, int outd)
{
    if (dx) mto_k_linear_dx(m, dx, dout, W, N, in, outd, 1.0f);
    if (dW) mto_k_linear_dw(m, dW, dout, x, N, in, outd, 1.0f);
}

/* The row and elementwise loops below run in fixed blocks of 16 with restrict
 * pointers: GCC's -O2 ("very cheap") vectoriser only takes loops whose vector
 * code needs no scalar epilogue or alias check, which a 16-trip inner loop over
 * non-aliasing pointers is. The tail (< 16) runs the same body scalar. */
#define VFOR(i, n, ...) do { size_t i##0_ = 0, n_ = (n); \
    for (; i##0_ + 16 <= n_; i##0_ += 16) for (size_t i = i##0_; i < i##0_ + 16; i++) { __VA_ARGS__ } \
    for (size_t i = i##0_; i < n_; i++) { __VA_ARGS__ } } while (0)

/* exp(x) for the row kernels (Cephes expf: Cody-Waite reduction, degree-6
 * polynomial, ~1 ulp), written once for GCC vector extensions of 4 and 16
 * lanes (VMATH_DEFINE) and once scalar for row tails with the same arithmetic. x < -87 gives exactly 0, so masked
 * (-inf) scores and logits far below the row max vanish. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
/* 16 lanes: one AVX-512 op, two AVX2 ops, four SSE ops. The functions taking
 * or returning them are always inlined, never called, so GCC's note that a
 * 64-byte vector argument has another ABI with AVX-512 than without is moot. */
#if defined(__GNUC__) /* GCC and clang */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define EXP_POLY(r) \
    (((((((1.9875691500e-4f * (r) + 1.3981999507e-3f) * (r) + 8.3334519073e-3f) * (r) + 4.1665795894e-2f) * (r) + \
        1.6666665459e-1f) * (r) + 5.0000001201e-1f) * (r) * (r) + (r) + 1.0f))

/* load, store, select (m ? a : b) and exp for a vector type vf with int lanes vi */
#define VMATH_DEFINE(sfx, vf, vi) \
    ALWAYS_INLINE vf load##sfx(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; } \
    ALWAYS_INLINE void store##sfx(float *p, vf v) { memcpy(p, &v, sizeof v); } \
    ALWAYS_INLINE vf sel##sfx(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); } \
    ALWAYS_INLINE vf exp##sfx(vf x) \
    { \
        const vf zero = {0}, lo = zero - 87.0f, hi = zero + 88.0f; \
        vf xc = sel##sfx(x < lo, lo, sel##sfx(x > hi, hi, x)); \
        vf n = xc * 1.44269504088896341f + 12582912.0f; /* round to nearest via 1.5*2^23 */ \
        n -= 12582912.0f; \
        vf r = xc - n * 0.693359375f; \
        r = r + n * 2.12194440e-4f; \
        vf p = EXP_POLY(r); \
        vi e = (__builtin_convertvector(n, vi) + 127) << 23; \
        return sel##sfx(x < lo, zero, p * (vf)e); \
    }
VMATH_DEFINE(4, v4f, v4i)
VMATH_DEFINE(16, v16f, v16i)

/* lanes 4q..4q+3 of a 16-lane vector */
ALWAYS_INLINE v4f quarter(v16f v, int q)
{
    v4f r;
    memcpy(&r, (const char *)&v + 16 * q, sizeof r);
    return r;
}

static inline float fexp(float x)
{
    float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = xc * 1.44269504088896341f + 12582912.0f;
    n -= 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = EXP_POLY(r);
    int32_t e = ((int32_t)n + 127) * (1 << 23);
    float sc;
    memcpy(&sc, &e, sizeof sc);
    return x < -87.0f ? 0.0f : p * sc;
}

/* max over n floats, vectorised in 16 lanes */
ALWAYS_INLINE float row_max(const float *restrict x, size_t n)
{
    float lane[16];
    for (int k = 0; k < 16; k++) lane[k] = -INFINITY;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) lane[k] = x[i + k] > lane[k] ? x[i + k] : lane[k];
    float mx = -INFINITY;
    for (int k = 0; k < 16; k++) mx = lane[k] > mx ? lane[k] : mx;
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

/* sum of exp(x - mx) over n floats; y (may be x, or NULL) receives the terms.
 * Float lanes are flushed into a double every 512 terms: ~1e-7 on long rows.
 * wide (AVX-512): terms are made 16 at a time but added into the 4 lanes in
 * element order, so the sum is the one 4 at a time gives. */
ALWAYS_INLINE double sum_exp(float *y, const float *x, size_t n, float mx, int wide)
{
    double s = 0;
    size_t i = 0;
    while (i + 4 <= n) {
        v4f acc = {0};
        int b = 0; /* groups of 4 terms in this flush block (128 at most) */
        for (; wide && b + 4 <= 128 && i + 16 <= n; b += 4, i += 16) {
            v16f e = exp16(load16(x + i) - mx);
            if (y) store16(y + i, e);
            acc += quarter(e, 0);
            acc += quarter(e, 1);
            acc += quarter(e, 2);
            acc += quarter(e, 3);
        }
        for (; b < 128 && i + 4 <= n; b++, i += 4) {
            v4f e = exp4(load4(x + i) - mx);
            if (y) store4(y + i, e);
            acc += e;
        }
        for (int k = 0; k < 4; k++) s += acc[k];
    }
    for (; i < n; i++) {
        float e = fexp(x[i] - mx);
        if (y) y[i] = e;
        s += e;
    }
    return s;
}

/* sum of a[i]*b[i] and of x[i]^2: float lanes, double total */
ALWAYS_INLINE double row_dot(const float *restrict a, const float *restrict b, size_t n)
{
    float lane[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) lane[k] += a[i + k] * b[i + k];
    double s = 0;
    for (int k = 0; k < 16; k++) s += lane[k];
    for (; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

ALWAYS_INLINE double row_sumsq(const float *restrict x, size_t n)
{
    float lane[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) lane[k] += x[i + k] * x[i + k];
    double s = 0;
    for (int k = 0; k < 16; k++) s += lane[k];
    for (; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

ALWAYS_INLINE void rmsnorm_body(float *restrict out, float *restrict rstd, const float *restrict x, const float *restrict w,
                   int N, int D, float eps, int wide)
{
    (void)wide;
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D;
        float *oi = out + (size_t)i * D;
        float r = (float)(1.0 / sqrt(row_sumsq(xi, D) / D + eps));
        rstd[i] = r;
        VFOR(j, (size_t)D, oi[j] = w[j] * (xi[j] * r););
    }
}

ALWAYS_INLINE void rmsnorm_bwd_body(float *restrict dx, float *restrict dw, const float *restrict dout, const float *restrict x,
                       const float *restrict w, const float *restrict rstd, int N, int D, int wide)
{
    (void)wide;
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D, *gi = dout + (size_t)i * D;
        float r = rstd[i];
        /* y = w * x * r, r = (mean x^2 + eps)^-1/2 ; dr/dx_j = -r^3 x_j / D */
        float lane[16] = {0};
        size_t j0 = 0;
        for (; j0 + 16 <= (size_t)D; j0 += 16)
            for (int k = 0; k < 16; k++) lane[k] += gi[j0 + k] * w[j0 + k] * xi[j0 + k];
        double dot = 0;
        for (int k = 0; k < 16; k++) dot += lane[k];
        for (; j0 < (size_t)D; j0++) dot += (double)gi[j0] * w[j0] * xi[j0];
        float c = (float)(dot * r * r * r / D);
        if (dx) {
            float *di = dx + (size_t)i * D;
            VFOR(j, (size_t)D, di[j] += gi[j] * w[j] * r - c * xi[j];);
        }
        if (dw) VFOR(j, (size_t)D, dw[j] += gi[j] * xi[j] * r;);
    }
}

ALWAYS_INLINE void add_body(float *restrict y, const float *restrict a, const float *restrict b, size_t n, int wide)
{
    (void)wide;
    VFOR(i, n, y[i] = a[i] + b[i];);
}

ALWAYS_INLINE void mul_body(float *restrict y, const float *restrict x, size_t n, int wide)
{
    (void)wide;
    VFOR(i, n, y[i] *= x[i];);
}

ALWAYS_INLINE void relu_mask_body(float *restrict dx, const float *restrict y, size_t n, int wide)
{
    (void)wide;
    VFOR(i, n, dx[i] = y[i] > 0 ? dx[i] : 0.0f;);
}

ALWAYS_INLINE void relu_inplace(float *restrict x, size_t n) { VFOR(i, n, x[i] = x[i] > 0 ? x[i] : 0.0f;); }
ALWAYS_INLINE void relu_copy(float *restrict y, const float *restrict x, size_t n)
{
    VFOR(i, n, y[i] = x[i] > 0 ? x[i] : 0.0f;);
}

ALWAYS_INLINE void relu_body(float *y, const float *x, size_t n, int wide)
{
    (void)wide;
    if (y == x) relu_inplace(y, n);
    else relu_copy(y, x, n);
}

ALWAYS_INLINE void relu_bwd_body(float *restrict dx, const float *restrict dy, const float *restrict x, size_t n, int wide)
{
    (void)wide;
    VFOR(i, n, dx[i] += x[i] > 0 ? dy[i] : 0.0f;);
}

#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */

/* tanh(u) = 1 - 2 / (exp(2u) + 1): saturates to +-1 through fexp's clamps */
static inline float ftanh(float u) { return 1.0f - 2.0f / (fexp(2.0f * u) + 1.0f); }

float mto_k_gelu1(float x)
{
    return 0.5f * x * (1.0f + ftanh(GELU_C * (x + 0.044715f * x * x * x)));
}

/* d gelu(v) / dv */
static inline float gelu_grad(float v)
{
    float t = ftanh(GELU_C * (v + 0.044715f * v * v * v));
    float du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
    return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
}

/* the same three for 4 and 16 lanes */
#define VGELU_DEFINE(sfx, vf) \
    ALWAYS_INLINE vf tanh##sfx(vf u) { return 1.0f - 2.0f / (exp##sfx(2.0f * u) + 1.0f); } \
    ALWAYS_INLINE vf gelu##sfx(vf x) { return 0.5f * x * (1.0f + tanh##sfx(GELU_C * (x + 0.044715f * x * x * x))); } \
    ALWAYS_INLINE vf gelu_grad##sfx(vf v) \
    { \
        vf t = tanh##sfx(GELU_C * (v + 0.044715f * v * v * v)); \
        vf du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v); \
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du; \
    }
VGELU_DEFINE(4, v4f)
VGELU_DEFINE(16, v16f)

ALWAYS_INLINE void gelu_body(float *y, const float *x, size_t n, int wide)
{
    size_t i = 0;
    for (; wide && i + 16 <= n; i += 16) store16(y + i, gelu16(load16(x + i)));
    for (; i + 4 <= n; i += 4) store4(y + i, gelu4(load4(x + i)));
    for (; i < n; i++) y[i] = mto_k_gelu1(x[i]);
}

ALWAYS_INLINE void gelu_bwd_body(float *dx, const float *dy, const float *x, size_t n, int wide)
{
    size_t i = 0;
    for (; wide && i + 16 <= n; i += 16) store16(dx + i, load16(dx + i) + load16(dy + i) * gelu_grad16(load16(x + i)));
    for (; i + 4 <= n; i += 4) store4(dx + i, load4(dx + i) + load4(dy + i) * gelu_grad4(load4(x + i)));
    for (; i < n; i++) dx[i] += dy[i] * gelu_grad(x[i]);
}

/* da may alias dh1: every lane is loaded before it is stored. */
#define GATED_STEP(sfx, vf, vi, i) do { \
        vf d = load##sfx(da + (i)), h = load##sfx(h0 + (i)), g = load##sfx(h1 + (i)); \
        if (gelu) { \
            store##sfx(dh0 + (i), d * g * gelu_grad##sfx(h)); \
            store##sfx(dh1 + (i), d * gelu##sfx(h)); \
        } else { \
            const vf zero = {0}; \
            vi pos = h > zero; \
            store##sfx(dh0 + (i), sel##sfx(pos, d * g, zero)); \
            store##sfx(dh1 + (i), sel##sfx(pos, d * h, zero)); \
        } \
    } while (0)

ALWAYS_INLINE void gated_bwd_body(float *dh0, float *dh1, const float *da, const float *h0, const float *h1,
                                  size_t n, int gelu, int wide)
{
    size_t i = 0;
    for (; wide && i + 16 <= n; i += 16) GATED_STEP(16, v16f, v16i, i);
    for (; i + 4 <= n; i += 4) GATED_STEP(4, v4f, v4i, i);
    for (; i < n; i++) {
        float d = da[i], h = h0[i], g = h1[i];
        if (gelu) {
            dh0[i] = d * g * gelu_grad(h);
            dh1[i] = d * mto_k_gelu1(h);
        } else {
            dh0[i] = h > 0 ? d * g : 0.0f;
            dh1[i] = h > 0 ? d * h : 0.0f;
        }
    }
}

ALWAYS_INLINE void softmax_body(float *x, int n, int wide)
{
    float mx = row_max(x, (size_t)n);
    if (mx == -INFINITY) { memset(x, 0, (size_t)n * sizeof *x); return; } /* nothing visible */
    float inv = (float)(1.0 / sum_exp(x, x, (size_t)n, mx, wide));
    VFOR(j, (size_t)n, x[j] *= inv;);
}

ALWAYS_INLINE void softmax_bwd_body(float *dx, const float *dy, const float *y, int n, int wide)
{
    (void)wide;
    float d = (float)row_dot(dy, y, (size_t)n);
    if (dx == dy) {
        float *restrict g = dx;
        VFOR(j, (size_t)n, g[j] = y[j] * (g[j] - d););
    } else {
        for (int j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - d);
    }
}

ALWAYS_INLINE double xent_body(float *lse, float *logp, const float *logits, const int32_t *labels, int N, int V, int *n, int wide)
{
    double total = 0;
    int cnt = 0;
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * V;
        float mx = row_max(z, (size_t)V);
        double l = mx + log(sum_exp(NULL, z, (size_t)V, mx, wide));
        lse[i] = (float)l;
        int y = labels[i];
        if (y == MTO_T5_IGNORE || y < 0 || y >= V) { logp[i] = 0; continue; }
        double lp = z[y] - l;
        logp[i] = (float)lp;
        total -= lp;
        cnt++;
    }
    *n = cnt;
    return total;
}

int mto_k_argmax(const float *x, int n)
{
    float mx = row_max(x, (size_t)n);
    for (int j = 0; j < n; j++)
        if (x[j] == mx) return j;
    return 0; /* all NaN */
}

ALWAYS_INLINE void log_softmax_body(float *z, int R, int V, int wide)
{
    for (int r = 0; r < R; r++) {
        float *restrict row = z + (size_t)r * V;
        float mx = row_max(row, (size_t)V);
        float l = mx + (float)log(sum_exp(NULL, row, (size_t)V, mx, wide));
        VFOR(j, (size_t)V, row[j] -= l;);
    }
}

ALWAYS_INLINE void xent_bwd_body(float *logits, const float *lse, const int32_t *labels, int N, int V, float scale, int wide)
{
    for (int i = 0; i < N; i++) {
        float *restrict z = logits + (size_t)i * V;
        int y = labels[i];
        if (y == MTO_T5_IGNORE || y < 0 || y >= V) { memset(z, 0, (size_t)V * sizeof *z); continue; }
        float l = lse[i];
        size_t j = 0;
        for (; wide && j + 16 <= (size_t)V; j += 16) store16(z + j, exp16(load16(z + j) - l) * scale);
        for (; j + 4 <= (size_t)V; j += 4) store4(z + j, exp4(load4(z + j) - l) * scale);
        for (; j < (size_t)V; j++) z[j] = fexp(z[j] - l) * scale;
        z[y] -= scale;
    }
}

/* ---- one variant per ISA and the choice between them ---------------------- */

/* Every dispatched kernel: return type, name, parameters, arguments. Each
 * becomes mto_k_<name> (PUBLIC below), calling <name>_body of the chosen ISA. */
#define T5_KERNELS(X) \
    X(void, rmsnorm, (float *out, float *rstd, const float *x, const float *w, int N, int D, float eps), \
      (out, rstd, x, w, N, D, eps)) \
    X(void, rmsnorm_bwd, \
      (float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd, int N, int D), \
      (dx, dw, dout, x, w, rstd, N, D)) \
    X(void, add, (float *y, const float *a, const float *b, size_t n), (y, a, b, n)) \
    X(void, mul, (float *y, const float *x, size_t n), (y, x, n)) \
    X(void, relu, (float *y, const float *x, size_t n), (y, x, n)) \
    X(void, relu_mask, (float *dx, const float *y, size_t n), (dx, y, n)) \
    X(void, relu_bwd, (float *dx, const float *dy, const float *x, size_t n), (dx, dy, x, n)) \
    X(void, gelu, (float *y, const float *x, size_t n), (y, x, n)) \
    X(void, gelu_bwd, (float *dx, const float *dy, const float *x, size_t n), (dx, dy, x, n)) \
    X(void, gated_bwd, (float *dh0, float *dh1, const float *da, const float *h0, const float *h1, size_t n, int gelu), \
      (dh0, dh1, da, h0, h1, n, gelu)) \
    X(void, softmax, (float *x, int n), (x, n)) \
    X(void, softmax_bwd, (float *dx, const float *dy, const float *y, int n), (dx, dy, y, n)) \
    X(double, xent, (float *lse, float *logp, const float *logits, const int32_t *labels, int N, int V, int *n), \
      (lse, logp, logits, labels, N, V, n)) \
    X(void, log_softmax, (float *z, int R, int V), (z, R, V)) \
    X(void, xent_bwd, (float *logits, const float *lse, const int32_t *labels, int N, int V, float scale), \
      (logits, lse, labels, N, V, scale))

#define RET_void
#define RET_double return
/* args with the width flag appended: name##_body WITH_WIDE_0 args -> name##_body(a, b, ..., 0) */
#define WITH_WIDE_0(...) (__VA_ARGS__, 0)
#define WITH_WIDE_1(...) (__VA_ARGS__, 1)
#define MAKE_GENERIC(ret, name, params, args) static ret name##_generic params { RET_##ret name##_body WITH_WIDE_0 args; }
T5_KERNELS(MAKE_GENERIC)
#ifdef T5_ISA_VARIANTS
#define MAKE_AVX2(ret, name, params, args) \
    __attribute__((target("avx2"))) static ret name##_avx2 params { RET_##ret name##_body WITH_WIDE_0 args; }
#define MAKE_AVX512(ret, name, params, args) \
    __attribute__((target("avx512f"))) static ret name##_avx512 params { RET_##ret name##_body WITH_WIDE_1 args; }
T5_KERNELS(MAKE_AVX2)
T5_KERNELS(MAKE_AVX512)
#endif

typedef struct kernel_set {
    const char *isa;
#define FIELD(ret, name, params, args) ret(*name) params;
    T5_KERNELS(FIELD)
} kernel_set;

#define ENTRY_GENERIC(ret, name, params, args) name##_generic,
static const kernel_set k_generic = {"generic", T5_KERNELS(ENTRY_GENERIC)};
#ifdef T5_ISA_VARIANTS
#define ENTRY_AVX2(ret, name, params, args) name##_avx2,
#define ENTRY_AVX512(ret, name, params, args) name##_avx512,
static const kernel_set k_avx2 = {"avx2", T5_KERNELS(ENTRY_AVX2)};
static const kernel_set k_avx512 = {"avx512", T5_KERNELS(ENTRY_AVX512)};
#endif

static const kernel_set *g_kernels = &k_generic;
static pthread_once_t g_kernels_once = PTHREAD_ONCE_INIT;

/* The widest set the CPU runs, or MTO_KERNELS's if the CPU runs that one. */
static void kernels_pick(void)
{
    const kernel_set *runs[3] = {&k_generic};
    int n = 1;
#ifdef T5_ISA_VARIANTS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) runs[n++] = &k_avx2;
    if (__builtin_cpu_supports("avx512f")) runs[n++] = &k_avx512;
#endif
    g_kernels = runs[n - 1];
    const char *e = getenv("MTO_KERNELS");
    if (!e || !*e) return;
    for (int i = 0; i < n; i++)
        if (!strcmp(e, runs[i]->isa)) {
            g_kernels = runs[i];
            return;
        }
    char sets[64] = "";
    for (int i = 0; i < n; i++)
        snprintf(sets + strlen(sets), sizeof sets - strlen(sets), "%s%s", i ? ", " : "", runs[i]->isa);
    fprintf(stderr, "mto: MTO_KERNELS=%s is not a kernel set this CPU runs (%s); using %s\n", e, sets, g_kernels->isa);
}

static inline const kernel_set *kernels(void)
{
    pthread_once(&g_kernels_once, kernels_pick);
    return g_kernels;
}

const char *mto_k_isa(void) { return kernels()->isa; }

#define PUBLIC(ret, name, params, args) ret mto_k_##name params { RET_##ret kernels()->name args; }
T5_KERNELS(PUBLIC)

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t mto_k_drop_key(uint64_t seed, uint64_t step, uint32_t site)
{
    return mix64(mix64(seed + 0x9e3779b97f4a7c15ULL) ^ mix64(step * 0x632be59bd9b4e019ULL + site));
}

void mto_k_dropout(float *x, size_t n, float p, uint64_t key, size_t base)
{
    if (p <= 0) return;
    /* keep iff the top 24 bits of the hash are >= p * 2^24 */
    uint32_t thr = (uint32_t)(p * 16777216.0f);
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        uint32_t h = (uint32_t)(mix64(key + (base + i) * 0x9e3779b97f4a7c15ULL) >> 40);
        x[i] = h >= thr ? x[i] * scale : 0.0f;
    }
}
