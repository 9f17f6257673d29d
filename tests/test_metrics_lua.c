/* test_metrics_lua.c — runs tests/metrics.lua in a Lua state whose `mto` table
 * holds only the metrics area (mto_lua_open_metrics), so the Lua surface is
 * tested on its own; the script prints the TAP. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lualib.h>

#include "lmto.h"

int main(void)
{
    const char *src = getenv("MTO_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/metrics.lua", src ? src : MTO_SRCDIR);
    lua_State *L = luaL_newstate();
    if (!L) {
        printf("Bail out! no Lua state\n");
        return 1;
    }
    luaL_openlibs(L);
    lua_newtable(L);
    mto_lua_open_metrics(L);
    lua_setglobal(L, "mto");
    int rc = luaL_dofile(L, path);
    if (rc != LUA_OK) printf("Bail out! %s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
