/* optim.c — the optimizer object: a copied parameter table, one state arena,
 * a step counter, and dispatch to the algorithm files. */
#include "mto/alloc.h"
#include "mto/matmul.h"
#include "optim_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void mto_optim_config_default(mto_optim_config *c, int kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = 1e-3f;
    /* torch.optim.AdamW defaults */
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = kind == MTO_OPT_ADAMW ? 0.01f : 0.0f;
    /* HF Adafactor in the T5 fine-tuning setting (fixed lr, clip 1, decay -0.8) */
    c->eps1 = 1e-30f;
    c->eps2 = 1e-3f;
    c->clip_threshold = 1.0f;
    c->decay_rate = -0.8f;
    c->beta1_af = 0.0f;
    c->scale_parameter = 0;
    c->relative_step = 0;
    c->warmup_init = 0;
}

static int in01(float x) { return x >= 0.0f && x < 1.0f; }

static int check_config(const mto_optim_config *c, mto_error *err)
{
    if (c->kind == MTO_OPT_ADAMW) {
        if (!in01(c->beta1) || !in01(c->beta2))
            return mto_error_set(err, MTO_EINVAL, "adamw: betas (%g, %g) must be in [0, 1)",
                                 c->beta1, c->beta2);
        if (!(c->eps >= 0.0f) || !(c->weight_decay >= 0.0f))
            return mto_error_set(err, MTO_EINVAL, "adamw: eps %g and weight_decay %g must be >= 0",
                                 c->eps, c->weight_decay);
        return 0;
    }
    if (c->kind == MTO_OPT_ADAFACTOR) {
        if (!in01(c->beta1_af))
            return mto_error_set(err, MTO_EINVAL, "adafactor: beta1 %g must be in [0, 1)", c->beta1_af);
        if (!(c->eps1 >= 0.0f) || !(c->eps2 >= 0.0f) || !(c->clip_threshold > 0.0f) ||
            !(c->weight_decay >= 0.0f))
            return mto_error_set(err, MTO_EINVAL,
                                 "adafactor: eps (%g, %g), weight_decay %g must be >= 0 and "
                                 "clip_threshold %g > 0",
                                 c->eps1, c->eps2, c->weight_decay, c->clip_threshold);
        if (!(c->decay_rate < 0.0f))
            return mto_error_set(err, MTO_EINVAL, "adafactor: decay_rate %g must be < 0", c->decay_rate);
        if (c->warmup_init && !c->relative_step) /* the same refusal as HF */
            return mto_error_set(err, MTO_EINVAL, "adafactor: warmup_init requires relative_step");
        return 0;
    }
    return mto_error_set(err, MTO_EINVAL, "optimizer kind %d is neither adamw (1) nor adafactor (2)",
                         c->kind);
}

mto_optim *mto_optim_new(const mto_optim_config *c, const mto_param_view *params, size_t n,
                         mto_error *err)
{
    if (!c || (!params && n)) {
        mto_error_set(err, MTO_EINVAL, "mto_optim_new: NULL config or parameter table");
        return NULL;
    }
    if (check_config(c, err)) return NULL;
    size_t total = 0, maxcols = 1;
    for (size_t i = 0; i < n; i++) {
        const mto_param_view *v = &params[i];
        const char *name = v->name ? v->name : "(unnamed)";
        if (!v->param || !v->grad) {
            mto_error_set(err, MTO_EINVAL, "optimizer: parameter %zu (%s) has no %s buffer", i, name,
                          v->param ? "grad" : "param");
            return NULL;
        }
        if (v->rows == 0 || v->cols == 0 || v->rows > SIZE_MAX / 4 / v->cols) {
            mto_error_set(err, MTO_EINVAL, "optimizer: parameter %zu (%s) has bad shape %zu x %zu", i,
                          name, v->rows, v->cols);
            return NULL;
        }
        size_t k = c->kind == MTO_OPT_ADAMW ? mto_adamw_state_floats(c, v)
                                            : mto_adafactor_state_floats(c, v);
        if (total > SIZE_MAX / sizeof(float) - k) {
            mto_error_set(err, MTO_ENOMEM, "optimizer: state size overflows");
            return NULL;
        }
        total += k;
        if (v->cols > maxcols) maxcols = v->cols;
    }
    mto_optim *o = mto_calloc(1, sizeof *o);
    if (o) {
        o->params = mto_malloc((n ? n : 1) * sizeof *o->params);
        o->off = mto_malloc((n ? n : 1) * sizeof *o->off);
        o->state = mto_calloc(total ? total : 1, sizeof(float)); /* all moments start at zero */
        o->scratch = mto_malloc(maxcols * (sizeof(double) + 2 * sizeof(float)));
    }
    if (!o || !o->params || !o->off || !o->state || !o->scratch) {
        mto_optim_free(o);
        mto_error_set(err, MTO_ENOMEM, "optimizer: out of memory for %zu floats of state", total);
        return NULL;
    }
    o->cfg = *c;
    o->n = n;
    o->nstate = total;
    if (n) memcpy(o->params, params, n * sizeof *params);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        o->off[i] = at;
        at += c->kind == MTO_OPT_ADAMW ? mto_adamw_state_floats(c, &params[i])
                                       : mto_adafactor_state_floats(c, &params[i]);
    }
    return o;
}

int mto_optim_step(mto_optim *o, float lr, mto_error *err)
{
    if (!o) return mto_error_set(err, MTO_EINVAL, "mto_optim_step: NULL optimizer");
    int uses_lr = !(o->cfg.kind == MTO_OPT_ADAFACTOR && o->cfg.relative_step);
    if (uses_lr && !(lr >= 0.0f && isfinite(lr)))
        return mto_error_set(err, MTO_EINVAL, "optimizer step %ld: learning rate %g is not a finite value >= 0",
                             o->step + 1, lr);
    long step = ++o->step;
    for (size_t i = 0; i < o->n; i++) {
        if (o->cfg.kind == MTO_OPT_ADAMW)
            mto_adamw_update(&o->cfg, &o->params[i], o->state + o->off[i], step, lr);
        else
            mto_adafactor_update(&o->cfg, &o->params[i], o->state + o->off[i], step, lr,
                                 o->scratch);
    }
    mto_weights_changed(); /* bf16 models remake their bf16 weights once, at their next use */
    return 0;
}

long mto_optim_steps(const mto_optim *o) { return o ? o->step : 0; }
void mto_optim_set_steps(mto_optim *o, long steps) { if (o) o->step = steps; }
size_t mto_optim_state_floats(const mto_optim *o) { return o ? o->nstate : 0; }
float *mto_optim_state(mto_optim *o) { return o ? o->state : NULL; }

void mto_optim_free(mto_optim *o)
{
    if (!o) return;
    free(o->params);
    free(o->off);
    free(o->state);
    free(o->scratch);
    free(o);
}

float mto_grad_global_norm(const mto_param_view *p, size_t n)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t m = p[i].rows * p[i].cols;
        const float *g = p[i].grad;
        for (size_t j = 0; j < m; j++) ss += (double)g[j] * g[j];
    }
    return (float)sqrt(ss);
}

float mto_grad_clip(const mto_param_view *p, size_t n, float max_norm)
{
    float norm = mto_grad_global_norm(p, n);
    if (!isfinite(norm)) return norm; /* caller decides; scaling by NaN would poison every grad */
    /* torch: clip_coef = max_norm / (total_norm + 1e-6), applied when < 1 */
    float coef = (float)((double)max_norm / ((double)norm + 1e-6));
    if (coef < 1.0f) {
        for (size_t i = 0; i < n; i++) {
            size_t m = p[i].rows * p[i].cols;
            float *g = p[i].grad;
            for (size_t j = 0; j < m; j++) g[j] *= coef;
        }
    }
    return norm;
}
