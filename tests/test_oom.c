/* test_oom.c — out-of-memory paths of the core. Each operation runs with the
 * allocator hook set to fail after n = 0, 1, 2, ... allocations until it
 * succeeds; every failing run must return an error code with a message (the
 * NaN contract for metrics) and must not crash. Everything an operation takes
 * it frees, so an ASan/LSan or valgrind run of this test also proves the
 * failure paths leak-free. Jansson is routed through the hook too, so the
 * safetensors header parser's JSON allocations fail as well. */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mto/alloc.h"
#include "mto/host.h"
#include "mto/metrics.h"
#include "mto/optim.h"
#include "mto/safetensors.h"
#include "mto/t5.h"
#include "mto/tokenizer.h"
#include "mto/train.h"
#include "tap.h"

#define MAX_N 100000

typedef int (*op_fn)(mto_error *err);

static char REF[4096], TMPDIR_[4096], SPM[4096];

/* Walk n = 0.. until op succeeds; report one assertion per operation. */
static void walk(const char *name, op_fn op)
{
    long n, fails = 0, bad = -1, enomem = 0;
    int rc = -1;
    char badmsg[MTO_ERROR_MSG_MAX + 32] = "", other[MTO_ERROR_MSG_MAX] = "";
    for (n = 0; n < MAX_N; n++) {
        mto_error e;
        mto_error_clear(&e);
        mto_set_alloc_fail_after(n);
        rc = op(&e);
        mto_set_alloc_fail_after(-1);
        if (rc == 0) break;
        fails++;
        if (rc == MTO_ENOMEM && strstr(e.msg, "memory")) enomem++;
        else if (!other[0]) snprintf(other, sizeof other, "%s", e.msg);
        if ((rc >= 0 || !e.msg[0]) && bad < 0) {
            bad = n;
            snprintf(badmsg, sizeof badmsg, "rc %d, msg \"%s\"", rc, e.msg);
        }
    }
    ok(rc == 0 && fails > 0 && bad < 0 && enomem == fails,
       "%s: %ld failing runs each returned MTO_ENOMEM with a message saying out of memory (%ld did), "
       "then it succeeded", name, fails, enomem);
    if (other[0]) tap_diag("e.g. (not MTO_ENOMEM): %s", other);
    if (bad >= 0) tap_diag("first bad run: fail after %ld: %s", bad, badmsg);
    if (rc != 0) tap_diag("never succeeded within %d allocations", MAX_N);
}

/* ---- operations ---------------------------------------------------------- */

static int op_load(mto_error *err)
{
    mto_t5 *m = mto_t5_load(REF, err);
    if (!m) return err->code ? err->code : -100;
    mto_t5_free(m);
    return 0;
}

static char REF_PT[4096], REF_PT_SHARDED[4096];

static int op_load_torch(mto_error *err)
{
    mto_t5 *m = mto_t5_load(REF_PT, err);
    if (!m) return err->code ? err->code : -100;
    mto_t5_free(m);
    m = mto_t5_load(REF_PT_SHARDED, err);
    if (!m) return err->code ? err->code : -100;
    mto_t5_free(m);
    return 0;
}

static void tiny_config(mto_t5_config *c)
{
    mto_t5_config_default(c);
    c->d_model = 16; c->d_ff = 32; c->d_kv = 4; c->num_heads = 4;
    c->num_layers = 1; c->num_decoder_layers = 1; c->vocab_size = 40;
    c->num_buckets = 8; c->max_distance = 16;
}

static int op_new(mto_error *err)
{
    mto_t5_config c;
    tiny_config(&c);
    mto_t5 *m = mto_t5_new(&c, 1, err);
    if (!m) return err->code ? err->code : -100;
    mto_t5_free(m);
    return 0;
}

enum { B = 2, TS = 5, TT = 4 };
static const int32_t SRC[B * TS] = {5, 9, 12, 7, 1, 8, 3, 1, 0, 0};
static const int32_t LAB[B * TT] = {4, 6, 1, -100, 7, 1, -100, -100};

/* A model is made outside the hook; the step (grads, activations, optimizer
 * state) runs under it. */
static mto_t5 *M;

static int op_step(mto_error *err)
{
    mto_t5_batch b = {B, TS, TT, SRC, LAB};
    int rc = mto_t5_zero_grad(M, err);
    if (!rc) rc = mto_t5_forward(M, &b, 1, err);
    if (!rc) rc = mto_t5_backward(M, err);
    if (rc) return rc;
    size_t nv = 0;
    mto_param_view *v = mto_train_views(M, &nv, err);
    if (!v) return err->code ? err->code : -100;
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAFACTOR);
    mto_optim *o = mto_optim_new(&oc, v, nv, err);
    if (!o) { free(v); return err->code ? err->code : -100; }
    rc = mto_optim_step(o, 1e-3f, err);
    mto_optim_free(o);
    free(v);
    return rc;
}

static int32_t XS[4][6] = {{5, 9, 12, 1}, {8, 3, 1}, {4, 4, 4, 4, 1}, {7, 1}};
static int32_t XT[4][4] = {{4, 6, 1}, {7, 1}, {9, 9, 1}, {3, 1}};

static int op_train(mto_error *err)
{
    mto_example ex[4] = {{XS[0], XT[0], 4, 3}, {XS[1], XT[1], 3, 2}, {XS[2], XT[2], 5, 3}, {XS[3], XT[3], 2, 2}};
    mto_train_opts o;
    mto_train_opts_default(&o);
    o.batch_size = 2; o.max_steps = 3; o.valid = ex; o.nvalid = 2; o.eval_every = 1; o.patience = 2;
    mto_train_result r;
    return mto_train(M, ex, 4, &o, &r, err);
}

static int op_generate(mto_error *err)
{
    int32_t out[B * 6];
    int len[B];
    double sc[B];
    mto_t5_gen_opts g = {6, 1, 1.0f, 1};
    int rc = mto_t5_generate(M, SRC, B, TS, &g, out, len, sc, err);
    if (rc) return rc;
    g.beams = 3;
    rc = mto_t5_generate(M, SRC, B, TS, &g, out, len, sc, err);
    if (rc) return rc;
    double s[B];
    mto_t5_batch b = {B, TS, TT, SRC, LAB};
    rc = mto_t5_score(M, &b, s, err);
    if (rc) return rc;
    /* the batched helpers of the training layer */
    mto_example ex[4] = {{XS[0], XT[0], 4, 3}, {XS[1], XT[1], 3, 2}, {XS[2], XT[2], 5, 3}, {XS[3], XT[3], 2, 2}};
    int32_t pout[4 * 6];
    int plen[4];
    g.beams = 1;
    rc = mto_predict(M, ex, 4, 3, 0, &g, pout, plen, err);
    double loss;
    if (!rc) rc = mto_eval_loss(M, ex, 4, 3, 0, 0, &loss, err);
    return rc;
}

static int op_save_load(mto_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/m.safetensors", TMPDIR_);
    const char *meta[] = {"note", "oom test", NULL};
    int rc = mto_t5_save(M, path, meta, err);
    if (rc) return rc;
    mto_t5 *m = mto_t5_load(path, err);
    if (!m) return err->code ? err->code : -100;
    mto_t5_free(m);
    return 0;
}

static int op_save_sharded(mto_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sharded", TMPDIR_);
    mkdir(path, 0777);
    int rc = mto_t5_save_sharded(M, path, NULL, 4000, err);
    if (rc) return rc;
    mto_t5 *m = mto_t5_load(path, err);
    if (!m) return err->code ? err->code : -100;
    mto_t5_free(m);
    return 0;
}

static int op_st_parse_write(mto_error *err)
{
    float a[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[2] = {0x3c00, 0x4000};
    int64_t sa[2] = {2, 3}, sh[1] = {2};
    mto_st_out t[2] = {{"a", MTO_ST_F32, 2, sa, a}, {"h", MTO_ST_F16, 1, sh, h}};
    const char *meta[] = {"k", "v", NULL};
    char path[4200];
    snprintf(path, sizeof path, "%s/t.safetensors", TMPDIR_);
    int rc = mto_st_write(path, t, 2, meta, err);
    if (rc) return rc;
    mto_st_file *f = NULL;
    rc = mto_st_open(path, &f, err);
    if (rc) return rc;
    float back[2];
    rc = mto_st_read_f32(f, mto_st_find(f, "h"), back, 2, err);
    mto_st_close(f);
    return rc;
}

static int op_metrics(mto_error *err)
{
    const char *refs[] = {"the cat sat on the mat", "a cat is on the mat"};
    const char *preds[] = {"the cat is on a mat", "dogs bark"};
    const char *const *rr[] = {refs, refs + 1};
    size_t nr[] = {2, 1};
    double v[4];
    v[0] = mto_rouge_l_best(preds[0], refs, 2);
    v[1] = mto_bleu_sentence(preds[0], refs, 2, MTO_BLEU_SMOOTH_DEFAULT);
    v[2] = mto_bleu_corpus(preds, rr, nr, 2, MTO_BLEU_SMOOTH_DEFAULT);
    const char *groups[] = {"x", "y"};
    double sc[] = {0.5, 1.0};
    v[3] = mto_mean_by_group(sc, groups, 2);
    int em = mto_exact_match("The cat!", refs, 2);
    long u = mto_unique_count(preds, 2);
    char *norm = mto_metric_normalize("A  B, c");
    int failed = !norm || em < 0 || u < 0;
    for (int i = 0; i < 4; i++) failed |= isnan(v[i]);
    free(norm);
    if (failed) return mto_error_set(err, MTO_ENOMEM, "metrics: out of memory (NaN or negative result)");
    return 0;
}

static int op_registry(mto_error *err)
{
    mto_plugins_reset();
    int rc = mto_plugins_load_all(err);
    if (rc) return rc;
    if (!mto_plugin_require(MTO_KIND_TOKENIZER, "sentencepiece", err)) return err->code;
    return 0;
}

static int op_tokenizer(mto_error *err)
{
    mto_tokenizer *t = NULL;
    int rc = mto_tokenizer_open(SPM, &t, err);
    if (rc) return rc;
    mto_ids ids;
    mto_ids_init(&ids);
    rc = mto_tokenizer_encode(t, "hello world", 11, &ids, err);
    mto_text txt;
    mto_text_init(&txt);
    if (!rc) rc = mto_tokenizer_decode(t, ids.data, ids.len, &txt, err);
    mto_ids_free(&ids);
    mto_text_free(&txt);
    mto_tokenizer_free(t);
    return rc;
}

static void *j_malloc(size_t n) { return mto_malloc(n); }
static void j_free(void *p) { free(p); }

int main(void)
{
    const char *src = getenv("MTO_SRCDIR"), *build = getenv("MTO_BUILDDIR");
    if (!src || !build) {
        printf("1..0 # SKIP MTO_SRCDIR/MTO_BUILDDIR not set (run through make check)\n");
        return 0;
    }
    snprintf(REF, sizeof REF, "%s/tests/ref/t5-v11", src);
    snprintf(REF_PT, sizeof REF_PT, "%s/tests/ref/torch/t5-v11", src);
    snprintf(REF_PT_SHARDED, sizeof REF_PT_SHARDED, "%s/tests/ref/torch/t5-v10-sharded", src);
    snprintf(SPM, sizeof SPM, "%s/tests/fuzz/corpus/spm_model/unigram.model", src);
    snprintf(TMPDIR_, sizeof TMPDIR_, "%s/tests/oom-tmp-XXXXXX", build);
    if (!mkdtemp(TMPDIR_)) {
        printf("Bail out! mkdtemp %s\n", TMPDIR_);
        return 1;
    }
    json_set_alloc_funcs(j_malloc, j_free);

    walk("safetensors write + parse", op_st_parse_write);
    walk("load a checkpoint (tests/ref/t5-v11)", op_load);
    walk("load pytorch_model.bin and a sharded .bin (tests/ref/torch)", op_load_torch);
    walk("create a model", op_new);
    mto_error e;
    mto_t5_config c;
    tiny_config(&c);
    M = mto_t5_new(&c, 7, &e);
    if (!M) {
        printf("Bail out! mto_t5_new: %s\n", e.msg);
        return 1;
    }
    walk("forward + backward + optimizer step", op_step);
    walk("training loop with validation (3 steps)", op_train);
    walk("greedy and beam decoding, scoring, batched predict and eval loss", op_generate);
    walk("save + load a model", op_save_load);
    walk("sharded save + load a model", op_save_sharded);
    walk("metrics (ROUGE-L, BLEU, exact match, group means)", op_metrics);
    walk("plugin registry: load all, require a tokenizer", op_registry);
    walk("tokenizer: open, encode, decode", op_tokenizer);
    mto_t5_free(M);
    mto_plugins_reset();

    char p[4300];
    snprintf(p, sizeof p, "%s/m.safetensors", TMPDIR_);
    unlink(p);
    snprintf(p, sizeof p, "%s/t.safetensors", TMPDIR_);
    unlink(p);
    snprintf(p, sizeof p, "%s/sharded", TMPDIR_);
    DIR *d = opendir(p);
    int stale = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char q[4600];
        stale += strstr(de->d_name, ".tmp.") != NULL;
        snprintf(q, sizeof q, "%s/%s", p, de->d_name);
        unlink(q);
    }
    if (d) closedir(d);
    rmdir(p);
    ok(d && !stale, "sharded save: no temporary files left behind (%d)", stale);
    ok(rmdir(TMPDIR_) == 0, "no temporary files left behind by failed writes");
    return tap_done();
}
