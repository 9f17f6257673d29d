/* l_mpi.h — what the rest of the binding needs from l_mpi.c (MPI, when configured
 * with it; stand-ins that describe a single process otherwise). */
#ifndef MTO_L_MPI_H
#define MTO_L_MPI_H

#include <stddef.h>

#include "lmto.h"
#include "mto/train.h"

/* m:train{data_parallel = true}: when this process is one of several MPI ranks,
 * set o->reduce and friends, check that every rank trains on the same examples
 * with the same options, and give every rank rank 0's parameters. A single
 * process (not launched by mpirun) trains alone. also[0..also_n): more trained
 * parameters (a soft prompt) every rank takes from rank 0. Raises a Lua error on failure. */
void mto_lua_mpi_data_parallel(lua_State *L, mto_t5 *m, float *also, size_t also_n, const mto_example *ex,
                               size_t n, mto_train_opts *o);

/* The CLI calls this when a script failed: with MPI running over several ranks it
 * ends the whole job (MPI_Abort), since the other ranks would wait for this one. */
void mto_lua_mpi_abort_on_error(int code);

/* Adds mto.mpi and mto._listdir to the module table on top of the stack. */
void mto_lua_open_mpi(lua_State *L);

#endif
