/* mto/checkpoint.h — one view of every checkpoint layout mto reads.
 *
 * A checkpoint is one of
 *   - a safetensors file (model.safetensors),
 *   - a torch.save zip archive (pytorch_model.bin, mto/torch.h),
 *   - a sharded set: model.safetensors.index.json or pytorch_model.bin.index.json
 *     ({"metadata": {"total_size": N}, "weight_map": {tensor: shard file}})
 *     naming shard files in the same directory,
 * or a directory holding one of them. A directory is searched in this order:
 * model.safetensors.index.json, model.safetensors, pytorch_model.bin.index.json,
 * pytorch_model.bin (the index first: a sharded save replaces model.safetensors
 * only after its index is in place). Shard names must be plain file names.
 * Errors name the file (index or shard) and the tensor. */
#ifndef MTO_CHECKPOINT_H
#define MTO_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"
#include "mto/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mto_ckpt_tensor {
    const char *name;               /* valid until mto_ckpt_close */
    int dtype;                      /* MTO_ST_* */
    int ndim;
    int64_t shape[MTO_ST_MAX_DIMS];
    uint64_t nbytes;
    size_t shard;                   /* index into the shard list */
} mto_ckpt_tensor;

typedef struct mto_ckpt mto_ckpt;

/* The checkpoint file a path names: a directory's file (see above), else the
 * path itself. Fails with MTO_ENOTFOUND if a directory holds none. */
int mto_ckpt_resolve(const char *path, char *file, size_t cap, mto_error *err);

/* Open a directory, a .safetensors, a torch zip or an *.index.json. */
int mto_ckpt_open(const char *path, mto_ckpt **out, mto_error *err);

/* The resolved file (index, or the single file) and its format:
 * "safetensors" or "pytorch". */
const char *mto_ckpt_file(const mto_ckpt *c);
const char *mto_ckpt_format(const mto_ckpt *c);

/* Tensors (shard by shard, each in file order); by exact name (NULL if absent). */
size_t mto_ckpt_count(const mto_ckpt *c);
const mto_ckpt_tensor *mto_ckpt_at(const mto_ckpt *c, size_t i);
const mto_ckpt_tensor *mto_ckpt_find(const mto_ckpt *c, const char *name);
int64_t mto_ckpt_numel(const mto_ckpt_tensor *t);

/* Data converted to f32 (n = numel; F32/F16/BF16/F64), or raw little-endian
 * bytes (nbytes = t->nbytes). */
int mto_ckpt_read_f32(mto_ckpt *c, const mto_ckpt_tensor *t, float *dst, size_t n, mto_error *err);
int mto_ckpt_read_raw(mto_ckpt *c, const mto_ckpt_tensor *t, void *dst, size_t nbytes, mto_error *err);

/* 1 if a and b are views of the same data (tied weights in a torch state dict:
 * one file, one storage, same offset, dtype and shape), else 0. */
int mto_ckpt_same_data(const mto_ckpt *c, const mto_ckpt_tensor *a, const mto_ckpt_tensor *b);

/* safetensors __metadata__ of the (first) shard; NULL if absent or a torch file. */
const char *mto_ckpt_meta(const mto_ckpt *c, const char *key);
size_t mto_ckpt_meta_count(const mto_ckpt *c);
const char *mto_ckpt_meta_at(const mto_ckpt *c, size_t i, const char **value);

/* Shards: 1 for a single file. Path, tensors and bytes of the i-th (NULL if out of range). */
size_t mto_ckpt_shard_count(const mto_ckpt *c);
const char *mto_ckpt_shard(const mto_ckpt *c, size_t i, size_t *ntensors, uint64_t *nbytes);
/* An index's metadata.total_size (-1 if absent or not an index). */
int64_t mto_ckpt_total_size(const mto_ckpt *c);

void mto_ckpt_close(mto_ckpt *c);

/* Parse a size: bytes, or a number with KB/MB/GB/TB (powers of 1000) or
 * KiB/MiB/GiB/TiB (powers of 1024), as Hugging Face's max_shard_size. */
int mto_parse_size(const char *s, uint64_t *out, mto_error *err);

/* Save tensors as HF-sharded safetensors in directory dir: shards of at most
 * max_shard_size bytes of tensor data (a larger tensor gets a shard of its
 * own), filled in order, named model-00001-of-0000N.safetensors, each with
 * meta_kv as __metadata__, then model.safetensors.index.json; a stale
 * model.safetensors is removed last. With one shard this is
 * dir/model.safetensors (and a stale index is removed). max_shard_size 0 means
 * one shard. */
int mto_st_write_sharded(const char *dir, const mto_st_out *tensors, size_t n, const char *const *meta_kv,
                         uint64_t max_shard_size, mto_error *err);

/* The same, with the data supplied shard by shard, so that a model larger
 * than memory can be written: before shard k, fill(ctx, tensors, first, last,
 * 0, err) must set tensors[first..last).data; after it is written (or on
 * failure), fill(ctx, tensors, first, last, 1, NULL) lets it go. The shard
 * plan uses only names, dtypes and shapes. */
typedef int (*mto_st_fill_fn)(void *ctx, mto_st_out *tensors, size_t first, size_t last, int release,
                              mto_error *err);
int mto_st_write_sharded_fill(const char *dir, mto_st_out *tensors, size_t n, const char *const *meta_kv,
                              uint64_t max_shard_size, mto_st_fill_fn fill, void *ctx, mto_error *err);

#ifdef __cplusplus
}
#endif
#endif
