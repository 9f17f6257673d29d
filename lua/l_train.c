/* l_train.c — training from Lua, and the pure-Lua experiment layer.
 *
 *   m:train(examples, opts)   examples = {{src = {ids}, tgt = {ids}}, ...}; tgt gets an eos
 *                             appended unless it ends with one; src is used as given.
 *       opts: optimizer ("adamw"|"adafactor"), lr, weight_decay, schedule ("constant"|"linear"),
 *             warmup, epochs, max_steps, batch_size, grad_accum, max_src_len, max_tgt_len,
 *             clip, seed, dropout (bool), valid (examples), patience, eval_every, min_delta,
 *             progress = function(step, total, loss, elapsed) (return true to stop),
 *             data_parallel (bool: under mpirun, every rank trains on its slice of each batch),
 *             checkpoint = DIR, checkpoint_every = N steps | "600s" | "10m" | "1h" (resumable training)
 *       -> {steps=, epochs=, examples=, first_loss=, final_loss=, best_valid_loss= (nil without
 *           valid), best_step=, stopped_early=, cancelled=, wall=, resumed_from=, checkpoints=}
 *   m:predict(srcs, {max_len=, beams=, length_penalty=, batch_size=, max_src_len=})
 *       -> array of id arrays (final eos dropped)
 *   m:eval_loss(examples [, {batch_size=, max_src_len=, max_tgt_len=}]) -> mean token loss
 *   m:copy()                  independent model with the same parameters (and tokenizer)
 *   mto.train_defaults(["finetune" | "prompt" | "sweep"])  the options m:train / p:train /
 *                             a sweep point default to
 *   mto.sweep{...}, mto.table{...}, mto.plot{...}, mto.fewshot(...)   (lua/mto/NAME.lua)
 *   mto._permutation(n, seed), mto._check_train_opts(opts [, keys]), mto._train_keys
 *                             helpers for those modules (file-system ones: l_fs.c)
 *
 * A NaN/Inf loss raises "train: step N ...: ... nan" (the sweep records it as a failed point).
 * Buffers live in Lua userdata, so a Lua error never leaks them. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "l_mpi.h"
#include "lmto.h"
#include "mto/host.h"
#include "mto/matmul.h"
#include "mto/prompt.h"
#include "mto/train.h"


/* ---- reading examples ------------------------------------------------------ */

/* Push the id array of field f ("src"/"tgt") of the example at the top of the stack;
 * predict (tgt not needed) also takes a bare id array as the source. */
static void push_ids_field(lua_State *L, const char *what, size_t i, int f, int need_tgt)
{
    static const char *const field[2] = {"src", "tgt"};
    if (!lua_istable(L, -1)) luaL_error(L, "%s[%d] is not a table", what, (int)i);
    if (lua_getfield(L, -1, field[f]) == LUA_TNIL && f == 0 && !need_tgt) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
    }
    if (!lua_istable(L, -1)) luaL_error(L, "%s[%d].%s is not an array of token ids", what, (int)i, field[f]);
}

/* Examples and their ids in one userdata (pushed). need_tgt: read tgt and end it with eos.
 * Ids are checked against the vocabulary here, since the engine indexes with them. */
static mto_example *check_examples(lua_State *L, int idx, const char *what, int need_tgt, int vocab, size_t *n_out)
{
    idx = lua_absindex(L, idx);
    luaL_argexpected(L, lua_istable(L, idx), idx, "array of examples");
    size_t n = lua_rawlen(L, idx), total = 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        for (int f = 0; f < 1 + need_tgt; f++) {
            push_ids_field(L, what, i, f, need_tgt);
            total += lua_rawlen(L, -1) + 1;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    mto_example *ex = lua_newuserdatauv(L, (n ? n : 1) * sizeof *ex + (total ? total : 1) * sizeof(int32_t), 0);
    int32_t *ids = (int32_t *)(ex + (n ? n : 1));
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        ex[i - 1] = (mto_example){NULL, NULL, 0, 0};
        for (int f = 0; f < 1 + need_tgt; f++) {
            push_ids_field(L, what, i, f, need_tgt);
            int len = (int)lua_rawlen(L, -1);
            int32_t *start = ids;
            for (int j = 1; j <= len; j++) {
                lua_rawgeti(L, -1, j);
                int isnum;
                lua_Integer v = lua_tointegerx(L, -1, &isnum);
                lua_pop(L, 1);
                if (!isnum || v < 0 || v >= vocab)
                    luaL_error(L, "%s[%d].%s[%d] is not a token id in [0, %d)", what, (int)i, f ? "tgt" : "src", j, vocab);
                *ids++ = (int32_t)v;
            }
            if (f == 1 && (len == 0 || start[len - 1] != MTO_T5_EOS)) *ids++ = MTO_T5_EOS, len++;
            if (len == 0) luaL_error(L, "%s[%d].src is empty", what, (int)i);
            if (f == 0) ex[i - 1].src = start, ex[i - 1].src_len = len;
            else ex[i - 1].tgt = start, ex[i - 1].tgt_len = len;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    *n_out = n;
    return ex;
}

/* ---- options ----------------------------------------------------------------- */

/* checkpoint = DIR, checkpoint_every = N (steps) | "Ns" | "Nm" | "Nh" (time) */
static void opt_checkpoint(lua_State *L, int opts, mto_train_opts *o, const char *who)
{
    o->checkpoint = mto_lua_opt_string(L, opts, "checkpoint", NULL);
    if (o->checkpoint && !*o->checkpoint) luaL_error(L, "%s: option checkpoint: empty directory name", who);
    if (!mto_lua_has_opt(L, opts, "checkpoint_every")) return;
    int t = lua_getfield(L, opts, "checkpoint_every");
    if (!o->checkpoint) luaL_error(L, "%s: checkpoint_every needs checkpoint = DIR", who);
    if (t == LUA_TNUMBER) {
        int isint;
        lua_Integer k = lua_tointegerx(L, -1, &isint);
        if (!isint || k < 1) luaL_error(L, "%s: checkpoint_every: expected a step count >= 1 or a time like \"10m\"", who);
        o->checkpoint_every = (long)k;
    } else {
        const char *s = t == LUA_TSTRING ? lua_tostring(L, -1) : "";
        char *end;
        double x = strtod(s, &end);
        double unit = strcmp(end, "s") == 0 ? 1 : strcmp(end, "m") == 0 ? 60 : strcmp(end, "h") == 0 ? 3600 : 0;
        if (end == s || !(x > 0) || !isfinite(x)) unit = 0;
        if (unit == 0 && end != s && !*end && x >= 1 && x == floor(x)) o->checkpoint_every = (long)x; /* "200": steps */
        else if (unit > 0) o->checkpoint_secs = x * unit;
        else luaL_error(L, "%s: checkpoint_every: expected a step count or a time like \"600s\", \"10m\", \"1h\", got '%s'", who, s);
    }
    lua_pop(L, 1);
}

/* The training options of m:train and p:train (all of mto_lua_train_keys but valid,
 * progress, data_parallel and precision) from the table at index opts into *o, which
 * holds the caller's defaults: the optimizer too is the caller's unless named. */
void mto_lua_train_opts(lua_State *L, int opts, mto_train_opts *o, const char *who)
{
    static const char *const optims[] = {"adamw", "adafactor", NULL};
    static const int optim_kind[] = {MTO_OPT_ADAMW, MTO_OPT_ADAFACTOR};
    static const char *const scheds[] = {"constant", "linear", NULL};
    static const int sched_kind[] = {MTO_LR_CONSTANT, MTO_LR_LINEAR};
    mto_lua_check_opts_table(L, opts, who); /* p:train too: a string there is not silently ignored */
    int kind = optim_kind[mto_lua_opt_choice(L, opts, who, "optimizer",
                                             o->optim.kind == MTO_OPT_ADAFACTOR ? "adafactor" : "adamw", optims)];
    mto_optim_config_default(&o->optim, kind);
    o->optim.weight_decay = (float)mto_lua_opt_number(L, opts, "weight_decay", o->optim.weight_decay);
    o->lr = (float)mto_lua_opt_number(L, opts, "lr", o->lr);
    o->optim.lr = o->lr;
    o->schedule = sched_kind[mto_lua_opt_choice(L, opts, who, "schedule",
                                                o->schedule == MTO_LR_LINEAR ? "linear" : "constant", scheds)];
    o->warmup_steps = (long)mto_lua_opt_integer(L, opts, "warmup", o->warmup_steps);
    o->epochs = mto_lua_opt_int(L, opts, "epochs", o->epochs);
    o->max_steps = (long)mto_lua_opt_integer(L, opts, "max_steps", o->max_steps);
    o->batch_size = mto_lua_opt_int(L, opts, "batch_size", o->batch_size);
    o->grad_accum = mto_lua_opt_int(L, opts, "grad_accum", o->grad_accum);
    o->max_src_len = mto_lua_opt_int(L, opts, "max_src_len", o->max_src_len);
    o->max_tgt_len = mto_lua_opt_int(L, opts, "max_tgt_len", o->max_tgt_len);
    o->clip = (float)mto_lua_opt_number(L, opts, "clip", o->clip);
    o->seed = (uint64_t)mto_lua_opt_integer(L, opts, "seed", (lua_Integer)o->seed);
    o->dropout = mto_lua_opt_bool(L, opts, "dropout", o->dropout);
    o->patience = mto_lua_opt_int(L, opts, "patience", o->patience);
    o->eval_every = (long)mto_lua_opt_integer(L, opts, "eval_every", o->eval_every);
    o->min_delta = (float)mto_lua_opt_number(L, opts, "min_delta", o->min_delta);
    if (o->lr < 0 || o->optim.weight_decay < 0 || o->clip < 0 || o->min_delta < 0 || o->warmup_steps < 0 ||
        o->max_steps < 0 || o->eval_every < 0)
        luaL_error(L, "%s: lr, weight_decay, clip (0: off), min_delta, warmup, max_steps and eval_every "
                   "must not be negative", who);
    opt_checkpoint(L, opts, o, who);
}

int mto_lua_precision(lua_State *L, int opts, mto_t5 *m, const char *who)
{
    int prev = mto_t5_precision(m);
    const char *s = mto_lua_opt_string(L, opts, "precision", NULL);
    if (!s) return prev;
    int p = mto_precision_parse(s);
    if (p < 0) luaL_error(L, "%s: unknown precision '%s' (fp32, bf16)", who, s);
    mto_error e;
    if (mto_t5_set_precision(m, p, &e) < 0) mto_lua_error(L, &e);
    return prev;
}

void mto_lua_precision_restore(mto_t5 *m, int prev)
{
    mto_error e;
    if (mto_t5_precision(m) != prev) mto_t5_set_precision(m, prev, &e); /* back to fp32 cannot fail */
}

/* mto._check_train_opts(opts [, keys]): raises what m:train would say about these
 * options' values (and, with keys, about unknown ones); sweep:run checks every
 * point's before the first one trains. */
static int l_check_train_opts(lua_State *L)
{
    lua_settop(L, 2);
    int keys = lua_toboolean(L, 2);
    lua_settop(L, 1);
    if (keys) mto_lua_check_keys(L, 1, "train", mto_lua_train_keys);
    else mto_lua_check_opts_table(L, 1, "train");
    mto_train_opts o;
    mto_train_opts_default(&o);
    mto_lua_train_opts(L, 1, &o, "train");
    return 0;
}

/* ---- m:train ------------------------------------------------------------------ */

/* A running m:train / p:train: its Lua progress function and cancellation flag. */
typedef struct mto_lua_progress {
    lua_State *L;
    int fn;                 /* stack index of the progress function, 0 = none */
    volatile int cancel;
    int failed;             /* the function raised: its message is on top of the stack */
} mto_lua_progress;

static void on_progress(void *ud, long step, long total, float loss, double elapsed)
{
    mto_lua_progress *c = ud;
    if (!c->fn || c->failed) return;
    lua_State *L = c->L;
    lua_pushvalue(L, c->fn);
    lua_pushinteger(L, step);
    lua_pushinteger(L, total);
    lua_pushnumber(L, loss);
    lua_pushnumber(L, elapsed);
    if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
        c->failed = 1; /* the message stays on the stack until training returns */
        c->cancel = 1;
        return;
    }
    if (lua_toboolean(L, -1)) c->cancel = 1;
    lua_pop(L, 1);
}

/* Hook the `progress` function of the opts table (if any) into o. */
static void progress_hook(lua_State *L, int opts, mto_lua_progress *pc, mto_train_opts *o)
{
    pc->L = L, pc->fn = 0, pc->cancel = 0, pc->failed = 0;
    if (lua_istable(L, opts)) {
        if (lua_getfield(L, opts, "progress") != LUA_TNIL) {
            luaL_argexpected(L, lua_isfunction(L, -1), opts, "progress function");
            pc->fn = lua_gettop(L); /* stays on the stack while training runs */
        } else lua_pop(L, 1);
    }
    o->progress = on_progress;
    o->progress_ud = pc;
    o->cancel = &pc->cancel;
    lua_checkstack(L, 8);
}

static void set_field_num(lua_State *L, const char *k, double v) { lua_pushnumber(L, v); lua_setfield(L, -2, k); }
static void set_field_int(lua_State *L, const char *k, lua_Integer v) { lua_pushinteger(L, v); lua_setfield(L, -2, k); }
static void set_field_bool(lua_State *L, const char *k, int v) { lua_pushboolean(L, v); lua_setfield(L, -2, k); }

/* The table m:train and p:train return. */
static void push_train_result(lua_State *L, const mto_train_result *r)
{
    lua_createtable(L, 0, 11);
    set_field_int(L, "steps", r->steps);
    set_field_int(L, "epochs", r->epochs);
    set_field_int(L, "examples", r->examples);
    set_field_num(L, "first_loss", r->first_loss);
    set_field_num(L, "final_loss", r->final_loss);
    if (r->best_valid_loss >= 0) set_field_num(L, "best_valid_loss", r->best_valid_loss);
    set_field_int(L, "best_step", r->best_step);
    set_field_bool(L, "stopped_early", r->stopped_early);
    set_field_bool(L, "cancelled", r->cancelled);
    set_field_num(L, "wall", r->wall);
    set_field_int(L, "resumed_from", r->resumed_from);
    set_field_int(L, "checkpoints", r->checkpoints);
}

int mto_lua_train_run(lua_State *L, int opts, mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n,
                      mto_train_opts *o, const char *who)
{
    mto_lua_progress pc;
    progress_hook(L, opts, &pc, o);
    /* data_parallel = true under mpirun: each rank trains on its slice of every batch (l_mpi.c);
     * with a prompt, the prompt is what the ranks share and train */
    if (mto_lua_opt_bool(L, opts, "data_parallel", 0))
        mto_lua_mpi_data_parallel(L, m, p ? p->emb : NULL, p ? (size_t)p->k * (size_t)p->d_model : 0, ex, n, o);
    mto_train_result r;
    mto_error e;
    int prec = mto_lua_precision(L, opts, m, who);
    int rc = p ? mto_prompt_train(m, p, ex, n, o, &r, &e) : mto_train(m, ex, n, o, &r, &e);
    mto_lua_precision_restore(m, prec);
    if (pc.failed) return lua_error(L); /* the callback's error is on top */
    if (rc) return mto_lua_error(L, &e);
    push_train_result(L, &r);
    return 1;
}

static int l_train(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    int opts = 3;
    lua_settop(L, 3);
    mto_lua_check_keys(L, opts, "train", mto_lua_train_keys);
    size_t n, nv = 0;
    mto_example *ex = check_examples(L, 2, "examples", 1, m->cfg.vocab_size, &n);
    mto_train_opts o;
    mto_train_opts_default(&o);
    mto_lua_train_opts(L, opts, &o, "train");
    if (mto_lua_has_opt(L, opts, "valid")) {
        lua_getfield(L, opts, "valid");
        o.valid = check_examples(L, -1, "valid", 1, m->cfg.vocab_size, &nv);
        o.nvalid = nv;
    } /* the valid table and its userdata stay on the stack */
    return mto_lua_train_run(L, opts, m, NULL, ex, n, &o, "train");
}

/* ---- m:predict, m:eval_loss, m:copy ------------------------------------------ */

static int l_predict(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    lua_settop(L, 3);
    size_t n;
    mto_example *ex = check_examples(L, 2, "srcs", 0, m->cfg.vocab_size, &n);
    mto_lua_check_opts_table(L, 3, "predict");
    mto_t5_gen_opts g;
    mto_lua_gen_opts(L, 3, "predict", &g);
    int bs = mto_lua_opt_int(L, 3, "batch_size", 32), msl = mto_lua_opt_int(L, 3, "max_src_len", 0);
    int *len = lua_newuserdatauv(L, (n ? n : 1) * (sizeof(int) + (size_t)g.max_len * sizeof(int32_t)), 0);
    int32_t *out = (int32_t *)(len + (n ? n : 1));
    mto_error e;
    int prec = mto_lua_precision(L, 3, m, "predict");
    int rc = mto_predict(m, ex, n, bs, msl, &g, out, len, &e);
    mto_lua_precision_restore(m, prec);
    if (rc) return mto_lua_error(L, &e);
    mto_lua_push_decoded(L, out, len, n, g.max_len, 0);
    return 1;
}

static int l_eval_loss(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    lua_settop(L, 3);
    size_t n;
    mto_example *ex = check_examples(L, 2, "examples", 1, m->cfg.vocab_size, &n);
    double loss;
    mto_error e;
    mto_lua_check_opts_table(L, 3, "eval_loss");
    if (mto_eval_loss(m, ex, n, mto_lua_opt_int(L, 3, "batch_size", 32), mto_lua_opt_int(L, 3, "max_src_len", 0),
                      mto_lua_opt_int(L, 3, "max_tgt_len", 0), &loss, &e))
        return mto_lua_error(L, &e);
    lua_pushnumber(L, loss);
    return 1;
}

static int l_copy(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    mto_lua_model *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->m = NULL;
    luaL_setmetatable(L, MTO_LUA_MODEL_MT); /* __gc frees whatever u->m holds */
    mto_error e;
    if (!(u->m = mto_train_clone_model(m, &e))) return mto_lua_error(L, &e);
    lua_getiuservalue(L, 1, 1);
    lua_setiuservalue(L, -2, 1);
    return 1;
}

/* A float option as the shortest decimal that reads back as it (1e-3f -> 0.001, not
 * 0.0010000000474974513): what a user would have written. */
static void push_float(lua_State *L, float v)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
        if ((float)strtod(buf, NULL) == v) break;
    }
    lua_pushnumber(L, strtod(buf, NULL));
}

/* mto.train_defaults(["finetune" | "prompt" | "sweep"]) -> the options m:train (p:train)
 * uses for what its table leaves out: mto_train_opts_default (mto_prompt_train_opts_default);
 * "sweep": what a sweep point trains with unless its spec says otherwise, the few-shot
 * setting of the paper (10 epochs, sources cut at 128 tokens, targets at 64). */
static int l_train_defaults(lua_State *L)
{
    static const char *const kinds[] = {"finetune", "prompt", "sweep", NULL};
    int kind = luaL_checkoption(L, 1, "finetune", kinds);
    mto_train_opts o;
    if (kind == 1) mto_prompt_train_opts_default(&o);
    else mto_train_opts_default(&o);
    if (kind == 2) o.epochs = 10, o.max_src_len = 128, o.max_tgt_len = 64;
    lua_createtable(L, 0, 16);
    lua_pushstring(L, o.optim.kind == MTO_OPT_ADAFACTOR ? "adafactor" : "adamw");
    lua_setfield(L, -2, "optimizer");
    lua_pushstring(L, o.schedule == MTO_LR_LINEAR ? "linear" : "constant");
    lua_setfield(L, -2, "schedule");
    const struct { const char *k; float v; } f[] = {
        {"lr", o.lr}, {"weight_decay", o.optim.weight_decay}, {"clip", o.clip}, {"min_delta", o.min_delta}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) push_float(L, f[i].v), lua_setfield(L, -2, f[i].k);
    const struct { const char *k; lua_Integer v; } n[] = {
        {"warmup", o.warmup_steps}, {"epochs", o.epochs}, {"max_steps", o.max_steps}, {"batch_size", o.batch_size},
        {"grad_accum", o.grad_accum}, {"max_src_len", o.max_src_len}, {"max_tgt_len", o.max_tgt_len},
        {"seed", (lua_Integer)o.seed}, {"patience", o.patience}, {"eval_every", o.eval_every}};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) lua_pushinteger(L, n[i].v), lua_setfield(L, -2, n[i].k);
    lua_pushboolean(L, o.dropout);
    lua_setfield(L, -2, "dropout");
    return 1;
}

/* ---- helpers for the pure-Lua modules -------------------------------------- */

/* mto._permutation(n, seed): a seeded permutation of 1..n (the same on every machine). */
static int l_permutation(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    lua_Integer seed = luaL_checkinteger(L, 2);
    if (n < 0 || n > 100000000) return luaL_error(L, "_permutation: n = %d out of range", (int)n);
    lua_Integer *p = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *p, 0);
    for (lua_Integer i = 0; i < n; i++) p[i] = i + 1;
    mto_rng r;
    mto_rng_seed(&r, (uint64_t)seed);
    for (lua_Integer i = n; i > 1; i--) {
        lua_Integer j = (lua_Integer)mto_rng_below(&r, (uint64_t)i), t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_pushinteger(L, p[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void mto_lua_open_train(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"train", l_train}, {"predict", l_predict}, {"eval_loss", l_eval_loss}, {"copy", l_copy}, {NULL, NULL}};
    mto_lua_add_model_methods(L, methods);
    static const luaL_Reg helpers[] = {
        {"_permutation", l_permutation}, {"_check_train_opts", l_check_train_opts},
        {"train_defaults", l_train_defaults}, {NULL, NULL}};
    luaL_setfuncs(L, helpers, 0);
    /* mto._train_keys: the options m:train and p:train both take (tests, the sweep) */
    lua_newtable(L);
    for (int i = 0; mto_lua_train_keys[i]; i++) {
        lua_pushstring(L, mto_lua_train_keys[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "_train_keys");
    static const char *const entry[][3] = {
        {"sweep", "mto.sweep", "new"}, {"table", "mto.table", "make"},
        {"plot", "mto.plot", "plot"}, {"fewshot", "mto.fewshot", "sample"}};
    mto_lua_add_module_entries(L, entry, sizeof entry / sizeof entry[0]);
}
