/* mto/safetensors.h — read and write safetensors checkpoints.
 *
 * Format (huggingface/safetensors): 8-byte little-endian header length N, N
 * bytes of UTF-8 JSON {name: {dtype, shape, data_offsets:[begin,end]}, ...,
 * "__metadata__": {string: string}}, then the data section. Offsets are
 * relative to the data section, tensors are packed without gaps or overlap
 * and cover it exactly; data is little-endian, row-major.
 *
 * Files come from the internet: every length, offset and shape is checked
 * against the file before anything is read, and errors name the file and the
 * tensor. Writes go to a temp file in the same directory, fsync, rename. */
#ifndef MTO_SAFETENSORS_H
#define MTO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types. The first ten are the contract; the rest exist in the spec
 * and are accepted (raw access only) so that such files still open. */
enum {
    MTO_ST_F32, MTO_ST_F16, MTO_ST_BF16, MTO_ST_F64, MTO_ST_I64, MTO_ST_I32,
    MTO_ST_I16, MTO_ST_I8, MTO_ST_U8, MTO_ST_BOOL,
    MTO_ST_U16, MTO_ST_U32, MTO_ST_U64, MTO_ST_F8_E4M3, MTO_ST_F8_E5M2,
    MTO_ST_NDTYPES
};

#define MTO_ST_MAX_DIMS 8
/* Largest header accepted (same cap as the reference implementation). */
#define MTO_ST_MAX_HEADER 100000000u

typedef struct mto_st_tensor {
    const char *name;               /* valid until mto_st_close */
    int dtype;                      /* MTO_ST_* */
    int ndim;                       /* 0 (scalar) .. MTO_ST_MAX_DIMS */
    int64_t shape[MTO_ST_MAX_DIMS];
    uint64_t offset, nbytes;        /* offset relative to the data section */
} mto_st_tensor;

typedef struct mto_st_file mto_st_file;

/* Open and validate a file (memory-mapped, read-only). *out is NULL on error. */
int mto_st_open(const char *path, mto_st_file **out, mto_error *err);

/* Same validation on a buffer in memory; the buffer is borrowed and must
 * outlive the returned file. name_for_errors (may be NULL) prefixes messages. */
int mto_st_parse_buffer(const unsigned char *buf, size_t len, mto_st_file **out,
                        const char *name_for_errors, mto_error *err);

/* Number of tensors; the i-th in data-offset order (NULL if out of range). */
size_t mto_st_count(const mto_st_file *f);
const mto_st_tensor *mto_st_at(const mto_st_file *f, size_t i);

/* Tensor by exact name, NULL if absent (binary search). */
const mto_st_tensor *mto_st_find(const mto_st_file *f, const char *name);

/* Number of elements (1 for a scalar, 0 if any dimension is 0). */
int64_t mto_st_numel(const mto_st_tensor *t);

/* Convert an F32/F16/BF16/F64 tensor to f32 into dst; n must equal numel. */
int mto_st_read_f32(const mto_st_file *f, const mto_st_tensor *t, float *dst, size_t n,
                    mto_error *err);

/* Raw little-endian bytes of a tensor (t->nbytes long, possibly unaligned). */
const void *mto_st_data(const mto_st_file *f, const mto_st_tensor *t);

/* __metadata__ value for key, or NULL. */
const char *mto_st_meta(const mto_st_file *f, const char *key);
/* Number of metadata entries; key of the i-th (value through *value), NULL if out of range. */
size_t mto_st_meta_count(const mto_st_file *f);
const char *mto_st_meta_at(const mto_st_file *f, size_t i, const char **value);

/* The name used in error messages (the path for mto_st_open). */
const char *mto_st_name(const mto_st_file *f);

/* Release the file (NULL is fine). */
void mto_st_close(mto_st_file *f);

/* One tensor to write: data holds numel * dtype-size little-endian bytes. */
typedef struct mto_st_out {
    const char *name;
    int dtype;
    int ndim;
    const int64_t *shape;
    const void *data;
} mto_st_out;

/* Write tensors atomically (temp file + fsync + rename). Data is laid out by
 * descending element size (stable), so every tensor is aligned to its element
 * size; the header is padded with spaces to a multiple of 8. meta_kv is
 * key,value,...,NULL (or NULL) and becomes __metadata__. */
int mto_st_write(const char *path, const mto_st_out *tensors, size_t n,
                 const char *const *meta_kv, mto_error *err);
/* Write a small text file (a config.json, a shard index) the same way: temp file,
 * fsync, rename; a newline is appended. */
int mto_st_write_text_atomic(const char *path, const char *text, mto_error *err);

/* "F32", "BF16", ... ("?" if unknown); parse the reverse (-1 if unknown). */
const char *mto_st_dtype_name(int dtype);
int mto_st_dtype_from_name(const char *name);
/* Bytes per element (0 if unknown). */
size_t mto_st_dtype_size(int dtype);

#ifdef __cplusplus
}
#endif
#endif
