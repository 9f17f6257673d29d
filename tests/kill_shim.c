/* kill_shim.c — a test-only LD_PRELOAD library that SIGKILLs the process at
 * an exact point of a file write, for tests/sweep_kill.sh. Nothing in libmto
 * knows about it. MTO_TEST_KILL_AT=WHAT:PATTERN[:N] kills at the N-th
 * (default 1st) matching event, where the path contains PATTERN:
 *   rename-before   rename(2) to a matching path is about to happen (the temp
 *                   file is complete and synced, the target untouched)
 *   rename-after    just after that rename (the next file is not written yet)
 *   write-torn      a write(2) to a matching file: half the bytes are written,
 *                   then the kill (a torn append or a half-written temp file)
 * The write events look up the fd's path in /proc/self/fd, so they only cost
 * anything when the variable is set. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char what[32], pattern[PATH_MAX];
static long nth = 1, seen;
static int parsed;

static void parse(void)
{
    if (parsed) return;
    parsed = 1;
    const char *s = getenv("MTO_TEST_KILL_AT");
    if (!s || !*s) return;
    const char *c1 = strchr(s, ':');
    if (!c1 || (size_t)(c1 - s) >= sizeof what) return;
    memcpy(what, s, (size_t)(c1 - s));
    snprintf(pattern, sizeof pattern, "%s", c1 + 1);
    char *c2 = strrchr(pattern, ':');
    if (c2) { nth = atol(c2 + 1); *c2 = '\0'; }
    if (nth < 1) nth = 1;
}

static int armed(const char *kind, const char *path)
{
    parse();
    return what[0] && strcmp(what, kind) == 0 && path && strstr(path, pattern) && ++seen == nth;
}

static void die(void)
{
    raise(SIGKILL);
    _exit(137); /* not reached */
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "rename");
    parse();
    int before = strcmp(what, "rename-before") == 0, after = strcmp(what, "rename-after") == 0;
    int hit = (before || after) && armed(what, to);
    if (hit && before) die();
    int rc = real(from, to);
    if (hit && after) die();
    return rc;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "write");
    parse();
    if (strcmp(what, "write-torn") == 0 && n > 1) {
        char link[64], path[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t k = readlink(link, path, sizeof path - 1);
        if (k > 0) {
            path[k] = '\0';
            if (armed("write-torn", path)) {
                real(fd, buf, n / 2);
                fsync(fd);
                die();
            }
        }
    }
    return real(fd, buf, n);
}
