/* lmto.h — the Lua binding's internal interface. luaopen_mto() builds the
 * module table and asks each area to add its functions to it; each area lives
 * in its own lua/l_*.c file. */
#ifndef MTO_LMTO_H
#define MTO_LMTO_H

#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#include "mto/error.h"

/* Entry point for `require "mto"` (and preloaded by the mto CLI). */
int luaopen_mto(lua_State *L);

/* Area registrations: each adds fields to the table on top of the stack. */
void mto_lua_open_core(lua_State *L);      /* l_core.c: version, plugins() */
void mto_lua_open_model(lua_State *L);     /* l_model.c: load, new, model methods */
void mto_lua_open_tokenizer(lua_State *L); /* l_tokenizer.c: tokenizer, train_tokenizer */
void mto_lua_open_data(lua_State *L);      /* l_data.c: objectives, templates */
void mto_lua_open_readers(lua_State *L);   /* l_readers.c: mto.read */
void mto_lua_open_metrics(lua_State *L);   /* l_metrics.c: rouge_l, bleu, ... */
void mto_lua_open_train(lua_State *L);     /* l_train.c: train, predict, sweep, table */
void mto_lua_open_score(lua_State *L);     /* l_score.c: token_logprobs, match */
void mto_lua_open_prompt(lua_State *L);    /* l_prompt.c: m:prompt, m:load_prompt, mto.prompt_tune */
void mto_lua_open_workers(lua_State *L);   /* l_workers.c: threads, ncpu, _fork/_wait/_exit */
void mto_lua_open_lock(lua_State *L);     /* l_lock.c: fcntl locks of results directories */
void mto_lua_open_key(lua_State *L);      /* l_key.c: hashes and file identities for resume keys */
void mto_lua_open_interrupt(lua_State *L); /* l_interrupt.c: the message of an interrupted sweep */

/* Raise a Lua error from an mto_error ("message"); never returns. */
int mto_lua_error(lua_State *L, const mto_error *err);

/* Read a Lua array of integers into a freshly malloc'ed int32 array. */
int32_t *mto_lua_check_ids(lua_State *L, int idx, size_t *len);
/* Push an int32 array as a Lua array. */
void mto_lua_push_ids(lua_State *L, const int32_t *ids, size_t n);

struct mto_train_opts;
struct mto_train_result;
struct mto_t5;
/* A running m:train / p:train: its Lua progress function and cancellation flag. */
typedef struct mto_lua_progress {
    lua_State *L;
    int fn;                 /* stack index of the progress function, 0 = none */
    volatile int cancel;
    int failed;             /* the function raised: its message is on top of the stack */
} mto_lua_progress;
/* Hook the `progress` function of the opts table (if any) into o (l_train.c). */
void mto_lua_progress_hook(lua_State *L, int opts, mto_lua_progress *pc, struct mto_train_opts *o);
/* Push a training result as the table m:train returns (l_train.c). */
void mto_lua_push_train_result(lua_State *L, const struct mto_train_result *r);
/* Training options (optimizer, lr, schedule, epochs, ...) from the table at index opts
 * into *o, which holds the defaults; errors name `who` (l_train.c). */
void mto_lua_train_opts(lua_State *L, int opts, struct mto_train_opts *o, const char *who,
                        const char *dflt_optim);
/* opts.precision ("fp32", "bf16"; absent: leave m as it is) set on m for one call;
 * returns the precision to give back with mto_lua_precision_restore (l_train.c). */
int mto_lua_precision(lua_State *L, int opts, struct mto_t5 *m, const char *who);
void mto_lua_precision_restore(struct mto_t5 *m, int prev);
/* A C closure body: require module upvalue 1, call its function upvalue 2 with the
 * arguments, return its results (l_train.c; mto.sweep, mto.match, ...). */
int mto_lua_call_module(lua_State *L);

#endif
