/* l_fs.c — the file-system and clock helpers of the pure-Lua modules (sweeps,
 * results, locks), private to them; lua/mto/fs.lua is their public face:
 *
 *   mto._append_line(path, line)  one O_APPEND write + fsync: the whole line or nothing
 *   mto._write_file(path, text)   temp file + fsync + rename: never a partial file
 *   mto._mkdir(path)              mkdir -p
 *   mto._listdir(dir)             sorted entry names (no . and ..), or nil, message
 *   mto._isatty([fd = 2]), mto._clock()  (monotonic seconds) */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lmto.h"

/* mto._append_line(path, line): one write(2) of line.."\n" with O_APPEND, then fsync,
 * so a killed process leaves either the whole line or nothing. */
static int l_append_line(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (memchr(s, '\n', n)) return luaL_error(L, "_append_line: %s: the line contains a newline", path);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, s, n);
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return luaL_error(L, "%s: cannot open for appending: %s", path, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, line + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { int en = errno; close(fd); return luaL_error(L, "%s: write failed: %s", path, strerror(en)); }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) return luaL_error(L, "%s: cannot sync: %s", path, strerror(errno));
    return 0;
}

/* mto._write_file(path, text): temp file + fsync + rename: readers never see a partial file. */
static int l_write_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    lua_pushfstring(L, "%s.tmp.%d", path, (int)getpid());
    const char *tmp = lua_tostring(L, -1);
    FILE *f = fopen(tmp, "wb");
    if (!f) return luaL_error(L, "%s: cannot create: %s", tmp, strerror(errno));
    int bad = fwrite(s, 1, len, f) != len;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return luaL_error(L, "%s: cannot write: %s", path, strerror(errno));
    }
    return 0;
}

/* mto._mkdir(path): mkdir -p (existing directories are fine). */
static int l_mkdir(lua_State *L)
{
    size_t n;
    const char *path = luaL_checklstring(L, 1, &n);
    char *p = lua_newuserdatauv(L, n + 1, 0);
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        struct stat st;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) return luaL_error(L, "%s: cannot create directory: %s", p, strerror(errno));
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) return luaL_error(L, "%s: exists and is not a directory", p);
        p[i] = c;
    }
    return 0;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 2)));
    return 1;
}

static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    return 1;
}


static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* mto._listdir(dir): the sweep's per-rank result files are found this way. */
static int l_listdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    if (!d) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_newtable(L);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(d);
    /* sort in C order (a stable order whatever the file system returns) */
    const char **names = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *names, 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, -2, i + 1);
        names[i] = lua_tostring(L, -1);
        lua_pop(L, 1); /* the table keeps the strings alive */
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void mto_lua_open_fs(lua_State *L)
{
    static const luaL_Reg fns[] = {{"_append_line", l_append_line}, {"_write_file", l_write_file},
                                   {"_mkdir", l_mkdir}, {"_listdir", l_listdir}, {"_isatty", l_isatty},
                                   {"_clock", l_clock}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
