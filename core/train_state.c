/* train_state.c — the resumable training state of mto_train (opts.checkpoint):
 * DIR/train-state.safetensors holds the trainable parameters ("param.NAME"), the
 * optimizer arena ("optim.state"), the early-stopping best copy ("best") and, in
 * __metadata__, the loop's counters: data-order position (epoch, next batch),
 * the engine's dropout counter (the RNG is counter-based: hash(seed, step, site),
 * so restoring the counter restores the stream), the optimizer step, patience,
 * best validation loss and the running loss sums (doubles as C99 hex floats, so
 * they round-trip exactly). A fingerprint of the run (examples, batch size,
 * seed, planned steps, parameter count, optimizer) refuses a directory written
 * by a different run. Written with mto_st_write: temp file + fsync + rename. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mto/alloc.h"
#include "mto/safetensors.h"
#include "train_state.h"

#define STATE_FORMAT "mto-train-state/1"
#define STATE_FILE "/train-state.safetensors"

static char *state_path(const char *dir)
{
    size_t n = strlen(dir);
    char *p = mto_malloc(n + sizeof STATE_FILE);
    if (p) { memcpy(p, dir, n); memcpy(p + n, STATE_FILE, sizeof STATE_FILE); }
    return p;
}

/* The run's identity: a checkpoint of another run must not be resumed. The number of
 * data-parallel processes is not part of it: the reduced gradients equal one process's up
 * to float rounding, so a job stopped at -np 8 may continue at -np 3 (not bit for bit). */
static void fingerprint(char *buf, size_t len, const mto_train_opts *o, size_t n, long total, size_t nv,
                        size_t numel, size_t nstate)
{
    snprintf(buf, len, "n=%zu nvalid=%zu batch=%d accum=%d seed=%" PRIu64 " total=%ld views=%zu numel=%zu "
             "optim=%d state=%zu", n, o->valid ? o->nvalid : 0, o->batch_size, o->grad_accum, o->seed, total,
             nv, numel, o->optim.kind, nstate);
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char *p = mto_strdup(dir);
    if (!p) { errno = ENOMEM; return -1; }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) { free(p); return -1; }
        *s = '/';
    }
    int rc = mkdir(p, 0777) < 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

int mto_train_state_save(const char *dir, const mto_train_opts *o, size_t n, long total, const mto_param_view *v,
                         size_t nv, mto_optim *opt, const float *best, size_t nbest, const mto_train_state *s,
                         mto_error *err)
{
    if (make_dirs(dir) < 0)
        return mto_error_set(err, MTO_EIO, "%.200s: cannot create the checkpoint directory: %s", dir, strerror(errno));
    size_t nt = nv + 2, numel = 0;
    mto_st_out *t = mto_calloc(nt, sizeof *t);
    int64_t *shape = mto_calloc(2 * nt, sizeof *shape);
    char **names = mto_calloc(nv ? nv : 1, sizeof *names);
    char *path = state_path(dir);
    int rc = 0;
    if (!t || !shape || !names || !path) { rc = mto_error_set(err, MTO_ENOMEM, "train checkpoint: out of memory"); goto out; }
    size_t k = 0;
    for (size_t i = 0; i < nv; i++, k++) {
        const char *nm = v[i].name ? v[i].name : "";
        size_t l = strlen(nm);
        if (!(names[i] = mto_malloc(l + 32))) { rc = mto_error_set(err, MTO_ENOMEM, "train checkpoint: out of memory"); goto out; }
        if (*nm) snprintf(names[i], l + 32, "param.%s", nm);
        else snprintf(names[i], l + 32, "param.#%zu", i);
        shape[2 * k] = (int64_t)v[i].rows, shape[2 * k + 1] = (int64_t)v[i].cols;
        t[k] = (mto_st_out){names[i], MTO_ST_F32, 2, &shape[2 * k], v[i].param};
        numel += v[i].rows * v[i].cols;
    }
    size_t nstate = mto_optim_state_floats(opt);
    shape[2 * k] = (int64_t)nstate;
    t[k] = (mto_st_out){"optim.state", MTO_ST_F32, 1, &shape[2 * k], mto_optim_state(opt)};
    k++;
    if (best && nbest) {
        shape[2 * k] = (int64_t)nbest;
        t[k] = (mto_st_out){"best", MTO_ST_F32, 1, &shape[2 * k], best};
        k++;
    }
    char fp[512], num[11][48];
    fingerprint(fp, sizeof fp, o, n, total, nv, numel, nstate);
    snprintf(num[0], sizeof num[0], "%ld", s->step);
    snprintf(num[1], sizeof num[1], "%ld", s->epoch);
    snprintf(num[2], sizeof num[2], "%ld", s->next_batch);
    snprintf(num[3], sizeof num[3], "%" PRIu64, s->engine_step);
    snprintf(num[4], sizeof num[4], "%ld", s->optim_step);
    snprintf(num[5], sizeof num[5], "%ld %ld %d %ld", s->epochs, s->examples, s->bad, s->best_step);
    snprintf(num[6], sizeof num[6], "%ld", s->epoch_steps);
    snprintf(num[7], sizeof num[7], "%a", s->first_loss);
    snprintf(num[8], sizeof num[8], "%a", s->epoch_loss);
    snprintf(num[9], sizeof num[9], "%a", s->best_valid_loss);
    snprintf(num[10], sizeof num[10], "%a", s->wall);
    const char *meta[] = {"format", STATE_FORMAT, "run", fp, "step", num[0], "epoch", num[1], "next_batch", num[2],
                          "engine_step", num[3], "optim_step", num[4], "counters", num[5], "epoch_steps", num[6],
                          "first_loss", num[7], "epoch_loss", num[8], "best_valid_loss", num[9], "wall", num[10],
                          NULL};
    rc = mto_st_write(path, t, k, meta, err);
out:
    if (names)
        for (size_t i = 0; i < nv; i++) free(names[i]);
    free(names);
    free(shape);
    free(t);
    free(path);
    return rc;
}

static int meta_long(const mto_st_file *f, const char *key, long *out)
{
    const char *s = mto_st_meta(f, key);
    char *end;
    if (!s) return -1;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = x;
    return 0;
}

static int meta_double(const mto_st_file *f, const char *key, double *out)
{
    const char *s = mto_st_meta(f, key);
    char *end;
    if (!s) return -1;
    double x = strtod(s, &end);
    if (end == s || *end) return -1;
    *out = x;
    return 0;
}

int mto_train_state_load(const char *dir, const mto_train_opts *o, size_t n, long total, const mto_param_view *v,
                         size_t nv, mto_optim *opt, float *best, size_t nbest, mto_train_state *s, int *found,
                         mto_error *err)
{
    *found = 0;
    char *path = state_path(dir);
    if (!path) return mto_error_set(err, MTO_ENOMEM, "train checkpoint: out of memory");
    if (access(path, F_OK) < 0) { free(path); return 0; } /* nothing saved yet: start from step 0 */
    mto_st_file *f = NULL;
    int rc = mto_st_open(path, &f, err);
    if (rc) { free(path); return rc; }
    const char *fmt = mto_st_meta(f, "format"), *run = mto_st_meta(f, "run");
    size_t numel = 0;
    for (size_t i = 0; i < nv; i++) numel += v[i].rows * v[i].cols;
    char fp[512];
    fingerprint(fp, sizeof fp, o, n, total, nv, numel, mto_optim_state_floats(opt));
    if (!fmt || strcmp(fmt, STATE_FORMAT) != 0) {
        rc = mto_error_set(err, MTO_EINVAL, "%.200s: not an mto training state (format %.40s)", path, fmt ? fmt : "missing");
        goto out;
    }
    if (!run || strcmp(run, fp) != 0) {
        rc = mto_error_set(err, MTO_EINVAL, "%.200s: written by a different training run (%.200s; this run: %.200s); "
                           "remove the directory to start over", path, run ? run : "?", fp);
        goto out;
    }
    memset(s, 0, sizeof *s);
    long es = 0, c_epochs = 0, c_ex = 0, c_best = 0, c_bad = 0;
    const char *cnt = mto_st_meta(f, "counters");
    int bad_meta = !cnt || sscanf(cnt, "%ld %ld %ld %ld", &c_epochs, &c_ex, &c_bad, &c_best) != 4;
    long estep = 0;
    bad_meta |= meta_long(f, "step", &s->step) || meta_long(f, "epoch", &s->epoch) ||
                meta_long(f, "next_batch", &s->next_batch) || meta_long(f, "engine_step", &estep) ||
                meta_long(f, "optim_step", &s->optim_step) || meta_long(f, "epoch_steps", &es) ||
                meta_double(f, "first_loss", &s->first_loss) || meta_double(f, "epoch_loss", &s->epoch_loss) ||
                meta_double(f, "best_valid_loss", &s->best_valid_loss) || meta_double(f, "wall", &s->wall);
    if (bad_meta || s->step < 0 || s->step > total || s->epoch < 0 || s->next_batch < 0 || estep < 0 || c_bad < 0) {
        rc = mto_error_set(err, MTO_EINVAL, "%.200s: damaged training-state metadata", path);
        goto out;
    }
    s->engine_step = (uint64_t)estep;
    s->epoch_steps = es;
    s->epochs = c_epochs, s->examples = c_ex, s->bad = (int)c_bad, s->best_step = c_best;
    for (size_t i = 0; i < nv && !rc; i++) {
        char name[300];
        if (v[i].name && *v[i].name) snprintf(name, sizeof name, "param.%s", v[i].name);
        else snprintf(name, sizeof name, "param.#%zu", i);
        const mto_st_tensor *t = mto_st_find(f, name);
        if (!t) rc = mto_error_set(err, MTO_EINVAL, "%.200s: tensor %.200s missing", path, name);
        else rc = mto_st_read_f32(f, t, v[i].param, v[i].rows * v[i].cols, err);
    }
    if (rc) goto out;
    const mto_st_tensor *t = mto_st_find(f, "optim.state");
    if (!t) { rc = mto_error_set(err, MTO_EINVAL, "%.200s: tensor optim.state missing", path); goto out; }
    if ((rc = mto_st_read_f32(f, t, mto_optim_state(opt), mto_optim_state_floats(opt), err))) goto out;
    mto_optim_set_steps(opt, s->optim_step);
    if (best && nbest && s->best_step >= 0) {
        if (!(t = mto_st_find(f, "best"))) { rc = mto_error_set(err, MTO_EINVAL, "%.200s: tensor best missing", path); goto out; }
        if ((rc = mto_st_read_f32(f, t, best, nbest, err))) goto out;
    }
    *found = 1;
out:
    mto_st_close(f);
    free(path);
    return rc;
}

int mto_train_state_remove(const char *dir)
{
    char *path = state_path(dir);
    if (!path) return -1;
    int rc = unlink(path) < 0 && errno != ENOENT ? -1 : 0;
    free(path);
    return rc;
}
