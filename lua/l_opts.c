/* l_opts.c — reading options tables, once for the whole binding: typed
 * readers that refuse what they cannot represent (2^32 + 1 epochs is not 1,
 * `dropout = 0` is not "on"), the check for unknown keys, and the option list
 * every training run (m:train and p:train) understands. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lmto.h"
#include "mto/host.h"
#include "mto/t5.h"

const char *const mto_lua_train_keys[] = {
    "optimizer", "lr", "weight_decay", "schedule", "warmup", "epochs", "max_steps", "batch_size",
    "grad_accum", "max_src_len", "max_tgt_len", "clip", "seed", "dropout", "valid", "patience",
    "eval_every", "min_delta", "progress", "data_parallel", "precision", "checkpoint",
    "checkpoint_every", NULL};

const char *mto_lua_scalar(lua_State *L, int idx, char *buf, size_t cap)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "1" : "0";
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) snprintf(buf, cap, "%lld", (long long)lua_tointeger(L, idx));
        else snprintf(buf, cap, "%.17g", (double)lua_tonumber(L, idx));
        return buf;
    case LUA_TSTRING: return lua_tostring(L, idx);
    default: return NULL;
    }
}

static int options_gc(lua_State *L)
{
    mto_options **o = lua_touserdata(L, 1);
    if (*o) mto_options_free(*o);
    *o = NULL;
    return 0;
}

mto_options *mto_lua_new_options(lua_State *L)
{
    mto_options **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    if (luaL_newmetatable(L, "mto.options_box")) {
        lua_pushcfunction(L, options_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    if (!(*box = mto_options_new())) luaL_error(L, "out of memory");
    return *box;
}

static int record_gc(lua_State *L)
{
    mto_record **r = lua_touserdata(L, 1);
    if (*r) mto_record_free(*r);
    *r = NULL;
    return 0;
}

mto_record *mto_lua_check_record(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    mto_record **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    if (luaL_newmetatable(L, "mto.record_box")) {
        lua_pushcfunction(L, record_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    if (!(*box = mto_record_new())) luaL_error(L, "out of memory");
    char buf[64];
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *v = lua_type(L, -2) == LUA_TSTRING ? mto_lua_scalar(L, -1, buf, sizeof buf) : NULL;
        if (v && mto_record_set(*box, lua_tostring(L, -2), v, (size_t)-1)) luaL_error(L, "out of memory");
        lua_pop(L, 1); /* fields that are not strings/numbers (e.g. lists) are skipped */
    }
    return *box;
}

/* Push opts[k] (nil when opts is not a table) and return its type. */
static int field_type(lua_State *L, int opts, const char *k)
{
    return lua_istable(L, opts) ? lua_getfield(L, opts, k) : (lua_pushnil(L), LUA_TNIL);
}

int mto_lua_has_opt(lua_State *L, int opts, const char *k)
{
    int t = field_type(L, opts, k);
    lua_pop(L, 1);
    return t != LUA_TNIL;
}

lua_Integer mto_lua_opt_integer(lua_State *L, int opts, const char *k, lua_Integer dflt)
{
    if (field_type(L, opts, k) == LUA_TNIL) { lua_pop(L, 1); return dflt; }
    int isnum;
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "option %s: expected an integer, got %s", k, lua_tostring(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

int mto_lua_opt_int(lua_State *L, int opts, const char *k, int dflt)
{
    lua_Integer v = mto_lua_opt_integer(L, opts, k, dflt);
    if (v < 0 || v > INT_MAX) /* checked before the C int conversion: 2^32 + 1 epochs must not become 1 */
        luaL_error(L, "option %s = %I out of range (0..%d)", k, (LUAI_UACINT)v, INT_MAX);
    return (int)v;
}

double mto_lua_opt_number(lua_State *L, int opts, const char *k, double dflt)
{
    if (field_type(L, opts, k) == LUA_TNIL) { lua_pop(L, 1); return dflt; }
    int isnum;
    double v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "option %s: expected a number, got %s", k, luaL_typename(L, -1));
    /* every number option becomes a C float */
    if (!isfinite(v) || fabs(v) > FLT_MAX) luaL_error(L, "option %s = %f: expected a finite number", k, v);
    lua_pop(L, 1);
    return v;
}

const char *mto_lua_opt_string(lua_State *L, int opts, const char *k, const char *dflt)
{
    if (field_type(L, opts, k) == LUA_TNIL) { lua_pop(L, 1); return dflt; }
    const char *s = lua_tostring(L, -1);
    if (!s) luaL_error(L, "option %s: expected a string", k);
    lua_pop(L, 1); /* the options table keeps the string alive */
    return s;
}

int mto_lua_field(const char *k, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(k, names[i]) == 0) return i;
    return -1;
}

int mto_lua_opt_choice(lua_State *L, int opts, const char *who, const char *k, const char *dflt,
                       const char *const *names)
{
    if (field_type(L, opts, k) == LUA_TNIL) lua_pop(L, 1);
    else if (!lua_isstring(L, -1)) luaL_error(L, "option %s: expected a string", k);
    else dflt = NULL; /* the given value stays on the stack while it is looked up */
    const char *s = dflt ? dflt : lua_tostring(L, -1);
    int i = mto_lua_field(s, names);
    if (i >= 0) {
        if (!dflt) lua_pop(L, 1);
        return i;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (i = 0; names[i]; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, names[i]);
    }
    luaL_pushresult(&b);
    return luaL_error(L, "%s: unknown %s '%s' (%s)", who, k, s, lua_tostring(L, -1));
}

int mto_lua_opt_bool(lua_State *L, int opts, const char *k, int dflt)
{
    if (field_type(L, opts, k) == LUA_TNIL) { lua_pop(L, 1); return dflt; }
    if (!lua_isboolean(L, -1)) { /* 0 is true in Lua: `dropout = 0` must not mean "on" */
        const char *type = luaL_typename(L, -1); /* before lua_tostring turns a number into a string */
        luaL_error(L, "option %s: expected true or false, got %s %s%s", k, type,
                   lua_tostring(L, -1) ? lua_tostring(L, -1) : "",
                   strcmp(k, "dropout") == 0 ? " (the dropout rate is the model's dropout_rate config)" : "");
    }
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

void mto_lua_check_opts_table(lua_State *L, int opts, const char *who)
{
    if (!lua_isnoneornil(L, opts) && !lua_istable(L, opts))
        luaL_error(L, "%s: options must be a table, got %s", who, luaL_typename(L, opts));
}

void mto_lua_check_keys(lua_State *L, int opts, const char *who, const char *const *keys)
{
    mto_lua_check_opts_table(L, opts, who);
    if (!lua_istable(L, opts)) return;
    lua_pushnil(L);
    while (lua_next(L, opts)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int known = 0;
        for (int i = 0; k && keys[i]; i++) known |= strcmp(k, keys[i]) == 0;
        if (!known) luaL_error(L, "%s: unknown option '%s'", who, k ? k : "(non-string key)");
        lua_pop(L, 1);
    }
}

void mto_lua_gen_opts(lua_State *L, int opts, const char *who, mto_t5_gen_opts *g)
{
    g->max_len = mto_lua_opt_int(L, opts, "max_len", 64);
    g->beams = mto_lua_opt_int(L, opts, "beams", 1);
    g->length_penalty = (float)mto_lua_opt_number(L, opts, "length_penalty", 1.0);
    g->use_cache = 1;
    if (g->max_len < 1 || g->max_len > 100000 || g->beams < 1 || g->beams > 1000)
        luaL_error(L, "%s: max_len %d / beams %d out of range", who, g->max_len, g->beams);
}
