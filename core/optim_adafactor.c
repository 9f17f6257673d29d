/* optim_adafactor.c — Adafactor exactly as Hugging Face transformers'
 * `Adafactor.step` (optimization.py), per parameter:
 *   t += 1; lr_t = lr, or min(warmup_init ? 1e-6*t : 1e-2, 1/sqrt(t)) with
 *   relative_step; lr_t *= max(eps2, RMS(p)) with scale_parameter;
 *   beta2_t = 1 - t^decay_rate;  u = g^2 + eps1
 *   matrix (rows >= 2): R = b*R + (1-b)*mean_cols(u); C = b*C + (1-b)*mean_rows(u)
 *                       u = g / sqrt(R_i/mean(R) * C_j)   (_approx_sq_grad)
 *   vector:             V = b*V + (1-b)*u;  u = g / sqrt(V)
 *   u /= max(1, RMS(u)/clip_threshold);  u *= lr_t
 *   beta1: M = beta1*M + (1-beta1)*u; u = M
 *   p -= wd*lr_t*p (if wd);  p -= u
 * The update is never stored whole: it is recomputed a row at a time in a
 * second pass, so the optimizer needs scratch of a few rows, not a matrix.
 * Sums are accumulated in double and rounded to float like torch's results. */
#include "optim_impl.h"

#include <math.h>

static int factored(const mto_param_view *v) { return v->rows >= 2; }

size_t mto_adafactor_state_floats(const mto_optim_config *c, const mto_param_view *v)
{
    size_t n = v->rows * v->cols;
    size_t k = c->beta1_af > 0.0f ? n : 0;
    return k + (factored(v) ? v->rows + v->cols : n);
}

static float mean(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return (float)(s / (double)n);
}

static float rms(const float *x, size_t n)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    return (float)(sqrt(ss) / sqrt((double)n));
}

/* HF _get_lr: the step size this update uses. */
static float step_lr(const mto_optim_config *c, const mto_param_view *v, long step, float lr)
{
    double rel = lr;
    if (c->relative_step) {
        double min_step = c->warmup_init ? 1e-6 * (double)step : 1e-2;
        double inv = 1.0 / sqrt((double)step);
        rel = min_step < inv ? min_step : inv;
    }
    double scale = 1.0;
    if (c->scale_parameter) {
        float r = rms(v->param, v->rows * v->cols);
        scale = (double)c->eps2 > r ? (double)c->eps2 : (double)r;
    }
    return (float)(scale * rel);
}

void mto_adafactor_update(const mto_optim_config *c, const mto_param_view *pv, float *state,
                          long step, float lr, double *scratch)
{
    /* scratch: cols doubles (column sums), then cols floats each of column
     * scales and one row of the update (malloc'ed memory takes either type) */
    double *colsum = scratch;
    float *cscale = (float *)(scratch + pv->cols), *ubuf = cscale + pv->cols;
    const size_t rows = pv->rows, cols = pv->cols, n = rows * cols;
    float *p = pv->param;
    const float *g = pv->grad;
    float *m = c->beta1_af > 0.0f ? state : NULL;
    float *sq = state + (m ? n : 0);
    const float lr_t = step_lr(c, pv, step, lr);
    const double beta2t = 1.0 - pow((double)step, (double)c->decay_rate);
    const float b = (float)beta2t, omb = (float)(1.0 - beta2t);
    const float eps1 = c->eps1;
    double ss = 0.0; /* sum of squares of the unclipped update */

    if (factored(pv)) {
        float *row = sq, *col = sq + rows;
        /* running averages of the row and column means of g^2 + eps1; one
         * row-major pass, column sums in the caller's double scratch */
        for (size_t j = 0; j < cols; j++) colsum[j] = 0.0;
        for (size_t i = 0; i < rows; i++) {
            double s = 0.0;
            for (size_t j = 0; j < cols; j++) {
                float u = g[i * cols + j] * g[i * cols + j] + eps1;
                s += u;
                colsum[j] += u;
            }
            row[i] = row[i] * b + (float)(s / (double)cols) * omb;
        }
        for (size_t j = 0; j < cols; j++)
            col[j] = col[j] * b + (float)(colsum[j] / (double)rows) * omb;
        const float row_mean = mean(row, rows);
        /* _approx_sq_grad: r_i = rsqrt(row_i / mean(row)), c_j = rsqrt(col_j) */
        for (size_t j = 0; j < cols; j++) cscale[j] = 1.0f / sqrtf(col[j]);
        for (size_t i = 0; i < rows; i++) {
            float r = 1.0f / sqrtf(row[i] / row_mean);
            const float *gi = g + i * cols;
            for (size_t j = 0; j < cols; j++) {
                float u = r * cscale[j] * gi[j];
                ss += (double)u * u;
            }
        }
    } else {
        for (size_t k = 0; k < n; k++) {
            float u = g[k] * g[k] + eps1;
            sq[k] = sq[k] * b + u * omb;
            u = (1.0f / sqrtf(sq[k])) * g[k];
            ss += (double)u * u;
        }
    }

    /* update clipping: divide by max(1, RMS(u)/clip_threshold), then scale by lr_t */
    float rms_u = (float)(sqrt(ss) / sqrt((double)n));
    float div = rms_u / c->clip_threshold;
    if (div < 1.0f) div = 1.0f;
    const float decay = -c->weight_decay * lr_t;
    const float b1 = c->beta1_af, omb1 = (float)(1.0 - (double)c->beta1_af);

    /* second pass, a row at a time: recompute u into ubuf, then clip, scale,
     * momentum, decay and apply */
    const int fac = factored(pv);
    const float rmean = fac ? mean(sq, rows) : 0.0f;
    for (size_t i = 0; i < rows; i++) {
        const float *gi = g + i * cols;
        if (fac) {
            float r = 1.0f / sqrtf(sq[i] / rmean);
            for (size_t j = 0; j < cols; j++) ubuf[j] = r * cscale[j] * gi[j];
        } else {
            const float *si = sq + i * cols;
            for (size_t j = 0; j < cols; j++) ubuf[j] = (1.0f / sqrtf(si[j])) * gi[j];
        }
        for (size_t j = 0; j < cols; j++) ubuf[j] = ubuf[j] / div * lr_t;
        if (m) {
            float *mi = m + i * cols;
            for (size_t j = 0; j < cols; j++) ubuf[j] = mi[j] = mi[j] * b1 + ubuf[j] * omb1;
        }
        float *pi = p + i * cols;
        if (c->weight_decay != 0.0f)
            for (size_t j = 0; j < cols; j++) pi[j] += pi[j] * decay;
        for (size_t j = 0; j < cols; j++) pi[j] -= ubuf[j];
    }
}
