/* t5_internal.h — engine internals shared by the core/t5_*.c files and the
 * gradient-check test: raw-pointer kernels, attention, the activation arena. */
#ifndef MTO_T5_INTERNAL_H
#define MTO_T5_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mto/t5.h"

/* ---- kernels (t5_kernels.c): forward writes, backward ADDS into d-inputs ---- */

/* out = x W^T (N x out), x: N x in, W: out x in (HF linear). beta 0 overwrite, 1 add. */
/* m: whose precision (mto/matmul.h) the product runs in; NULL fp32 OpenBLAS. */
void mto_k_linear(const mto_t5 *m, float *out, const float *x, const float *W, int N, int in, int outd, float beta);
/* dx = dout W + beta dx (beta 0 overwrites: no memset of dx first). */
void mto_k_linear_dx(const mto_t5 *m, float *dx, const float *dout, const float *W, int N, int in, int outd,
                     float beta);
/* dW = dout^T x + beta dW */
void mto_k_linear_dw(const mto_t5 *m, float *dW, const float *dout, const float *x, int N, int in, int outd,
                     float beta);
/* dx += dout W ; dW += dout^T x (either may be NULL). */
void mto_k_linear_bwd(const mto_t5 *m, float *dx, float *dW, const float *dout, const float *x, const float *W,
                      int N, int in, int outd);

/* T5 RMSNorm: out = x * rsqrt(mean(x^2)+eps) * w; rstd saved per row. */
void mto_k_rmsnorm(float *out, float *rstd, const float *x, const float *w, int N, int D, float eps);
void mto_k_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w,
                       const float *rstd, int N, int D);

/* y = a + b ; y *= x (elementwise, no aliasing) */
void mto_k_add(float *y, const float *a, const float *b, size_t n);
void mto_k_mul(float *y, const float *x, size_t n);
void mto_k_relu(float *y, const float *x, size_t n); /* y may equal x */
/* dx = y > 0 ? dx : 0, in place: ReLU backward from its output y */
void mto_k_relu_mask(float *dx, const float *y, size_t n);
void mto_k_relu_bwd(float *dx, const float *dy, const float *x, size_t n);
/* tanh GELU (HF gelu_new) */
float mto_k_gelu1(float x);
void mto_k_gelu(float *y, const float *x, size_t n);
void mto_k_gelu_bwd(float *dx, const float *dy, const float *x, size_t n);
/* Gated FF a = act(h0) * h1 (act: gelu or relu): writes dh0, dh1 from da (da may be dh1). */
void mto_k_gated_bwd(float *dh0, float *dh1, const float *da, const float *h0, const float *h1, size_t n, int gelu);

/* Softmax of one row of n entries, in place. */
void mto_k_softmax(float *x, int n);
/* dx = y * (dy - sum(dy*y)), written (not added) into dx; may alias dy. */
void mto_k_softmax_bwd(float *dx, const float *dy, const float *y, int n);

/* Cross-entropy over N rows of V logits with labels (-100 ignored):
 * lse[i] and logp[i] (0 if ignored) per row; returns the sum of -logp, count in *n. */
double mto_k_xent(float *lse, float *logp, const float *logits, const int32_t *labels, int N, int V, int *n);
/* Index of the first maximum of x[0..n) (0 if none compares). */
int mto_k_argmax(const float *x, int n);
/* In place: each of R rows of V logits <- its log-softmax. */
void mto_k_log_softmax(float *z, int R, int V);
/* In place: logits <- (softmax - onehot) * scale for valid rows, 0 for ignored. */
void mto_k_xent_bwd(float *logits, const float *lse, const int32_t *labels, int N, int V, float scale);

/* The instruction set the row and elementwise kernels above run in:
 * "generic" (baseline x86-64 or another CPU), "avx2" or "avx512"; the same
 * bits in every one. MTO_KERNELS picks one the CPU runs. */
const char *mto_k_isa(void);

/* Dropout masks from a counter hash: no stored masks, backward recomputes them. */
uint64_t mto_k_drop_key(uint64_t seed, uint64_t step, uint32_t site);
/* x[i] *= keep(key, i) / (1-p), i in [0,n) offset by base index. */
void mto_k_dropout(float *x, size_t n, float p, uint64_t key, size_t base);

/* ---- attention (t5_attention.c) -------------------------------------------- */

/* T5 relative position bucket for rel = key_pos - query_pos. */
int mto_t5_bucket(int rel, int bidirectional, int num_buckets, int max_distance);

typedef struct t5_attn_shape {
    int B, Tq, Tk, H, dkv;
    int ldq, ldk;              /* row strides of Q (ctx too) and K/V: H*dkv */
    const float *rel;          /* (num_buckets, H) or NULL */
    int num_buckets, max_distance, bidirectional;
    int causal;                /* key j visible to query i only if j <= i + qoff */
    int qoff;                  /* absolute position of query 0 (decoding with cache) */
    const uint8_t *kmask;      /* B x Tk, 1 = visible; NULL: all */
    int kstride_b;             /* rows between batches in K/V (Tk normally) */
    float drop;                /* attention-weight dropout rate (0: off) */
    uint64_t key;              /* dropout key */
    int mv;                    /* decoding: few query rows may run as sgemv (t5_mm_few) */
} t5_attn_shape;

/* P (B,H,Tq,Tk) = softmax(Q K^T + bias + mask); ctx = drop(P) V.
 * scratch >= Tq*Tk + H*(Tq+qoff+Tk) floats. */
void t5_attn_fwd(const t5_attn_shape *s, const float *Q, const float *K, const float *V,
                 float *P, float *ctx, float *scratch);
/* Writes (overwrites) dQ, dK, dV; adds into drel (when s->rel).
 * scratch >= 2*Tq*Tk + H*(Tq+qoff+Tk) floats. */
void t5_attn_bwd(const t5_attn_shape *s, const float *Q, const float *K, const float *V,
                 const float *P, const float *dctx, float *dQ, float *dK, float *dV, float *drel,
                 float *scratch);

/* ---- threads (t5_pool.c, t5_par.c) ------------------------------------------ */

enum { T5_MAX_THREADS = 64 };
typedef struct t5_pool t5_pool;
/* One job: called as fn(ctx, part, nparts) for every part, part 0 on the caller. */
typedef void (*t5_task)(void *ctx, int part, int nparts);
/* The engine's thread count: OpenBLAS's (1 without OpenBLAS). */
int t5_threads_wanted(void);
/* n threads in all (the caller included); NULL when n <= 1 or threads fail. */
t5_pool *t5_pool_new(int n);
void t5_pool_free(t5_pool *p);
int t5_pool_size(const t5_pool *p);
/* Run a job over the pool and wait for it; a NULL pool runs fn(ctx, 0, 1). */
void t5_pool_run(t5_pool *p, t5_task fn, void *ctx);
/* Part `part` of [0, n) cut in nparts contiguous ranges of whole `align` blocks. */
void t5_split(size_t n, size_t align, int part, int nparts, size_t *lo, size_t *hi);

/* Threaded kernels over m's pool (t5_par.c); same contracts as mto_k_*. */
enum { T5_EW_ADD, T5_EW_RELU, T5_EW_GELU, T5_EW_MUL, T5_EW_RELU_MASK, T5_EW_GATED_BWD, T5_EW_ZERO };
/* y = op(y, a): RELU/GELU (y = act(a)), MUL (y *= a), RELU_MASK (y = a > 0 ? y : 0), ZERO (y = 0). */
void t5_ew(mto_t5 *m, int op, float *y, const float *a, size_t n);
void t5_add(mto_t5 *m, float *y, const float *a, const float *b, size_t n);
void t5_gated_bwd(mto_t5 *m, float *dh0, float *dh1, const float *da, const float *h0, const float *h1, size_t n,
                  int gelu);
void t5_rmsnorm(mto_t5 *m, float *out, float *rstd, const float *x, const float *w, int N, int D);
void t5_rmsnorm_bwd(mto_t5 *m, float *dx, float *dw, const float *dout, const float *x, const float *w,
                    const float *rstd, int N, int D);
double t5_xent(mto_t5 *m, float *lse, float *logp, const float *logits, const int32_t *labels, int N, int V, int *n);
void t5_xent_bwd(mto_t5 *m, float *logits, const float *lse, const int32_t *labels, int N, int V, float scale);

/* The same over batches [b0, b1) (t5_par.c gives each thread a range). The
 * range backward leaves the bias gradient per relative offset (when drel is
 * not NULL) in t5_attn_doff(s, scratch); t5_attn_doff_add folds it into drel. */
void t5_attn_fwd_range(const t5_attn_shape *s, int b0, int b1, const float *Q, const float *K, const float *V,
                       float *P, float *ctx, float *scratch);
void t5_attn_bwd_range(const t5_attn_shape *s, int b0, int b1, const float *Q, const float *K, const float *V,
                       const float *P, const float *dctx, float *dQ, float *dK, float *dV, const float *drel,
                       float *scratch);
float *t5_attn_doff(const t5_attn_shape *s, float *scratch);
void t5_attn_doff_add(const t5_attn_shape *s, const float *doff, float *drel);
/* Threaded t5_attn_fwd / t5_attn_bwd over m's pool (per-thread scratch from the arena). */
void t5_attn_fwd_par(mto_t5 *m, const t5_attn_shape *s, const float *Q, const float *K, const float *V, float *P,
                     float *ctx);
void t5_attn_bwd_par(mto_t5 *m, const t5_attn_shape *s, const float *Q, const float *K, const float *V,
                     const float *P, const float *dctx, float *dQ, float *dK, float *dV, float *drel);

/* ---- the activation arena (t5_acts.c) --------------------------------------- */

typedef struct t5_attn_acts { float *ln, *rstd, *q, *k, *v, *P, *ctx; } t5_attn_acts;
typedef struct t5_ff_acts { float *ln, *rstd, *h, *h1, *a; } t5_ff_acts; /* a: input of wo; h, h1 gated only */
typedef struct t5_layer_acts { t5_attn_acts self, cross; t5_ff_acts ff; } t5_layer_acts;

struct mto_t5_acts {
    int B, Ts, Tt, train;
    float *arena, *barena;          /* forward / backward arenas */
    size_t fcap, bcap;              /* their sizes in floats */
    int32_t *src, *dec_in, *labels; /* copies: B*Ts, B*Tt, B*Tt */
    uint8_t *src_mask;              /* B*Ts, 1 = real token */
    float *enc_res, *dec_res;       /* residual stream at each sublayer boundary */
    t5_layer_acts *enc, *dec;
    float *enc_out, *enc_rstd, *dec_out, *dec_rstd, *logits, *lse, *logp;
    float *tmp, *scratch;           /* forward scratch */
    /* backward buffers (barena) */
    float *dres, *denc, *dtmp, *dln, *dq, *dk, *dv, *dctx, *dh, *dh1, *bscratch;
    /* threads: the pool (NULL: one thread), and per-thread partial sums / attention scratch */
    t5_pool *pool;
    int nthreads;
    size_t tcap;                    /* floats in part (tscratch included) */
    float *part;                    /* (threads-1) x max(d_model, 2*H*T) partial sums */
    float *tscratch;                /* threads x attention scratch (backward sized), inside part */
};

/* Size the forward arena for (B, Ts, Tt); reuses the previous one when it fits. */
int t5_acts_prepare(mto_t5 *m, int B, int Ts, int Tt, mto_error *err);
/* Size the backward arena for the current shape. */
int t5_acts_prepare_bwd(mto_t5 *m, mto_error *err);
/* Floats of attention scratch for Tq x Tk (backward sized). */
size_t t5_attn_scratch(int Tq, int Tk, int H, int qoff);

/* ---- model internals ------------------------------------------------------- */

/* Dropout site ids (one mask stream each) and their kinds. */
enum { S_SELF_P, S_SELF_OUT, S_CROSS_P, S_CROSS_OUT, S_FF_IN, S_FF_OUT, S_EMBED = 9990, S_FINAL = 9991 };
uint32_t t5_site(int stack, int layer, int kind);
void t5_attn_shape_init(const mto_t5 *m, t5_attn_shape *s, int Tq, int Tk, int self, int causal);
/* d_model**-0.5 when the LM head is tied (v1.0), else 1. */
float t5_head_scale(const mto_t5 *m);
int t5_check_batch(const mto_t5 *m, const mto_t5_batch *b, mto_error *err);
/* The feed-forward sublayer over N rows, the one of training, eval and decoding:
 * res_out = res_in + drop(wo(drop(act(wi RMSNorm(res_in))))), dropout only when
 * m->acts->train. f keeps what backward reads (f->a the input of wo; ReLU runs
 * in place, so only the gated flavours fill f->h, f->h1); tmp: N x d_model
 * scratch. mv: few rows (decoding), products may run as sgemv (t5_mm_rows). */
void t5_ff_sublayer(mto_t5 *m, const mto_t5_ff_w *w, t5_ff_acts *f, const float *res_in, float *res_out,
                    float *tmp, int N, int mv, uint32_t site_in, uint32_t site_out);
/* Encoder over m->acts->src into m->acts->enc_out. */
void t5_encode(mto_t5 *m);
/* Beam search for any beams >= 1 (mto_t5_generate uses plain greedy for 1). */
int t5_beam_search(mto_t5 *m, const int32_t *src, int B, int Ts, const mto_t5_gen_opts *o, int32_t *out,
                   int *out_len, double *out_score, mto_error *err);
mto_t5 *t5_alloc(const mto_t5_config *c, mto_error *err);
void t5_bind(const mto_t5 *m, float *base, mto_t5_weights *w);
void t5_acts_free(mto_t5 *m);

#endif
