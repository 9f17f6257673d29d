/* mto/alloc.h — libmto's allocation calls, with a failure-injection hook.
 *
 * Every allocation in the core goes through these so that out-of-memory paths
 * can be tested: after mto_set_alloc_fail_after(n), the first n allocations
 * succeed and every later one returns NULL until the hook is reset with -1.
 * The memory comes from the C library, so mto_free() and free() are the same
 * thing and either may release it. The counter is atomic (pool threads). */
#ifndef MTO_ALLOC_H
#define MTO_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *mto_malloc(size_t n);                    /* malloc(), or NULL when the hook says fail */
void *mto_calloc(size_t n, size_t size);       /* calloc(), or NULL when the hook says fail */
void *mto_realloc(void *p, size_t n);          /* realloc(); on failure p is left untouched */
void *mto_aligned_alloc(size_t align, size_t n); /* aligned_alloc() with n rounded up to align */
char *mto_strdup(const char *s);               /* strdup() through the hook */
char *mto_strndup(const char *s, size_t n);    /* strndup() through the hook */
void mto_free(void *p);                        /* free(); also accepts NULL */

/* Let n more allocations succeed, then fail all later ones; n < 0 turns the hook off. */
void mto_set_alloc_fail_after(long n);
/* Allocations attempted while the hook is on (set n = LONG_MAX to just count). */
long mto_alloc_count(void);

#ifdef __cplusplus
}
#endif
#endif
