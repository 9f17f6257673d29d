/* qa.c — template families for multiple-choice QA records (question,
 * choice1..choiceN, answer; see tmpl.h). The input lists the choices as
 * "choice1: text choice2: text ..." after the question:
 *
 *   mc_mapping               Q choices                 -> choiceK
 *   answer_prompting         Q choices The answer is   -> answer text
 *   masked_answer_prompting  Q choices The answer is <extra_id_0>
 *                                                      -> <extra_id_0> answer text
 *   choice_prompting         Q choices The answer is   -> choiceK: answer text
 *   masked_choice_prompting  Q choices The answer is <extra_id_0>
 *                                                      -> <extra_id_0> choiceK: answer text
 *
 * Option answer_phrase replaces "The answer is" (may use {field}). With the
 * phrase set "paper" (option phrases = "paper") the input is worded as the MTO
 * paper's code builds it (attempt/data/tasks.py: CommonsenseQA.preprocessor and
 * QA.seq2seq_format with qpos = "end", rel_nat "The correct choice is "; its
 * " ".join of ["choice1:", text, ", ", ...] with runs of spaces as one):
 *   choice1: garage , choice2: fridge , choice3: shoe , question:Where do you keep milk?
 *   The correct choice is [<extra_id_0>]   (mc_mapping: no phrase) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phrases.h"
#include "tmpl.h"

#define QA_MAX_CHOICES 100

enum { QA_LABEL, QA_TEXT, QA_BOTH };

/* How many choices the record has: nchoices, or choice1, choice2, ... */
static int qa_count(const tmpl_state *s, const mto_record *rec, int *n, mto_error *err)
{
    const char *v = s->h->record_get(rec, "nchoices");
    char key[32];
    if (v) {
        char *end;
        long k = strtol(v, &end, 10);
        if (end == v || *end || k < 1 || k > QA_MAX_CHOICES)
            return s->h->error(err, MTO_EINVAL, "template %s: nchoices '%s' is not in 1..%d",
                               s->name, v, QA_MAX_CHOICES);
        *n = (int)k;
        return 0;
    }
    for (*n = 0; *n < QA_MAX_CHOICES; ++*n) {
        snprintf(key, sizeof key, "choice%d", *n + 1);
        if (!s->h->record_get(rec, key)) break;
    }
    if (*n == 0)
        return s->h->error(err, MTO_ENOTFOUND, "template %s: the record has no field 'choice1'",
                           s->name);
    return 0;
}

/* The gold choice, 1-based: "2", "B", "choice2" or the choice's text. */
static int qa_answer(const tmpl_state *s, const mto_record *rec, int n, int *k, mto_error *err)
{
    const char *a;
    int rc = tmpl_field(s, rec, "answer", &a, err);
    if (rc) return rc;
    char *end;
    long v = -1;
    if (isdigit((unsigned char)a[0])) {
        v = strtol(a, &end, 10);
        if (*end) v = -1;
    } else if (isalpha((unsigned char)a[0]) && !a[1]) {
        v = toupper((unsigned char)a[0]) - 'A' + 1;
    } else if (strncmp(a, "choice", 6) == 0 && isdigit((unsigned char)a[6])) {
        v = strtol(a + 6, &end, 10);
        if (*end) v = -1;
    }
    if (v >= 1 && v <= n) {
        *k = (int)v;
        return 0;
    }
    char key[32];
    for (int i = 1; i <= n; i++) {
        snprintf(key, sizeof key, "choice%d", i);
        const char *c = s->h->record_get(rec, key);
        if (c && strcmp(c, a) == 0) {
            *k = i;
            return 0;
        }
    }
    return s->h->error(err, MTO_EINVAL,
                       "template %s: answer '%s' names none of the %d choices (use 1..%d, a "
                       "letter, choiceK or a choice's text)",
                       s->name, a, n, n);
}

static int qa_render(void *state, const mto_record *rec, mto_text *input, mto_text *target,
                     mto_error *err)
{
    const tmpl_state *s = state;
    const mto_host *h = s->h;
    int masked = (s->flags & MTO_TEMPLATE_MASKED) != 0, n = 0, k = 1;
    char key[32], label[48];
    int rc = qa_count(s, rec, &n, err);
    if (rc == 0) rc = qa_answer(s, rec, n, &k, err);
    int paper = s->set == PHRASE_SET_PAPER;
    if (rc == 0) rc = tmpl_prefix(s, rec, input, err);
    if (rc == 0 && !paper) rc = tmpl_expand(s, rec, "{question}", input, err);
    for (int i = 1; i <= n && rc == 0; i++) {
        const char *c;
        snprintf(key, sizeof key, "choice%d", i);
        snprintf(label, sizeof label, paper ? "choice%d: " : " choice%d: ", i);
        rc = tmpl_field(s, rec, key, &c, err);
        if (rc == 0 && (tmpl_put(s, input, label) || tmpl_put(s, input, c))) rc = MTO_ENOMEM;
        if (rc == 0 && paper && tmpl_put(s, input, " , ")) rc = MTO_ENOMEM;
    }
    if (rc == 0 && paper) rc = tmpl_expand(s, rec, "question:{question}", input, err);
    if (rc == 0 && s->variant != QA_LABEL && *s->answer_phrase) {
        if (tmpl_put(s, input, " ")) rc = MTO_ENOMEM;
        if (rc == 0) rc = tmpl_expand(s, rec, s->answer_phrase, input, err);
    }
    if (rc == 0 && masked && tmpl_put(s, input, " " TMPL_MASK)) rc = MTO_ENOMEM;
    if (rc == 0 && masked && tmpl_put(s, target, TMPL_MASK " ")) rc = MTO_ENOMEM;
    snprintf(key, sizeof key, "choice%d", k);
    snprintf(label, sizeof label, s->variant == QA_BOTH ? "choice%d: " : "choice%d", k);
    if (rc == 0 && s->variant != QA_TEXT && tmpl_put(s, target, label)) rc = MTO_ENOMEM;
    if (rc == 0 && s->variant != QA_LABEL) {
        const char *c = h->record_get(rec, key);
        if (tmpl_put(s, target, c)) rc = MTO_ENOMEM;
    }
    if (rc == MTO_ENOMEM) return h->error(err, rc, "template %s: out of memory", s->name);
    return rc;
}

static int qa_create(const mto_host *h, const mto_options *o, void **state, mto_error *err,
                     const char *name, uint32_t flags, int variant)
{
    tmpl_state *s;
    int rc = tmpl_create(h, o, name, flags, &s, err);
    if (rc) return rc;
    s->variant = variant;
    *state = s;
    return 0;
}

static int qa_create_mc_mapping(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return qa_create(h, o, st, err, "mc_mapping", 0, QA_LABEL);
}
static int qa_create_answer(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return qa_create(h, o, st, err, "answer_prompting", 0, QA_TEXT);
}
static int qa_create_masked_answer(const mto_host *h, const mto_options *o, void **st,
                                   mto_error *err)
{
    return qa_create(h, o, st, err, "masked_answer_prompting", MTO_TEMPLATE_MASKED, QA_TEXT);
}
static int qa_create_choice(const mto_host *h, const mto_options *o, void **st, mto_error *err)
{
    return qa_create(h, o, st, err, "choice_prompting", 0, QA_BOTH);
}
static int qa_create_masked_choice(const mto_host *h, const mto_options *o, void **st,
                                   mto_error *err)
{
    return qa_create(h, o, st, err, "masked_choice_prompting", MTO_TEMPLATE_MASKED, QA_BOTH);
}

#define QA_OPS(create_fn, flags) \
    {sizeof(mto_template_ops), (flags), create_fn, qa_render, tmpl_destroy_state}

static const mto_template_ops qa_mc_mapping_ops = QA_OPS(qa_create_mc_mapping, 0);
static const mto_template_ops qa_answer_ops = QA_OPS(qa_create_answer, 0);
static const mto_template_ops qa_masked_answer_ops =
    QA_OPS(qa_create_masked_answer, MTO_TEMPLATE_MASKED);
static const mto_template_ops qa_choice_ops = QA_OPS(qa_create_choice, 0);
static const mto_template_ops qa_masked_choice_ops =
    QA_OPS(qa_create_masked_choice, MTO_TEMPLATE_MASKED);

static const mto_plugin_desc qa_descs[] = {
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "mc_mapping", "1.0",
     "QA: question + choices -> choiceK", &qa_mc_mapping_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "answer_prompting", "1.0",
     "QA: question + choices + 'The answer is' -> answer text", &qa_answer_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "masked_answer_prompting", "1.0",
     "QA: ... The answer is <extra_id_0> -> <extra_id_0> answer text", &qa_masked_answer_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "choice_prompting", "1.0",
     "QA: ... The answer is -> choiceK: answer text", &qa_choice_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, "masked_choice_prompting", "1.0",
     "QA: ... The answer is <extra_id_0> -> <extra_id_0> choiceK: answer text",
     &qa_masked_choice_ops},
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    for (size_t i = 0; i < sizeof qa_descs / sizeof qa_descs[0]; i++) {
        int rc = host->register_plugin(reg, &qa_descs[i], err);
        if (rc) return rc;
    }
    return 0;
}
