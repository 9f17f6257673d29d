/* optim_adamw.c — AdamW exactly as torch.optim.AdamW (1.13, single-tensor path):
 *   p *= 1 - lr*wd                    (decoupled decay, before the Adam step)
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * Scalars are formed in double (torch does them in Python floats) and each
 * tensor operation rounds to float, as torch's float32 kernels do. */
#include "optim_impl.h"

#include <math.h>

size_t mto_adamw_state_floats(const mto_optim_config *c, const mto_param_view *v)
{
    (void)c;
    return 2 * v->rows * v->cols; /* m, v */
}

/* Built with $(VEC_CFLAGS) (core/numerics.am) so that this loop vectorises. */
void mto_adamw_update(const mto_optim_config *c, const mto_param_view *pv, float *state,
                      long step, float lr)
{
    size_t n = pv->rows * pv->cols;
    float *restrict p = pv->param;
    const float *restrict g = pv->grad;
    float *restrict m = state, *restrict v = state + n;
    const double b1 = c->beta1, b2 = c->beta2;
    const float decay = (float)(1.0 - (double)lr * c->weight_decay);
    const float b1f = (float)b1, omb1 = (float)(1.0 - b1);
    const float b2f = (float)b2, omb2 = (float)(1.0 - b2);
    const double bc1 = 1.0 - pow(b1, (double)step);
    const double bc2_sqrt = sqrt(1.0 - pow(b2, (double)step));
    const float step_size = (float)((double)lr / bc1);
    const float bc2s = (float)bc2_sqrt;
    const float eps = c->eps;
    for (size_t i = 0; i < n; i++) {
        p[i] *= decay;
        m[i] = m[i] * b1f + g[i] * omb1;
        v[i] = v[i] * b2f + omb2 * (g[i] * g[i]);
        float denom = sqrtf(v[i]) / bc2s + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}
