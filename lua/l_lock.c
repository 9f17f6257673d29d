/* l_lock.c — advisory fcntl (POSIX record) locks for results directories
 * (lua/mto/lock.lua). fcntl locks, not flock(2) or lock files made with O_EXCL:
 * they work across machines on NFS (through the NFS lock manager / NFSv4 locking)
 * and on Lustre (mounted with -o flock, the default on most sites), they are
 * released by the kernel when the holder dies (no stale lock after SIGKILL or a
 * node crash once the server notices), and byte ranges let one file carry a
 * shared "a shard is running" lock and an exclusive per-shard lock at once.
 *
 * A POSIX lock belongs to the process and is dropped as soon as the process
 * closes ANY descriptor of the file: callers keep exactly one handle per lock
 * file and read/write it only through that handle (h:read, h:write).
 *
 *   mto._lockfile(path) -> handle | nil, message     (opens or creates path, 0644)
 *   h:try("r"|"w", start, len) -> true | false, {type=, start=, len=, pid=}
 *   h:test("r"|"w", start, len) -> nil | the conflicting lock (nothing taken)
 *   h:unlock(start, len)   h:read() -> text   h:write(text)   h:close()
 *   mto._hostname() -> the host name;  mto._getpid() -> this process's id
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "lmto.h"

#define LOCK_MT "mto.lockfile"

typedef struct { int fd; } lockfile;

static lockfile *check_lock(lua_State *L)
{
    lockfile *h = luaL_checkudata(L, 1, LOCK_MT);
    if (h->fd < 0) luaL_error(L, "lock file has been closed");
    return h;
}

static int l_lockfile(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lockfile *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->fd = -1;
    luaL_setmetatable(L, LOCK_MT);
    int fd;
    while ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644)) < 0 && errno == EINTR) {}
    if (fd < 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: cannot open the lock file: %s", path, strerror(errno));
        return 2;
    }
    h->fd = fd;
    return 1;
}

static off_t check_off(lua_State *L, int idx, const char *what)
{
    lua_Integer v = luaL_checkinteger(L, idx);
    if (v < 0 || v > (lua_Integer)0x7fffffffffffLL) luaL_error(L, "lock: %s %I out of range", what, v);
    return (off_t)v;
}

/* Fill the table on top of the stack with a conflicting lock as F_GETLK reports it:
 * {type = "r" | "w", start =, len =, pid =}. */
static void set_holder(lua_State *L, const struct flock *q)
{
    lua_pushstring(L, q->l_type == F_RDLCK ? "r" : "w");
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, (lua_Integer)q->l_start);
    lua_setfield(L, -2, "start");
    lua_pushinteger(L, (lua_Integer)q->l_len);
    lua_setfield(L, -2, "len");
    lua_pushinteger(L, (lua_Integer)q->l_pid);
    lua_setfield(L, -2, "pid");
}

static int l_try(lua_State *L)
{
    lockfile *h = check_lock(L);
    static const char *const kinds[] = {"r", "w", NULL};
    int kind = luaL_checkoption(L, 2, NULL, kinds);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = kind == 0 ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = check_off(L, 3, "start");
    fl.l_len = check_off(L, 4, "length"); /* 0: to the end of the file and beyond */
    int r;
    while ((r = fcntl(h->fd, F_SETLK, &fl)) < 0 && errno == EINTR) {}
    if (r == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (errno != EACCES && errno != EAGAIN)
        return luaL_error(L, "lock: fcntl(F_SETLK): %s", strerror(errno));
    lua_pushboolean(L, 0);
    /* who holds it (on NFS the pid may be the server's view; lock.lua records the
     * holder's pid and host in the files themselves) */
    struct flock q = fl;
    lua_createtable(L, 0, 4);
    if (fcntl(h->fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK) {
        set_holder(L, &q);
    }
    return 2;
}

/* h:test(kind, start, len) -> nil when that lock could be taken now, else the
 * conflicting lock as h:try describes it (F_GETLK: nothing is taken). */
static int l_test(lua_State *L)
{
    lockfile *h = check_lock(L);
    const char *kind = luaL_checkstring(L, 2);
    struct flock q;
    memset(&q, 0, sizeof q);
    q.l_type = kind[0] == 'r' ? F_RDLCK : F_WRLCK;
    q.l_whence = SEEK_SET;
    q.l_start = check_off(L, 3, "start");
    q.l_len = check_off(L, 4, "length");
    if (fcntl(h->fd, F_GETLK, &q) != 0) return luaL_error(L, "lock: fcntl(F_GETLK): %s", strerror(errno));
    if (q.l_type == F_UNLCK) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 4);
    set_holder(L, &q);
    return 1;
}

static int l_unlock(lua_State *L)
{
    lockfile *h = check_lock(L);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = check_off(L, 2, "start");
    fl.l_len = check_off(L, 3, "length");
    int r;
    while ((r = fcntl(h->fd, F_SETLK, &fl)) < 0 && errno == EINTR) {}
    if (r != 0) return luaL_error(L, "lock: unlock: %s", strerror(errno));
    return 0;
}

static int l_read(lua_State *L)
{
    lockfile *h = check_lock(L);
    char buf[4096];
    ssize_t n;
    while ((n = pread(h->fd, buf, sizeof buf, 0)) < 0 && errno == EINTR) {}
    if (n < 0) return luaL_error(L, "lock: read: %s", strerror(errno));
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static int l_write(lua_State *L)
{
    lockfile *h = check_lock(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    if (ftruncate(h->fd, 0) != 0) return luaL_error(L, "lock: truncate: %s", strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(h->fd, s + done, len - done, (off_t)done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return luaL_error(L, "lock: write: %s", strerror(errno));
        done += (size_t)w;
    }
    return 0;
}

static int l_close(lua_State *L)
{
    lockfile *h = luaL_checkudata(L, 1, LOCK_MT);
    if (h->fd >= 0) close(h->fd); /* drops every lock this process holds on the file */
    h->fd = -1;
    return 0;
}

static int l_hostname(lua_State *L)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0) strcpy(host, "unknown-host");
    host[sizeof host - 1] = '\0';
    lua_pushstring(L, host);
    return 1;
}

static int l_getpid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

void mto_lua_open_lock(lua_State *L)
{
    static const luaL_Reg m[] = {{"try", l_try}, {"test", l_test}, {"unlock", l_unlock}, {"read", l_read},
                                 {"write", l_write}, {"close", l_close}, {NULL, NULL}};
    if (luaL_newmetatable(L, LOCK_MT)) {
        luaL_newlib(L, m);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    static const luaL_Reg f[] = {{"_lockfile", l_lockfile}, {"_hostname", l_hostname}, {"_getpid", l_getpid}, {NULL, NULL}};
    luaL_setfuncs(L, f, 0);
}
