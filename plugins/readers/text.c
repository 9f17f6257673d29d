/* text.c — the `text` reader: one passage per line (adaptation corpora).
 * Blank lines are skipped (counted as "blank_lines"); lines are trimmed.
 * Options: max_rows. Records: {text, line}. */
#include <string.h>

#include "rd_common.h"

int rd_text_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                  mto_record_sink *sink, mto_error *err)
{
    rd_line ln = {0};
    double max_rows = h->opt_num(o, "max_rows", 0);
    long emitted = 0;
    int rc;
    rd_line_limit(h, o, &ln);
    while ((rc = rd_getline(f, &ln, 0)) == 1) {
        char *line = ln.buf;
        if (ln.lineno == 1 && (unsigned char)line[0] == 0xef &&
            (unsigned char)line[1] == 0xbb && (unsigned char)line[2] == 0xbf)
            line += 3;
        line = rd_trim(line);
        if (!*line) { h->sink_count(sink, "blank_lines", 1); continue; }
        if (!rd_utf8_valid(line, strlen(line))) {
            rc = h->error(err, MTO_EFORMAT, "%s:%ld: invalid UTF-8", path, ln.lineno);
            goto out;
        }
        char lineno[24];
        snprintf(lineno, sizeof lineno, "%ld", ln.lineno);
        const char *kv[] = {"text", line, "line", lineno};
        if ((rc = rd_emit(h, sink, kv, 2, err))) goto out;
        if (max_rows > 0 && ++emitted >= (long)max_rows) break;
    }
    if (rc < 0) rc = rd_line_error(h, err, rc, path, &ln);
out:
    rd_line_free(&ln);
    return rc;
}

#ifndef RD_NO_PLUGIN_ENTRY
static int text_read(const mto_host *h, const char *path, const mto_options *o,
                     mto_record_sink *sink, mto_error *err)
{
    FILE *f = rd_open(h, path, err);
    if (!f) return MTO_EIO;
    int rc = rd_text_parse(h, f, path, o, sink, err);
    rd_close(f);
    return rc;
}

static const mto_reader_ops text_ops = {sizeof(mto_reader_ops), text_read};
static const mto_plugin_desc text_desc = {
    MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "text", "1.0",
    "plain text, one passage per line ({text, line})", &text_ops};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &text_desc, err);
}
#endif
