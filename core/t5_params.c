/* t5_params.c — the parameter arena: HF-named table, views, init, grads. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "mto/host.h"
#include "mto/t5.h"
#include "matmul_impl.h"
#include "t5_internal.h"

/* One walk over the layout in HF order. With tab != NULL it records names and
 * shapes; with base != NULL it points the views of w into base. Returns numel. */
typedef struct walker {
    mto_t5_param *tab;
    size_t n, off;
    float *base;
} walker;

static float *add(walker *wk, int64_t r, int64_t c, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static float *add(walker *wk, int64_t r, int64_t c, const char *fmt, ...)
{
    size_t off = wk->off, numel = (size_t)r * (size_t)(c ? c : 1);
    if (wk->tab) {
        mto_t5_param *p = &wk->tab[wk->n];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->name, sizeof p->name, fmt, ap);
        va_end(ap);
        p->offset = off;
        p->numel = numel;
        p->ndim = c ? 2 : 1;
        p->shape[0] = r;
        p->shape[1] = c ? c : 0;
    }
    wk->n++;
    wk->off += numel;
    return wk->base ? wk->base + off : NULL;
}

static void walk_attn(walker *wk, const mto_t5_config *c, mto_t5_attn_w *a, const char *pfx, const char *kind)
{
    int64_t D = c->d_model, Di = (int64_t)c->num_heads * c->d_kv;
    a->q = add(wk, Di, D, "%s.%s.q.weight", pfx, kind);
    a->k = add(wk, Di, D, "%s.%s.k.weight", pfx, kind);
    a->v = add(wk, Di, D, "%s.%s.v.weight", pfx, kind);
    a->o = add(wk, D, Di, "%s.%s.o.weight", pfx, kind);
}

static void walk_ff(walker *wk, const mto_t5_config *c, mto_t5_ff_w *f, const char *pfx)
{
    int64_t D = c->d_model, F = c->d_ff;
    if (c->ff == MTO_T5_FF_RELU) {
        f->wi = add(wk, F, D, "%s.DenseReluDense.wi.weight", pfx);
        f->wi1 = NULL;
    } else {
        f->wi = add(wk, F, D, "%s.DenseReluDense.wi_0.weight", pfx);
        f->wi1 = add(wk, F, D, "%s.DenseReluDense.wi_1.weight", pfx);
    }
    f->wo = add(wk, D, F, "%s.DenseReluDense.wo.weight", pfx);
    f->ln = add(wk, D, 0, "%s.layer_norm.weight", pfx);
}

static size_t walk(const mto_t5_config *c, mto_t5_param *tab, float *base, mto_t5_weights *w, size_t *nparams)
{
    walker wk = {tab, 0, 0, base};
    char pfx[64];
    mto_t5_layer_w dummy;
    w->shared = add(&wk, c->vocab_size, c->d_model, "shared.weight");
    for (int stack = 0; stack < 2; stack++) {
        const char *sn = stack ? "decoder" : "encoder";
        int L = stack ? c->num_decoder_layers : c->num_layers;
        for (int l = 0; l < L; l++) {
            mto_t5_layer_w *lw = w->enc ? (stack ? &w->dec[l] : &w->enc[l]) : &dummy;
            snprintf(pfx, sizeof pfx, "%s.block.%d.layer.0", sn, l);
            walk_attn(&wk, c, &lw->self, pfx, "SelfAttention");
            if (l == 0) {
                float *rel = add(&wk, c->num_buckets, c->num_heads,
                                 "%s.SelfAttention.relative_attention_bias.weight", pfx);
                if (stack) w->dec_rel = rel; else w->enc_rel = rel;
            }
            lw->self.ln = add(&wk, c->d_model, 0, "%s.layer_norm.weight", pfx);
            if (stack) {
                snprintf(pfx, sizeof pfx, "%s.block.%d.layer.1", sn, l);
                walk_attn(&wk, c, &lw->cross, pfx, "EncDecAttention");
                lw->cross.ln = add(&wk, c->d_model, 0, "%s.layer_norm.weight", pfx);
            } else {
                memset(&lw->cross, 0, sizeof lw->cross);
            }
            snprintf(pfx, sizeof pfx, "%s.block.%d.layer.%d", sn, l, stack ? 2 : 1);
            walk_ff(&wk, c, &lw->ff, pfx);
        }
        float *fln = add(&wk, c->d_model, 0, "%s.final_layer_norm.weight", sn);
        if (stack) w->dec_final_ln = fln; else w->enc_final_ln = fln;
    }
    w->lm_head = c->tie_word_embeddings ? w->shared
                                        : add(&wk, c->vocab_size, c->d_model, "lm_head.weight");
    if (nparams) *nparams = wk.n;
    return wk.off;
}

/* Point a weights struct (enc/dec arrays already allocated) into base. */
void t5_bind(const mto_t5 *m, float *base, mto_t5_weights *w)
{
    walk(&m->cfg, NULL, base, w, NULL);
}

static int alloc_views(const mto_t5_config *c, mto_t5_weights *w)
{
    w->enc = mto_calloc((size_t)c->num_layers + 1, sizeof *w->enc);
    w->dec = mto_calloc((size_t)c->num_decoder_layers + 1, sizeof *w->dec);
    return w->enc && w->dec ? 0 : -1;
}

/* Allocate an uninitialised model for c (params arena, table, views). */
mto_t5 *t5_alloc(const mto_t5_config *c, mto_error *err)
{
    if (mto_t5_config_check(c, err)) return NULL;
    mto_t5 *m = mto_calloc(1, sizeof *m);
    if (!m) goto oom;
    m->cfg = *c;
    mto_t5_weights tmp = {0};
    if (alloc_views(c, &tmp)) { free(tmp.enc); free(tmp.dec); goto oom; }
    m->numel = walk(c, NULL, NULL, &tmp, &m->nparams);
    free(tmp.enc);
    free(tmp.dec);
    m->table = mto_calloc(m->nparams, sizeof *m->table);
    m->params = mto_malloc(m->numel * sizeof(float));
    if (!m->table || !m->params || alloc_views(c, &m->w) || alloc_views(c, &m->g)) goto oom;
    walk(c, m->table, m->params, &m->w, NULL);
    return m;
oom:
    mto_t5_free(m);
    mto_error_set(err, MTO_ENOMEM, "t5: out of memory for parameters");
    return NULL;
}

static void fill_normal(mto_rng *r, float *p, size_t n, double std)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(mto_rng_normal(r) * std);
}

mto_t5 *mto_t5_new(const mto_t5_config *c, uint64_t seed, mto_error *err)
{
    mto_t5 *m = t5_alloc(c, err);
    if (!m) return NULL;
    mto_rng r;
    mto_rng_seed(&r, seed);
    m->seed = seed;
    double D = c->d_model, Dkv = c->d_kv, H = c->num_heads, F = c->d_ff;
    /* HF T5PreTrainedModel._init_weights with factor 1.0 */
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *p = &m->table[i];
        float *x = m->params + p->offset;
        const char *n = p->name;
        double std = 1.0;
        if (strstr(n, "layer_norm")) { for (size_t j = 0; j < p->numel; j++) x[j] = 1.0f; continue; }
        if (strstr(n, ".q.weight")) std = 1.0 / sqrt(D * Dkv);
        else if (strstr(n, ".k.weight") || strstr(n, ".v.weight")) std = 1.0 / sqrt(D);
        else if (strstr(n, ".o.weight")) std = 1.0 / sqrt(H * Dkv);
        else if (strstr(n, "relative_attention_bias")) std = 1.0 / sqrt(D);
        else if (strstr(n, ".wi")) std = 1.0 / sqrt(D);
        else if (strstr(n, ".wo.weight")) std = 1.0 / sqrt(F);
        fill_normal(&r, x, p->numel, std);
    }
    return m;
}

void mto_t5_free(mto_t5 *m)
{
    if (!m) return;
    t5_acts_free(m);
    t5_mm_free(m);
    free(m->table);
    free(m->params);
    free(m->grads);
    free(m->w.enc); free(m->w.dec);
    free(m->g.enc); free(m->g.dec);
    free(m);
}

const mto_t5_param *mto_t5_find(const mto_t5 *m, const char *name)
{
    if (strcmp(name, "encoder.embed_tokens.weight") == 0 || strcmp(name, "decoder.embed_tokens.weight") == 0 ||
        (m->cfg.tie_word_embeddings && strcmp(name, "lm_head.weight") == 0))
        name = "shared.weight";
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->table[i].name, name) == 0) return &m->table[i];
    return NULL;
}

int mto_t5_zero_grad(mto_t5 *m, mto_error *err)
{
    if (!m->grads) {
        m->grads = mto_calloc(m->numel, sizeof(float));
        if (!m->grads) return mto_error_set(err, MTO_ENOMEM, "t5: out of memory for gradients");
        t5_bind(m, m->grads, &m->g);
        return 0;
    }
    t5_ew(m, T5_EW_ZERO, m->grads, NULL, m->numel);
    return 0;
}

double mto_t5_clip_grad_norm(mto_t5 *m, double max_norm)
{
    if (!m->grads) return 0;
    double s = 0;
    for (size_t i = 0; i < m->numel; i++) s += (double)m->grads[i] * m->grads[i];
    double norm = sqrt(s);
    if (max_norm > 0 && norm > max_norm) {
        /* same factor as torch.nn.utils.clip_grad_norm_ */
        float k = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < m->numel; i++) m->grads[i] *= k;
    }
    return norm;
}
