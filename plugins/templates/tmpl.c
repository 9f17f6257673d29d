/* tmpl.c — the template plugins' shared engine (see tmpl.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "phrases.h"
#include "tmpl.h"

static char *dup_n(const mto_host *h, const char *s, size_t n)
{
    char *d = h->alloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int add_override(tmpl_state *s, const char *rel, size_t nrel, const char *phrase,
                        size_t nphrase, mto_error *err)
{
    const mto_host *h = s->h;
    tmpl_phrase *o = h->realloc(s->over, (s->nover + 1) * sizeof *o);
    if (!o) return h->error(err, MTO_ENOMEM, "template %s: out of memory", s->name);
    s->over = o;
    o[s->nover].relation = dup_n(h, rel, nrel);
    o[s->nover].phrase = dup_n(h, phrase, nphrase);
    s->nover++;
    if (!o[s->nover - 1].relation || !o[s->nover - 1].phrase)
        return h->error(err, MTO_ENOMEM, "template %s: out of memory", s->name);
    return 0;
}

/* "REL=phrase|REL2=phrase2" */
static int parse_phrases(tmpl_state *s, const char *list, mto_error *err)
{
    while (*list) {
        const char *end = strchr(list, '|');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        const char *eq = memchr(list, '=', n);
        if (n > 0) {
            if (!eq || eq == list)
                return s->h->error(err, MTO_EINVAL,
                                   "template %s: option phrases: \"%.*s\" is not RELATION=phrase",
                                   s->name, (int)n, list);
            int rc = add_override(s, list, (size_t)(eq - list), eq + 1, n - (size_t)(eq - list) - 1,
                                  err);
            if (rc) return rc;
        }
        list += n + (end != NULL);
    }
    return 0;
}

static int opt_dup(tmpl_state *s, const mto_options *o, const char *key, const char *dflt,
                   char **out, mto_error *err)
{
    const char *v = s->h->opt_str(o, key, dflt);
    *out = NULL;
    if (!v) return 0;
    *out = dup_n(s->h, v, strlen(v));
    return *out ? 0 : s->h->error(err, MTO_ENOMEM, "template %s: out of memory", s->name);
}

int tmpl_create(const mto_host *h, const mto_options *o, const char *name, uint32_t flags,
                tmpl_state **out, mto_error *err)
{
    *out = NULL;
    if (h->opt_num(o, "masked", 0.0) != 0.0 && !(flags & MTO_TEMPLATE_MASKED))
        return h->error(err, MTO_EINVAL,
                        "template %s has no mask slot (" TMPL_MASK "), so it cannot serve a "
                        "masked objective; use %s%s",
                        name, strcmp(name, "mc_mapping") ? "masked_" : "masked_answer_prompting",
                        strcmp(name, "mc_mapping") ? name : "");
    tmpl_state *s = h->alloc(sizeof *s);
    if (!s) return h->error(err, MTO_ENOMEM, "template %s: out of memory", name);
    memset(s, 0, sizeof *s);
    s->h = h;
    s->name = name;
    s->flags = flags;
    /* option phrases without '=' names a phrase set */
    const char *list = h->opt_str(o, "phrases", NULL);
    int rc = 0;
    if (list && !strchr(list, '=')) {
        if (strcmp(list, "paper") == 0) s->set = PHRASE_SET_PAPER;
        else if (strcmp(list, "mto") == 0 || strcmp(list, "default") == 0) s->set = PHRASE_SET_MTO;
        else
            rc = h->error(err, MTO_EINVAL,
                          "template %s: option phrases: \"%s\" is not RELATION=phrase|... nor a "
                          "phrase set (\"mto\" or \"paper\")",
                          name, list);
        list = NULL;
    }
    int paper = s->set == PHRASE_SET_PAPER;
    s->with_phrase = h->opt_num(o, "with_phrase", paper ? 1.0 : 0.0) != 0.0;
    int task = h->opt_num(o, "task_prefix", 0.0) != 0.0;
    if (rc == 0) rc = opt_dup(s, o, "prefix", task ? "{relation}: " : NULL, &s->prefix, err);
    if (rc == 0) rc = opt_dup(s, o, "phrase", NULL, &s->phrase, err);
    if (rc == 0)
        rc = opt_dup(s, o, "answer_phrase", paper ? "The correct choice is" : "The answer is",
                     &s->answer_phrase, err);
    char key[96];
    for (size_t i = 0; rc == 0 && i < phrase_table_len; i++) {
        snprintf(key, sizeof key, "phrase.%s", phrase_table[i].relation);
        const char *v = h->opt_str(o, key, NULL);
        if (v) rc = add_override(s, phrase_table[i].relation, strlen(phrase_table[i].relation), v,
                                 strlen(v), err);
    }
    if (rc == 0 && list) rc = parse_phrases(s, list, err);
    if (rc) {
        tmpl_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tmpl_destroy(tmpl_state *s)
{
    if (!s) return;
    const mto_host *h = s->h;
    for (size_t i = 0; i < s->nover; i++) {
        h->free(s->over[i].relation);
        h->free(s->over[i].phrase);
    }
    h->free(s->over);
    h->free(s->prefix);
    h->free(s->phrase);
    h->free(s->answer_phrase);
    h->free(s);
}

const char *tmpl_where(const tmpl_state *s, const mto_record *rec, char *buf, size_t cap)
{
    const char *line = s->h->record_get(rec, "line"); /* readers record the source line */
    if (!line) return "";
    snprintf(buf, cap, " from line %.20s", line);
    return buf;
}

int tmpl_field(const tmpl_state *s, const mto_record *rec, const char *field, const char **value,
               mto_error *err)
{
    char w[48];
    *value = s->h->record_get(rec, field);
    if (!*value)
        return s->h->error(err, MTO_ENOTFOUND, "template %s: the record%s has no field '%s'",
                           s->name, tmpl_where(s, rec, w, sizeof w), field);
    return 0;
}

int tmpl_put(const tmpl_state *s, mto_text *out, const char *str)
{
    return s->h->text_append(out, str, (size_t)-1) ? MTO_ENOMEM : 0;
}

int tmpl_expand(const tmpl_state *s, const mto_record *rec, const char *fmt, mto_text *out,
                mto_error *err)
{
    const mto_host *h = s->h;
    const char *lit = fmt, *p = fmt;
    char name[64];
    while (*p) {
        if (*p != '{') {
            p++;
            continue;
        }
        const char *q = p + 1;
        while (isalnum((unsigned char)*q) || *q == '_' || *q == '.') q++;
        size_t n = (size_t)(q - p - 1);
        if (*q != '}' || n == 0 || n >= sizeof name) { /* not a placeholder: literal '{' */
            p++;
            continue;
        }
        memcpy(name, p + 1, n);
        name[n] = 0;
        const char *v;
        int rc = tmpl_field(s, rec, name, &v, err);
        if (rc) return rc;
        if (h->text_append(out, lit, (size_t)(p - lit)) || h->text_append(out, v, (size_t)-1))
            return h->error(err, MTO_ENOMEM, "template %s: out of memory", s->name);
        p = lit = q + 1;
    }
    if (h->text_append(out, lit, (size_t)(p - lit)))
        return h->error(err, MTO_ENOMEM, "template %s: out of memory", s->name);
    return 0;
}

int tmpl_prefix(const tmpl_state *s, const mto_record *rec, mto_text *out, mto_error *err)
{
    return s->prefix ? tmpl_expand(s, rec, s->prefix, out, err) : 0;
}

int tmpl_phrase_for(const tmpl_state *s, const mto_record *rec, const char **phrase,
                    mto_error *err)
{
    if (s->phrase) {
        *phrase = s->phrase;
        return 0;
    }
    const char *rel;
    int rc = tmpl_field(s, rec, "relation", &rel, err);
    if (rc) return rc;
    for (size_t i = 0; i < s->nover; i++)
        if (phrase_same_relation(s->over[i].relation, rel)) {
            *phrase = s->over[i].phrase;
            return 0;
        }
    char w[48];
    *phrase = phrase_lookup_set(s->set, rel);
    if (!*phrase)
        return s->h->error(err, MTO_ENOTFOUND,
                           "template %s: unknown relation '%s'%s has no phrase%s (give one with "
                           "option phrase.%s, or phrases=\"%s=...\")",
                           s->name, rel, tmpl_where(s, rec, w, sizeof w),
                           s->set == PHRASE_SET_PAPER ? " in the phrase set \"paper\"" : "", rel, rel);
    return 0;
}

int tmpl_sentence(const tmpl_state *s, const mto_record *rec, mto_text *out, mto_error *err)
{
    const char *phrase;
    int rc = tmpl_phrase_for(s, rec, &phrase, err);
    if (rc) return rc;
    if (strstr(phrase, "{head}")) return tmpl_expand(s, rec, phrase, out, err);
    rc = tmpl_expand(s, rec, "{head}", out, err);
    if (rc == 0 && *phrase) {
        if (tmpl_put(s, out, " "))
            return s->h->error(err, MTO_ENOMEM, "template %s: out of memory", s->name);
        rc = tmpl_expand(s, rec, phrase, out, err);
    }
    return rc;
}

int tmpl_render_triple(void *state, const mto_record *rec, mto_text *input, mto_text *target,
                       mto_error *err)
{
    const tmpl_state *s = state;
    int masked = (s->flags & MTO_TEMPLATE_MASKED) != 0;
    int rc = tmpl_prefix(s, rec, input, err);
    if (rc == 0)
        rc = s->with_phrase ? tmpl_sentence(s, rec, input, err)
                            : tmpl_expand(s, rec, "{head}", input, err);
    if (rc == 0 && masked && tmpl_put(s, input, " " TMPL_MASK)) rc = MTO_ENOMEM;
    if (rc == 0 && masked && tmpl_put(s, target, TMPL_MASK " ")) rc = MTO_ENOMEM;
    if (rc == 0) rc = tmpl_expand(s, rec, "{tail}", target, err);
    if (rc == MTO_ENOMEM) return s->h->error(err, rc, "template %s: out of memory", s->name);
    return rc;
}

void tmpl_destroy_state(void *state) { tmpl_destroy(state); }
