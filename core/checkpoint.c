/* checkpoint.c — safetensors files, torch zip archives and sharded sets
 * (*.index.json) behind one tensor table (mto/checkpoint.h). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "json_oom.h"
#include "mto/alloc.h"
#include "mto/checkpoint.h"
#include "mto/torch.h"

typedef struct {
    char *path;
    mto_st_file *st;   /* one of st / pt */
    mto_pt_file *pt;
    size_t ntensors;
    uint64_t nbytes;
} shard;

struct mto_ckpt {
    char *file;
    int torch;
    shard *sh;
    size_t nsh;
    mto_ckpt_tensor *t;
    const void **src;  /* per tensor: the mto_st_tensor or mto_pt_tensor */
    size_t n;
    size_t *by_name;
    int64_t total_size;
};

#define NAME_FMT "%.200s"

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int mto_ckpt_resolve(const char *path, char *file, size_t cap, mto_error *err)
{
    static const char *const names[] = {"model.safetensors.index.json", "model.safetensors",
                                        "pytorch_model.bin.index.json", "pytorch_model.bin"};
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if ((size_t)snprintf(file, cap, "%s", path) >= cap)
            return mto_error_set(err, MTO_EINVAL, "%.200s: path too long", path);
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((size_t)snprintf(file, cap, "%s/%s", path, names[i]) >= cap)
            return mto_error_set(err, MTO_EINVAL, "%.200s: path too long", path);
        if (is_file(file)) return 0;
    }
    snprintf(file, cap, "%s/model.safetensors", path);
    return mto_error_set(err, MTO_ENOTFOUND,
                         "%.200s: no model.safetensors, pytorch_model.bin or *.index.json in this directory", path);
}

static int is_torch_file(const char *path)
{
    if (ends_with(path, ".bin") || ends_with(path, ".pt") || ends_with(path, ".pth")) return 1;
    FILE *f = fopen(path, "rb");
    unsigned char m[2] = {0};
    int r = f && fread(m, 1, 2, f) == 2 && m[0] == 'P' && m[1] == 'K';
    if (f) fclose(f);
    return r;
}

static int open_shard(shard *s, int torch, mto_error *err)
{
    if (torch) return mto_pt_open(s->path, &s->pt, err);
    return mto_st_open(s->path, &s->st, err);
}

void mto_ckpt_close(mto_ckpt *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nsh; i++) {
        mto_st_close(c->sh[i].st);
        mto_pt_close(c->sh[i].pt);
        free(c->sh[i].path);
    }
    free(c->sh);
    free(c->t);
    free(c->src);
    free(c->by_name);
    free(c->file);
    free(c);
}

static int add_tensor(mto_ckpt *c, size_t sh, const void *src, size_t *cap)
{
    if (c->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        mto_ckpt_tensor *nt = mto_realloc(c->t, nc * sizeof *nt);
        if (nt) c->t = nt;
        const void **ns = nt ? mto_realloc(c->src, nc * sizeof *ns) : NULL;
        if (!ns) return MTO_ENOMEM;
        c->src = ns;
        *cap = nc;
    }
    mto_ckpt_tensor *t = &c->t[c->n];
    memset(t, 0, sizeof *t);
    t->shard = sh;
    if (c->torch) {
        const mto_pt_tensor *p = src;
        t->name = p->name;
        t->dtype = p->dtype;
        t->ndim = p->ndim;
        memcpy(t->shape, p->shape, sizeof t->shape);
        t->nbytes = (uint64_t)mto_pt_numel(p) * mto_st_dtype_size(p->dtype);
    } else {
        const mto_st_tensor *p = src;
        t->name = p->name;
        t->dtype = p->dtype;
        t->ndim = p->ndim;
        memcpy(t->shape, p->shape, sizeof t->shape);
        t->nbytes = p->nbytes;
    }
    c->src[c->n++] = src;
    c->sh[sh].ntensors++;
    c->sh[sh].nbytes += t->nbytes;
    return 0;
}

static size_t shard_len(const mto_ckpt *c, size_t sh)
{
    return c->torch ? mto_pt_count(c->sh[sh].pt) : mto_st_count(c->sh[sh].st);
}

static const void *shard_at(const mto_ckpt *c, size_t sh, size_t i)
{
    return c->torch ? (const void *)mto_pt_at(c->sh[sh].pt, i) : (const void *)mto_st_at(c->sh[sh].st, i);
}

static _Thread_local const mto_ckpt_tensor *sort_base;
static int cmp_idx(const void *a, const void *b)
{
    return strcmp(sort_base[*(const size_t *)a].name, sort_base[*(const size_t *)b].name);
}

static int cmp_shard(const void *a, const void *b)
{
    return strcmp(((const shard *)a)->path, ((const shard *)b)->path);
}

/* A sharded set: read the index, open each shard once, keep the tensors the
 * weight map assigns to it. */
static int open_index(mto_ckpt *c, mto_error *err)
{
    char *text = NULL;
    json_t *root = NULL, *seen = NULL;
    const char *file = c->file;
    int rc = 0;
    FILE *fp = fopen(file, "rb");
    if (!fp) return mto_error_set(err, MTO_EIO, "%.200s: %s", file, strerror(errno));
    long len = -1;
    if (fseek(fp, 0, SEEK_END) == 0) len = ftell(fp);
    if (len < 0 || len > (64L << 20) || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return mto_error_set(err, MTO_EFORMAT, "%.200s: cannot read the index%s", file, len > 0 ? " (over 64 MiB)" : "");
    }
    if (!(text = mto_malloc((size_t)len + 1))) {
        fclose(fp);
        return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file);
    }
    size_t got = fread(text, 1, (size_t)len, fp);
    fclose(fp);
    if (got != (size_t)len) { rc = mto_error_set(err, MTO_EIO, "%.200s: short read", file); goto out; }
    text[len] = 0;
    json_error_t je;
    root = json_loadb(text, (size_t)len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (mto_json_failed_for_memory(text, (size_t)len, JSON_REJECT_DUPLICATES, &je))
            rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory parsing the index", file);
        else
            rc = mto_error_set(err, MTO_EFORMAT, "%.200s:%d: not valid JSON: %s", file, je.line, je.text);
        goto out;
    }
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        rc = mto_error_set(err, MTO_EFORMAT, "%.200s: no \"weight_map\" object of tensor -> shard file", file);
        goto out;
    }
    json_t *meta = json_object_get(root, "metadata");
    json_t *ts = json_is_object(meta) ? json_object_get(meta, "total_size") : NULL;
    c->total_size = json_is_integer(ts) ? (int64_t)json_integer_value(ts) : json_is_real(ts) ? (int64_t)json_real_value(ts) : -1;
    size_t nwm = json_object_size(wm);
    if (!(seen = json_object()) || !(c->sh = mto_calloc(nwm, sizeof *c->sh))) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file); goto out; }
    const char *slash = strrchr(file, '/');
    int dirlen = slash ? (int)(slash - file) : 1;
    const char *dir = slash ? file : ".";
    const char *key;
    json_t *val;
    json_object_foreach(wm, key, val) {
        const char *s = json_string_value(val);
        if (!s || !*s || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 255) {
            rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" NAME_FMT "' maps to %s%.200s%s (a file name in the "
                               "index's directory is expected)", file, key, s ? "'" : "", s ? s : "a non-string",
                               s ? "'" : "");
            goto out;
        }
        if (json_object_get(seen, s)) continue; /* a set of shard names: no quadratic search */
        size_t k = c->nsh;
        if (json_object_set_new(seen, s, json_true())) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file); goto out; }
        size_t plen = (size_t)dirlen + strlen(s) + 2;
        if (!(c->sh[k].path = mto_malloc(plen))) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file); goto out; }
        snprintf(c->sh[k].path, plen, "%.*s/%s", dirlen, dir, s);
        c->nsh++;
    }
    qsort(c->sh, c->nsh, sizeof *c->sh, cmp_shard); /* model-00001-of-0000N first */
    for (size_t k = 0; k < c->nsh; k++) {
        if (json_object_set_new(seen, strrchr(c->sh[k].path, '/') + 1, json_integer((json_int_t)k))) {
            rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file);
            goto out;
        }
        if ((rc = open_shard(&c->sh[k], c->torch, err))) goto out;
    }
    size_t cap = 0;
    for (size_t k = 0; k < c->nsh; k++) {
        const char *base = strrchr(c->sh[k].path, '/') + 1;
        for (size_t i = 0; i < shard_len(c, k); i++) {
            const void *src = shard_at(c, k, i);
            const char *name = c->torch ? ((const mto_pt_tensor *)src)->name : ((const mto_st_tensor *)src)->name;
            const char *where = json_string_value(json_object_get(wm, name));
            if (!where || strcmp(where, base) != 0) continue;
            if (add_tensor(c, k, src, &cap)) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file); goto out; }
        }
    }
    if (c->n != nwm) { /* name the first tensor its shard lacks */
        json_object_foreach(wm, key, val) {
            size_t k = (size_t)json_integer_value(json_object_get(seen, json_string_value(val)));
            int found = k < c->nsh && (c->torch ? mto_pt_find(c->sh[k].pt, key) != NULL
                                               : mto_st_find(c->sh[k].st, key) != NULL);
            if (!found) {
                rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" NAME_FMT "' is not in its shard %.200s", file,
                                   key, k < c->nsh ? c->sh[k].path : "?");
                goto out;
            }
        }
        rc = mto_error_set(err, MTO_EFORMAT, "%.200s: weight map and shards disagree", file);
    }
out:
    json_decref(seen);
    json_decref(root);
    free(text);
    return rc;
}

int mto_ckpt_open(const char *path, mto_ckpt **out, mto_error *err)
{
    *out = NULL;
    char file[4096];
    int rc = mto_ckpt_resolve(path, file, sizeof file, err);
    if (rc) return rc;
    mto_ckpt *c = mto_calloc(1, sizeof *c);
    if (!c || !(c->file = mto_strdup(file))) {
        free(c);
        return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file);
    }
    c->total_size = -1;
    if (ends_with(file, ".index.json")) {
        c->torch = ends_with(file, ".bin.index.json") || ends_with(file, ".pt.index.json");
        rc = open_index(c, err);
    } else {
        c->torch = is_torch_file(file);
        size_t cap = 0;
        if (!(c->sh = mto_calloc(1, sizeof *c->sh)) || !(c->sh[0].path = mto_strdup(file)))
            rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file);
        else {
            c->nsh = 1;
            rc = open_shard(&c->sh[0], c->torch, err);
        }
        for (size_t i = 0; !rc && i < shard_len(c, 0); i++)
            if (add_tensor(c, 0, shard_at(c, 0, i), &cap)) rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file);
    }
    if (!rc && !(c->by_name = mto_calloc(c->n ? c->n : 1, sizeof *c->by_name)))
        rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", file);
    if (rc) {
        mto_ckpt_close(c);
        return rc;
    }
    for (size_t i = 0; i < c->n; i++) c->by_name[i] = i;
    sort_base = c->t;
    qsort(c->by_name, c->n, sizeof *c->by_name, cmp_idx);
    for (size_t i = 1; i < c->n; i++) /* one name in two shards of a hand-made index */
        if (!strcmp(c->t[c->by_name[i]].name, c->t[c->by_name[i - 1]].name)) {
            rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" NAME_FMT "' appears twice", file,
                               c->t[c->by_name[i]].name);
            mto_ckpt_close(c);
            return rc;
        }
    *out = c;
    return 0;
}

const char *mto_ckpt_file(const mto_ckpt *c) { return c->file; }
const char *mto_ckpt_format(const mto_ckpt *c) { return c->torch ? "pytorch" : "safetensors"; }
size_t mto_ckpt_count(const mto_ckpt *c) { return c ? c->n : 0; }
const mto_ckpt_tensor *mto_ckpt_at(const mto_ckpt *c, size_t i) { return c && i < c->n ? &c->t[i] : NULL; }
size_t mto_ckpt_shard_count(const mto_ckpt *c) { return c ? c->nsh : 0; }
int64_t mto_ckpt_total_size(const mto_ckpt *c) { return c ? c->total_size : -1; }

const char *mto_ckpt_shard(const mto_ckpt *c, size_t i, size_t *ntensors, uint64_t *nbytes)
{
    if (!c || i >= c->nsh) return NULL;
    if (ntensors) *ntensors = c->sh[i].ntensors;
    if (nbytes) *nbytes = c->sh[i].nbytes;
    return c->sh[i].path;
}

const mto_ckpt_tensor *mto_ckpt_find(const mto_ckpt *c, const char *name)
{
    if (!c || !name) return NULL;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->t[c->by_name[mid]].name, name);
        if (r == 0) return &c->t[c->by_name[mid]];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int64_t mto_ckpt_numel(const mto_ckpt_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static int check_owned(const mto_ckpt *c, const mto_ckpt_tensor *t, mto_error *err)
{
    if (!c || !t || t < c->t || t >= c->t + c->n)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor is not in this checkpoint", c ? c->file : "(null)");
    return 0;
}

int mto_ckpt_read_f32(mto_ckpt *c, const mto_ckpt_tensor *t, float *dst, size_t n, mto_error *err)
{
    int rc = check_owned(c, t, err);
    if (rc) return rc;
    const void *src = c->src[t - c->t];
    if (c->torch) return mto_pt_read_f32(c->sh[t->shard].pt, src, dst, n, err);
    return mto_st_read_f32(c->sh[t->shard].st, src, dst, n, err);
}

int mto_ckpt_read_raw(mto_ckpt *c, const mto_ckpt_tensor *t, void *dst, size_t nbytes, mto_error *err)
{
    int rc = check_owned(c, t, err);
    if (rc) return rc;
    const void *src = c->src[t - c->t];
    if (c->torch) return mto_pt_read(c->sh[t->shard].pt, src, dst, nbytes, err);
    if (nbytes != t->nbytes)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" NAME_FMT "' has %llu bytes, caller expected %zu",
                             c->sh[t->shard].path, t->name, (unsigned long long)t->nbytes, nbytes);
    if (nbytes) memcpy(dst, mto_st_data(c->sh[t->shard].st, src), nbytes);
    return 0;
}

int mto_ckpt_same_data(const mto_ckpt *c, const mto_ckpt_tensor *a, const mto_ckpt_tensor *b)
{
    if (!c || !c->torch || !a || !b || a < c->t || a >= c->t + c->n || b < c->t || b >= c->t + c->n ||
        a->shard != b->shard)
        return 0;
    const mto_pt_tensor *x = c->src[a - c->t], *y = c->src[b - c->t];
    return !strcmp(x->storage, y->storage) && x->storage_offset == y->storage_offset && x->dtype == y->dtype &&
           x->ndim == y->ndim && !memcmp(x->shape, y->shape, (size_t)x->ndim * sizeof x->shape[0]);
}

const char *mto_ckpt_meta(const mto_ckpt *c, const char *key)
{
    return c && c->nsh && c->sh[0].st ? mto_st_meta(c->sh[0].st, key) : NULL;
}

size_t mto_ckpt_meta_count(const mto_ckpt *c)
{
    return c && c->nsh && c->sh[0].st ? mto_st_meta_count(c->sh[0].st) : 0;
}

const char *mto_ckpt_meta_at(const mto_ckpt *c, size_t i, const char **value)
{
    return c && c->nsh && c->sh[0].st ? mto_st_meta_at(c->sh[0].st, i, value) : NULL;
}

int mto_parse_size(const char *s, uint64_t *out, mto_error *err)
{
    static const struct { const char *suf; double mul; } units[] = {
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
        {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}, {"", 1},
    };
    char *end = NULL;
    errno = 0;
    double x = s ? strtod(s, &end) : 0;
    if (!s || end == s || errno || !(x > 0)) goto bad;
    while (*end == ' ') end++;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (!strcasecmp(end, units[k].suf)) {
            double v = x * units[k].mul;
            if (v < 1 || v > 9.2e18) goto bad;
            *out = (uint64_t)v;
            return 0;
        }
bad:
    return mto_error_set(err, MTO_EINVAL, "max_shard_size '%.100s': expected bytes or a number with KB, MB, GB, KiB, "
                         "MiB or GiB", s ? s : "(null)");
}
