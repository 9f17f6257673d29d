/* optim_schedule.c — learning-rate schedules, the same factors as HF's
 * get_constant_schedule_with_warmup and get_linear_schedule_with_warmup, where
 * `step` counts the updates already taken (LambdaLR's last_epoch): the first
 * update of a warmup schedule therefore runs with lr 0, as it does in HF. */
#include "mto/optim.h"

float mto_lr_at(const mto_lr_schedule *s, long step)
{
    if (!s) return 0.0f;
    if (step < 0) step = 0;
    double f;
    if (step < s->warmup_steps)
        f = (double)step / (double)(s->warmup_steps > 1 ? s->warmup_steps : 1);
    else if (s->kind == MTO_LR_LINEAR) {
        long span = s->total_steps - s->warmup_steps;
        f = (double)(s->total_steps - step) / (double)(span > 1 ? span : 1);
        if (f < 0.0) f = 0.0;
    } else
        f = 1.0;
    return (float)(s->base_lr * f);
}
