/* wordnet.c — readers over the WordNet 3.0 database (Debian's wordnet-base):
 *   wordnet          relation triples {head, relation, tail, ...}
 *   wordnet_mcqa     "which word matches this definition" questions
 *   wordnet_glosses  one gloss per record {text} (a text source)
 *
 * Format (wndb(5WN)): data.{noun,verb,adj,adv}; license lines start with two
 * spaces; every other line is one synset:
 *   offset lex_filenum ss_type w_cnt(hex) word lex_id(hex) ... p_cnt(3 digits)
 *   [ptr_symbol offset pos source/target(4 hex)]... [f_cnt + f_num w_num ...] | gloss
 * where offset is the synset's byte offset in its file and source/target holds
 * the 1-based word numbers of a lexical pointer (0000: the whole synsets).
 *
 * Each file is read whole into memory and tokenised in place; synsets keep
 * pointers into that text. Options: dir, relations, pos, max_synsets, seed,
 * all_words, nchoices, strict (1: offsets must match byte offsets and all four
 * files must exist — damage is reported naming file:line). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rd_common.h"

static const char *const lexnames[] = {
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance",
    "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion",
    "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
    "verb.weather", "adj.ppl"};
#define N_LEXNAMES (sizeof lexnames / sizeof lexnames[0])

/* Pointer symbols we turn into relations (wninput(5WN)). The first seven
 * entries (N_DEFAULT_PTR_REL) are the default set; the rest are available
 * through `relations`. */
static const struct { const char *name, *sym; } wn_ptr_rel[] = {
    {"hypernym", "@"}, {"hypernym", "@i"}, {"part_holonym", "#p"}, {"member_holonym", "#m"},
    {"substance_holonym", "#s"}, {"antonym", "!"}, {"derivation", "+"},
    {"hyponym", "~"}, {"hyponym", "~i"}, {"part_meronym", "%p"}, {"member_meronym", "%m"},
    {"substance_meronym", "%s"}, {"similar", "&"}, {"also_see", "^"}, {"attribute", "="},
    {"entailment", "*"}, {"cause", ">"}, {"verb_group", "$"}, {"pertainym", "\\"},
    {"participle", "<"}};
#define N_PTR_REL (sizeof wn_ptr_rel / sizeof wn_ptr_rel[0])
enum { REL_DEFINITION = N_PTR_REL, REL_EXAMPLE, N_REL };
#define N_DEFAULT_PTR_REL 7

static const char *rel_name(int r)
{
    return r == REL_DEFINITION ? "definition" : r == REL_EXAMPLE ? "example" : wn_ptr_rel[r].name;
}

static const char pos_letter[4] = {'n', 'v', 'a', 'r'};
static const char *const pos_file[4] = {"data.noun", "data.verb", "data.adj", "data.adv"};

typedef struct wn_ptr {
    char sym[3];
    char pos;    /* file index 0..3 of the target */
    uint32_t off;
    uint8_t src, dst;
    signed char rel; /* index into wn_ptr_rel, or -1 */
} wn_ptr;

typedef struct wn_syn {
    uint32_t off;
    long line;
    unsigned lexfile;
    size_t w0, p0;   /* first word / pointer in the file's arrays */
    unsigned nw, np;
    char *gloss;
} wn_syn;

typedef struct wn_file {
    const char *path;
    char *text;
    wn_syn *s;
    size_t n, cap;
    char **w;
    size_t nw, capw;
    wn_ptr *p;
    size_t np, capp;
} wn_file;

typedef struct wn_db {
    const mto_host *h;
    wn_file f[4];
    int strict;
} wn_db;

/* ---- loading ------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return MTO_ENOMEM;
    *p = q, *cap = c;
    return 0;
}

static char *next_tok(char **cur)
{
    char *s = *cur;
    while (*s == ' ') s++;
    if (!*s) { *cur = s; return NULL; }
    char *e = s;
    while (*e && *e != ' ') e++;
    if (*e) *e++ = '\0';
    *cur = e;
    return s;
}

/* Parse a number of at most maxlen digits in base; -1 if not one. */
static long num(const char *t, int base, size_t maxlen)
{
    if (!t || !*t || strlen(t) > maxlen) return -1;
    long v = 0;
    for (; *t; t++) {
        int d = isdigit((unsigned char)*t) ? *t - '0'
              : base == 16 && isxdigit((unsigned char)*t) ? tolower((unsigned char)*t) - 'a' + 10
              : -1;
        if (d < 0) return -1;
        v = v * base + d;
    }
    return v;
}

static int pos_index(char c)
{
    switch (c) {
    case 'n': return 0;
    case 'v': return 1;
    case 'a': case 's': return 2;
    case 'r': return 3;
    default: return -1;
    }
}

/* Words are stored with spaces and without the adjective syntactic markers. */
static void clean_word(char *w, int adj)
{
    for (char *p = w; *p; p++)
        if (*p == '_') *p = ' ';
    size_t n = strlen(w);
    if (adj && n > 2 && w[n - 1] == ')') {
        char *open = strrchr(w, '(');
        if (open && open > w) *open = '\0';
    }
}

#define BAD(what, tok)                                                                       \
    return db->h->error(err, MTO_EFORMAT, "%s:%ld: expected %s, found '%s'", F->path, lineno, \
                        what, (tok) ? (tok) : "end of line")

static int parse_synset(wn_db *db, int fi, char *line, size_t byte_off, long lineno,
                        mto_error *err)
{
    wn_file *F = &db->f[fi];
    char *cur = line, *t;
    long v;
    if (grow((void **)&F->s, &F->cap, F->n + 1, sizeof *F->s))
        return db->h->error(err, MTO_ENOMEM, "%s: out of memory", F->path);
    wn_syn *S = &F->s[F->n];
    memset(S, 0, sizeof *S);
    S->line = lineno;

    t = next_tok(&cur);
    if ((v = num(t, 10, 8)) < 0) BAD("an 8-digit synset offset", t);
    S->off = (uint32_t)v;
    if (db->strict && S->off != byte_off)
        return db->h->error(err, MTO_EFORMAT,
                            "%s:%ld: synset offset %08lu is not its byte offset %zu (file damaged "
                            "or edited?)", F->path, lineno, (unsigned long)S->off, byte_off);
    t = next_tok(&cur);
    if ((v = num(t, 10, 2)) < 0) BAD("a 2-digit lex_filenum", t);
    S->lexfile = (unsigned)v;
    t = next_tok(&cur);
    if (!t || strlen(t) != 1 || pos_index(t[0]) != fi) BAD("the synset type of this file", t);
    t = next_tok(&cur);
    if ((v = num(t, 16, 2)) <= 0) BAD("a 2-digit hex w_cnt", t);
    S->nw = (unsigned)v;
    S->w0 = F->nw;
    if (grow((void **)&F->w, &F->capw, F->nw + S->nw, sizeof *F->w))
        return db->h->error(err, MTO_ENOMEM, "%s: out of memory", F->path);
    for (unsigned i = 0; i < S->nw; i++) {
        t = next_tok(&cur);
        if (!t || !strcmp(t, "|")) BAD("a word", t);
        clean_word(t, fi == 2);
        F->w[F->nw++] = t;
        t = next_tok(&cur);
        if (num(t, 16, 2) < 0) BAD("a hex lex_id", t);
    }
    t = next_tok(&cur);
    if ((v = num(t, 10, 3)) < 0) BAD("a 3-digit p_cnt", t);
    S->np = (unsigned)v;
    S->p0 = F->np;
    if (grow((void **)&F->p, &F->capp, F->np + S->np, sizeof *F->p))
        return db->h->error(err, MTO_ENOMEM, "%s: out of memory", F->path);
    for (unsigned i = 0; i < S->np; i++) {
        wn_ptr *P = &F->p[F->np++];
        memset(P, 0, sizeof *P);
        t = next_tok(&cur);
        if (!t || strlen(t) > 2 || !strcmp(t, "|")) BAD("a pointer symbol", t);
        memcpy(P->sym, t, strlen(t) + 1);
        P->rel = -1;
        for (size_t r = 0; r < N_PTR_REL; r++)
            if (!strcmp(wn_ptr_rel[r].sym, t)) { P->rel = (signed char)r; break; }
        t = next_tok(&cur);
        if ((v = num(t, 10, 8)) < 0) BAD("an 8-digit pointer offset", t);
        P->off = (uint32_t)v;
        t = next_tok(&cur);
        if (!t || strlen(t) != 1 || pos_index(t[0]) < 0) BAD("a pointer pos (n v a s r)", t);
        P->pos = (char)pos_index(t[0]);
        t = next_tok(&cur);
        if ((v = num(t, 16, 4)) < 0 || strlen(t) != 4) BAD("a 4-digit hex source/target", t);
        P->src = (uint8_t)(v >> 8), P->dst = (uint8_t)(v & 0xff);
        if (P->src > S->nw)
            return db->h->error(err, MTO_EFORMAT, "%s:%ld: pointer source word %u > w_cnt %u",
                                F->path, lineno, P->src, S->nw);
    }
    t = next_tok(&cur);
    if (fi == 1 && t && strcmp(t, "|")) { /* verb frames */
        if ((v = num(t, 10, 2)) < 0) BAD("a 2-digit f_cnt", t);
        for (long i = 0; i < v; i++) {
            t = next_tok(&cur);
            if (!t || strcmp(t, "+")) BAD("'+' before a verb frame", t);
            t = next_tok(&cur);
            if (num(t, 10, 2) < 0) BAD("a frame number", t);
            t = next_tok(&cur);
            if (num(t, 16, 2) < 0) BAD("a frame word number", t);
        }
        t = next_tok(&cur);
    }
    if (!t || strcmp(t, "|")) BAD("'|' before the gloss", t);
    while (*cur == ' ') cur++;
    size_t n = strlen(cur);
    while (n > 0 && isspace((unsigned char)cur[n - 1])) cur[--n] = '\0';
    S->gloss = cur;
    F->n++;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_syn(const void *a, const void *b)
{
    const wn_syn *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int load_file(wn_db *db, int fi, FILE *fp, mto_error *err)
{
    wn_file *F = &db->f[fi];
    size_t len = 0, cap = 0;
    /* Read in 4 KiB steps; grow() doubles, so a 15 MB data.noun costs ~12
     * reallocations, and a small file never asks for a large block (which
     * costs an mmap/munmap pair per call under ASan: the fuzz target). */
    for (;;) {
        if (grow((void **)&F->text, &cap, len + 4096 + 1, 1))
            return db->h->error(err, MTO_ENOMEM, "%s: out of memory", F->path);
        size_t got = fread(F->text + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0) break;
    }
    if (ferror(fp)) return db->h->error(err, MTO_EIO, "%s: read error: %s", F->path, strerror(errno ? errno : EIO));
    F->text[len] = '\0';
    long lineno = 0;
    int sorted = 1;
    for (size_t pos = 0; pos < len;) {
        char *line = F->text + pos, *nl = memchr(line, '\n', len - pos);
        size_t next = nl ? (size_t)(nl - F->text) + 1 : len;
        if (nl) *nl = '\0';
        lineno++;
        size_t n = strlen(line);
        if (n < next - pos - (nl ? 1 : 0))
            return db->h->error(err, MTO_EFORMAT, "%s:%ld: NUL byte at column %zu (a binary file?)", F->path,
                                lineno, n + 1);
        if (n && line[n - 1] == '\r') line[--n] = '\0';
        if (n && line[0] != ' ') { /* license lines start with two spaces */
            int rc = parse_synset(db, fi, line, pos, lineno, err);
            if (rc) return rc;
            if (F->n > 1 && F->s[F->n - 1].off <= F->s[F->n - 2].off) sorted = 0;
        }
        pos = next;
    }
    if (db->strict && F->n == 0)
        return db->h->error(err, MTO_EFORMAT, "%s: no synsets (empty or damaged file)", F->path);
    if (!sorted) qsort(F->s, F->n, sizeof *F->s, cmp_syn);
    return 0;
}

static const wn_syn *find_syn(const wn_db *db, int fi, uint32_t off)
{
    const wn_file *F = &db->f[fi];
    size_t lo = 0, hi = F->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (F->s[mid].off < off) lo = mid + 1;
        else hi = mid;
    }
    return lo < F->n && F->s[lo].off == off ? &F->s[lo] : NULL;
}

/* Every pointer must land on a synset, and a lexical one on an existing word. */
static int check_pointers(const wn_db *db, mto_error *err)
{
    for (int fi = 0; fi < 4; fi++) {
        const wn_file *F = &db->f[fi];
        for (size_t i = 0; i < F->n; i++) {
            const wn_syn *S = &F->s[i];
            for (unsigned k = 0; k < S->np; k++) {
                const wn_ptr *P = &F->p[S->p0 + k];
                const wn_syn *T = find_syn(db, P->pos, P->off);
                if (!T && (db->strict || db->f[(int)P->pos].n))
                    return db->h->error(err, MTO_EFORMAT,
                                        "%s:%ld: pointer '%s' to %08lu: no such synset in %s",
                                        F->path, S->line, P->sym, (unsigned long)P->off,
                                        db->f[(int)P->pos].path);
                if (T && P->dst > T->nw)
                    return db->h->error(err, MTO_EFORMAT,
                                        "%s:%ld: pointer '%s' to %08lu names word %u of %u",
                                        F->path, S->line, P->sym, (unsigned long)P->off, P->dst,
                                        T->nw);
            }
        }
    }
    return 0;
}

static void db_free(wn_db *db)
{
    for (int i = 0; i < 4; i++) {
        free(db->f[i].text);
        free(db->f[i].s);
        free(db->f[i].w);
        free(db->f[i].p);
    }
}

/* ---- glosses ------------------------------------------------------------- */

/* Definition part of a gloss: the text before the first quoted example, without
 * the trailing "; ". Written to buf (truncated to cap). */
static void gloss_definition(const char *g, char *buf, size_t cap)
{
    const char *q = strchr(g, '"');
    size_t n = q ? (size_t)(q - g) : strlen(g);
    while (n > 0 && (g[n - 1] == ' ' || g[n - 1] == ';')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(buf, g, n);
    buf[n] = '\0';
}

/* The k-th quoted example of a gloss into buf; 0 when there is none. */
static int gloss_example(const char *g, int k, char *buf, size_t cap)
{
    const char *p = strchr(g, '"');
    for (int i = 0; p; i++) {
        const char *e = strchr(p + 1, '"');
        size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
        if (i == k) {
            if (n >= cap) n = cap - 1;
            memcpy(buf, p + 1, n);
            buf[n] = '\0';
            return 1;
        }
        p = e ? strchr(e + 1, '"') : NULL;
    }
    return 0;
}

/* ---- emitting ------------------------------------------------------------ */

typedef struct wn_run {
    wn_db *db;
    const mto_host *h;
    mto_record_sink *sink;
    const char *dir;
    int rel_on[N_REL];
    int all_words;
    int nchoices;
    uint64_t rng;
    char *buf; /* scratch for definitions and examples */
    size_t bufcap;
} wn_run;

static void syn_id(char *out, size_t cap, const wn_syn *S, int fi)
{
    snprintf(out, cap, "%08lu-%c", (unsigned long)S->off, pos_letter[fi]);
}

static int emit_triple(wn_run *R, int fi, const wn_syn *S, const char *head, const char *rel,
                       const char *tail, const char *tail_syn, const char *sym, mto_error *err)
{
    char sid[16], line[24], pos[2] = {pos_letter[fi], 0};
    syn_id(sid, sizeof sid, S, fi);
    snprintf(line, sizeof line, "%ld", S->line);
    const char *kv[18] = {"head", head, "relation", rel, "tail", tail, "pos", pos,
                          "synset", sid, "line", line,
                          "lexname", S->lexfile < N_LEXNAMES ? lexnames[S->lexfile] : "unknown"};
    size_t n = 7;
    if (tail_syn) kv[2 * n] = "tail_synset", kv[2 * n + 1] = tail_syn, n++;
    if (sym) kv[2 * n] = "pointer", kv[2 * n + 1] = sym, n++;
    return rd_emit(R->h, R->sink, kv, n, err);
}

/* Triples of one synset; with dry set, only counts them. Returns the count or
 * a negative error. */
static long synset_triples(wn_run *R, int fi, const wn_syn *S, int dry, mto_error *err)
{
    const wn_file *F = &R->db->f[fi];
    const char *head = F->w[S->w0];
    long count = 0;
    int rc;
    if (R->rel_on[REL_DEFINITION]) {
        gloss_definition(S->gloss, R->buf, R->bufcap);
        if (*R->buf) {
            count++;
            if (!dry && (rc = emit_triple(R, fi, S, head, "definition", R->buf, NULL, NULL, err)))
                return rc;
        }
    }
    if (R->rel_on[REL_EXAMPLE])
        for (int k = 0; gloss_example(S->gloss, k, R->buf, R->bufcap); k++) {
            if (!*R->buf) continue;
            count++;
            if (!dry && (rc = emit_triple(R, fi, S, head, "example", R->buf, NULL, NULL, err)))
                return rc;
        }
    for (unsigned k = 0; k < S->np; k++) {
        const wn_ptr *P = &F->p[S->p0 + k];
        if (P->rel < 0 || !R->rel_on[(int)P->rel]) continue;
        const wn_syn *T = find_syn(R->db, P->pos, P->off);
        if (!T) continue; /* only possible with strict=0 */
        const wn_file *TF = &R->db->f[(int)P->pos];
        char tid[16];
        syn_id(tid, sizeof tid, T, P->pos);
        /* lexical pointers relate two words; semantic ones the synsets, shown by
         * their first word (or every source word with all_words=1) */
        const char *tail = TF->w[T->w0 + (P->dst ? P->dst - 1 : 0)];
        unsigned first = P->src ? P->src - 1 : 0;
        unsigned last = P->src ? P->src - 1u : R->all_words ? S->nw - 1u : 0u;
        for (unsigned w = first; w <= last; w++) {
            count++;
            if (!dry && (rc = emit_triple(R, fi, S, F->w[S->w0 + w], wn_ptr_rel[(int)P->rel].name,
                                          tail, tid, P->sym, err)))
                return rc;
        }
    }
    return count;
}

static long synset_gloss(wn_run *R, int fi, const wn_syn *S, int dry, mto_error *err)
{
    if (!*S->gloss) return 0;
    if (dry) return 1;
    char sid[16], line[24], pos[2] = {pos_letter[fi], 0};
    syn_id(sid, sizeof sid, S, fi);
    snprintf(line, sizeof line, "%ld", S->line);
    gloss_definition(S->gloss, R->buf, R->bufcap);
    const char *kv[] = {"text", S->gloss, "word", R->db->f[fi].w[S->w0], "definition", R->buf,
                        "synset", sid, "pos", pos, "line", line};
    int rc = rd_emit(R->h, R->sink, kv, 6, err);
    return rc ? rc : 1;
}

/* Has word w already been used as the answer's synonym or another choice? */
static int word_taken(const char *w, const wn_file *F, const wn_syn *S, const char **chosen,
                      int n)
{
    for (unsigned i = 0; i < S->nw; i++)
        if (rd_streq_ci(F->w[S->w0 + i], w)) return 1;
    for (int i = 0; i < n; i++)
        if (chosen[i] && rd_streq_ci(chosen[i], w)) return 1;
    return 0;
}

static long synset_mcqa(wn_run *R, int fi, const wn_syn *S, int dry, mto_error *err)
{
    const wn_file *F = &R->db->f[fi];
    gloss_definition(S->gloss, R->buf, R->bufcap);
    if (!*R->buf) return 0;
    if (dry) return 1;
    const char *choice[26] = {0};
    int nc = R->nchoices, ans = (int)rd_rand_below(&R->rng, (uint64_t)nc);
    choice[ans] = F->w[S->w0];
    for (int c = 0; c < nc; c++) {
        if (c == ans) continue;
        /* distractors: first words of random synsets of the same part of speech */
        for (int tries = 0; !choice[c]; tries++) {
            if (tries == 1000 || F->n < 2)
                return R->h->error(err, MTO_EINVAL, "%s: not enough distinct %s words for %d "
                                   "choices", F->path, pos_file[fi] + 5, nc);
            const wn_syn *D = &F->s[rd_rand_below(&R->rng, F->n)];
            const char *w = F->w[D->w0];
            if (D != S && !word_taken(w, F, S, choice, nc)) choice[c] = w;
        }
    }
    size_t qlen = strlen(R->buf) + 64;
    char *q = malloc(qlen);
    if (!q) return R->h->error(err, MTO_ENOMEM, "out of memory");
    snprintf(q, qlen, "Which word matches this definition: %s?", R->buf);
    char sid[16], line[24], pos[2] = {pos_letter[fi], 0}, nch[16], aidx[16], alab[24];
    char keys[26][24];
    syn_id(sid, sizeof sid, S, fi);
    snprintf(line, sizeof line, "%ld", S->line);
    snprintf(nch, sizeof nch, "%d", nc);
    snprintf(aidx, sizeof aidx, "%d", ans + 1);
    snprintf(alab, sizeof alab, "choice%d", ans + 1);
    const char *kv[2 * (26 + 9)];
    size_t n = 0;
    kv[2 * n] = "question", kv[2 * n + 1] = q, n++;
    for (int c = 0; c < nc; c++) {
        snprintf(keys[c], sizeof keys[c], "choice%d", c + 1);
        kv[2 * n] = keys[c], kv[2 * n + 1] = choice[c], n++;
    }
    kv[2 * n] = "nchoices", kv[2 * n + 1] = nch, n++;
    kv[2 * n] = "answer", kv[2 * n + 1] = alab, n++;
    kv[2 * n] = "answer_index", kv[2 * n + 1] = aidx, n++;
    kv[2 * n] = "answer_text", kv[2 * n + 1] = choice[ans], n++;
    kv[2 * n] = "definition", kv[2 * n + 1] = R->buf, n++;
    kv[2 * n] = "synset", kv[2 * n + 1] = sid, n++;
    kv[2 * n] = "pos", kv[2 * n + 1] = pos, n++;
    kv[2 * n] = "line", kv[2 * n + 1] = line, n++;
    int rc = rd_emit(R->h, R->sink, kv, n, err);
    free(q);
    return rc ? rc : 1;
}

static long synset_do(wn_run *R, int mode, int fi, const wn_syn *S, int dry, mto_error *err)
{
    return mode == RD_WN_MCQA    ? synset_mcqa(R, fi, S, dry, err)
         : mode == RD_WN_GLOSSES ? synset_gloss(R, fi, S, dry, err)
                                 : synset_triples(R, fi, S, dry, err);
}

/* ---- options and the run ------------------------------------------------- */

static int parse_filters(wn_run *R, const mto_options *o, int mode, int pos_on[4], mto_error *err)
{
    const mto_host *h = R->h;
    rd_list l;
    if (rd_list_parse(&l, h->opt_str(o, "relations", NULL)))
        return h->error(err, MTO_ENOMEM, "out of memory");
    if (!l.n)
        for (int r = 0; r < N_REL; r++) R->rel_on[r] = r < N_DEFAULT_PTR_REL || r >= (int)N_PTR_REL;
    for (size_t i = 0; i < l.n; i++) {
        int found = 0;
        for (int r = 0; r < N_REL; r++)
            if (rd_streq_ci(l.items[i], rel_name(r))) R->rel_on[r] = found = 1;
        if (!found && mode == RD_WN_TRIPLES) {
            char known[400] = "";
            for (int r = 0; r < N_REL; r++) {
                if (r > 0 && !strcmp(rel_name(r), rel_name(r - 1))) continue;
                strncat(known, r ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, rel_name(r), sizeof known - strlen(known) - 1);
            }
            int rc = h->error(err, MTO_EINVAL, "%s: unknown WordNet relation '%s' in relations "
                              "filter (known: %s)", R->dir, l.items[i], known);
            rd_list_free(&l);
            return rc;
        }
    }
    rd_list_free(&l);
    if (rd_list_parse(&l, h->opt_str(o, "pos", NULL)))
        return h->error(err, MTO_ENOMEM, "out of memory");
    for (int i = 0; i < 4; i++) pos_on[i] = l.n == 0;
    static const char *const pos_names[4][3] = {{"n", "noun", "nouns"}, {"v", "verb", "verbs"},
                                                {"a", "adj", "adjective"}, {"r", "adv", "adverb"}};
    for (size_t i = 0; i < l.n; i++) {
        int found = 0;
        for (int p = 0; p < 4; p++)
            for (int k = 0; k < 3; k++)
                if (rd_streq_ci(l.items[i], pos_names[p][k])) pos_on[p] = found = 1;
        if (!found) {
            int rc = h->error(err, MTO_EINVAL, "%s: unknown part of speech '%s' in pos filter "
                              "(n, v, a, r or noun, verb, adj, adv)", R->dir, l.items[i]);
            rd_list_free(&l);
            return rc;
        }
    }
    rd_list_free(&l);
    return 0;
}

int rd_wordnet_run(const mto_host *h, FILE *const files[4], const char *const names[4],
                   const char *dir, const mto_options *o, int mode,
                   mto_record_sink *sink, mto_error *err)
{
    wn_db db = {.h = h, .strict = h->opt_num(o, "strict", 1) != 0};
    wn_run R = {.db = &db, .h = h, .sink = sink, .dir = dir,
                .all_words = h->opt_num(o, "all_words", 0) != 0,
                .nchoices = (int)h->opt_num(o, "nchoices", 5)};
    int pos_on[4], rc;
    size_t *pick = NULL, npick = 0;
    if (R.nchoices < 2 || R.nchoices > 26)
        return h->error(err, MTO_EINVAL, "%s: nchoices must be 2..26", dir);
    if ((rc = parse_filters(&R, o, mode, pos_on, err))) return rc;
    double max_synsets = h->opt_num(o, "max_synsets", 0);
    const char *seed_s = h->opt_str(o, "seed", NULL);
    uint64_t seed = (uint64_t)h->opt_num(o, "seed", 0);
    R.rng = seed ^ 0x5eed0f5eed0f5eedULL;
    R.bufcap = 1 << 16;
    if (!(R.buf = malloc(R.bufcap))) return h->error(err, MTO_ENOMEM, "out of memory");

    for (int fi = 0; fi < 4; fi++) {
        db.f[fi].path = names[fi];
        if (!files[fi]) {
            if (db.strict) { rc = h->error(err, MTO_EIO, "%s: missing", names[fi]); goto out; }
            continue;
        }
        if ((rc = load_file(&db, fi, files[fi], err))) goto out;
    }
    if ((rc = check_pointers(&db, err))) goto out;

    /* Which synsets: those that yield something, then the first max_synsets of
     * them, or a seeded sample when `seed` is given; emitted in file order. */
    size_t total = 0;
    for (int fi = 0; fi < 4; fi++) total += pos_on[fi] ? db.f[fi].n : 0;
    if (!(pick = malloc((total + 1) * sizeof *pick))) {
        rc = h->error(err, MTO_ENOMEM, "out of memory");
        goto out;
    }
    size_t base = 0;
    for (int fi = 0; fi < 4; fi++) {
        if (!pos_on[fi]) continue;
        for (size_t i = 0; i < db.f[fi].n; i++) {
            long c = synset_do(&R, mode, fi, &db.f[fi].s[i], 1, err);
            if (c < 0) { rc = (int)c; goto out; }
            if (c > 0) pick[npick++] = base + i;
        }
        base += db.f[fi].n;
    }
    size_t want = npick;
    if (max_synsets > 0 && (double)npick > max_synsets) {
        want = (size_t)max_synsets;
        if (seed_s) {
            uint64_t st = seed;
            for (size_t i = 0; i < want; i++) { /* partial Fisher-Yates */
                size_t j = i + (size_t)rd_rand_below(&st, npick - i);
                size_t t = pick[i];
                pick[i] = pick[j], pick[j] = t;
            }
            qsort(pick, want, sizeof *pick, cmp_size); /* back to file order */
        }
    }
    for (size_t k = 0; k < want; k++) {
        size_t idx = pick[k];
        int fi = 0;
        for (base = 0; fi < 4; fi++) {
            size_t n = pos_on[fi] ? db.f[fi].n : 0;
            if (idx < base + n) break;
            base += n;
        }
        long c = synset_do(&R, mode, fi, &db.f[fi].s[idx - base], 0, err);
        if (c < 0) { rc = (int)c; goto out; }
    }
    rc = 0;
out:
    free(pick);
    free(R.buf);
    db_free(&db);
    return rc;
}

#ifndef RD_NO_PLUGIN_ENTRY
static int wordnet_read_mode(const mto_host *h, const char *path, const mto_options *o,
                             mto_record_sink *sink, mto_error *err, int mode)
{
    /* path is the database directory; the `dir` option or the Debian default
     * stand in when it is empty */
    const char *dir = path && *path ? path : h->opt_str(o, "dir", "/usr/share/wordnet");
    FILE *files[4] = {0};
    char names[4][4096];
    const char *np[4];
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "%s/%s", dir, pos_file[i]);
        np[i] = names[i];
        if (!(files[i] = rd_open(h, names[i], err))) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            rc = h->error(err, MTO_EIO, "%s (is wordnet-base installed? set the dir option)", why);
            break;
        }
    }
    if (!rc) rc = rd_wordnet_run(h, files, np, dir, o, mode, sink, err);
    for (int i = 0; i < 4; i++)
        rd_close(files[i]);
    return rc;
}

static int wordnet_read(const mto_host *h, const char *path, const mto_options *o,
                        mto_record_sink *sink, mto_error *err)
{
    return wordnet_read_mode(h, path, o, sink, err, RD_WN_TRIPLES);
}
static int wordnet_mcqa_read(const mto_host *h, const char *path, const mto_options *o,
                             mto_record_sink *sink, mto_error *err)
{
    return wordnet_read_mode(h, path, o, sink, err, RD_WN_MCQA);
}
static int wordnet_glosses_read(const mto_host *h, const char *path, const mto_options *o,
                                mto_record_sink *sink, mto_error *err)
{
    return wordnet_read_mode(h, path, o, sink, err, RD_WN_GLOSSES);
}

static const mto_reader_ops triples_ops = {sizeof(mto_reader_ops), wordnet_read};
static const mto_reader_ops mcqa_ops = {sizeof(mto_reader_ops), wordnet_mcqa_read};
static const mto_reader_ops glosses_ops = {sizeof(mto_reader_ops), wordnet_glosses_read};
static const mto_plugin_desc descs[] = {
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "wordnet", "1.0",
     "WordNet 3.0 relation triples (hypernym, holonyms, antonym, definition, ...)", &triples_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "wordnet_mcqa", "1.0",
     "WordNet multiple-choice questions: which word matches this definition", &mcqa_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "wordnet_glosses", "1.0",
     "WordNet glosses as a text source ({text})", &glosses_ops}};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
        int rc = host->register_plugin(reg, &descs[i], err);
        if (rc) return rc;
    }
    return 0;
}
#endif
