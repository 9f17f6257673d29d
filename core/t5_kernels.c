/* t5_kernels.c — the elementwise and row kernels of the engine, forward and
 * backward over raw float pointers. Matrix products go to t5_mm (matmul.c). */
#include <math.h>
#include <stdint.h>
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
 * polynomial, ~1 ulp), written once for GCC vector extensions (4 lanes: one SSE
 * op on baseline x86-64; 16 bytes keeps clear of the AVX argument ABI) and once scalar
 * for row tails with the same arithmetic. x < -87 gives exactly 0, so masked
 * (-inf) scores and logits far below the row max vanish. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4_load(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void v4_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f v4_sel(v4i m, v4f a, v4f b) { return (v4f)(((v4i)a & m) | ((v4i)b & ~m)); } /* m ? a : b */

#define EXP_POLY(r) \
    (((((((1.9875691500e-4f * (r) + 1.3981999507e-3f) * (r) + 8.3334519073e-3f) * (r) + 4.1665795894e-2f) * (r) + \
        1.6666665459e-1f) * (r) + 5.0000001201e-1f) * (r) * (r) + (r) + 1.0f))

static inline v4f vexp(v4f x)
{
    const v4f zero = {0}, lo = zero - 87.0f, hi = zero + 88.0f;
    v4f xc = v4_sel(x < lo, lo, v4_sel(x > hi, hi, x));
    v4f n = xc * 1.44269504088896341f + 12582912.0f; /* round to nearest via 1.5*2^23 */
    n -= 12582912.0f;
    v4f r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    v4f p = EXP_POLY(r);
    v4i e = (__builtin_convertvector(n, v4i) + 127) << 23;
    return v4_sel(x < lo, zero, p * (v4f)e);
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
static float row_max(const float *restrict x, size_t n)
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
 * Float lanes are flushed into a double every 512 terms: ~1e-7 on long rows. */
static double sum_exp(float *y, const float *x, size_t n, float mx)
{
    double s = 0;
    size_t i = 0;
    while (i + 4 <= n) {
        v4f acc = {0};
        for (int b = 0; b < 128 && i + 4 <= n; b++, i += 4) {
            v4f e = vexp(v4_load(x + i) - mx);
            if (y) v4_store(y + i, e);
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
static double row_dot(const float *restrict a, const float *restrict b, size_t n)
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

static double row_sumsq(const float *restrict x, size_t n)
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

void mto_k_rmsnorm(float *restrict out, float *restrict rstd, const float *restrict x, const float *restrict w,
                   int N, int D, float eps)
{
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D;
        float *oi = out + (size_t)i * D;
        float r = (float)(1.0 / sqrt(row_sumsq(xi, D) / D + eps));
        rstd[i] = r;
        VFOR(j, (size_t)D, oi[j] = w[j] * (xi[j] * r););
    }
}

void mto_k_rmsnorm_bwd(float *restrict dx, float *restrict dw, const float *restrict dout, const float *restrict x,
                       const float *restrict w, const float *restrict rstd, int N, int D)
{
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

void mto_k_add(float *restrict y, const float *restrict a, const float *restrict b, size_t n)
{
    VFOR(i, n, y[i] = a[i] + b[i];);
}

void mto_k_mul(float *restrict y, const float *restrict x, size_t n) { VFOR(i, n, y[i] *= x[i];); }

void mto_k_relu_mask(float *restrict dx, const float *restrict y, size_t n)
{
    VFOR(i, n, dx[i] = y[i] > 0 ? dx[i] : 0.0f;);
}

static void relu_inplace(float *restrict x, size_t n) { VFOR(i, n, x[i] = x[i] > 0 ? x[i] : 0.0f;); }
static void relu_copy(float *restrict y, const float *restrict x, size_t n)
{
    VFOR(i, n, y[i] = x[i] > 0 ? x[i] : 0.0f;);
}

void mto_k_relu(float *y, const float *x, size_t n)
{
    if (y == x) relu_inplace(y, n);
    else relu_copy(y, x, n);
}

void mto_k_relu_bwd(float *restrict dx, const float *restrict dy, const float *restrict x, size_t n)
{
    VFOR(i, n, dx[i] += x[i] > 0 ? dy[i] : 0.0f;);
}

#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */

/* tanh(u) = 1 - 2 / (exp(2u) + 1): saturates to +-1 through fexp's clamps */
static inline float ftanh(float u) { return 1.0f - 2.0f / (fexp(2.0f * u) + 1.0f); }
static inline v4f vtanh(v4f u) { return 1.0f - 2.0f / (vexp(2.0f * u) + 1.0f); }

float mto_k_gelu1(float x)
{
    return 0.5f * x * (1.0f + ftanh(GELU_C * (x + 0.044715f * x * x * x)));
}
static inline v4f vgelu(v4f x) { return 0.5f * x * (1.0f + vtanh(GELU_C * (x + 0.044715f * x * x * x))); }

/* d gelu(v) / dv */
static inline float gelu_grad(float v)
{
    float t = ftanh(GELU_C * (v + 0.044715f * v * v * v));
    float du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
    return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
}
static inline v4f vgelu_grad(v4f v)
{
    v4f t = vtanh(GELU_C * (v + 0.044715f * v * v * v));
    v4f du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
    return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
}

void mto_k_gelu(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) v4_store(y + i, vgelu(v4_load(x + i)));
    for (; i < n; i++) y[i] = mto_k_gelu1(x[i]);
}

void mto_k_gelu_bwd(float *dx, const float *dy, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) v4_store(dx + i, v4_load(dx + i) + v4_load(dy + i) * vgelu_grad(v4_load(x + i)));
    for (; i < n; i++) dx[i] += dy[i] * gelu_grad(x[i]);
}

/* da may alias dh1: every lane is loaded before it is stored. */
void mto_k_gated_bwd(float *dh0, float *dh1, const float *da, const float *h0, const float *h1, size_t n, int gelu)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4f d = v4_load(da + i), h = v4_load(h0 + i), g = v4_load(h1 + i);
        if (gelu) {
            v4_store(dh0 + i, d * g * vgelu_grad(h));
            v4_store(dh1 + i, d * vgelu(h));
        } else {
            const v4f zero = {0};
            v4i pos = h > zero;
            v4_store(dh0 + i, v4_sel(pos, d * g, zero));
            v4_store(dh1 + i, v4_sel(pos, d * h, zero));
        }
    }
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

void mto_k_softmax(float *x, int n)
{
    float mx = row_max(x, (size_t)n);
    if (mx == -INFINITY) { memset(x, 0, (size_t)n * sizeof *x); return; } /* nothing visible */
    float inv = (float)(1.0 / sum_exp(x, x, (size_t)n, mx));
    VFOR(j, (size_t)n, x[j] *= inv;);
}

void mto_k_softmax_bwd(float *dx, const float *dy, const float *y, int n)
{
    float d = (float)row_dot(dy, y, (size_t)n);
    if (dx == dy) {
        float *restrict g = dx;
        VFOR(j, (size_t)n, g[j] = y[j] * (g[j] - d););
    } else {
        for (int j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - d);
    }
}

double mto_k_xent(float *lse, float *logp, const float *logits, const int32_t *labels, int N, int V, int *n)
{
    double total = 0;
    int cnt = 0;
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * V;
        float mx = row_max(z, (size_t)V);
        double l = mx + log(sum_exp(NULL, z, (size_t)V, mx));
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

void mto_k_log_softmax(float *z, int R, int V)
{
    for (int r = 0; r < R; r++) {
        float *restrict row = z + (size_t)r * V;
        float mx = row_max(row, (size_t)V);
        float l = mx + (float)log(sum_exp(NULL, row, (size_t)V, mx));
        VFOR(j, (size_t)V, row[j] -= l;);
    }
}

void mto_k_xent_bwd(float *logits, const float *lse, const int32_t *labels, int N, int V, float scale)
{
    for (int i = 0; i < N; i++) {
        float *restrict z = logits + (size_t)i * V;
        int y = labels[i];
        if (y == MTO_T5_IGNORE || y < 0 || y >= V) { memset(z, 0, (size_t)V * sizeof *z); continue; }
        float l = lse[i];
        size_t j = 0;
        for (; j + 4 <= (size_t)V; j += 4) v4_store(z + j, vexp(v4_load(z + j) - l) * scale);
        for (; j < (size_t)V; j++) z[j] = fexp(z[j] - l) * scale;
        z[y] -= scale;
    }
}

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
