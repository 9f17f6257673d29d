/* csv.c — the `csv` reader: any CSV/TSV file, columns mapped to record fields.
 *
 * Options:
 *   delimiter  "," (default), "\t" or "tab" (default for *.tsv), or any one byte
 *   header     1 (default): the first row names the columns; 0: columns are col1..colN
 *   map        "field=column,field=column"; column is a header name or a 1-based
 *              index. Also map.FIELD for the usual field names (map.head=input_text).
 *              With a map only mapped fields are emitted; without one every column
 *              becomes a field named after its header.
 *   max_rows   stop after this many records
 * Every record also has `line` (the line where its row starts). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "rd_common.h"

#define MAX_MAP 64

typedef struct csv_reader {
    const mto_host *h;
    const mto_options *o;
    const char *path;
    mto_record_sink *sink;
    int header;
    size_t ncols;        /* from the first row */
    char **names;        /* column names (owned) */
    rd_list map;         /* "field=column" items */
    const char *mfield[MAX_MAP];
    const char *mcol[MAX_MAP];
    long midx[MAX_MAP];  /* resolved column per mapped field */
    size_t nmap;
    long emitted, max_rows;
} csv_reader;

/* Field names a map.FIELD option may name (the host cannot list option keys). */
static const char *const map_fields[] = {
    "head", "relation", "tail", "group", "text", "id", "question", "answer", "label",
    "input", "target", "context", "choice1", "choice2", "choice3", "choice4", "choice5",
    "choice6", "choice7", "choice8", NULL};

static int resolve_map(csv_reader *r, mto_error *err)
{
    for (size_t i = 0; i < r->nmap; i++) {
        const char *c = r->mcol[i];
        char *end;
        long k = strtol(c, &end, 10);
        r->midx[i] = -1;
        if (*c && !*end) {
            if (k < 1 || (size_t)k > r->ncols)
                return r->h->error(err, MTO_EINVAL, "%s: map %s=%s: column index out of range 1..%zu",
                                   r->path, r->mfield[i], c, r->ncols);
            r->midx[i] = k - 1;
            continue;
        }
        for (size_t j = 0; j < r->ncols; j++)
            if (!strcmp(r->names[j], c)) { r->midx[i] = (long)j; break; }
        if (r->midx[i] < 0) {
            char cols[300] = "";
            for (size_t j = 0; j < r->ncols; j++) {
                strncat(cols, j ? ", " : "", sizeof cols - strlen(cols) - 1);
                strncat(cols, r->names[j], sizeof cols - strlen(cols) - 1);
            }
            return r->h->error(err, MTO_ENOTFOUND, "%s: map %s=%s: no such column (columns: %s)",
                               r->path, r->mfield[i], c, cols);
        }
    }
    return 0;
}

static int on_row(void *ud, long line, char **fields, size_t n, mto_error *err)
{
    csv_reader *r = ud;
    const mto_host *h = r->h;
    if (!r->names) { /* first row: names, from the header or col1..colN */
        r->ncols = n;
        r->names = calloc(n, sizeof *r->names);
        if (!r->names) return h->error(err, MTO_ENOMEM, "%s: out of memory", r->path);
        for (size_t i = 0; i < n; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "col%zu", i + 1);
            r->names[i] = strdup(r->header && *fields[i] ? fields[i] : buf);
            if (!r->names[i]) return h->error(err, MTO_ENOMEM, "%s: out of memory", r->path);
        }
        int rc = resolve_map(r, err);
        if (rc || r->header) return rc;
    }
    if (n != r->ncols)
        return h->error(err, MTO_EFORMAT, "%s:%ld: expected %zu columns, found %zu", r->path,
                        line, r->ncols, n);
    if (r->max_rows > 0 && r->emitted >= r->max_rows) return 0;
    mto_record *rec = h->record_new();
    if (!rec) return h->error(err, MTO_ENOMEM, "%s: out of memory", r->path);
    int rc = 0;
    if (r->nmap)
        for (size_t i = 0; i < r->nmap && !rc; i++)
            rc = rd_set(h, rec, r->mfield[i], fields[r->midx[i]], err);
    else
        for (size_t i = 0; i < n && !rc; i++) rc = rd_set(h, rec, r->names[i], fields[i], err);
    char lineno[24];
    snprintf(lineno, sizeof lineno, "%ld", line);
    if (!rc) rc = rd_set(h, rec, "line", lineno, err);
    if (rc) { h->record_free(rec); return rc; }
    r->emitted++;
    return h->record_emit(r->sink, rec, err);
}

int rd_csv_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                 mto_record_sink *sink, mto_error *err)
{
    csv_reader r = {.h = h, .o = o, .path = path, .sink = sink};
    int delim = rd_csv_delim(h, o, path);
    if (delim < 0)
        return h->error(err, MTO_EINVAL, "%s: bad delimiter option \"%s\" (use \",\", \"\\t\" or one byte)",
                        path, h->opt_str(o, "delimiter", ""));
    r.header = h->opt_num(o, "header", 1) != 0;
    r.max_rows = (long)h->opt_num(o, "max_rows", 0);
    int rc = rd_list_parse(&r.map, h->opt_str(o, "map", NULL));
    if (rc) return h->error(err, rc, "%s: out of memory", path);
    for (size_t i = 0; i < r.map.n; i++) {
        char *eq = strchr(r.map.items[i], '=');
        if (!eq || eq == r.map.items[i] || !eq[1]) {
            rc = h->error(err, MTO_EINVAL, "%s: map item \"%s\" is not field=column", path,
                          r.map.items[i]);
            goto out;
        }
        *eq = '\0';
        if (r.nmap < MAX_MAP) r.mfield[r.nmap] = rd_trim(r.map.items[i]), r.mcol[r.nmap++] = rd_trim(eq + 1);
    }
    char keys[sizeof map_fields / sizeof *map_fields][16];
    for (size_t i = 0; map_fields[i] && r.nmap < MAX_MAP; i++) {
        snprintf(keys[i], sizeof keys[i], "map.%s", map_fields[i]);
        const char *c = h->opt_str(o, keys[i], NULL);
        if (c) r.mfield[r.nmap] = map_fields[i], r.mcol[r.nmap++] = c;
    }
    rc = rd_csv_rows_max(h, f, path, (unsigned char)delim, rd_max_line(h, o), on_row, &r, err);
out:
    if (r.names)
        for (size_t i = 0; i < r.ncols; i++) free(r.names[i]);
    free(r.names);
    rd_list_free(&r.map);
    return rc;
}

#ifndef RD_NO_PLUGIN_ENTRY
static int csv_read(const mto_host *h, const char *path, const mto_options *o,
                    mto_record_sink *sink, mto_error *err)
{
    FILE *f = rd_open(h, path, err);
    if (!f) return MTO_EIO;
    int rc = rd_csv_parse(h, f, path, o, sink, err);
    rd_close(f);
    return rc;
}

static const mto_reader_ops csv_ops = {sizeof(mto_reader_ops), csv_read};
static const mto_plugin_desc csv_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "csv", "1.0",
    "any CSV/TSV file (libcsv), columns mapped to fields", &csv_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &csv_desc, err);
}
#endif
