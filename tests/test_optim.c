/* test_optim.c — AdamW and Adafactor against torch / HF trajectories
 * (tests/ref/optim_fixtures.txt from tests/ref/make_optim_fixtures.py),
 * gradient clipping against clip_grad_norm_, lr schedules against LambdaLR,
 * plus hand-checked cases and argument errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/optim.h"
#include "tap.h"

#define REL_TOL 1e-6
#define MAXP 4

/* ---- a tiny tokenizer over the fixture file ------------------------------- */
static FILE *fx;
static char tok[256];

static const char *next(void)
{
    int c;
    for (;;) {
        while ((c = fgetc(fx)) != EOF && (c == ' ' || c == '\n' || c == '\t' || c == '\r')) {}
        if (c == '#') { /* comment to end of line */
            while ((c = fgetc(fx)) != EOF && c != '\n') {}
            continue;
        }
        break;
    }
    if (c == EOF) return NULL;
    size_t n = 0;
    do {
        if (n + 1 < sizeof tok) tok[n++] = (char)c;
    } while ((c = fgetc(fx)) != EOF && c != ' ' && c != '\n' && c != '\t' && c != '\r');
    tok[n] = 0;
    return tok;
}

static double num(void)
{
    const char *t = next();
    if (!t) { fprintf(stderr, "fixture: unexpected end\n"); exit(2); }
    return strtod(t, NULL);
}

static void expect(const char *want)
{
    const char *t = next();
    if (!t || strcmp(t, want)) {
        printf("Bail out! fixture: expected '%s', got '%s'\n", want, t ? t : "EOF");
        exit(2);
    }
}

typedef struct { char name[32]; size_t rows, cols; float *p, *g; } tensor;

static void read_vals(float *dst, size_t n) { for (size_t i = 0; i < n; i++) dst[i] = (float)num(); }

/* max over elements of |got - want| / max(|want|, 1e-3): relative, with a floor
 * so values crossing zero are judged on an absolute 1e-9 scale */
static double rel_err(const float *got, const float *want, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(fabs((double)want[i]), 1e-3);
        if (!(d <= worst)) worst = d; /* NaN propagates */
    }
    return worst;
}

static void run_case(double *worst_all)
{
    char name[64];
    snprintf(name, sizeof name, "%s", next());
    expect("config");
    mto_optim_config c;
    expect("kind");
    mto_optim_config_default(&c, (int)num());
    const char *k;
    while ((k = next()) && strcmp(k, "end")) {
        char key[32];
        snprintf(key, sizeof key, "%s", k);
        double v = num();
        if (!strcmp(key, "beta1")) c.beta1 = (float)v;
        else if (!strcmp(key, "beta2")) c.beta2 = (float)v;
        else if (!strcmp(key, "eps")) c.eps = (float)v;
        else if (!strcmp(key, "weight_decay")) c.weight_decay = (float)v;
        else if (!strcmp(key, "eps1")) c.eps1 = (float)v;
        else if (!strcmp(key, "eps2")) c.eps2 = (float)v;
        else if (!strcmp(key, "clip_threshold")) c.clip_threshold = (float)v;
        else if (!strcmp(key, "decay_rate")) c.decay_rate = (float)v;
        else if (!strcmp(key, "beta1_af")) c.beta1_af = (float)v;
        else if (!strcmp(key, "scale_parameter")) c.scale_parameter = (int)v;
        else if (!strcmp(key, "relative_step")) c.relative_step = (int)v;
        else if (!strcmp(key, "warmup_init")) c.warmup_init = (int)v;
        else { printf("Bail out! unknown config key %s\n", key); exit(2); }
    }
    tensor t[MAXP];
    mto_param_view views[MAXP];
    size_t np = 0;
    const char *w;
    while ((w = next()) && !strcmp(w, "param")) {
        tensor *x = &t[np];
        snprintf(x->name, sizeof x->name, "%s", next());
        x->rows = (size_t)num();
        x->cols = (size_t)num();
        x->p = malloc(x->rows * x->cols * sizeof(float));
        x->g = malloc(x->rows * x->cols * sizeof(float));
        read_vals(x->p, x->rows * x->cols);
        views[np] = (mto_param_view){x->name, x->p, x->g, x->rows, x->cols};
        np++;
    }
    mto_error err = {0};
    mto_optim *o = mto_optim_new(&c, views, np, &err);
    if (!ok(o != NULL, "%s: optimizer created", name)) tap_diag("%s", err.msg);
    double worst = 0.0;
    int steps = 0, failed = 0;
    float want[64];
    /* w holds "step" here */
    while (w && !strcmp(w, "step")) {
        int s = (int)num();
        expect("lr");
        float lr = (float)num();
        for (size_t i = 0; i < np; i++) {
            expect("grad");
            next();
            read_vals(t[i].g, t[i].rows * t[i].cols);
        }
        if (o && mto_optim_step(o, lr, &err)) { failed = 1; tap_diag("step %d: %s", s, err.msg); }
        for (size_t i = 0; i < np; i++) {
            expect("after");
            next();
            read_vals(want, t[i].rows * t[i].cols);
            double e = rel_err(t[i].p, want, t[i].rows * t[i].cols);
            if (!(e <= worst)) worst = e;
        }
        steps = s;
        w = next();
    }
    if (!w || strcmp(w, "endcase")) { printf("Bail out! fixture: missing endcase\n"); exit(2); }
    ok(!failed && steps == 10 && mto_optim_steps(o) == 10, "%s: 10 steps taken", name);
    if (!ok(worst <= REL_TOL, "%s: parameters match the reference after every step (rel %.2e)", name, worst))
        tap_diag("worst relative error %.3e > %.1e", worst, REL_TOL);
    if (!(worst <= *worst_all)) *worst_all = worst;
    mto_optim_free(o);
    for (size_t i = 0; i < np; i++) { free(t[i].p); free(t[i].g); }
}

static void run_clip(void)
{
    double max_norm = num(), want_norm = num();
    tensor t[2];
    mto_param_view v[2];
    float want[64];
    for (int i = 0; i < 2; i++) {
        expect("grad");
        snprintf(t[i].name, sizeof t[i].name, "%s", next());
        t[i].rows = i == 0 ? 3 : 1;
        t[i].cols = i == 0 ? 4 : 5;
        t[i].g = malloc(12 * sizeof(float));
        t[i].p = NULL;
        read_vals(t[i].g, t[i].rows * t[i].cols);
        v[i] = (mto_param_view){t[i].name, NULL, t[i].g, t[i].rows, t[i].cols};
    }
    float norm = mto_grad_clip(v, 2, (float)max_norm);
    is_near(norm, want_norm, 1e-6 * want_norm, "clip: global norm before clipping matches torch");
    double worst = 0.0;
    for (int i = 0; i < 2; i++) {
        expect("clipped");
        next();
        read_vals(want, t[i].rows * t[i].cols);
        double e = rel_err(t[i].g, want, t[i].rows * t[i].cols);
        if (e > worst) worst = e;
        free(t[i].g);
    }
    ok(worst <= REL_TOL, "clip max_norm %g: grads match clip_grad_norm_ (rel %.2e)", max_norm, worst);
    expect("endclip");
}

static void run_schedule(void)
{
    mto_lr_schedule s = {0};
    s.kind = (int)num();
    s.base_lr = (float)num();
    s.warmup_steps = (long)num();
    s.total_steps = (long)num();
    int n = (int)num();
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        double want = num(), got = mto_lr_at(&s, i);
        double e = fabs(got - want) / fmax(fabs(want), 1e-12);
        if (want == 0.0) e = fabs(got);
        if (!(e <= worst)) worst = e;
    }
    ok(worst <= REL_TOL, "schedule kind %d warmup %ld total %ld: %d values match LambdaLR (rel %.2e)",
       s.kind, s.warmup_steps, s.total_steps, n, worst);
}

/* ---- hand-checked cases ------------------------------------------------------ */
static void hand_cases(void)
{
    /* AdamW, one step, wd 0: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2,
     * so p -= lr * g/(|g| + eps) = lr * sign(g) (eps negligible for |g| = 2). */
    float p[2] = {1.0f, -1.0f}, g[2] = {2.0f, -2.0f};
    mto_param_view v = {"x", p, g, 1, 2};
    mto_optim_config c;
    mto_optim_config_default(&c, MTO_OPT_ADAMW);
    c.weight_decay = 0.0f;
    mto_optim *o = mto_optim_new(&c, &v, 1, NULL);
    mto_optim_step(o, 0.1f, NULL);
    is_near(p[0], 0.9, 1e-6, "adamw hand: first step moves by lr against the gradient sign");
    is_near(p[1], -0.9, 1e-6, "adamw hand: negative gradient moves up");
    is_int(mto_optim_state_floats(o), 4, "adamw: state holds m and v");
    is_near(mto_optim_state(o)[0], 0.2, 1e-7, "adamw: m = (1-b1) g after one step");
    mto_optim_free(o);

    /* Adafactor vector, step 1: beta2t = 1 - 1^-0.8 = 0, so V = g^2 (+1e-30),
     * u = g/|g| = sign(g), RMS(u) = 1 -> not clipped, p -= lr*sign(g). */
    float q[3] = {0.5f, 0.5f, 0.5f}, h[3] = {3.0f, -0.25f, 1.0f};
    mto_param_view w = {"q", q, h, 1, 3};
    mto_optim_config_default(&c, MTO_OPT_ADAFACTOR);
    o = mto_optim_new(&c, &w, 1, NULL);
    mto_optim_step(o, 0.01f, NULL);
    ok(fabs(q[0] - 0.49) < 1e-7 && fabs(q[1] - 0.51) < 1e-7 && fabs(q[2] - 0.49) < 1e-7,
       "adafactor hand: step 1 is lr*sign(g) for a vector");
    is_int(mto_optim_state_floats(o), 3, "adafactor vector: state is one second moment");
    mto_optim_free(o);

    /* Adafactor matrix 2x2, g = [[1,0],[0,0]]: row means R = (.5, 0), col means
     * C = (.5, 0) (+eps1). u_00 = g/sqrt(R0/mean(R) * C0) = 1/sqrt(2*.5) = 1;
     * other entries have g = 0. RMS(u) = sqrt(1/4) = .5 < 1: no clipping. */
    float a[4] = {0, 0, 0, 0}, ga[4] = {1, 0, 0, 0};
    mto_param_view m = {"a", a, ga, 2, 2};
    o = mto_optim_new(&c, &m, 1, NULL);
    mto_optim_step(o, 0.5f, NULL);
    ok(fabs(a[0] + 0.5) < 1e-6 && a[1] == 0 && a[2] == 0 && a[3] == 0,
       "adafactor hand: factored 2x2 update is -lr at the one non-zero gradient");
    is_int(mto_optim_state_floats(o), 4, "adafactor 2x2: state is rows + cols");
    mto_optim_free(o);

    /* clipping: grads (3, 4) have norm 5; max_norm 1 -> scaled by 1/(5+1e-6) */
    float gc[2] = {3, 4};
    mto_param_view vc = {"g", gc, gc, 1, 2};
    is_near(mto_grad_global_norm(&vc, 1), 5.0, 1e-6, "global norm of (3,4) is 5");
    is_near(mto_grad_clip(&vc, 1, 10.0f), 5.0, 1e-6, "clip above the norm returns the norm");
    ok(gc[0] == 3 && gc[1] == 4, "clip above the norm leaves grads alone");
    mto_grad_clip(&vc, 1, 1.0f);
    is_near(gc[0], 0.6, 1e-6, "clip to 1 scales (3,4) to (0.6, 0.8)");
    is_near(mto_grad_global_norm(&vc, 1), 1.0, 1e-6, "norm after clipping is max_norm");
    float gn[2] = {NAN, 1};
    mto_param_view vn = {"g", gn, gn, 1, 2};
    ok(isnan(mto_grad_clip(&vn, 1, 1.0f)) && gn[1] == 1, "a NaN norm is returned and grads untouched");

    /* schedules by hand: linear, warmup 2, total 6, base 1:
     * steps 0..7 -> 0, .5, 1, .75, .5, .25, 0, 0 */
    mto_lr_schedule s = {MTO_LR_LINEAR, 1.0f, 2, 6};
    const double want[8] = {0, .5, 1, .75, .5, .25, 0, 0};
    int good = 1;
    for (int i = 0; i < 8; i++) good &= fabs(mto_lr_at(&s, i) - want[i]) < 1e-7;
    ok(good, "linear schedule by hand: 0 .5 1 .75 .5 .25 0 0");
    mto_lr_schedule k = {MTO_LR_CONSTANT, 3e-4f, 0, 0};
    ok(mto_lr_at(&k, 0) == 3e-4f && mto_lr_at(&k, 1000) == 3e-4f, "constant schedule is constant");

    /* steps and state restore */
    float r1[2] = {1, 2}, r2[2] = {1, 2}, gr[2] = {0.3f, -0.7f};
    mto_param_view v1 = {"r", r1, gr, 1, 2}, v2 = {"r", r2, gr, 1, 2};
    mto_optim_config_default(&c, MTO_OPT_ADAMW);
    mto_optim *o1 = mto_optim_new(&c, &v1, 1, NULL), *o2 = mto_optim_new(&c, &v2, 1, NULL);
    for (int i = 0; i < 3; i++) mto_optim_step(o1, 1e-2f, NULL);
    memcpy(r2, r1, sizeof r1);
    memcpy(mto_optim_state(o2), mto_optim_state(o1), mto_optim_state_floats(o1) * sizeof(float));
    mto_optim_set_steps(o2, mto_optim_steps(o1));
    mto_optim_step(o1, 1e-2f, NULL);
    mto_optim_step(o2, 1e-2f, NULL);
    ok(r1[0] == r2[0] && r1[1] == r2[1], "restored state + step count continue bit-identically");
    mto_optim_free(o1);
    mto_optim_free(o2);
}

static void error_cases(void)
{
    mto_error err = {0};
    mto_optim_config c;
    float p[2] = {0}, g[2] = {0};
    mto_param_view v = {"enc.w", p, g, 1, 2};
    mto_optim_config_default(&c, 7);
    ok(mto_optim_new(&c, &v, 1, &err) == NULL && err.code == MTO_EINVAL, "unknown kind refused: %s", err.msg);
    mto_optim_config_default(&c, MTO_OPT_ADAFACTOR);
    c.warmup_init = 1;
    ok(mto_optim_new(&c, &v, 1, &err) == NULL && strstr(err.msg, "relative_step"),
       "warmup_init without relative_step refused: %s", err.msg);
    mto_optim_config_default(&c, MTO_OPT_ADAMW);
    c.beta1 = 1.0f;
    ok(mto_optim_new(&c, &v, 1, &err) == NULL, "beta1 = 1 refused: %s", err.msg);
    mto_optim_config_default(&c, MTO_OPT_ADAMW);
    mto_param_view bad = {"dec.b", p, NULL, 1, 2};
    ok(mto_optim_new(&c, &bad, 1, &err) == NULL && strstr(err.msg, "dec.b"),
       "missing grad refused, naming the tensor: %s", err.msg);
    mto_param_view empty = {"e", p, g, 0, 2};
    ok(mto_optim_new(&c, &empty, 1, &err) == NULL && strstr(err.msg, "shape"), "empty shape refused: %s", err.msg);
    mto_optim *o = mto_optim_new(&c, &v, 1, &err);
    ok(mto_optim_step(o, NAN, &err) == MTO_EINVAL && mto_optim_steps(o) == 0,
       "NaN lr refused without stepping: %s", err.msg);
    mto_optim_free(o);
    mto_optim_free(NULL);
    mto_optim_config_default(&c, MTO_OPT_ADAFACTOR);
    ok(c.eps1 == 1e-30f && c.eps2 == 1e-3f && c.clip_threshold == 1.0f && c.decay_rate == -0.8f &&
       c.beta1_af == 0 && !c.relative_step && !c.scale_parameter && !c.warmup_init,
       "adafactor defaults are the T5 fine-tuning setting");
}

int main(void)
{
    const char *src = getenv("MTO_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/ref/optim_fixtures.txt", src ? src : MTO_SRCDIR);
    fx = fopen(path, "r");
    if (!fx) {
        printf("Bail out! cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    double worst = 0.0;
    int cases = 0;
    const char *t;
    while ((t = next())) {
        if (!strcmp(t, "case")) { run_case(&worst); cases++; }
        else if (!strcmp(t, "clip")) run_clip();
        else if (!strcmp(t, "schedule")) run_schedule();
        else { printf("Bail out! fixture: unexpected token %s\n", t); return 1; }
    }
    fclose(fx);
    ok(cases == 8, "all 8 optimizer cases read (%d)", cases);
    tap_diag("worst relative parameter error over all trajectories: %.3e", worst);
    hand_cases();
    error_cases();
    return tap_done();
}
