/* lmto.c — luaopen_mto: builds the `mto` module table from each area's
 * registration function. Areas not linked into this build (weak symbols that
 * resolve to NULL) are skipped, so the module always loads. */

#include "config.h"
#include "lmto.h"
#include "mto/t5.h"

#define WEAK __attribute__((weak))
WEAK void mto_lua_open_model(lua_State *L);
WEAK void mto_lua_open_tokenizer(lua_State *L);
WEAK void mto_lua_open_data(lua_State *L);
WEAK void mto_lua_open_readers(lua_State *L);
WEAK void mto_lua_open_metrics(lua_State *L);
WEAK void mto_lua_open_train(lua_State *L);
WEAK void mto_lua_open_score(lua_State *L);
WEAK void mto_lua_open_prompt(lua_State *L);
WEAK void mto_lua_open_mpi(lua_State *L);
WEAK void mto_lua_open_workers(lua_State *L);
WEAK void mto_lua_open_lock(lua_State *L);
WEAK void mto_lua_open_key(lua_State *L);
WEAK void mto_lua_open_interrupt(lua_State *L);

int luaopen_mto(lua_State *L)
{
    void (*areas[])(lua_State *) = {
        mto_lua_open_core,     mto_lua_open_modules, mto_lua_open_fs, mto_lua_open_model, mto_lua_open_tokenizer,
        mto_lua_open_data,     mto_lua_open_readers, mto_lua_open_metrics,
        mto_lua_open_train,    mto_lua_open_score,  mto_lua_open_prompt, /* after model: adds m:prompt */
        mto_lua_open_mpi,      mto_lua_open_workers, mto_lua_open_lock, mto_lua_open_key, mto_lua_open_interrupt,
    };
    lua_newtable(L);
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++)
        if (areas[i]) areas[i](L);
    return 1;
}

struct mto_t5 *mto_lua_check_model(lua_State *L, int idx)
{
    mto_lua_model *u = luaL_checkudata(L, idx, MTO_LUA_MODEL_MT);
    if (!u->m) luaL_error(L, "model has been freed");
    return u->m;
}

void mto_lua_add_model_methods(lua_State *L, const luaL_Reg *methods)
{
    int top = lua_gettop(L);
    if (luaL_getmetatable(L, MTO_LUA_MODEL_MT) == LUA_TTABLE && lua_getfield(L, -1, "methods") == LUA_TTABLE)
        luaL_setfuncs(L, methods, 0);
    lua_settop(L, top);
}

int mto_lua_error(lua_State *L, const mto_error *err)
{
    return luaL_error(L, "%s", err && err->msg[0] ? err->msg : "mto: unknown error");
}

int32_t *mto_lua_check_ids(lua_State *L, int idx, size_t *len)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = luaL_len(L, idx);
    int32_t *ids = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *ids, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        int isnum;
        lua_Integer v = lua_tointegerx(L, -1, &isnum);
        lua_pop(L, 1);
        if (!isnum || v < INT32_MIN || v > INT32_MAX)
            luaL_error(L, "id list: element %d is not an integer token id", (int)i);
        ids[i - 1] = (int32_t)v;
    }
    *len = (size_t)(n > 0 ? n : 0);
    return ids;
}

void mto_lua_push_ids(lua_State *L, const int32_t *ids, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushinteger(L, ids[i]);
        lua_seti(L, -2, (lua_Integer)i + 1);
    }
}

void mto_lua_push_decoded(lua_State *L, const int32_t *out, const int *len, size_t n, int max_len, int single)
{
    if (!single) lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        int k = len[i];
        const int32_t *row = out + i * (size_t)max_len;
        if (k > 0 && row[k - 1] == MTO_T5_EOS) k--; /* the eos is implied */
        mto_lua_push_ids(L, row, (size_t)k);
        if (single) return;
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}
