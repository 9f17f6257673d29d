/* test_readers_plugins.c — every task reader through the real host: good input
 * (the ATOMIC-2020 sample, inline CSV/TSV/JSONL, a miniature WordNet written
 * here with correct byte offsets, and the installed WordNet when present) and
 * bad input (malformed rows, missing files, damaged WordNet, unknown filters):
 * each error must name file:line and nothing may crash. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mto/host.h"
#include "tap.h"

static char tmpdir[64];

static const char *tmpfile_with(const char *name, const char *text)
{
    static char paths[32][128];
    static int next;
    char *p = paths[next++ % 32];
    snprintf(p, 128, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f) return p;
    fputs(text, f);
    fclose(f);
    return p;
}

/* Run reader `name` on path with options "k=v" ... (NULL-terminated). */
static int run(const char *name, const char *path, mto_record_sink *sink, mto_error *err, ...)
{
    mto_error_clear(err);
    mto_sink_init(sink);
    const mto_plugin_desc *d = mto_plugin_require(MTO_KIND_READER, name, err);
    if (!d) return err->code;
    mto_options *o = mto_options_new();
    va_list ap;
    va_start(ap, err);
    for (const char *kv; (kv = va_arg(ap, const char *));) {
        char key[64];
        const char *eq = strchr(kv, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
        mto_options_set(o, key, eq + 1);
    }
    va_end(ap);
    int rc = ((const mto_reader_ops *)d->ops)->read(mto_host_table(), path, o, sink, err);
    mto_options_free(o);
    return rc;
}

static const char *get(const mto_record_sink *s, size_t i, const char *field)
{
    return i < s->len ? mto_record_get(s->items[i], field) : NULL;
}

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_atomic(void)
{
    mto_record_sink s;
    mto_error err;
    char want[512];
    const char *shared = getenv("MTO_SHARED_DATA");
    char sample[512];
    snprintf(sample, sizeof sample, "%s/atomic2020-sample/test.tsv", shared ? shared : "");
    if (shared && access(sample, R_OK) == 0) {
        int rc = run("atomic", sample, &s, &err, NULL);
        is_int(rc, 0, "atomic: sample test.tsv reads");
        is_int(s.len, 272, "atomic: 272 triples in test.tsv");
        is_int(mto_sink_get_count(&s, "none_tails"), 12, "atomic: 12 'none' tails counted");
        is_str(get(&s, 0, "head"), "PersonX applies for jobs", "atomic: header layout head");
        is_str(get(&s, 0, "relation"), "xIntent", "atomic: prefix column is the relation");
        is_str(get(&s, 0, "tail"), "to afford food and rent", "atomic: target_text is the tail");
        is_str(get(&s, 0, "line"), "2", "atomic: line numbers count the header");
        is_str(get(&s, 0, "group"), "social", "atomic: xIntent is a social relation");
        mto_sink_free(&s);
    } else {
        for (int i = 0; i < 8; i++) tap_skip("no MTO_SHARED_DATA/atomic2020-sample");
    }

    const char *p = tmpfile_with("orig.tsv", "PersonX eats\txWant\tto sleep\n"
                                             "PersonX eats\txNeed\tnone\n"
                                             "PersonX runs\txIntent\t\n"
                                             "\n"
                                             "PersonX runs\tAtLocation\t park \r\n");
    is_int(run("atomic", p, &s, &err, NULL), 0, "atomic: 3-column layout reads");
    is_int(s.len, 2, "atomic: none and empty tails skipped");
    is_int(mto_sink_get_count(&s, "none_tails"), 1, "atomic: none_tails counted");
    is_int(mto_sink_get_count(&s, "empty_tails"), 1, "atomic: empty_tails counted");
    is_str(get(&s, 1, "tail"), "park", "atomic: tail trimmed, CRLF handled");
    is_str(get(&s, 1, "line"), "5", "atomic: line after a blank line");
    is_str(get(&s, 1, "group"), "physical", "atomic: AtLocation is physical");
    mto_sink_free(&s);

    is_int(run("atomic", p, &s, &err, "relations=xwant,AtLocation", NULL), 0, "atomic: filter");
    is_int(s.len, 2, "atomic: relation filter keeps 2 (case-insensitive)");
    mto_sink_free(&s);
    is_int(run("atomic", p, &s, &err, "max_rows=1", NULL), 0, "atomic: max_rows");
    is_int(s.len, 1, "atomic: max_rows=1 gives one record");
    mto_sink_free(&s);

    is_int(run("atomic", p, &s, &err, "relations=xWnat", NULL), MTO_EINVAL,
           "atomic: unknown relation in filter is an error");
    ok(strstr(err.msg, "xWnat") && starts_with(err.msg, p), "atomic: message names file and relation: %s",
       err.msg);
    mto_sink_free(&s);

    p = tmpfile_with("bad.tsv", "PersonX eats\txWant\tto sleep\nPersonX eats\txNeed\n");
    is_int(run("atomic", p, &s, &err, NULL), MTO_EFORMAT, "atomic: short row is a format error");
    snprintf(want, sizeof want, "%s:2: expected 3 tab-separated columns, found 2", p);
    is_str(err.msg, want, "atomic: error names file:line and the column count");
    mto_sink_free(&s);

    p = tmpfile_with("bad4.tsv", "h\tr\tt\textra\n");
    is_int(run("atomic", p, &s, &err, NULL), MTO_EFORMAT, "atomic: long row is a format error");
    snprintf(want, sizeof want, "%s:1: expected 3 tab-separated columns, found 4", p);
    is_str(err.msg, want, "atomic: 4 columns reported");
    mto_sink_free(&s);

    p = tmpfile_with("badutf.tsv", "h\tr\tt\nh\xff\tr\tt\n");
    is_int(run("atomic", p, &s, &err, NULL), MTO_EFORMAT, "atomic: invalid UTF-8 is an error");
    ok(strstr(err.msg, ":2: invalid UTF-8") != NULL, "atomic: UTF-8 error names line 2: %s", err.msg);
    mto_sink_free(&s);

    snprintf(want, sizeof want, "%s/no-such.tsv", tmpdir);
    is_int(run("atomic", want, &s, &err, NULL), MTO_EIO, "atomic: missing file is an I/O error");
    ok(starts_with(err.msg, want), "atomic: message names the missing file: %s", err.msg);
    mto_sink_free(&s);
}

static void test_csv_text(void)
{
    mto_record_sink s;
    mto_error err;
    char want[512];
    const char *p = tmpfile_with("a.csv", "input_text,prefix,target_text\n"
                                          "\"PersonX says \"\"hi\"\", then\nleaves\",xIntent,café\n"
                                          "PersonX waves,xWant,\"to be seen\"\n");
    is_int(run("csv", p, &s, &err, NULL), 0, "csv: quoted fields and embedded newline");
    is_int(s.len, 2, "csv: two rows");
    is_str(get(&s, 0, "input_text"), "PersonX says \"hi\", then\nleaves", "csv: quotes and newline kept");
    is_str(get(&s, 0, "target_text"), "café", "csv: UTF-8 kept");
    is_str(get(&s, 1, "line"), "4", "csv: line count includes the embedded newline");
    mto_sink_free(&s);

    is_int(run("csv", p, &s, &err, "map=head=input_text,relation=2", "map.tail=target_text", NULL), 0,
           "csv: map option");
    is_str(get(&s, 1, "head"), "PersonX waves", "csv: map by name");
    is_str(get(&s, 1, "relation"), "xWant", "csv: map by 1-based index");
    is_str(get(&s, 1, "tail"), "to be seen", "csv: map.FIELD option");
    ok(get(&s, 1, "prefix") == NULL, "csv: unmapped columns are not emitted");
    mto_sink_free(&s);

    is_int(run("csv", p, &s, &err, "map.head=nope", NULL), MTO_ENOTFOUND, "csv: map to a missing column");
    ok(strstr(err.msg, "nope") && strstr(err.msg, "input_text"), "csv: message lists columns: %s", err.msg);
    mto_sink_free(&s);

    p = tmpfile_with("t.tsv", "a\tb\n1\t\n\n3\t4\n");
    is_int(run("csv", p, &s, &err, "delimiter=\\t", NULL), 0, "csv: TSV with an empty field");
    is_int(s.len, 2, "csv: blank line skipped");
    is_str(get(&s, 0, "b"), "", "csv: empty last field");
    is_str(get(&s, 1, "line"), "4", "csv: TSV line numbers");
    mto_sink_free(&s);
    is_int(run("csv", p, &s, &err, "header=0", NULL), 0, "csv: no header (.tsv implies tab)");
    is_str(get(&s, 0, "col2"), "b", "csv: columns named col1..colN");
    mto_sink_free(&s);

    p = tmpfile_with("bad.csv", "a,b,c\n1,2,3\n\"x\ny\",2,3\n4,5\n");
    is_int(run("csv", p, &s, &err, NULL), MTO_EFORMAT, "csv: short row is an error");
    snprintf(want, sizeof want, "%s:5: expected 3 columns, found 2", p);
    is_str(err.msg, want, "csv: error line counts embedded newlines");
    mto_sink_free(&s);

    p = tmpfile_with("unterminated.csv", "a,b\n1,2\n3,\"open\nstill open\n");
    is_int(run("csv", p, &s, &err, NULL), MTO_EFORMAT, "csv: unterminated quote is an error");
    snprintf(want, sizeof want, "%s:3: unterminated quoted field", p);
    ok(starts_with(err.msg, want), "csv: names the line where the row starts: %s", err.msg);
    mto_sink_free(&s);

    p = tmpfile_with("stray.csv", "a,b\n1,\"x\"y\n");
    is_int(run("csv", p, &s, &err, NULL), MTO_EFORMAT, "csv: stray quote is an error");
    snprintf(want, sizeof want, "%s:2: malformed quoted field", p);
    ok(starts_with(err.msg, want), "csv: stray quote names file:line: %s", err.msg);
    mto_sink_free(&s);

    is_int(run("csv", p, &s, &err, "delimiter=ab", NULL), MTO_EINVAL, "csv: bad delimiter option");
    mto_sink_free(&s);

    p = tmpfile_with("t.txt", "\xef\xbb\xbf" "first passage\n\n   \nsecond passage  \n");
    is_int(run("text", p, &s, &err, NULL), 0, "text: reads");
    is_int(s.len, 2, "text: blank lines skipped");
    is_str(get(&s, 0, "text"), "first passage", "text: BOM stripped");
    is_str(get(&s, 1, "text"), "second passage", "text: trimmed");
    is_str(get(&s, 1, "line"), "4", "text: line numbers");
    is_int(mto_sink_get_count(&s, "blank_lines"), 2, "text: blank_lines counted");
    mto_sink_free(&s);
}

static void test_mcqa(void)
{
    mto_record_sink s;
    mto_error err;
    char want[512];
    const char *p = tmpfile_with("q.jsonl",
        "{\"answerKey\": \"C\", \"id\": \"q1\", \"question\": {\"question_concept\": \"x\", "
        "\"choices\": [{\"label\": \"A\", \"text\": \"bank\"}, {\"label\": \"B\", \"text\": \"library\"}, "
        "{\"label\": \"C\", \"text\": \"department store\"}, {\"label\": \"D\", \"text\": \"mall\"}, "
        "{\"label\": \"E\", \"text\": \"new york\"}], \"stem\": \"A revolving door is convenient for "
        "two direction travel, but it also serves as a security measure at a what?\"}}\n"
        "\n"
        "{\"id\": \"q2\", \"question\": \"hf layout\", \"choices\": {\"label\": [\"A\", \"B\"], "
        "\"text\": [\"yes\", \"no\"]}, \"answerKey\": \"B\"}\n"
        "{\"id\": \"q3\", \"question\": {\"stem\": \"test split\", \"choices\": [{\"label\": \"A\", "
        "\"text\": \"u\"}, {\"label\": \"B\", \"text\": \"v\"}]}}\n");
    is_int(run("mcqa", p, &s, &err, NULL), 0, "mcqa: CommonsenseQA JSON Lines");
    is_int(s.len, 3, "mcqa: three questions");
    is_str(get(&s, 0, "choice3"), "department store", "mcqa: choice3 text");
    is_str(get(&s, 0, "answer"), "choice3", "mcqa: answer is the choice field name");
    is_str(get(&s, 0, "answer_text"), "department store", "mcqa: answer_text");
    is_str(get(&s, 0, "nchoices"), "5", "mcqa: nchoices");
    is_str(get(&s, 1, "answer_index"), "2", "mcqa: HF layout answer index");
    is_str(get(&s, 1, "line"), "3", "mcqa: JSONL line numbers");
    ok(get(&s, 2, "answer") == NULL, "mcqa: unlabelled row has no answer");
    is_int(mto_sink_get_count(&s, "unlabelled"), 1, "mcqa: unlabelled counted");
    mto_sink_free(&s);

    p = tmpfile_with("q.csv", "id,question,A,B,C,answerKey\n"
                              "1,\"Where, then?\",here,there,\"every\nwhere\",B\n"
                              "2,Which?,x,y,z,choice3\n");
    is_int(run("mcqa", p, &s, &err, NULL), 0, "mcqa: CSV");
    is_str(get(&s, 0, "question"), "Where, then?", "mcqa: CSV question");
    is_str(get(&s, 0, "choice3"), "every\nwhere", "mcqa: CSV embedded newline");
    is_str(get(&s, 0, "answer"), "choice2", "mcqa: CSV label answer");
    is_str(get(&s, 1, "answer_text"), "z", "mcqa: choiceN answer");
    is_str(get(&s, 1, "line"), "4", "mcqa: CSV line numbers");
    mto_sink_free(&s);

    p = tmpfile_with("badkey.jsonl", "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answerKey\": \"a\"}\n"
                                     "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answerKey\": \"Z\"}\n");
    is_int(run("mcqa", p, &s, &err, NULL), MTO_EFORMAT, "mcqa: unknown answer key is an error");
    snprintf(want, sizeof want, "%s:2: answer key 'Z'", p);
    ok(starts_with(err.msg, want), "mcqa: names file:line: %s", err.msg);
    mto_sink_free(&s);

    p = tmpfile_with("badjson.jsonl", "{\"question\": \"q\", \"choices\": [\"a\", \"b\"]}\n{\"question\": \n");
    is_int(run("mcqa", p, &s, &err, NULL), MTO_EFORMAT, "mcqa: broken JSON is an error");
    snprintf(want, sizeof want, "%s:2:", p);
    ok(starts_with(err.msg, want) && strstr(err.msg, "invalid JSON"), "mcqa: JSON error names file:line: %s",
       err.msg);
    mto_sink_free(&s);

    p = tmpfile_with("nochoices.csv", "question,answer\nq,a\n");
    is_int(run("mcqa", p, &s, &err, NULL), MTO_EFORMAT, "mcqa: CSV without choice columns");
    snprintf(want, sizeof want, "%s:1:", p);
    ok(starts_with(err.msg, want), "mcqa: header error names line 1: %s", err.msg);
    mto_sink_free(&s);
}

/* ---- a miniature WordNet ------------------------------------------------- */

/* Synset lines with fixed-width offsets, so the byte offsets can be computed
 * before they are written: "{X}" is replaced by synset X's offset. */
typedef struct mini { const char *file, *id, *line; } mini;
static const mini mini_db[] = {
    {"data.noun", "N0", "{N0} 05 n 02 dog 0 domestic_dog 0 003 @ {N1} n 0000 #m {N2} n 0000 + {V0} v 0101 | a domesticated carnivore; \"the dog barked all night\"; \"a good dog\"  "},
    {"data.noun", "N1", "{N1} 05 n 01 canine 0 001 ~ {N0} n 0000 | a carnivore with strong teeth  "},
    {"data.noun", "N2", "{N2} 14 n 01 pack 0 001 %m {N0} n 0000 | a group of hunting animals  "},
    {"data.noun", "N3", "{N3} 08 n 01 tail 0 001 #p {N0} n 0000 | the rear part of an animal  "},
    {"data.noun", "N4", "{N4} 05 n 01 wolf 0 000 | a wild carnivore  "},
    {"data.noun", "N5", "{N5} 05 n 01 cat 0 000 | a small feline  "},
    {"data.noun", "N6", "{N6} 13 n 01 milk 0 000 | a white liquid  "},
    {"data.verb", "V0", "{V0} 32 v 01 bark 0 001 + {N0} n 0101 01 + 02 00 | speak in an unfriendly tone  "},
    {"data.adj", "A0", "{A0} 00 a 01 big(a) 0 001 ! {A1} a 0101 | above average in size  "},
    {"data.adj", "A1", "{A1} 00 a 01 small 0 001 ! {A0} a 0101 | limited in size  "},
    {"data.adv", "R0", "{R0} 02 r 01 quickly 0 000 | with speed; \"he ran quickly\"  "},
};
#define N_MINI (sizeof mini_db / sizeof mini_db[0])
static const char *const wn_files[] = {"data.noun", "data.verb", "data.adj", "data.adv"};
static const char license[] = "  1 This is a test database, not WordNet.  \n";

/* Write the miniature database into dir; damage: 0 none, 1 shift offsets,
 * 2 truncate the last noun line, 3 dangling pointer, 4 drop data.verb. */
static void write_mini(const char *dir, int damage)
{
    long off[N_MINI];
    char lines[N_MINI][512];
    for (int pass = 0; pass < 2; pass++) {
        for (int fi = 0; fi < 4; fi++) {
            long pos = (long)strlen(license);
            for (size_t i = 0; i < N_MINI; i++) {
                if (strcmp(mini_db[i].file, wn_files[fi])) continue;
                if (pass == 0) off[i] = pos;
                char *o = lines[i];
                for (const char *s = mini_db[i].line; *s;) {
                    if (*s == '{') {
                        const char *e = strchr(s, '}');
                        long v = 0;
                        for (size_t k = 0; k < N_MINI; k++)
                            if (!strncmp(mini_db[k].id, s + 1, (size_t)(e - s - 1)) &&
                                strlen(mini_db[k].id) == (size_t)(e - s - 1))
                                v = pass ? off[k] : 0;
                        /* damage 3: N3's pointer (not its own offset) leads nowhere */
                        if (damage == 3 && pass && !strcmp(mini_db[i].id, "N3") && s != mini_db[i].line)
                            v = 99999;
                        o += sprintf(o, "%08ld", v);
                        s = e + 1;
                    } else {
                        *o++ = *s++;
                    }
                }
                *o = '\0';
                pos += (long)strlen(lines[i]) + 1;
            }
        }
    }
    for (int fi = 0; fi < 4; fi++) {
        if (damage == 4 && fi == 1) continue;
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, wn_files[fi]);
        FILE *f = fopen(path, "wb");
        if (!f) continue;
        fputs(damage == 1 && fi == 0 ? "  1 an extra byte shifts every offset.  \n" : license, f);
        for (size_t i = 0; i < N_MINI; i++) {
            if (strcmp(mini_db[i].file, wn_files[fi])) continue;
            if (damage == 2 && !strcmp(mini_db[i].id, "N6")) {
                fprintf(f, "%.20s\n", lines[i]);
                continue;
            }
            fprintf(f, "%s\n", lines[i]);
        }
        fclose(f);
    }
}

/* Index of the first record with head/relation/tail, or -1. */
static long find(const mto_record_sink *s, const char *head, const char *rel, const char *tail)
{
    for (size_t i = 0; i < s->len; i++) {
        const char *h = get(s, i, "head"), *r = get(s, i, "relation"), *t = get(s, i, "tail");
        if (h && r && t && !strcmp(h, head) && !strcmp(r, rel) && !strcmp(t, tail)) return (long)i;
    }
    return -1;
}

static void test_wordnet(void)
{
    mto_record_sink s;
    mto_error err;
    char dir[128], want[512];
    snprintf(dir, sizeof dir, "%s/wn", tmpdir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) tap_diag("mkdir failed");
    write_mini(dir, 0);

    is_int(run("wordnet", dir, &s, &err, NULL), 0, "wordnet: miniature database reads");
    if (err.code) tap_diag("%s", err.msg);
    ok(find(&s, "dog", "hypernym", "canine") >= 0, "wordnet: dog hypernym canine");
    ok(find(&s, "dog", "member_holonym", "pack") >= 0, "wordnet: dog member_holonym pack");
    ok(find(&s, "tail", "part_holonym", "dog") >= 0, "wordnet: tail part_holonym dog");
    ok(find(&s, "big", "antonym", "small") >= 0, "wordnet: antonym, adjective marker stripped");
    ok(find(&s, "dog", "definition", "a domesticated carnivore") >= 0, "wordnet: definition");
    ok(find(&s, "dog", "example", "the dog barked all night") >= 0, "wordnet: first example");
    ok(find(&s, "dog", "example", "a good dog") >= 0, "wordnet: second example");
    ok(find(&s, "dog", "derivation", "bark") >= 0, "wordnet: derivation across files");
    ok(find(&s, "canine", "hyponym", "dog") < 0, "wordnet: hyponym not in the default set");
    long k = find(&s, "dog", "hypernym", "canine");
    is_str(get(&s, (size_t)(k < 0 ? 0 : k), "synset"), "00000044-n", "wordnet: synset id is offset-pos");
    is_str(get(&s, (size_t)(k < 0 ? 0 : k), "line"), "2", "wordnet: line in data.noun");
    is_str(get(&s, (size_t)(k < 0 ? 0 : k), "pos"), "n", "wordnet: pos");
    mto_sink_free(&s);

    is_int(run("wordnet", dir, &s, &err, "relations=hypernym", NULL), 0, "wordnet: relation filter");
    is_int(s.len, 1, "wordnet: one hypernym triple");
    mto_sink_free(&s);
    is_int(run("wordnet", dir, &s, &err, "pos=adj", "relations=antonym,definition", NULL), 0,
           "wordnet: pos filter");
    is_int(s.len, 4, "wordnet: 2 antonyms + 2 definitions among adjectives");
    mto_sink_free(&s);
    is_int(run("wordnet", dir, &s, &err, "relations=definition", "max_synsets=3", NULL), 0,
           "wordnet: max_synsets");
    is_int(s.len, 3, "wordnet: max_synsets=3 gives 3 definitions");
    mto_sink_free(&s);
    is_int(run("wordnet", dir, &s, &err, "relations=hypernim", NULL), MTO_EINVAL,
           "wordnet: unknown relation is an error");
    ok(strstr(err.msg, "hypernim") && strstr(err.msg, "hypernym"), "wordnet: message lists relations: %s",
       err.msg);
    mto_sink_free(&s);

    /* multiple choice: seeded, distinct choices, the answer among them */
    is_int(run("wordnet_mcqa", dir, &s, &err, "pos=n", "seed=3", NULL), 0, "wordnet_mcqa: reads");
    is_int(s.len, 7, "wordnet_mcqa: one question per noun synset");
    int good = 1;
    for (size_t i = 0; i < s.len; i++) {
        const char *a = get(&s, i, "answer"), *t = get(&s, i, "answer_text");
        good &= a && t && get(&s, i, a) && !strcmp(get(&s, i, a), t);
        for (int c = 1; c <= 5; c++)
            for (int d = c + 1; d <= 5; d++) {
                char kc[16], kd[16];
                snprintf(kc, sizeof kc, "choice%d", c), snprintf(kd, sizeof kd, "choice%d", d);
                good &= get(&s, i, kc) && get(&s, i, kd) && strcmp(get(&s, i, kc), get(&s, i, kd));
            }
    }
    ok(good, "wordnet_mcqa: answer field names the right choice; 5 distinct choices");
    ok(strstr(get(&s, 0, "question") ? get(&s, 0, "question") : "", "a domesticated carnivore") != NULL,
       "wordnet_mcqa: question quotes the definition");
    char first[256];
    snprintf(first, sizeof first, "%s/%s/%s", get(&s, 0, "choice1"), get(&s, 0, "choice2"),
             get(&s, 0, "answer"));
    mto_sink_free(&s);
    run("wordnet_mcqa", dir, &s, &err, "pos=n", "seed=3", NULL);
    char again[256];
    snprintf(again, sizeof again, "%s/%s/%s", get(&s, 0, "choice1"), get(&s, 0, "choice2"),
             get(&s, 0, "answer"));
    is_str(again, first, "wordnet_mcqa: same seed, same question");
    mto_sink_free(&s);
    is_int(run("wordnet_mcqa", dir, &s, &err, "pos=a", NULL), MTO_EINVAL,
           "wordnet_mcqa: too few adjectives for 5 choices is an error");
    mto_sink_free(&s);

    is_int(run("wordnet_glosses", dir, &s, &err, NULL), 0, "wordnet_glosses: reads");
    is_int(s.len, 11, "wordnet_glosses: one gloss per synset");
    is_str(get(&s, 0, "text"), "a domesticated carnivore; \"the dog barked all night\"; \"a good dog\"",
           "wordnet_glosses: text is the whole gloss");
    mto_sink_free(&s);

    /* damage */
    write_mini(dir, 1);
    is_int(run("wordnet", dir, &s, &err, NULL), MTO_EFORMAT, "wordnet: shifted offsets detected");
    snprintf(want, sizeof want, "%s/data.noun:2: synset offset", dir);
    ok(starts_with(err.msg, want), "wordnet: offset error names file:line: %s", err.msg);
    mto_sink_free(&s);
    write_mini(dir, 2);
    is_int(run("wordnet", dir, &s, &err, NULL), MTO_EFORMAT, "wordnet: truncated line detected");
    snprintf(want, sizeof want, "%s/data.noun:8: expected", dir);
    ok(starts_with(err.msg, want), "wordnet: truncation names file:line: %s", err.msg);
    mto_sink_free(&s);
    write_mini(dir, 3);
    is_int(run("wordnet", dir, &s, &err, NULL), MTO_EFORMAT, "wordnet: dangling pointer detected");
    snprintf(want, sizeof want, "%s/data.noun:5: pointer '#p' to 00099999", dir);
    ok(starts_with(err.msg, want), "wordnet: dangling pointer names file:line: %s", err.msg);
    mto_sink_free(&s);
    write_mini(dir, 0);
    snprintf(want, sizeof want, "%s/data.verb", dir);
    remove(want);
    is_int(run("wordnet", dir, &s, &err, NULL), MTO_EIO, "wordnet: missing data.verb");
    ok(starts_with(err.msg, want), "wordnet: names the missing file: %s", err.msg);
    mto_sink_free(&s);
    snprintf(want, sizeof want, "%s/nowhere", tmpdir);
    is_int(run("wordnet", want, &s, &err, NULL), MTO_EIO, "wordnet: missing directory");
    ok(strstr(err.msg, "nowhere/data.noun") != NULL, "wordnet: names the file: %s", err.msg);
    mto_sink_free(&s);

    /* the installed database, when wordnet-base is there */
    if (access("/usr/share/wordnet/data.noun", R_OK) == 0) {
        is_int(run("wordnet", "", &s, &err, "pos=n,a", "relations=hypernym,antonym", NULL), 0,
               "wordnet: installed database (default dir) reads");
        ok(find(&s, "dog", "hypernym", "canine") >= 0, "wordnet: installed dog hypernym canine");
        ok(find(&s, "able", "antonym", "unable") >= 0, "wordnet: installed able antonym unable");
        ok(s.len > 80000, "wordnet: %zu noun hypernym + adjective antonym triples", s.len);
        mto_sink_free(&s);
    } else {
        for (int i = 0; i < 4; i++) tap_skip("wordnet-base not installed");
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mto-readers-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! cannot make a temporary directory\n");
        return 1;
    }
    mto_error err = {0};
    mto_plugins_load_all(&err);
    const char *names[] = {"atomic", "csv", "text", "mcqa", "wordnet", "wordnet_mcqa", "wordnet_glosses"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ok(mto_plugin_find(MTO_KIND_READER, names[i]) != NULL, "reader '%s' is registered", names[i]);
    for (size_t i = 0; i < mto_plugin_problem_count(); i++) tap_diag("%s", mto_plugin_problem_at(i));
    test_atomic();
    test_csv_text();
    test_mcqa();
    test_wordnet();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) tap_diag("could not remove %s", tmpdir);
    return tap_done();
}
