/* alloc.c — allocation with a "fail after n" hook, so tests can walk every
 * out-of-memory path of the core (tests/test_oom.c). When the hook is off the
 * cost is one relaxed atomic load per allocation. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"

static atomic_long fail_after = -1; /* allocations still allowed; -1: unlimited */
static atomic_long attempts = 0;

void mto_set_alloc_fail_after(long n)
{
    atomic_store(&attempts, 0);
    atomic_store(&fail_after, n < 0 ? -1 : n);
}

long mto_alloc_count(void) { return atomic_load(&attempts); }

/* 1 when this allocation must fail. */
static int should_fail(void)
{
    if (atomic_load_explicit(&fail_after, memory_order_relaxed) < 0) return 0;
    long i = atomic_fetch_add(&attempts, 1);
    long lim = atomic_load(&fail_after);
    return lim >= 0 && i >= lim;
}

void *mto_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }
void *mto_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }
void *mto_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }
void mto_free(void *p) { free(p); }

void *mto_aligned_alloc(size_t align, size_t n)
{
    if (should_fail()) return NULL;
    /* C11 wants the size to be a multiple of the alignment. */
    size_t r = n % align ? n + (align - n % align) : n;
    return aligned_alloc(align, r ? r : align);
}

char *mto_strdup(const char *s)
{
    return mto_strndup(s, strlen(s));
}

char *mto_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = mto_malloc(len + 1);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}
