/* matmul.c — the one entry point of every matrix product (t5_mm), backend
 * choice, precision per model and the bf16 operands. OpenBLAS fp32 is the
 * default and calls cblas_sgemm exactly as the engine always did; oneDNN
 * (matmul_dnnl.c) runs fp32 on request and every bf16 product. */
#include "config.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matmul_impl.h"
#include "mto/alloc.h"
#include "t5_internal.h"

static int g_backend = MTO_MATMUL_OPENBLAS;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void backend_init(void)
{
    const char *e = getenv("MTO_MATMUL");
    if (!e || !*e) return;
    int b = mto_matmul_parse(e);
    if (b == MTO_MATMUL_DNNL && !mto_dnnl_available())
        fprintf(stderr, "mto: MTO_MATMUL=dnnl but this mto is built without oneDNN; using openblas\n");
    else if (b < 0)
        fprintf(stderr, "mto: MTO_MATMUL=%s is not a backend (openblas, dnnl); using openblas\n", e);
    else
        g_backend = b;
}

int mto_matmul_backend(void)
{
    pthread_once(&g_once, backend_init);
    return g_backend;
}

int mto_matmul_set_backend(int b, mto_error *err)
{
    pthread_once(&g_once, backend_init);
    if (b != MTO_MATMUL_OPENBLAS && b != MTO_MATMUL_DNNL)
        return mto_error_set(err, MTO_EINVAL, "matmul: unknown backend %d", b);
    if (b == MTO_MATMUL_DNNL && !mto_dnnl_available())
        return mto_error_set(err, MTO_EINVAL, "matmul: this mto is built without oneDNN (configure --with-dnnl)");
    g_backend = b;
    return 0;
}

const char *mto_matmul_backend_name(int b) { return b == MTO_MATMUL_DNNL ? "dnnl" : "openblas"; }

int mto_matmul_parse(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "openblas")) return MTO_MATMUL_OPENBLAS;
    if (!strcmp(s, "dnnl") || !strcmp(s, "onednn")) return MTO_MATMUL_DNNL;
    return -1;
}

int mto_matmul_have_dnnl(void) { return mto_dnnl_available(); }
int mto_matmul_bf16_native(void) { return mto_dnnl_bf16_native(); }

void mto_matmul_describe(char *buf, size_t n)
{
    char d[128];
    mto_dnnl_describe(d, sizeof d);
#ifdef HAVE_OPENBLAS_GET_CORENAME
    const char *core = openblas_get_corename();
#else
    const char *core = "?";
#endif
    snprintf(buf, n, "matmul: %s (OpenBLAS core %s; %s; bf16 %s); row kernels %s",
             mto_matmul_backend_name(mto_matmul_backend()), core ? core : "?", d,
             mto_dnnl_bf16_native() ? "native" : mto_dnnl_available() ? "emulated only" : "unavailable", mto_k_isa());
}

int mto_precision_parse(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "fp32") || !strcmp(s, "f32")) return MTO_PREC_FP32;
    if (!strcmp(s, "bf16")) return MTO_PREC_BF16;
    return -1;
}

const char *mto_precision_name(int p) { return p == MTO_PREC_BF16 ? "bf16" : "fp32"; }

static int bf16_allowed(void)
{
    if (!mto_dnnl_available()) return 0;
    if (mto_dnnl_bf16_native()) return 1;
    const char *e = getenv("MTO_BF16");
    return e && !strcmp(e, "emulate");
}

int mto_t5_set_precision(mto_t5 *m, int prec, mto_error *err)
{
    if (prec != MTO_PREC_FP32 && prec != MTO_PREC_BF16)
        return mto_error_set(err, MTO_EINVAL, "precision: unknown value %d (fp32, bf16)", prec), -1;
    if (prec == MTO_PREC_BF16 && !bf16_allowed()) {
        static int said;
        if (!said) {
            said = 1;
            fprintf(stderr, "mto: precision bf16 %s; running fp32\n",
                    mto_dnnl_available() ? "needs a CPU with native bf16 (avx512_bf16 or AMX; MTO_BF16=emulate "
                                           "to force it)"
                                         : "needs oneDNN (this mto is built without it)");
        }
        prec = MTO_PREC_FP32;
    }
    if (prec == MTO_PREC_FP32) { /* nothing bf16 kept */
        t5_mm_free(m);
        return MTO_PREC_FP32;
    }
    if (!m->mm && !(m->mm = mto_calloc(1, sizeof *m->mm)))
        return mto_error_set(err, MTO_ENOMEM, "precision: out of memory"), -1;
    if (prec == MTO_PREC_BF16 && !m->mm->shadow && !(m->mm->shadow = mto_malloc(m->numel * sizeof(uint16_t))))
        return mto_error_set(err, MTO_ENOMEM, "precision bf16: out of memory for the bf16 weights"), -1;
    m->mm->prec = prec;
    m->mm->shadow_ok = 0;
    return prec;
}

int mto_t5_precision(const mto_t5 *m) { return m->mm ? m->mm->prec : MTO_PREC_FP32; }

void t5_mm_free(mto_t5 *m)
{
    if (!m->mm) return;
    free(m->mm->shadow);
    free(m->mm->sa);
    free(m->mm->sb);
    free(m->mm);
    m->mm = NULL;
}

static void bf16_convert_c(uint16_t *restrict dst, const float *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = mto_f32_to_bf16(src[i]);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
/* AVX512_BF16's vcvtne2ps2bf16: 32 values per instruction, round to nearest
 * even like mto_f32_to_bf16 (denormal inputs become zero; NaN stays NaN). */
__attribute__((target("avx512f,avx512bf16"))) static void bf16_convert_avx512(uint16_t *restrict dst,
                                                                             const float *restrict src, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
        _mm512_storeu_si512((void *)(dst + i), (__m512i)r);
    }
    bf16_convert_c(dst + i, src + i, n - i);
}

static void (*bf16_convert_pick(void))(uint16_t *, const float *, size_t)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") ? bf16_convert_avx512 : bf16_convert_c;
}
#else
static void (*bf16_convert_pick(void))(uint16_t *, const float *, size_t) { return bf16_convert_c; }
#endif

static void (*g_convert)(uint16_t *, const float *, size_t);
static pthread_once_t g_convert_once = PTHREAD_ONCE_INIT;
static void convert_init(void) { g_convert = bf16_convert_pick(); }

void mto_bf16_convert(uint16_t *dst, const float *src, size_t n)
{
    pthread_once(&g_convert_once, convert_init);
    g_convert(dst, src, n);
}

/* Conversion of rows x cols (row stride ld) into a compact copy, split over the pool. */
typedef struct cvt_job { uint16_t *dst; const float *src; size_t rows, cols, ld; } cvt_job;

static void cvt_task(void *ctx, int part, int nparts)
{
    cvt_job *j = ctx;
    size_t lo, hi;
    if (j->ld == j->cols) { /* one contiguous block */
        t5_split(j->rows * j->cols, 64, part, nparts, &lo, &hi);
        if (hi > lo) mto_bf16_convert(j->dst + lo, j->src + lo, hi - lo);
        return;
    }
    t5_split(j->rows, 1, part, nparts, &lo, &hi);
    for (size_t r = lo; r < hi; r++) mto_bf16_convert(j->dst + r * j->cols, j->src + r * j->ld, j->cols);
}

static void convert(const mto_t5 *m, uint16_t *dst, const float *src, size_t rows, size_t cols, size_t ld)
{
    cvt_job j = {dst, src, rows, cols, ld};
    t5_pool *p = m->acts && rows * cols >= (1 << 15) ? m->acts->pool : NULL;
    t5_pool_run(p, cvt_task, &j);
}

/* Process-wide, not per model: an optimizer knows its parameter views, not
 * their model, so a step anywhere invalidates every shadow (a spare rebuild
 * at worst, never a stale one). */
static unsigned long g_wver;

void mto_weights_changed(void) { __atomic_add_fetch(&g_wver, 1, __ATOMIC_RELAXED); }
unsigned long mto_weights_version(void) { return __atomic_load_n(&g_wver, __ATOMIC_RELAXED); }

void t5_mm_refresh(mto_t5 *m)
{
    struct mto_t5_mm *x = m->mm;
    if (!x || x->prec != MTO_PREC_BF16) return;
    unsigned long v = mto_weights_version();
    if (x->shadow_ok && x->ver == v) return;
    convert(m, x->shadow, m->params, 1, m->numel, m->numel);
    x->shadow_ok = 1;
    x->ver = v;
    x->builds++;
}

/* The bf16 view of a stored rows x cols operand: the shadow when it lies in the
 * parameter arena, else a compact converted copy in *buf. NULL: out of memory. */
static const uint16_t *operand(const mto_t5 *m, const float *A, int rows, int cols, int ld, uint16_t **buf,
                               size_t *cap, int *ld_out)
{
    struct mto_t5_mm *x = m->mm;
    if (x->shadow_ok && A >= m->params && A + (size_t)(rows - 1) * ld + cols <= m->params + m->numel) {
        *ld_out = ld;
        return x->shadow + (A - m->params);
    }
    size_t n = (size_t)rows * cols;
    if (n > *cap) {
        uint16_t *p = mto_realloc(*buf, n * sizeof *p);
        if (!p) return NULL;
        *buf = p;
        *cap = n;
    }
    convert(m, *buf, A, (size_t)rows, (size_t)cols, (size_t)ld);
    *ld_out = cols;
    return *buf;
}

static void fallback_note(const char *what)
{
    static int said;
    if (!said) {
        said = 1;
        fprintf(stderr, "mto: oneDNN has no %s matmul for a shape here; that product runs fp32 on OpenBLAS\n", what);
    }
}

static void mm_run(const mto_t5 *m, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    if (m && m->mm && m->mm->prec == MTO_PREC_BF16) {
        int la, lb;
        const uint16_t *a = operand(m, A, ta ? K : M, ta ? M : K, lda, &m->mm->sa, &m->mm->ca, &la);
        const uint16_t *b = a ? operand(m, B, tb ? N : K, tb ? K : N, ldb, &m->mm->sb, &m->mm->cb, &lb) : NULL;
        if (b && !mto_dnnl_mm(1, ta, tb, M, N, K, alpha, a, la, b, lb, beta, C, ldc, t5_threads_wanted())) return;
        fallback_note("bf16");
    } else if (m && mto_matmul_backend() == MTO_MATMUL_DNNL) {
        if (!mto_dnnl_mm(0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, t5_threads_wanted())) return;
        fallback_note("fp32");
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
}

void t5_mm(const mto_t5 *m, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
           const float *B, int ldb, float beta, float *C, int ldc)
{
    double t0 = __builtin_expect(mto_mm_stats_on, 0) ? mto_mm_stats_clock() : 0;
    mm_run(m, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (__builtin_expect(mto_mm_stats_on, 0)) mto_mm_stats_add(ta, tb, M, N, K, t0);
}

void t5_mm_few(const mto_t5 *m, int tb, int R, int N, int K, float alpha, const float *x, int ldx, const float *B,
               int ldb, float beta, float *C, int ldc)
{
    int sgemv = R <= T5_MV_ROWS && !(m && m->mm && m->mm->prec == MTO_PREC_BF16) &&
                (!m || mto_matmul_backend() == MTO_MATMUL_OPENBLAS);
    if (!sgemv) {
        t5_mm(m, 0, tb, R, N, K, alpha, x, ldx, B, ldb, beta, C, ldc);
        return;
    }
    /* row r of C = alpha op(B)^T x_r: op(B) is K x N, so B stored N x K (tb) or K x N */
    double t0 = mto_mm_stats_on ? mto_mm_stats_clock() : 0;
    for (int r = 0; r < R; r++)
        cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? N : K, tb ? K : N, alpha, B, ldb,
                    x + (size_t)r * ldx, 1, beta, C + (size_t)r * ldc, 1);
    if (mto_mm_stats_on) mto_mm_stats_add(0, tb, R, N, K, t0);
}

void t5_mm_rows(const mto_t5 *m, int R, int N, int K, float alpha, const float *x, const float *W, float beta,
                float *C)
{
    t5_mm_few(m, 1, R, N, K, alpha, x, K, W, K, beta, C, N);
}
