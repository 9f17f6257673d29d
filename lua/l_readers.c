/* l_readers.c — mto.read(reader, path, opts) -> records, counts.
 *
 * opts is a table of options for the reader: strings, numbers and booleans
 * (true -> "1") pass as text; an array becomes a comma list
 * (relations = {"xIntent", "xNeed"} -> "xIntent,xNeed"); a table of pairs
 * becomes both KEY.field options and one "field=value,..." option
 * (map = {head = "input_text"} -> map.head and map = "head=input_text").
 * Records come back as tables of strings, except line, nchoices and
 * answer_index, which are integers. counts holds what the reader skipped
 * (e.g. counts.none_tails). Errors raise a Lua error naming file:line. */
#include <stdlib.h>
#include <string.h>

#include "lmto.h"
#include "mto/host.h"
#include "mto/reader.h"

/* Append s to a growing comma list; returns 0 or -1 on allocation failure. */
static int list_add(char **list, size_t *len, const char *a, const char *b)
{
    size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + 2;
    char *p = realloc(*list, *len + n);
    if (!p) return -1;
    *list = p;
    *len += (size_t)snprintf(p + *len, n, "%s%s%s%s", *len ? "," : "", a, b ? "=" : "", b ? b : "");
    return 0;
}

/* Fill o from the table at idx; on a bad value writes a message to why. */
static int opts_from_table(lua_State *L, int idx, mto_options *o, char *why, size_t cap)
{
    char buf[64];
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(why, cap, "option keys must be strings");
            lua_pop(L, 2);
            return -1;
        }
        const char *key = lua_tostring(L, -2), *v;
        int rc = 0;
        if ((v = mto_lua_scalar(L, -1, buf, sizeof buf))) {
            rc = mto_options_set(o, key, v);
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            char *list = NULL;
            size_t len = 0;
            int t = lua_gettop(L);
            lua_Integer n = (lua_Integer)lua_rawlen(L, t);
            if (n > 0) { /* array: a comma list */
                for (lua_Integer i = 1; i <= n && !rc; i++) {
                    lua_rawgeti(L, t, i);
                    const char *e = mto_lua_scalar(L, -1, buf, sizeof buf);
                    rc = e ? list_add(&list, &len, e, NULL) : -2;
                    lua_pop(L, 1);
                }
            } else { /* pairs: KEY.field options and "field=value,..." */
                lua_pushnil(L);
                while (!rc && lua_next(L, t)) {
                    const char *f = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
                    const char *e = mto_lua_scalar(L, -1, buf, sizeof buf);
                    if (!f || !e) rc = -2;
                    else {
                        char *full = malloc(strlen(key) + strlen(f) + 2);
                        if (!full) rc = -1;
                        else {
                            sprintf(full, "%s.%s", key, f);
                            rc = mto_options_set(o, full, e) ? -1 : list_add(&list, &len, f, e);
                            free(full);
                        }
                    }
                    lua_pop(L, 1);
                }
                if (rc) lua_pop(L, 1); /* the key lua_next left */
            }
            if (!rc && list) rc = mto_options_set(o, key, list);
            free(list);
        } else {
            rc = -2;
        }
        if (rc) {
            snprintf(why, cap, rc == -2 ? "option '%s': expected a string, number, boolean or a "
                                          "table of them" : "out of memory setting option '%s'",
                     key);
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int is_integer_field(const char *f)
{
    return !strcmp(f, "line") || !strcmp(f, "nchoices") || !strcmp(f, "answer_index");
}

static void push_record(lua_State *L, const mto_record *r)
{
    size_t n = mto_record_nfields(r);
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        const char *v, *f = mto_record_field_at(r, i, &v);
        char *end;
        long long k = strtoll(v, &end, 10);
        if (is_integer_field(f) && *v && !*end) lua_pushinteger(L, (lua_Integer)k);
        else lua_pushstring(L, v);
        lua_setfield(L, -2, f);
    }
}

static int l_read(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *path = luaL_optstring(L, 2, "");
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    mto_error err = {0};
    mto_options *o = mto_options_new();
    if (!o) return luaL_error(L, "out of memory");
    char why[256];
    if (!lua_isnoneornil(L, 3) && opts_from_table(L, 3, o, why, sizeof why)) {
        mto_options_free(o);
        return luaL_error(L, "mto.read(%s): %s", name, why);
    }
    mto_record_sink sink;
    mto_sink_init(&sink);
    int rc = mto_reader_read(name, path, o, &sink, &err);
    mto_options_free(o);
    if (rc) {
        mto_sink_free(&sink);
        return mto_lua_error(L, &err);
    }
    lua_createtable(L, (int)sink.len, 0);
    for (size_t i = 0; i < sink.len; i++) {
        push_record(L, sink.items[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_createtable(L, 0, (int)sink.ncounts);
    for (size_t i = 0; i < sink.ncounts; i++) {
        lua_pushinteger(L, sink.counts[i].n);
        lua_setfield(L, -2, sink.counts[i].what);
    }
    mto_sink_free(&sink);
    return 2;
}

void mto_lua_open_readers(lua_State *L)
{
    lua_pushcfunction(L, l_read);
    lua_setfield(L, -2, "read");
}
