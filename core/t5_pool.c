/* t5_pool.c — the engine's helper threads for the loops that are not matrix
 * products (norms, activations, residual adds, cross-entropy, attention over
 * the batch). OpenBLAS threads the products; without this the rest of a step
 * would run on one core. The pool is per model (no global state), sized to
 * OpenBLAS's thread count, and its workers sleep on a condition variable
 * between jobs, so they never spin against OpenBLAS's threads. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "mto/alloc.h"
#include "t5_internal.h"

#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
#include <cblas.h>
#endif

struct t5_pool {
    int n;                    /* parts per job, the caller included */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    t5_task fn;
    void *ctx;
    unsigned long gen;        /* job counter: workers run each generation once */
    int pending, quit;
    pid_t pid;                /* a forked child has no workers: it runs jobs alone */
};

typedef struct worker_arg { t5_pool *p; int part; } worker_arg;

static void *worker(void *arg)
{
    worker_arg *a = arg;
    t5_pool *p = a->p;
    int part = a->part;
    free(a);
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) { pthread_mutex_unlock(&p->mu); return NULL; }
        seen = p->gen;
        t5_task fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);
        fn(ctx, part, p->n);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

int mto_threads(void) { return t5_threads_wanted(); }

int mto_set_threads(int n)
{
    int old = t5_threads_wanted();
    if (n < 1) n = 1;
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(n > T5_MAX_THREADS ? T5_MAX_THREADS : n);
#endif
    return old; /* each model resizes its pool before its next step */
}

int t5_threads_wanted(void)
{
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    int n = openblas_get_num_threads();
    return n < 1 ? 1 : n > T5_MAX_THREADS ? T5_MAX_THREADS : n;
#else
    return 1;
#endif
}

t5_pool *t5_pool_new(int n)
{
    if (n <= 1) return NULL;
    t5_pool *p = mto_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->th = mto_calloc((size_t)n, sizeof *p->th);
    if (!p->th) { free(p); return NULL; }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = 1;
    p->pid = getpid();
    for (int i = 1; i < n; i++) {
        worker_arg *a = mto_malloc(sizeof *a);
        if (!a) break;
        a->p = p; a->part = i;
        if (pthread_create(&p->th[i], NULL, worker, a)) { free(a); break; }
        p->n++;
    }
    if (p->n == 1) { t5_pool_free(p); return NULL; }
    return p;
}

void t5_pool_free(t5_pool *p)
{
    if (!p) return;
    if (p->pid != getpid()) { free(p->th); free(p); return; } /* workers live in the parent only */
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p);
}

int t5_pool_size(const t5_pool *p) { return p ? p->n : 1; }

void t5_pool_run(t5_pool *p, t5_task fn, void *ctx)
{
    if (!p) { fn(ctx, 0, 1); return; }
    if (p->pid != getpid()) { /* after fork(): same parts, same results, one thread */
        for (int i = 0; i < p->n; i++) fn(ctx, i, p->n);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->n - 1;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    pthread_mutex_lock(&p->mu);
    while (p->pending) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void t5_split(size_t n, size_t align, int part, int nparts, size_t *lo, size_t *hi)
{
    size_t blocks = (n + align - 1) / align, per = blocks / (size_t)nparts, extra = blocks % (size_t)nparts;
    size_t p = (size_t)part, b0 = p * per + (p < extra ? p : extra);
    size_t b1 = b0 + per + (p < extra);
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}
