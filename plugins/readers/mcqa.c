/* mcqa.c — the `mcqa` reader: multiple-choice QA rows (CommonsenseQA-like) from
 * CSV/TSV or JSON Lines.
 *
 * JSON Lines (format=jsonl, or a .jsonl/.json file, or a first byte '{'):
 *   CommonsenseQA: {"id", "question": {"stem", "choices": [{"label","text"}...]}, "answerKey"}
 *   also {"question": "text", "choices": {"label": [...], "text": [...]}, "answerKey"}
 *   (Hugging Face layout) and "choices": ["text", ...] (labels A, B, ...).
 *   answerKey/answer/label: a label string, or a JSON integer = 0-based index.
 * CSV (header required): a question column (question | stem), choice columns
 *   named A..J or choiceN / choice_N / optionN / choice_A ..., an answer column
 *   (answerKey | answer_key | answer | label), optional id. The answer is a
 *   label, "choiceN", a 1-based number, or the answer text itself.
 * Rows without an answer are emitted without answer fields and counted
 * ("unlabelled"). Options: format, delimiter, max_rows.
 * Record: question, choice1..choiceN, label1..labelN, nchoices, answer
 * ("choiceK"), answer_index (K, 1-based), answer_label, answer_text, id, line. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <jansson.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "rd_common.h"

#define MAX_CHOICES 26

typedef struct mcq {
    const char *id, *question, *key; /* key may be NULL: unlabelled */
    long key_index;                  /* >= 0: a 0-based index given as a JSON number */
    const char *label[MAX_CHOICES], *text[MAX_CHOICES];
    size_t n;
    long line;
} mcq;

typedef struct mcqa_reader {
    const mto_host *h;
    const char *path;
    mto_record_sink *sink;
    long emitted, max_rows;
    size_t max_line; /* option max_line_bytes (0: RD_MAX_LINE) */
    /* CSV column roles, from the header */
    int have_header;
    long qcol, idcol, acol;
    long ccol[MAX_CHOICES];
    char clabel[MAX_CHOICES][8];
    size_t nc, ncols;
} mcqa_reader;

/* 0-based index of the right choice, -1 if unlabelled, or an error. */
static int resolve_answer(mcqa_reader *r, const mcq *q, long *k, mto_error *err)
{
    *k = -1;
    if (q->key_index >= 0) {
        if ((size_t)q->key_index >= q->n)
            return r->h->error(err, MTO_EFORMAT, "%s:%ld: answer index %ld out of range 0..%zu",
                               r->path, q->line, q->key_index, q->n - 1);
        *k = q->key_index;
        return 0;
    }
    if (!q->key || !*q->key) return 0;
    for (size_t i = 0; i < q->n; i++)
        if (rd_streq_ci(q->label[i], q->key)) { *k = (long)i; return 0; }
    const char *s = q->key;
    if (!strncmp(s, "choice", 6)) s += 6;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end && v >= 1 && (size_t)v <= q->n) { *k = v - 1; return 0; }
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->text[i], q->key)) { *k = (long)i; return 0; }
    char labels[200] = "";
    for (size_t i = 0; i < q->n; i++) {
        strncat(labels, i ? ", " : "", sizeof labels - strlen(labels) - 1);
        strncat(labels, q->label[i], sizeof labels - strlen(labels) - 1);
    }
    return r->h->error(err, MTO_EFORMAT, "%s:%ld: answer key '%s' matches no choice (labels: %s)",
                       r->path, q->line, q->key, labels);
}

static int emit_mcq(mcqa_reader *r, const mcq *q, mto_error *err)
{
    const mto_host *h = r->h;
    if (!q->question || !*q->question)
        return h->error(err, MTO_EFORMAT, "%s:%ld: empty question", r->path, q->line);
    if (q->n < 2)
        return h->error(err, MTO_EFORMAT, "%s:%ld: expected at least 2 choices, found %zu",
                        r->path, q->line, q->n);
    long k;
    int rc = resolve_answer(r, q, &k, err);
    if (rc) return rc;
    if (r->max_rows > 0 && r->emitted >= r->max_rows) return 0;
    mto_record *rec = h->record_new();
    if (!rec) return h->error(err, MTO_ENOMEM, "%s: out of memory", r->path);
    char key[32], val[32];
    rc = rd_set(h, rec, "question", q->question, err);
    for (size_t i = 0; i < q->n && !rc; i++) {
        snprintf(key, sizeof key, "choice%zu", i + 1);
        rc = rd_set(h, rec, key, q->text[i], err);
        snprintf(key, sizeof key, "label%zu", i + 1);
        if (!rc) rc = rd_set(h, rec, key, q->label[i], err);
    }
    snprintf(val, sizeof val, "%zu", q->n);
    if (!rc) rc = rd_set(h, rec, "nchoices", val, err);
    if (!rc && k >= 0) {
        snprintf(val, sizeof val, "choice%ld", k + 1);
        rc = rd_set(h, rec, "answer", val, err);
        snprintf(val, sizeof val, "%ld", k + 1);
        if (!rc) rc = rd_set(h, rec, "answer_index", val, err);
        if (!rc) rc = rd_set(h, rec, "answer_label", q->label[k], err);
        if (!rc) rc = rd_set(h, rec, "answer_text", q->text[k], err);
    }
    if (!rc && q->id && *q->id) rc = rd_set(h, rec, "id", q->id, err);
    snprintf(val, sizeof val, "%ld", q->line);
    if (!rc) rc = rd_set(h, rec, "line", val, err);
    if (rc) { h->record_free(rec); return rc; }
    if (k < 0) h->sink_count(r->sink, "unlabelled", 1);
    r->emitted++;
    return h->record_emit(r->sink, rec, err);
}

/* ---- CSV ----------------------------------------------------------------- */

/* Is a header cell a choice column? Writes its label ("A", "3") to label. */
static int choice_label(const char *name, char label[8])
{
    static const char *const prefixes[] = {"choice", "option", "ending", "answer", NULL};
    const char *s = name;
    if (strlen(s) == 1 && isupper((unsigned char)s[0]) && s[0] <= 'J') {
        snprintf(label, 8, "%s", s);
        return 1;
    }
    for (int i = 0; prefixes[i]; i++) {
        size_t k = strlen(prefixes[i]);
        if (strncasecmp(s, prefixes[i], k)) continue;
        s += k;
        if (*s == '_' || *s == ' ') s++;
        size_t n = strlen(s);
        int digits = n > 0 && n <= 2 && isdigit((unsigned char)s[0]) &&
                     (n == 1 || isdigit((unsigned char)s[1]));
        int letter = n == 1 && isalpha((unsigned char)s[0]);
        if (!digits && !letter) return 0;
        snprintf(label, 8, "%s", s);
        if (letter) label[0] = (char)toupper((unsigned char)label[0]);
        return 1;
    }
    return 0;
}

static int csv_row(void *ud, long line, char **f, size_t n, mto_error *err)
{
    mcqa_reader *r = ud;
    if (!r->have_header) {
        r->have_header = 1;
        r->ncols = n;
        r->qcol = r->idcol = r->acol = -1;
        for (size_t i = 0; i < n; i++) {
            const char *c = rd_trim(f[i]);
            char label[8];
            if (rd_streq_ci(c, "question") || rd_streq_ci(c, "stem")) r->qcol = (long)i;
            else if (rd_streq_ci(c, "id")) r->idcol = (long)i;
            else if (rd_streq_ci(c, "answerKey") || rd_streq_ci(c, "answer_key") ||
                     rd_streq_ci(c, "answer") || rd_streq_ci(c, "label"))
                r->acol = (long)i;
            else if (choice_label(c, label) && r->nc < MAX_CHOICES) {
                r->ccol[r->nc] = (long)i;
                memcpy(r->clabel[r->nc++], label, 8);
            }
        }
        if (r->qcol < 0 || r->nc < 2)
            return r->h->error(err, MTO_EFORMAT,
                               "%s:%ld: mcqa CSV header needs a question column and at least "
                               "2 choice columns (A..E or choice1..N)", r->path, line);
        return 0;
    }
    if (n != r->ncols)
        return r->h->error(err, MTO_EFORMAT, "%s:%ld: expected %zu columns, found %zu", r->path,
                           line, r->ncols, n);
    mcq q = {.line = line, .key_index = -1, .question = f[r->qcol]};
    if (r->idcol >= 0) q.id = f[r->idcol];
    if (r->acol >= 0) q.key = rd_trim(f[r->acol]);
    for (size_t i = 0; i < r->nc; i++) {
        if (!*f[r->ccol[i]]) continue; /* fewer choices on this row */
        q.label[q.n] = r->clabel[i];
        q.text[q.n++] = f[r->ccol[i]];
    }
    return emit_mcq(r, &q, err);
}

/* ---- JSON Lines ---------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int json_row(mcqa_reader *r, json_t *root, long line, mto_error *err)
{
    static const char *const letters[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J",
                                          "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T",
                                          "U", "V", "W", "X", "Y", "Z"};
    mcq q = {.line = line, .key_index = -1};
    if (!json_is_object(root))
        return r->h->error(err, MTO_EFORMAT, "%s:%ld: expected a JSON object", r->path, line);
    q.id = jstr(root, "id");
    json_t *qv = json_object_get(root, "question"), *choices = json_object_get(root, "choices");
    if (json_is_object(qv)) {
        q.question = jstr(qv, "stem");
        if (!choices) choices = json_object_get(qv, "choices");
    } else if (json_is_string(qv)) {
        q.question = json_string_value(qv);
    }
    if (!q.question)
        return r->h->error(err, MTO_EFORMAT, "%s:%ld: no question (expected \"question\" or "
                           "\"question\": {\"stem\"})", r->path, line);
    if (json_is_array(choices)) {
        size_t i;
        json_t *c;
        json_array_foreach(choices, i, c) {
            if (q.n == MAX_CHOICES) break;
            const char *label = letters[q.n], *text = NULL;
            if (json_is_string(c)) text = json_string_value(c);
            else if (json_is_object(c)) {
                text = jstr(c, "text");
                if (jstr(c, "label")) label = jstr(c, "label");
            }
            if (!text)
                return r->h->error(err, MTO_EFORMAT, "%s:%ld: choice %zu has no text", r->path,
                                   line, i + 1);
            q.label[q.n] = label;
            q.text[q.n++] = text;
        }
    } else if (json_is_object(choices)) {
        json_t *labels = json_object_get(choices, "label"), *texts = json_object_get(choices, "text");
        if (!json_is_array(texts))
            return r->h->error(err, MTO_EFORMAT, "%s:%ld: \"choices\" has no \"text\" array",
                               r->path, line);
        for (size_t i = 0; i < json_array_size(texts) && q.n < MAX_CHOICES; i++) {
            json_t *t = json_array_get(texts, i), *l = json_array_get(labels, i);
            if (!json_is_string(t))
                return r->h->error(err, MTO_EFORMAT, "%s:%ld: choice %zu has no text", r->path,
                                   line, i + 1);
            q.label[q.n] = json_is_string(l) ? json_string_value(l) : letters[q.n];
            q.text[q.n++] = json_string_value(t);
        }
    }
    json_t *a = json_object_get(root, "answerKey");
    if (!a) a = json_object_get(root, "answer");
    if (!a) a = json_object_get(root, "label");
    if (json_is_string(a)) q.key = json_string_value(a);
    else if (json_is_integer(a)) {
        json_int_t v = json_integer_value(a);
        q.key_index = v < 0 ? (long)q.n : (long)v; /* negative: out of range */
        if (q.n == 0) q.key_index = -1;
    }
    return emit_mcq(r, &q, err);
}

static int parse_jsonl(mcqa_reader *r, FILE *f, mto_error *err)
{
    rd_line ln = {0};
    ln.max = r->max_line;
    int rc = 0, got;
    while ((got = rd_getline(f, &ln, 0)) == 1) {
        rc = 0;
        if (!*rd_trim(ln.buf)) continue;
        json_error_t je;
        json_t *root = json_loadb(ln.buf, ln.len, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
            rc = r->h->error(err, MTO_EFORMAT, "%s:%ld:%d: invalid JSON: %s", r->path, ln.lineno,
                             je.column, je.text);
            break;
        }
        rc = json_row(r, root, ln.lineno, err);
        json_decref(root);
        if (rc) break;
    }
    if (got < 0) rc = rd_line_error(r->h, err, got, r->path, &ln);
    else if (got == 0) rc = 0;
    rd_line_free(&ln);
    return rc;
}

int rd_mcqa_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                  mto_record_sink *sink, mto_error *err)
{
    mcqa_reader r = {.h = h, .path = path, .sink = sink,
                     .max_rows = (long)h->opt_num(o, "max_rows", 0), .max_line = rd_max_line(h, o)};
    const char *fmt = h->opt_str(o, "format", NULL);
    int jsonl;
    if (fmt) {
        if (rd_streq_ci(fmt, "jsonl") || rd_streq_ci(fmt, "json")) jsonl = 1;
        else if (rd_streq_ci(fmt, "csv") || rd_streq_ci(fmt, "tsv")) jsonl = 0;
        else return h->error(err, MTO_EINVAL, "%s: unknown format \"%s\" (csv or jsonl)", path, fmt);
    } else if (rd_has_suffix(path, ".jsonl") || rd_has_suffix(path, ".json")) {
        jsonl = 1;
    } else { /* sniff: a JSON object per line starts with '{' */
        int c;
        while ((c = getc(f)) != EOF && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {}
        jsonl = c == '{';
        if (fseek(f, 0, SEEK_SET) != 0 && c != EOF) ungetc(c, f); /* standard input: only c goes back */
    }
    if (jsonl) return parse_jsonl(&r, f, err);
    int delim = fmt && rd_streq_ci(fmt, "tsv") ? '\t' : rd_csv_delim(h, o, path);
    if (delim < 0) return h->error(err, MTO_EINVAL, "%s: bad delimiter option", path);
    return rd_csv_rows_max(h, f, path, (unsigned char)delim, r.max_line, csv_row, &r, err);
}

#ifndef RD_NO_PLUGIN_ENTRY
static int mcqa_read(const mto_host *h, const char *path, const mto_options *o,
                     mto_record_sink *sink, mto_error *err)
{
    FILE *f = rd_open(h, path, err);
    if (!f) return MTO_EIO;
    int rc = rd_mcqa_parse(h, f, path, o, sink, err);
    rd_close(f);
    return rc;
}

static const mto_reader_ops mcqa_ops = {sizeof(mto_reader_ops), mcqa_read};
static const mto_plugin_desc mcqa_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "mcqa", "1.0",
    "multiple-choice QA (CommonsenseQA-like) from CSV or JSON Lines", &mcqa_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &mcqa_desc, err);
}
#endif
