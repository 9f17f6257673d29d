/* mto/train.h — the training loop: bucketed batches, optimizer + lr schedule,
 * gradient accumulation and clipping, validation-based early stopping with the
 * best parameters kept, progress and cancellation; plus batched evaluation
 * loss and batched decoding.
 *
 * Examples are token-id lists. A target ends with eos (MTO_T5_EOS); a source
 * is taken as given (the Lua layer appends eos, as HF tokenizers do). Batches
 * are padded with 0 (sources) and -100 (labels). Everything that is random
 * (batch order, dropout) derives from opts.seed, so two runs with the same
 * inputs and seed give bit-identical loss curves. */
#ifndef MTO_TRAIN_H
#define MTO_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"
#include "mto/optim.h"
#include "mto/t5.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One example: the arrays belong to the caller and must outlive the call. */
typedef struct mto_example {
    const int32_t *src, *tgt;
    int src_len, tgt_len;
} mto_example;

/* Progress: called after every optimizer step; total is the planned number of
 * steps (early stopping may end sooner); elapsed in seconds. */
typedef void (*mto_train_progress_fn)(void *ud, long step, long total, float loss, double elapsed);

/* Data parallelism: sum, elementwise over every cooperating process, the views'
 * gradients and scalars[0..ns) in place (e.g. MPI_Allreduce with MPI_SUM); 0 or an
 * MTO_E* code. Kept as a callback so libmto itself never links MPI. */
typedef int (*mto_train_reduce_fn)(void *ud, const mto_param_view *v, size_t nv, double *scalars, size_t ns,
                                   mto_error *err);

typedef struct mto_train_opts {
    mto_optim_config optim;   /* kind + hyper-parameters (mto_optim_config_default) */
    float lr;                 /* base learning rate of the schedule */
    int schedule;             /* MTO_LR_CONSTANT or MTO_LR_LINEAR */
    long warmup_steps;
    int epochs;               /* used when max_steps == 0 */
    long max_steps;           /* > 0: stop after this many optimizer steps (epochs repeat as needed) */
    int batch_size;           /* examples per micro-batch */
    int grad_accum;           /* micro-batches per optimizer step (>= 1) */
    int max_src_len, max_tgt_len; /* truncation (0 = none); a final eos is kept */
    float clip;               /* global grad-norm clip (0 = none) */
    uint64_t seed;            /* batch order and dropout */
    int dropout;              /* 1: train-mode forward (dropout as configured) */
    /* validation / early stopping (valid == NULL: none) */
    const mto_example *valid;
    size_t nvalid;
    int patience;             /* evaluations without improvement before stopping (0 = never stop) */
    long eval_every;          /* evaluate every N steps (0 = at the end of every epoch) */
    float min_delta;          /* an improvement must beat the best by more than this */
    /* Trainable subset (prompt tuning and friends): when params != NULL only
     * these views are updated, clipped and snapshotted; the forward/backward is
     * unchanged, so a soft-prompt implementation points the views at its
     * embedding table and gradient. NULL = every model parameter. */
    const mto_param_view *params;
    size_t nparams;
    /* progress and cancellation */
    mto_train_progress_fn progress;
    void *progress_ud;
    const volatile int *cancel; /* checked before every step; nonzero -> stop (result.cancelled) */
    /* Data parallelism (reduce == NULL: none). Every process calls mto_train with the
     * same examples, options and parameters; each micro-batch of the common plan is
     * cut into dp_size contiguous slices and this process (dp_rank) runs only its
     * slice, with its loss scaled by the whole batch's token count, so the reduced
     * gradient and loss equal single-process training on the whole batch (up to
     * float rounding; dropout masks differ, so compare with dropout off). */
    mto_train_reduce_fn reduce;
    void *reduce_ud;
    int dp_rank, dp_size;
    /* Resumable training (checkpoint == NULL: none). The directory (created if missing)
     * gets train-state.safetensors, written atomically (temp + fsync + rename) after
     * every checkpoint_every-th optimizer step and/or when checkpoint_secs have passed
     * since the last save (both 0: every 600 s): trainable parameters, optimizer state,
     * the data-order position, the dropout counter and the early-stopping state. A call
     * that finds a state there continues from it, and ends with parameters bit-identical
     * to an uninterrupted run; a state written by a different run (other examples count,
     * batch size, seed, planned steps, parameters or optimizer) is refused. The state is
     * left in place at the end (a rerun resumes from it again): remove the directory to
     * start over. Data parallel: rank 0 writes, every rank reads (a shared file system); a
 * different number of processes may resume it (equal up to float rounding). */
    const char *checkpoint;
    long checkpoint_every;
    double checkpoint_secs;
} mto_train_opts;

typedef struct mto_train_result {
    long steps;               /* optimizer steps taken */
    int epochs;               /* epochs started */
    long examples;            /* examples seen (with repetition) */
    float first_loss;         /* loss of the first step */
    float final_loss;         /* mean step loss over the last (possibly partial) epoch */
    double best_valid_loss;   /* -1 when there was no validation set */
    long best_step;           /* step at which the best parameters were taken (restored at the end) */
    int stopped_early, cancelled;
    double wall;              /* seconds (with a resumed checkpoint: including the earlier runs') */
    long resumed_from;        /* step a checkpoint resumed from (0: started afresh) */
    long checkpoints;         /* training states saved by this call */
} mto_train_result;

/* Defaults: AdamW lr 1e-3 constant, 1 epoch, batch 8, no truncation, clip 1.0, seed 0, patience 3. */
void mto_train_opts_default(mto_train_opts *o);

/* Train m on ex[0..n). On error (MTO_ENUMERIC for a NaN/Inf loss or gradient,
 * naming the step) the model is left as it was at the failing step. */
int mto_train(mto_t5 *m, const mto_example *ex, size_t n, const mto_train_opts *o,
              mto_train_result *res, mto_error *err);

/* For a signal handler (async-signal-safe): ask the running mto_train to stop after the
 * step in progress, saving its training state first if opts.checkpoint is set; the result
 * is then marked cancelled. mto_train_active: nonzero while mto_train runs. The library
 * installs no handler: the mto program does (SIGTERM, e.g. Slurm's time limit). */
void mto_train_request_stop(void);
int mto_train_active(void);

/* Token-weighted mean cross-entropy of ex[0..n) in eval mode (batch_size <= 0: 16). */
int mto_eval_loss(mto_t5 *m, const mto_example *ex, size_t n, int batch_size, int max_src_len,
                  int max_tgt_len, double *loss, mto_error *err);

/* Decode each source (tgt ignored): out is n x gen->max_len ids (0-padded, eos kept
 * if produced), out_len[n] their lengths. Sources are batched by length. */
int mto_predict(mto_t5 *m, const mto_example *ex, size_t n, int batch_size, int max_src_len,
                const mto_t5_gen_opts *gen, int32_t *out, int *out_len, mto_error *err);

/* ---- building blocks (exposed for tests and the Lua layer) ----------------- */

/* The batch plan for one epoch: order[] is a permutation of 0..n-1 and batch b
 * covers order[start[b] .. start[b+1]). Shuffled with (seed, epoch), sorted by
 * length within chunks of 50 batches, batches in shuffled order. */
typedef struct mto_batch_plan {
    size_t n, nbatches;
    size_t *order, *start;
} mto_batch_plan;

int mto_batch_plan_make(mto_batch_plan *p, const mto_example *ex, size_t n, int batch_size,
                        uint64_t seed, long epoch, mto_error *err);
void mto_batch_plan_free(mto_batch_plan *p);

/* Padded buffers for one batch (reused across calls). */
typedef struct mto_batch_buf {
    int32_t *src, *labels;
    size_t cap_src, cap_lab;
    mto_t5_batch b;
} mto_batch_buf;

/* Fill buf with examples idx[0..k), truncated to max_src_len/max_tgt_len (0 = none). */
int mto_batch_fill(mto_batch_buf *buf, const mto_example *ex, const size_t *idx, size_t k,
                   int max_src_len, int max_tgt_len, mto_error *err);
void mto_batch_buf_free(mto_batch_buf *buf);

/* Views over every parameter of m (HF shapes; vectors 1 x n); malloc'ed, needs grads allocated. */
mto_param_view *mto_train_views(mto_t5 *m, size_t *n, mto_error *err);

/* A fresh model with the same config and parameters as m (no grads, no optimizer state). */
mto_t5 *mto_train_clone_model(const mto_t5 *m, mto_error *err);

#ifdef __cplusplus
}
#endif
#endif
