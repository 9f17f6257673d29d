/* l_key.c — what resume keys are made of (lua/mto/key.lua): a 64-bit hash of a
 * string and the identity of a file (size, mtime, content hash).
 *
 *   mto._hash(s) -> 16 hex digits
 *   mto._file_id(path) -> {size=, mtime=, dev=, ino=} | nil, message   (stat only)
 *   mto._model_hash(m) -> 16 hex digits of a model's parameters
 *   mto._hash_file(path) -> 16 hex digits | nil, message  (regular files only: a FIFO
 *                                                        or device is refused, never read)
 * The hash is not cryptographic: it tells versions of one's own files apart. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "lmto.h"
#include "mto/t5.h"

typedef struct { uint64_t h, n; } hstate;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* 8 bytes at a time; the length goes into the final mix */
static void hupdate(hstate *s, const unsigned char *p, size_t len)
{
    s->n += len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        s->h = (s->h ^ mix(w + 0x9e3779b97f4a7c15ULL)) * 0x100000001b3ULL;
    }
    for (; i < len; i++) s->h = (s->h ^ p[i]) * 0x100000001b3ULL;
}

static void hpush(lua_State *L, const hstate *s)
{
    char out[17];
    snprintf(out, sizeof out, "%016llx", (unsigned long long)mix(s->h ^ s->n));
    lua_pushstring(L, out);
}

static int l_hash(lua_State *L)
{
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len);
    hstate s = {0xcbf29ce484222325ULL, 0};
    hupdate(&s, (const unsigned char *)p, len);
    hpush(L, &s);
    return 1;
}

static int l_file_id(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (stat(path, &st) != 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)st.st_size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    lua_setfield(L, -2, "mtime");
    lua_pushinteger(L, (lua_Integer)st.st_dev);
    lua_setfield(L, -2, "dev");
    lua_pushinteger(L, (lua_Integer)st.st_ino);
    lua_setfield(L, -2, "ino");
    lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
    lua_setfield(L, -2, "type");
    return 1;
}

static int l_hash_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int fd;
    while ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 && errno == EINTR) {}
    struct stat st;
    const char *why = NULL;
    if (fd < 0) why = strerror(errno);
    else if (fstat(fd, &st) != 0) why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) why = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
    if (why) {
        if (fd >= 0) close(fd);
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", path, why);
        return 2;
    }
    hstate s = {0xcbf29ce484222325ULL, 0};
    unsigned char buf[1 << 16];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int en = errno;
            close(fd);
            luaL_pushfail(L);
            lua_pushfstring(L, "%s: read error: %s", path, strerror(en));
            return 2;
        }
        if (n == 0) break;
        hupdate(&s, buf, (size_t)n);
    }
    close(fd);
    hpush(L, &s);
    return 1;
}

/* mto._model_hash(m) -> 16 hex digits of an in-memory model's parameters (a sweep's
 * models given as objects: their weights are part of every point's key). */
static int l_model_hash(lua_State *L)
{
    mto_lua_model *u = luaL_checkudata(L, 1, MTO_LUA_MODEL_MT);
    if (!u->m) return luaL_error(L, "model has been freed");
    hstate s = {0xcbf29ce484222325ULL, 0};
    hupdate(&s, (const unsigned char *)u->m->params, u->m->numel * sizeof(float));
    hpush(L, &s);
    return 1;
}

void mto_lua_open_key(lua_State *L)
{
    static const luaL_Reg f[] = {{"_hash", l_hash}, {"_file_id", l_file_id}, {"_hash_file", l_hash_file},
                                 {"_model_hash", l_model_hash}, {NULL, NULL}};
    luaL_setfuncs(L, f, 0);
}
