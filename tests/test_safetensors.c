/* test_safetensors.c — safetensors reader/writer: round trips for every dtype,
 * F16/BF16 conversion (exhaustive and against independent references),
 * byte-exact agreement with the reference implementation's own test vectors,
 * a table of hostile files (each must fail cleanly, naming file and tensor),
 * writer argument checks, and crash safety of the atomic write. */
#define _POSIX_C_SOURCE 200809L
#include "mto/half.h"
#include "mto/safetensors.h"
#include "tap.h"

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[512];

static const char *in_dir(const char *name)
{
    static char bufs[4][1024];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd32(void) /* xorshift64*: deterministic, no global libc state */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    int ok_ = fwrite(p, 1, n, fp) == n;
    return fclose(fp) == 0 && ok_ ? 0 : -1;
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    *n = b ? fread(b, 1, (size_t)len, fp) : 0;
    fclose(fp);
    return b;
}

/* Files in tmpdir whose name contains ".tmp-" (writer leftovers). */
static int count_temps(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp-")) n++;
    if (d) closedir(d);
    return n;
}

static void remove_temps(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp-")) unlink(in_dir(e->d_name));
    if (d) closedir(d);
}

/* ---- F16 / BF16 ---------------------------------------------------------- */

/* bf16 by the definition: the nearer of the two neighbours, ties to even. */
static uint16_t bf16_reference(float x)
{
    uint32_t b = fbits(x), lo = b & 0xffff0000u, hi = lo + 0x10000u;
    if ((b & 0xffffu) == 0) return (uint16_t)(b >> 16);
    double dl = fabs((double)x - (double)bitsf(lo));
    double hv = (hi & 0x7fffffffu) == 0x7f800000u ? copysign(ldexp(1.0, 128), x) : (double)bitsf(hi);
    double dh = fabs(hv - (double)x);
    if (dl < dh) return (uint16_t)(lo >> 16);
    if (dh < dl) return (uint16_t)(hi >> 16);
    return (uint16_t)(((lo >> 16) & 1) ? hi >> 16 : lo >> 16);
}

static void test_half(void)
{
    int bad16 = 0, badbf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mto_f16_to_f32((uint16_t)h);
        int is_nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
        if (is_nan ? !(isnan(f) && (mto_f32_to_f16(f) & 0x7fffu) > 0x7c00u)
                   : mto_f32_to_f16(f) != h)
            bad16++;
        float g = mto_bf16_to_f32((uint16_t)h);
        int bnan = (h & 0x7f80u) == 0x7f80u && (h & 0x7fu);
        if (bnan ? !(isnan(g) && (mto_f32_to_bf16(g) & 0x7fffu) > 0x7f80u)
                 : mto_f32_to_bf16(g) != h)
            badbf++;
    }
    is_int(bad16, 0, "f16 -> f32 -> f16 is the identity on all 65536 patterns");
    is_int(badbf, 0, "bf16 -> f32 -> bf16 is the identity on all 65536 patterns");

    /* Known values and rounding spots. */
    ok(mto_f16_to_f32(0x3c00) == 1.0f && mto_f16_to_f32(0xc000) == -2.0f &&
           mto_f16_to_f32(0x7bff) == 65504.0f && mto_f16_to_f32(0x0001) == ldexpf(1, -24) &&
           mto_f16_to_f32(0x03ff) == ldexpf(1023, -24) && isinf(mto_f16_to_f32(0x7c00)),
       "f16 decodes normals, subnormals, max, inf");
    ok(fbits(mto_f16_to_f32(0x8000)) == 0x80000000u, "f16 -0 decodes to -0");
    is_int(mto_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00, "f16: tie rounds to even (down)");
    is_int(mto_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3c02, "f16: tie rounds to even (up)");
    is_int(mto_f32_to_f16(1.0f + ldexpf(1, -11) + ldexpf(1, -20)), 0x3c01, "f16: above tie rounds up");
    is_int(mto_f32_to_f16(65519.0f), 0x7bff, "f16: just below the overflow tie stays finite");
    is_int(mto_f32_to_f16(65520.0f), 0x7c00, "f16: overflow tie rounds to inf");
    is_int(mto_f32_to_f16(-1e10f), 0xfc00, "f16: large negative -> -inf");
    is_int(mto_f32_to_f16(ldexpf(1, -25)), 0x0000, "f16: half the smallest subnormal ties to 0");
    is_int(mto_f32_to_f16(ldexpf(1.0000001f, -25)), 0x0001, "f16: just above it rounds to 1 ulp");
    is_int(mto_f32_to_f16(ldexpf(3, -25)), 0x0002, "f16: subnormal tie rounds to even");
    is_int(mto_f32_to_f16(ldexpf(1, -30)), 0x0000, "f16: underflow to 0");
    is_int(mto_f32_to_f16(-ldexpf(1, -30)), 0x8000, "f16: underflow keeps the sign");
    is_int(mto_f32_to_f16(ldexpf(2047, -25)), 0x0400, "f16: subnormal rounds up into the smallest normal");
    ok((mto_f32_to_f16(bitsf(0x7f800001u)) & 0x7fffu) > 0x7c00u, "f16: signalling NaN stays NaN");
    is_int(mto_f32_to_bf16(1.0f + ldexpf(1, -8)), 0x3f80, "bf16: tie rounds to even (down)");
    is_int(mto_f32_to_bf16(1.0f + 3 * ldexpf(1, -8)), 0x3f82, "bf16: tie rounds to even (up)");
    is_int(mto_f32_to_bf16(FLT_MAX), 0x7f80, "bf16: FLT_MAX rounds to inf");
    is_int(mto_f32_to_bf16(-INFINITY), 0xff80, "bf16: -inf stays -inf");
    ok((mto_f32_to_bf16(bitsf(0x7f800001u)) & 0x7fffu) > 0x7f80u,
       "bf16: NaN with payload only in the low bits stays NaN");

    /* Random bit patterns against independent references. */
    int nb = 0, n16 = 0;
    const int N = 4000000;
    for (int i = 0; i < N; i++) {
        float x = bitsf(rnd32());
        if (isnan(x)) continue;
        if (mto_f32_to_bf16(x) != bf16_reference(x)) nb++;
#ifdef __FLT16_MAX__
        _Float16 h = (_Float16)x;
        uint16_t hb;
        memcpy(&hb, &h, 2);
        if (mto_f32_to_f16(x) != hb) n16++;
#endif
    }
    is_int(nb, 0, "bf16 rounding equals nearest-even by definition on 4M random floats");
#ifdef __FLT16_MAX__
    is_int(n16, 0, "f16 rounding equals the compiler's _Float16 on 4M random floats");
    /* Random floats are mostly out of f16 range: also cover its range densely. */
    n16 = 0;
    for (int i = 0; i < N; i++) {
        float x = ldexpf((float)(rnd32() & 0xffffff) / 16777216.0f + 1.0f, (int)(rnd32() % 44) - 30);
        if (rnd32() & 1) x = -x;
        _Float16 h = (_Float16)x;
        uint16_t hb;
        memcpy(&hb, &h, 2);
        if (mto_f32_to_f16(x) != hb) n16++;
    }
    is_int(n16, 0, "f16 rounding equals _Float16 on 4M floats in [2^-30, 2^14)");
#else
    (void)n16;
    tap_skip("compiler has no _Float16");
    tap_skip("compiler has no _Float16");
#endif
}

/* ---- round trip -------------------------------------------------------- */

static void test_roundtrip(void)
{
    /* One tensor per dtype, odd sizes first so alignment depends on reordering. */
    enum { NT = MTO_ST_NDTYPES + 3 };
    static const int64_t shapes[NT][MTO_ST_MAX_DIMS] = {
        {3}, {2, 3}, {5}, {1, 2, 3}, {7}, {3, 1}, {2, 2, 2}, {9}, {1}, {4, 1, 1, 1},
        {3, 3}, {2}, {1, 1}, {6}, {1, 1, 1, 1, 1, 1, 1, 3},
        {0}, {2, 0, 3}, {0},
    };
    static const int ndims[NT] = {1, 2, 1, 3, 1, 2, 3, 1, 1, 4, 2, 1, 2, 1, 8, 1, 3, 1};
    int dts[NT];
    char names[NT][32];
    unsigned char *bufs[NT];
    mto_st_out outs[NT];
    for (int i = 0; i < NT; i++) {
        /* Put the 1-byte types first in the caller's order. */
        dts[i] = i < MTO_ST_NDTYPES ? (MTO_ST_NDTYPES - 1 - i) : i % 3;
        snprintf(names[i], sizeof names[i], "t%02d.%s", i, mto_st_dtype_name(dts[i]));
        int64_t n = 1;
        for (int d = 0; d < ndims[i]; d++) n *= shapes[i][d];
        size_t nb = (size_t)n * mto_st_dtype_size(dts[i]);
        bufs[i] = malloc(nb ? nb : 1);
        for (size_t b = 0; b < nb; b++) bufs[i][b] = (unsigned char)(rnd32() & 0xff);
        outs[i] = (mto_st_out){names[i], dts[i], ndims[i], shapes[i], bufs[i]};
    }
    /* A scalar: shape [] holds one element. */
    float scalar = 2.5f;
    mto_st_out all[NT + 1];
    memcpy(all, outs, sizeof outs);
    all[NT] = (mto_st_out){"scalar", MTO_ST_F32, 0, NULL, &scalar};
    const char *meta[] = {"format", "pt", "config", "{\"d_model\": 64, \"quote\": \"\\\"\"}",
                          "unicode", "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x99\x82", "empty", "",
                          NULL};
    mto_error err = {0};
    const char *p = in_dir("all.safetensors");
    int rc = mto_st_write(p, all, NT + 1, meta, &err);
    is_int(rc, 0, "write a file with every dtype, empty tensors, a scalar and metadata");
    if (rc) tap_diag("%s", err.msg);
    is_int(count_temps(), 0, "no temp file left behind");

    size_t flen;
    unsigned char *raw = read_file(p, &flen);
    uint64_t hlen = 0;
    for (int i = 7; raw && i >= 0; i--) hlen = hlen << 8 | raw[i];
    uint64_t total = 0;
    for (int i = 0; i < NT + 1; i++) {
        int64_t n = 1;
        for (int d = 0; d < all[i].ndim; d++) n *= all[i].shape[d];
        total += (uint64_t)n * mto_st_dtype_size(all[i].dtype);
    }
    ok(raw && hlen % 8 == 0, "header length %llu is a multiple of 8", (unsigned long long)hlen);
    ok(raw && flen == 8 + hlen + total, "file size = 8 + header + data (%zu bytes)", flen);
    ok(raw && raw[8] == '{' && raw[8 + hlen - 1] != '\0', "header is JSON padded with spaces");
    free(raw);

    mto_st_file *f = NULL;
    rc = mto_st_open(p, &f, &err);
    is_int(rc, 0, "reopen it");
    if (rc) { tap_diag("%s", err.msg); return; }
    is_int(mto_st_count(f), NT + 1, "tensor count");
    int same = 1, aligned = 1;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < mto_st_count(f); i++) {
        const mto_st_tensor *t = mto_st_at(f, i);
        if (t->nbytes && t->offset != prev_end) same = 0; /* packed in offset order */
        if (t->nbytes) prev_end = t->offset + t->nbytes;
        if (t->offset % mto_st_dtype_size(t->dtype)) aligned = 0;
    }
    ok(same, "tensors are packed back to back in mto_st_at order");
    ok(aligned, "every tensor is aligned to its element size (header %% 8 == 0)");
    for (int i = 0; i < NT + 1; i++) {
        const mto_st_tensor *t = mto_st_find(f, all[i].name);
        int good = t && t->dtype == all[i].dtype && t->ndim == all[i].ndim;
        for (int d = 0; good && d < t->ndim; d++) good = t->shape[d] == all[i].shape[d];
        good = good && t->nbytes == (uint64_t)mto_st_numel(t) * mto_st_dtype_size(t->dtype);
        good = good && (t->nbytes == 0 || memcmp(mto_st_data(f, t), all[i].data, t->nbytes) == 0);
        ok(good, "round trip %s (%s, ndim %d)", all[i].name, mto_st_dtype_name(all[i].dtype),
           all[i].ndim);
    }
    const mto_st_tensor *s = mto_st_find(f, "scalar");
    float sv = 0;
    is_int(s ? mto_st_numel(s) : -1, 1, "scalar has one element");
    ok(s && mto_st_read_f32(f, s, &sv, 1, &err) == 0 && sv == 2.5f, "scalar reads back 2.5");
    ok(mto_st_find(f, "nope") == NULL && mto_st_at(f, NT + 1) == NULL, "absent name/index -> NULL");
    is_int(mto_st_meta_count(f), 4, "four metadata entries");
    is_str(mto_st_meta(f, "format"), "pt", "metadata format");
    is_str(mto_st_meta(f, "config"), meta[3], "metadata with quotes and escapes");
    is_str(mto_st_meta(f, "unicode"), meta[5], "metadata with UTF-8");
    is_str(mto_st_meta(f, "empty"), "", "empty metadata value");
    ok(mto_st_meta(f, "missing") == NULL, "missing metadata -> NULL");
    int seen = 0;
    for (size_t i = 0; i < mto_st_meta_count(f); i++) {
        const char *v, *k = mto_st_meta_at(f, i, &v);
        for (int j = 0; meta[j]; j += 2)
            if (k && strcmp(k, meta[j]) == 0 && strcmp(v, meta[j + 1]) == 0) seen++;
    }
    is_int(seen, 4, "mto_st_meta_at enumerates every pair");
    is_str(mto_st_name(f), p, "mto_st_name is the path");

    /* read_f32 misuse names the tensor. */
    float tmp[64];
    const mto_st_tensor *ti = NULL;
    for (int i = 0; i < NT; i++)
        if (dts[i] == MTO_ST_I32) ti = mto_st_find(f, names[i]);
    rc = mto_st_read_f32(f, ti, tmp, (size_t)mto_st_numel(ti), &err);
    ok(rc == MTO_EINVAL && err.code == MTO_EINVAL && strstr(err.msg, ti->name) &&
           strstr(err.msg, "I32"),
       "read_f32 on an I32 tensor fails naming it: %s", err.msg);
    const mto_st_tensor *tf = mto_st_find(f, "scalar");
    rc = mto_st_read_f32(f, tf, tmp, 2, &err);
    ok(rc == MTO_EINVAL && strstr(err.msg, "scalar") && strstr(err.msg, p),
       "read_f32 with the wrong n fails naming file and tensor: %s", err.msg);
    mto_st_tensor fake = *tf;
    fake.offset = UINT64_MAX - 2;
    ok(mto_st_read_f32(f, &fake, tmp, 1, &err) == MTO_EINVAL && mto_st_data(f, &fake) == NULL,
       "a tensor not from this file is refused, not read");
    mto_st_close(f);
    for (int i = 0; i < NT; i++) free(bufs[i]);
}

static void test_float_reads(void)
{
    /* Values exactly representable in f16 and bf16 must come back exactly. */
    enum { N = 24 };
    float want[N] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 0.125f, -3.75f, 1024.0f, 2.0f, -0.25f,
                     INFINITY, -INFINITY, 96.0f, 0.1875f, 7.0f, -8.5f, 3.0f, 12.0f, 0.0625f,
                     -5.0f, 6.5f, 0.75f, 255.0f, -1.5f};
    float wf16[N + 3], wbf16[N + 3];
    memcpy(wf16, want, sizeof want);
    memcpy(wbf16, want, sizeof want);
    wf16[N] = 65504.0f, wf16[N + 1] = ldexpf(1, -24), wf16[N + 2] = ldexpf(1, -14);
    wbf16[N] = 3.3895313892515355e38f, wbf16[N + 1] = ldexpf(1, -133), wbf16[N + 2] = ldexpf(1, -126);
    uint16_t h[N + 3], b[N + 3];
    mto_f32_to_f16_n(wf16, h, N + 3);
    mto_f32_to_bf16_n(wbf16, b, N + 3);
    double dv[4] = {0.1, -2.5, 1e300, 3.0};
    int64_t sh = N + 3, sh4 = 4;
    mto_st_out outs[] = {{"h", MTO_ST_F16, 1, &sh, h},
                         {"b", MTO_ST_BF16, 1, &sh, b},
                         {"d", MTO_ST_F64, 1, &sh4, dv},
                         {"f", MTO_ST_F32, 1, &sh, wf16}};
    mto_error err = {0};
    const char *p = in_dir("floats.safetensors");
    ok(mto_st_write(p, outs, 4, NULL, &err) == 0, "write f16/bf16/f64/f32 tensors");
    mto_st_file *f = NULL;
    if (mto_st_open(p, &f, &err)) { tap_diag("%s", err.msg); return; }
    float got[N + 3];
    int ex = 1;
    ok(mto_st_read_f32(f, mto_st_find(f, "h"), got, N + 3, &err) == 0, "read F16 as f32");
    for (int i = 0; i < N + 3; i++) ex &= fbits(got[i]) == fbits(wf16[i]);
    ok(ex, "F16 values (incl. -0, inf, max, smallest subnormal) come back bit-exact");
    ex = 1;
    ok(mto_st_read_f32(f, mto_st_find(f, "b"), got, N + 3, &err) == 0, "read BF16 as f32");
    for (int i = 0; i < N + 3; i++) ex &= fbits(got[i]) == fbits(wbf16[i]);
    ok(ex, "BF16 values (incl. max, subnormal) come back bit-exact");
    ex = 1;
    ok(mto_st_read_f32(f, mto_st_find(f, "f"), got, N + 3, &err) == 0, "read F32");
    for (int i = 0; i < N + 3; i++) ex &= fbits(got[i]) == fbits(wf16[i]);
    ok(ex, "F32 values come back bit-exact");
    ok(mto_st_read_f32(f, mto_st_find(f, "d"), got, 4, &err) == 0 && got[0] == 0.1f &&
           got[1] == -2.5f && isinf(got[2]) && got[3] == 3.0f,
       "F64 converts to the nearest f32");
    mto_st_close(f);
}

/* The reference implementation's own serialization vectors (tensor.rs tests). */
static void test_reference_bytes(void)
{
    float v[6] = {0, 1, 2, 3, 4, 5};
    int64_t s3[] = {1, 2, 3}, s4[] = {1, 1, 2, 3};
    struct { const char *name; const int64_t *shape; int ndim; const char *json; } cases[] = {
        {"attn.0", s3, 3, "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}"},
        {"attn0", s4, 4, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       "},
    };
    for (int c = 0; c < 2; c++) {
        mto_st_out o = {cases[c].name, MTO_ST_F32, cases[c].ndim, cases[c].shape, v};
        const char *p = in_dir("ref.safetensors");
        mto_error err = {0};
        size_t jl = strlen(cases[c].json), n = 0;
        unsigned char want[256];
        memset(want, 0, 8);
        want[0] = (unsigned char)jl;
        memcpy(want + 8, cases[c].json, jl);
        memcpy(want + 8 + jl, v, sizeof v); /* little-endian host assumed by this check */
        int rc = mto_st_write(p, &o, 1, NULL, &err);
        unsigned char *got = read_file(p, &n);
        ok(rc == 0 && got && n == 8 + jl + sizeof v && memcmp(got, want, n) == 0,
           "byte-identical to the reference serializer (%s, header %zu)", cases[c].name, jl);
        free(got);
    }
    static const unsigned char empty[] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    static const char meta_json[] = "{\"__metadata__\":{\"framework\":\"pt\"}}     ";
    const char *kv[] = {"framework", "pt", NULL};
    size_t n = 0;
    mto_error err = {0};
    const char *p = in_dir("ref-empty.safetensors");
    int rc = mto_st_write(p, NULL, 0, NULL, &err);
    unsigned char *got = read_file(p, &n);
    ok(rc == 0 && got && n == sizeof empty && memcmp(got, empty, n) == 0,
       "empty file is byte-identical to the reference");
    free(got);
    rc = mto_st_write(p, NULL, 0, kv, &err);
    got = read_file(p, &n);
    ok(rc == 0 && got && n == 8 + strlen(meta_json) && got[0] == 40 &&
           memcmp(got + 8, meta_json, strlen(meta_json)) == 0,
       "metadata-only file is byte-identical to the reference");
    free(got);
    mto_st_file *f = NULL;
    ok(mto_st_open(p, &f, &err) == 0 && mto_st_count(f) == 0 && mto_st_meta_count(f) == 1,
       "and reads back as 0 tensors, 1 metadata entry");
    mto_st_close(f);
}

/* ---- hostile files -------------------------------------------------------- */

typedef struct bad_row {
    const char *file;  /* created in tmpdir */
    const char *json;  /* header bytes */
    long long hlen;    /* declared header length; -1 = strlen(json) */
    size_t data;       /* bytes of data section after the header */
    long long trunc;   /* truncate the whole file to this size; -1 = no */
    int code;          /* expected error */
    const char *want1, *want2; /* substrings the message must contain (tensor, reason) */
} bad_row;

#define T1(n, d, s, o) "{\"" n "\":{\"dtype\":\"" d "\",\"shape\":" s ",\"data_offsets\":" o "}}"
#define E(n, d, s, o) "\"" n "\":{\"dtype\":\"" d "\",\"shape\":" s ",\"data_offsets\":" o "}"

static const bad_row bad_rows[] = {
    {"empty.safetensors", "", -1, 0, 0, MTO_EFORMAT, "0 bytes", NULL},
    {"short.safetensors", "{}", -1, 0, 5, MTO_EFORMAT, "too short", NULL},
    {"hlen-past-end.safetensors", "{}", 1000, 0, -1, MTO_EFORMAT, "past the end of the file", NULL},
    {"hlen-zero.safetensors", "{}", 0, 0, -1, MTO_EFORMAT, "header length is 0", NULL},
    {"hlen-huge.safetensors", "{}", 1LL << 62, 0, -1, MTO_EFORMAT, "too large", NULL},
    {"hlen-negative.safetensors", "{}", -2, 0, -1, MTO_EFORMAT, "too large", NULL},
    {"hlen-over-cap.safetensors", "{}", 100000001, 0, -1, MTO_EFORMAT, "too large", NULL},
    {"hlen-short.safetensors", "{\"a\":{}}", 3, 0, -1, MTO_EFORMAT, "not valid JSON", NULL},
    {"truncated-data.safetensors", T1("enc.w", "F32", "[4]", "[0,16]"), -1, 16,
     8 + sizeof T1("enc.w", "F32", "[4]", "[0,16]") - 1 + 6, MTO_EFORMAT,
     "enc.w", "past the end"},
    {"not-json.safetensors", "hello world", -1, 0, -1, MTO_EFORMAT, "not valid JSON", NULL},
    {"json-array.safetensors", "[1,2,3]", -1, 0, -1, MTO_EFORMAT, "not an object", NULL},
    {"json-string.safetensors", "\"x\"", -1, 0, -1, MTO_EFORMAT, "JSON", NULL},
    {"bad-utf8.safetensors", "{\"\xff\xfe\":1}", -1, 0, -1, MTO_EFORMAT, "not valid JSON", NULL},
    {"trailing-garbage.safetensors", "{} x", -1, 0, -1, MTO_EFORMAT, "not valid JSON", NULL},
    /* NUL instead of space padding: declared length covers the 2 zero data bytes */
    {"nul-padding.safetensors", "{}", 4, 2, -1, MTO_EFORMAT, "not valid JSON", NULL},
    {"nul-in-name.safetensors", T1("a\\u0000b", "U8", "[1]", "[0,1]"), -1, 1, -1, MTO_EFORMAT,
     "not valid JSON", NULL},
    {"entry-not-object.safetensors", "{\"enc.w\":5}", -1, 0, -1, MTO_EFORMAT, "'enc.w'",
     "not an object"},
    {"unknown-dtype.safetensors", T1("enc.q", "Q4_K", "[1]", "[0,1]"), -1, 1, -1, MTO_EFORMAT,
     "'enc.q'", "unknown dtype \"Q4_K\""},
    {"dtype-lowercase.safetensors", T1("enc.q", "f32", "[1]", "[0,4]"), -1, 4, -1, MTO_EFORMAT,
     "'enc.q'", "unknown dtype"},
    {"dtype-number.safetensors", "{\"enc.q\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
     -1, 4, -1, MTO_EFORMAT, "'enc.q'", "dtype"},
    {"no-shape.safetensors", "{\"enc.k\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", -1, 4, -1,
     MTO_EFORMAT, "'enc.k'", "shape"},
    {"shape-not-array.safetensors", T1("enc.k", "F32", "4", "[0,16]"), -1, 16, -1, MTO_EFORMAT,
     "'enc.k'", "shape"},
    {"shape-negative.safetensors", T1("enc.k", "F32", "[-1,4]", "[0,16]"), -1, 16, -1, MTO_EFORMAT,
     "'enc.k'", "shape[0]"},
    {"shape-float.safetensors", T1("enc.k", "F32", "[2.0]", "[0,8]"), -1, 8, -1, MTO_EFORMAT,
     "'enc.k'", "shape[0]"},
    {"shape-string.safetensors", T1("enc.k", "F32", "[1,\"2\"]", "[0,8]"), -1, 8, -1, MTO_EFORMAT,
     "'enc.k'", "shape[1]"},
    {"shape-9-dims.safetensors", T1("enc.k", "U8", "[1,1,1,1,1,1,1,1,1]", "[0,1]"), -1, 1, -1,
     MTO_EFORMAT, "'enc.k'", "9 dimensions"},
    {"shape-overflow.safetensors", T1("enc.v", "F32", "[4294967296,4294967296,4]", "[0,16]"), -1,
     16, -1, MTO_EFORMAT, "'enc.v'", "overflows"},
    {"shape-bytes-overflow.safetensors", T1("enc.v", "F64", "[2305843009213693952]", "[0,16]"), -1,
     16, -1, MTO_EFORMAT, "'enc.v'", "overflows"},
    {"shape-int-too-big.safetensors", T1("enc.v", "F32", "[99999999999999999999]", "[0,16]"), -1,
     16, -1, MTO_EFORMAT, "not valid JSON", NULL},
    {"shape-huge.safetensors", T1("enc.v", "F32", "[1000000000000]", "[0,4000000000000]"), -1, 16,
     -1, MTO_EFORMAT, "'enc.v'", "past the end"},
    {"offsets-past-end.safetensors", T1("dec.o", "F32", "[4]", "[0,16]"), -1, 8, -1, MTO_EFORMAT,
     "'dec.o'", "[0, 16] past the end of the 8-byte data section"},
    {"offsets-wrap.safetensors", T1("dec.o", "F32", "[4]", "[9223372036854775800,9223372036854775807]"),
     -1, 16, -1, MTO_EFORMAT, "'dec.o'", "data_offsets"},
    {"offsets-reversed.safetensors", T1("dec.o", "F32", "[4]", "[16,0]"), -1, 16, -1, MTO_EFORMAT,
     "'dec.o'", "end before begin"},
    {"offsets-negative.safetensors", T1("dec.o", "F32", "[1]", "[-4,0]"), -1, 16, -1, MTO_EFORMAT,
     "'dec.o'", "data_offsets"},
    {"offsets-three.safetensors", T1("dec.o", "F32", "[1]", "[0,4,8]"), -1, 8, -1, MTO_EFORMAT,
     "'dec.o'", "data_offsets"},
    {"offsets-missing.safetensors", "{\"dec.o\":{\"dtype\":\"F32\",\"shape\":[1]}}", -1, 4, -1,
     MTO_EFORMAT, "'dec.o'", "data_offsets"},
    {"offsets-float.safetensors", T1("dec.o", "F32", "[1]", "[0,4.0]"), -1, 4, -1, MTO_EFORMAT,
     "'dec.o'", "data_offsets"},
    {"size-mismatch.safetensors", T1("x.weight", "F32", "[4,4]", "[0,80]"), -1, 80, -1,
     MTO_EFORMAT, "tensor 'x.weight': data_offsets [0, 80] but shape [4,4] F32 needs 64 bytes",
     NULL},
    {"dtype-size-mismatch.safetensors", T1("x.weight", "F16", "[4]", "[0,16]"), -1, 16, -1,
     MTO_EFORMAT, "'x.weight'", "F16 needs 8 bytes"},
    {"empty-tensor-with-bytes.safetensors", T1("x.weight", "F32", "[0,4]", "[0,16]"), -1, 16, -1,
     MTO_EFORMAT, "'x.weight'", "needs 0 bytes"},
    {"overlap.safetensors",
     "{" E("blk.a", "F32", "[4]", "[0,16]") "," E("blk.b", "F32", "[4]", "[8,24]") "}", -1, 24, -1,
     MTO_EFORMAT, "'blk.b'", "overlap tensor 'blk.a'"},
    {"overlap-same.safetensors",
     "{" E("blk.a", "F32", "[4]", "[0,16]") "," E("blk.b", "I32", "[4]", "[0,16]") "}", -1, 16, -1,
     MTO_EFORMAT, "'blk.", "overlap"},
    {"overlap-inside.safetensors",
     "{" E("blk.a", "F32", "[8]", "[0,32]") "," E("blk.b", "F32", "[2]", "[8,16]") "}", -1, 32, -1,
     MTO_EFORMAT, "'blk.", "overlap"},
    {"gap.safetensors",
     "{" E("blk.a", "F32", "[4]", "[0,16]") "," E("blk.b", "F32", "[4]", "[20,36]") "}", -1, 36, -1,
     MTO_EFORMAT, "'blk.b'", "gap of 4 bytes after tensor 'blk.a'"},
    {"leading-gap.safetensors", T1("blk.a", "F32", "[4]", "[4,20]"), -1, 20, -1, MTO_EFORMAT,
     "'blk.a'", "gap"},
    {"trailing-bytes.safetensors", T1("blk.a", "F32", "[4]", "[0,16]"), -1, 20, -1, MTO_EFORMAT,
     "20 bytes but the tensors cover 16", NULL},
    {"no-tensors-but-data.safetensors", "{}", -1, 8, -1, MTO_EFORMAT, "trailing", NULL},
    {"duplicate-name.safetensors",
     "{" E("dup.weight", "F32", "[1]", "[0,4]") "," E("dup.weight", "F32", "[1]", "[4,8]") "}", -1,
     8, -1, MTO_EFORMAT, "duplicate key 'dup.weight'", NULL},
    {"duplicate-escaped-name.safetensors",
     "{" E("d\\\"q", "F32", "[1]", "[0,4]") "," E("d\\\"q", "F32", "[1]", "[4,8]") "}", -1, 8, -1,
     MTO_EFORMAT, "duplicate key 'd\"q'", NULL},
    {"duplicate-utf8-name.safetensors",
     "{" E("caf\xc3\xa9.\xe2\x86\x92", "U8", "[1]", "[0,1]") "," E("caf\xc3\xa9.\xe2\x86\x92", "U8", "[1]", "[1,2]") "}",
     -1, 2, -1, MTO_EFORMAT, "duplicate key 'caf\xc3\xa9.\xe2\x86\x92'", NULL},
    {"duplicate-field.safetensors",
     "{\"x.w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4,
     -1, MTO_EFORMAT, "duplicate key 'dtype'", NULL},
    {"duplicate-meta.safetensors", "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", -1, 0, -1,
     MTO_EFORMAT, "duplicate key 'a'", NULL},
    {"meta-number.safetensors", "{\"__metadata__\":{\"lr\":0.001}}", -1, 0, -1, MTO_EFORMAT,
     "'lr'", "not a string"},
    {"meta-nested.safetensors", "{\"__metadata__\":{\"cfg\":{\"a\":\"b\"}}}", -1, 0, -1,
     MTO_EFORMAT, "'cfg'", "not a string"},
    {"meta-null.safetensors", "{\"__metadata__\":{\"cfg\":null}}", -1, 0, -1, MTO_EFORMAT, "'cfg'",
     "not a string"},
    {"meta-not-object.safetensors", "{\"__metadata__\":\"pt\"}", -1, 0, -1, MTO_EFORMAT,
     "__metadata__", "not an object"},
};

/* Bytes of a file described by a row (caller frees). */
static unsigned char *row_bytes(const bad_row *r, size_t *len)
{
    size_t jl = strlen(r->json);
    uint64_t declared = r->hlen == -1 ? jl : (uint64_t)r->hlen;
    size_t n = 8 + jl + r->data;
    unsigned char *b = calloc(1, n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(declared >> (8 * i));
    memcpy(b + 8, r->json, jl);
    *len = r->trunc >= 0 && (size_t)r->trunc < n ? (size_t)r->trunc : n;
    return b;
}

static void check_fail(const char *what, const char *fname, int rc, mto_st_file *f,
                       const mto_error *err, int code, const char *w1, const char *w2)
{
    int good = rc == code && err->code == code && f == NULL && strstr(err->msg, fname) &&
               (!w1 || strstr(err->msg, w1)) && (!w2 || strstr(err->msg, w2));
    ok(good, "%s %s: %s", what, fname, err->msg);
    if (!good) tap_diag("rc %d (want %d), want \"%s\" and \"%s\"", rc, code, w1 ? w1 : "", w2 ? w2 : "");
}

static void test_bad_inputs(void)
{
    for (size_t i = 0; i < sizeof bad_rows / sizeof *bad_rows; i++) {
        const bad_row *r = &bad_rows[i];
        size_t len;
        unsigned char *b = row_bytes(r, &len);
        const char *p = in_dir(r->file);
        write_file(p, b, len);
        mto_error err = {0};
        mto_st_file *f = (mto_st_file *)&err; /* must be reset to NULL */
        int rc = mto_st_open(p, &f, &err);
        check_fail("open", r->file, rc, f, &err, r->code, r->want1, r->want2);
        mto_st_close(f);
        /* The same bytes from memory, in an exactly-sized heap copy so ASan
         * catches any read past the end. */
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, b, len);
        mto_error e2 = {0};
        f = NULL;
        rc = mto_st_parse_buffer(exact, len, &f, r->file, &e2);
        check_fail("parse_buffer", r->file, rc, f, &e2, r->code, r->want1, r->want2);
        mto_st_close(f);
        free(exact);
        free(b);
    }

    /* Deep nesting must not blow the stack. */
    size_t depth = 100000, n = 0;
    char *deep = malloc(2 * depth + 16);
    n += (size_t)sprintf(deep, "{\"a\":");
    for (size_t i = 0; i < depth; i++) deep[n++] = '[';
    for (size_t i = 0; i < depth; i++) deep[n++] = ']';
    deep[n++] = '}';
    unsigned char *buf = malloc(8 + n);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, deep, n);
    mto_error err = {0};
    mto_st_file *f = NULL;
    int rc = mto_st_parse_buffer(buf, 8 + n, &f, "deep.safetensors", &err);
    check_fail("parse", "deep.safetensors", rc, f, &err, MTO_EFORMAT, "JSON", NULL);
    free(buf);
    free(deep);

    /* Long names are cut in messages, not overflowing them. */
    size_t ln = 100000;
    char *lj = malloc(ln + 128);
    int k = sprintf(lj, "{\"");
    memset(lj + k, 'n', ln);
    sprintf(lj + k + ln, "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}");
    size_t ljl = strlen(lj);
    buf = malloc(8 + ljl + 4);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)ljl >> (8 * i));
    memcpy(buf + 8, lj, ljl);
    memset(buf + 8 + ljl, 0, 4);
    rc = mto_st_parse_buffer(buf, 8 + ljl + 4, &f, "long.safetensors", &err);
    check_fail("parse", "long.safetensors", rc, f, &err, MTO_EFORMAT, "nnnnnnnn", "needs 8 bytes");
    ok(strlen(err.msg) < MTO_ERROR_MSG_MAX, "message stays within the buffer");
    free(buf);
    free(lj);

    /* Not files at all. */
    rc = mto_st_open(in_dir("does-not-exist.safetensors"), &f, &err);
    check_fail("open", "does-not-exist.safetensors", rc, f, &err, MTO_EIO, "cannot open", NULL);
    rc = mto_st_open(tmpdir, &f, &err);
    check_fail("open", tmpdir, rc, f, &err, MTO_EIO, "directory", NULL);
    const char *fifo = in_dir("fifo.safetensors");
    if (mkfifo(fifo, 0600) == 0) {
        rc = mto_st_open(fifo, &f, &err);
        check_fail("open", "fifo.safetensors", rc, f, &err, MTO_EIO, "not a regular file", NULL);
    } else {
        tap_skip("mkfifo failed");
    }
    rc = mto_st_open("/dev/null", &f, &err);
    check_fail("open", "/dev/null", rc, f, &err, MTO_EIO, "not a regular file", NULL);
    rc = mto_st_parse_buffer(NULL, 0, &f, NULL, &err);
    ok(rc == MTO_EFORMAT && f == NULL && strstr(err.msg, "(buffer)"), "NULL/0 buffer: %s", err.msg);
}

/* Valid but unusual files must open. */
static void test_good_edges(void)
{
    static const struct { const char *name, *json; size_t data; size_t count; } rows[] = {
        {"only-braces", "{}", 0, 0},
        {"padded", "{}      ", 0, 0},
        {"whitespace-json", " {\n \"a\" : {\"dtype\" : \"U8\", \"shape\" : [ 2 ], \"data_offsets\" : [ 0 , 2 ] } } ", 2, 1},
        {"scalar", T1("s", "F32", "[]", "[0,4]"), 4, 1},
        {"empty-tensors", "{" E("e1", "F32", "[0]", "[0,0]") "," E("a", "F32", "[2]", "[0,8]") ","
                          E("e2", "I8", "[3,0]", "[8,8]") "}", 8, 3},
        {"out-of-order", "{" E("z", "F32", "[2]", "[8,16]") "," E("y", "F32", "[2]", "[0,8]") "}", 16, 2},
        {"unaligned", "{" E("u", "U8", "[3]", "[0,3]") "," E("v", "F32", "[2]", "[3,11]") "}", 11, 2},
        {"extra-fields", "{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2],\"x\":[1]}}", 2, 1},
        {"every-dtype", "{" E("a", "F8_E4M3", "[1]", "[0,1]") "," E("b", "F8_E5M2", "[1]", "[1,2]") ","
                        E("c", "BOOL", "[1]", "[2,3]") "," E("d", "U16", "[1]", "[3,5]") ","
                        E("e", "U32", "[1]", "[5,9]") "," E("f", "U64", "[1]", "[9,17]") "}", 17, 6},
        {"meta-only", "{\"__metadata__\":{}}", 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        bad_row r = {rows[i].name, rows[i].json, -1, rows[i].data, -1, 0, NULL, NULL};
        size_t len;
        unsigned char *b = row_bytes(&r, &len);
        mto_error err = {0};
        mto_st_file *f = NULL;
        int rc = mto_st_parse_buffer(b, len, &f, rows[i].name, &err);
        ok(rc == 0 && mto_st_count(f) == rows[i].count, "valid %s opens with %zu tensors%s%s",
           rows[i].name, rows[i].count, rc ? ": " : "", rc ? err.msg : "");
        if (rc == 0 && strcmp(rows[i].name, "unaligned") == 0) {
            float v[2];
            const mto_st_tensor *t = mto_st_find(f, "v");
            ok(t && t->offset == 3 && mto_st_read_f32(f, t, v, 2, &err) == 0 && isfinite(v[0]),
               "unaligned F32 reads without misaligned loads");
        }
        if (rc == 0 && strcmp(rows[i].name, "out-of-order") == 0)
            is_str(mto_st_at(f, 0)->name, "y", "mto_st_at is in data-offset order");
        mto_st_close(f);
        free(b);
    }
}

/* ---- writer ----------------------------------------------------------------- */

static void check_wfail(const char *what, int rc, const mto_error *err, const char *path,
                        const char *want)
{
    struct stat st;
    char shown[MTO_ERROR_MSG_MAX];
    size_t i = 0;
    for (; err->msg[i] && i + 1 < sizeof shown; i++) /* keep the TAP log plain text */
        shown[i] = (unsigned char)err->msg[i] < 0x80 ? err->msg[i] : '?';
    shown[i] = '\0';
    ok(rc == MTO_EINVAL && err->code == MTO_EINVAL && strstr(err->msg, path) &&
           strstr(err->msg, want) && stat(path, &st) != 0 && count_temps() == 0,
       "write refuses %s, leaves nothing: %s", what, shown);
}

static void test_writer_errors(void)
{
    float d[4] = {1, 2, 3, 4};
    int64_t s4[] = {4}, sneg[] = {-4}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 4};
    int64_t sbig[] = {INT64_MAX, 4};
    const char *p = in_dir("w.safetensors");
    mto_error err = {0};
    mto_st_out two[] = {{"w.same", MTO_ST_F32, 1, s4, d}, {"w.same", MTO_ST_F32, 1, s4, d}};
    check_wfail("duplicate names", mto_st_write(p, two, 2, NULL, &err), &err, p, "'w.same' given twice");
    mto_st_out o = {"__metadata__", MTO_ST_F32, 1, s4, d};
    check_wfail("the reserved name", mto_st_write(p, &o, 1, NULL, &err), &err, p, "reserved");
    o = (mto_st_out){"w.dt", 99, 1, s4, d};
    check_wfail("an unknown dtype", mto_st_write(p, &o, 1, NULL, &err), &err, p, "'w.dt'");
    o = (mto_st_out){"w.nd", MTO_ST_F32, 9, s9, d};
    check_wfail("9 dimensions", mto_st_write(p, &o, 1, NULL, &err), &err, p, "'w.nd'");
    o = (mto_st_out){"w.neg", MTO_ST_F32, 1, sneg, d};
    check_wfail("a negative shape", mto_st_write(p, &o, 1, NULL, &err), &err, p, "'w.neg'");
    o = (mto_st_out){"w.big", MTO_ST_F32, 2, sbig, d};
    check_wfail("an overflowing shape", mto_st_write(p, &o, 1, NULL, &err), &err, p, "'w.big'");
    o = (mto_st_out){"w.null", MTO_ST_F32, 1, s4, NULL};
    check_wfail("missing data", mto_st_write(p, &o, 1, NULL, &err), &err, p, "'w.null'");
    o = (mto_st_out){"w.\xff", MTO_ST_F32, 1, s4, d};
    check_wfail("a non-UTF-8 name", mto_st_write(p, &o, 1, NULL, &err), &err, p, "UTF-8");
    o = (mto_st_out){"w.ok", MTO_ST_F32, 1, s4, d};
    const char *odd[] = {"k", NULL};
    check_wfail("a metadata key without value", mto_st_write(p, &o, 1, odd, &err), &err, p, "'k'");
    const char *dup[] = {"k", "1", "k", "2", NULL};
    check_wfail("duplicate metadata keys", mto_st_write(p, &o, 1, dup, &err), &err, p, "'k' given twice");
    const char *bad8[] = {"k", "\xc3", NULL};
    check_wfail("non-UTF-8 metadata", mto_st_write(p, &o, 1, bad8, &err), &err, p, "UTF-8");

    const char *nodir = in_dir("no/such/dir/w.safetensors");
    int rc = mto_st_write(nodir, &o, 1, NULL, &err);
    ok(rc == MTO_EIO && err.code == MTO_EIO && strstr(err.msg, nodir),
       "write into a missing directory: %s", err.msg);

    /* Relative path (no directory part) works too. */
    char cwd[1024];
    if (getcwd(cwd, sizeof cwd) && chdir(tmpdir) == 0) {
        rc = mto_st_write("rel.safetensors", &o, 1, NULL, &err);
        mto_st_file *f = NULL;
        ok(rc == 0 && mto_st_open("rel.safetensors", &f, &err) == 0, "relative path written");
        mto_st_close(f);
        if (chdir(cwd) != 0) tap_diag("cannot chdir back");
    }
}

/* An I/O failure mid-write (file size limit) and SIGKILL mid-write must leave
 * the previous file intact. */
static void test_atomicity(void)
{
    const char *p = in_dir("atomic.safetensors");
    float small[4] = {1, 2, 3, 4};
    int64_t s4[] = {4};
    mto_st_out old = {"old", MTO_ST_F32, 1, s4, small};
    mto_error err = {0};
    ok(mto_st_write(p, &old, 1, NULL, &err) == 0, "write the old version");

    size_t big_n = (size_t)16 << 20; /* 64 MB of f32 */
    float *big = malloc(big_n * sizeof *big);
    for (size_t i = 0; i < big_n; i++) big[i] = (float)i;
    int64_t sb[] = {(int64_t)big_n};
    mto_st_out nw = {"new", MTO_ST_F32, 1, sb, big};

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { /* child: a 1 MB file size limit makes write() fail with EFBIG */
        struct rlimit rl = {1 << 20, 1 << 20};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        mto_error e = {0};
        int r = mto_st_write(p, &nw, 1, NULL, &e);
        _exit(r == MTO_EIO && strstr(e.msg, p) ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a failed write (EFBIG) returns MTO_EIO naming the file");
    mto_st_file *f = NULL;
    ok(mto_st_open(p, &f, &err) == 0 && mto_st_find(f, "old"), "old file intact after the failed write");
    /* Overwriting a file that is open for reading: the reader keeps the old data. */
    float nv[4] = {9, 9, 9, 9}, rv[4] = {0};
    mto_st_out repl = {"old", MTO_ST_F32, 1, s4, nv};
    mto_st_file *g = NULL;
    ok(f && mto_st_write(p, &repl, 1, NULL, &err) == 0 &&
           mto_st_read_f32(f, mto_st_find(f, "old"), rv, 4, &err) == 0 && rv[0] == 1 && rv[3] == 4 &&
           mto_st_open(p, &g, &err) == 0 && mto_st_read_f32(g, mto_st_find(g, "old"), rv, 4, &err) == 0 &&
           rv[0] == 9,
       "rewriting a file while it is open: old handle sees old data, new open sees new");
    mto_st_close(g);
    mto_st_close(f);
    mto_st_write(p, &old, 1, NULL, &err);
    is_int(count_temps(), 0, "failed write removed its temp file");

    /* SIGKILL at a few points during a large write. */
    int intact = 0, kills = 0, versions[2] = {0, 0};
    const int delays_us[] = {0, 2000, 10000, 30000, 80000, 200000};
    for (size_t k = 0; k < sizeof delays_us / sizeof *delays_us; k++) {
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            mto_error e = {0};
            _exit(mto_st_write(p, &nw, 1, NULL, &e) == 0 ? 0 : 1);
        }
        struct timespec ts = {0, (long)delays_us[k] * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        kills += WIFSIGNALED(status);
        f = NULL;
        if (mto_st_open(p, &f, &err) == 0) {
            intact++;
            if (mto_st_find(f, "old")) versions[0]++;
            if (mto_st_find(f, "new")) versions[1]++;
        } else {
            tap_diag("after kill %zu: %s", k, err.msg);
        }
        mto_st_close(f);
        remove_temps();
        /* put the old version back for the next round */
        mto_st_write(p, &old, 1, NULL, &err);
    }
    tap_diag("%d of 6 writers killed mid-write; file was old %d times, new %d times", kills,
             versions[0], versions[1]);
    is_int(intact, 6, "after SIGKILL at 6 points the file always opens (old or new, never partial)");
    free(big);
}

static void cleanup(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') unlink(in_dir(e->d_name));
    if (d) closedir(d);
    rmdir(tmpdir);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mto-st-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! cannot create a temp dir\n");
        return 1;
    }
    test_half();
    test_roundtrip();
    test_float_reads();
    test_reference_bytes();
    test_bad_inputs();
    test_good_edges();
    test_writer_errors();
    test_atomicity();
    cleanup();
    return tap_done();
}
