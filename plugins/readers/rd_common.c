/* rd_common.c — line reading, splitting, option lists and record helpers shared
 * by the reader plugins. Private buffers use libc malloc (never cross the ABI). */
#define _POSIX_C_SOURCE 200809L
#include "rd_common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rd_getline(FILE *f, rd_line *ln, int keep_newline)
{
    size_t max = ln->max ? ln->max : RD_MAX_LINE, len = 0;
    int c = EOF;
    ln->why[0] = '\0';
    errno = 0;
    flockfile(f);
    while ((c = getc_unlocked(f)) != EOF) {
        if (len == 0) ln->lineno++;
        if (len + 2 > ln->cap) {
            size_t cap = ln->cap ? 2 * ln->cap : 256;
            if (cap > max + 2) cap = max + 2;
            if (len + 2 > cap) {
                funlockfile(f);
                snprintf(ln->why, sizeof ln->why, "line longer than %zu bytes (reader option max_line_bytes)", max);
                return MTO_EFORMAT;
            }
            char *b = realloc(ln->buf, cap);
            if (!b) {
                funlockfile(f);
                snprintf(ln->why, sizeof ln->why, "out of memory reading a line of %zu bytes", len);
                return MTO_ENOMEM;
            }
            ln->buf = b, ln->cap = cap;
        }
        if (c == '\0') {
            funlockfile(f);
            /* every later string function would stop there: say so instead */
            snprintf(ln->why, sizeof ln->why, "NUL byte at column %zu (a binary file?)", len + 1);
            return MTO_EFORMAT;
        }
        ln->buf[len++] = (char)c;
        if (c == '\n') break;
    }
    funlockfile(f);
    if (c == EOF && ferror(f)) {
        if (len == 0) ln->lineno++;
        snprintf(ln->why, sizeof ln->why, "read error: %s", strerror(errno ? errno : EIO));
        return errno == ENOMEM ? MTO_ENOMEM : MTO_EIO;
    }
    if (len == 0) return 0;
    ln->buf[len] = '\0';
    ln->len = len;
    if (!keep_newline) {
        while (ln->len > 0 && (ln->buf[ln->len - 1] == '\n' || ln->buf[ln->len - 1] == '\r'))
            ln->buf[--ln->len] = '\0';
    }
    return 1;
}

size_t rd_max_line(const mto_host *h, const mto_options *o)
{
    double v = h->opt_num(o, "max_line_bytes", 0);
    return v >= 1 && v < 1e15 ? (size_t)v : 0;
}

void rd_line_limit(const mto_host *h, const mto_options *o, rd_line *ln) { ln->max = rd_max_line(h, o); }

int rd_line_error(const mto_host *h, mto_error *err, int rc, const char *path, const rd_line *ln)
{
    return h->error(err, rc, "%s:%ld: %s", path, ln->lineno, ln->why[0] ? ln->why : "read error");
}

void rd_line_free(rd_line *ln)
{
    free(ln->buf);
    ln->buf = NULL;
    ln->cap = ln->len = 0;
}

FILE *rd_open(const mto_host *h, const char *path, mto_error *err)
{
    if (!strcmp(path, "-")) return stdin;
    int fd;
    while ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == EINTR) {}
    if (fd < 0) {
        h->error(err, MTO_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int dir = S_ISDIR(st.st_mode);
        close(fd);
        h->error(err, MTO_EIO, "%s: cannot open: %s", path,
                 dir ? "is a directory" : "not a regular file (a FIFO or device); give a file, or - for standard input");
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        h->error(err, MTO_EIO, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

void rd_close(FILE *f)
{
    if (f && f != stdin) fclose(f);
}

size_t rd_split(char *s, char sep, char **out, size_t max)
{
    size_t n = 0;
    for (;;) {
        if (n < max) out[n] = s;
        n++;
        char *p = strchr(s, sep);
        if (!p) break;
        *p = '\0';
        s = p + 1;
    }
    return n;
}

char *rd_trim(char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

int rd_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xe0) == 0xc0) { k = 1; min = 0x80; c &= 0x1f; }
        else if ((c & 0xf0) == 0xe0) { k = 2; min = 0x800; c &= 0x0f; }
        else if ((c & 0xf8) == 0xf0) { k = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xc0) != 0x80) return 0;
            c = (c << 6) | (s[i + j] & 0x3f);
        }
        /* overlong forms, surrogates and values past U+10FFFF are invalid */
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
        i += k + 1;
    }
    return 1;
}

int rd_streq_ci(const char *a, const char *b)
{
    while (*a && *b) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        a++, b++;
    }
    return *a == *b;
}

int rd_has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && rd_streq_ci(path + n - k, suffix);
}

int rd_list_parse(rd_list *l, const char *s)
{
    memset(l, 0, sizeof *l);
    if (!s || !*s) return 0;
    l->storage = strdup(s);
    size_t max = 1;
    for (const char *p = s; *p; p++) max += *p == ',';
    l->items = malloc(max * sizeof *l->items);
    l->hits = calloc(max, sizeof *l->hits);
    if (!l->storage || !l->items || !l->hits) {
        rd_list_free(l);
        return MTO_ENOMEM;
    }
    char **tmp = l->items;
    size_t n = rd_split(l->storage, ',', tmp, max);
    for (size_t i = 0; i < n; i++) {
        char *t = rd_trim(tmp[i]);
        if (*t) l->items[l->n++] = t;
    }
    return 0;
}

long rd_list_find(const rd_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (rd_streq_ci(l->items[i], name)) return (long)i;
    return -1;
}

void rd_list_free(rd_list *l)
{
    free(l->storage);
    free(l->items);
    free(l->hits);
    memset(l, 0, sizeof *l);
}

int rd_set(const mto_host *h, mto_record *r, const char *field, const char *value,
           mto_error *err)
{
    if (h->record_set(r, field, value, strlen(value)) != 0)
        return h->error(err, MTO_ENOMEM, "out of memory setting field %s", field);
    return 0;
}

int rd_emit(const mto_host *h, mto_record_sink *sink, const char *const *kv, size_t n,
            mto_error *err)
{
    mto_record *r = h->record_new();
    if (!r) return h->error(err, MTO_ENOMEM, "out of memory creating a record");
    for (size_t i = 0; i + 1 < 2 * n; i += 2) {
        int rc = rd_set(h, r, kv[i], kv[i + 1], err);
        if (rc) {
            h->record_free(r);
            return rc;
        }
    }
    return h->record_emit(sink, r, err);
}

uint64_t rd_rand(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rd_rand_below(uint64_t *x, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;
    do v = rd_rand(x); while (v >= limit);
    return v % n;
}
