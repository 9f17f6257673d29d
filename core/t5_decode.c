/* t5_decode.c — inference: the encoder runs once, the decoder one token at a
 * time over a key/value cache (self-attention keys/values appended per step,
 * cross-attention keys/values computed once). Rows are B*beams; beams of one
 * source share its cross-attention cache. Also the uncached path (whole
 * prefix through the training forward) that the tests compare against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "matmul_impl.h"
#include "t5_internal.h"

typedef struct dec_state {
    mto_t5 *m;
    int B, beams, R, Ts, max_len, use_cache;
    const int32_t *src;
    float *ck, *cv;          /* per layer (B*Ts, Di) cross-attention keys/values */
    float *sk, *sv;          /* per layer (R, max_len, Di) self-attention cache */
    float *x, *x2, *ln, *rstd, *q, *kn, *vn, *ctx, *tmp, *h, *h1, *a, *P, *scratch, *logp, *gather;
    uint8_t *mask;           /* B*Ts */
    int32_t *bsrc, *blab;    /* uncached path: the replicated batch */
} dec_state;

static void dec_free(dec_state *s)
{
    free(s->ck); free(s->cv); free(s->sk); free(s->sv);
    free(s->x); free(s->x2); free(s->ln); free(s->rstd); free(s->q); free(s->kn); free(s->vn); free(s->ctx);
    free(s->tmp); free(s->h); free(s->h1); free(s->a); free(s->P); free(s->scratch); free(s->logp); free(s->gather);
    free(s->mask); free(s->bsrc); free(s->blab);
}

static int dec_init(dec_state *s, mto_t5 *m, const int32_t *src, int B, int Ts, int beams, int max_len, int use_cache,
                    mto_error *err)
{
    const mto_t5_config *c = &m->cfg;
    memset(s, 0, sizeof *s);
    s->m = m; s->B = B; s->beams = beams; s->R = B * beams; s->Ts = Ts; s->max_len = max_len;
    s->use_cache = use_cache; s->src = src;
    size_t R = (size_t)s->R, Di = (size_t)c->num_heads * c->d_kv, D = c->d_model, F = c->d_ff;
    size_t Ld = (size_t)c->num_decoder_layers, Ns = (size_t)B * Ts, T = (size_t)(max_len > Ts ? max_len : Ts);
    s->logp = mto_malloc(R * c->vocab_size * sizeof(float));
    if (!s->logp) goto oom;
    if (!use_cache) {
        s->bsrc = mto_malloc(R * Ts * sizeof *s->bsrc);
        s->blab = mto_malloc(R * (max_len + 1) * sizeof *s->blab);
        if (!s->bsrc || !s->blab) goto oom;
        for (size_t r = 0; r < R; r++) memcpy(s->bsrc + r * Ts, src + (r / beams) * Ts, Ts * sizeof *src);
        return 0;
    }
    s->ck = mto_malloc(Ld * Ns * Di * sizeof(float));
    s->cv = mto_malloc(Ld * Ns * Di * sizeof(float));
    s->sk = mto_malloc(Ld * R * max_len * Di * sizeof(float));
    s->sv = mto_malloc(Ld * R * max_len * Di * sizeof(float));
    s->gather = mto_malloc(R * max_len * Di * sizeof(float));
    s->x = mto_malloc(R * D * sizeof(float)); s->x2 = mto_malloc(R * D * sizeof(float));
    s->a = mto_malloc(R * F * sizeof(float)); s->ln = mto_malloc(R * D * sizeof(float)); s->tmp = mto_malloc(R * D * sizeof(float));
    s->rstd = mto_malloc(R * sizeof(float));
    s->q = mto_malloc(R * Di * sizeof(float)); s->kn = mto_malloc(R * Di * sizeof(float));
    s->vn = mto_malloc(R * Di * sizeof(float)); s->ctx = mto_malloc(R * Di * sizeof(float));
    s->h = mto_malloc(R * F * sizeof(float)); s->h1 = mto_malloc(R * F * sizeof(float));
    s->P = mto_malloc(R * c->num_heads * T * sizeof(float));
    s->scratch = mto_malloc(t5_attn_scratch(1, (int)T, c->num_heads, (int)T) * sizeof(float));
    s->mask = mto_malloc(Ns);
    if (!s->ck || !s->cv || !s->sk || !s->sv || !s->gather || !s->x || !s->x2 || !s->ln || !s->tmp || !s->rstd ||
        !s->q || !s->kn || !s->vn || !s->ctx || !s->h || !s->h1 || !s->a || !s->P || !s->scratch || !s->mask)
        goto oom;
    /* encoder once (eval), then the cross-attention keys/values of every layer */
    int rc = t5_acts_prepare(m, B, Ts, 1, err);
    if (rc) return rc;
    struct mto_t5_acts *A = m->acts;
    A->train = 0;
    t5_mm_refresh(m); /* bf16: this call's weights */
    memcpy(A->src, src, Ns * sizeof *src);
    for (size_t i = 0; i < Ns; i++) A->src_mask[i] = s->mask[i] = src[i] != MTO_T5_PAD;
    t5_encode(m);
    for (size_t l = 0; l < Ld; l++) {
        mto_k_linear(m, s->ck + l * Ns * Di, A->enc_out, m->w.dec[l].cross.k, (int)Ns, (int)D, (int)Di, 0.0f);
        mto_k_linear(m, s->cv + l * Ns * Di, A->enc_out, m->w.dec[l].cross.v, (int)Ns, (int)D, (int)Di, 0.0f);
    }
    return 0;
oom:
    return mto_error_set(err, MTO_ENOMEM, "t5 decode: out of memory (%d rows, max_len %d)", s->R, max_len);
}

/* Log-probs (R, V) of the next token at position t; tokens[r] is the decoder
 * input at t, hist (R x max_len) the tokens generated so far (uncached path). */
static int dec_step(dec_state *s, const int32_t *tokens, const int32_t *hist, int t, mto_error *err)
{
    mto_t5 *m = s->m;
    const mto_t5_config *c = &m->cfg;
    int R = s->R, D = c->d_model, V = c->vocab_size, Di = c->num_heads * c->d_kv, T = s->max_len;
    if (!s->use_cache) {
        /* labels = y_0..y_{t-1}, ignored last: decoder input = [pad, y_0..y_{t-1}] */
        int Tt = t + 1;
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < t; i++) s->blab[r * Tt + i] = hist[(size_t)r * T + i];
            s->blab[r * Tt + t] = MTO_T5_IGNORE;
        }
        mto_t5_batch b = {R, s->Ts, Tt, s->bsrc, s->blab};
        int rc = mto_t5_forward(m, &b, 0, err);
        if (rc && rc != MTO_ENUMERIC) return rc; /* all labels ignored: loss 0, fine */
        for (int r = 0; r < R; r++)
            memcpy(s->logp + (size_t)r * V, m->logits + ((size_t)r * Tt + t) * V, V * sizeof(float));
        mto_k_log_softmax(s->logp, R, V);
        return 0;
    }
    for (int r = 0; r < R; r++) memcpy(s->x + (size_t)r * D, m->w.shared + (size_t)tokens[r] * D, D * sizeof(float));
    size_t Ns = (size_t)s->B * s->Ts;
    for (int l = 0; l < c->num_decoder_layers; l++) {
        const mto_t5_layer_w *w = &m->w.dec[l];
        float *sk = s->sk + (size_t)l * R * T * Di, *sv = s->sv + (size_t)l * R * T * Di;
        /* self-attention over the cache, this step's keys/values appended */
        mto_k_rmsnorm(s->ln, s->rstd, s->x, w->self.ln, R, D, c->eps);
        t5_mm_rows(m, R, Di, D, 1.0f, s->ln, w->self.q, 0.0f, s->q);
        t5_mm_rows(m, R, Di, D, 1.0f, s->ln, w->self.k, 0.0f, s->kn);
        t5_mm_rows(m, R, Di, D, 1.0f, s->ln, w->self.v, 0.0f, s->vn);
        for (int r = 0; r < R; r++) {
            memcpy(sk + ((size_t)r * T + t) * Di, s->kn + (size_t)r * Di, Di * sizeof(float));
            memcpy(sv + ((size_t)r * T + t) * Di, s->vn + (size_t)r * Di, Di * sizeof(float));
        }
        t5_attn_shape a;
        t5_attn_shape_init(m, &a, 1, t + 1, 1, 1);
        a.B = R; a.kstride_b = T; a.qoff = t; a.rel = m->w.dec_rel; a.mv = 1;
        t5_attn_fwd(&a, s->q, sk, sv, s->P, s->ctx, s->scratch);
        t5_mm_rows(m, R, D, Di, 1.0f, s->ctx, w->self.o, 1.0f, s->x);
        /* cross-attention: each row reads its source's keys/values */
        mto_k_rmsnorm(s->ln, s->rstd, s->x, w->cross.ln, R, D, c->eps);
        t5_mm_rows(m, R, Di, D, 1.0f, s->ln, w->cross.q, 0.0f, s->q);
        t5_attn_shape_init(m, &a, 1, s->Ts, 0, 0);
        a.mv = 1;
        if (s->beams == 1) { /* row r reads source r: one batched call */
            a.B = R;
            a.kmask = s->mask;
            t5_attn_fwd(&a, s->q, s->ck + (size_t)l * Ns * Di, s->cv + (size_t)l * Ns * Di, s->P, s->ctx,
                        s->scratch);
        } else {
            a.B = 1;
            for (int r = 0; r < R; r++) {
                size_t b = (size_t)(r / s->beams);
                a.kmask = s->mask + b * s->Ts;
                t5_attn_fwd(&a, s->q + (size_t)r * Di, s->ck + ((size_t)l * Ns + b * s->Ts) * Di,
                            s->cv + ((size_t)l * Ns + b * s->Ts) * Di, s->P, s->ctx + (size_t)r * Di, s->scratch);
            }
        }
        t5_mm_rows(m, R, D, Di, 1.0f, s->ctx, w->cross.o, 1.0f, s->x);
        /* feed-forward (eval: no dropout), the training forward's sublayer */
        t5_ff_acts f = {s->ln, s->rstd, s->h, s->h1, s->a};
        t5_ff_sublayer(m, &w->ff, &f, s->x, s->x2, s->tmp, R, 1, 0, 0);
        float *sw = s->x; s->x = s->x2; s->x2 = sw;
    }
    mto_k_rmsnorm(s->ln, s->rstd, s->x, m->w.dec_final_ln, R, D, c->eps);
    t5_mm_rows(m, R, V, D, t5_head_scale(m), s->ln, m->w.lm_head, 0.0f, s->logp);
    mto_k_log_softmax(s->logp, R, V);
    return 0;
}

/* Reorder the self-attention cache rows: new row r continues old row parent[r]. */
static void dec_reorder(dec_state *s, const int *parent, int t)
{
    if (!s->use_cache) return;
    const mto_t5_config *c = &s->m->cfg;
    size_t Di = (size_t)c->num_heads * c->d_kv, T = (size_t)s->max_len, n = (size_t)(t + 1) * Di;
    for (int l = 0; l < c->num_decoder_layers; l++)
        for (int kv = 0; kv < 2; kv++) {
            float *base = (kv ? s->sv : s->sk) + (size_t)l * s->R * T * Di;
            for (int r = 0; r < s->R; r++) memcpy(s->gather + (size_t)r * T * Di, base + (size_t)parent[r] * T * Di, n * sizeof(float));
            for (int r = 0; r < s->R; r++) memcpy(base + (size_t)r * T * Di, s->gather + (size_t)r * T * Di, n * sizeof(float));
        }
}

static int greedy(mto_t5 *m, const int32_t *src, int B, int Ts, const mto_t5_gen_opts *o, int32_t *out,
                  int *out_len, double *out_score, mto_error *err)
{
    dec_state s;
    int T = o->max_len, V = m->cfg.vocab_size, rc;
    int32_t *tok = mto_calloc((size_t)B, sizeof *tok);
    char *done = mto_calloc((size_t)B, 1);
    if (!tok || !done) { free(tok); free(done); return mto_error_set(err, MTO_ENOMEM, "t5 greedy: out of memory"); }
    if ((rc = dec_init(&s, m, src, B, Ts, 1, T, o->use_cache, err))) goto out;
    memset(out, 0, (size_t)B * T * sizeof *out);
    for (int b = 0; b < B; b++) { out_len[b] = 0; if (out_score) out_score[b] = 0; }
    for (int t = 0; t < T; t++) {
        if ((rc = dec_step(&s, tok, out, t, err))) goto out;
        int alive = 0;
        for (int b = 0; b < B; b++) {
            if (done[b]) { tok[b] = MTO_T5_PAD; continue; }
            const float *lp = s.logp + (size_t)b * V;
            int y = mto_k_argmax(lp, V);
            out[(size_t)b * T + t] = y;
            out_len[b] = t + 1;
            if (out_score) out_score[b] += lp[y];
            tok[b] = y;
            if (y == MTO_T5_EOS) done[b] = 1; else alive++;
        }
        if (!alive) break;
    }
out:
    dec_free(&s);
    free(tok);
    free(done);
    return rc;
}

typedef struct cand { float score; int row, tok; } cand;
static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->score < y->score ? 1 : x->score > y->score ? -1 : (x->row * 1000003 + x->tok) - (y->row * 1000003 + y->tok);
}

/* Beam search (HF BeamSearchScorer with early stopping): each step keeps the
 * best `beams` continuations per source; an eos among the top `beams`
 * candidates finishes a hypothesis; a source is done when it has `beams`
 * finished ones. Finished hypotheses rank by score / len^length_penalty. */
int t5_beam_search(mto_t5 *m, const int32_t *src, int B, int Ts, const mto_t5_gen_opts *o, int32_t *out,
                   int *out_len, double *out_score, mto_error *err)
{
    int K = o->beams, T = o->max_len, V = m->cfg.vocab_size, R = B * K, rc;
    dec_state s;
    int32_t *hist = mto_calloc((size_t)R * T, sizeof *hist), *nhist = mto_calloc((size_t)R * T, sizeof *nhist);
    int32_t *tok = mto_calloc((size_t)R, sizeof *tok);
    double *score = mto_calloc((size_t)R, sizeof *score), *nscore = mto_calloc((size_t)R, sizeof *nscore);
    int *parent = mto_calloc((size_t)R, sizeof *parent), *ntok = mto_calloc((size_t)R, sizeof *ntok);
    cand *cands = mto_malloc((size_t)K * V * sizeof *cands);
    /* finished: per source up to K (tokens, len, score, normalised) */
    int32_t *fin = mto_calloc((size_t)R * T, sizeof *fin);
    int *flen = mto_calloc((size_t)R, sizeof *flen), *nfin = mto_calloc((size_t)B, sizeof *nfin);
    double *fsc = mto_calloc((size_t)R, sizeof *fsc), *fnorm = mto_calloc((size_t)R, sizeof *fnorm);
    char *done = mto_calloc((size_t)B, 1);
    if (!hist || !nhist || !tok || !score || !nscore || !parent || !ntok || !cands || !fin || !flen || !nfin || !fsc ||
        !fnorm || !done) {
        rc = mto_error_set(err, MTO_ENOMEM, "t5 beam search: out of memory");
        memset(&s, 0, sizeof s);
        goto out;
    }
    if ((rc = dec_init(&s, m, src, B, Ts, K, T, o->use_cache, err))) goto out;
    for (int r = 0; r < R; r++) score[r] = r % K ? -INFINITY : 0; /* one live beam at the start */
    int t;
    for (t = 0; t < T; t++) {
        if ((rc = dec_step(&s, tok, hist, t, err))) goto out;
        for (int b = 0; b < B; b++) {
            int nc = 0;
            for (int k = 0; k < K; k++) {
                int r = b * K + k;
                if (done[b] || score[r] == -INFINITY) continue;
                const float *lp = s.logp + (size_t)r * V;
                for (int j = 0; j < V; j++) cands[nc++] = (cand){(float)(score[r] + lp[j]), r, j};
            }
            qsort(cands, (size_t)nc, sizeof *cands, cand_cmp);
            int alive = 0;
            for (int i = 0; i < nc && alive < K; i++) {
                cand *cd = &cands[i];
                if (t == T - 1 && i >= K) break; /* last step: the top K end as they are */
                if (cd->tok == MTO_T5_EOS || t == T - 1) {
                    if (cd->tok == MTO_T5_EOS && i >= K) continue; /* eos ranked below the beam width */
                    int len = t + 1;
                    double norm = cd->score / pow(len, o->length_penalty);
                    int slot = nfin[b] < K ? b * K + nfin[b]++ : -1;
                    if (slot < 0) { /* replace the worst if better */
                        int worst = b * K;
                        for (int k = 1; k < K; k++) if (fnorm[b * K + k] < fnorm[worst]) worst = b * K + k;
                        if (norm > fnorm[worst]) slot = worst;
                    }
                    if (slot >= 0) {
                        memcpy(fin + (size_t)slot * T, hist + (size_t)cd->row * T, (size_t)t * sizeof *fin);
                        fin[(size_t)slot * T + t] = cd->tok;
                        flen[slot] = len; fsc[slot] = cd->score; fnorm[slot] = norm;
                    }
                    if (cd->tok == MTO_T5_EOS) continue;
                    if (t == T - 1) continue;
                }
                int r = b * K + alive++;
                parent[r] = cd->row; ntok[r] = cd->tok; nscore[r] = cd->score;
            }
            for (int k = alive; k < K; k++) { parent[b * K + k] = b * K; ntok[b * K + k] = MTO_T5_PAD; nscore[b * K + k] = -INFINITY; }
            if (done[b]) for (int k = 0; k < K; k++) parent[b * K + k] = b * K + k;
            if (nfin[b] >= K || alive == 0) done[b] = 1;
        }
        for (int r = 0; r < R; r++) {
            memcpy(nhist + (size_t)r * T, hist + (size_t)parent[r] * T, (size_t)t * sizeof *hist);
            nhist[(size_t)r * T + t] = ntok[r];
            tok[r] = ntok[r];
            score[r] = nscore[r];
        }
        int32_t *sw = hist; hist = nhist; nhist = sw;
        dec_reorder(&s, parent, t);
        int all = 1;
        for (int b = 0; b < B; b++) all &= done[b];
        if (all) break;
    }
    memset(out, 0, (size_t)B * T * sizeof *out);
    for (int b = 0; b < B; b++) {
        int best = -1;
        for (int k = 0; k < nfin[b]; k++) if (best < 0 || fnorm[b * K + k] > fnorm[best]) best = b * K + k;
        out_len[b] = best >= 0 ? flen[best] : 0;
        if (best >= 0) memcpy(out + (size_t)b * T, fin + (size_t)best * T, (size_t)flen[best] * sizeof *out);
        if (out_score) out_score[b] = best >= 0 ? fsc[best] : -INFINITY;
    }
out:
    dec_free(&s);
    free(hist); free(nhist); free(tok); free(score); free(nscore); free(parent); free(ntok); free(cands);
    free(fin); free(flen); free(nfin); free(fsc); free(fnorm); free(done);
    return rc;
}

int mto_t5_generate(mto_t5 *m, const int32_t *src, int B, int Ts, const mto_t5_gen_opts *o, int32_t *out,
                    int *out_len, double *out_score, mto_error *err)
{
    if (B <= 0 || Ts <= 0 || o->max_len <= 0 || o->beams <= 0)
        return mto_error_set(err, MTO_EINVAL, "t5 generate: bad sizes (B %d, Ts %d, max_len %d, beams %d)", B, Ts,
                             o->max_len, o->beams);
    mto_t5_batch chk = {B, Ts, 1, src, NULL};
    int rc = t5_check_batch(m, &chk, err);
    if (rc) return rc;
    if (o->beams == 1) return greedy(m, src, B, Ts, o, out, out_len, out_score, err);
    return t5_beam_search(m, src, B, Ts, o, out, out_len, out_score, err);
}

int mto_t5_score(mto_t5 *m, const mto_t5_batch *b, double *out, mto_error *err)
{
    int rc = mto_t5_forward(m, b, 0, err);
    if (rc && !(rc == MTO_ENUMERIC && m->ntok == 0)) return rc;
    for (int i = 0; i < b->B; i++) {
        double s = 0;
        for (int t = 0; t < b->Tt; t++) s += m->tok_logprob[(size_t)i * b->Tt + t];
        out[i] = s;
    }
    return 0;
}
