/* fuzz-sources: core/error.c core/alloc.c core/torch_pickle.c core/torch_zip.c core/half.c core/safetensors.c core/json_oom.c */
/* fuzz-libs: -ljansson -lzip */
/* fuzz_torch.c — libFuzzer target for the torch.save reader. An input that
 * starts with "PK" is a whole archive (libzip, then the pickle, then every
 * tensor read); anything else is a bare data.pkl for the restricted pickle
 * interpreter. When it parses, the invariants the loader relies on are
 * checked: names unique and found by mto_pt_find, every tensor contiguous and
 * inside its storage, reads of the right size succeed or fail with an error
 * naming the file, reads of the wrong size are refused. A bad input must give
 * an error naming it, never a crash, a leak or a hang.
 * Run: tests/fuzz/run-fuzzers.sh SECONDS torch */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/torch.h"

#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__);     \
            abort();                                                               \
        }                                                                          \
    } while (0)

static volatile float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mto_pt_file *f = NULL;
    mto_error err = {0};
    int zip = size >= 2 && data[0] == 'P' && data[1] == 'K';
    int rc = zip ? mto_pt_open_buffer(data, size, "fuzz.bin", &f, &err)
                 : mto_pt_parse_pickle(data, size, "fuzz.pkl", &f, &err);
    if (rc < 0) {
        CHECK(f == NULL && err.code == rc && strstr(err.msg, zip ? "fuzz.bin" : "fuzz.pkl"));
        return 0;
    }
    CHECK(f && rc == 0);
    float acc = 0;
    for (size_t i = 0; i < mto_pt_count(f); i++) {
        const mto_pt_tensor *t = mto_pt_at(f, i);
        CHECK(mto_pt_find(f, t->name) == t);
        CHECK(t->dtype == MTO_ST_F32 || t->dtype == MTO_ST_F16 || t->dtype == MTO_ST_BF16);
        CHECK(t->ndim >= 0 && t->ndim <= MTO_ST_MAX_DIMS);
        int64_t n = mto_pt_numel(t);
        CHECK(n >= 0);
        CHECK(n == 0 || (t->storage_offset <= t->storage_numel && (uint64_t)n <= t->storage_numel - t->storage_offset));
        if (!zip) {
            float x;
            CHECK(mto_pt_read_f32(f, t, &x, (size_t)n, &err) == MTO_EINVAL);
            continue;
        }
        /* the storage entry holds at least storage_numel elements, so n is
         * bounded by the (decompressed) archive: cap what we allocate */
        if ((uint64_t)n > (UINT64_C(1) << 24)) continue;
        float *dst = malloc((size_t)n * sizeof *dst + 4);
        CHECK(dst);
        rc = mto_pt_read_f32(f, t, dst, (size_t)n, &err);
        CHECK(rc == 0 || (rc == MTO_EFORMAT && strstr(err.msg, "fuzz.bin")));
        for (int64_t k = 0; rc == 0 && k < n; k++) acc += dst[k];
        CHECK(mto_pt_read_f32(f, t, dst, (size_t)n + 1, &err) == MTO_EINVAL);
        free(dst);
    }
    CHECK(mto_pt_at(f, mto_pt_count(f)) == NULL);
    mto_pt_close(f);
    sink = acc;
    return 0;
}
