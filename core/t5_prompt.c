/* t5_prompt.c — the soft-prompt object: initialisation, attaching it to a
 * model, inserting its slots into sources, and its own small checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "mto/host.h"
#include "mto/prompt.h"
#include "mto/safetensors.h"

#define PROMPT_TENSOR "prompt.embedding"
#define PROMPT_MAX_K 4096

mto_prompt *mto_prompt_new(int k, int d_model, int placement, mto_error *err)
{
    if (k < 1 || k > PROMPT_MAX_K || d_model < 1 || (placement != MTO_PROMPT_PRE && placement != MTO_PROMPT_POST)) {
        mto_error_set(err, MTO_EINVAL, "prompt: k %d (1..%d), d_model %d or placement %d out of range", k,
                      PROMPT_MAX_K, d_model, placement);
        return NULL;
    }
    mto_prompt *p = mto_calloc(1, sizeof *p);
    size_t n = (size_t)k * d_model;
    if (!p || !(p->emb = mto_calloc(n, sizeof(float))) || !(p->grad = mto_calloc(n, sizeof(float)))) {
        mto_prompt_free(p);
        mto_error_set(err, MTO_ENOMEM, "prompt: out of memory (%d x %d)", k, d_model);
        return NULL;
    }
    p->k = k;
    p->d_model = d_model;
    p->placement = placement;
    p->mask_id = -1;
    return p;
}

void mto_prompt_free(mto_prompt *p)
{
    if (!p) return;
    free(p->emb);
    free(p->grad);
    free(p);
}

static int check_model(const mto_prompt *p, const mto_t5 *m, mto_error *err)
{
    if (m->cfg.d_model != p->d_model)
        return mto_error_set(err, MTO_EINVAL, "prompt: d_model %d does not match the model's %d", p->d_model,
                             m->cfg.d_model);
    return 0;
}

static void copy_row(mto_prompt *p, int row, const mto_t5 *m, int32_t id)
{
    memcpy(p->emb + (size_t)row * p->d_model, m->w.shared + (size_t)id * p->d_model, p->d_model * sizeof(float));
}

int mto_prompt_init_vocab(mto_prompt *p, const mto_t5 *m, int lo, int hi, uint64_t seed, mto_error *err)
{
    int rc = check_model(p, m, err), V = m->cfg.vocab_size;
    if (rc) return rc;
    if (hi <= 0) hi = lo + 5000 < V ? lo + 5000 : V;
    if (lo < 0 || hi > V || lo >= hi)
        return mto_error_set(err, MTO_EINVAL, "prompt: vocabulary range [%d, %d) not inside [0, %d)", lo, hi, V);
    mto_rng r;
    mto_rng_seed(&r, seed);
    for (int i = 0; i < p->k; i++) copy_row(p, i, m, (int32_t)(lo + (int)mto_rng_below(&r, (uint64_t)(hi - lo))));
    snprintf(p->init, sizeof p->init, "vocab");
    return 0;
}

int mto_prompt_init_ids(mto_prompt *p, const mto_t5 *m, const int32_t *ids, int n, mto_error *err)
{
    int rc = check_model(p, m, err);
    if (rc) return rc;
    if (n < 1) return mto_error_set(err, MTO_EINVAL, "prompt: the phrase has no tokens");
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return mto_error_set(err, MTO_EINVAL, "prompt: phrase token %d outside vocab %d", ids[i], m->cfg.vocab_size);
    for (int i = 0; i < p->k; i++) copy_row(p, i, m, ids[i % n]);
    snprintf(p->init, sizeof p->init, "phrase");
    return 0;
}

int mto_prompt_init_uniform(mto_prompt *p, float range, uint64_t seed, mto_error *err)
{
    if (!(range > 0)) return mto_error_set(err, MTO_EINVAL, "prompt: uniform range %g must be > 0", range);
    mto_rng r;
    mto_rng_seed(&r, seed);
    for (size_t i = 0, n = (size_t)p->k * p->d_model; i < n; i++)
        p->emb[i] = (float)((mto_rng_uniform(&r) * 2 - 1) * range);
    snprintf(p->init, sizeof p->init, "uniform");
    return 0;
}

int mto_prompt_attach(mto_t5 *m, mto_prompt *p, int frozen, mto_error *err)
{
    int rc = check_model(p, m, err);
    if (rc) return rc;
    m->soft_emb = p->emb;
    m->soft_grad = p->grad;
    m->soft_k = p->k;
    m->frozen = frozen != 0;
    return 0;
}

void mto_prompt_detach(mto_t5 *m)
{
    m->soft_emb = NULL;
    m->soft_grad = NULL;
    m->soft_k = 0;
    m->frozen = 0;
}

int mto_prompt_insert(const mto_prompt *p, const int32_t *src, int n, int max_src_len, int32_t *out)
{
    int len = max_src_len > 0 && n > max_src_len ? max_src_len : n, at = 0;
    int32_t *text = out + (p->placement == MTO_PROMPT_PRE ? p->k : 0);
    memcpy(text, src, (size_t)len * sizeof *src);
    if (len < n && len > 0 && src[n - 1] == MTO_T5_EOS) text[len - 1] = MTO_T5_EOS;
    if (p->placement == MTO_PROMPT_POST) {
        at = len;
        if (at > 0 && text[at - 1] == MTO_T5_EOS) at--;
        if (p->mask_id >= 0 && at > 0 && text[at - 1] == p->mask_id) at--;
        memmove(text + at + p->k, text + at, (size_t)(len - at) * sizeof *text);
    }
    for (int j = 0; j < p->k; j++) out[at + j] = -(j + 1);
    return len + p->k;
}

/* ---- the prompt-only checkpoint ------------------------------------------- */

int mto_prompt_save(const mto_prompt *p, const char *path, mto_error *err)
{
    char k[16], d[16], mask[16];
    snprintf(k, sizeof k, "%d", p->k);
    snprintf(d, sizeof d, "%d", p->d_model);
    snprintf(mask, sizeof mask, "%d", (int)p->mask_id);
    const char *meta[] = {"format", "mto-soft-prompt", "k", k, "d_model", d,
                          "placement", p->placement == MTO_PROMPT_PRE ? "pre" : "post", "mask_id", mask,
                          "init", p->init, "template", p->template_name, NULL};
    int64_t shape[2] = {p->k, p->d_model};
    mto_st_out t = {PROMPT_TENSOR, MTO_ST_F32, 2, shape, p->emb};
    return mto_st_write(path, &t, 1, meta, err);
}

static int meta_int(const mto_st_file *f, const char *key, long lo, long hi, long *out, mto_error *err)
{
    const char *v = mto_st_meta(f, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi)
        return mto_error_set(err, MTO_EFORMAT, "%s: prompt metadata '%s' is %s%s%s (want %ld..%ld)", mto_st_name(f),
                             key, v ? "'" : "missing", v ? v : "", v ? "'" : "", lo, hi);
    *out = x;
    return 0;
}

mto_prompt *mto_prompt_load(const char *path, mto_error *err)
{
    mto_st_file *f = NULL;
    mto_prompt *p = NULL;
    if (mto_st_open(path, &f, err)) return NULL;
    const char *fmt = mto_st_meta(f, "format"), *pl = mto_st_meta(f, "placement");
    const char *init = mto_st_meta(f, "init"), *tpl = mto_st_meta(f, "template");
    const mto_st_tensor *t = mto_st_find(f, PROMPT_TENSOR);
    long k, d, mask;
    if (!fmt || strcmp(fmt, "mto-soft-prompt") != 0) {
        mto_error_set(err, MTO_EFORMAT, "%s: not a soft prompt (metadata format is not mto-soft-prompt)", path);
    } else if (!pl || (strcmp(pl, "pre") != 0 && strcmp(pl, "post") != 0)) {
        mto_error_set(err, MTO_EFORMAT, "%s: prompt placement must be pre or post", path);
    } else if (!meta_int(f, "k", 1, PROMPT_MAX_K, &k, err) && !meta_int(f, "d_model", 1, 1 << 20, &d, err) &&
               !meta_int(f, "mask_id", -1, INT32_MAX, &mask, err)) {
        if (!t || t->ndim != 2 || t->shape[0] != k || t->shape[1] != d) {
            mto_error_set(err, MTO_EFORMAT, "%s: tensor %s missing or not (%ld, %ld)", path, PROMPT_TENSOR, k, d);
        } else if ((p = mto_prompt_new((int)k, (int)d, strcmp(pl, "pre") == 0 ? MTO_PROMPT_PRE : MTO_PROMPT_POST,
                                       err))) {
            p->mask_id = (int32_t)mask;
            snprintf(p->init, sizeof p->init, "%s", init ? init : "");
            snprintf(p->template_name, sizeof p->template_name, "%s", tpl ? tpl : "");
            if (mto_st_read_f32(f, t, p->emb, (size_t)k * d, err)) {
                mto_prompt_free(p);
                p = NULL;
            }
        }
    }
    mto_st_close(f);
    return p;
}
