/* mto/torch.h — read PyTorch checkpoints (`pytorch_model.bin`) without Python.
 *
 * Format (torch.save since PyTorch 1.6): a zip archive (read with libzip)
 * holding PREFIX/data.pkl, a pickle of the state dict, and PREFIX/data/KEY,
 * the raw little-endian bytes of each storage. Tensors in the pickle are
 *   torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
 *                                   requires_grad, backward_hooks[, metadata])
 * where storage is a persistent id ('storage', torch.FloatStorage, KEY,
 * location, numel).
 *
 * The pickle is never executed: a small interpreter accepts only the opcodes
 * and globals a state dict needs (collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2, torch.FloatStorage / HalfStorage /
 * BFloat16Storage) and refuses anything else with a message naming the opcode
 * or global and its byte offset. Every shape, stride, offset and storage size
 * is checked against the storage and the zip entry before any data is read;
 * tensors must be contiguous (views may share a storage at an offset, as tied
 * weights do). Errors name the file and the tensor, opcode or global. */
#ifndef MTO_TORCH_H
#define MTO_TORCH_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"
#include "mto/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mto_pt_tensor {
    const char *name;               /* valid until mto_pt_close */
    int dtype;                      /* MTO_ST_F32, MTO_ST_F16 or MTO_ST_BF16 */
    int ndim;                       /* 0 .. MTO_ST_MAX_DIMS */
    int64_t shape[MTO_ST_MAX_DIMS];
    int64_t stride[MTO_ST_MAX_DIMS];
    const char *storage;            /* storage key: zip entry PREFIX/data/KEY */
    uint64_t storage_offset;        /* in elements */
    uint64_t storage_numel;         /* elements the storage declares */
} mto_pt_tensor;

typedef struct mto_pt_file mto_pt_file;

/* Open a torch.save zip archive from a file, or from a borrowed buffer that
 * must outlive the result (name_for_errors prefixes messages). */
int mto_pt_open(const char *path, mto_pt_file **out, mto_error *err);
int mto_pt_open_buffer(const void *buf, size_t len, const char *name_for_errors, mto_pt_file **out,
                       mto_error *err);

/* Only the pickle (the contents of data.pkl): the tensor table, validated
 * against the storages the pickle declares; no data can be read from it. */
int mto_pt_parse_pickle(const unsigned char *buf, size_t len, const char *name_for_errors,
                        mto_pt_file **out, mto_error *err);

/* Tensors in the order of the state dict; by exact name (NULL if absent). */
size_t mto_pt_count(const mto_pt_file *f);
const mto_pt_tensor *mto_pt_at(const mto_pt_file *f, size_t i);
const mto_pt_tensor *mto_pt_find(const mto_pt_file *f, const char *name);
int64_t mto_pt_numel(const mto_pt_tensor *t);

/* The tensor's raw little-endian bytes (nbytes must be numel * element size),
 * or converted to f32 (n must be numel). Not thread-safe on one file. */
int mto_pt_read(mto_pt_file *f, const mto_pt_tensor *t, void *dst, size_t nbytes, mto_error *err);
int mto_pt_read_f32(mto_pt_file *f, const mto_pt_tensor *t, float *dst, size_t n, mto_error *err);

/* The name used in messages. */
const char *mto_pt_name(const mto_pt_file *f);

/* Release (NULL is fine). */
void mto_pt_close(mto_pt_file *f);

/* The globals the interpreter accepts, as "module.name", NULL-terminated. */
extern const char *const mto_pt_allowed_globals[];

#ifdef __cplusplus
}
#endif
#endif
