/* batching.c — epoch plans (which examples go in which batch, in what order)
 * and padded batch buffers.
 *
 * Bucketing by length keeps padding low without making batches predictable:
 * shuffle everything, sort by length only inside chunks of 50 batches, then
 * shuffle the order of the batches. Everything derives from (seed, epoch). */
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "mto/host.h"
#include "mto/train.h"

enum { CHUNK_BATCHES = 50 };

typedef struct { size_t idx; int src, tgt; } keyed;

static int by_length(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->src != y->src) return x->src < y->src ? -1 : 1;
    if (x->tgt != y->tgt) return x->tgt < y->tgt ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* total order: qsort is not stable */
}

static uint64_t mix(uint64_t seed, long epoch)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void shuffle(mto_rng *r, size_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mto_rng_below(r, i);
        size_t t = v[i - 1]; v[i - 1] = v[j]; v[j] = t;
    }
}

int mto_batch_plan_make(mto_batch_plan *p, const mto_example *ex, size_t n, int batch_size,
                        uint64_t seed, long epoch, mto_error *err)
{
    memset(p, 0, sizeof *p);
    if (batch_size < 1) return mto_error_set(err, MTO_EINVAL, "batch plan: batch_size %d < 1", batch_size);
    if (n == 0) return mto_error_set(err, MTO_EINVAL, "batch plan: no examples");
    size_t bs = (size_t)batch_size, nb = (n + bs - 1) / bs;
    p->order = mto_malloc(n * sizeof *p->order);
    p->start = mto_malloc((nb + 1) * sizeof *p->start);
    keyed *k = mto_malloc(n * sizeof *k);
    size_t *border = mto_malloc(nb * sizeof *border), *tmp = mto_malloc(n * sizeof *tmp);
    if (!p->order || !p->start || !k || !border || !tmp) {
        free(k); free(border); free(tmp);
        mto_batch_plan_free(p);
        return mto_error_set(err, MTO_ENOMEM, "batch plan: out of memory for %zu examples", n);
    }
    mto_rng r;
    mto_rng_seed(&r, mix(seed, epoch));
    for (size_t i = 0; i < n; i++) p->order[i] = i;
    shuffle(&r, p->order, n);
    for (size_t i = 0; i < n; i++) k[i] = (keyed){p->order[i], ex[p->order[i]].src_len, ex[p->order[i]].tgt_len};
    size_t chunk = bs * CHUNK_BATCHES;
    for (size_t c = 0; c < n; c += chunk)
        qsort(k + c, n - c < chunk ? n - c : chunk, sizeof *k, by_length);
    for (size_t i = 0; i < n; i++) tmp[i] = k[i].idx;
    /* batches are consecutive runs of bs in tmp; shuffle their order */
    for (size_t b = 0; b < nb; b++) border[b] = b;
    shuffle(&r, border, nb);
    size_t at = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t s = border[b] * bs, e = s + bs < n ? s + bs : n;
        p->start[b] = at;
        memcpy(p->order + at, tmp + s, (e - s) * sizeof *tmp);
        at += e - s;
    }
    p->start[nb] = at;
    p->n = n;
    p->nbatches = nb;
    free(k); free(border); free(tmp);
    return 0;
}

void mto_batch_plan_free(mto_batch_plan *p)
{
    free(p->order);
    free(p->start);
    memset(p, 0, sizeof *p);
}

/* Length after truncation to max (0 = none). */
static int trunc_len(int len, int max) { return max > 0 && len > max ? max : len; }

/* Copy ids truncated to len; a truncated sequence that ended with eos keeps it. */
static void put(int32_t *dst, const int32_t *src, int full, int len, int pad, int T)
{
    memcpy(dst, src, (size_t)len * sizeof *dst);
    if (len < full && len > 0 && src[full - 1] == MTO_T5_EOS) dst[len - 1] = MTO_T5_EOS;
    for (int t = len; t < T; t++) dst[t] = pad;
}

static int grow(int32_t **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    int32_t *q = mto_realloc(*p, need * sizeof *q);
    if (!q) return -1;
    *p = q;
    *cap = need;
    return 0;
}

int mto_batch_fill(mto_batch_buf *buf, const mto_example *ex, const size_t *idx, size_t k,
                   int max_src_len, int max_tgt_len, mto_error *err)
{
    int Ts = 1, Tt = 1;
    for (size_t i = 0; i < k; i++) {
        const mto_example *e = &ex[idx[i]];
        if (e->src_len < 1 || e->tgt_len < 1 || !e->src || !e->tgt)
            return mto_error_set(err, MTO_EINVAL, "example %zu: empty source or target", idx[i] + 1);
        int s = trunc_len(e->src_len, max_src_len), t = trunc_len(e->tgt_len, max_tgt_len);
        Ts = s > Ts ? s : Ts;
        Tt = t > Tt ? t : Tt;
    }
    if (grow(&buf->src, &buf->cap_src, k * (size_t)Ts) || grow(&buf->labels, &buf->cap_lab, k * (size_t)Tt))
        return mto_error_set(err, MTO_ENOMEM, "batch of %zu x (%d, %d): out of memory", k, Ts, Tt);
    for (size_t i = 0; i < k; i++) {
        const mto_example *e = &ex[idx[i]];
        put(buf->src + i * Ts, e->src, e->src_len, trunc_len(e->src_len, max_src_len), MTO_T5_PAD, Ts);
        put(buf->labels + i * Tt, e->tgt, e->tgt_len, trunc_len(e->tgt_len, max_tgt_len), MTO_T5_IGNORE, Tt);
    }
    buf->b = (mto_t5_batch){(int)k, Ts, Tt, buf->src, buf->labels};
    return 0;
}

void mto_batch_buf_free(mto_batch_buf *buf)
{
    free(buf->src);
    free(buf->labels);
    memset(buf, 0, sizeof *buf);
}
