/* safetensors.c — a validating safetensors reader and an atomic writer.
 *
 * Reading: the whole file is mapped, the header parsed with jansson, and every
 * tensor checked (known dtype, shape, offsets inside the data section, size =
 * numel * dtype size, no overlap, no gap, nothing left over) before the caller
 * sees anything. Afterwards every access is in bounds by construction. */
#define _POSIX_C_SOURCE 200809L
#include "json_oom.h"
#include "mto/alloc.h"
#include "mto/safetensors.h"
#include "mto/half.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct mto_st_file {
    char *name;                 /* for messages */
    const unsigned char *data;  /* start of the data section */
    uint64_t data_len;
    void *map;                  /* owned mapping (mto_st_open), else NULL */
    size_t map_len;
    mto_st_tensor *t;           /* in data-offset order */
    size_t n;
    size_t *by_name;            /* indices into t, sorted by name */
    char **meta_k, **meta_v;
    size_t nmeta;
};

/* Keep messages readable when a hostile file uses megabyte-long names. */
#define NAME_FMT "%.200s"

/* ---- dtypes ----------------------------------------------------------- */

static const struct { const char *name; size_t size; } dtypes[MTO_ST_NDTYPES] = {
    [MTO_ST_F32] = {"F32", 4},   [MTO_ST_F16] = {"F16", 2},   [MTO_ST_BF16] = {"BF16", 2},
    [MTO_ST_F64] = {"F64", 8},   [MTO_ST_I64] = {"I64", 8},   [MTO_ST_I32] = {"I32", 4},
    [MTO_ST_I16] = {"I16", 2},   [MTO_ST_I8] = {"I8", 1},     [MTO_ST_U8] = {"U8", 1},
    [MTO_ST_BOOL] = {"BOOL", 1}, [MTO_ST_U16] = {"U16", 2},   [MTO_ST_U32] = {"U32", 4},
    [MTO_ST_U64] = {"U64", 8},   [MTO_ST_F8_E4M3] = {"F8_E4M3", 1},
    [MTO_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *mto_st_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < MTO_ST_NDTYPES ? dtypes[dtype].name : "?";
}

size_t mto_st_dtype_size(int dtype)
{
    return dtype >= 0 && dtype < MTO_ST_NDTYPES ? dtypes[dtype].size : 0;
}

int mto_st_dtype_from_name(const char *name)
{
    for (int i = 0; name && i < MTO_ST_NDTYPES; i++)
        if (strcmp(dtypes[i].name, name) == 0) return i;
    return -1;
}

/* numel and byte size with overflow checks; 0 ok, -1 overflow. A zero
 * dimension makes the tensor empty whatever the others are. */
static int shape_size(const int64_t *shape, int ndim, int dtype, int64_t *numel,
                      uint64_t *nbytes)
{
    uint64_t n = 1;
    int empty = 0;
    if (ndim < 0 || ndim > MTO_ST_MAX_DIMS || mto_st_dtype_size(dtype) == 0) return -1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        empty |= shape[i] == 0;
    }
    if (empty) { *numel = 0; *nbytes = 0; return 0; }
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (n > (uint64_t)INT64_MAX / d) return -1;
        n *= d;
    }
    uint64_t es = mto_st_dtype_size(dtype);
    if (es == 0 || n > UINT64_MAX / es) return -1;
    *numel = (int64_t)n;
    *nbytes = n * es;
    return 0;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t k = 0;
    buf[k++] = '[';
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (k < cap - 1) { buf[k++] = ']'; buf[k] = '\0'; } else buf[cap - 1] = '\0';
}

/* ---- parsing ---------------------------------------------------------- */

void mto_st_close(mto_st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free((char *)f->t[i].name);
    for (size_t i = 0; i < f->nmeta; i++) { free(f->meta_k[i]); free(f->meta_v[i]); }
    free(f->t);
    free(f->by_name);
    free(f->meta_k);
    free(f->meta_v);
    if (f->map) munmap(f->map, f->map_len);
    free(f->name);
    free(f);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mto_malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* jansson reports "duplicate object key" with the position just past the
 * key's closing quote; recover the key so the message can name the tensor. */
static void duplicate_key(const char *hdr, size_t len, int pos, char *out, size_t cap)
{
    out[0] = '\0';
    if (pos < 2 || (size_t)pos > len || hdr[pos - 1] != '"') return;
    int i = pos - 2;
    for (; i >= 0; i--) {
        if (hdr[i] != '"') continue;
        int bs = 0; /* a quote preceded by an even number of backslashes opens the key */
        for (int j = i - 1; j >= 0 && hdr[j] == '\\'; j--) bs++;
        if (bs % 2 == 0) break;
    }
    if (i < 0) return;
    json_t *s = json_loadb(hdr + i, (size_t)(pos - i), JSON_DECODE_ANY, NULL);
    if (json_is_string(s)) snprintf(out, cap, "%s", json_string_value(s));
    json_decref(s);
}

/* Read a non-negative JSON integer. */
static int get_uint(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Fill t from a header entry; on error the message names file and tensor. */
static int parse_entry(const char *fname, const char *name, json_t *e, uint64_t data_len,
                       mto_st_tensor *t, mto_error *err)
{
#define BAD(...) mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" NAME_FMT "': " __VA_ARGS__)
    if (!json_is_object(e)) return BAD("entry is not an object", fname, name);
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"),
           *jo = json_object_get(e, "data_offsets");
    if (!json_is_string(jd)) return BAD("missing or non-string \"dtype\"", fname, name);
    t->dtype = mto_st_dtype_from_name(json_string_value(jd));
    if (t->dtype < 0)
        return BAD("unknown dtype \"%.40s\"", fname, name, json_string_value(jd));
    if (!json_is_array(js)) return BAD("missing or non-array \"shape\"", fname, name);
    if (json_array_size(js) > MTO_ST_MAX_DIMS)
        return BAD("shape has %zu dimensions (at most %d)", fname, name, json_array_size(js),
                   MTO_ST_MAX_DIMS);
    t->ndim = (int)json_array_size(js);
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(js, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return BAD("shape[%d] is not a non-negative integer", fname, name, i);
        t->shape[i] = (int64_t)json_integer_value(d);
    }
    char sh[128];
    shape_str(t->shape, t->ndim, sh, sizeof sh);
    int64_t numel;
    if (shape_size(t->shape, t->ndim, t->dtype, &numel, &t->nbytes) < 0)
        return BAD("shape %s %s overflows", fname, name, sh, mto_st_dtype_name(t->dtype));
    uint64_t b, en;
    if (!json_is_array(jo) || json_array_size(jo) != 2 || get_uint(json_array_get(jo, 0), &b) ||
        get_uint(json_array_get(jo, 1), &en))
        return BAD("\"data_offsets\" must be [begin, end] with non-negative integers", fname,
                   name);
    if (en < b)
        return BAD("data_offsets [%llu, %llu] end before begin", fname, name,
                   (unsigned long long)b, (unsigned long long)en);
    if (en > data_len)
        return BAD("data_offsets [%llu, %llu] past the end of the %llu-byte data section",
                   fname, name, (unsigned long long)b, (unsigned long long)en,
                   (unsigned long long)data_len);
    if (en - b != t->nbytes)
        return BAD("data_offsets [%llu, %llu] but shape %s %s needs %llu bytes", fname, name,
                   (unsigned long long)b, (unsigned long long)en, sh,
                   mto_st_dtype_name(t->dtype), (unsigned long long)t->nbytes);
    t->offset = b;
    return 0;
#undef BAD
}

static int parse_meta(mto_st_file *f, json_t *m, mto_error *err)
{
    if (!json_is_object(m))
        return mto_error_set(err, MTO_EFORMAT, "%.200s: \"__metadata__\" is not an object",
                             f->name);
    size_t cap = json_object_size(m);
    f->meta_k = mto_calloc(cap ? cap : 1, sizeof *f->meta_k);
    f->meta_v = mto_calloc(cap ? cap : 1, sizeof *f->meta_v);
    if (!f->meta_k || !f->meta_v) return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return mto_error_set(err, MTO_EFORMAT,
                                 "%.200s: \"__metadata__\" key '" NAME_FMT "' is not a string",
                                 f->name, k);
        f->meta_k[f->nmeta] = dupstr(k);
        f->meta_v[f->nmeta] = dupstr(json_string_value(v));
        f->nmeta++;
        if (!f->meta_k[f->nmeta - 1] || !f->meta_v[f->nmeta - 1])
            return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name);
    }
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const mto_st_tensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    /* Empty tensors first at equal offsets, so a gap check sees real extents. */
    return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

/* qsort has no context argument: sort pairs carrying the name instead. */
typedef struct { const char *name; size_t i; } name_ix;
static int by_name_cmp(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

/* Check that the tensors, sorted by offset, tile [0, data_len) exactly. */
static int check_layout(mto_st_file *f, mto_error *err)
{
    uint64_t end = 0;
    const mto_st_tensor *prev = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const mto_st_tensor *t = &f->t[i];
        if (t->nbytes == 0) continue;
        if (t->offset < end)
            return mto_error_set(err, MTO_EFORMAT,
                                 "%.200s: tensor '" NAME_FMT "': data_offsets [%llu, %llu] "
                                 "overlap tensor '" NAME_FMT "' (ends at %llu)",
                                 f->name, t->name, (unsigned long long)t->offset,
                                 (unsigned long long)(t->offset + t->nbytes), prev->name,
                                 (unsigned long long)end);
        if (t->offset > end)
            return mto_error_set(err, MTO_EFORMAT,
                                 "%.200s: tensor '" NAME_FMT "': data_offsets begin at %llu, "
                                 "leaving a gap of %llu bytes after %s%.200s%s",
                                 f->name, t->name, (unsigned long long)t->offset,
                                 (unsigned long long)(t->offset - end),
                                 prev ? "tensor '" : "the start of the data section",
                                 prev ? prev->name : "", prev ? "'" : "");
        end = t->offset + t->nbytes;
        prev = t;
    }
    if (end != f->data_len)
        return mto_error_set(err, MTO_EFORMAT,
                             "%.200s: data section is %llu bytes but the tensors cover %llu "
                             "(trailing bytes)",
                             f->name, (unsigned long long)f->data_len, (unsigned long long)end);
    return 0;
}

static int parse_header(mto_st_file *f, const char *hdr, size_t hlen, mto_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (json_error_code(&je) == json_error_duplicate_key) {
            char key[256];
            duplicate_key(hdr, hlen, je.position, key, sizeof key);
            return mto_error_set(err, MTO_EFORMAT,
                                 "%.200s: duplicate key '%s' in header (file byte %d)",
                                 f->name, key, je.position + 8);
        }
        if (mto_json_failed_for_memory(hdr, hlen, JSON_REJECT_DUPLICATES, &je))
            return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory parsing the header", f->name);
        return mto_error_set(err, MTO_EFORMAT,
                             "%.200s: header is not valid JSON: %s (header byte %d)", f->name,
                             je.text, je.position);
    }
    int rc = 0;
    if (!json_is_object(root)) {
        rc = mto_error_set(err, MTO_EFORMAT, "%.200s: header JSON is not an object", f->name);
        goto done;
    }
    size_t cap = json_object_size(root);
    f->t = mto_calloc(cap ? cap : 1, sizeof *f->t);
    if (!f->t) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name); goto done; }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "__metadata__") == 0) {
            if ((rc = parse_meta(f, v, err)) < 0) goto done;
            continue;
        }
        mto_st_tensor *t = &f->t[f->n];
        if ((rc = parse_entry(f->name, k, v, f->data_len, t, err)) < 0) goto done;
        if (!(t->name = dupstr(k))) {
            rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name);
            goto done;
        }
        f->n++;
    }
    qsort(f->t, f->n, sizeof *f->t, by_offset);
    if ((rc = check_layout(f, err)) < 0) goto done;
    name_ix *ix = mto_malloc((f->n ? f->n : 1) * sizeof *ix);
    f->by_name = mto_malloc((f->n ? f->n : 1) * sizeof *f->by_name);
    if (!ix || !f->by_name) {
        free(ix);
        rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name);
        goto done;
    }
    for (size_t i = 0; i < f->n; i++) ix[i] = (name_ix){f->t[i].name, i};
    qsort(ix, f->n, sizeof *ix, by_name_cmp);
    for (size_t i = 0; i < f->n; i++) f->by_name[i] = ix[i].i;
    free(ix);
done:
    json_decref(root);
    return rc;
}

int mto_st_parse_buffer(const unsigned char *buf, size_t len, mto_st_file **out,
                        const char *name_for_errors, mto_error *err)
{
    *out = NULL;
    mto_st_file *f = mto_calloc(1, sizeof *f);
    if (!f || !(f->name = dupstr(name_for_errors ? name_for_errors : "(buffer)"))) {
        free(f);
        return mto_error_set(err, MTO_ENOMEM, "out of memory opening safetensors");
    }
    int rc;
    if (len < 8) {
        rc = mto_error_set(err, MTO_EFORMAT,
                           "%.200s: file is %zu bytes, too short for the 8-byte header length",
                           f->name, len);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen == 0) {
        rc = mto_error_set(err, MTO_EFORMAT, "%.200s: header length is 0", f->name);
        goto fail;
    }
    if (hlen > MTO_ST_MAX_HEADER) {
        rc = mto_error_set(err, MTO_EFORMAT, "%.200s: header length %llu is too large (max %u)",
                           f->name, (unsigned long long)hlen, MTO_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > len - 8) {
        rc = mto_error_set(err, MTO_EFORMAT,
                           "%.200s: header length %llu runs past the end of the file (%zu bytes)",
                           f->name, (unsigned long long)hlen, len);
        goto fail;
    }
    f->data = buf + 8 + hlen;
    f->data_len = len - 8 - hlen;
    if ((rc = parse_header(f, (const char *)buf + 8, (size_t)hlen, err)) < 0) goto fail;
    *out = f;
    return 0;
fail:
    mto_st_close(f);
    return rc;
}

int mto_st_open(const char *path, mto_st_file **out, mto_error *err)
{
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not hang waiting for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return mto_error_set(err, MTO_EIO, "%.200s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return mto_error_set(err, MTO_EIO, "%.200s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mto_error_set(err, MTO_EIO, "%.200s: %s", path,
                             S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return mto_error_set(err, MTO_EIO, "%.200s: too large to map", path);
    }
    size_t len = (size_t)st.st_size;
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return mto_error_set(err, e == ENOMEM ? MTO_ENOMEM : MTO_EIO, "%.200s: cannot map: %s",
                                 path, strerror(e));
        }
    }
    close(fd);
    mto_st_file *f;
    int rc = mto_st_parse_buffer(map, len, &f, path, err);
    if (rc < 0) {
        if (map) munmap(map, len);
        return rc;
    }
    f->map = map;
    f->map_len = len;
    *out = f;
    return 0;
}

/* ---- access ----------------------------------------------------------- */

size_t mto_st_count(const mto_st_file *f) { return f ? f->n : 0; }

const mto_st_tensor *mto_st_at(const mto_st_file *f, size_t i)
{
    return f && i < f->n ? &f->t[i] : NULL;
}

const mto_st_tensor *mto_st_find(const mto_st_file *f, const char *name)
{
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->by_name[mid]].name, name);
        if (c == 0) return &f->t[f->by_name[mid]];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

int64_t mto_st_numel(const mto_st_tensor *t)
{
    int64_t n;
    uint64_t nb;
    return t && shape_size(t->shape, t->ndim, t->dtype, &n, &nb) == 0 ? n : -1;
}

const void *mto_st_data(const mto_st_file *f, const mto_st_tensor *t)
{
    if (!f || !t || t->offset > f->data_len || t->nbytes > f->data_len - t->offset) return NULL;
    return f->data + t->offset;
}

/* Little-endian loads that work at any alignment and on any host. */
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int mto_st_read_f32(const mto_st_file *f, const mto_st_tensor *t, float *dst, size_t n,
                    mto_error *err)
{
    const char *fname = f ? f->name : "(null)";
    const unsigned char *p = mto_st_data(f, t);
    if (!p)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" NAME_FMT "' is not in this file",
                             fname, t && t->name ? t->name : "(null)");
    int64_t numel = mto_st_numel(t);
    if (numel < 0 || (uint64_t)numel != (uint64_t)n || (uint64_t)numel * mto_st_dtype_size(t->dtype) != t->nbytes)
        return mto_error_set(err, MTO_EINVAL,
                             "%.200s: tensor '" NAME_FMT "' has %lld elements, caller expected %zu",
                             fname, t->name, (long long)numel, n);
    switch (t->dtype) {
    case MTO_ST_F32:
        for (size_t i = 0; i < n; i++) {
            uint32_t u = le32(p + 4 * i);
            memcpy(&dst[i], &u, 4);
        }
        return 0;
    case MTO_ST_F16:
        for (size_t i = 0; i < n; i++) dst[i] = mto_f16_to_f32(le16(p + 2 * i));
        return 0;
    case MTO_ST_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = mto_bf16_to_f32(le16(p + 2 * i));
        return 0;
    case MTO_ST_F64:
        for (size_t i = 0; i < n; i++) {
            uint64_t u = (uint64_t)le32(p + 8 * i) | (uint64_t)le32(p + 8 * i + 4) << 32;
            double d;
            memcpy(&d, &u, 8);
            dst[i] = (float)d;
        }
        return 0;
    default:
        return mto_error_set(err, MTO_EINVAL,
                             "%.200s: tensor '" NAME_FMT "' is %s, not a floating-point type",
                             fname, t->name, mto_st_dtype_name(t->dtype));
    }
}

const char *mto_st_meta(const mto_st_file *f, const char *key)
{
    for (size_t i = 0; f && key && i < f->nmeta; i++)
        if (strcmp(f->meta_k[i], key) == 0) return f->meta_v[i];
    return NULL;
}

size_t mto_st_meta_count(const mto_st_file *f) { return f ? f->nmeta : 0; }

const char *mto_st_meta_at(const mto_st_file *f, size_t i, const char **value)
{
    if (!f || i >= f->nmeta) {
        if (value) *value = NULL;
        return NULL;
    }
    if (value) *value = f->meta_v[i];
    return f->meta_k[i];
}

const char *mto_st_name(const mto_st_file *f) { return f ? f->name : NULL; }
