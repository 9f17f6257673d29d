/* rules.c — the `rules` matcher: a hand-written relation -> family table.
 *
 * Options:
 *   table    path of a TSV file "relation<TAB>family" ('#' comments) that
 *            replaces the built-in table (plugins/matchers/rules.tsv is a copy
 *            of it to start from)
 *   rules    "REL=family|REL=family" overrides on top (from Lua: rules = {REL = "filling"})
 *   default  family for relations the table does not name (default: no opinion)
 * Families are "filling" and "mapping". decide() reads the summary's "relation"
 * and says which table line decided. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mto/plugin.h"

/* Keep in step with rules.tsv (tests/match_rules.lua checks they agree). */
static const char builtin_table[] =
    "xIntent mapping\nxNeed mapping\nxAttr mapping\nxEffect mapping\nxReact mapping\n"
    "xWant mapping\noEffect mapping\noReact mapping\noWant mapping\n"
    "ObjectUse filling\nAtLocation filling\nMadeUpOf filling\nHasProperty filling\n"
    "CapableOf filling\nDesires filling\nNotDesires filling\n"
    "isAfter mapping\nisBefore mapping\nHasSubEvent mapping\nHinderedBy mapping\n"
    "Causes mapping\nxReason mapping\nisFilledBy filling\n"
    "hypernym filling\nhyponym filling\npart_holonym filling\npart_meronym filling\n"
    "member_holonym filling\nmember_meronym filling\nsubstance_holonym filling\n"
    "substance_meronym filling\nantonym filling\ndefinition mapping\n";

typedef struct rule {
    char relation[64];
    char family[8];
    char origin[192]; /* "built-in table", "FILE:LINE", "option rules" */
} rule;

typedef struct rules_state {
    const mto_host *h;
    rule *r;
    size_t n, cap;
    char dflt[8];
} rules_state;

/* Relation names compare without case and ignoring '_', '-' and ' ' (as the template phrases do). */
static int next_sig(const char **s)
{
    while (**s == '_' || **s == '-' || **s == ' ') (*s)++;
    return **s ? tolower((unsigned char)*(*s)++) : 0;
}

static int same_relation(const char *a, const char *b)
{
    for (;;) {
        int x = next_sig(&a), y = next_sig(&b);
        if (x != y) return 0;
        if (x == 0) return 1;
    }
}

static int valid_family(const char *f, size_t n)
{
    return (n == 7 && !strncmp(f, "filling", 7)) || (n == 7 && !strncmp(f, "mapping", 7));
}

/* Add or replace the rule for relation[0..rn). */
static int put_rule(rules_state *s, const char *rel, size_t rn, const char *fam, size_t fn, const char *origin,
                    mto_error *err)
{
    if (rn == 0 || rn >= sizeof s->r->relation)
        return s->h->error(err, MTO_EFORMAT, "%s: relation name empty or longer than 63 bytes", origin);
    if (!valid_family(fam, fn))
        return s->h->error(err, MTO_EFORMAT, "%s: family '%.*s' for %.*s is not filling or mapping", origin,
                           (int)fn, fam, (int)rn, rel);
    char name[64];
    memcpy(name, rel, rn);
    name[rn] = 0;
    rule *r = NULL;
    for (size_t i = 0; i < s->n && !r; i++)
        if (same_relation(s->r[i].relation, name)) r = &s->r[i];
    if (!r) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 64;
            rule *p = s->h->realloc(s->r, cap * sizeof *p);
            if (!p) return s->h->error(err, MTO_ENOMEM, "rules matcher: out of memory");
            s->r = p, s->cap = cap;
        }
        r = &s->r[s->n++];
    }
    memcpy(r->relation, name, rn + 1);
    memcpy(r->family, fam, fn);
    r->family[fn] = 0;
    snprintf(r->origin, sizeof r->origin, "%s", origin);
    return 0;
}

/* Parse "relation<whitespace>family" lines; where names the source for messages. */
static int parse_table(rules_state *s, const char *text, const char *where, mto_error *err)
{
    int line = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        if (!eol) eol = p + strlen(p);
        line++;
        const char *a = p;
        while (a < eol && isspace((unsigned char)*a)) a++;
        if (a < eol && *a != '#') {
            const char *ae = a;
            while (ae < eol && !isspace((unsigned char)*ae)) ae++;
            const char *f = ae;
            while (f < eol && isspace((unsigned char)*f)) f++;
            const char *fe = eol;
            while (fe > f && isspace((unsigned char)fe[-1])) fe--;
            char origin[192];
            snprintf(origin, sizeof origin, "%s:%d", where, line);
            if (f == fe) return s->h->error(err, MTO_EFORMAT, "%s: expected 'relation<TAB>family'", origin);
            int rc = put_rule(s, a, (size_t)(ae - a), f, (size_t)(fe - f), origin, err);
            if (rc) return rc;
        }
        p = *eol ? eol + 1 : eol;
    }
    return 0;
}

static int load_file(rules_state *s, const char *path, mto_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return s->h->error(err, MTO_EIO, "rules matcher: cannot open table %s", path);
    size_t cap = 4096, n = 0;
    char *buf = s->h->alloc(cap);
    int rc = buf ? 0 : s->h->error(err, MTO_ENOMEM, "rules matcher: out of memory");
    while (rc == 0) {
        if (n + 1 >= cap) {
            char *p = cap < (64u << 20) ? s->h->realloc(buf, cap * 2) : NULL;
            if (!p) { rc = s->h->error(err, MTO_ENOMEM, "%s: table too large", path); break; }
            buf = p, cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) break;
    }
    if (rc == 0 && ferror(f)) rc = s->h->error(err, MTO_EIO, "%s: read error", path);
    fclose(f);
    if (rc == 0) {
        buf[n] = 0;
        if (strlen(buf) != n) rc = s->h->error(err, MTO_EFORMAT, "%s: contains a NUL byte", path);
        else rc = parse_table(s, buf, path, err);
    }
    s->h->free(buf);
    return rc;
}

/* "REL=family|REL=family" */
static int parse_overrides(rules_state *s, const char *list, mto_error *err)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, '|');
        if (!end) end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq) return s->h->error(err, MTO_EFORMAT, "rules matcher: option rules: \"%.*s\" is not REL=family", (int)(end - p), p);
        int rc = put_rule(s, p, (size_t)(eq - p), eq + 1, (size_t)(end - eq - 1), "option rules", err);
        if (rc) return rc;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static void rules_destroy(void *state)
{
    rules_state *s = state;
    if (!s) return;
    s->h->free(s->r);
    s->h->free(s);
}

static int rules_create(const mto_host *h, const mto_options *o, void **state, mto_error *err)
{
    rules_state *s = h->alloc(sizeof *s);
    if (!s) return h->error(err, MTO_ENOMEM, "rules matcher: out of memory");
    memset(s, 0, sizeof *s);
    s->h = h;
    const char *path = h->opt_str(o, "table", NULL), *over = h->opt_str(o, "rules", NULL);
    const char *dflt = h->opt_str(o, "default", NULL);
    int rc = path && *path ? load_file(s, path, err) : parse_table(s, builtin_table, "built-in table", err);
    if (rc == 0 && over) rc = parse_overrides(s, over, err);
    if (rc == 0 && dflt && *dflt) {
        if (!valid_family(dflt, strlen(dflt)))
            rc = h->error(err, MTO_EINVAL, "rules matcher: option default '%s' is not filling or mapping", dflt);
        else snprintf(s->dflt, sizeof s->dflt, "%s", dflt);
    }
    if (rc) { rules_destroy(s); return rc; }
    *state = s;
    return 0;
}

static int rules_decide(void *state, const mto_record *task, mto_text *family, mto_text *why, mto_error *err)
{
    rules_state *s = state;
    const mto_host *h = s->h;
    const char *rel = h->record_get(task, "relation");
    char line[320];
    if (!rel || !*rel) {
        if (!s->dflt[0]) return h->text_append(why, "rules: the task names no relation", (size_t)-1);
        snprintf(line, sizeof line, "rules: no relation, default %s", s->dflt);
        if (h->text_append(family, s->dflt, (size_t)-1)) return h->error(err, MTO_ENOMEM, "out of memory");
        return h->text_append(why, line, (size_t)-1);
    }
    for (size_t i = 0; i < s->n; i++)
        if (same_relation(s->r[i].relation, rel)) {
            snprintf(line, sizeof line, "rules: %s -> %s (%s)", rel, s->r[i].family, s->r[i].origin);
            if (h->text_append(family, s->r[i].family, (size_t)-1) || h->text_append(why, line, (size_t)-1))
                return h->error(err, MTO_ENOMEM, "out of memory");
            return 0;
        }
    if (s->dflt[0]) {
        snprintf(line, sizeof line, "rules: %s not in the table, default %s", rel, s->dflt);
        if (h->text_append(family, s->dflt, (size_t)-1)) return h->error(err, MTO_ENOMEM, "out of memory");
    } else {
        snprintf(line, sizeof line, "rules: %s not in the table (no opinion)", rel);
    }
    return h->text_append(why, line, (size_t)-1);
}

static const mto_matcher_ops rules_ops = {sizeof(mto_matcher_ops), rules_create, rules_decide, rules_destroy};

static const mto_plugin_desc rules_desc = {MTO_PLUGIN_DESC_HEADER, MTO_KIND_MATCHER, "rules", "1.0",
                                           "relation -> family from an editable table (rules.tsv)", &rules_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &rules_desc, err);
}
