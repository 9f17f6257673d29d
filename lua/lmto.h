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
void mto_lua_open_modules(lua_State *L);   /* l_modules.c: package.preload of the embedded lua/mto modules */
void mto_lua_open_fs(lua_State *L);        /* l_fs.c: _append_line, _write_file, _mkdir, _listdir, _clock */
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

/* A model is a full userdata holding the model pointer (NULL after m:free()), with its
 * tokenizer as user value 1; its metatable (l_model.c) has a "methods" table that
 * the other areas add to. */
#define MTO_LUA_MODEL_MT "mto.model"
struct mto_t5;
typedef struct mto_lua_model { struct mto_t5 *m; } mto_lua_model;
/* The live model at idx; raises "model has been freed" after m:free(). */
struct mto_t5 *mto_lua_check_model(lua_State *L, int idx);
/* Add functions to the model's method table (areas opened after l_model.c). */
void mto_lua_add_model_methods(lua_State *L, const luaL_Reg *methods);

/* Raise a Lua error from an mto_error ("message"); never returns. */
int mto_lua_error(lua_State *L, const mto_error *err);

/* A Lua array of integers as int32 ids, in a userdata pushed on the stack (it owns
 * them: a Lua error cannot leak them); errors name the element. */
int32_t *mto_lua_check_ids(lua_State *L, int idx, size_t *len);
/* Push an int32 array as a Lua array. */
void mto_lua_push_ids(lua_State *L, const int32_t *ids, size_t n);
/* Push n decoded rows of out (row i: out[i * max_len ..], len[i] ids) as an array of id
 * arrays without their final eos; single: row 0 alone. */
void mto_lua_push_decoded(lua_State *L, const int32_t *out, const int *len, size_t n, int max_len, int single);
struct mto_t5_gen_opts;
/* Decoding options max_len (64), beams (1), length_penalty (1.0) of the table at opts, range-checked
 * ("WHO: max_len N / beams M out of range"). */
void mto_lua_gen_opts(lua_State *L, int opts, const char *who, struct mto_t5_gen_opts *g);

/* ---- options tables (l_opts.c): absent key or absent table -> dflt; a value of
 * the wrong type or out of range raises "option K: ..." ---------------------- */
/* Whether opts[k] is set. */
int mto_lua_has_opt(lua_State *L, int opts, const char *k);
/* Any integer. */
lua_Integer mto_lua_opt_integer(lua_State *L, int opts, const char *k, lua_Integer dflt);
/* An integer in 0..INT_MAX (it becomes a C int). */
int mto_lua_opt_int(lua_State *L, int opts, const char *k, int dflt);
/* A finite number within float range (it becomes a C float). */
double mto_lua_opt_number(lua_State *L, int opts, const char *k, double dflt);
/* A string (kept alive by the options table). */
const char *mto_lua_opt_string(lua_State *L, int opts, const char *k, const char *dflt);
/* true or false, nothing else (0 is true in Lua). */
int mto_lua_opt_bool(lua_State *L, int opts, const char *k, int dflt);
/* Index of the value in the NULL-terminated names (luaL_checkoption for a table
 * field): "WHO: unknown K 'v' (a, b)" otherwise. */
int mto_lua_opt_choice(lua_State *L, int opts, const char *who, const char *k, const char *dflt,
                       const char *const *names);
/* Index of k in the NULL-terminated names, or -1: luaL_checkoption for __index,
 * where an unknown key is nil rather than an error. */
int mto_lua_field(const char *k, const char *const *names);
/* "WHO: options must be a table" unless opts is a table, nil or absent. */
void mto_lua_check_opts_table(lua_State *L, int opts, const char *who);
/* That, and "WHO: unknown option 'k'" for a key not in the NULL-terminated keys. */
void mto_lua_check_keys(lua_State *L, int opts, const char *who, const char *const *keys);
/* The text of a string, number (integers exactly, others %.17g) or boolean ("1"/"0")
 * at idx, in buf when it must be formatted; NULL for other types. */
const char *mto_lua_scalar(lua_State *L, int idx, char *buf, size_t cap);
/* Fresh mto_options owned by a userdata pushed on the stack (freed by its __gc, so a
 * Lua error while filling them cannot leak them). */
struct mto_options *mto_lua_new_options(lua_State *L);
/* The string-keyed scalar fields of the table at idx as an mto_record, owned like
 * mto_lua_new_options; other fields (lists, ...) are skipped. */
struct mto_record *mto_lua_check_record(lua_State *L, int idx);
/* The options of every training run, m:train and p:train alike. */
extern const char *const mto_lua_train_keys[];

struct mto_train_opts;
struct mto_t5;
struct mto_prompt;
struct mto_example;
/* Training options (optimizer, lr, schedule, epochs, ...) from the table at index opts
 * into *o, which holds the caller's defaults (mto_train_opts_default,
 * mto_prompt_train_opts_default); errors name `who` (l_train.c). */
void mto_lua_train_opts(lua_State *L, int opts, struct mto_train_opts *o, const char *who);
/* Train m (p == NULL) or soft prompt p on m, with *o from mto_lua_train_opts and the
 * progress, data_parallel and precision options of the table at opts; pushes the
 * result table and returns 1, or raises (l_train.c). */
int mto_lua_train_run(lua_State *L, int opts, struct mto_t5 *m, struct mto_prompt *p,
                      const struct mto_example *ex, size_t n, struct mto_train_opts *o, const char *who);
/* opts.precision ("fp32", "bf16"; absent: leave m as it is) set on m for one call;
 * returns the precision to give back with mto_lua_precision_restore (l_train.c). */
int mto_lua_precision(lua_State *L, int opts, struct mto_t5 *m, const char *who);
void mto_lua_precision_restore(struct mto_t5 *m, int prev);
/* A C closure body: require module upvalue 1, call its function upvalue 2 with the
 * arguments, return its results (l_modules.c; mto.sweep, mto.match, ...). */
int mto_lua_call_module(lua_State *L);
/* For each {field, module, function}: mto.field = a call_module closure. */
void mto_lua_add_module_entries(lua_State *L, const char *const (*entry)[3], size_t n);

#endif
