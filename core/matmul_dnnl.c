/* matmul_dnnl.c — the oneDNN backend: one matmul primitive per shape (sizes,
 * transposes, leading dimensions, data type, alpha, beta), created on first
 * use and kept in a small cache, so a call costs a lookup and an execute.
 * bf16 products take bf16 A and B and write fp32 C (fp32 accumulation).
 * Built only with oneDNN (configure --with-dnnl); otherwise the stubs at the
 * end say it is not there. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matmul_impl.h"

#ifdef HAVE_DNNL
#include <dlfcn.h>
#include <pthread.h>

#include <oneapi/dnnl/dnnl.h>

enum { CACHE_CAP = 256 };

typedef struct mm_key {
    int bf16, ta, tb, M, N, K, lda, ldb, ldc, threads; /* oneDNN splits the work at creation */
    float alpha, beta;
} mm_key;

typedef struct mm_entry {
    mm_key k;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
    unsigned long used;
} mm_entry;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t g_eng;
static dnnl_stream_t g_stream;
static int g_ok;
static mm_entry g_cache[CACHE_CAP];
static int g_n;
static unsigned long g_clock;
static long g_created;
static void (*g_omp_set)(int); /* omp_set_num_threads of the OpenMP runtime oneDNN uses, if any */

static void init(void)
{
    if (dnnl_engine_create(&g_eng, dnnl_cpu, 0) != dnnl_success) return;
    if (dnnl_stream_create(&g_stream, g_eng, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(g_eng);
        return;
    }
    *(void **)&g_omp_set = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    g_ok = 1;
}

int mto_dnnl_available(void)
{
    pthread_once(&g_once, init);
    return g_ok;
}

int mto_dnnl_bf16_native(void)
{
    if (!mto_dnnl_available()) return 0;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

void mto_dnnl_describe(char *buf, size_t n)
{
    if (!mto_dnnl_available()) { snprintf(buf, n, "oneDNN unavailable"); return; }
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, n, "oneDNN %d.%d.%d (%s)", v->major, v->minor, v->patch, isa_name(dnnl_get_effective_cpu_isa()));
}

long mto_dnnl_primitives_created(void) { return g_created; }

static int same(const mm_key *a, const mm_key *b)
{
    return a->bf16 == b->bf16 && a->ta == b->ta && a->tb == b->tb && a->M == b->M && a->N == b->N && a->K == b->K &&
           a->lda == b->lda && a->ldb == b->ldb && a->ldc == b->ldc && a->threads == b->threads && a->alpha == b->alpha && a->beta == b->beta;
}

static void entry_free(mm_entry *e)
{
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->a) dnnl_memory_destroy(e->a);
    if (e->b) dnnl_memory_destroy(e->b);
    if (e->c) dnnl_memory_destroy(e->c);
    memset(e, 0, sizeof *e);
}

/* Row-major rows x cols, stored transposed when t (then ld is the stored row stride). */
static int md(dnnl_memory_desc_t *d, int rows, int cols, int t, int ld, dnnl_data_type_t dt)
{
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {t ? 1 : ld, t ? ld : 1};
    return dnnl_memory_desc_init_by_strides(d, 2, dims, dt, strides) == dnnl_success ? 0 : -1;
}

static int entry_make(mm_entry *e, const mm_key *k)
{
    memset(e, 0, sizeof *e);
    e->k = *k;
    dnnl_data_type_t dt = k->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t amd, bmd, cmd;
    if (md(&amd, k->M, k->K, k->ta, k->lda, dt) || md(&bmd, k->K, k->N, k->tb, k->ldb, dt) ||
        md(&cmd, k->M, k->N, 0, k->ldc, dnnl_f32))
        return -1;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &amd, &bmd, NULL, &cmd) != dnnl_success) return -1;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int rc = -1;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) goto out;
    if (k->alpha != 1.0f && dnnl_primitive_attr_set_output_scales(attr, 1, 0, &k->alpha) != dnnl_success) goto out;
    if (k->beta != 0.0f) {
        if (dnnl_post_ops_create(&po) != dnnl_success || dnnl_post_ops_append_sum(po, k->beta) != dnnl_success ||
            dnnl_primitive_attr_set_post_ops(attr, po) != dnnl_success)
            goto out;
    }
    if (dnnl_primitive_desc_create(&pd, &desc, attr, g_eng, NULL) != dnnl_success) goto out;
    if (dnnl_primitive_create(&e->prim, pd) != dnnl_success) goto out;
    if (dnnl_memory_create(&e->a, &amd, g_eng, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&e->b, &bmd, g_eng, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&e->c, &cmd, g_eng, DNNL_MEMORY_NONE) != dnnl_success)
        goto out;
    if (getenv("MTO_DNNL_VERBOSE")) {
        const char *impl = NULL;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        fprintf(stderr, "mto dnnl: %s M%d N%d K%d ta%d tb%d -> %s\n", k->bf16 ? "bf16" : "f32", k->M, k->N, k->K,
                k->ta, k->tb, impl ? impl : "?");
    }
    g_created++;
    rc = 0;
out:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (rc) entry_free(e);
    return rc;
}

static mm_entry *lookup(const mm_key *k)
{
    for (int i = 0; i < g_n; i++)
        if (same(&g_cache[i].k, k)) return &g_cache[i];
    mm_entry *e;
    if (g_n < CACHE_CAP) {
        e = &g_cache[g_n];
    } else { /* evict the least recently used */
        e = &g_cache[0];
        for (int i = 1; i < g_n; i++)
            if (g_cache[i].used < e->used) e = &g_cache[i];
        entry_free(e);
    }
    if (entry_make(e, k)) return NULL;
    if (e == &g_cache[g_n]) g_n++;
    return e;
}

int mto_dnnl_mm(int bf16, int ta, int tb, int M, int N, int K, float alpha, const void *A, int lda, const void *B,
                int ldb, float beta, float *C, int ldc, int nthreads)
{
    if (!mto_dnnl_available() || M <= 0 || N <= 0 || K <= 0) return -1;
    mm_key k = {bf16 != 0, ta != 0, tb != 0, M, N, K, lda, ldb, ldc, nthreads, alpha, beta};
    pthread_mutex_lock(&g_mu);
    int rc = -1;
    if (g_omp_set) g_omp_set(nthreads); /* before creation: the primitive is planned for this many */
    mm_entry *e = lookup(&k);
    if (!e) goto out;
    e->used = ++g_clock;
    if (dnnl_memory_set_data_handle(e->a, (void *)A) != dnnl_success ||
        dnnl_memory_set_data_handle(e->b, (void *)B) != dnnl_success ||
        dnnl_memory_set_data_handle(e->c, C) != dnnl_success)
        goto out;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    if (dnnl_primitive_execute(e->prim, g_stream, 3, args) != dnnl_success) goto out;
    rc = dnnl_stream_wait(g_stream) == dnnl_success ? 0 : -1;
out:
    pthread_mutex_unlock(&g_mu);
    return rc;
}

#else /* !HAVE_DNNL */

int mto_dnnl_mm(int bf16, int ta, int tb, int M, int N, int K, float alpha, const void *A, int lda, const void *B,
                int ldb, float beta, float *C, int ldc, int nthreads)
{
    (void)bf16; (void)ta; (void)tb; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)beta; (void)C; (void)ldc; (void)nthreads;
    return -1;
}
int mto_dnnl_available(void) { return 0; }
int mto_dnnl_bf16_native(void) { return 0; }
void mto_dnnl_describe(char *buf, size_t n) { snprintf(buf, n, "oneDNN not built in"); }
long mto_dnnl_primitives_created(void) { return 0; }

#endif
