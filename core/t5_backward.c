/* t5_backward.c — backward of mto_t5_forward for every parameter. Gradients
 * are added into m->grads (accumulation); activations come from the arena and
 * dropout masks are recomputed from their hash keys. A frozen model
 * (m->frozen, prompt tuning) passes g = NULL to the sublayers: only the dX
 * products run (the weight-gradient half of backward's products is skipped),
 * so the gradient reaches the source embeddings (soft prompt) with no gradient arena. */
#include <string.h>

#include "matmul_impl.h"
#include "t5_internal.h"


static float drop_rate(const mto_t5 *m) { return m->acts->train ? m->cfg.dropout_rate : 0.0f; }
static uint64_t key(const mto_t5 *m, uint32_t site) { return mto_k_drop_key(m->seed, m->step, site); }

/* The gradient of a sublayer's output branch: dres itself, or a dropped copy. */
static const float *branch_grad(mto_t5 *m, const float *dres, size_t n, uint32_t site)
{
    float p = drop_rate(m);
    if (p <= 0) return dres;
    memcpy(m->acts->dtmp, dres, n * sizeof(float));
    mto_k_dropout(m->acts->dtmp, n, p, key(m, site), 0);
    return m->acts->dtmp;
}

/* dres holds d(res_out); on return d(res_in) (residual passes through, plus the branch).
 * kv_src/dkv_src: encoder output and its gradient for cross-attention, NULL for self.
 * g NULL (frozen): no weight, norm or bias gradients.
 * Every d-buffer is written by its first product with beta 0, so nothing is memset. */
static void attn_sublayer_bwd(mto_t5 *m, const mto_t5_attn_w *w, mto_t5_attn_w *g, const t5_attn_acts *a,
                              const float *res_in, float *dres, int Tq, const float *kv_src, float *dkv_src, int Tk,
                              const float *rel, float *drel, int causal, const uint8_t *kmask, uint32_t site_p,
                              uint32_t site_out)
{
    struct mto_t5_acts *A = m->acts;
    const mto_t5_config *c = &m->cfg;
    int D = c->d_model, Di = c->num_heads * c->d_kv, Nq = A->B * Tq, Nk = A->B * Tk;
    const float *dout = branch_grad(m, dres, (size_t)Nq * D, site_out);
    mto_k_linear_dx(m, A->dctx, dout, w->o, Nq, Di, D, 0.0f);
    if (g) mto_k_linear_dw(m, g->o, dout, a->ctx, Nq, Di, D, 1.0f);
    t5_attn_shape s;
    t5_attn_shape_init(m, &s, Tq, Tk, kv_src == NULL, causal);
    s.rel = rel;
    s.kmask = kmask;
    s.drop = drop_rate(m);
    s.key = key(m, site_p);
    t5_attn_bwd_par(m, &s, a->q, a->k, a->v, a->P, A->dctx, A->dq, A->dk, A->dv, g ? drel : NULL);
    mto_k_linear_dx(m, A->dln, A->dq, w->q, Nq, D, Di, 0.0f);
    if (g) mto_k_linear_dw(m, g->q, A->dq, a->ln, Nq, D, Di, 1.0f);
    const float *src = kv_src ? kv_src : a->ln;
    float *dsrc = kv_src ? dkv_src : A->dln;
    mto_k_linear_dx(m, dsrc, A->dk, w->k, Nk, D, Di, 1.0f);
    if (g) mto_k_linear_dw(m, g->k, A->dk, src, Nk, D, Di, 1.0f);
    mto_k_linear_dx(m, dsrc, A->dv, w->v, Nk, D, Di, 1.0f);
    if (g) mto_k_linear_dw(m, g->v, A->dv, src, Nk, D, Di, 1.0f);
    t5_rmsnorm_bwd(m, dres, g ? g->ln : NULL, A->dln, res_in, w->ln, a->rstd, Nq, D);
}

static void ff_sublayer_bwd(mto_t5 *m, const mto_t5_ff_w *w, mto_t5_ff_w *g, const t5_ff_acts *f,
                            const float *res_in, float *dres, int N, uint32_t site_in, uint32_t site_out)
{
    struct mto_t5_acts *A = m->acts;
    const mto_t5_config *c = &m->cfg;
    int D = c->d_model, F = c->d_ff;
    size_t nf = (size_t)N * F;
    const float *dout = branch_grad(m, dres, (size_t)N * D, site_out);
    float *da = A->dh1 ? A->dh1 : A->dh; /* d(a) lives where it is consumed last */
    mto_k_linear_dx(m, da, dout, w->wo, N, F, D, 0.0f);
    if (g) mto_k_linear_dw(m, g->wo, dout, f->a, N, F, D, 1.0f);
    mto_k_dropout(da, nf, drop_rate(m), key(m, site_in), 0);
    if (c->ff == MTO_T5_FF_RELU)
        t5_ew(m, T5_EW_RELU_MASK, A->dh, f->a, nf); /* a = relu(h) (dropped): a > 0 exactly where relu'(h) passes da */
    else
        t5_gated_bwd(m, A->dh, A->dh1, da, f->h, f->h1, nf, c->ff == MTO_T5_FF_GATED_GELU);
    mto_k_linear_dx(m, A->dln, A->dh, w->wi, N, D, F, 0.0f);
    if (g) mto_k_linear_dw(m, g->wi, A->dh, f->ln, N, D, F, 1.0f);
    if (c->ff != MTO_T5_FF_RELU) {
        mto_k_linear_dx(m, A->dln, A->dh1, w->wi1, N, D, F, 1.0f);
        if (g) mto_k_linear_dw(m, g->wi1, A->dh1, f->ln, N, D, F, 1.0f);
    }
    t5_rmsnorm_bwd(m, dres, g ? g->ln : NULL, A->dln, res_in, w->ln, f->rstd, N, D);
}

/* Soft-prompt slots (negative ids) go to soft_grad; a frozen model keeps no other. */
static void embed_bwd(mto_t5 *m, const float *dres, const int32_t *ids, int N)
{
    int D = m->cfg.d_model;
    for (int i = 0; i < N; i++) {
        if (ids[i] >= 0 && m->frozen) continue;
        float *g = ids[i] < 0 ? m->soft_grad + (size_t)(-ids[i] - 1) * D : m->g.shared + (size_t)ids[i] * D;
        const float *d = dres + (size_t)i * D;
        for (int j = 0; j < D; j++) g[j] += d[j];
    }
}

int mto_t5_backward(mto_t5 *m, mto_error *err)
{
    struct mto_t5_acts *A = m->acts;
    const mto_t5_config *c = &m->cfg;
    int rc;
    if (!A || !m->logits) return mto_error_set(err, MTO_EINVAL, "t5: backward without forward");
    int fz = m->frozen;
    if (!fz && !m->grads && (rc = mto_t5_zero_grad(m, err))) return rc;
    if (m->soft_k > 0 && !m->soft_grad) return mto_error_set(err, MTO_EINVAL, "t5: soft prompt without a gradient");
    if ((rc = t5_acts_prepare_bwd(m, err))) return rc;
    int Ns = A->B * A->Ts, Nt = A->B * A->Tt, D = c->d_model, V = c->vocab_size;
    size_t nds = (size_t)Ns * D, ndt = (size_t)Nt * D;
    float alpha = t5_head_scale(m);

    /* LM head: logits = alpha * dec_out W^T */
    t5_xent_bwd(m, A->logits, A->lse, A->labels, Nt, V, m->ntok ? 1.0f / m->ntok : 0.0f);
    m->logits = NULL; /* consumed */
    if (!fz)
        t5_mm(m, 1, 0, V, D, Nt, alpha, A->logits, V, A->dec_out, D, 1.0f,
                    m->g.lm_head, D);
    t5_mm(m, 0, 0, Nt, D, V, alpha, A->logits, V, m->w.lm_head, D, 0.0f,
                A->dtmp, D);
    mto_k_dropout(A->dtmp, ndt, drop_rate(m), key(m, t5_site(1, 0, S_FINAL)), 0);
    int Ld = c->num_decoder_layers, Le = c->num_layers;
    memset(A->dres, 0, ndt * sizeof(float));
    t5_rmsnorm_bwd(m, A->dres, fz ? NULL : m->g.dec_final_ln, A->dtmp, A->dec_res + 3 * (size_t)Ld * ndt,
                   m->w.dec_final_ln, A->dec_rstd, Nt, D);

    /* decoder, last layer first */
    memset(A->denc, 0, nds * sizeof(float));
    for (int l = Ld - 1; l >= 0; l--) {
        const float *r = A->dec_res + 3 * (size_t)l * ndt;
        ff_sublayer_bwd(m, &m->w.dec[l].ff, fz ? NULL : &m->g.dec[l].ff, &A->dec[l].ff, r + 2 * ndt, A->dres, Nt,
                        t5_site(1, l, S_FF_IN), t5_site(1, l, S_FF_OUT));
        attn_sublayer_bwd(m, &m->w.dec[l].cross, fz ? NULL : &m->g.dec[l].cross, &A->dec[l].cross, r + ndt,
                          A->dres, A->Tt, A->enc_out, A->denc, A->Ts, NULL, NULL, 0, A->src_mask,
                          t5_site(1, l, S_CROSS_P), t5_site(1, l, S_CROSS_OUT));
        if (fz && l == 0) break; /* below: only the decoder's own (frozen) embeddings */
        attn_sublayer_bwd(m, &m->w.dec[l].self, fz ? NULL : &m->g.dec[l].self, &A->dec[l].self, r, A->dres, A->Tt,
                          NULL, NULL, A->Tt, m->w.dec_rel, m->g.dec_rel, 1, NULL, t5_site(1, l, S_SELF_P),
                          t5_site(1, l, S_SELF_OUT));
    }
    if (!fz) {
        mto_k_dropout(A->dres, ndt, drop_rate(m), key(m, t5_site(1, 0, S_EMBED)), 0);
        embed_bwd(m, A->dres, A->dec_in, Nt);
    }

    /* encoder */
    mto_k_dropout(A->denc, nds, drop_rate(m), key(m, t5_site(0, 0, S_FINAL)), 0);
    memset(A->dres, 0, nds * sizeof(float));
    t5_rmsnorm_bwd(m, A->dres, fz ? NULL : m->g.enc_final_ln, A->denc, A->enc_res + 2 * (size_t)Le * nds,
                   m->w.enc_final_ln, A->enc_rstd, Ns, D);
    for (int l = Le - 1; l >= 0; l--) {
        const float *r = A->enc_res + 2 * (size_t)l * nds;
        ff_sublayer_bwd(m, &m->w.enc[l].ff, fz ? NULL : &m->g.enc[l].ff, &A->enc[l].ff, r + nds, A->dres, Ns,
                        t5_site(0, l, S_FF_IN), t5_site(0, l, S_FF_OUT));
        attn_sublayer_bwd(m, &m->w.enc[l].self, fz ? NULL : &m->g.enc[l].self, &A->enc[l].self, r, A->dres, A->Ts,
                          NULL, NULL, A->Ts, m->w.enc_rel, m->g.enc_rel, 0, A->src_mask, t5_site(0, l, S_SELF_P),
                          t5_site(0, l, S_SELF_OUT));
    }
    mto_k_dropout(A->dres, nds, drop_rate(m), key(m, t5_site(0, 0, S_EMBED)), 0);
    embed_bwd(m, A->dres, A->src, Ns);
    return 0;
}
