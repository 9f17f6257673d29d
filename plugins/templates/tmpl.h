/* tmpl.h — what the template plugins share: options, {field} expansion,
 * relation phrases. Compiled into each template .so (symbols stay inside).
 *
 * Record fields the templates read (readers produce them):
 *   triples   head, relation, tail
 *   QA        question, choice1 .. choiceN (contiguous from 1), optional
 *             nchoices = N, answer = the gold choice as a 1-based number
 *             ("2"), a letter ("B"), a label ("choice2") or the choice text
 * Any {field} in a prefix or phrase is filled from the record; a field the
 * record lacks is an error naming the template and the field.
 *
 * Options every template takes:
 *   prefix        text put before the input ("xIntent: ", may use {field})
 *   task_prefix   1: prefix = "{relation}: "
 *   phrase        one phrase for every relation (overrides the table)
 *   phrase.REL    the phrase for relation REL (table relations)
 *   phrases       "REL=phrase|REL2=phrase2": phrases for any relation; or the
 *                 name of a phrase set: "mto" (the default) or "paper" (the
 *                 MTO paper code's wording, phrases.c; relations it lacks are
 *                 an error). "paper" also makes prompt tuning keep the phrase
 *                 (with_phrase defaults to 1), and QA read
 *                 "choice1: A , choice2: B , question:Q The correct choice is"
 *   masked        1: demand a mask slot (an error for unmasked templates)
 *   with_phrase   1: prompt-tuning templates keep the relation phrase
 * QA templates also take answer_phrase ("The answer is"; set "paper": "The
 * correct choice is"). */
#ifndef MTO_TMPL_H
#define MTO_TMPL_H

#include "mto/plugin.h"

#define TMPL_MASK "<extra_id_0>"

typedef struct tmpl_phrase {
    char *relation, *phrase;
} tmpl_phrase;

typedef struct tmpl_state {
    const mto_host *h;
    const char *name;     /* template name, for messages */
    uint32_t flags;       /* MTO_TEMPLATE_* of this template */
    char *prefix;         /* NULL: none */
    char *phrase;         /* NULL: per relation */
    char *answer_phrase;  /* QA */
    int with_phrase;      /* render the relation phrase after the head */
    int variant;          /* a family's own switch (QA: which target) */
    int set;              /* PHRASE_SET_* (phrases.h) */
    tmpl_phrase *over;    /* per-relation overrides */
    size_t nover;
} tmpl_state;

/* Read the common options into a new state. */
int tmpl_create(const mto_host *h, const mto_options *o, const char *name, uint32_t flags,
                tmpl_state **out, mto_error *err);
void tmpl_destroy(tmpl_state *s);

/* " from line N" when the record carries its source line, else "". */
const char *tmpl_where(const tmpl_state *s, const mto_record *rec, char *buf, size_t cap);

/* A field that must be present (error names the template and the field). */
int tmpl_field(const tmpl_state *s, const mto_record *rec, const char *field, const char **value,
               mto_error *err);

/* Append fmt with each {field} replaced by the record's value. A '{' that
 * does not open a {name} of letters, digits, '_' or '.' is kept as is. */
int tmpl_expand(const tmpl_state *s, const mto_record *rec, const char *fmt, mto_text *out,
                mto_error *err);

/* Append a literal string. */
int tmpl_put(const tmpl_state *s, mto_text *out, const char *str);

/* Append the prefix option (expanded), if any. */
int tmpl_prefix(const tmpl_state *s, const mto_record *rec, mto_text *out, mto_error *err);

/* The phrase for the record's relation: override, then table; error if none. */
int tmpl_phrase_for(const tmpl_state *s, const mto_record *rec, const char **phrase,
                    mto_error *err);

/* Append head joined with the relation's phrase ("{head} is a kind of"). */
int tmpl_sentence(const tmpl_state *s, const mto_record *rec, mto_text *out, mto_error *err);

/* Render a triple: [prefix] head [phrase if with_phrase] [" <extra_id_0>"]
 * -> ["<extra_id_0> "] tail. The mto_template_ops.render of every triple
 * family (mapping, prompting, prompt tuning; masked or not). */
int tmpl_render_triple(void *state, const mto_record *rec, mto_text *input, mto_text *target,
                       mto_error *err);

/* mto_template_ops.destroy for a tmpl_state. */
void tmpl_destroy_state(void *state);

#endif
