/* train.c — the training loop (see mto/train.h), evaluation loss and batched
 * decoding. One optimizer step = grad_accum micro-batches; the loss of each is
 * checked for NaN/Inf before its backward, so a diverging run stops with an
 * error naming the step instead of silently writing NaN parameters. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mto/alloc.h"
#include "mto/matmul.h"
#include "mto/train.h"
#include "train_state.h"

/* A stop request from a signal handler (the CLI's SIGTERM): the loop ends after the
 * step in progress, saving a training state first when opts.checkpoint is set. */
static volatile sig_atomic_t stop_requested, training;
void mto_train_request_stop(void) { stop_requested = 1; }
int mto_train_active(void) { return training; }

void mto_train_opts_default(mto_train_opts *o)
{
    memset(o, 0, sizeof *o);
    mto_optim_config_default(&o->optim, MTO_OPT_ADAMW);
    o->lr = 1e-3f;
    o->schedule = MTO_LR_CONSTANT;
    o->epochs = 1;
    o->batch_size = 8;
    o->grad_accum = 1;
    o->clip = 1.0f;
    o->patience = 3;
    o->dropout = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

mto_param_view *mto_train_views(mto_t5 *m, size_t *n, mto_error *err)
{
    if (!m->grads && mto_t5_zero_grad(m, err)) return NULL;
    mto_param_view *v = mto_calloc(m->nparams ? m->nparams : 1, sizeof *v);
    if (!v) { mto_error_set(err, MTO_ENOMEM, "parameter views: out of memory"); return NULL; }
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *p = &m->table[i];
        int mat = p->ndim == 2;
        v[i] = (mto_param_view){p->name, m->params + p->offset, m->grads + p->offset,
                                mat ? (size_t)p->shape[0] : 1, mat ? (size_t)p->shape[1] : p->numel};
    }
    *n = m->nparams;
    return v;
}

mto_t5 *mto_train_clone_model(const mto_t5 *m, mto_error *err)
{
    mto_t5 *c = mto_t5_new(&m->cfg, m->seed, err);
    if (!c) return NULL;
    memcpy(c->params, m->params, m->numel * sizeof *c->params);
    c->step = m->step;
    return c;
}

/* ---- best-parameter snapshots over a view list ---------------------------- */

static size_t views_numel(const mto_param_view *v, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++) s += v[i].rows * v[i].cols;
    return s;
}

static void snapshot(float *dst, const mto_param_view *v, size_t n, int restore)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = v[i].rows * v[i].cols;
        if (restore) memcpy(v[i].param, dst, k * sizeof *dst);
        else memcpy(dst, v[i].param, k * sizeof *dst);
        dst += k;
    }
    if (restore) mto_weights_changed();
}

static void scale_grads(const mto_param_view *v, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0, k = v[i].rows * v[i].cols; j < k; j++) v[i].grad[j] *= s;
}

/* Data parallelism: the target tokens of a whole micro-batch ex[idx[0..k)) as the
 * engine counts them (labels not ignored, after truncation). Every process computes
 * it from the common plan, so no message is needed before the backward. */
static long batch_tokens(const mto_example *ex, const size_t *idx, size_t k, int max_tgt_len)
{
    long t = 0;
    for (size_t i = 0; i < k; i++) {
        const mto_example *e = &ex[idx[i]];
        int len = max_tgt_len > 0 && e->tgt_len > max_tgt_len ? max_tgt_len : e->tgt_len;
        for (int j = 0; j < len; j++) t += e->tgt[j] != MTO_T5_IGNORE;
    }
    return t;
}

static int check_opts(const mto_t5 *m, const mto_train_opts *o, size_t n, mto_error *err)
{
    if (n == 0) return mto_error_set(err, MTO_EINVAL, "train: no examples");
    if (o->batch_size < 1) return mto_error_set(err, MTO_EINVAL, "train: batch_size %d < 1", o->batch_size);
    if (o->grad_accum < 1) return mto_error_set(err, MTO_EINVAL, "train: grad_accum %d < 1", o->grad_accum);
    if (o->max_steps <= 0 && o->epochs < 1)
        return mto_error_set(err, MTO_EINVAL, "train: need epochs >= 1 or max_steps >= 1 (epochs %d, max_steps %ld)",
                             o->epochs, o->max_steps);
    if (!(o->lr >= 0) || !isfinite(o->lr)) return mto_error_set(err, MTO_EINVAL, "train: lr %g is not a valid rate", o->lr);
    if (o->max_src_len < 0 || o->max_tgt_len < 0 || o->warmup_steps < 0 || o->patience < 0 || o->eval_every < 0)
        return mto_error_set(err, MTO_EINVAL, "train: negative length, warmup, patience or eval_every");
    if (o->params && o->nparams == 0) return mto_error_set(err, MTO_EINVAL, "train: empty trainable-parameter list");
    if (o->reduce && (o->dp_size < 1 || o->dp_rank < 0 || o->dp_rank >= o->dp_size))
        return mto_error_set(err, MTO_EINVAL, "train: data-parallel rank %d of %d", o->dp_rank, o->dp_size);
    if (m->frozen && !o->params)
        return mto_error_set(err, MTO_EINVAL, "train: the model is frozen (prompt tuning); give the trainable views");
    return 0;
}

/* Everything the loop owns, freed in one place. */
typedef struct loop {
    mto_param_view *own_views;
    mto_optim *opt;
    float *best;
    mto_batch_plan plan;
    mto_batch_buf buf;
} loop;

static void loop_free(loop *l)
{
    free(l->own_views);
    mto_optim_free(l->opt);
    free(l->best);
    mto_batch_plan_free(&l->plan);
    mto_batch_buf_free(&l->buf);
}

/* Validation: returns 1 when patience ran out. */
static int validate(mto_t5 *m, const mto_train_opts *o, loop *l, const mto_param_view *v, size_t nv,
                    long step, mto_train_result *res, int *bad, mto_error *err, int *rc)
{
    double vl;
    *rc = mto_eval_loss(m, o->valid, o->nvalid, o->batch_size, o->max_src_len, o->max_tgt_len, &vl, err);
    if (*rc) return 1;
    if (isfinite(vl) && (res->best_valid_loss < 0 || vl < res->best_valid_loss - o->min_delta)) {
        res->best_valid_loss = vl;
        res->best_step = step;
        snapshot(l->best, v, nv, 0);
        *bad = 0;
        return 0;
    }
    return o->patience > 0 && ++*bad >= o->patience;
}

int mto_train(mto_t5 *m, const mto_example *ex, size_t n, const mto_train_opts *o,
              mto_train_result *res, mto_error *err)
{
    mto_train_result r0;
    if (!res) res = &r0;
    memset(res, 0, sizeof *res);
    res->best_valid_loss = -1;
    res->best_step = -1;
    int rc = check_opts(m, o, n, err);
    if (rc) return rc;
    loop l;
    memset(&l, 0, sizeof l);
    /* a frozen model's backward never touches the gradient arena: no need to allocate or clear it */
    if (!m->frozen && (rc = mto_t5_zero_grad(m, err))) return rc;
    const mto_param_view *v = o->params;
    size_t nv = o->nparams;
    if (!v && !(v = l.own_views = mto_train_views(m, &nv, err))) return err ? err->code : MTO_ENOMEM;
    mto_optim_config oc = o->optim;
    if (!oc.kind) mto_optim_config_default(&oc, MTO_OPT_ADAMW);
    if (!(l.opt = mto_optim_new(&oc, v, nv, err))) { loop_free(&l); return err ? err->code : MTO_ENOMEM; }
    int has_valid = o->valid && o->nvalid > 0;
    if (has_valid && !(l.best = mto_malloc(views_numel(v, nv) * sizeof *l.best))) {
        loop_free(&l);
        return mto_error_set(err, MTO_ENOMEM, "train: no memory for the best-parameter copy");
    }

    size_t bs = (size_t)o->batch_size, nb = (n + bs - 1) / bs, acc = (size_t)o->grad_accum;
    long steps_per_epoch = (long)((nb + acc - 1) / acc);
    long total = o->max_steps > 0 ? o->max_steps : steps_per_epoch * o->epochs;
    mto_lr_schedule sched = {o->schedule, o->lr, o->warmup_steps, total};
    m->seed = o->seed; /* the dropout stream, so a rerun repeats bit for bit */
    m->step = 0;
    double t0 = now(), epoch_loss = 0;
    long step = 0, epoch_steps = 0, start_epoch = 0;
    size_t start_b = 0, nbest = has_valid ? views_numel(v, nv) : 0;
    int bad = 0, stop = 0, resumed = 0;
    mto_train_state st;
    memset(&st, 0, sizeof st);
    if (o->checkpoint) { /* continue where a previous (killed) call left off */
        if ((rc = mto_train_state_load(o->checkpoint, o, n, total, v, nv, l.opt, l.best, nbest, &st, &resumed, err)))
            goto out;
        if (resumed) {
            mto_weights_changed(); /* the parameters were read back */
            step = st.step, start_epoch = st.epoch, start_b = (size_t)st.next_batch;
            m->step = st.engine_step;
            epoch_loss = st.epoch_loss, epoch_steps = st.epoch_steps, bad = st.bad;
            res->steps = step, res->epochs = (int)st.epochs, res->examples = st.examples;
            res->first_loss = (float)st.first_loss, res->best_valid_loss = st.best_valid_loss;
            res->best_step = st.best_step, res->resumed_from = step;
            if (epoch_steps > 0) res->final_loss = (float)(epoch_loss / (double)epoch_steps);
            t0 -= st.wall;
        }
    }
    double every_s = o->checkpoint_secs > 0 ? o->checkpoint_secs : (o->checkpoint_every > 0 ? 0 : 600), last_save = now();
    training = 1;

    for (long epoch = start_epoch; !stop && (o->max_steps > 0 || epoch < o->epochs); epoch++) {
        int cont = resumed && epoch == start_epoch; /* the epoch the checkpoint was taken in */
        mto_batch_plan_free(&l.plan);
        if ((rc = mto_batch_plan_make(&l.plan, ex, n, o->batch_size, o->seed, epoch, err))) goto out;
        if (!cont) {
            res->epochs++;
            epoch_loss = 0;
            epoch_steps = 0;
        }
        for (size_t b = cont ? start_b : 0; b < nb && !stop; b += acc) {
            if (o->cancel && *o->cancel) { res->cancelled = 1; stop = 1; break; }
            if (!m->frozen && (rc = mto_t5_zero_grad(m, err))) goto out;
            if (o->params) scale_grads(v, nv, 0.0f); /* external views (soft prompts) */
            double loss = 0;
            size_t k = 0;
            for (; k < acc && b + k < nb; k++) {
                const size_t *idx = l.plan.order + l.plan.start[b + k];
                size_t cnt = l.plan.start[b + k + 1] - l.plan.start[b + k], all = cnt;
                if (o->reduce) { /* this process's contiguous slice of the micro-batch */
                    size_t lo = all * (size_t)o->dp_rank / (size_t)o->dp_size;
                    cnt = all * (size_t)(o->dp_rank + 1) / (size_t)o->dp_size - lo;
                    if (cnt == 0) { res->examples += (long)all; continue; }
                    idx += lo;
                }
                if ((rc = mto_batch_fill(&l.buf, ex, idx, cnt, o->max_src_len, o->max_tgt_len, err))) goto out;
                if ((rc = mto_t5_forward(m, &l.buf.b, o->dropout, err))) {
                    if (rc == MTO_ENUMERIC && o->reduce) { /* every rank must reach the reduce: fail together after it */
                        rc = 0;
                        loss = NAN;
                        res->examples += (long)all;
                        continue;
                    }
                    if (rc == MTO_ENUMERIC && err) { /* the engine's own NaN check: add where it happened */
                        char why[MTO_ERROR_MSG_MAX];
                        memcpy(why, err->msg, sizeof why);
                        mto_error_set(err, rc, "train: step %ld (epoch %ld, batch %zu): %s", step + 1, epoch + 1,
                                      b + k + 1, why);
                    }
                    goto out;
                }
                if (!isfinite(m->loss)) {
                    rc = mto_error_set(err, MTO_ENUMERIC, "train: loss is %s at step %ld (epoch %ld, batch %zu)",
                                       isnan(m->loss) ? "NaN" : "Inf", step + 1, epoch + 1, b + k + 1);
                    goto out;
                }
                double w = 1;
                if (o->reduce) { /* the backward seeds 1/ntok: use the whole batch's count */
                    long ntok = batch_tokens(ex, l.plan.order + l.plan.start[b + k], all, o->max_tgt_len);
                    w = ntok > 0 ? (double)m->ntok / (double)ntok : 0;
                    m->ntok = (int)ntok;
                }
                if ((rc = mto_t5_backward(m, err))) goto out;
                loss += m->loss * w;
                res->examples += (long)all;
            }
            if (o->reduce) { /* sum the slices' gradients and losses over the processes */
                double sc[1] = {loss};
                if ((rc = o->reduce(o->reduce_ud, v, nv, sc, 1, err))) goto out;
                loss = sc[0];
                if (!isfinite(loss)) {
                    rc = mto_error_set(err, MTO_ENUMERIC, "train: loss is %s at step %ld (epoch %ld, data parallel)",
                                       isnan(loss) ? "NaN" : "Inf", step + 1, epoch + 1);
                    goto out;
                }
            }
            if (k > 1) scale_grads(v, nv, 1.0f / (float)k);
            float norm = o->clip > 0 ? mto_grad_clip(v, nv, o->clip) : mto_grad_global_norm(v, nv);
            if (!isfinite(norm)) {
                rc = mto_error_set(err, MTO_ENUMERIC, "train: gradient norm is %s at step %ld (epoch %ld)",
                                   isnan(norm) ? "NaN" : "Inf", step + 1, epoch + 1);
                goto out;
            }
            if ((rc = mto_optim_step(l.opt, mto_lr_at(&sched, step), err))) goto out;
            step++;
            loss /= (double)k;
            if (step == 1) res->first_loss = (float)loss;
            epoch_loss += loss;
            epoch_steps++;
            res->steps = step;
            res->final_loss = (float)(epoch_loss / (double)epoch_steps);
            if (o->progress) o->progress(o->progress_ud, step, total, (float)loss, now() - t0);
            if (o->max_steps > 0 && step >= o->max_steps) stop = 1;
            if (has_valid && (stop || (o->eval_every > 0 && step % o->eval_every == 0))) {
                if (validate(m, o, &l, v, nv, step, res, &bad, err, &rc)) {
                    if (rc) goto out;
                    res->stopped_early = !stop;
                    stop = 1;
                }
            }
            int halt = stop_requested && !stop;
            if (o->checkpoint && !stop && (!o->reduce || o->dp_rank == 0) &&
                (halt || (o->checkpoint_every > 0 && step % o->checkpoint_every == 0) ||
                 (every_s > 0 && now() - last_save >= every_s))) {
                st = (mto_train_state){step, epoch, (long)(b + acc), m->step, mto_optim_steps(l.opt), res->epochs,
                                       res->examples, res->best_step, epoch_steps, bad, res->first_loss,
                                       epoch_loss, res->best_valid_loss, now() - t0};
                if ((rc = mto_train_state_save(o->checkpoint, o, n, total, v, nv, l.opt, l.best,
                                               res->best_step >= 0 ? nbest : 0, &st, err)))
                    goto out;
                res->checkpoints++;
                last_save = now();
            }
            if (halt) { /* SIGTERM (a time limit): stop here, the state above is the place to resume */
                stop_requested = 0;
                res->cancelled = 1;
                stop = 1;
            }
        }
        if (has_valid && !stop && o->eval_every == 0 && validate(m, o, &l, v, nv, step, res, &bad, err, &rc)) {
            if (rc) goto out;
            res->stopped_early = 1;
            stop = 1;
        }
    }
    if (has_valid && res->best_step >= 0) snapshot(l.best, v, nv, 1);
out:
    training = 0;
    res->wall = now() - t0;
    loop_free(&l);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------ */

typedef struct { size_t idx; int len; } bylen;

static int cmp_len(const void *a, const void *b)
{
    const bylen *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Indices of ex sorted by source length (so batches pad little); malloc'ed. */
static size_t *sorted_by_src(const mto_example *ex, size_t n)
{
    bylen *k = mto_malloc((n ? n : 1) * sizeof *k);
    size_t *idx = mto_malloc((n ? n : 1) * sizeof *idx);
    if (!k || !idx) { free(k); free(idx); return NULL; }
    for (size_t i = 0; i < n; i++) k[i] = (bylen){i, ex[i].src_len};
    qsort(k, n, sizeof *k, cmp_len);
    for (size_t i = 0; i < n; i++) idx[i] = k[i].idx;
    free(k);
    return idx;
}

int mto_eval_loss(mto_t5 *m, const mto_example *ex, size_t n, int batch_size, int max_src_len,
                  int max_tgt_len, double *loss, mto_error *err)
{
    if (n == 0) return mto_error_set(err, MTO_EINVAL, "eval_loss: no examples");
    size_t bs = batch_size > 0 ? (size_t)batch_size : 16;
    size_t *idx = sorted_by_src(ex, n);
    if (!idx) return mto_error_set(err, MTO_ENOMEM, "eval_loss: out of memory");
    mto_batch_buf buf;
    memset(&buf, 0, sizeof buf);
    double sum = 0;
    long ntok = 0;
    int rc = 0;
    for (size_t s = 0; s < n && !rc; s += bs) {
        size_t k = n - s < bs ? n - s : bs;
        if (!(rc = mto_batch_fill(&buf, ex, idx + s, k, max_src_len, max_tgt_len, err)) &&
            !(rc = mto_t5_forward(m, &buf.b, 0, err))) {
            sum += (double)m->loss * m->ntok;
            ntok += m->ntok;
        }
    }
    mto_batch_buf_free(&buf);
    free(idx);
    if (rc) return rc;
    if (ntok == 0) return mto_error_set(err, MTO_EINVAL, "eval_loss: no target tokens");
    *loss = sum / (double)ntok;
    return 0;
}

int mto_predict(mto_t5 *m, const mto_example *ex, size_t n, int batch_size, int max_src_len,
                const mto_t5_gen_opts *gen, int32_t *out, int *out_len, mto_error *err)
{
    if (n == 0) return 0;
    if (!gen || gen->max_len < 1) return mto_error_set(err, MTO_EINVAL, "predict: max_len must be >= 1");
    size_t bs = batch_size > 0 ? (size_t)batch_size : 16, L = (size_t)gen->max_len;
    size_t *idx = sorted_by_src(ex, n);
    int32_t *tmp = mto_malloc(bs * L * sizeof *tmp), *src = NULL;
    int *len = mto_malloc(bs * sizeof *len);
    if (!idx || !tmp || !len) {
        free(idx); free(tmp); free(len);
        return mto_error_set(err, MTO_ENOMEM, "predict: out of memory");
    }
    int rc = 0;
    size_t cap = 0;
    for (size_t s = 0; s < n && !rc; s += bs) {
        size_t k = n - s < bs ? n - s : bs;
        int Ts = 1;
        for (size_t i = 0; i < k; i++) {
            const mto_example *e = &ex[idx[s + i]];
            if (e->src_len < 1 || !e->src) { rc = mto_error_set(err, MTO_EINVAL, "predict: source %zu is empty", idx[s + i] + 1); break; }
            int sl = max_src_len > 0 && e->src_len > max_src_len ? max_src_len : e->src_len;
            Ts = sl > Ts ? sl : Ts;
        }
        if (rc) break;
        if (k * (size_t)Ts > cap) {
            int32_t *p = mto_realloc(src, k * (size_t)Ts * sizeof *p);
            if (!p) { rc = mto_error_set(err, MTO_ENOMEM, "predict: out of memory"); break; }
            src = p;
            cap = k * (size_t)Ts;
        }
        for (size_t i = 0; i < k; i++) {
            const mto_example *e = &ex[idx[s + i]];
            int sl = max_src_len > 0 && e->src_len > max_src_len ? max_src_len : e->src_len;
            memcpy(src + i * Ts, e->src, (size_t)sl * sizeof *src);
            if (sl < e->src_len && e->src[e->src_len - 1] == MTO_T5_EOS) src[i * Ts + sl - 1] = MTO_T5_EOS;
            for (int t = sl; t < Ts; t++) src[i * Ts + t] = MTO_T5_PAD;
        }
        if ((rc = mto_t5_generate(m, src, (int)k, Ts, gen, tmp, len, NULL, err))) break;
        for (size_t i = 0; i < k; i++) {
            memcpy(out + idx[s + i] * L, tmp + i * L, L * sizeof *out);
            out_len[idx[s + i]] = len[i];
        }
    }
    free(idx); free(tmp); free(len); free(src);
    return rc;
}
