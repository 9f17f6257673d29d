/* tap.h — a tiny TAP producer for C tests (read by automake's tap-driver.sh).
 * Header-only: each test program includes it once. Every assertion prints one
 * "ok N - name" / "not ok N - name" line; tap_done() prints the plan and
 * returns the exit status. */
#ifndef MTO_TAP_H
#define MTO_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((unused)) static int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    ++tap_n;
    if (!cond) ++tap_failed;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

/* Diagnostic line (ignored by the TAP parser, shown in the .log). */
__attribute__((unused)) static void tap_diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Skip one check with a reason (a real TAP skip, reported as SKIP). */
__attribute__((unused)) static void tap_skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)
#define is_int(got, want, name)                                                      \
    do {                                                                             \
        long long g_ = (long long)(got), w_ = (long long)(want);                     \
        if (!tap_ok(g_ == w_, "%s", name)) tap_diag("got %lld, want %lld", g_, w_);  \
    } while (0)
#define is_str(got, want, name)                                                      \
    do {                                                                             \
        const char *g_ = (got), *w_ = (want);                                        \
        int e_ = g_ && w_ && strcmp(g_, w_) == 0;                                    \
        if (!tap_ok(e_, "%s", name))                                                 \
            tap_diag("got \"%s\", want \"%s\"", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)
/* |got - want| <= tol */
#define is_near(got, want, tol, name)                                                \
    do {                                                                             \
        double g_ = (got), w_ = (want), t_ = (tol);                                  \
        if (!tap_ok(fabs(g_ - w_) <= t_, "%s", name))                                \
            tap_diag("got %.9g, want %.9g (tol %.3g)", g_, w_, t_);                  \
    } while (0)

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
