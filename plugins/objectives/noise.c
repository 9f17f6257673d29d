/* noise.c — T5's random-span noise mask and the noise-to-sentinel rewrite,
 * shared by span_corruption, iid_denoising and salient_span.
 *
 * The mask follows T5's random_spans_noise_mask (text-to-text-transfer-
 * transformer, preprocessors.py), rounding like numpy (half to even, in
 * double precision), with the degeneracy guard Hugging Face added (no more
 * spans than gap tokens). One deliberate addition, also from T5: `roll`
 * rotates the finished pattern by a uniform offset. Without it every text
 * ends in a noise span, which on short sentences masks little but the final
 * token; with it each position is noise with the same probability. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "noise.h"

size_t noise_below(const mto_host *h, mto_rng *rng, size_t n)
{
    if (n <= 1) return 0;
    /* rejection sampling: no modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n, x;
    do x = h->rng_u64(rng); while (x >= limit);
    return (size_t)(x % (uint64_t)n);
}

/* T5's _random_segmentation: split n items into k non-empty segments, each
 * of the C(n-1, k-1) splits equally likely. flags is scratch of n bytes. */
static void random_segmentation(const mto_host *h, mto_rng *rng, size_t n, size_t k,
                                unsigned char *flags, size_t *len)
{
    /* flags[i] = 1: item i+1 starts a new segment; k-1 of the n-1 gaps, shuffled */
    for (size_t i = 0; i + 1 < n; i++) flags[i] = i + 1 < k;
    for (size_t i = n - 1; i > 1; i--) { /* Fisher-Yates over n-1 entries */
        size_t j = noise_below(h, rng, i);
        unsigned char t = flags[i - 1];
        flags[i - 1] = flags[j];
        flags[j] = t;
    }
    size_t seg = 0;
    memset(len, 0, k * sizeof *len);
    len[0] = 1;
    for (size_t i = 0; i + 1 < n; i++) {
        if (flags[i]) seg++;
        len[seg]++;
    }
}

int noise_check_params(const mto_host *h, const char *plugin, double density, double mean_span,
                       mto_error *err)
{
    if (!(density > 0.0 && density < 1.0))
        return h->error(err, MTO_EINVAL, "%s: option density must be in (0, 1), got %g", plugin,
                        density);
    if (!(mean_span >= 1.0 && mean_span < 1e9))
        return h->error(err, MTO_EINVAL, "%s: option mean_span must be >= 1, got %g", plugin,
                        mean_span);
    return 0;
}

int noise_span_mask(const mto_host *h, mto_rng *rng, size_t len, double density, double mean_span,
                    int roll, size_t max_spans, unsigned char *mask, mto_error *err)
{
    if (len == 0) return 0;
    size_t cap = max_spans > (size_t)(roll != 0) ? max_spans - (roll != 0) : 0;
    if (cap == 0)
        return h->error(err, MTO_EINVAL, "span mask: %zu sentinel(s) are too few", max_spans);
    /* T5 pads a 1-token text to 2 so both kinds exist, then truncates */
    size_t L = len < 2 ? 2 : len;
    double nn = rint((double)L * density);
    size_t noise = nn < 1 ? 1 : (size_t)nn;
    if (noise > L - 1) noise = L - 1;
    size_t gaps = L - noise;
    double ns = rint((double)noise / mean_span);
    size_t spans = ns < 1 ? 1 : (size_t)ns;
    if (spans > noise) spans = noise;
    if (spans > gaps) spans = gaps;
    if (spans > cap) spans = cap;

    size_t *seg = h->alloc(2 * spans * sizeof *seg);
    unsigned char *scratch = h->alloc(2 * L);
    if (!seg || !scratch) {
        h->free(seg);
        h->free(scratch);
        return h->error(err, MTO_ENOMEM, "span mask: out of memory for %zu tokens", len);
    }
    size_t *noise_len = seg, *gap_len = seg + spans;
    unsigned char *m = scratch + L;
    random_segmentation(h, rng, noise, spans, scratch, noise_len);
    random_segmentation(h, rng, gaps, spans, scratch, gap_len);
    size_t pos = 0;
    for (size_t i = 0; i < spans; i++) { /* gap first, then noise: ends in noise */
        for (size_t j = 0; j < gap_len[i]; j++) m[pos++] = 0;
        for (size_t j = 0; j < noise_len[i]; j++) m[pos++] = 1;
    }
    size_t off = roll ? noise_below(h, rng, L) : 0;
    for (size_t i = 0; i < L; i++) {
        size_t to = (i + off) % L;
        if (to < len) mask[to] = m[i];
    }
    h->free(seg);
    h->free(scratch);
    return 0;
}

size_t noise_count_spans(const unsigned char *mask, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += mask[i] && (i == 0 || !mask[i - 1]);
    return n;
}

int noise_to_sentinels(const mto_host *h, const mto_objective_io *io, const unsigned char *mask,
                       mto_ids *input, mto_ids *target, mto_error *err)
{
    size_t spans = noise_count_spans(mask, io->text_len);
    if (spans > (size_t)(io->n_sentinels > 0 ? io->n_sentinels : 0))
        return h->error(err, MTO_EINVAL, "%zu noise spans need more than the %d sentinels available",
                        spans, (int)io->n_sentinels);
    int32_t next = io->sentinel0;
    int rc = 0;
    for (size_t i = 0; i < io->text_len && rc == 0; i++) {
        if (!mask[i]) {
            rc = h->ids_push(input, io->text[i]);
            continue;
        }
        if (i == 0 || !mask[i - 1]) { /* a run starts: one sentinel on both sides */
            rc = h->ids_push(input, next);
            if (rc == 0) rc = h->ids_push(target, next);
            next--;
        }
        if (rc == 0) rc = h->ids_push(target, io->text[i]);
    }
    if (rc == 0) rc = h->ids_push(target, io->eos_id);
    if (rc) return h->error(err, MTO_ENOMEM, "denoising: out of memory");
    return 0;
}
