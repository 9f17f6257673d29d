/* rd_common.h — small helpers shared by the task-reader plugins (compiled into
 * each reader's shared object; they use only the mto_host table, so the same
 * files build into fuzz binaries with a fake host).
 *
 * The parsing cores are exported here too (rd_*_parse on a FILE*), so tests and
 * fuzz targets can feed them memory through fmemopen(). Record field names are
 * documented in plugins/readers/README.md. */
#ifndef MTO_RD_COMMON_H
#define MTO_RD_COMMON_H

#include <stdio.h>

#include "mto/plugin.h"

/* A line buffer with the 1-based number of the line it holds. */
typedef struct rd_line {
    char *buf;   /* NUL-terminated, without the trailing "\n" / "\r\n" */
    size_t len;
    size_t cap;
    long lineno;
    size_t max;  /* longest line accepted in bytes; 0: RD_MAX_LINE */
    char why[96]; /* what went wrong when rd_getline returned < 0 */
} rd_line;

/* The default longest line (the `max_line_bytes` reader option changes it). */
#define RD_MAX_LINE ((size_t)64 << 20)

/* Read the next line; returns 1, 0 at end of file, or a negative MTO_E* code
 * (MTO_EIO: a read error; MTO_ENOMEM; MTO_EFORMAT: a NUL byte or a line longer
 * than ln->max), with ln->why saying which. Failure is never end of file. */
int rd_getline(FILE *f, rd_line *ln, int keep_newline);
void rd_line_free(rd_line *ln);
/* ln->max from the `max_line_bytes` option (0 or absent: RD_MAX_LINE). */
void rd_line_limit(const mto_host *h, const mto_options *o, rd_line *ln);
size_t rd_max_line(const mto_host *h, const mto_options *o);
/* The error of a failed rd_getline: "path:LINE: why"; returns rc. */
int rd_line_error(const mto_host *h, mto_error *err, int rc, const char *path, const rd_line *ln);

/* Open a file for reading, or fail with "path: cannot open: reason". Only regular
 * files are opened (without blocking: a FIFO is refused, never waited on); "-" is
 * standard input. Close with rd_close. */
FILE *rd_open(const mto_host *h, const char *path, mto_error *err);
void rd_close(FILE *f);

/* Split s in place at every sep; fills up to max pointers, returns the count of fields. */
size_t rd_split(char *s, char sep, char **out, size_t max);
/* Strip ASCII whitespace at both ends, in place. */
char *rd_trim(char *s);
/* 1 if s[0..n) is valid UTF-8. */
int rd_utf8_valid(const char *s, size_t n);
/* Case-insensitive ASCII comparison. */
int rd_streq_ci(const char *a, const char *b);
/* Does path end with suffix (case-insensitive)? */
int rd_has_suffix(const char *path, const char *suffix);

/* A comma-separated option value ("xIntent,xNeed") split into items. */
typedef struct rd_list {
    char *storage;
    char **items;
    long *hits;  /* per item: how many rows matched it */
    size_t n;
} rd_list;
int rd_list_parse(rd_list *l, const char *s); /* s may be NULL: empty list */
/* Index of name in the list (case-insensitive), or -1. */
long rd_list_find(const rd_list *l, const char *name);
void rd_list_free(rd_list *l);

/* Build a record from n (field, value) pairs and emit it. */
int rd_emit(const mto_host *h, mto_record_sink *sink, const char *const *kv, size_t n,
            mto_error *err);
/* Set one field on a record (value NUL-terminated); returns 0 or MTO_ENOMEM. */
int rd_set(const mto_host *h, mto_record *r, const char *field, const char *value,
           mto_error *err);

/* splitmix64: a reader's own deterministic stream (plugins cannot make a host
 * mto_rng), seeded from the `seed` option. */
uint64_t rd_rand(uint64_t *state);
uint64_t rd_rand_below(uint64_t *state, uint64_t n);

/* ---- parsing cores (one per reader file) ---------------------------------- */
int rd_atomic_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                    mto_record_sink *sink, mto_error *err);
int rd_text_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                  mto_record_sink *sink, mto_error *err);

/* CSV rows: fields are NUL-terminated; line is where the row starts. Return
 * non-zero (an MTO_E* code with err filled) to stop. */
typedef int (*rd_csv_row_fn)(void *ud, long line, char **fields, size_t nfields,
                             mto_error *err);
int rd_csv_rows(const mto_host *h, FILE *f, const char *path, unsigned char delim,
                rd_csv_row_fn fn, void *ud, mto_error *err);
/* the same with a longest line in bytes (0: RD_MAX_LINE) */
int rd_csv_rows_max(const mto_host *h, FILE *f, const char *path, unsigned char delim, size_t max_line,
                    rd_csv_row_fn fn, void *ud, mto_error *err);
/* The delimiter named by the `delimiter` option ("," "\t" "tab" ";" "|"), or the
 * default for path (.tsv -> tab, else comma); -1 for an invalid value. */
int rd_csv_delim(const mto_host *h, const mto_options *o, const char *path);
int rd_csv_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                 mto_record_sink *sink, mto_error *err);
int rd_mcqa_parse(const mto_host *h, FILE *f, const char *path, const mto_options *o,
                  mto_record_sink *sink, mto_error *err);

/* WordNet: files[i] are data.noun, data.verb, data.adj, data.adv (any may be
 * NULL when strict=0); mode selects the reader. */
enum { RD_WN_TRIPLES = 0, RD_WN_MCQA = 1, RD_WN_GLOSSES = 2 };
int rd_wordnet_run(const mto_host *h, FILE *const files[4], const char *const names[4],
                   const char *dir, const mto_options *o, int mode,
                   mto_record_sink *sink, mto_error *err);

#endif
