/* test_kernels_isa.c — the row and elementwise kernels (core/t5_kernels.c)
 * give the same bits in every instruction set: the program runs itself once
 * per MTO_KERNELS value (generic, avx2, avx512), each child hashing every
 * dispatched kernel's output on awkward sizes (tails of 1-15 lanes, rows of a
 * vocabulary's width, masked entries, ignored labels) and the loss, gradients
 * and parameters of two training steps of two tiny T5s (ReLU and gated GELU);
 * the parent requires every hash equal to the generic one. A set this CPU
 * does not run is skipped, named. Also: without MTO_KERNELS the widest set the
 * CPU runs is chosen, and a set it does not run is refused, with a note. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mto/optim.h"
#include "mto/t5.h"
#include "mto/train.h"
#include "t5_internal.h"
#include "tap.h"

static uint64_t g_hash = 1469598103934665603ULL;
static void hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) g_hash = (g_hash ^ b[i]) * 1099511628211ULL;
}
static void hashf(const float *x, size_t n) { hash(x, n * sizeof *x); }

static unsigned rs = 2024;
static float frand(void) { rs = rs * 1103515245u + 12345u; return ((rs >> 8) & 0xffff) / 8192.0f - 4.0f; }
static void fill(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = frand(); }

/* Every dispatched kernel on sizes around the 4- and 16-lane blocks. */
static void kernels_digest(void)
{
    static const int sizes[] = {1, 3, 4, 5, 15, 16, 17, 20, 31, 33, 64, 100, 515, 2048};
    enum { MAX = 2048 * 3 };
    float *a = malloc(MAX * 4), *b = malloc(MAX * 4), *c = malloc(MAX * 4), *d = malloc(MAX * 4),
          *w = malloc(MAX * 4), *r = malloc(MAX * 4);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int n = sizes[k], N = 3;
        fill(a, MAX); fill(b, MAX); fill(c, MAX); fill(w, MAX);
        mto_k_add(d, a, b, (size_t)n); hashf(d, n);
        mto_k_mul(d, a, (size_t)n); hashf(d, n);
        mto_k_relu(d, a, (size_t)n); hashf(d, n);
        mto_k_relu(c, c, (size_t)n); hashf(c, n);
        mto_k_relu_mask(d, b, (size_t)n); hashf(d, n);
        mto_k_relu_bwd(d, a, b, (size_t)n); hashf(d, n);
        mto_k_gelu(d, a, (size_t)n); hashf(d, n);
        mto_k_gelu_bwd(d, a, b, (size_t)n); hashf(d, n);
        for (int g = 0; g < 3; g++) { /* relu, gelu; and da aliasing dh1 */
            fill(c, MAX); fill(d, MAX);
            mto_k_gated_bwd(c, g == 2 ? b : d, b, a, w, (size_t)n, g != 0);
            hashf(c, n); hashf(g == 2 ? b : d, n);
        }
        fill(a, MAX); fill(b, MAX);
        mto_k_rmsnorm(d, r, a, w, N, n, 1e-6f); hashf(d, (size_t)N * n); hashf(r, N);
        memset(c, 0, MAX * 4);
        mto_k_rmsnorm_bwd(c, b, d, a, w, r, N, n); hashf(c, (size_t)N * n); hashf(b, n);
        memcpy(d, a, (size_t)n * 4);
        if (n > 4) d[1] = d[n - 2] = -INFINITY; /* masked scores */
        mto_k_softmax(d, n); hashf(d, n);
        mto_k_softmax_bwd(c, b, d, n); hashf(c, n);
        mto_k_softmax_bwd(b, b, d, n); hashf(b, n);
        for (int i = 0; i < n; i++) d[i] = -INFINITY;
        mto_k_softmax(d, n); hashf(d, n);
        int32_t lab[3] = {n / 2, MTO_T5_IGNORE, n - 1};
        float lse[3], logp[3];
        int cnt = 0;
        memcpy(d, a, (size_t)N * n * 4);
        double tot = mto_k_xent(lse, logp, d, lab, N, n, &cnt);
        hash(&tot, sizeof tot); hash(&cnt, sizeof cnt); hashf(lse, N); hashf(logp, N);
        mto_k_xent_bwd(d, lse, lab, N, n, 0.5f); hashf(d, (size_t)N * n);
        memcpy(d, a, (size_t)N * n * 4);
        mto_k_log_softmax(d, N, n); hashf(d, (size_t)N * n);
    }
    /* rows as wide as a vocabulary, spread like logits */
    int V = 32128, R = 2;
    float *z = malloc(sizeof(float) * V * R), lse[2], logp[2];
    for (int i = 0; i < V * R; i++) z[i] = frand() * 3.0f;
    int32_t lab[2] = {7, V - 1};
    int cnt = 0;
    double tot = mto_k_xent(lse, logp, z, lab, R, V, &cnt);
    hash(&tot, sizeof tot); hashf(lse, R); hashf(logp, R);
    mto_k_xent_bwd(z, lse, lab, R, V, 0.25f); hashf(z, (size_t)V * R);
    free(z); free(a); free(b); free(c); free(d); free(w); free(r);
}

/* Two AdamW steps of a tiny T5 with the given feed-forward. */
static int model_digest(int ff)
{
    mto_error err;
    mto_t5_config c;
    mto_t5_config_default(&c);
    c.d_model = 64; c.d_ff = 136; c.d_kv = 16; c.num_heads = 4; c.num_layers = c.num_decoder_layers = 2;
    c.vocab_size = 1003; c.dropout_rate = 0.0f; c.ff = ff; c.tie_word_embeddings = ff == MTO_T5_FF_RELU;
    mto_t5 *m = mto_t5_new(&c, 7, &err);
    if (!m || mto_t5_zero_grad(m, &err)) { printf("# %s\n", err.msg); return -1; }
    size_t nv = 0;
    mto_param_view *v = mto_train_views(m, &nv, &err);
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAMW);
    mto_optim *opt = mto_optim_new(&oc, v, m->nparams, &err);
    enum { B = 3, Ts = 21, Tt = 9 };
    int32_t src[B * Ts], tgt[B * Tt];
    for (int i = 0; i < B * Ts; i++) src[i] = 2 + (int)((unsigned)(i * 7919) % 1000u);
    for (int i = 0; i < B * Tt; i++) tgt[i] = i % 5 == 4 ? MTO_T5_IGNORE : 2 + (int)((unsigned)(i * 104729) % 1000u);
    mto_t5_batch batch = {B, Ts, Tt, src, tgt};
    int rc = opt ? 0 : -1;
    for (int step = 0; step < 2 && !rc; step++) {
        rc = mto_t5_zero_grad(m, &err);
        rc = rc ? rc : mto_t5_forward(m, &batch, 1, &err);
        rc = rc ? rc : mto_t5_backward(m, &err);
        if (!rc) { hash(&m->loss, sizeof m->loss); hashf(m->grads, m->numel); }
        rc = rc ? rc : mto_optim_step(opt, 1e-3f, &err);
    }
    if (!rc) hashf(m->params, m->numel);
    else printf("# %s\n", err.msg);
    mto_optim_free(opt);
    free(v);
    mto_t5_free(m);
    return rc;
}

/* Child: "<isa> <hash>" for the set it ran. */
static int child(void)
{
    kernels_digest();
    if (model_digest(MTO_T5_FF_RELU) || model_digest(MTO_T5_FF_GATED_GELU)) return 1;
    printf("%s %016llx\n", mto_k_isa(), (unsigned long long)g_hash);
    return 0;
}

/* Run this program as a child under MTO_KERNELS=isa ("" unset); its isa and
 * hash into got/hash, its stderr into note. 0 when it printed them. */
static char g_self[4096]; /* this program's path (the libtool binary, not its wrapper) */

static int run_child(const char *isa, char *got, size_t ngot, char *hashbuf, char *note, size_t nnote)
{
    char cmd[4608];
    snprintf(cmd, sizeof cmd, "MTO_KERNELS_CHILD=1 MTO_KERNELS='%s' '%s' 2>/tmp/mto_kisa_err.%d", isa, g_self,
             (int)getpid());
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, p)) {
        char a[32], h[32];
        if (line[0] != '#' && sscanf(line, "%31s %31s", a, h) == 2) {
            snprintf(got, ngot, "%s", a);
            snprintf(hashbuf, 32, "%s", h);
            found = 1;
        }
    }
    int st = pclose(p);
    char path[64];
    snprintf(path, sizeof path, "/tmp/mto_kisa_err.%d", (int)getpid());
    FILE *e = fopen(path, "r");
    note[0] = 0;
    if (e) {
        size_t k = fread(note, 1, nnote - 1, e);
        note[k] = 0;
        fclose(e);
        remove(path);
    }
    return found && st == 0 ? 0 : -1;
}

int main(void)
{
    if (getenv("MTO_KERNELS_CHILD")) return child();
    ssize_t len = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (len <= 0) {
        printf("1..0 # SKIP no /proc/self/exe to run this program again\n");
        return 0;
    }
    g_self[len] = 0;
    static const char *isas[] = {"generic", "avx2", "avx512"};
    char ref[32] = "", got[32], h[32], note[512];
    int widest = 0;
    for (int i = 0; i < 3; i++) {
        if (run_child(isas[i], got, sizeof got, h, note, sizeof note)) {
            ok(0, "MTO_KERNELS=%s: the child ran and printed its hash", isas[i]);
            if (note[0]) tap_diag("%s", note);
            continue;
        }
        if (strcmp(got, isas[i])) { /* the CPU does not run this set: refused with a note */
            char why[96];
            snprintf(why, sizeof why, "this CPU does not run the %s kernels", isas[i]);
            ok(strstr(note, "MTO_KERNELS=") && strstr(note, isas[i]), "MTO_KERNELS=%s refused with a note", isas[i]);
            tap_skip(why);
            continue;
        }
        widest = i;
        if (i == 0) {
            snprintf(ref, sizeof ref, "%s", h);
            ok(ref[0], "generic kernels: hash %s", ref);
        } else {
            ok(!strcmp(h, ref), "%s kernels give the generic kernels' bits (%s)", isas[i], h);
        }
    }
    if (!run_child("", got, sizeof got, h, note, sizeof note))
        is_str(got, isas[widest], "without MTO_KERNELS the widest set this CPU runs is used");
    else
        ok(0, "the child without MTO_KERNELS ran");
    if (!run_child("sse9", got, sizeof got, h, note, sizeof note))
        ok(!strcmp(got, isas[widest]) && strstr(note, "MTO_KERNELS=sse9"),
           "an unknown MTO_KERNELS is named on stderr and the widest set used");
    else
        ok(0, "the child with MTO_KERNELS=sse9 ran");
    return tap_done();
}
