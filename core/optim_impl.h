/* optim_impl.h — what optim.c shares with the per-algorithm files. Private. */
#ifndef MTO_OPTIM_IMPL_H
#define MTO_OPTIM_IMPL_H

#include "mto/optim.h"

struct mto_optim {
    mto_optim_config cfg;
    mto_param_view *params; /* copied table, n entries */
    size_t n;
    size_t *off;            /* per parameter: offset of its state in `state` */
    float *state;           /* the one state arena */
    size_t nstate;
    long step;              /* updates taken */
    double *scratch;        /* Adafactor: max(cols) doubles + 2 max(cols) floats */
};

/* Floats of state one parameter needs. */
size_t mto_adamw_state_floats(const mto_optim_config *c, const mto_param_view *v);
size_t mto_adafactor_state_floats(const mto_optim_config *c, const mto_param_view *v);

/* Update one parameter; `step` is the 1-based number of this update. */
void mto_adamw_update(const mto_optim_config *c, const mto_param_view *v, float *state,
                      long step, float lr);
/* scratch: at least v->cols doubles plus 2 * v->cols floats. */
void mto_adafactor_update(const mto_optim_config *c, const mto_param_view *v, float *state,
                          long step, float lr, double *scratch);

#endif
