/* test_tokenizer.c — the "sentencepiece" tokenizer against Debian's spm_encode
 * / spm_decode on a vocabulary trained here from WordNet glosses (or, without
 * wordnet-base, from the project's own headers): ids, sentinels, round trips,
 * unknown characters, empty input, and clear errors for bad model files. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mto/host.h"
#include "mto/tokenizer.h"
#include "tap.h"

#define N_TRAIN 6000 /* glosses to train on */
#define N_TEST 300   /* held-out lines compared with spm_encode */
#define VOCAB 1100   /* 1000 pieces + 100 sentinels */

static char dir[64];

typedef struct { char **s; size_t n, cap; } lines;

static void lines_add(lines *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->s = realloc(l->s, l->cap * sizeof *l->s);
    }
    l->s[l->n] = strndup(s, n);
    l->n++;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

/* Glosses of a WordNet data file: the text after "| " on each synset line. */
static void read_glosses(const char *path, size_t skip, size_t want, lines *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char *buf = NULL;
    size_t cap = 0, seen = 0;
    ssize_t len;
    while (out->n < want && (len = getline(&buf, &cap, f)) > 0) {
        if (buf[0] == ' ') continue; /* licence header */
        char *g = strstr(buf, "| ");
        if (!g) continue;
        if (seen++ < skip) continue;
        g += 2;
        size_t n = strcspn(g, "\r\n");
        while (n && g[n - 1] == ' ') n--;
        lines_add(out, g, n);
    }
    free(buf);
    fclose(f);
}

/* Fallback corpus: every line of the project's public headers. */
static void read_file_lines(const char *path, lines *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&buf, &cap, f)) > 0) {
        size_t n = strcspn(buf, "\r\n");
        if (n) lines_add(out, buf, n);
    }
    free(buf);
    fclose(f);
}

static int write_lines(const char *path, const lines *l)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (size_t i = 0; i < l->n; i++) fprintf(f, "%s\n", l->s[i]);
    return fclose(f);
}

static char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* Run `prog args < in > out`; 0 on success. */
static int run_tool(const char *prog, const char *args, const char *in, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s < '%s' > '%s' 2>/dev/null", prog, args, in, out);
    return system(cmd);
}

/* Parse spm_encode --output_format=id output: one line of ids per input line. */
static mto_ids *read_id_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 0, cnt = 0;
    mto_ids *v = NULL;
    char *buf = NULL;
    size_t bcap = 0;
    while (getline(&buf, &bcap, f) > 0) {
        if (cnt == cap) {
            cap = cap ? 2 * cap : 256;
            v = realloc(v, cap * sizeof *v);
        }
        mto_ids_init(&v[cnt]);
        char *p = buf, *e;
        for (long x; (x = strtol(p, &e, 10)), e != p; p = e) mto_ids_push(&v[cnt], (int32_t)x);
        cnt++;
    }
    free(buf);
    fclose(f);
    *n = cnt;
    return v;
}

static void free_id_lines(mto_ids *v, size_t n)
{
    for (size_t i = 0; i < n; i++) mto_ids_free(&v[i]);
    free(v);
}

static int ids_equal(const mto_ids *a, const mto_ids *b)
{
    return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len * sizeof *a->data));
}

static int ids_contain(const mto_ids *a, int32_t id)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->data[i] == id) return 1;
    return 0;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

static void spit(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

static const char *spm_tool(const char *name)
{
    static char buf[2][512];
    const char *enc = getenv("SPM_ENCODE");
    if (!enc || !*enc || access(enc, X_OK) != 0) return NULL;
    if (!strcmp(name, "spm_encode")) return enc;
    char *b = buf[name[4] == 'd'];
    snprintf(b, sizeof buf[0], "%s", enc);
    char *slash = strrchr(b, '/');
    snprintf(slash ? slash + 1 : b, sizeof buf[0] - (slash ? (size_t)(slash + 1 - b) : 0), "%s",
             name);
    return access(b, X_OK) == 0 ? b : NULL;
}

/* Build "seg0 <extra_id_0> seg1 <extra_id_1> ..." from a line's words; the
 * segments (as they appear in the text) go to segs, the sentinel numbers to nums. */
static char *splice_sentinels(const char *line, size_t k, int tight, lines *segs, int *nums,
                              int *nsent)
{
    size_t cap = strlen(line) * 2 + 64, len = 0;
    char *out = malloc(cap);
    const char *p = line;
    *nsent = 0;
    out[0] = 0;
    while (*p) {
        const char *start = p;
        if (*nsent < 19) {
            for (size_t w = 0; w < k && *p; w++) {
                while (*p == ' ') p++;
                while (*p && *p != ' ') p++;
            }
        } else {
            p += strlen(p); /* the rest is one segment */
        }
        lines_add(segs, start, (size_t)(p - start));
        len += (size_t)snprintf(out + len, cap - len, "%.*s", (int)(p - start), start);
        if (*p) {
            int n = tight ? 99 - *nsent : *nsent;
            nums[(*nsent)++] = n;
            len += (size_t)snprintf(out + len, cap - len, tight ? "<extra_id_%d>" : " <extra_id_%d>", n);
            if (tight) p++; /* "word<extra_id_99>word" */
        }
    }
    return out;
}

static void test_errors(mto_tokenizer *tok, const char *model)
{
    mto_error err = {0};
    mto_tokenizer *t = NULL;
    int rc;

    const char *missing = path_in("no-such.model");
    rc = mto_tokenizer_open(missing, &t, &err);
    ok(rc < 0 && t == NULL, "missing model file is an error (rc %d)", rc);
    ok(strstr(err.msg, missing) != NULL, "missing: message names the file");
    tap_diag("%s", err.msg);

    const char *garbage = path_in("garbage.model");
    spit(garbage, "this is not a sentencepiece model\n", 34);
    mto_error_clear(&err);
    rc = mto_tokenizer_open(garbage, &t, &err);
    ok(rc == MTO_EFORMAT && t == NULL, "corrupt model file is a format error (rc %d)", rc);
    ok(strstr(err.msg, garbage) != NULL, "corrupt: message names the file");
    tap_diag("%s", err.msg);

    size_t n = 0;
    char *bytes = slurp(model, &n);
    const char *trunc = path_in("truncated.model");
    spit(trunc, bytes, n / 2);
    free(bytes);
    mto_error_clear(&err);
    rc = mto_tokenizer_open(trunc, &t, &err);
    ok(rc < 0 && t == NULL && strstr(err.msg, trunc), "truncated model: error naming the file");
    tap_diag("%s", err.msg);

    const char *empty = path_in("empty.model");
    spit(empty, "", 0);
    mto_error_clear(&err);
    rc = mto_tokenizer_open(empty, &t, &err);
    ok(rc < 0 && t == NULL && strstr(err.msg, empty), "empty model file: error naming the file");
    tap_diag("%s", err.msg);

    /* A model with SentencePiece's default ids (unk 0, bos 1, eos 2) is refused. */
    const char *spm_train = spm_tool("spm_train");
    if (spm_train) {
        char args[1024];
        snprintf(args, sizeof args,
                 "--input='%s' --model_prefix='%s' --vocab_size=300 --minloglevel=2",
                 path_in("train.txt"), path_in("plain"));
        if (run_tool(spm_train, args, "/dev/null", "/dev/null") == 0) {
            mto_error_clear(&err);
            rc = mto_tokenizer_open(path_in("plain.model"), &t, &err);
            ok(rc == MTO_EFORMAT && strstr(err.msg, "T5"),
               "model with non-T5 special ids refused");
            tap_diag("%s", err.msg);
        } else {
            tap_skip("spm_train failed to build a default-id model");
        }
    } else {
        tap_skip("spm_train not found next to $SPM_ENCODE");
    }

    /* decode: ids outside the vocabulary are errors, not garbage */
    mto_text txt;
    mto_text_init(&txt);
    int32_t bad[] = {5, mto_tokenizer_vocab_size(tok)};
    mto_error_clear(&err);
    rc = mto_tokenizer_decode(tok, bad, 2, &txt, &err);
    ok(rc == MTO_EINVAL && strstr(err.msg, "outside"), "decode of id vocab_size is EINVAL");
    tap_diag("%s", err.msg);
    int32_t neg[] = {-100};
    mto_error_clear(&err);
    rc = mto_tokenizer_decode(tok, neg, 1, &txt, &err);
    ok(rc == MTO_EINVAL, "decode of a negative id is EINVAL");
    mto_text_free(&txt);

    /* training errors */
    mto_error_clear(&err);
    rc = mto_tokenizer_train(path_in("no-such-input.txt"), path_in("x"), 500, NULL, &err);
    ok(rc < 0 && strstr(err.msg, "no-such-input.txt"), "train: missing input named");
    tap_diag("%s", err.msg);
    mto_error_clear(&err);
    rc = mto_tokenizer_train(path_in("train.txt"), path_in("x"), 100, NULL, &err);
    ok(rc == MTO_EINVAL, "train: vocab_size 100 leaves no room for pieces");
    mto_error_clear(&err);
    rc = mto_tokenizer_train(path_in("train.txt"), path_in("x"), 10000000, NULL, &err);
    ok(rc < 0, "train: a vocabulary too big for the text is an error");
    tap_diag("%s", err.msg);
}

int main(void)
{
    mto_error err = {0};
    snprintf(dir, sizeof dir, "/tmp/mto-tokenizer-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }

    /* ---- corpus: WordNet glosses (noun for training, verb held out) ---- */
    lines train = {0}, test = {0};
    const char *wn = "/usr/share/wordnet/data.noun";
    if (access(wn, R_OK) == 0) {
        read_glosses(wn, 0, N_TRAIN, &train);
        read_glosses("/usr/share/wordnet/data.verb", 0, N_TEST - 12, &test);
        tap_diag("corpus: %zu WordNet noun glosses, %zu verb glosses held out", train.n, test.n);
    } else {
        const char *src = getenv("MTO_SRCDIR");
        const char *files[] = {"core/mto/plugin.h", "core/mto/host.h", "core/mto/error.h",
                               "core/mto/tokenizer.h", "plugins/tokenizers/sentencepiece.cc",
                               "tests/test_tokenizer.c"};
        char p[1024];
        for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
            snprintf(p, sizeof p, "%s/%s", src ? src : ".", files[i]);
            read_file_lines(p, &train);
        }
        for (size_t i = 0; i < train.n && test.n < N_TEST - 12; i += 2)
            lines_add(&test, train.s[i], strlen(train.s[i]));
        tap_diag("corpus: wordnet-base not installed; %zu lines of project sources", train.n);
    }
    /* hand-written lines: punctuation, digits, spacing, non-ASCII, unknowns */
    const char *extra[] = {"", "   ", "Hello,  world!", "  leading and trailing  ",
                           "numbers 12345 and 3.14159", "caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9",
                           "snowman \xe2\x98\x83 here", "\xe6\xbc\xa2\xe5\xad\x97 kanji",
                           "not sentinels: <extra_id_100> <extra_id_07> <extra_id_x>",
                           "tabs\there", "(parenthesised; quoted \"text\")", "a"};
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
        lines_add(&test, extra[i], strlen(extra[i]));
    ok(train.n >= 500 && test.n >= 200, "corpus has %zu training and %zu test lines", train.n,
       test.n);
    write_lines(path_in("train.txt"), &train);
    write_lines(path_in("test.txt"), &test);

    /* ---- training ---- */
    mto_options *opts = mto_options_new();
    mto_options_set(opts, "model_type", "unigram");
    int rc = mto_tokenizer_train(path_in("train.txt"), path_in("m"), VOCAB, opts, &err);
    if (!ok(rc == 0, "train a %d-id unigram vocabulary", VOCAB)) {
        tap_diag("%s", err.msg);
        printf("Bail out! training failed\n");
        return 1;
    }
    /* The model records its trainer spec (input, prefix), so train the same
     * prefix twice and compare the files. */
    size_t n1 = 0, n2 = 0;
    char *b1 = slurp(path_in("m.model"), &n1);
    rc = mto_tokenizer_train(path_in("train.txt"), path_in("m"), VOCAB, opts, &err);
    char *b2 = slurp(path_in("m.model"), &n2);
    ok(rc == 0 && b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1),
       "training is deterministic (two runs give identical %zu-byte models)", n1);
    free(b1);
    free(b2);
    mto_options_set(opts, "model_type", "bpe");
    rc = mto_tokenizer_train(path_in("train.txt"), path_in("bpe"), VOCAB, opts, &err);
    ok(rc == 0, "train a BPE vocabulary too");
    mto_options_free(opts);

    mto_tokenizer *tok = NULL, *bpe = NULL;
    rc = mto_tokenizer_open(path_in("m.model"), &tok, &err);
    if (!ok(rc == 0, "load the trained model")) {
        tap_diag("%s", err.msg);
        printf("Bail out! cannot load\n");
        return 1;
    }
    rc = mto_tokenizer_open(path_in("bpe.model"), &bpe, &err);
    ok(rc == 0 && mto_tokenizer_vocab_size(bpe) == VOCAB, "BPE model loads with %d ids", VOCAB);
    mto_tokenizer_free(bpe);

    /* ---- T5 id layout ---- */
    int32_t V = mto_tokenizer_vocab_size(tok);
    is_int(V, VOCAB, "vocab_size = pieces + 100 sentinels");
    is_int(mto_tokenizer_piece_to_id(tok, "<pad>"), 0, "<pad> = 0");
    is_int(mto_tokenizer_piece_to_id(tok, "</s>"), 1, "</s> = 1");
    is_int(mto_tokenizer_piece_to_id(tok, "<unk>"), 2, "<unk> = 2");
    is_int(mto_tokenizer_piece_to_id(tok, "<s>"), -1, "no bos piece");
    is_int(mto_tokenizer_piece_to_id(tok, "<extra_id_0>"), V - 1, "<extra_id_0> = vocab_size-1");
    is_int(mto_tokenizer_piece_to_id(tok, "<extra_id_99>"), V - 100, "<extra_id_99> = vocab_size-100");
    is_int(mto_tokenizer_piece_to_id(tok, "<extra_id_100>"), -1, "<extra_id_100> is no piece");
    is_int(mto_tokenizer_piece_to_id(tok, "no such piece, surely"), -1, "unknown piece -> -1");
    is_int(mto_tokenizer_sentinel(tok, 5), V - 6, "mto_tokenizer_sentinel(5)");

    /* ---- empty input, unknown characters ---- */
    mto_ids ids;
    mto_text txt;
    mto_ids_init(&ids);
    mto_text_init(&txt);
    rc = mto_tokenizer_encode(tok, "", 0, &ids, &err);
    ok(rc == 0 && ids.len == 0, "empty text -> no ids");
    rc = mto_tokenizer_decode(tok, NULL, 0, &txt, &err);
    ok(rc == 0 && txt.len == 0, "no ids -> empty text");
    rc = mto_tokenizer_encode(tok, "\xe2\x98\x83\xe6\xbc\xa2", 6, &ids, &err);
    ok(rc == 0 && ids_contain(&ids, MTO_TOK_UNK), "characters never seen in training -> unk id 2");
    rc = mto_tokenizer_decode(tok, ids.data, ids.len, &txt, &err);
    ok(rc == 0 && strstr(txt.data, "\xe2\x81\x87"), "unk decodes as \xe2\x81\x87 (spm's unk_surface)");
    ids.len = 0;
    txt.len = 0;
    int32_t ctrl[] = {0, 1, 0};
    rc = mto_tokenizer_decode(tok, ctrl, 3, &txt, &err);
    ok(rc == 0 && txt.len == 0, "pad and eos decode to nothing");
    rc = mto_tokenizer_encode(tok, "the dog", 7, &ids, &err);
    ok(rc == 0 && ids.len > 0 && ids.data[ids.len - 1] != MTO_TOK_EOS, "encode does not append eos");
    ids.len = 0;

    /* ---- against Debian's spm_encode / spm_decode ---- */
    const char *enc = spm_tool("spm_encode"), *dec = spm_tool("spm_decode");
    if (!enc || !dec) {
        const char *why = !getenv("SPM_ENCODE") || !*getenv("SPM_ENCODE")
                              ? "SPM_ENCODE not set (install the sentencepiece package)"
                              : "spm_encode/spm_decode not executable";
        for (int i = 0; i < 6; i++) tap_skip(why);
    } else {
        char args[512];
        snprintf(args, sizeof args, "--model='%s' --output_format=id", path_in("m.model"));
        rc = run_tool(enc, args, path_in("test.txt"), path_in("test.ids"));
        size_t nref = 0;
        mto_ids *ref = read_id_lines(path_in("test.ids"), &nref);
        ok(rc == 0 && nref == test.n, "spm_encode ran on %zu lines", nref);
        snprintf(args, sizeof args, "--model='%s' --input_format=id", path_in("m.model"));
        rc = run_tool(dec, args, path_in("test.ids"), path_in("test.dec"));
        lines refdec = {0};
        { /* keep empty lines */
            FILE *f = fopen(path_in("test.dec"), "r");
            char *buf = NULL;
            size_t cap = 0;
            ssize_t len;
            while (f && (len = getline(&buf, &cap, f)) > 0) lines_add(&refdec, buf, strcspn(buf, "\n"));
            free(buf);
            if (f) fclose(f);
        }
        size_t enc_same = 0, dec_same = 0, rt_same = 0, rt_total = 0;
        for (size_t i = 0; i < test.n && i < nref; i++) {
            ids.len = 0;
            txt.len = 0;
            rc = mto_tokenizer_encode(tok, test.s[i], strlen(test.s[i]), &ids, &err);
            if (rc == 0 && ids_equal(&ids, &ref[i])) enc_same++;
            else if (enc_same + 3 > i) tap_diag("line %zu differs: \"%s\"", i, test.s[i]);
            rc = mto_tokenizer_decode(tok, ref[i].data, ref[i].len, &txt, &err);
            if (rc == 0 && i < refdec.n && !strcmp(txt.len ? txt.data : "", refdec.s[i])) dec_same++;
            else if (dec_same + 3 > i) tap_diag("decode %zu: \"%s\" vs \"%s\"", i, txt.data, i < refdec.n ? refdec.s[i] : "");
            if (!ids_contain(&ids, MTO_TOK_UNK) && strncmp(test.s[i], "  ", 2) && !strstr(test.s[i], "  ") && !strchr(test.s[i], '\t')) {
                rt_total++;
                rt_same += !strcmp(txt.len ? txt.data : "", test.s[i]);
            }
        }
        is_int(enc_same, test.n, "encode == spm_encode --output_format=id on every line");
        is_int(dec_same, test.n, "decode == spm_decode --input_format=id on every line");
        ok(rt_total > 250 && rt_same == rt_total, "round trip text: %zu/%zu lines (no unk, single spaces)", rt_same, rt_total);
        free_id_lines(ref, nref);
        lines_free(&refdec);

        /* sentinels spliced between segments: ids(seg0) s ids(seg1) s ... */
        lines segs = {0};
        size_t nlines = 0, first_seg[120], nsegs[120];
        int nums[120][20], nsent[120];
        char *spliced[120];
        for (size_t i = 0; i < test.n && nlines < 120; i++) {
            if (strlen(test.s[i]) < 20 || strstr(test.s[i], "  ") || test.s[i][0] == ' ') continue;
            first_seg[nlines] = segs.n;
            spliced[nlines] = splice_sentinels(test.s[i], 2 + nlines % 4, nlines % 5 == 4, &segs,
                                               nums[nlines], &nsent[nlines]);
            nsegs[nlines] = segs.n - first_seg[nlines];
            nlines++;
        }
        write_lines(path_in("segs.txt"), &segs);
        snprintf(args, sizeof args, "--model='%s' --output_format=id", path_in("m.model"));
        rc = run_tool(enc, args, path_in("segs.txt"), path_in("segs.ids"));
        size_t nsegref = 0;
        mto_ids *segref = read_id_lines(path_in("segs.ids"), &nsegref);
        size_t s_enc = 0, s_dec = 0, s_rt = 0, total_sent = 0;
        for (size_t j = 0; j < nlines && nsegref == segs.n; j++) {
            mto_ids want;
            mto_ids_init(&want);
            for (size_t k = 0; k < nsegs[j]; k++) {
                const mto_ids *r = &segref[first_seg[j] + k];
                for (size_t q = 0; q < r->len; q++) mto_ids_push(&want, r->data[q]);
                if ((int)k < nsent[j]) mto_ids_push(&want, V - 1 - nums[j][k]), total_sent++;
            }
            ids.len = 0;
            txt.len = 0;
            mto_tokenizer_encode(tok, spliced[j], strlen(spliced[j]), &ids, &err);
            if (ids_equal(&ids, &want)) s_enc++;
            else if (s_enc + 3 > j) tap_diag("spliced line differs: \"%s\"", spliced[j]);
            mto_tokenizer_decode(tok, want.data, want.len, &txt, &err);
            /* spaced form decodes to the very text; both forms re-encode to the same ids */
            if (nlines && (j % 5 == 4 || !strcmp(txt.data ? txt.data : "", spliced[j]))) s_dec++;
            else if (s_dec + 3 > j) tap_diag("decode \"%s\" vs \"%s\"", txt.data, spliced[j]);
            mto_ids again;
            mto_ids_init(&again);
            mto_tokenizer_encode(tok, txt.data ? txt.data : "", txt.len, &again, &err);
            s_rt += ids_equal(&again, &want);
            mto_ids_free(&again);
            mto_ids_free(&want);
        }
        ok(nlines >= 100 && total_sent > 300, "%zu lines with %zu sentinels spliced in", nlines, total_sent);
        is_int(s_enc, nlines, "encode with sentinels == spm_encode of the segments + sentinel ids");
        is_int(s_dec, nlines, "decode renders sentinels as <extra_id_N> (spaced text round-trips)");
        is_int(s_rt, nlines, "encode(decode(ids)) == ids with sentinels");
        for (size_t j = 0; j < nlines; j++) free(spliced[j]);
        free_id_lines(segref, nsegref);
        lines_free(&segs);
    }

    ids.len = 0;
    rc = mto_tokenizer_encode(tok, "<extra_id_3><extra_id_4>", 24, &ids, &err);
    ok(rc == 0 && ids.len == 2 && ids.data[0] == V - 4 && ids.data[1] == V - 5,
       "adjacent sentinels -> two ids, nothing between");
    txt.len = 0;
    rc = mto_tokenizer_decode(tok, ids.data, ids.len, &txt, &err);
    is_str(txt.data, "<extra_id_3><extra_id_4>", "adjacent sentinels decode without a space");
    ids.len = 0;
    rc = mto_tokenizer_encode(tok, "<extra_id_100><extra_id_07>", 27, &ids, &err);
    int none = 1;
    for (size_t i = 0; i < ids.len; i++) none &= ids.data[i] < V - 100;
    ok(rc == 0 && none, "<extra_id_100> and <extra_id_07> are ordinary text");

    test_errors(tok, path_in("m.model"));

    mto_ids_free(&ids);
    mto_text_free(&txt);
    mto_tokenizer_free(tok);
    lines_free(&train);
    lines_free(&test);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done();
}
