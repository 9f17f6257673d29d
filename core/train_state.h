/* train_state.h — private: the resumable state of mto_train (core/train_state.c). */
#ifndef MTO_TRAIN_STATE_H
#define MTO_TRAIN_STATE_H

#include <stdint.h>

#include "mto/train.h"

typedef struct mto_train_state {
    long step;            /* optimizer steps done */
    long epoch;           /* 0-based epoch in progress */
    long next_batch;      /* first micro-batch of that epoch's plan still to run */
    uint64_t engine_step; /* the model's dropout counter (m->step) */
    long optim_step;
    long epochs, examples, best_step, epoch_steps;
    int bad;              /* evaluations without improvement */
    double first_loss, epoch_loss, best_valid_loss, wall;
} mto_train_state;

/* Save into dir (created if missing) as dir/train-state.safetensors, atomically. */
int mto_train_state_save(const char *dir, const mto_train_opts *o, size_t n, long total, const mto_param_view *v,
                         size_t nv, mto_optim *opt, const float *best, size_t nbest, const mto_train_state *s,
                         mto_error *err);
/* Restore from dir into the views, optimizer, best copy and *s; *found = 0 (and 0
 * returned) when dir holds no state yet; an error for a damaged file or another run's. */
int mto_train_state_load(const char *dir, const mto_train_opts *o, size_t n, long total, const mto_param_view *v,
                         size_t nv, mto_optim *opt, float *best, size_t nbest, mto_train_state *s, int *found,
                         mto_error *err);
/* Remove dir/train-state.safetensors (absent is fine); 0 or -1. */
int mto_train_state_remove(const char *dir);

#endif
