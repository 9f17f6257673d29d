/* matmul_stats.c — time spent in the matrix products alone, per shape, for
 * bench_train --products: the share of a training step that is cblas_sgemm
 * (or oneDNN) and how fast each shape runs. Off by default; then t5_mm pays
 * one predictable branch. Not thread-aware beyond a mutex: meant for 1 thread. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "matmul_impl.h"

int mto_mm_stats_on;

static mto_mm_stat g_stats[MTO_MM_STATS_MAX];
static int g_nstats;
static long g_dropped;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

double mto_mm_stats_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void mto_mm_stats_enable(int on)
{
    pthread_mutex_lock(&g_lock);
    g_nstats = 0;
    g_dropped = 0;
    pthread_mutex_unlock(&g_lock);
    mto_mm_stats_on = on;
}

void mto_mm_stats_add(int ta, int tb, int M, int N, int K, double t0)
{
    double dt = mto_mm_stats_clock() - t0;
    pthread_mutex_lock(&g_lock);
    int i = 0;
    while (i < g_nstats && !(g_stats[i].ta == ta && g_stats[i].tb == tb && g_stats[i].M == M &&
                             g_stats[i].N == N && g_stats[i].K == K))
        i++;
    if (i == g_nstats && g_nstats < MTO_MM_STATS_MAX)
        g_stats[g_nstats++] = (mto_mm_stat){ta, tb, M, N, K, 0, 0.0};
    if (i < g_nstats) {
        g_stats[i].calls++;
        g_stats[i].seconds += dt;
    } else {
        g_dropped++; /* more distinct shapes than slots: said by mto_mm_stats_get */
    }
    pthread_mutex_unlock(&g_lock);
}

int mto_mm_stats_get(mto_mm_stat *out, int max, long *dropped)
{
    pthread_mutex_lock(&g_lock);
    int n = g_nstats < max ? g_nstats : max;
    memcpy(out, g_stats, (size_t)n * sizeof *out);
    if (dropped) *dropped = g_dropped;
    pthread_mutex_unlock(&g_lock);
    return n;
}
