/* l_modules.c — the pure-Lua modules (lua/mto/NAME.lua), embedded as C strings
 * by the rule in lua/lua.am, so `require "mto.sweep"` works from an installed
 * mto.so with no Lua path set up; and mto_lua_call_module, through which
 * mto.sweep{...}, mto.match{...} and friends call into them. */
#include <stdio.h>

#include "lmto.h"
#include "lua/mto_lua_modules.h" /* generated from lua/mto/NAME.lua by lua/lua.am */

static int load_embedded(lua_State *L)
{
    const mto_lua_module *mod = lua_touserdata(L, lua_upvalueindex(1));
    char chunk[128];
    snprintf(chunk, sizeof chunk, "@%s", mod->file);
    if (luaL_loadbuffer(L, (const char *)mod->text, mod->len, chunk) != LUA_OK) return lua_error(L);
    lua_pushstring(L, mod->name);
    lua_call(L, 1, 1);
    return 1;
}

/* mto.sweep, mto.match etc.: require the module (upvalue 1), call its function (upvalue 2)
 * with our arguments. */
int mto_lua_call_module(lua_State *L)
{
    int nargs = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 1, 1);
    lua_getfield(L, -1, lua_tostring(L, lua_upvalueindex(2)));
    if (!lua_isfunction(L, -1))
        return luaL_error(L, "%s has no function %s", lua_tostring(L, lua_upvalueindex(1)), lua_tostring(L, lua_upvalueindex(2)));
    lua_insert(L, 1);
    lua_pop(L, 1); /* the module table */
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}


void mto_lua_open_modules(lua_State *L)
{
    /* package.preload["mto.sweep"] = loader, ... */
    int top = lua_gettop(L);
    if (lua_getglobal(L, "package") == LUA_TTABLE && lua_getfield(L, -1, "preload") == LUA_TTABLE) {
        for (size_t i = 0; i < sizeof mto_lua_modules / sizeof mto_lua_modules[0]; i++) {
            lua_pushlightuserdata(L, (void *)&mto_lua_modules[i]);
            lua_pushcclosure(L, load_embedded, 1);
            lua_setfield(L, -2, mto_lua_modules[i].name);
        }
    }
    lua_settop(L, top);
}

void mto_lua_add_module_entries(lua_State *L, const char *const (*entry)[3], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, entry[i][1]);
        lua_pushstring(L, entry[i][2]);
        lua_pushcclosure(L, mto_lua_call_module, 2);
        lua_setfield(L, -2, entry[i][0]);
    }
}
