/* t5_par.c — the kernels of t5_kernels.c split over the model's thread pool
 * (t5_pool.c): contiguous row or element ranges per thread, so the result of
 * every element is the same whatever the thread count, except the RMSNorm
 * weight gradient and the loss, whose per-thread partial sums are added in a
 * fixed order (same threads => same bits). Small jobs stay on the caller. */
#include <string.h>

#include "t5_internal.h"

enum { MIN_PAR = 1 << 15 }; /* floats of work below which waking a thread costs more than it saves */

static t5_pool *pool_for(const mto_t5 *m, size_t work)
{
    return m->acts && m->acts->pool && work >= MIN_PAR ? m->acts->pool : NULL;
}

/* ---- elementwise ---------------------------------------------------------- */

typedef struct ew_job { int op, gelu; float *y, *z; const float *a, *b, *c; size_t n; } ew_job;

static void ew_task(void *ctx, int part, int nparts)
{
    ew_job *j = ctx;
    size_t lo, hi;
    t5_split(j->n, 64, part, nparts, &lo, &hi);
    size_t k = hi - lo;
    if (!k) return;
    switch (j->op) {
    case T5_EW_ADD: mto_k_add(j->y + lo, j->a + lo, j->b + lo, k); break;
    case T5_EW_RELU: mto_k_relu(j->y + lo, j->a + lo, k); break;
    case T5_EW_GELU: mto_k_gelu(j->y + lo, j->a + lo, k); break;
    case T5_EW_MUL: mto_k_mul(j->y + lo, j->a + lo, k); break;
    case T5_EW_RELU_MASK: mto_k_relu_mask(j->y + lo, j->a + lo, k); break;
    case T5_EW_GATED_BWD: mto_k_gated_bwd(j->y + lo, j->z + lo, j->a + lo, j->b + lo, j->c + lo, k, j->gelu); break;
    case T5_EW_ZERO: memset(j->y + lo, 0, k * sizeof(float)); break;
    }
}

void t5_ew(mto_t5 *m, int op, float *y, const float *a, size_t n)
{
    ew_job j = {op, 0, y, NULL, a, NULL, NULL, n};
    t5_pool_run(pool_for(m, n), ew_task, &j);
}

void t5_add(mto_t5 *m, float *y, const float *a, const float *b, size_t n)
{
    ew_job j = {T5_EW_ADD, 0, y, NULL, a, b, NULL, n};
    t5_pool_run(pool_for(m, n), ew_task, &j);
}

void t5_gated_bwd(mto_t5 *m, float *dh0, float *dh1, const float *da, const float *h0, const float *h1, size_t n,
                  int gelu)
{
    ew_job j = {T5_EW_GATED_BWD, gelu, dh0, dh1, da, h0, h1, n};
    t5_pool_run(pool_for(m, 4 * n), ew_task, &j);
}

/* ---- RMSNorm -------------------------------------------------------------- */

typedef struct rms_job {
    float *out, *rstd, *dx, *dw;
    const float *x, *w, *dout, *crstd;
    float *part_dw; /* (nparts-1) x D partial weight gradients */
    int N, D;
    float eps;
} rms_job;

static void rms_task(void *ctx, int part, int nparts)
{
    rms_job *j = ctx;
    size_t lo, hi;
    t5_split((size_t)j->N, 1, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    size_t o = lo * j->D;
    mto_k_rmsnorm(j->out + o, j->rstd + lo, j->x + o, j->w, (int)(hi - lo), j->D, j->eps);
}

static void rms_bwd_task(void *ctx, int part, int nparts)
{
    rms_job *j = ctx;
    size_t lo, hi;
    t5_split((size_t)j->N, 1, part, nparts, &lo, &hi);
    float *dw = j->dw && part ? j->part_dw + (size_t)(part - 1) * j->D : j->dw;
    if (dw && part) memset(dw, 0, (size_t)j->D * sizeof *dw);
    if (hi <= lo) return;
    size_t o = lo * j->D;
    mto_k_rmsnorm_bwd(j->dx ? j->dx + o : NULL, dw, j->dout + o, j->x + o, j->w, j->crstd + lo, (int)(hi - lo), j->D);
}

void t5_rmsnorm(mto_t5 *m, float *out, float *rstd, const float *x, const float *w, int N, int D)
{
    rms_job j = {.out = out, .rstd = rstd, .x = x, .w = w, .N = N, .D = D, .eps = m->cfg.eps};
    t5_pool_run(pool_for(m, (size_t)N * D), rms_task, &j);
}

void t5_rmsnorm_bwd(mto_t5 *m, float *dx, float *dw, const float *dout, const float *x, const float *w,
                    const float *rstd, int N, int D)
{
    t5_pool *p = pool_for(m, (size_t)N * D);
    rms_job j = {.dx = dx, .dw = dw, .dout = dout, .x = x, .w = w, .crstd = rstd, .N = N, .D = D,
                 .part_dw = p ? m->acts->part : NULL};
    t5_pool_run(p, rms_bwd_task, &j);
    if (dw && p) /* fixed order: part 1, 2, ... */
        for (int k = 1; k < t5_pool_size(p); k++) {
            const float *pd = j.part_dw + (size_t)(k - 1) * D;
            for (int i = 0; i < D; i++) dw[i] += pd[i];
        }
}

/* ---- cross-entropy ---------------------------------------------------------- */

typedef struct xent_job {
    float *lse, *logp, *logits;
    const int32_t *labels;
    int N, V;
    float scale;
    double total[T5_MAX_THREADS];
    int cnt[T5_MAX_THREADS];
} xent_job;

static void xent_task(void *ctx, int part, int nparts)
{
    xent_job *j = ctx;
    size_t lo, hi;
    t5_split((size_t)j->N, 1, part, nparts, &lo, &hi);
    j->total[part] = 0; j->cnt[part] = 0;
    if (hi <= lo) return;
    j->total[part] = mto_k_xent(j->lse + lo, j->logp + lo, j->logits + lo * j->V, j->labels + lo, (int)(hi - lo),
                                j->V, &j->cnt[part]);
}

static void xent_bwd_task(void *ctx, int part, int nparts)
{
    xent_job *j = ctx;
    size_t lo, hi;
    t5_split((size_t)j->N, 1, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    mto_k_xent_bwd(j->logits + lo * j->V, j->lse + lo, j->labels + lo, (int)(hi - lo), j->V, j->scale);
}

double t5_xent(mto_t5 *m, float *lse, float *logp, const float *logits, const int32_t *labels, int N, int V, int *n)
{
    t5_pool *p = pool_for(m, (size_t)N * V);
    xent_job j = {.lse = lse, .logp = logp, .logits = (float *)logits, .labels = labels, .N = N, .V = V};
    t5_pool_run(p, xent_task, &j);
    double total = 0;
    *n = 0;
    for (int k = 0; k < t5_pool_size(p); k++) { total += j.total[k]; *n += j.cnt[k]; }
    return total;
}

void t5_xent_bwd(mto_t5 *m, float *logits, const float *lse, const int32_t *labels, int N, int V, float scale)
{
    xent_job j = {.lse = (float *)lse, .logits = logits, .labels = labels, .N = N, .V = V, .scale = scale};
    t5_pool_run(pool_for(m, (size_t)N * V), xent_bwd_task, &j);
}

/* ---- attention over the batch ------------------------------------------------ */

typedef struct attn_job {
    const t5_attn_shape *s;
    const float *Q, *K, *V, *P, *dctx, *drel;
    float *Pw, *ctx, *dQ, *dK, *dV, *scratch;
    size_t scr; /* floats of scratch per part */
} attn_job;

static void attn_fwd_task(void *ctx, int part, int nparts)
{
    attn_job *j = ctx;
    size_t lo, hi;
    t5_split((size_t)j->s->B, 1, part, nparts, &lo, &hi);
    t5_attn_fwd_range(j->s, (int)lo, (int)hi, j->Q, j->K, j->V, j->Pw, j->ctx, j->scratch + part * j->scr);
}

static void attn_bwd_task(void *ctx, int part, int nparts)
{
    attn_job *j = ctx;
    size_t lo, hi;
    t5_split((size_t)j->s->B, 1, part, nparts, &lo, &hi);
    t5_attn_bwd_range(j->s, (int)lo, (int)hi, j->Q, j->K, j->V, j->P, j->dctx, j->dQ, j->dK, j->dV, j->drel,
                      j->scratch + part * j->scr);
}

static t5_pool *attn_pool(const mto_t5 *m, const t5_attn_shape *s)
{
    size_t work = (size_t)s->B * s->H * s->Tq * s->Tk * s->dkv; /* per product, in multiply-adds */
    return s->B > 1 && work >= 16 * (size_t)MIN_PAR ? pool_for(m, work) : NULL;
}

void t5_attn_fwd_par(mto_t5 *m, const t5_attn_shape *s, const float *Q, const float *K, const float *V, float *P,
                     float *ctx)
{
    struct mto_t5_acts *A = m->acts;
    t5_pool *p = attn_pool(m, s);
    if (!p) { t5_attn_fwd(s, Q, K, V, P, ctx, A->scratch); return; }
    attn_job j = {.s = s, .Q = Q, .K = K, .V = V, .Pw = P, .ctx = ctx, .scratch = A->tscratch,
                  .scr = t5_attn_scratch(A->Ts > A->Tt ? A->Ts : A->Tt, A->Ts > A->Tt ? A->Ts : A->Tt, s->H, 0)};
    t5_pool_run(p, attn_fwd_task, &j);
}

void t5_attn_bwd_par(mto_t5 *m, const t5_attn_shape *s, const float *Q, const float *K, const float *V,
                     const float *P, const float *dctx, float *dQ, float *dK, float *dV, float *drel)
{
    struct mto_t5_acts *A = m->acts;
    t5_pool *p = attn_pool(m, s);
    if (!p) { t5_attn_bwd(s, Q, K, V, P, dctx, dQ, dK, dV, drel, A->bscratch); return; }
    attn_job j = {.s = s, .Q = Q, .K = K, .V = V, .P = P, .dctx = dctx, .dQ = dQ, .dK = dK, .dV = dV, .drel = drel,
                  .scratch = A->tscratch,
                  .scr = t5_attn_scratch(A->Ts > A->Tt ? A->Ts : A->Tt, A->Ts > A->Tt ? A->Ts : A->Tt, s->H, 0)};
    t5_pool_run(p, attn_bwd_task, &j);
    if (drel) /* fixed order: part 0, 1, ... */
        for (int k = 0; k < t5_pool_size(p); k++) t5_attn_doff_add(s, t5_attn_doff(s, j.scratch + k * j.scr), drel);
}
