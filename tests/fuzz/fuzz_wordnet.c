/* fuzz-sources: plugins/readers/wordnet.c plugins/readers/rd_common.c tests/fuzz/fake_host_readers.c */
/* fuzz-cflags: -DRD_NO_PLUGIN_ENTRY */
/* fuzz_wordnet.c — libFuzzer target for the WordNet database parser. The input
 * holds up to four data files (noun, verb, adj, adv) separated by lines "@@";
 * they are loaded with strict=0 (offsets need not be byte offsets, files may be
 * absent) and read as triples (every relation, all words), as multiple-choice
 * questions and as glosses. Errors must name a file; nothing may crash, leak
 * or hang.
 * Run: tests/fuzz/run-fuzzers.sh SECONDS wordnet */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host_readers.h"
#include "plugins/readers/rd_common.h"

static const char *const names[4] = {"fz/data.noun", "fz/data.verb", "fz/data.adj", "fz/data.adv"};

static void run(const uint8_t *data, size_t size, int mode, mto_options *o)
{
    FILE *f[4] = {0};
    const uint8_t *p = data, *end = data + size;
    for (int i = 0; i < 4 && p <= end; i++) {
        const uint8_t *sep = (const uint8_t *)memmem(p, (size_t)(end - p), "\n@@\n", 4);
        const uint8_t *e = sep ? sep + 1 : end;
        if (e > p) f[i] = fmemopen((void *)p, (size_t)(e - p), "rb");
        if (!sep) break;
        p = sep + 4;
    }
    mto_record_sink sink = {0};
    mto_error err = {0};
    int rc = rd_wordnet_run(fake_host(), f, names, "fz", o, mode, &sink, &err);
    for (int i = 0; i < 4; i++)
        if (f[i]) fclose(f[i]);
    if (rc && strncmp(err.msg, "fz", 2) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    mto_options all = {{"strict", "0", "all_words", "1", "relations",
                        "hypernym,hyponym,antonym,derivation,part_holonym,member_meronym,"
                        "definition,example,similar,pertainym"}, 6};
    mto_options mcqa = {{"strict", "0", "nchoices", "3", "seed", "7", "max_synsets", "4"}, 8};
    mto_options gl = {{"strict", "0"}, 2};
    run(data, size, RD_WN_TRIPLES, &all);
    run(data, size, RD_WN_MCQA, &mcqa);
    run(data, size, RD_WN_GLOSSES, &gl);
    return 0;
}
