/* l_workers.c — what a sweep needs to run its points in local worker processes
 * (sweep:run{workers = N}, lua/mto/sweep.lua): fork, wait, the child's exit, claims,
 * the engine's thread count and the number of usable cores. Tiny models train
 * faster as N one-thread processes than as one N-thread process: their matrix
 * products are too small to split. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "lmto.h"
#include "mto/t5.h"

/* mto._fork() -> pid in the parent, 0 in the child | nil, message. Flushes every
 * stdio stream first so buffered output is not written twice. */
static int l_fork(lua_State *L)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "fork: %s", strerror(errno));
        return 2;
    }
#ifdef __linux__
    /* a worker must not outlive a killed sweep: its rows are already on disk */
    if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)) _exit(1);
#else
    (void)parent;
#endif
    lua_pushinteger(L, pid);
    return 1;
}

/* mto._wait(pid [, nohang]) -> true | nil, "exited with status N" / "killed by signal N (NAME)";
 * with nohang, false, "running" while the process still runs. */
static int l_wait(lua_State *L)
{
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    int st, nohang = lua_toboolean(L, 2);
    pid_t r;
    while ((r = waitpid(pid, &st, nohang ? WNOHANG : 0)) < 0 && errno == EINTR) {}
    if (r == 0 && nohang) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "running");
        return 2;
    }
    luaL_pushfail(L);
    if (r < 0) lua_pushfstring(L, "waitpid %d: %s", (int)pid, strerror(errno));
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { lua_pushboolean(L, 1); return 1; }
    else if (WIFEXITED(st)) lua_pushfstring(L, "exited with status %d", WEXITSTATUS(st));
    else lua_pushfstring(L, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    return 2;
}

/* mto._exit(code): a forked worker's end — flush stdio, skip the parent's
 * finalisers and atexit handlers (they belong to the parent). */
static int l_exit(lua_State *L)
{
    int code = (int)luaL_optinteger(L, 1, 0);
    fflush(NULL);
    _exit(code);
    return 0;
}

/* mto._claim(path) -> true if this call created the file, false if it existed
 * | nil, message. Workers take points this way (O_EXCL is atomic), so a slow
 * point never holds back the others. */
static int l_claim(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        close(fd);
        lua_pushboolean(L, 1);
        return 1;
    }
    if (errno == EEXIST) {
        lua_pushboolean(L, 0);
        return 1;
    }
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
}

/* mto.threads([n]) -> the thread count models train with; with n, sets it and
 * returns the previous one. */
static int l_threads(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_pushinteger(L, mto_threads());
        return 1;
    }
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 1 && n <= 1024, 1, "a thread count 1..1024");
    lua_pushinteger(L, mto_set_threads((int)n));
    return 1;
}

/* mto.ncpu() -> cores this process may run on (its affinity mask). */
static int l_ncpu(lua_State *L)
{
    long n = 0;
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    lua_pushinteger(L, n < 1 ? 1 : n);
    return 1;
}

/* mto._sleep(seconds): the sweep's parent polls its workers' progress this way. */
static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    if (!(s > 0)) return 0;
    if (s > 3600) s = 3600;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    return 0;
}

void mto_lua_open_workers(lua_State *L)
{
    static const luaL_Reg f[] = {{"_fork", l_fork}, {"_wait", l_wait}, {"_sleep", l_sleep}, {"_exit", l_exit}, {"_claim", l_claim},
                                 {"threads", l_threads}, {"ncpu", l_ncpu}, {NULL, NULL}};
    luaL_setfuncs(L, f, 0);
}
