/* prompt_train.c — the training loop, evaluation and decoding with a soft
 * prompt: sources get their slots here, the model is attached frozen for the
 * call and detached after it, whatever happens. The text keeps the caller's
 * max_src_len; the k slots come on top (the same text as fine-tuning sees). */
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "mto/prompt.h"

int mto_prompt_examples(const mto_prompt *p, const mto_example *ex, size_t n, int max_src_len, mto_example **out,
                        int32_t **ids, mto_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += (size_t)(ex[i].src_len > 0 ? ex[i].src_len : 0) + (size_t)p->k;
    *out = mto_malloc((n ? n : 1) * sizeof **out);
    *ids = mto_malloc((total ? total : 1) * sizeof **ids);
    if (!*out || !*ids) {
        free(*out); free(*ids);
        *out = NULL; *ids = NULL;
        return mto_error_set(err, MTO_ENOMEM, "prompt: out of memory for %zu prompted sources", n);
    }
    int32_t *at = *ids;
    for (size_t i = 0; i < n; i++) {
        if (ex[i].src_len < 1 || !ex[i].src) {
            free(*out); free(*ids);
            *out = NULL; *ids = NULL;
            return mto_error_set(err, MTO_EINVAL, "prompt: source %zu is empty", i + 1);
        }
        (*out)[i] = ex[i];
        (*out)[i].src = at;
        (*out)[i].src_len = mto_prompt_insert(p, ex[i].src, ex[i].src_len, max_src_len, at);
        at += (*out)[i].src_len;
    }
    return 0;
}

void mto_prompt_train_opts_default(mto_train_opts *o)
{
    mto_train_opts_default(o);
    mto_optim_config_default(&o->optim, MTO_OPT_ADAFACTOR);
    o->lr = o->optim.lr = 0.3f; /* Lester et al. 2021: Adafactor, constant 0.3 */
}

int mto_prompt_train(mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n, const mto_train_opts *o,
                     mto_train_result *res, mto_error *err)
{
    mto_example *pex = NULL, *pval = NULL;
    int32_t *ids = NULL, *vids = NULL;
    int rc = mto_prompt_examples(p, ex, n, o->max_src_len, &pex, &ids, err);
    if (!rc && o->valid && o->nvalid)
        rc = mto_prompt_examples(p, o->valid, o->nvalid, o->max_src_len, &pval, &vids, err);
    if (!rc) rc = mto_prompt_attach(m, p, 1, err);
    uint64_t seed = m->seed, step = m->step; /* the loop resets the dropout stream: give the model its own back */
    if (!rc) {
        mto_param_view view = {"prompt.embedding", p->emb, p->grad, (size_t)p->k, (size_t)p->d_model};
        mto_train_opts po = *o;
        po.params = &view;
        po.nparams = 1;
        po.max_src_len = 0; /* already applied to the text, before the slots */
        if (pval) po.valid = pval;
        rc = mto_train(m, pex, n, &po, res, err);
        mto_prompt_detach(m);
        m->seed = seed;
        m->step = step;
    }
    free(pex); free(ids); free(pval); free(vids);
    return rc;
}

int mto_prompt_predict(mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n, int batch_size, int max_src_len,
                       const mto_t5_gen_opts *gen, int32_t *out, int *out_len, mto_error *err)
{
    mto_example *pex = NULL;
    int32_t *ids = NULL;
    int rc = mto_prompt_examples(p, ex, n, max_src_len, &pex, &ids, err);
    if (!rc && !(rc = mto_prompt_attach(m, p, 0, err))) {
        rc = mto_predict(m, pex, n, batch_size, 0, gen, out, out_len, err);
        mto_prompt_detach(m);
    }
    free(pex); free(ids);
    return rc;
}

int mto_prompt_eval_loss(mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n, int batch_size,
                         int max_src_len, int max_tgt_len, double *loss, mto_error *err)
{
    mto_example *pex = NULL;
    int32_t *ids = NULL;
    int rc = mto_prompt_examples(p, ex, n, max_src_len, &pex, &ids, err);
    if (!rc && !(rc = mto_prompt_attach(m, p, 0, err))) {
        rc = mto_eval_loss(m, pex, n, batch_size, 0, max_tgt_len, loss, err);
        mto_prompt_detach(m);
    }
    free(pex); free(ids);
    return rc;
}
