/* noise.h — what the denoising objectives share: T5's random-span noise mask
 * and the rewrite of noise spans into sentinels. Compiled into each objective
 * plugin that needs it (the symbols stay inside that .so), so every plugin is
 * still built against core/mto/plugin.h alone. */
#ifndef MTO_OBJ_NOISE_H
#define MTO_OBJ_NOISE_H

#include "mto/plugin.h"

/* Uniform integer in [0, n) from the host's generator (n >= 1). */
size_t noise_below(const mto_host *h, mto_rng *rng, size_t n);

/* T5's random_spans_noise_mask: mark round(len*density) tokens (clamped to
 * [1, len-1]) as noise in max(1, round(noise/mean_span)) spans, span and gap
 * lengths drawn as random segmentations, gaps first. With roll != 0 the
 * pattern is rotated by a uniform offset (T5's random_roll) so a short text
 * does not always end in noise. Spans are capped so that at most max_spans
 * sentinels are needed. mask[len] receives 0/1. */
int noise_span_mask(const mto_host *h, mto_rng *rng, size_t len, double density, double mean_span,
                    int roll, size_t max_spans, unsigned char *mask, mto_error *err);

/* Number of maximal runs of 1s in mask[0..len). */
size_t noise_count_spans(const unsigned char *mask, size_t len);

/* input = text with each noise run replaced by the next sentinel;
 * target = sentinel, run, sentinel, run, ..., eos. */
int noise_to_sentinels(const mto_host *h, const mto_objective_io *io, const unsigned char *mask,
                       mto_ids *input, mto_ids *target, mto_error *err);

/* Check density / mean_span options; fills err naming the plugin. */
int noise_check_params(const mto_host *h, const char *plugin, double density, double mean_span,
                       mto_error *err);

#endif
