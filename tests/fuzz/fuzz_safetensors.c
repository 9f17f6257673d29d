/* fuzz-sources: core/error.c core/alloc.c core/safetensors.c core/json_oom.c core/half.c */
/* fuzz-libs: -ljansson */
/* fuzz_safetensors.c — libFuzzer target for the safetensors parser. The input
 * is a whole file; when it parses, every tensor is read (floats converted,
 * other types touched byte by byte) and the invariants the rest of mto relies
 * on are checked: tensors inside the data section, packed in offset order,
 * unique names that mto_st_find returns, metadata lookups that agree. A bad
 * file must give an error naming it, never a crash, a leak or a hang.
 * Run: tests/fuzz/run-fuzzers.sh SECONDS safetensors */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/safetensors.h"

#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__);     \
            abort();                                                               \
        }                                                                          \
    } while (0)

static volatile unsigned sink;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    json_object_seed(1); /* jansson hashes with a random seed otherwise: keep runs reproducible */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mto_st_file *f = NULL;
    mto_error err = {0};
    int rc = mto_st_parse_buffer(data, size, &f, "fuzz.safetensors", &err);
    if (rc < 0) {
        CHECK(f == NULL && err.code == rc && strstr(err.msg, "fuzz.safetensors"));
        return 0;
    }
    CHECK(f && rc == 0);
    uint64_t end = 0, total = 0;
    unsigned sum = 0;
    for (size_t i = 0; i < mto_st_count(f); i++) {
        const mto_st_tensor *t = mto_st_at(f, i);
        int64_t n = mto_st_numel(t);
        CHECK(n >= 0 && (uint64_t)n * mto_st_dtype_size(t->dtype) == t->nbytes);
        CHECK(t->nbytes == 0 || t->offset == end); /* packed, offset order */
        if (t->nbytes) end = t->offset + t->nbytes;
        total += t->nbytes;
        CHECK(mto_st_find(f, t->name) == t);
        const unsigned char *p = mto_st_data(f, t);
        CHECK(p != NULL);
        for (uint64_t b = 0; b < t->nbytes; b++) sum += p[b];
        if (t->dtype == MTO_ST_F32 || t->dtype == MTO_ST_F16 || t->dtype == MTO_ST_BF16 ||
            t->dtype == MTO_ST_F64) {
            float *dst = malloc((size_t)n * sizeof *dst + 1); /* n <= size, bounded */
            CHECK(dst && mto_st_read_f32(f, t, dst, (size_t)n, &err) == 0);
            CHECK(n == 0 || mto_st_read_f32(f, t, dst, (size_t)n - 1, &err) == MTO_EINVAL);
            free(dst);
        } else {
            float x;
            CHECK(mto_st_read_f32(f, t, &x, (size_t)n, &err) == MTO_EINVAL);
        }
    }
    CHECK(total <= size);
    for (size_t i = 0; i < mto_st_meta_count(f); i++) {
        const char *v, *k = mto_st_meta_at(f, i, &v);
        CHECK(k && v);
        const char *w = mto_st_meta(f, k);
        CHECK(w && strcmp(w, v) == 0);
    }
    CHECK(mto_st_at(f, mto_st_count(f)) == NULL);
    mto_st_close(f);
    sink = sum; /* keep the byte reads observable to ASan */
    return 0;
}
