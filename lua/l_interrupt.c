/* l_interrupt.c — what a sweep says when SIGINT or SIGTERM ends it (lua/mto/sweep.lua):
 * "mto: sweep interrupted: K of N points done; rerun to resume". The process still
 * ends by the signal (its exit status says so); every finished row is already on
 * disk, whole. K counts the points done before the run, the points this process
 * finished, and the rows in the part files of its local workers (counted by the
 * handler with open/read/close, which are async-signal-safe).
 *
 *   mto._sweep_interrupt(n, done [, parts]) -- install (or update); parts: file paths
 *   mto._sweep_interrupt(nil)               -- restore the previous handlers
 *   mto._sweep_done(k)                      -- k points done so far
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lmto.h"
#include "mto/train.h"

#define MAX_PARTS 256
static volatile sig_atomic_t installed;
static volatile long total, done_k;
static char *parts[MAX_PARTS];
static int nparts;
static struct sigaction old_int, old_term;

static char *put_long(char *p, long v)
{
    char d[24];
    int n = 0;
    if (v < 0) v = 0;
    do d[n++] = (char)('0' + v % 10); while ((v /= 10) > 0);
    while (n) *p++ = d[--n];
    return p;
}

/* whole rows in a part file: its lines minus the header */
static long part_rows(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[4096];
    long lines = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++) lines += buf[i] == '\n';
    close(fd);
    return lines > 0 ? lines - 1 : 0;
}

static volatile sig_atomic_t term_stopping;

static void on_signal(int sig)
{
    /* the first SIGTERM during training (a Slurm time limit): the loop finishes its step,
     * saves its training state and stops, as the CLI's own SIGTERM handler does; the
     * point then fails with "its training state is kept" and the rerun resumes it */
    if (sig == SIGTERM && !term_stopping && mto_train_active()) {
        term_stopping = 1;
        mto_train_request_stop();
        return;
    }
    long k = done_k;
    for (int i = 0; i < nparts; i++) k += part_rows(parts[i]);
    char msg[160], *p = msg;
    static const char a[] = "\nmto: sweep interrupted: ", b[] = " of ", c[] = " points done; rerun to resume\n";
    memcpy(p, a, sizeof a - 1), p += sizeof a - 1;
    p = put_long(p, k);
    memcpy(p, b, sizeof b - 1), p += sizeof b - 1;
    p = put_long(p, total);
    memcpy(p, c, sizeof c - 1), p += sizeof c - 1;
    ssize_t w = write(2, msg, (size_t)(p - msg));
    (void)w;
    /* end by the signal, as without the handler */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void clear_parts(void)
{
    for (int i = 0; i < nparts; i++) free(parts[i]);
    nparts = 0;
}

static int l_sweep_interrupt(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        if (installed) {
            sigaction(SIGINT, &old_int, NULL);
            sigaction(SIGTERM, &old_term, NULL);
            installed = 0;
        }
        clear_parts();
        return 0;
    }
    lua_Integer n = luaL_checkinteger(L, 1), k = luaL_checkinteger(L, 2);
    /* the handler must not see a half-updated list */
    sigset_t set, prev;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &prev);
    total = (long)n, done_k = (long)k;
    clear_parts();
    if (lua_istable(L, 3)) {
        lua_Integer m = luaL_len(L, 3);
        for (lua_Integer i = 1; i <= m && nparts < MAX_PARTS; i++) {
            lua_geti(L, 3, i);
            const char *s = lua_tostring(L, -1);
            if (s && (parts[nparts] = strdup(s))) nparts++;
            lua_pop(L, 1);
        }
    }
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        installed = 1;
    }
    sigprocmask(SIG_SETMASK, &prev, NULL);
    return 0;
}

static int l_sweep_done(lua_State *L)
{
    done_k = (long)luaL_checkinteger(L, 1);
    return 0;
}

void mto_lua_open_interrupt(lua_State *L)
{
    static const luaL_Reg f[] = {{"_sweep_interrupt", l_sweep_interrupt}, {"_sweep_done", l_sweep_done},
                                 {NULL, NULL}};
    luaL_setfuncs(L, f, 0);
}
