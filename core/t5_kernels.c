/* t5_kernels.c — the elementwise and row kernels of the engine, forward and
 * backward over raw float pointers. Matrix products go to cblas_sgemm. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "t5_internal.h"

void mto_k_linear(float *out, const float *x, const float *W, int N, int in, int outd, float beta)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, outd, in, 1.0f, x, in, W, in, beta, out, outd);
}

void mto_k_linear_bwd(float *dx, float *dW, const float *dout, const float *x, const float *W,
                      int N, int in, int outd)
{
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, outd, 1.0f, dout, outd, W, in, 1.0f, dx, in);
    if (dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, outd, in, N, 1.0f, dout, outd, x, in, 1.0f, dW, in);
}

void mto_k_rmsnorm(float *out, float *rstd, const float *x, const float *w, int N, int D, float eps)
{
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D;
        float *oi = out + (size_t)i * D;
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (double)xi[j] * xi[j];
        float r = (float)(1.0 / sqrt(ss / D + eps));
        rstd[i] = r;
        for (int j = 0; j < D; j++) oi[j] = w[j] * (xi[j] * r);
    }
}

void mto_k_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w,
                       const float *rstd, int N, int D)
{
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D, *gi = dout + (size_t)i * D;
        float r = rstd[i];
        /* y = w * x * r, r = (mean x^2 + eps)^-1/2 ; dr/dx_j = -r^3 x_j / D */
        double dot = 0;
        for (int j = 0; j < D; j++) dot += (double)gi[j] * w[j] * xi[j];
        float c = (float)(dot * r * r * r / D);
        if (dx) {
            float *di = dx + (size_t)i * D;
            for (int j = 0; j < D; j++) di[j] += gi[j] * w[j] * r - c * xi[j];
        }
        if (dw)
            for (int j = 0; j < D; j++) dw[j] += gi[j] * xi[j] * r;
    }
}

void mto_k_relu(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void mto_k_relu_bwd(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0;
}

#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */

float mto_k_gelu1(float x)
{
    return 0.5f * x * (1.0f + tanhf(GELU_C * (x + 0.044715f * x * x * x)));
}

void mto_k_gelu(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = mto_k_gelu1(x[i]);
}

void mto_k_gelu_bwd(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i], u = GELU_C * (v + 0.044715f * v * v * v);
        float t = tanhf(u);
        float du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] += dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    }
}

void mto_k_softmax(float *x, int n)
{
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    if (mx == -INFINITY) { memset(x, 0, (size_t)n * sizeof *x); return; } /* nothing visible */
    double s = 0;
    for (int j = 0; j < n; j++) { x[j] = expf(x[j] - mx); s += x[j]; }
    float inv = (float)(1.0 / s);
    for (int j = 0; j < n; j++) x[j] *= inv;
}

void mto_k_softmax_bwd(float *dx, const float *dy, const float *y, int n)
{
    double dot = 0;
    for (int j = 0; j < n; j++) dot += (double)dy[j] * y[j];
    float d = (float)dot;
    for (int j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - d);
}

double mto_k_xent(float *lse, float *logp, const float *logits, const int32_t *labels, int N, int V, int *n)
{
    double total = 0;
    int cnt = 0;
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * V;
        float mx = -INFINITY;
        for (int j = 0; j < V; j++) mx = z[j] > mx ? z[j] : mx;
        double s = 0;
        for (int j = 0; j < V; j++) s += exp((double)(z[j] - mx));
        double l = mx + log(s);
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

void mto_k_xent_bwd(float *logits, const float *lse, const int32_t *labels, int N, int V, float scale)
{
    for (int i = 0; i < N; i++) {
        float *z = logits + (size_t)i * V;
        int y = labels[i];
        if (y == MTO_T5_IGNORE || y < 0 || y >= V) { memset(z, 0, (size_t)V * sizeof *z); continue; }
        float l = lse[i];
        for (int j = 0; j < V; j++) z[j] = expf(z[j] - l) * scale;
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
