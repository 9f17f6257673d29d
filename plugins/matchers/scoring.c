/* scoring.c — the `scoring` matcher: the zero-shot method of DESIGN.md §5.
 * lua/mto/match.lua scores the pre-trained model on the task with every
 * candidate template (tail tokens only) and puts the maskability index in
 * the summary ("mi", with "ppl.prompting" / "ppl.masked_prompting" or the
 * pair it came from in "mi_pair"); this plugin turns it into a family:
 * filling when MI >= threshold (option, default 0.3), mapping otherwise.
 * Without a finite "mi" it has no opinion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/plugin.h"

typedef struct scoring_state { const mto_host *h; double threshold; } scoring_state;

static int scoring_create(const mto_host *h, const mto_options *o, void **state, mto_error *err)
{
    double t = h->opt_num(o, "threshold", 0.3);
    if (!isfinite(t)) return h->error(err, MTO_EINVAL, "scoring matcher: threshold must be a finite number");
    scoring_state *s = h->alloc(sizeof *s);
    if (!s) return h->error(err, MTO_ENOMEM, "scoring matcher: out of memory");
    s->h = h, s->threshold = t;
    *state = s;
    return 0;
}

static void scoring_destroy(void *state)
{
    scoring_state *s = state;
    if (s) s->h->free(s);
}

static int scoring_decide(void *state, const mto_record *task, mto_text *family, mto_text *why, mto_error *err)
{
    scoring_state *s = state;
    const mto_host *h = s->h;
    const char *v = h->record_get(task, "mi");
    char *end = NULL;
    double mi = v && *v ? strtod(v, &end) : NAN;
    if (!v || !*v || (end && *end) || !isfinite(mi))
        return h->text_append(why, "scoring: no maskability index (need a prompting/masked template pair)", (size_t)-1);
    const char *fam = mi >= s->threshold ? "filling" : "mapping";
    const char *pair = h->record_get(task, "mi_pair");
    char line[256];
    snprintf(line, sizeof line, "scoring: MI = %.3f %s %.2f%s%s", mi, mi >= s->threshold ? ">=" : "<", s->threshold,
             pair ? " from " : "", pair ? pair : "");
    if (h->text_append(family, fam, (size_t)-1) || h->text_append(why, line, (size_t)-1))
        return h->error(err, MTO_ENOMEM, "out of memory");
    return 0;
}

static const mto_matcher_ops scoring_ops = {sizeof(mto_matcher_ops), scoring_create, scoring_decide, scoring_destroy};

static const mto_plugin_desc scoring_desc = {MTO_PLUGIN_DESC_HEADER, MTO_KIND_MATCHER, "scoring", "1.0",
                                             "zero-shot maskability index (MI >= threshold -> filling)", &scoring_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &scoring_desc, err);
}
