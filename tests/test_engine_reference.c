/* test_engine_reference.c — the C engine against the PyTorch reference
 * (tests/ref/make_t5_fixtures.py, HF T5 semantics): logits, loss, every
 * parameter gradient and 10 AdamW steps, for v1.0 and v1.1; plus the loader
 * (HF dir, single file, F16/BF16, tied tensors absent) and save/reload. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "mto/optim.h"
#include "mto/safetensors.h"
#include "mto/t5.h"
#include "tap.h"

static char srcdir[2048];

static float *read_all(mto_st_file *f, const char *name, size_t *n)
{
    const mto_st_tensor *t = mto_st_find(f, name);
    if (!t) return NULL;
    *n = (size_t)mto_st_numel(t);
    float *x = malloc(*n * sizeof *x + 1);
    mto_error e;
    if (mto_st_read_f32(f, t, x, *n, &e)) { free(x); return NULL; }
    return x;
}

/* max |a-b| / max |b| */
static double rel_max(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / (s > 0 ? s : 1);
}

typedef struct fixture {
    mto_st_file *f;
    int32_t *src, *labels;
    mto_t5_batch b;
} fixture;

static int load_fixture(fixture *x, const char *variant)
{
    char p[4096];
    mto_error e;
    snprintf(p, sizeof p, "%s/tests/ref/%s-expected.safetensors", srcdir, variant);
    if (mto_st_open(p, &x->f, &e)) { tap_diag("%s", e.msg); return -1; }
    const mto_st_tensor *ts = mto_st_find(x->f, "src"), *tl = mto_st_find(x->f, "labels");
    size_t ns, nl;
    float *s = read_all(x->f, "src", &ns), *l = read_all(x->f, "labels", &nl);
    x->src = malloc(ns * sizeof *x->src);
    x->labels = malloc(nl * sizeof *x->labels);
    for (size_t i = 0; i < ns; i++) x->src[i] = (int32_t)s[i];
    for (size_t i = 0; i < nl; i++) x->labels[i] = (int32_t)l[i];
    x->b = (mto_t5_batch){(int)ts->shape[0], (int)ts->shape[1], (int)tl->shape[1], x->src, x->labels};
    free(s);
    free(l);
    return 0;
}

static void free_fixture(fixture *x)
{
    mto_st_close(x->f);
    free(x->src);
    free(x->labels);
}

static void test_variant(const char *variant)
{
    char p[4096];
    mto_error e;
    fixture x;
    snprintf(p, sizeof p, "%s/tests/ref/%s", srcdir, variant);
    mto_t5 *m = mto_t5_load(p, &e);
    if (!ok(m != NULL, "%s: load HF directory", variant)) { tap_diag("%s", e.msg); return; }
    if (load_fixture(&x, variant)) { ok(0, "%s: fixture", variant); mto_t5_free(m); return; }

    ok(mto_t5_forward(m, &x.b, 0, &e) == 0, "%s: forward", variant);
    size_t n;
    float *want = read_all(x.f, "logits", &n);
    double md = 0;
    for (size_t i = 0; i < n; i++) md = fmax(md, fabs((double)m->logits[i] - want[i]));
    ok(n == (size_t)x.b.B * x.b.Tt * m->cfg.vocab_size && md <= 1e-4, "%s: logits max abs diff %.2g <= 1e-4",
       variant, md);
    free(want);
    float *wl = read_all(x.f, "loss", &n);
    double lrel = fabs(m->loss - wl[0]) / fabs(wl[0]);
    ok(lrel <= 1e-5, "%s: loss %.7f vs %.7f, rel %.2g <= 1e-5", variant, m->loss, wl[0], lrel);
    float loss0 = wl[0];
    free(wl);

    mto_t5_zero_grad(m, &e);
    ok(mto_t5_backward(m, &e) == 0, "%s: backward", variant);
    double worst = 0;
    const char *wn = "";
    int bad = 0;
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *pp = &m->table[i];
        snprintf(p, sizeof p, "grad.%s", pp->name);
        float *g = read_all(x.f, p, &n);
        if (!g || n != pp->numel) { bad++; tap_diag("%s missing", p); free(g); continue; }
        double r = rel_max(m->grads + pp->offset, g, n);
        if (r > worst) worst = r, wn = pp->name;
        if (!(r <= 1e-3)) { bad++; tap_diag("%s: rel %.3g", pp->name, r); }
        free(g);
    }
    ok(bad == 0, "%s: all %zu gradients rel <= 1e-3 (worst %.2g, %s)", variant, m->nparams, worst, wn);

    /* 10 AdamW steps, eval mode, same batch, hyper-parameters from the fixture */
    json_t *hp = json_loads(mto_st_meta(x.f, "adamw"), 0, NULL);
    mto_optim_config oc;
    mto_optim_config_default(&oc, MTO_OPT_ADAMW);
    oc.lr = (float)json_number_value(json_object_get(hp, "lr"));
    oc.beta1 = (float)json_number_value(json_array_get(json_object_get(hp, "betas"), 0));
    oc.beta2 = (float)json_number_value(json_array_get(json_object_get(hp, "betas"), 1));
    oc.eps = (float)json_number_value(json_object_get(hp, "eps"));
    oc.weight_decay = (float)json_number_value(json_object_get(hp, "weight_decay"));
    json_decref(hp);
    mto_param_view *v = calloc(m->nparams, sizeof *v);
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *pp = &m->table[i];
        v[i] = (mto_param_view){pp->name, m->params + pp->offset, m->grads + pp->offset,
                                pp->ndim == 2 ? (size_t)pp->shape[0] : 1,
                                pp->ndim == 2 ? (size_t)pp->shape[1] : (size_t)pp->shape[0]};
    }
    mto_optim *o = mto_optim_new(&oc, v, m->nparams, &e);
    float *wantl = read_all(x.f, "adamw_losses", &n);
    double wrel = 0;
    for (size_t s = 0; s < n && o; s++) {
        mto_t5_zero_grad(m, &e);
        mto_t5_forward(m, &x.b, 0, &e);
        wrel = fmax(wrel, fabs(m->loss - wantl[s]) / fabs(wantl[s]));
        mto_t5_backward(m, &e);
        mto_optim_step(o, oc.lr, &e);
    }
    ok(o && n == 10 && wrel <= 1e-4, "%s: 10 AdamW steps match PyTorch (%.4f -> %.4f, worst rel %.2g)", variant,
       loss0, wantl[n - 1], wrel);
    free(wantl);
    mto_optim_free(o);
    free(v);
    free_fixture(&x);
    mto_t5_free(m);
}

/* params of a and b equal within rel (per tensor, max-abs relative). */
static double param_rel(const mto_t5 *a, const mto_t5 *b)
{
    double w = 0;
    if (a->numel != b->numel) return INFINITY;
    for (size_t i = 0; i < a->nparams; i++)
        w = fmax(w, rel_max(a->params + a->table[i].offset, b->params + b->table[i].offset, a->table[i].numel));
    return w;
}

static void test_loader(void)
{
    char p[4096];
    mto_error e;
    snprintf(p, sizeof p, "%s/tests/ref/t5-v10", srcdir);
    mto_t5 *ref10 = mto_t5_load(p, &e);
    snprintf(p, sizeof p, "%s/tests/ref/t5-v11", srcdir);
    mto_t5 *ref11 = mto_t5_load(p, &e);
    if (!ok(ref10 && ref11, "reference models load")) return;

    snprintf(p, sizeof p, "%s/tests/ref/t5-v10-notied.safetensors", srcdir);
    mto_t5 *m = mto_t5_load(p, &e);
    ok(m && param_rel(m, ref10) == 0, "single file, config in __metadata__, tied tensors absent: same params");
    if (!m) tap_diag("%s", e.msg);
    mto_t5_free(m);
    snprintf(p, sizeof p, "%s/tests/ref/t5-v11-f16.safetensors", srcdir);
    m = mto_t5_load(p, &e);
    double r = m ? param_rel(m, ref11) : INFINITY;
    ok(m && r < 1e-3 && r > 0, "F16 checkpoint converts (rel %.2g)", r);
    mto_t5_free(m);
    snprintf(p, sizeof p, "%s/tests/ref/t5-v11-bf16.safetensors", srcdir);
    m = mto_t5_load(p, &e);
    r = m ? param_rel(m, ref11) : INFINITY;
    ok(m && r < 8e-3 && r > 0, "BF16 checkpoint converts (rel %.2g)", r);
    mto_t5_free(m);

    /* save / reload gives identical outputs */
    fixture x;
    load_fixture(&x, "t5-v11");
    char tmpd[] = "/tmp/mto-t5-XXXXXX";
    if (!mkdtemp(tmpd)) { ok(0, "mkdtemp"); return; }
    snprintf(p, sizeof p, "%s/m.safetensors", tmpd);
    const char *meta[] = {"step", "3", NULL};
    ok(mto_t5_save(ref11, p, meta, &e) == 0, "save as one .safetensors");
    m = mto_t5_load(p, &e);
    mto_t5_forward(ref11, &x.b, 0, &e);
    float l0 = ref11->loss;
    size_t nl = (size_t)x.b.B * x.b.Tt * ref11->cfg.vocab_size;
    float *lg = malloc(nl * sizeof *lg);
    memcpy(lg, ref11->logits, nl * sizeof *lg);
    ok(m && mto_t5_forward(m, &x.b, 0, &e) == 0 && m->loss == l0 && memcmp(lg, m->logits, nl * sizeof *lg) == 0,
       "reloaded file gives identical logits");
    mto_st_file *f;
    if (mto_st_open(p, &f, &e) == 0) {
        is_str(mto_st_meta(f, "step"), "3", "extra metadata saved");
        mto_st_close(f);
    }
    mto_t5_free(m);
    ok(mto_t5_save(ref11, tmpd, NULL, &e) == 0, "save into a directory (HF layout)");
    m = mto_t5_load(tmpd, &e);
    ok(m && mto_t5_forward(m, &x.b, 0, &e) == 0 && memcmp(lg, m->logits, nl * sizeof *lg) == 0,
       "reloaded directory gives identical logits");
    mto_t5_free(m);

    /* a truncated checkpoint is refused with the file named */
    FILE *in = fopen(p, "rb"), *out;
    char tp[4200];
    snprintf(tp, sizeof tp, "%s/trunc.safetensors", tmpd);
    out = fopen(tp, "wb");
    char buf[4096];
    size_t k = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, k, out);
    fclose(in);
    fclose(out);
    m = mto_t5_load(tp, &e);
    ok(m == NULL && strstr(e.msg, "trunc.safetensors"), "truncated file refused: %s", m ? "loaded!" : e.msg);
    /* wrong shape against the config */
    mto_t5_config c = ref10->cfg;
    c.d_ff = 48;
    char *cj = mto_t5_config_json(&c);
    snprintf(tp, sizeof tp, "%s/bad", tmpd);
    mkdir(tp, 0700);
    mto_t5_save(ref10, tp, NULL, &e);
    snprintf(tp, sizeof tp, "%s/bad/config.json", tmpd);
    out = fopen(tp, "w");
    fputs(cj, out);
    fclose(out);
    free(cj);
    snprintf(tp, sizeof tp, "%s/bad", tmpd);
    m = mto_t5_load(tp, &e);
    ok(m == NULL && strstr(e.msg, "DenseReluDense"), "shape mismatch names the tensor: %s", m ? "loaded!" : e.msg);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpd);
    if (system(cmd) != 0) tap_diag("cleanup failed");
    free(lg);
    free_fixture(&x);
    mto_t5_free(ref10);
    mto_t5_free(ref11);
}

int main(void)
{
    const char *s = getenv("MTO_SRCDIR");
    snprintf(srcdir, sizeof srcdir, "%s", s ? s : MTO_SRCDIR);
    test_variant("t5-v10");
    test_variant("t5-v11");
    test_loader();
    return tap_done();
}
