/* l_data.c — objectives and templates from Lua.
 *
 *   local obj = mto.objective("span_corruption", {density = 0.15, seed = 7})
 *   local input, target = obj:apply(ids, {seed = 1, target = {...},
 *                                        span = {first, last}, sentinel0 = 32099,
 *                                        eos = 1, n_sentinels = 100})
 *
 * ids are token ids without eos; target comes back ending with eos. span is
 * 1-based and inclusive (like string.sub): {4, 6} marks ids[4..6]. Without
 * `seed`, draws continue the objective's own generator (seeded by its `seed`
 * option, default 0), so a loop over a corpus is reproducible.
 *
 *   local tpl = mto.template("masked_prompting", {task_prefix = true,
 *                            phrases = {xIntent = "so that"}})
 *   local input, target = tpl:render{head = "...", relation = "xIntent", tail = "..."}
 *   tpl.masked, tpl.soft_pre, tpl.soft_post, tpl.flags, tpl.name
 *
 * Options are strings, numbers or booleans (true -> "1"). phrases = {REL =
 * "..."} and every phrase.REL key also travel as the one "REL=...|..." string
 * the template plugins read, so any relation can get a phrase from Lua. */
#include <stdlib.h>
#include <string.h>

#include "lmto.h"
#include "mto/host.h"
#include "mto/objective.h"
#include "mto/template.h"

#define OBJ_MT "mto.objective"
#define TPL_MT "mto.template"

typedef struct {
    mto_objective *obj; /* NULL once closed */
    mto_rng rng;
    char name[64];
} l_objective;

typedef struct {
    mto_template *tpl; /* NULL once closed */
    char name[64];
} l_template;

/* ---- options ------------------------------------------------------------- */

/* Append "rel=phrase" to the array at acc (an absolute stack index). */
static void add_phrase(lua_State *L, int acc, const char *rel, const char *phrase)
{
    if (strchr(phrase, '|') || strchr(rel, '|') || strchr(rel, '='))
        luaL_error(L, "phrase for '%s': '|' and '=' cannot appear in it", rel);
    lua_pushfstring(L, "%s=%s", rel, phrase);
    lua_rawseti(L, acc, (lua_Integer)lua_rawlen(L, acc) + 1);
}

/* Options table at idx -> mto_options; the owning box is left on the stack. */
static mto_options *check_opts(lua_State *L, int idx)
{
    int given = !lua_isnoneornil(L, idx); /* before the box lands on the stack */
    if (given) luaL_checktype(L, idx, LUA_TTABLE);
    mto_options *o = mto_lua_new_options(L);
    if (!given) return o;
    lua_newtable(L); /* "REL=phrase" items */
    int acc = lua_gettop(L);
    char buf[64];
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "option keys must be strings");
        const char *key = lua_tostring(L, -2), *v = mto_lua_scalar(L, -1, buf, sizeof buf);
        if (v) {
            if (mto_options_set(o, key, v)) luaL_error(L, "out of memory");
            if (strncmp(key, "phrase.", 7) == 0 && key[7]) add_phrase(L, acc, key + 7, v);
        } else if (strcmp(key, "phrases") == 0 && lua_istable(L, -1)) {
            int t = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, t)) {
                const char *ph = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
                if (lua_type(L, -2) != LUA_TSTRING || !ph)
                    luaL_error(L, "option phrases: expected {RELATION = \"phrase\", ...}");
                add_phrase(L, acc, lua_tostring(L, -2), ph);
                lua_pop(L, 1);
            }
        } else {
            luaL_error(L, "option '%s': expected a string, number or boolean", key);
        }
        lua_pop(L, 1);
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, acc);
    if (n > 0) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        const char *old = mto_options_get(o, "phrases", NULL);
        if (old) { /* a phrases string given directly comes first */
            luaL_addstring(&b, old);
            luaL_addchar(&b, '|');
        }
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1) luaL_addchar(&b, '|');
            lua_rawgeti(L, acc, i);
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
        if (mto_options_set(o, "phrases", lua_tostring(L, -1))) luaL_error(L, "out of memory");
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* acc; the box stays on the stack until the caller returns */
    return o;
}

static lua_Integer opt_int(lua_State *L, int t, const char *key, lua_Integer dflt)
{
    lua_getfield(L, t, key);
    lua_Integer v = luaL_optinteger(L, -1, dflt);
    lua_pop(L, 1);
    return v;
}

/* ---- objectives ---------------------------------------------------------- */

static int l_objective_new(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    mto_error err = {0};
    mto_options *o = check_opts(L, 2);
    l_objective *obj = lua_newuserdatauv(L, sizeof *obj, 0);
    memset(obj, 0, sizeof *obj);
    luaL_setmetatable(L, OBJ_MT);
    snprintf(obj->name, sizeof obj->name, "%s", name);
    mto_rng_seed(&obj->rng, (uint64_t)mto_options_num(o, "seed", 0));
    if (mto_objective_open(name, o, &obj->obj, &err)) return mto_lua_error(L, &err);
    return 1;
}

static l_objective *check_obj(lua_State *L)
{
    l_objective *o = luaL_checkudata(L, 1, OBJ_MT);
    if (!o->obj) luaL_error(L, "objective is closed");
    return o;
}

static int l_apply(lua_State *L)
{
    l_objective *obj = check_obj(L);
    int has_opts = !lua_isnoneornil(L, 3); /* before buffers land on the stack */
    if (has_opts) luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    size_t n, tn = 0;
    const int32_t *text = mto_lua_check_ids(L, 2, &n), *tgt = NULL;
    mto_objective_io io = {sizeof io, text, n, NULL, 0, 0, 0, 1, 32099, 100};
    mto_rng fresh, *rng = &obj->rng;
    if (has_opts) {
        io.eos_id = (int32_t)opt_int(L, 3, "eos", 1);
        io.sentinel0 = (int32_t)opt_int(L, 3, "sentinel0", 32099);
        io.n_sentinels = (int32_t)opt_int(L, 3, "n_sentinels", 100);
        if (lua_getfield(L, 3, "seed") != LUA_TNIL) {
            mto_rng_seed(&fresh, (uint64_t)luaL_checkinteger(L, -1));
            rng = &fresh;
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 3, "target") != LUA_TNIL) {
            tgt = mto_lua_check_ids(L, lua_gettop(L), &tn); /* stays on the stack */
            io.target = tgt;
            io.target_len = tn;
        } else {
            lua_pop(L, 1);
        }
        if (lua_getfield(L, 3, "span") != LUA_TNIL) {
            int t = lua_gettop(L);
            luaL_checktype(L, t, LUA_TTABLE);
            lua_Integer first = (lua_rawgeti(L, t, 1), luaL_checkinteger(L, -1));
            lua_Integer last = (lua_rawgeti(L, t, 2), luaL_checkinteger(L, -1));
            if (first < 1 || last < first - 1 || last > (lua_Integer)n)
                return luaL_error(L, "span {%d, %d} is not inside the %d ids (1-based, inclusive)",
                                  (int)first, (int)last, (int)n);
            io.span_begin = (size_t)first - 1;
            io.span_end = (size_t)last;
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    mto_ids in, out;
    mto_ids_init(&in);
    mto_ids_init(&out);
    mto_error err = {0};
    if (mto_objective_apply(obj->obj, &io, rng, &in, &out, &err)) {
        mto_ids_free(&in);
        mto_ids_free(&out);
        return mto_lua_error(L, &err);
    }
    mto_lua_push_ids(L, in.data, in.len);
    mto_lua_push_ids(L, out.data, out.len);
    mto_ids_free(&in);
    mto_ids_free(&out);
    return 2;
}

static int l_obj_gc(lua_State *L)
{
    l_objective *o = luaL_checkudata(L, 1, OBJ_MT);
    mto_objective_free(o->obj);
    o->obj = NULL;
    return 0;
}

static int l_obj_index(lua_State *L)
{
    l_objective *o = luaL_checkudata(L, 1, OBJ_MT);
    static const char *const fields[] = {"name", "apply", "close", NULL};
    switch (mto_lua_field(luaL_checkstring(L, 2), fields)) {
    case 0: lua_pushstring(L, o->name); break;
    case 1: lua_pushcfunction(L, l_apply); break;
    case 2: lua_pushcfunction(L, l_obj_gc); break;
    default: lua_pushnil(L);
    }
    return 1;
}

static int l_obj_tostring(lua_State *L)
{
    l_objective *o = luaL_checkudata(L, 1, OBJ_MT);
    lua_pushfstring(L, "mto.objective(%s)", o->name);
    return 1;
}

/* ---- templates ----------------------------------------------------------- */

static int l_template_new(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    mto_error err = {0};
    mto_options *o = check_opts(L, 2);
    l_template *tpl = lua_newuserdatauv(L, sizeof *tpl, 0);
    memset(tpl, 0, sizeof *tpl);
    luaL_setmetatable(L, TPL_MT);
    snprintf(tpl->name, sizeof tpl->name, "%s", name);
    if (mto_template_open(name, o, &tpl->tpl, &err)) return mto_lua_error(L, &err);
    return 1;
}

static int l_render(lua_State *L)
{
    l_template *tpl = luaL_checkudata(L, 1, TPL_MT);
    if (!tpl->tpl) return luaL_error(L, "template is closed");
    luaL_checktype(L, 2, LUA_TTABLE);
    mto_record *rec = mto_lua_check_record(L, 2);
    mto_text in, tg;
    mto_text_init(&in);
    mto_text_init(&tg);
    mto_error err = {0};
    int rc = mto_template_render(tpl->tpl, rec, &in, &tg, &err);
    if (rc == 0) {
        lua_pushlstring(L, in.data ? in.data : "", in.len);
        lua_pushlstring(L, tg.data ? tg.data : "", tg.len);
    }
    mto_text_free(&in);
    mto_text_free(&tg);
    if (rc) return mto_lua_error(L, &err);
    return 2;
}

static int l_tpl_gc(lua_State *L)
{
    l_template *t = luaL_checkudata(L, 1, TPL_MT);
    mto_template_free(t->tpl);
    t->tpl = NULL;
    return 0;
}

static int l_tpl_index(lua_State *L)
{
    l_template *t = luaL_checkudata(L, 1, TPL_MT);
    static const char *const fields[] = {"name", "render", "close", "flags", "masked", "soft_pre", "soft_post", NULL};
    static const uint32_t flag[] = {MTO_TEMPLATE_MASKED, MTO_TEMPLATE_SOFT_PRE, MTO_TEMPLATE_SOFT_POST};
    uint32_t f = t->tpl ? mto_template_flags(t->tpl) : 0;
    int i = mto_lua_field(luaL_checkstring(L, 2), fields);
    if (i == 0) lua_pushstring(L, t->name);
    else if (i == 1) lua_pushcfunction(L, l_render);
    else if (i == 2) lua_pushcfunction(L, l_tpl_gc);
    else if (i == 3) lua_pushinteger(L, f);
    else if (i >= 4) lua_pushboolean(L, f & flag[i - 4]);
    else lua_pushnil(L);
    return 1;
}

static int l_tpl_tostring(lua_State *L)
{
    l_template *t = luaL_checkudata(L, 1, TPL_MT);
    lua_pushfstring(L, "mto.template(%s)", t->name);
    return 1;
}

void mto_lua_open_data(lua_State *L)
{
    static const luaL_Reg obj_mt[] = {{"__gc", l_obj_gc}, {"__close", l_obj_gc},
                                      {"__index", l_obj_index}, {"__tostring", l_obj_tostring},
                                      {NULL, NULL}};
    static const luaL_Reg tpl_mt[] = {{"__gc", l_tpl_gc}, {"__close", l_tpl_gc},
                                      {"__index", l_tpl_index}, {"__tostring", l_tpl_tostring},
                                      {NULL, NULL}};
    luaL_newmetatable(L, OBJ_MT);
    luaL_setfuncs(L, obj_mt, 0);
    lua_pop(L, 1);
    luaL_newmetatable(L, TPL_MT);
    luaL_setfuncs(L, tpl_mt, 0);
    lua_pop(L, 1);
    lua_pushcfunction(L, l_objective_new);
    lua_setfield(L, -2, "objective");
    lua_pushcfunction(L, l_template_new);
    lua_setfield(L, -2, "template");
    /* flag values, for code that reads tpl.flags */
    lua_pushinteger(L, MTO_TEMPLATE_MASKED);
    lua_setfield(L, -2, "TEMPLATE_MASKED");
    lua_pushinteger(L, MTO_TEMPLATE_SOFT_PRE);
    lua_setfield(L, -2, "TEMPLATE_SOFT_PRE");
    lua_pushinteger(L, MTO_TEMPLATE_SOFT_POST);
    lua_setfield(L, -2, "TEMPLATE_SOFT_POST");
}
