/* mto/optim.h — optimizers (AdamW, Adafactor), gradient clipping, lr schedules.
 *
 * The engine hands the optimizer a table of views onto its parameter and
 * gradient arenas; the optimizer keeps its own state in one float arena that
 * can be saved with a checkpoint. AdamW reproduces torch.optim.AdamW (1.13,
 * single-tensor path); Adafactor reproduces Hugging Face transformers'
 * `Adafactor` (optimization.py), both to float rounding. */
#ifndef MTO_OPTIM_H
#define MTO_OPTIM_H

#include <stddef.h>

#include "mto/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One trainable tensor. A vector has rows=1, cols=n; a matrix rows x cols
 * (row-major, HF [out,in]). Adafactor factors the second moment of views with
 * rows >= 2; a 1 x n view is treated as a vector, which is numerically the same
 * as HF's factored path for a [1,n] tensor (its row factor is exactly 1). The
 * pointers must stay valid for the optimizer's lifetime; name is not copied. */
typedef struct mto_param_view {
    const char *name;
    float *param;
    float *grad;
    size_t rows, cols;
} mto_param_view;

enum { MTO_OPT_ADAMW = 1, MTO_OPT_ADAFACTOR = 2 };

typedef struct mto_optim_config {
    int kind;                 /* MTO_OPT_ADAMW or MTO_OPT_ADAFACTOR */
    float lr;                 /* default lr (informational: mto_optim_step takes the lr) */
    float beta1, beta2, eps;  /* AdamW */
    float weight_decay;       /* AdamW: decoupled; Adafactor: p -= wd*lr_t*p */
    /* Adafactor: */
    float eps1, eps2;         /* added to grad^2; floor of the parameter RMS */
    float clip_threshold;     /* update divided by max(1, RMS(update)/clip) */
    float decay_rate;         /* beta2_t = 1 - step^decay_rate */
    float beta1_af;           /* first moment; 0 = none (HF beta1=None; beta1=0.0 gives the same numbers) */
    int scale_parameter;      /* lr_t *= max(eps2, RMS(param)) */
    int relative_step;        /* lr_t = min(1e-2 or 1e-6*step, 1/sqrt(step)); the lr argument is ignored */
    int warmup_init;          /* with relative_step: min step 1e-6*step instead of 1e-2 */
} mto_optim_config;

/* Fill c with defaults for kind. AdamW: lr 1e-3, betas .9/.999, eps 1e-8, wd 0.01 (torch).
 * Adafactor: the T5 fine-tuning setting: lr 1e-3, eps (1e-30, 1e-3), clip 1.0, decay -0.8,
 * no beta1, wd 0, no relative step, no parameter scaling, no warmup_init. */
void mto_optim_config_default(mto_optim_config *c, int kind);

typedef struct mto_optim mto_optim;

/* New optimizer over params[0..n) (views are copied); all state in one zeroed arena. */
mto_optim *mto_optim_new(const mto_optim_config *c, const mto_param_view *params, size_t n,
                         mto_error *err);
/* One update of every parameter from its grad with learning rate lr; increments the step. */
int mto_optim_step(mto_optim *o, float lr, mto_error *err);
/* Number of steps taken so far. */
long mto_optim_steps(const mto_optim *o);
/* Set the step counter (when restoring a checkpoint together with mto_optim_state). */
void mto_optim_set_steps(mto_optim *o, long steps);
/* Size of the state arena in floats, and the arena itself (read/write, for checkpoints).
 * Layout, per parameter in table order: AdamW m[n], v[n]; Adafactor [exp_avg[n] if beta1]
 * then row[rows], col[cols] (factored) or exp_avg_sq[n]. */
size_t mto_optim_state_floats(const mto_optim *o);
float *mto_optim_state(mto_optim *o);
/* Free the optimizer and its state (not the parameters). NULL is fine. */
void mto_optim_free(mto_optim *o);

/* L2 norm of all gradients together (accumulated in double). */
float mto_grad_global_norm(const mto_param_view *p, size_t n);
/* torch.nn.utils.clip_grad_norm_: if norm > max_norm, grads *= max_norm/(norm+1e-6).
 * Returns the norm before clipping; a non-finite norm leaves the grads untouched. */
float mto_grad_clip(const mto_param_view *p, size_t n, float max_norm);

/* Learning-rate schedules (HF get_constant_schedule_with_warmup / get_linear_schedule_with_warmup). */
enum { MTO_LR_CONSTANT = 0, MTO_LR_LINEAR = 1 };
typedef struct mto_lr_schedule {
    int kind;            /* MTO_LR_CONSTANT or MTO_LR_LINEAR */
    float base_lr;
    long warmup_steps;   /* 0 = no warmup */
    long total_steps;    /* LINEAR: lr reaches 0 here */
} mto_lr_schedule;

/* lr for the update that follows `step` completed updates (0-based, like HF's LambdaLR):
 * warmup base*step/warmup while step < warmup; then CONSTANT base, LINEAR
 * base*max(0, (total-step)/max(1, total-warmup)). */
float mto_lr_at(const mto_lr_schedule *s, long step);

#ifdef __cplusplus
}
#endif
#endif
