/* t5_forward.c — the training/eval forward pass: encoder, decoder, LM head,
 * cross-entropy. Pre-norm sublayers x + drop(Sublayer(RMSNorm(x))). Every
 * activation backward needs is kept in the arena (t5_acts.c). */
#include <math.h>
#include <string.h>

#include "matmul_impl.h"
#include "t5_internal.h"

/* Dropout sites: each gets its own mask stream, recomputed in backward. */
uint32_t t5_site(int stack, int layer, int kind) { return (uint32_t)(stack * 100000 + layer * 10 + kind); }

static float drop_rate(const mto_t5 *m) { return m->acts->train ? m->cfg.dropout_rate : 0.0f; }
static uint64_t key(const mto_t5 *m, uint32_t site) { return mto_k_drop_key(m->seed, m->step, site); }

void t5_attn_shape_init(const mto_t5 *m, t5_attn_shape *s, int Tq, int Tk, int self, int causal)
{
    const mto_t5_config *c = &m->cfg;
    memset(s, 0, sizeof *s);
    s->B = m->acts ? m->acts->B : 1;
    s->Tq = Tq; s->Tk = Tk; s->H = c->num_heads; s->dkv = c->d_kv;
    s->ldq = s->ldk = c->num_heads * c->d_kv;
    s->num_buckets = c->num_buckets; s->max_distance = c->max_distance;
    s->bidirectional = self && !causal;
    s->causal = causal;
    s->kstride_b = Tk;
}

/* res_out = res_in + drop(o(attn(RMSNorm(res_in)))). kv_src: NULL for self-attention. */
static void attn_sublayer(mto_t5 *m, const mto_t5_attn_w *w, t5_attn_acts *a, const float *res_in, float *res_out,
                          int Tq, const float *kv_src, int Tk, const float *rel, int causal, const uint8_t *kmask,
                          uint32_t site_p, uint32_t site_out)
{
    struct mto_t5_acts *A = m->acts;
    const mto_t5_config *c = &m->cfg;
    int D = c->d_model, Di = c->num_heads * c->d_kv, Nq = A->B * Tq, Nk = A->B * Tk;
    t5_rmsnorm(m, a->ln, a->rstd, res_in, w->ln, Nq, D);
    const float *src = kv_src ? kv_src : a->ln;
    mto_k_linear(m, a->q, a->ln, w->q, Nq, D, Di, 0.0f);
    mto_k_linear(m, a->k, src, w->k, Nk, D, Di, 0.0f);
    mto_k_linear(m, a->v, src, w->v, Nk, D, Di, 0.0f);
    t5_attn_shape s;
    t5_attn_shape_init(m, &s, Tq, Tk, kv_src == NULL, causal);
    s.rel = rel;
    s.kmask = kmask;
    s.drop = drop_rate(m);
    s.key = key(m, site_p);
    t5_attn_fwd_par(m, &s, a->q, a->k, a->v, a->P, a->ctx);
    mto_k_linear(m, A->tmp, a->ctx, w->o, Nq, Di, D, 0.0f);
    mto_k_dropout(A->tmp, (size_t)Nq * D, drop_rate(m), key(m, site_out), 0);
    t5_add(m, res_out, res_in, A->tmp, (size_t)Nq * D);
}

/* out = x W^T over N rows; few (decoding, mv) may run as matrix-vector products. */
static void linear(mto_t5 *m, int mv, float *out, const float *x, const float *W, int N, int in, int outd)
{
    if (mv) t5_mm_rows(m, N, outd, in, 1.0f, x, W, 0.0f, out);
    else mto_k_linear(m, out, x, W, N, in, outd, 0.0f);
}

void t5_ff_sublayer(mto_t5 *m, const mto_t5_ff_w *w, t5_ff_acts *f, const float *res_in, float *res_out,
                    float *tmp, int N, int mv, uint32_t site_in, uint32_t site_out)
{
    const mto_t5_config *c = &m->cfg;
    int D = c->d_model, F = c->d_ff;
    size_t nf = (size_t)N * F;
    t5_rmsnorm(m, f->ln, f->rstd, res_in, w->ln, N, D);
    if (c->ff == MTO_T5_FF_RELU) {
        linear(m, mv, f->a, f->ln, w->wi, N, D, F);
        t5_ew(m, T5_EW_RELU, f->a, f->a, nf);
    } else {
        linear(m, mv, f->h, f->ln, w->wi, N, D, F);
        linear(m, mv, f->h1, f->ln, w->wi1, N, D, F);
        t5_ew(m, c->ff == MTO_T5_FF_GATED_GELU ? T5_EW_GELU : T5_EW_RELU, f->a, f->h, nf);
        t5_ew(m, T5_EW_MUL, f->a, f->h1, nf);
    }
    mto_k_dropout(f->a, nf, drop_rate(m), key(m, site_in), 0);
    linear(m, mv, tmp, f->a, w->wo, N, F, D);
    mto_k_dropout(tmp, (size_t)N * D, drop_rate(m), key(m, site_out), 0);
    t5_add(m, res_out, res_in, tmp, (size_t)N * D);
}

/* Negative ids are soft-prompt slots (-1 is row 0 of m->soft_emb; t5_check_batch bounds them). */
static void embed(const mto_t5 *m, float *out, const int32_t *ids, int N)
{
    int D = m->cfg.d_model;
    for (int i = 0; i < N; i++) {
        const float *row = ids[i] < 0 ? m->soft_emb + (size_t)(-ids[i] - 1) * D : m->w.shared + (size_t)ids[i] * D;
        memcpy(out + (size_t)i * D, row, D * sizeof(float));
    }
}

/* Encoder stack over A->src; leaves A->enc_out (after final norm + dropout). */
void t5_encode(mto_t5 *m)
{
    struct mto_t5_acts *A = m->acts;
    const mto_t5_config *c = &m->cfg;
    int Ns = A->B * A->Ts, D = c->d_model;
    size_t nd = (size_t)Ns * D;
    float *res = A->enc_res;
    embed(m, res, A->src, Ns);
    mto_k_dropout(res, nd, drop_rate(m), key(m, t5_site(0, 0, S_EMBED)), 0);
    for (int l = 0; l < c->num_layers; l++) {
        attn_sublayer(m, &m->w.enc[l].self, &A->enc[l].self, res, res + nd, A->Ts, NULL, A->Ts, m->w.enc_rel, 0,
                      A->src_mask, t5_site(0, l, S_SELF_P), t5_site(0, l, S_SELF_OUT));
        res += nd;
        t5_ff_sublayer(m, &m->w.enc[l].ff, &A->enc[l].ff, res, res + nd, A->tmp, Ns, 0, t5_site(0, l, S_FF_IN),
                       t5_site(0, l, S_FF_OUT));
        res += nd;
    }
    t5_rmsnorm(m, A->enc_out, A->enc_rstd, res, m->w.enc_final_ln, Ns, D);
    mto_k_dropout(A->enc_out, nd, drop_rate(m), key(m, t5_site(0, 0, S_FINAL)), 0);
}

/* Decoder stack over A->dec_in attending to A->enc_out; leaves A->dec_out. */
static void decode(mto_t5 *m)
{
    struct mto_t5_acts *A = m->acts;
    const mto_t5_config *c = &m->cfg;
    int Nt = A->B * A->Tt, D = c->d_model;
    size_t nd = (size_t)Nt * D;
    float *res = A->dec_res;
    embed(m, res, A->dec_in, Nt);
    mto_k_dropout(res, nd, drop_rate(m), key(m, t5_site(1, 0, S_EMBED)), 0);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        attn_sublayer(m, &m->w.dec[l].self, &A->dec[l].self, res, res + nd, A->Tt, NULL, A->Tt, m->w.dec_rel, 1,
                      NULL, t5_site(1, l, S_SELF_P), t5_site(1, l, S_SELF_OUT));
        res += nd;
        attn_sublayer(m, &m->w.dec[l].cross, &A->dec[l].cross, res, res + nd, A->Tt, A->enc_out, A->Ts, NULL, 0,
                      A->src_mask, t5_site(1, l, S_CROSS_P), t5_site(1, l, S_CROSS_OUT));
        res += nd;
        t5_ff_sublayer(m, &m->w.dec[l].ff, &A->dec[l].ff, res, res + nd, A->tmp, Nt, 0, t5_site(1, l, S_FF_IN),
                       t5_site(1, l, S_FF_OUT));
        res += nd;
    }
    t5_rmsnorm(m, A->dec_out, A->dec_rstd, res, m->w.dec_final_ln, Nt, D);
    mto_k_dropout(A->dec_out, nd, drop_rate(m), key(m, t5_site(1, 0, S_FINAL)), 0);
}

float t5_head_scale(const mto_t5 *m)
{
    return m->cfg.tie_word_embeddings ? (float)(1.0 / sqrt((double)m->cfg.d_model)) : 1.0f;
}

int t5_check_batch(const mto_t5 *m, const mto_t5_batch *b, mto_error *err)
{
    if (b->B <= 0 || b->Ts <= 0 || b->Tt <= 0)
        return mto_error_set(err, MTO_EINVAL, "t5: empty batch (%d x %d, %d)", b->B, b->Ts, b->Tt);
    for (size_t i = 0; i < (size_t)b->B * b->Ts; i++)
        if (b->src[i] < -m->soft_k || b->src[i] >= m->cfg.vocab_size)
            return mto_error_set(err, MTO_EINVAL, "t5: source id %d at %zu outside vocab %d (soft prompt slots %d)",
                                 b->src[i], i, m->cfg.vocab_size, m->soft_k);
    if (b->labels)
        for (size_t i = 0; i < (size_t)b->B * b->Tt; i++)
            if (b->labels[i] != MTO_T5_IGNORE && (b->labels[i] < 0 || b->labels[i] >= m->cfg.vocab_size))
                return mto_error_set(err, MTO_EINVAL, "t5: label %d at %zu outside vocab %d", b->labels[i], i,
                                     m->cfg.vocab_size);
    return 0;
}

int mto_t5_forward(mto_t5 *m, const mto_t5_batch *b, int train, mto_error *err)
{
    int rc;
    if ((rc = t5_check_batch(m, b, err)) || (rc = t5_acts_prepare(m, b->B, b->Ts, b->Tt, err))) return rc;
    if (!b->labels) return mto_error_set(err, MTO_EINVAL, "t5: forward needs labels");
    struct mto_t5_acts *A = m->acts;
    const mto_t5_config *c = &m->cfg;
    int Ns = b->B * b->Ts, Nt = b->B * b->Tt, V = c->vocab_size;
    A->train = train && c->dropout_rate > 0;
    if (A->train) m->step++;
    memcpy(A->src, b->src, (size_t)Ns * sizeof *A->src);
    memcpy(A->labels, b->labels, (size_t)Nt * sizeof *A->labels);
    for (int i = 0; i < Ns; i++) A->src_mask[i] = b->src[i] != MTO_T5_PAD;
    for (int i = 0; i < b->B; i++) /* shift right: pad first, -100 read as pad */
        for (int t = 0; t < b->Tt; t++) {
            int32_t y = t ? b->labels[(size_t)i * b->Tt + t - 1] : MTO_T5_PAD;
            A->dec_in[(size_t)i * b->Tt + t] = y == MTO_T5_IGNORE ? MTO_T5_PAD : y;
        }
    t5_mm_refresh(m); /* bf16: the weights of this step (backward uses them too) */
    t5_encode(m);
    decode(m);
    t5_mm(m, 0, 1, Nt, V, c->d_model, t5_head_scale(m), A->dec_out,
                c->d_model, m->w.lm_head, c->d_model, 0.0f, A->logits, V);
    double total = t5_xent(m, A->lse, A->logp, A->logits, A->labels, Nt, V, &m->ntok);
    m->loss = m->ntok ? (float)(total / m->ntok) : 0.0f;
    m->logits = A->logits;
    m->tok_logprob = A->logp;
    if (!isfinite(m->loss)) return mto_error_set(err, MTO_ENUMERIC, "t5: loss is %g", m->loss);
    return 0;
}
