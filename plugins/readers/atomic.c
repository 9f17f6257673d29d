/* atomic.c — the `atomic` reader: ATOMIC-2020 triples from TSV.
 *
 * Two layouts, told apart by the first line:
 *   - the original release: `head<TAB>relation<TAB>tail`, no header;
 *   - the MTO paper's split files: a header `prefix<TAB>input_text<TAB>target_text`
 *     (any header naming the three columns is accepted, in any order).
 * Tails that are empty or the literal "none" (the original release marks missing
 * inferences that way) are skipped and counted ("empty_tails", "none_tails").
 * Options: relations (comma list, case-insensitive), max_rows. */
#include <stdlib.h>
#include <string.h>

#include "rd_common.h"

/* ATOMIC-2020's 23 relations and their group (Hwang et al. 2021, Table 1). */
static const struct { const char *name, *group; } atomic_rel[] = {
    {"ObjectUse", "physical"}, {"AtLocation", "physical"}, {"MadeUpOf", "physical"},
    {"HasProperty", "physical"}, {"CapableOf", "physical"}, {"Desires", "physical"},
    {"NotDesires", "physical"},
    {"isAfter", "event"}, {"HasSubEvent", "event"}, {"isBefore", "event"},
    {"HinderedBy", "event"}, {"Causes", "event"}, {"xReason", "event"},
    {"isFilledBy", "event"},
    {"xNeed", "social"}, {"xAttr", "social"}, {"xEffect", "social"}, {"xReact", "social"},
    {"xWant", "social"}, {"xIntent", "social"}, {"oEffect", "social"}, {"oReact", "social"},
    {"oWant", "social"},
};
#define N_ATOMIC_REL (sizeof atomic_rel / sizeof atomic_rel[0])

static const char *atomic_group(const char *rel)
{
    for (size_t i = 0; i < N_ATOMIC_REL; i++)
        if (rd_streq_ci(atomic_rel[i].name, rel)) return atomic_rel[i].group;
    return NULL;
}

/* Column index of the first header name in `names` found in cols, or -1. */
static int header_col(char **cols, const char *const *names)
{
    for (; *names; names++)
        for (int c = 0; c < 3; c++)
            if (rd_streq_ci(cols[c], *names)) return c;
    return -1;
}

static const char *const head_names[] = {"input_text", "head", "head_event", "source", NULL};
static const char *const rel_names[] = {"prefix", "relation", "rel", NULL};
static const char *const tail_names[] = {"target_text", "tail", "tail_event", "target", NULL};

/* Is this first row a header? Any cell naming a known column makes it one. */
static int is_header(char **cols)
{
    return header_col(cols, head_names) >= 0 || header_col(cols, rel_names) >= 0 ||
           header_col(cols, tail_names) >= 0;
}

int rd_atomic_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                    mto_record_sink *sink, mto_error *err)
{
    rd_line ln = {0};
    rd_list rels;
    int rc = rd_list_parse(&rels, h->opt_str(o, "relations", NULL));
    if (rc) return h->error(err, rc, "%s: out of memory", path);
    double max_rows = h->opt_num(o, "max_rows", 0);
    long emitted = 0;
    int ch = 0, cr = 1, ct = 2; /* column of head, relation, tail */
    rd_line_limit(h, o, &ln);

    while ((rc = rd_getline(f, &ln, 0)) == 1) {
        char *line = ln.buf, *cols[3];
        if (ln.lineno == 1 && (unsigned char)line[0] == 0xef &&
            (unsigned char)line[1] == 0xbb && (unsigned char)line[2] == 0xbf)
            line += 3; /* UTF-8 byte order mark */
        if (strspn(line, " \t") == strlen(line)) continue; /* blank lines carry nothing */
        if (!rd_utf8_valid(line, strlen(line))) {
            rc = h->error(err, MTO_EFORMAT, "%s:%ld: invalid UTF-8", path, ln.lineno);
            goto out;
        }
        size_t n = rd_split(line, '\t', cols, 3);
        if (n != 3) {
            rc = h->error(err, MTO_EFORMAT, "%s:%ld: expected 3 tab-separated columns, found %zu",
                          path, ln.lineno, n);
            goto out;
        }
        for (int c = 0; c < 3; c++) cols[c] = rd_trim(cols[c]);
        if (ln.lineno == 1 && is_header(cols)) {
            ch = header_col(cols, head_names);
            cr = header_col(cols, rel_names);
            ct = header_col(cols, tail_names);
            if (ch < 0 || cr < 0 || ct < 0 || ch == cr || ch == ct || cr == ct) {
                rc = h->error(err, MTO_EFORMAT,
                              "%s:1: header must name a head (input_text), relation (prefix) "
                              "and tail (target_text) column, found \"%s\", \"%s\", \"%s\"",
                              path, cols[0], cols[1], cols[2]);
                goto out;
            }
            continue;
        }
        const char *head = cols[ch], *rel = cols[cr], *tail = cols[ct];
        if (!*head || !*rel) {
            rc = h->error(err, MTO_EFORMAT, "%s:%ld: empty %s column", path, ln.lineno,
                          *head ? "relation" : "head");
            goto out;
        }
        if (rels.n) {
            long k = rd_list_find(&rels, rel);
            if (k < 0) continue;
            rels.hits[k]++;
        }
        if (!*tail) { h->sink_count(sink, "empty_tails", 1); continue; }
        if (rd_streq_ci(tail, "none")) { h->sink_count(sink, "none_tails", 1); continue; }
        if (max_rows > 0 && emitted >= (long)max_rows) continue;

        char lineno[24];
        snprintf(lineno, sizeof lineno, "%ld", ln.lineno);
        const char *group = atomic_group(rel);
        const char *kv[] = {"head", head, "relation", rel, "tail", tail, "line", lineno,
                            "group", group};
        if ((rc = rd_emit(h, sink, kv, group ? 5 : 4, err))) goto out;
        emitted++;
    }
    if (rc < 0) {
        rc = rd_line_error(h, err, rc, path, &ln);
        goto out;
    }
    /* A filter naming a relation that is neither in ATOMIC-2020 nor in the file
     * is almost certainly a typo: say so rather than return nothing. */
    for (size_t i = 0; i < rels.n; i++) {
        if (rels.hits[i] == 0 && !atomic_group(rels.items[i])) {
            char known[512] = "";
            for (size_t k = 0; k < N_ATOMIC_REL; k++) {
                strncat(known, k ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, atomic_rel[k].name, sizeof known - strlen(known) - 1);
            }
            rc = h->error(err, MTO_EINVAL,
                          "%s: unknown relation '%s' in relations filter (not in the file, "
                          "and not an ATOMIC-2020 relation: %s)", path, rels.items[i], known);
            goto out;
        }
    }
    rc = 0;
out:
    rd_line_free(&ln);
    rd_list_free(&rels);
    return rc;
}

#ifndef RD_NO_PLUGIN_ENTRY
static int atomic_read(const mto_host *h, const char *path, const mto_options *o,
                       mto_record_sink *sink, mto_error *err)
{
    FILE *f = rd_open(h, path, err);
    if (!f) return MTO_EIO;
    int rc = rd_atomic_parse(h, f, path, o, sink, err);
    rd_close(f);
    return rc;
}

static const mto_reader_ops atomic_ops = {sizeof(mto_reader_ops), atomic_read};
static const mto_plugin_desc atomic_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "atomic", "1.0",
    "ATOMIC-2020 triples from TSV (head, relation, tail; both layouts)", &atomic_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &atomic_desc, err);
}
#endif
