/* csv_core.c — CSV/TSV rows through libcsv, with the line where each row starts.
 *
 * libcsv works on byte chunks and cannot tell lines apart inside a quoted field,
 * so we feed it one physical line at a time: a row ends (cb2) while the line
 * holding its terminator is being fed, hence the first non-blank line fed after
 * that is where the next row starts — embedded newlines included. Strict mode
 * turns a stray quote into an error at the current line. */
#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "rd_common.h"

typedef struct csv_state {
    const mto_host *h;
    const char *path;
    rd_csv_row_fn fn;
    void *ud;
    mto_error *err;
    char **fields;
    size_t n, cap;
    long row_line;    /* line where the current row started */
    int at_row_start; /* no row in progress */
    int rc;           /* first error; later callbacks are ignored */
} csv_state;

static void on_field(void *s, size_t len, void *data)
{
    csv_state *st = data;
    if (st->rc) return;
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 16;
        char **p = realloc(st->fields, cap * sizeof *p);
        if (!p) { st->rc = st->h->error(st->err, MTO_ENOMEM, "%s: out of memory", st->path); return; }
        st->fields = p, st->cap = cap;
    }
    char *v = malloc(len + 1);
    if (!v) { st->rc = st->h->error(st->err, MTO_ENOMEM, "%s: out of memory", st->path); return; }
    if (len) memcpy(v, s, len);
    v[len] = '\0';
    st->fields[st->n++] = v;
    if (!rd_utf8_valid(v, len) || strlen(v) != len)
        st->rc = st->h->error(st->err, MTO_EFORMAT, "%s:%ld: invalid UTF-8 in column %zu",
                              st->path, st->row_line, st->n);
}

static void clear_fields(csv_state *st)
{
    for (size_t i = 0; i < st->n; i++) free(st->fields[i]);
    st->n = 0;
}

static void on_row(int c, void *data)
{
    (void)c;
    csv_state *st = data;
    st->at_row_start = 1;
    if (!st->rc) st->rc = st->fn(st->ud, st->row_line, st->fields, st->n, st->err);
    clear_fields(st);
}

/* Only spaces are trimmed around unquoted fields: a tab may be the delimiter. */
static int is_space(unsigned char c) { return c == ' '; }

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int rd_csv_rows(const mto_host *h, FILE *f, const char *path, unsigned char delim,
                rd_csv_row_fn fn, void *ud, mto_error *err)
{
    return rd_csv_rows_max(h, f, path, delim, 0, fn, ud, err);
}

int rd_csv_rows_max(const mto_host *h, FILE *f, const char *path, unsigned char delim, size_t max_line,
                    rd_csv_row_fn fn, void *ud, mto_error *err)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return h->error(err, MTO_ENOMEM, "%s: cannot initialise libcsv", path);
    csv_set_delim(&p, delim);
    csv_set_space_func(&p, is_space);
    csv_state st = {.h = h, .path = path, .fn = fn, .ud = ud, .err = err, .at_row_start = 1};
    rd_line ln = {0};
    ln.max = max_line;
    int rc;
    while (!st.rc && (rc = rd_getline(f, &ln, 1)) == 1) {
        char *s = ln.buf;
        size_t n = ln.len;
        if (ln.lineno == 1 && n >= 3 && (unsigned char)s[0] == 0xef &&
            (unsigned char)s[1] == 0xbb && (unsigned char)s[2] == 0xbf)
            s += 3, n -= 3;
        if (st.at_row_start && !blank(s, n)) st.row_line = ln.lineno, st.at_row_start = 0;
        if (csv_parse(&p, s, n, on_field, on_row, &st) != n && !st.rc)
            st.rc = h->error(err, MTO_EFORMAT, "%s:%ld: malformed quoted field (%s)", path,
                             ln.lineno, csv_strerror(csv_error(&p)));
    }
    if (!st.rc && rc < 0) st.rc = rd_line_error(h, err, rc, path, &ln);
    if (!st.rc && csv_fini(&p, on_field, on_row, &st) != 0 && !st.rc)
        st.rc = h->error(err, MTO_EFORMAT, "%s:%ld: unterminated quoted field (row starts here)",
                         path, st.row_line);
    clear_fields(&st);
    free(st.fields);
    csv_free(&p);
    rd_line_free(&ln);
    return st.rc;
}

int rd_csv_delim(const mto_host *h, const mto_options *o, const char *path)
{
    const char *d = h->opt_str(o, "delimiter", NULL);
    if (!d) return rd_has_suffix(path, ".tsv") || rd_has_suffix(path, ".tab") ? '\t' : ',';
    if (!strcmp(d, "\\t") || rd_streq_ci(d, "tab")) return '\t';
    if (rd_streq_ci(d, "comma")) return ',';
    if (strlen(d) == 1 && d[0] != '"' && d[0] != '\n' && d[0] != '\r') return (unsigned char)d[0];
    return -1;
}
