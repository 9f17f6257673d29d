/* l_core.c — the module's basics: mto.version, mto.abi_version,
 * mto.plugins(), mto.load_plugin(path), mto.backend(). */
#include "config.h"
#include "lmto.h"
#include "mto/host.h"
#include "mto/matmul.h"

/* mto.plugins() -> array of {name, kind, version, file, summary}, problems */
static int l_plugins(lua_State *L)
{
    mto_plugins_load_all(NULL);
    size_t n = mto_plugin_count();
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        const mto_plugin_info *p = mto_plugin_at(i);
        lua_createtable(L, 0, 5);
        lua_pushstring(L, p->desc->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, mto_kind_name(p->desc->kind));
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, p->desc->version ? p->desc->version : "");
        lua_setfield(L, -2, "version");
        lua_pushstring(L, p->file);
        lua_setfield(L, -2, "file");
        lua_pushstring(L, p->desc->summary ? p->desc->summary : "");
        lua_setfield(L, -2, "summary");
        lua_seti(L, -2, (lua_Integer)i + 1);
    }
    size_t np = mto_plugin_problem_count();
    lua_createtable(L, (int)np, 0);
    for (size_t i = 0; i < np; i++) {
        lua_pushstring(L, mto_plugin_problem_at(i));
        lua_seti(L, -2, (lua_Integer)i + 1);
    }
    return 2;
}

/* mto.load_plugin(path) -> true; raises a message naming the file and the reason */
static int l_load_plugin(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    mto_error err;
    mto_error_clear(&err);
    mto_plugins_load_all(NULL);
    if (mto_plugin_load_file(path, &err) != 0) return mto_lua_error(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* mto.plugin_path() -> the directories searched, ':'-separated */
static int l_plugin_path(lua_State *L)
{
    mto_plugins_load_all(NULL);
    lua_pushstring(L, mto_plugin_search_path());
    return 1;
}

/* mto.backend([name]) -> the matmul backend in use ("openblas", "dnnl") and a
 * one-line description (OpenBLAS core, oneDNN version and ISA, bf16 native or not);
 * with a name, switch to it first (an error when not built in). */
static int l_backend(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        const char *name = luaL_checkstring(L, 1);
        int b = mto_matmul_parse(name);
        if (b < 0) return luaL_error(L, "mto.backend: unknown backend '%s' (openblas, dnnl)", name);
        mto_error e;
        mto_error_clear(&e);
        if (mto_matmul_set_backend(b, &e)) return luaL_error(L, "mto.backend: %s", e.msg);
    }
    char d[256];
    mto_matmul_describe(d, sizeof d);
    lua_pushstring(L, mto_matmul_backend_name(mto_matmul_backend()));
    lua_pushstring(L, d);
    lua_pushboolean(L, mto_matmul_bf16_native());
    return 3;
}

void mto_lua_open_core(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"plugins", l_plugins},
        {"load_plugin", l_load_plugin},
        {"plugin_path", l_plugin_path},
        {"backend", l_backend},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
    lua_pushstring(L, PACKAGE_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, MTO_ABI_VERSION);
    lua_setfield(L, -2, "abi_version");
}
