/* fuzz-sources: plugins/readers/atomic.c plugins/readers/text.c plugins/readers/rd_common.c tests/fuzz/fake_host_readers.c */
/* fuzz-cflags: -DRD_NO_PLUGIN_ENTRY */
/* fuzz_atomic.c — libFuzzer target for the `atomic` and `text` readers' parsing
 * cores: the input is a whole TSV file (fed through fmemopen), read with and
 * without a relation filter and a row limit. A bad file must give an error
 * naming "fuzz.tsv:LINE", never a crash, a leak or a hang.
 * Run: tests/fuzz/run-fuzzers.sh SECONDS atomic */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host_readers.h"
#include "plugins/readers/rd_common.h"

static void run(const uint8_t *data, size_t size, int which, mto_options *o)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return;
    mto_record_sink sink = {0};
    mto_error err = {0};
    int rc = which ? rd_text_parse(fake_host(), f, "fuzz.tsv", o, &sink, &err)
                   : rd_atomic_parse(fake_host(), f, "fuzz.tsv", o, &sink, &err);
    fclose(f);
    /* every error names the file */
    if (rc && strncmp(err.msg, "fuzz.tsv", 8) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    mto_options none = {0};
    mto_options filt = {{"relations", "xIntent,xNeed,none", "max_rows", "3"}, 4};
    run(data, size, 0, &none);
    run(data, size, 0, &filt);
    run(data, size, 1, &none);
    return 0;
}
