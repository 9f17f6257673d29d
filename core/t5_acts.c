/* t5_acts.c — the activation arenas: every buffer the forward pass keeps for
 * backward, carved out of one allocation sized for the batch shape, and the
 * backward scratch in a second one that only training pays for. */
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "t5_internal.h"

/* Bump allocator over floats: with base NULL it only counts. Sizes are rounded
 * to 16 floats so every buffer is 64-byte aligned relative to the base. */
typedef struct cursor { float *base; size_t off; } cursor;

static float *take(cursor *c, size_t n)
{
    float *p = c->base ? c->base + c->off : NULL;
    c->off += (n + 15) & ~(size_t)15;
    return p;
}

size_t t5_attn_scratch(int Tq, int Tk, int H, int qoff)
{
    return 2 * (size_t)Tq * Tk + (size_t)H * (Tq + qoff + Tk);
}

static void layout_attn(cursor *c, t5_attn_acts *a, size_t Nq, size_t Nk, size_t D, size_t Di, size_t Pn)
{
    a->ln = take(c, Nq * D);
    a->rstd = take(c, Nq);
    a->q = take(c, Nq * Di);
    a->k = take(c, Nk * Di);
    a->v = take(c, Nk * Di);
    a->P = take(c, Pn);
    a->ctx = take(c, Nq * Di);
}

static void layout_ff(cursor *c, t5_ff_acts *f, size_t N, size_t D, size_t F, int gated)
{
    f->ln = take(c, N * D);
    f->rstd = take(c, N);
    f->h = gated ? take(c, N * F) : NULL; /* ReLU runs in place in a */
    f->h1 = gated ? take(c, N * F) : NULL;
    f->a = take(c, N * F);
}

static size_t layout_fwd(mto_t5 *m, struct mto_t5_acts *A, float *base)
{
    const mto_t5_config *c = &m->cfg;
    cursor cu = {base, 0};
    size_t B = A->B, Ns = B * A->Ts, Nt = B * A->Tt, D = c->d_model, F = c->d_ff;
    size_t Di = (size_t)c->num_heads * c->d_kv, H = c->num_heads;
    int gated = c->ff != MTO_T5_FF_RELU;
    A->enc_res = take(&cu, (2 * (size_t)c->num_layers + 1) * Ns * D);
    A->dec_res = take(&cu, (3 * (size_t)c->num_decoder_layers + 1) * Nt * D);
    for (int l = 0; l < c->num_layers; l++) {
        layout_attn(&cu, &A->enc[l].self, Ns, Ns, D, Di, B * H * A->Ts * A->Ts);
        layout_ff(&cu, &A->enc[l].ff, Ns, D, F, gated);
    }
    for (int l = 0; l < c->num_decoder_layers; l++) {
        layout_attn(&cu, &A->dec[l].self, Nt, Nt, D, Di, B * H * A->Tt * A->Tt);
        layout_attn(&cu, &A->dec[l].cross, Nt, Ns, D, Di, B * H * A->Tt * A->Ts);
        layout_ff(&cu, &A->dec[l].ff, Nt, D, F, gated);
    }
    A->enc_out = take(&cu, Ns * D);
    A->enc_rstd = take(&cu, Ns);
    A->dec_out = take(&cu, Nt * D);
    A->dec_rstd = take(&cu, Nt);
    A->logits = take(&cu, Nt * (size_t)c->vocab_size);
    A->lse = take(&cu, Nt);
    A->logp = take(&cu, Nt);
    size_t Nm = Ns > Nt ? Ns : Nt, T = A->Ts > A->Tt ? A->Ts : A->Tt;
    A->tmp = take(&cu, Nm * D);
    A->scratch = take(&cu, t5_attn_scratch((int)T, (int)T, (int)H, 0));
    /* integer buffers ride at the end, in float-sized slots */
    A->src = (int32_t *)take(&cu, Ns);
    A->dec_in = (int32_t *)take(&cu, Nt);
    A->labels = (int32_t *)take(&cu, Nt);
    A->src_mask = (uint8_t *)take(&cu, (Ns + 3) / 4);
    return cu.off;
}

static size_t layout_bwd(mto_t5 *m, struct mto_t5_acts *A, float *base)
{
    const mto_t5_config *c = &m->cfg;
    cursor cu = {base, 0};
    size_t B = A->B, Ns = B * A->Ts, Nt = B * A->Tt, D = c->d_model, F = c->d_ff;
    size_t Di = (size_t)c->num_heads * c->d_kv, Nm = Ns > Nt ? Ns : Nt;
    size_t T = A->Ts > A->Tt ? A->Ts : A->Tt;
    A->dres = take(&cu, Nm * D);
    A->denc = take(&cu, Ns * D);
    A->dtmp = take(&cu, Nm * D);
    A->dln = take(&cu, Nm * D);
    A->dq = take(&cu, Nm * Di);
    A->dk = take(&cu, Nm * Di);
    A->dv = take(&cu, Nm * Di);
    A->dctx = take(&cu, Nm * Di);
    A->dh = take(&cu, Nm * F);
    A->dh1 = c->ff != MTO_T5_FF_RELU ? take(&cu, Nm * F) : NULL;
    A->bscratch = take(&cu, t5_attn_scratch((int)T, (int)T, c->num_heads, 0));
    return cu.off;
}

/* Follow OpenBLAS's thread count: (re)start the pool and size the per-thread
 * buffers for the current shape. Without threads everything stays serial. */
static int t5_acts_threads(mto_t5 *m, mto_error *err)
{
    struct mto_t5_acts *A = m->acts;
    int want = t5_threads_wanted();
    size_t T = A->Ts > A->Tt ? A->Ts : A->Tt, H = m->cfg.num_heads, D = m->cfg.d_model;
    size_t per = D > 2 * H * T ? D : 2 * H * T, scr = t5_attn_scratch((int)T, (int)T, (int)H, 0);
    if (want != A->nthreads) {
        t5_pool_free(A->pool);
        A->pool = t5_pool_new(want);
        A->nthreads = want;
    }
    int n = t5_pool_size(A->pool);
    size_t need = (size_t)(n - 1) * per + (size_t)n * scr;
    if (need > A->tcap) {
        free(A->part);
        A->part = mto_malloc(need * sizeof(float));
        A->tcap = A->part ? need : 0;
        if (!A->part) return mto_error_set(err, MTO_ENOMEM, "t5: out of memory for per-thread buffers");
    }
    A->tscratch = A->part + (size_t)(n - 1) * per;
    return 0;
}

int t5_acts_prepare(mto_t5 *m, int B, int Ts, int Tt, mto_error *err)
{
    struct mto_t5_acts *A = m->acts;
    if (!A) {
        A = m->acts = mto_calloc(1, sizeof *A);
        if (A) {
            A->enc = mto_calloc((size_t)m->cfg.num_layers + 1, sizeof *A->enc);
            A->dec = mto_calloc((size_t)m->cfg.num_decoder_layers + 1, sizeof *A->dec);
        }
        if (!A || !A->enc || !A->dec) { t5_acts_free(m); goto oom; }
    }
    if (A->B == B && A->Ts == Ts && A->Tt == Tt && A->arena)
        return A->nthreads == t5_threads_wanted() ? 0 : t5_acts_threads(m, err);
    A->B = B; A->Ts = Ts; A->Tt = Tt;
    size_t need = layout_fwd(m, A, NULL);
    if (need > A->fcap) {
        free(A->arena);
        A->arena = mto_aligned_alloc(64, ((need * sizeof(float)) + 63) & ~(size_t)63);
        A->fcap = A->arena ? need : 0;
        if (!A->arena) { A->B = 0; goto oom; }
    }
    layout_fwd(m, A, A->arena);
    return t5_acts_threads(m, err);
oom:
    return mto_error_set(err, MTO_ENOMEM, "t5: out of memory for activations of batch %d x (%d, %d)", B, Ts, Tt);
}

int t5_acts_prepare_bwd(mto_t5 *m, mto_error *err)
{
    struct mto_t5_acts *A = m->acts;
    size_t need = layout_bwd(m, A, NULL);
    if (need > A->bcap) {
        free(A->barena);
        A->barena = mto_aligned_alloc(64, ((need * sizeof(float)) + 63) & ~(size_t)63);
        A->bcap = A->barena ? need : 0;
        if (!A->barena) return mto_error_set(err, MTO_ENOMEM, "t5: out of memory for backward buffers");
    }
    layout_bwd(m, A, A->barena);
    return 0;
}

void t5_acts_free(mto_t5 *m)
{
    struct mto_t5_acts *A = m->acts;
    if (!A) return;
    t5_pool_free(A->pool);
    free(A->part);
    free(A->arena);
    free(A->barena);
    free(A->enc);
    free(A->dec);
    free(A);
    m->acts = NULL;
}

void mto_t5_trim(mto_t5 *m) { t5_acts_free(m); }

size_t mto_t5_acts_bytes(const mto_t5 *m)
{
    return m->acts ? (m->acts->fcap + m->acts->bcap) * sizeof(float) : 0;
}
