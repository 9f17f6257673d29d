/* safetensors_shard.c — save tensors as Hugging Face sharded safetensors:
 * model-0000K-of-0000N.safetensors + model.safetensors.index.json
 * ({"metadata": {"total_size": bytes}, "weight_map": {tensor: shard}}).
 * Shards are filled greedily in tensor order, as transformers does: a tensor
 * starts a new shard when it would push the current one past max_shard_size
 * (a tensor larger than the limit gets a shard of its own). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mto/alloc.h"
#include "mto/checkpoint.h"

static uint64_t tensor_bytes(const mto_st_out *t)
{
    uint64_t n = mto_st_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
    return n;
}

int mto_st_write_text_atomic(const char *path, const char *text, mto_error *err)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return mto_error_set(err, MTO_EIO, "%s: %s", tmp, strerror(errno));
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return mto_error_set(err, MTO_EIO, "%s: %s", path, strerror(e));
    }
    return 0;
}

/* Write shard tensors[first..last) to path, filling and releasing its data. */
static int write_one(const char *path, mto_st_out *tensors, size_t first, size_t last, const char *const *meta_kv,
                     mto_st_fill_fn fill, void *ctx, mto_error *err)
{
    int rc = fill ? fill(ctx, tensors, first, last, 0, err) : 0;
    if (!rc) rc = mto_st_write(path, tensors + first, last - first, meta_kv, err);
    if (fill) fill(ctx, tensors, first, last, 1, NULL);
    return rc;
}

int mto_st_write_sharded(const char *dir, const mto_st_out *tensors, size_t n, const char *const *meta_kv,
                         uint64_t max_shard_size, mto_error *err)
{
    return mto_st_write_sharded_fill(dir, (mto_st_out *)tensors, n, meta_kv, max_shard_size, NULL, NULL, err);
}

int mto_st_write_sharded_fill(const char *dir, mto_st_out *tensors, size_t n, const char *const *meta_kv,
                              uint64_t max_shard_size, mto_st_fill_fn fill, void *ctx, mto_error *err)
{
    char path[4200], index[4200];
    if ((size_t)snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir) >= sizeof index)
        return mto_error_set(err, MTO_EINVAL, "%.200s: path too long", dir);
    size_t *first = mto_calloc(n + 1, sizeof *first); /* first tensor of each shard */
    if (!first) return mto_error_set(err, MTO_ENOMEM, "%s: out of memory", dir);
    size_t nsh = 0;
    uint64_t cur = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = tensor_bytes(&tensors[i]);
        if (i == 0 || (max_shard_size && cur + b > max_shard_size && cur > 0)) {
            first[nsh++] = i;
            cur = 0;
        }
        cur += b;
        total += b;
    }
    first[nsh] = n;
    int rc = 0;
    if (nsh <= 1) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        if (!(rc = write_one(path, tensors, 0, n, meta_kv, fill, ctx, err)) && unlink(index) != 0 && errno != ENOENT)
            rc = mto_error_set(err, MTO_EIO, "%s: %s", index, strerror(errno));
        free(first);
        return rc;
    }
    json_t *root = json_object(), *meta = json_object(), *wm = json_object();
    char *text = NULL;
    if (!root || !meta || !wm || json_object_set_new(meta, "total_size", json_integer((json_int_t)total)) ||
        json_object_set(root, "metadata", meta) || json_object_set(root, "weight_map", wm)) {
        rc = mto_error_set(err, MTO_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    for (size_t k = 0; k < nsh && !rc; k++) {
        char name[64];
        snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", k + 1, nsh);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        for (size_t i = first[k]; i < first[k + 1]; i++)
            if (json_object_set_new(wm, tensors[i].name, json_string(name))) {
                rc = mto_error_set(err, MTO_ENOMEM, "%s: out of memory", dir);
                break;
            }
        if (!rc) rc = write_one(path, tensors, first[k], first[k + 1], meta_kv, fill, ctx, err);
    }
    if (rc) goto out;
    if (!(text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS))) {
        rc = mto_error_set(err, MTO_ENOMEM, "%s: out of memory", index);
        goto out;
    }
    if ((rc = mto_st_write_text_atomic(index, text, err))) goto out;
    snprintf(path, sizeof path, "%s/model.safetensors", dir); /* stale single file: the index wins already */
    if (unlink(path) != 0 && errno != ENOENT) rc = mto_error_set(err, MTO_EIO, "%s: %s", path, strerror(errno));
out:
    free(text);
    json_decref(wm);
    json_decref(meta);
    json_decref(root);
    free(first);
    return rc;
}
