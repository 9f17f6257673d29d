/* matmul_impl.h — the engine's one matrix-product entry point and the oneDNN
 * backend behind it (core/matmul.c, core/matmul_dnnl.c). */
#ifndef MTO_MATMUL_IMPL_H
#define MTO_MATMUL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "mto/matmul.h"

/* Row-major C = alpha op(A) op(B) + beta C with op(A) M x K, op(B) K x N,
 * ta/tb nonzero for transposed storage: cblas_sgemm's contract. m gives the
 * precision (and the bf16 weight shadow); m NULL (and every product made on a
 * pool thread) is fp32 on OpenBLAS. On the default path (OpenBLAS, fp32) this
 * is exactly the cblas_sgemm call with the same arguments. */
void t5_mm(const mto_t5 *m, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
           const float *B, int ldb, float beta, float *C, int ldc);

/* t5_mm(m, 0, tb, R, N, K, ...) for few rows (decoding): on fp32 OpenBLAS with
 * R <= T5_MV_ROWS it is R cblas_sgemv calls, which read B where it lies
 * (sgemm copies all of B into its packed layout on every call); else t5_mm. */
enum { T5_MV_ROWS = 2 };
void t5_mm_few(const mto_t5 *m, int tb, int R, int N, int K, float alpha, const float *x, int ldx, const float *B,
               int ldb, float beta, float *C, int ldc);
/* The linear layer of t5_mm_few: C (R x N) = alpha x W^T + beta C, W: N x K, all compact. */
void t5_mm_rows(const mto_t5 *m, int R, int N, int K, float alpha, const float *x, const float *W, float beta,
                float *C);

/* Per-model state: precision, the bf16 copy of the parameter arena (remade
 * by t5_mm_refresh only when the weights changed), conversion scratch. */
struct mto_t5_mm {
    int prec;
    uint16_t *shadow;   /* numel bf16 values mirroring m->params */
    int shadow_ok;
    unsigned long ver;  /* mto_weights_version() when the shadow was made */
    long builds;        /* shadows made so far (a test counts them) */
    uint16_t *sa, *sb;  /* converted operands */
    size_t ca, cb;      /* their capacities (values) */
};
/* Make the bf16 shadow of the parameters unless it is current: made since the
 * last mto_weights_changed() (no-op in fp32). */
void t5_mm_refresh(mto_t5 *m);
void t5_mm_free(mto_t5 *m);

/* fp32 -> bf16, round to nearest even (NaN stays NaN). */
static inline uint16_t mto_f32_to_bf16(float f)
{
    union { float f; uint32_t u; } v = {f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16);
}
void mto_bf16_convert(uint16_t *dst, const float *src, size_t n);

/* ---- products-alone accounting (core/matmul_stats.c; bench_train --products) */
/* Calls and wall seconds of every product shape while mto_mm_stats_on. */
typedef struct mto_mm_stat { int ta, tb, M, N, K; long calls; double seconds; } mto_mm_stat;
enum { MTO_MM_STATS_MAX = 256 };
extern int mto_mm_stats_on;
/* Clear the counts and switch accounting on (1) or off (0). */
void mto_mm_stats_enable(int on);
double mto_mm_stats_clock(void);
/* Count one product of shape (ta, tb, M, N, K) begun at mto_mm_stats_clock() t0. */
void mto_mm_stats_add(int ta, int tb, int M, int N, int K, double t0);
/* Copy up to max shapes into out; *dropped: products of shapes beyond the table. */
int mto_mm_stats_get(mto_mm_stat *out, int max, long *dropped);

/* ---- oneDNN (core/matmul_dnnl.c; stubs when not built) -------------------- */
/* 0 on success, -1 when oneDNN has no primitive for it (the caller falls back). */
int mto_dnnl_mm(int bf16, int ta, int tb, int M, int N, int K, float alpha, const void *A, int lda,
                const void *B, int ldb, float beta, float *C, int ldc, int nthreads);
int mto_dnnl_available(void);
int mto_dnnl_bf16_native(void);
/* "oneDNN 2.6.3 (avx512_core_bf16)" */
void mto_dnnl_describe(char *buf, size_t n);
/* Primitives created so far (each shape once: a test checks the cache). */
long mto_dnnl_primitives_created(void);

#endif
