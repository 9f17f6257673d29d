/* test_torch.c — pytorch_model.bin and sharded checkpoints:
 *  - the torch.save reader on small tensors (F32/F16/BF16, scalar, empty,
 *    views at an offset into a shared storage) written by python3-torch
 *    (tests/ref/make_torch_fixtures.py);
 *  - the restricted pickle interpreter refusing globals and opcodes by name,
 *    and damaged archives (truncated, short or missing storages, tensors past
 *    their storage, non-contiguous strides, the legacy format);
 *  - a T5 saved by torch.save in HF layout (tied weights sharing a storage,
 *    q/k/v as offsets into one fused storage, BF16) gives logits identical to
 *    the same weights in safetensors;
 *  - sharded sets: a .bin index, m:save-style sharded safetensors (HF's
 *    greedy split), logits identical to the unsharded model, hostile indexes. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mto/checkpoint.h"
#include "mto/t5.h"
#include "mto/torch.h"
#include "tap.h"

static char srcdir[2048], tmpd[64];

static const char *ref(const char *rel)
{
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, sizeof bufs[0], "%s/tests/ref/%s", srcdir, rel);
    return b;
}

static const char *tmp(const char *rel)
{
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpd, rel);
    return b;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static void test_misc(void)
{
    mto_pt_file *f = NULL;
    mto_error e = {0};
    int rc = mto_pt_open(ref("torch/misc.bin"), &f, &e);
    if (!ok(rc == 0 && f, "misc.bin opens")) { tap_diag("%s", e.msg); return; }
    is_int(mto_pt_count(f), 7, "seven tensors");
    is_str(mto_pt_at(f, 0)->name, "f32", "state-dict order kept");
    const mto_pt_tensor *t = mto_pt_find(f, "f32");
    float buf[32];
    ok(t && t->dtype == MTO_ST_F32 && t->ndim == 3 && t->shape[0] == 2 && t->shape[2] == 4, "f32: [2,3,4] F32");
    rc = t ? mto_pt_read_f32(f, t, buf, 24, &e) : -1;
    int good = rc == 0;
    for (int i = 0; good && i < 24; i++) good = buf[i] == (float)i / 8;
    ok(good, "f32 values i/8");
    t = mto_pt_find(f, "f16");
    rc = t ? mto_pt_read_f32(f, t, buf, 6, &e) : -1;
    good = rc == 0 && t->dtype == MTO_ST_F16 && t->shape[0] == 3 && t->shape[1] == 2;
    for (int i = 0; good && i < 6; i++) good = buf[i] == (float)i / 4;
    ok(good, "f16 widened exactly");
    t = mto_pt_find(f, "bf16");
    rc = t ? mto_pt_read_f32(f, t, buf, 5, &e) : -1;
    good = rc == 0 && t->dtype == MTO_ST_BF16 && t->ndim == 1;
    for (int i = 0; good && i < 5; i++) good = buf[i] == (float)(i - 2);
    ok(good, "bf16 widened exactly");
    t = mto_pt_find(f, "scalar");
    ok(t && t->ndim == 0 && mto_pt_read_f32(f, t, buf, 1, &e) == 0 && buf[0] == 2.5f, "0-d tensor");
    t = mto_pt_find(f, "empty");
    ok(t && t->ndim == 2 && mto_pt_numel(t) == 0 && mto_pt_read_f32(f, t, buf, 0, &e) == 0, "empty tensor");
    t = mto_pt_find(f, "view");
    const mto_pt_tensor *base = mto_pt_find(f, "f32");
    ok(t && base && t->storage_offset == 10 && !strcmp(t->storage, base->storage), "view shares f32's storage at offset 10");
    rc = t ? mto_pt_read_f32(f, t, buf, 6, &e) : -1;
    good = rc == 0;
    for (int i = 0; good && i < 6; i++) good = buf[i] == (float)(10 + i) / 8;
    ok(good, "view reads elements 10..15");
    t = mto_pt_find(f, "row");
    rc = t ? mto_pt_read_f32(f, t, buf, 4, &e) : -1;
    ok(rc == 0 && buf[0] == 0.5f && buf[3] == 7.0f / 8, "one-row slice (size-1 dim stride ignored)");
    ok(t && mto_pt_read_f32(f, t, buf, 5, &e) == MTO_EINVAL && strstr(e.msg, "'row'"), "wrong element count refused");
    ok(mto_pt_find(f, "nope") == NULL, "absent name");
    mto_pt_close(f);
}

static void test_bad_files(void)
{
    static const struct { const char *file, *want; int code; } rows[] = {
        {"os_system.bin", "global 'os.system' is not allowed", MTO_EFORMAT},
        {"reduce_storage.bin", "REDUCE may call only", MTO_EFORMAT},
        {"nested.bin", "entry 'model' is a dict, not a tensor", MTO_EFORMAT},
        {"truncated.bin", "not a readable torch.save zip archive", MTO_EFORMAT},
        {"short_storage.bin", "tensor 'w': storage tmp/data/0 has 40 bytes", MTO_EFORMAT},
        {"past_storage.bin", "tensor 'w' needs elements 30..62 of storage '0', which has 32", MTO_EFORMAT},
        {"no_storage.bin", "tensor 'w': storage entry tmp/data/0 is missing", MTO_EFORMAT},
        {"noncontig.bin", "tensor 'w.t' is not contiguous (strides [1,3])", MTO_EFORMAT},
        {"legacy.bin", "legacy torch.save format", MTO_EFORMAT},
        {"absent.bin", "absent.bin", MTO_EIO},
    };
    /* a flipped data byte: the archive opens, reading the tensor fails the CRC */
    mto_pt_file *cf = NULL;
    mto_error ce = {0};
    float buf[32];
    int crc = mto_pt_open(ref("torch/bad/crc.bin"), &cf, &ce);
    const mto_pt_tensor *w = cf ? mto_pt_find(cf, "w") : NULL;
    if (w) crc = mto_pt_read_f32(cf, w, buf, 32, &ce);
    if (!ok(w && crc == MTO_EFORMAT && strstr(ce.msg, "crc.bin: tensor 'w'") && strstr(ce.msg, "CRC"),
            "crc.bin: damaged storage refused when read"))
        tap_diag("rc %d: %s", crc, ce.msg);
    mto_pt_close(cf);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "torch/bad/%s", rows[i].file);
        mto_pt_file *f = (mto_pt_file *)1;
        mto_error e = {0};
        int rc = mto_pt_open(ref(rel), &f, &e);
        if (!ok(rc == rows[i].code && f == NULL && strstr(e.msg, rows[i].want) && strstr(e.msg, rows[i].file),
                "%s refused: %s", rows[i].file, rows[i].want))
            tap_diag("rc %d: %s", rc, e.msg);
    }
}

/* Hand-made pickles through the interpreter alone. */
static void test_pickles(void)
{
#define P(s) (const unsigned char *)(s), sizeof(s) - 1
    static const struct { const unsigned char *pk; size_t n; const char *want; } rows[] = {
        {P("\x80\x02" "cbuiltins\neval\n" "X\x01\x00\x00\x00" "1" "\x85R."), "global 'builtins.eval' is not allowed"},
        {P("\x80\x02" "X\x02\x00\x00\x00os" "X\x06\x00\x00\x00system" "\x93."), "global 'os.system' is not allowed"},
        {P("\x80\x02" "cposix\nsystem\n."), "global 'posix.system'"},
        {P("\x80\x02" "(i__main__\nX\n."), "opcode 0x69 (INST) is not allowed"},
        {P("\x80\x02" "]."), "opcode 0x5d (EMPTY_LIST) is not allowed"},
        {P("\x80\x02" "ccollections\nOrderedDict\n)\x81."), "opcode 0x81 (NEWOBJ) is not allowed"},
        {P("\x80\x02" "\x82\x01."), "opcode 0x82 (EXT1)"},
        {P("\x80\x02" "S'x'\n."), "opcode 0x53 (STRING)"},
        {P("\x80\x02" "h\x05."), "memo index 5 was never stored"},
        {P("\x80\x02" "X\xff\x00\x00\x00" "abc"), "pickle truncated in BINUNICODE"},
        {P("\x80\x02" "}"), "without STOP"},
        {P("\x80\x02" "."), "STOP on an empty stack"},
        {P("\x80\x09" "}."), "pickle protocol 9"},
        {P("\x80\x02" "K\x01."), "holds a int, not a state dict"},
        {P("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n" ")R."), "called with 0 arguments"},
        {P("\x80\x02" "K\x01}b."), "BUILD is allowed only on a dict"},
        {P("\x80\x02" "(X\x07\x00\x00\x00storageK\x01tQ."), "persistent id is not"},
        {P("\x80\x02" "}(X\x01\x00\x00\x00" "a" "K\x01u."), "entry 'a' is a int, not a tensor"},
        {P("\x80\x02" "}(K\x01u."), "odd number of items"},
        {P("\x80\x02" "\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."), "integer of 9 bytes"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mto_pt_file *f = NULL;
        mto_error e = {0};
        int rc = mto_pt_parse_pickle(rows[i].pk, rows[i].n, "hand.pkl", &f, &e);
        if (!ok(rc == MTO_EFORMAT && !f && strstr(e.msg, rows[i].want) && strstr(e.msg, "hand.pkl"), "pickle %zu refused: %s",
                i + 1, rows[i].want))
            tap_diag("rc %d: %s", rc, e.msg);
    }
    /* a minimal valid state dict, by hand: {'w': tensor of 3 floats at offset 1 of a 4-float storage} */
    static const unsigned char good[] =
        "\x80\x02" "ccollections\nOrderedDict\n)R" "(X\x01\x00\x00\x00" "w"
        "ctorch._utils\n_rebuild_tensor_v2\n"
        "((X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0" "X\x03\x00\x00\x00" "cpu" "K\x04tQ"
        "K\x01" "K\x03\x85" "K\x01\x85" "\x89" "ccollections\nOrderedDict\n)R" "tRu}b.";
    mto_pt_file *f = NULL;
    mto_error e = {0};
    int rc = mto_pt_parse_pickle(good, sizeof good - 1, "good.pkl", &f, &e);
    const mto_pt_tensor *t = f ? mto_pt_find(f, "w") : NULL;
    if (!ok(rc == 0 && t && t->dtype == MTO_ST_F32 && t->ndim == 1 && t->shape[0] == 3 && t->storage_offset == 1 &&
            t->storage_numel == 4 && !strcmp(t->storage, "0"),
            "hand-made state dict parses (offset 1 into a 4-element storage)"))
        tap_diag("rc %d: %s", rc, e.msg);
    float x[3];
    ok(t && mto_pt_read_f32(f, t, x, 3, &e) == MTO_EINVAL && strstr(e.msg, "no archive"), "bare pickle has no data");
    mto_pt_close(f);
#undef P
}

/* Forward both models on one batch: identical logits and loss, bit for bit. */
static int same_logits(mto_t5 *a, mto_t5 *b, const char *what)
{
    static const int32_t src[] = {5, 9, 12, 33, 1, 7, 8, 2, 1, 0}, labels[] = {4, 6, 1, -100, 11, 3, 60, 1};
    mto_t5_batch bt = {2, 5, 4, src, labels};
    mto_error e = {0};
    if (!a || !b) return ok(0, "%s: identical logits (model missing)", what);
    size_t nl = (size_t)bt.B * bt.Tt * a->cfg.vocab_size;
    if (mto_t5_forward(a, &bt, 0, &e)) return ok(0, "%s: forward: %s", what, e.msg);
    float *lg = malloc(nl * sizeof *lg);
    memcpy(lg, a->logits, nl * sizeof *lg);
    float loss = a->loss;
    int r = mto_t5_forward(b, &bt, 0, &e) == 0 && memcmp(lg, b->logits, nl * sizeof *lg) == 0 && loss == b->loss &&
            a->numel == b->numel && memcmp(a->params, b->params, a->numel * sizeof *a->params) == 0;
    free(lg);
    return ok(r, "%s: identical parameters and logits (loss %.6f)", what, loss);
}

static void test_t5(void)
{
    mto_error e = {0};
    static const char *const pairs[][2] = {
        {"torch/t5-v10", "t5-v10"},
        {"torch/t5-v10/pytorch_model.bin", "t5-v10"},
        {"torch/t5-v11", "t5-v11"},
        {"torch/t5-v11-bf16", "t5-v11-bf16.safetensors"},
        {"torch/t5-v10-sharded", "t5-v10"},
        {"torch/t5-v10-sharded/pytorch_model.bin.index.json", "t5-v10"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        mto_t5 *a = mto_t5_load(ref(pairs[i][0]), &e);
        if (!a) tap_diag("%s: %s", pairs[i][0], e.msg);
        mto_t5 *b = mto_t5_load(ref(pairs[i][1]), &e);
        if (!b) tap_diag("%s: %s", pairs[i][1], e.msg);
        char what[300];
        snprintf(what, sizeof what, "%s vs %s", pairs[i][0], pairs[i][1]);
        same_logits(b, a, what);
        mto_t5_free(a);
        mto_t5_free(b);
    }
    /* the HF state dict keeps the tied names, all viewing one storage */
    mto_ckpt *c = NULL;
    if (mto_ckpt_open(ref("torch/t5-v10"), &c, &e) == 0) {
        is_str(mto_ckpt_format(c), "pytorch", "directory with pytorch_model.bin: torch format");
        ok(mto_ckpt_find(c, "lm_head.weight") && mto_ckpt_find(c, "decoder.embed_tokens.weight"), "tied names present");
        is_int(mto_ckpt_shard_count(c), 1, "one shard");
        mto_ckpt_close(c);
    } else ok(0, "open torch/t5-v10: %s", e.msg);
    if (mto_ckpt_open(ref("torch/t5-v10-sharded"), &c, &e) == 0) {
        size_t nt = 0;
        uint64_t nb = 0;
        const char *p = mto_ckpt_shard(c, 0, &nt, &nb);
        ok(mto_ckpt_shard_count(c) == 2 && p && strstr(p, "pytorch_model-00001-of-00002.bin") && nt == 25,
           "index: two .bin shards, first listed first");
        uint64_t sum = 0;
        for (size_t k = 0; k < mto_ckpt_shard_count(c); k++) {
            mto_ckpt_shard(c, k, NULL, &nb);
            sum += nb;
        }
        ok(mto_ckpt_total_size(c) == (int64_t)sum && sum == 45952, "total_size %lld = bytes of the shards", (long long)sum);
        mto_ckpt_close(c);
    } else ok(0, "open torch/t5-v10-sharded: %s", e.msg);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 1 << 20);
    if (b) (void)!fread(b, 1, (1 << 20) - 1, f);
    fclose(f);
    return b;
}

static void test_sharded_save(void)
{
    mto_error e = {0};
    mto_t5 *m = mto_t5_load(ref("t5-v11"), &e);
    if (!ok(m != NULL, "load t5-v11")) return;
    mkdir(tmp("sh"), 0777);
    ok(mto_t5_save_sharded(m, tmp("sh"), NULL, 16000, &e) == 0, "save with max_shard_size 16000");
    mto_ckpt *c = NULL;
    int rc = mto_ckpt_open(tmp("sh"), &c, &e);
    size_t ns = rc ? 0 : mto_ckpt_shard_count(c);
    ok(rc == 0 && ns == 4 && strstr(mto_ckpt_file(c), "model.safetensors.index.json"), "index + %zu shards", ns);
    int within = 1;
    uint64_t sum = 0;
    for (size_t k = 0; k < ns; k++) {
        size_t nt;
        uint64_t nb;
        const char *p = mto_ckpt_shard(c, k, &nt, &nb);
        char want[64];
        snprintf(want, sizeof want, "model-%05zu-of-%05zu.safetensors", k + 1, ns);
        within &= strstr(p, want) != NULL && (nb <= 16000 || nt == 1);
        sum += nb;
    }
    ok(within, "shards named model-0000K-of-0000N, each within the limit");
    ok(rc == 0 && mto_ckpt_total_size(c) == (int64_t)sum && sum == m->numel * 4, "total_size = %llu bytes",
       (unsigned long long)sum);
    ok(rc == 0 && mto_ckpt_meta(c, "config") != NULL, "shards carry the config in __metadata__");
    mto_ckpt_close(c);
    char *idx = slurp(tmp("sh/model.safetensors.index.json"));
    json_error_t je;
    json_t *j = idx ? json_loads(idx, 0, &je) : NULL;
    json_t *wm = json_object_get(j, "weight_map");
    ok(json_is_object(wm) && json_object_size(wm) == m->nparams &&
           !strcmp(json_string_value(json_object_get(wm, "shared.weight")), "model-00001-of-00004.safetensors"),
       "weight_map names every parameter (HF format)");
    json_decref(j);
    free(idx);
    mto_t5 *s = mto_t5_load(tmp("sh"), &e);
    same_logits(m, s, "sharded save vs unsharded");
    mto_t5_free(s);
    /* back to one file: the index goes, so the new single file is what loads */
    ok(mto_t5_save(m, tmp("sh"), NULL, &e) == 0 && access(tmp("sh/model.safetensors.index.json"), F_OK) != 0 &&
           access(tmp("sh/model.safetensors"), F_OK) == 0,
       "unsharded save removes the stale index");
    /* resharding removes the stale single file */
    ok(mto_t5_save_sharded(m, tmp("sh"), NULL, 30000, &e) == 0 && access(tmp("sh/model.safetensors"), F_OK) != 0,
       "sharded save removes the stale model.safetensors");
    ok(mto_t5_save_sharded(m, tmp("sh.safetensors"), NULL, 1000, &e) == MTO_EINVAL && strstr(e.msg, "directory"),
       "sharding needs a directory");
    mto_t5_free(m);

    /* HF's greedy split: sizes 6,6,2,6,2,2 (x 4 bytes) with limit 40 bytes -> [6] [6,2] [6,2,2] */
    static const int64_t sz[6][1] = {{6}, {6}, {2}, {6}, {2}, {2}};
    static const float zeros[8] = {0};
    static const char *const names[] = {"a", "b", "c", "d", "e", "f"};
    mto_st_out t[6];
    for (int i = 0; i < 6; i++) t[i] = (mto_st_out){names[i], MTO_ST_F32, 1, sz[i], zeros};
    mkdir(tmp("greedy"), 0777);
    ok(mto_st_write_sharded(tmp("greedy"), t, 6, NULL, 40, &e) == 0 && mto_ckpt_open(tmp("greedy"), &c, &e) == 0,
       "greedy split written");
    size_t n0 = 0, n1 = 0, n2 = 0;
    mto_ckpt_shard(c, 0, &n0, NULL);
    mto_ckpt_shard(c, 1, &n1, NULL);
    mto_ckpt_shard(c, 2, &n2, NULL);
    ok(mto_ckpt_shard_count(c) == 3 && n0 == 1 && n1 == 2 && n2 == 3, "shards of 1, 2, 3 tensors (got %zu %zu %zu)", n0,
       n1, n2);
    mto_ckpt_close(c);
    c = NULL;
}

static void test_bad_index(void)
{
    static const struct { const char *json, *want; } rows[] = {
        {"{\"weight_map\": {\"a\": \"../x.safetensors\"}}", "tensor 'a' maps to '../x.safetensors'"},
        {"{\"weight_map\": {\"a\": \"/etc/passwd\"}}", "tensor 'a' maps to '/etc/passwd'"},
        {"{\"weight_map\": {\"a\": 7}}", "maps to a non-string"},
        {"{\"weight_map\": []}", "no \"weight_map\""},
        {"{\"weight_map\": {\"a\": \"s.safetensors\", ", "not valid JSON"},
        {"{\"weight_map\": {\"nope\": \"model-00001-of-00003.safetensors\"}}", "tensor 'nope' is not in its shard"},
        {"{\"weight_map\": {\"a\": \"absent.safetensors\"}}", "absent.safetensors"},
    };
    mto_error e = {0};
    static const int64_t one[1] = {2};
    static const float z[2] = {0};
    mto_st_out t[3] = {{"a", MTO_ST_F32, 1, one, z}, {"b", MTO_ST_F32, 1, one, z}, {"c", MTO_ST_F32, 1, one, z}};
    mkdir(tmp("bi"), 0777);
    mto_st_write_sharded(tmp("bi"), t, 3, NULL, 8, &e);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        write_file(tmp("bi/model.safetensors.index.json"), rows[i].json, strlen(rows[i].json));
        mto_ckpt *c = (mto_ckpt *)1;
        int rc = mto_ckpt_open(tmp("bi"), &c, &e);
        if (!ok(rc < 0 && c == NULL && strstr(e.msg, rows[i].want), "index refused: %s", rows[i].want))
            tap_diag("rc %d: %s", rc, e.msg);
    }
    mto_ckpt *c = NULL;
    ok(mto_ckpt_open(tmp("nothing-here"), &c, &e) == MTO_EIO || e.code < 0, "absent path refused");
    mkdir(tmp("empty"), 0777);
    ok(mto_ckpt_open(tmp("empty"), &c, &e) == MTO_ENOTFOUND && strstr(e.msg, "pytorch_model.bin"),
       "empty directory: names what it looked for");
}

static void test_sizes(void)
{
    static const struct { const char *s; uint64_t v; } good[] = {
        {"1000", 1000}, {"5GB", 5000000000ull}, {"10GiB", 10737418240ull}, {"500MB", 500000000ull},
        {"200MiB", 209715200ull}, {"64KB", 64000}, {"1.5GB", 1500000000ull}, {"3 kib", 3072},
    };
    mto_error e = {0};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 0;
        ok(mto_parse_size(good[i].s, &v, &e) == 0 && v == good[i].v, "size '%s' = %llu", good[i].s,
           (unsigned long long)good[i].v);
    }
    static const char *const bad[] = {"", "GB", "-5GB", "5 parsecs", "0", "1e30GB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 0;
        ok(mto_parse_size(bad[i], &v, &e) == MTO_EINVAL && strstr(e.msg, "max_shard_size"), "size '%s' refused", bad[i]);
    }
}

int main(void)
{
    const char *s = getenv("MTO_SRCDIR");
    snprintf(srcdir, sizeof srcdir, "%s", s ? s : ".");
    snprintf(tmpd, sizeof tmpd, "/tmp/mto-torch-XXXXXX");
    if (!mkdtemp(tmpd)) return 1;
    test_misc();
    test_bad_files();
    test_pickles();
    test_t5();
    test_sharded_save();
    test_bad_index();
    test_sizes();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpd);
    if (system(cmd) != 0) tap_diag("could not remove %s", tmpd);
    return tap_done();
}
