/* t5_attention.c — T5 multi-head attention over Q/K/V already projected:
 * unscaled scores, relative position bias (shared from block 0), key padding
 * mask, causal mask, attention-weight dropout. Heads are column blocks of
 * the (rows, H*dkv) projections, so no transposes are materialised. */
#include <math.h>
#include <string.h>

#include "matmul_impl.h"
#include "t5_internal.h"

int mto_t5_bucket(int rel, int bidirectional, int nb, int maxd)
{
    /* HF T5Attention._relative_position_bucket, float32 arithmetic as in torch */
    int bucket = 0;
    if (bidirectional) {
        nb /= 2;
        if (rel > 0) bucket += nb;
        rel = rel < 0 ? -rel : rel;
    } else {
        rel = rel < 0 ? -rel : 0;
    }
    int max_exact = nb / 2;
    if (rel < max_exact) return bucket + rel;
    float f = logf((float)rel / (float)max_exact) / (float)log((double)maxd / max_exact) *
              (float)(nb - max_exact);
    int large = max_exact + (int)f;
    if (large > nb - 1) large = nb - 1;
    return bucket + large;
}

/* Offsets rel = j - (i + qoff) range over [-(Tq-1+qoff), Tk-1]; index rel + lo. */
static float *bias_table(const t5_attn_shape *s, int *lo, float *t)
{
    *lo = s->Tq - 1 + s->qoff;
    int n = *lo + s->Tk;
    for (int r = 0; r < n; r++) {
        int b = mto_t5_bucket(r - *lo, s->bidirectional, s->num_buckets, s->max_distance);
        for (int h = 0; h < s->H; h++) t[(size_t)h * n + r] = s->rel[(size_t)b * s->H + h];
    }
    return t;
}

/* Batches [b0, b1) of t5_attn_fwd: the threads of t5_par.c each take a range. */
void t5_attn_fwd_range(const t5_attn_shape *s, int b0, int b1, const float *Q, const float *K, const float *V,
                       float *P, float *ctx, float *scratch)
{
    int Tq = s->Tq, Tk = s->Tk, lo = 0, nt = Tq - 1 + s->qoff + Tk;
    float *bt = s->rel && b1 > b0 ? bias_table(s, &lo, scratch + (size_t)Tq * Tk) : NULL;
    for (int b = b0; b < b1; b++) {
        const uint8_t *km = s->kmask ? s->kmask + (size_t)b * Tk : NULL;
        for (int h = 0; h < s->H; h++) {
            const float *q = Q + (size_t)b * Tq * s->ldq + (size_t)h * s->dkv;
            const float *k = K + (size_t)b * s->kstride_b * s->ldk + (size_t)h * s->dkv;
            const float *v = V + (size_t)b * s->kstride_b * s->ldk + (size_t)h * s->dkv;
            float *p = P + ((size_t)b * s->H + h) * Tq * Tk;
            float *c = ctx + (size_t)b * Tq * s->ldq + (size_t)h * s->dkv;
            if (s->mv) t5_mm_few(NULL, 1, Tq, Tk, s->dkv, 1.0f, q, s->ldq, k, s->ldk, 0.0f, p, Tk);
            else t5_mm(NULL, 0, 1, Tq, Tk, s->dkv, 1.0f, q, s->ldq, k, s->ldk, 0.0f, p, Tk);
            for (int i = 0; i < Tq; i++) {
                float *row = p + (size_t)i * Tk;
                const float *bias = bt ? bt + (size_t)h * nt + lo - (i + s->qoff) : NULL;
                for (int j = 0; j < Tk; j++) {
                    int vis = (!km || km[j]) && (!s->causal || j <= i + s->qoff);
                    row[j] = vis ? row[j] + (bias ? bias[j] : 0.0f) : -INFINITY;
                }
                mto_k_softmax(row, Tk);
            }
            const float *pd = p;
            if (s->drop > 0) {
                memcpy(scratch, p, (size_t)Tq * Tk * sizeof *p);
                mto_k_dropout(scratch, (size_t)Tq * Tk, s->drop, s->key, ((size_t)b * s->H + h) * Tq * Tk);
                pd = scratch;
            }
            if (s->mv) t5_mm_few(NULL, 0, Tq, s->dkv, Tk, 1.0f, pd, Tk, v, s->ldk, 0.0f, c, s->ldq);
            else t5_mm(NULL, 0, 0, Tq, s->dkv, Tk, 1.0f, pd, Tk, v, s->ldk, 0.0f, c, s->ldq);
        }
    }
}

void t5_attn_fwd(const t5_attn_shape *s, const float *Q, const float *K, const float *V,
                 float *P, float *ctx, float *scratch)
{
    t5_attn_fwd_range(s, 0, s->B, Q, K, V, P, ctx, scratch);
}

float *t5_attn_doff(const t5_attn_shape *s, float *scratch) { return scratch + 2 * (size_t)s->Tq * s->Tk; }

/* Batches [b0, b1) of t5_attn_bwd; when drel is not NULL (it is only tested, not written) the
 * bias gradient per relative offset is left in t5_attn_doff(s, scratch). */
void t5_attn_bwd_range(const t5_attn_shape *s, int b0, int b1, const float *Q, const float *K, const float *V,
                       const float *P, const float *dctx, float *dQ, float *dK, float *dV, const float *drel,
                       float *scratch)
{
    int Tq = s->Tq, Tk = s->Tk, lo = s->Tq - 1 + s->qoff, nt = lo + Tk;
    float *s1 = scratch, *s2 = scratch + (size_t)Tq * Tk;
    float *doff = drel ? t5_attn_doff(s, scratch) : NULL; /* per relative offset */
    if (doff) memset(doff, 0, (size_t)nt * s->H * sizeof *doff);
    for (int b = b0; b < b1; b++) {
        for (int h = 0; h < s->H; h++) {
            size_t qo = (size_t)b * Tq * s->ldq + (size_t)h * s->dkv;
            size_t ko = (size_t)b * s->kstride_b * s->ldk + (size_t)h * s->dkv;
            const float *p = P + ((size_t)b * s->H + h) * Tq * Tk;
            const float *dc = dctx + qo;
            /* s1 = d(dropped P) = dctx V^T */
            t5_mm(NULL, 0, 1, Tq, Tk, s->dkv, 1.0f, dc, s->ldq, V + ko, s->ldk,
                        0.0f, s1, Tk);
            const float *pd = p;
            if (s->drop > 0) {
                size_t base = ((size_t)b * s->H + h) * Tq * Tk;
                memcpy(s2, p, (size_t)Tq * Tk * sizeof *p);
                mto_k_dropout(s2, (size_t)Tq * Tk, s->drop, s->key, base);
                mto_k_dropout(s1, (size_t)Tq * Tk, s->drop, s->key, base);
                pd = s2;
            }
            t5_mm(NULL, 1, 0, Tk, s->dkv, Tq, 1.0f, pd, Tk, dc, s->ldq, 0.0f,
                        dV + ko, s->ldk);
            for (int i = 0; i < Tq; i++) {
                float *ds = s1 + (size_t)i * Tk;
                mto_k_softmax_bwd(ds, ds, p + (size_t)i * Tk, Tk);
                if (doff) {
                    float *d = doff + (size_t)h * nt + lo - (i + s->qoff);
                    for (int j = 0; j < Tk; j++) d[j] += ds[j];
                }
            }
            /* each (b, h) block of dQ, dK, dV is written exactly once: beta 0, no memset */
            t5_mm(NULL, 0, 0, Tq, s->dkv, Tk, 1.0f, s1, Tk, K + ko, s->ldk,
                        0.0f, dQ + qo, s->ldq);
            t5_mm(NULL, 1, 0, Tk, s->dkv, Tq, 1.0f, s1, Tk, Q + qo, s->ldq,
                        0.0f, dK + ko, s->ldk);
        }
    }
}

void t5_attn_doff_add(const t5_attn_shape *s, const float *doff, float *drel)
{
    int lo = s->Tq - 1 + s->qoff, nt = lo + s->Tk;
    for (int r = 0; r < nt; r++) {
        int bk = mto_t5_bucket(r - lo, s->bidirectional, s->num_buckets, s->max_distance);
        for (int h = 0; h < s->H; h++) drel[(size_t)bk * s->H + h] += doff[(size_t)h * nt + r];
    }
}

void t5_attn_bwd(const t5_attn_shape *s, const float *Q, const float *K, const float *V,
                 const float *P, const float *dctx, float *dQ, float *dK, float *dV, float *drel,
                 float *scratch)
{
    t5_attn_bwd_range(s, 0, s->B, Q, K, V, P, dctx, dQ, dK, dV, drel, scratch);
    if (drel) t5_attn_doff_add(s, t5_attn_doff(s, scratch), drel);
}
