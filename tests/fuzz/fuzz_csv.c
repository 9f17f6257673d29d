/* fuzz-sources: plugins/readers/csv.c plugins/readers/csv_core.c plugins/readers/mcqa.c plugins/readers/rd_common.c tests/fuzz/fake_host_readers.c */
/* fuzz-libs: -lcsv -ljansson */
/* fuzz-cflags: -DRD_NO_PLUGIN_ENTRY */
/* fuzz_csv.c — libFuzzer target for the `csv` and `mcqa` readers: the input is
 * a whole file read as CSV with a header, as headerless TSV with a column map,
 * as mcqa CSV and as mcqa JSON Lines. Errors must name "fuzz.csv", nothing may
 * crash, leak or hang.
 * Run: tests/fuzz/run-fuzzers.sh SECONDS csv */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host_readers.h"
#include "plugins/readers/rd_common.h"

static void run(const uint8_t *data, size_t size, int mcqa, mto_options *o)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return;
    mto_record_sink sink = {0};
    mto_error err = {0};
    int rc = mcqa ? rd_mcqa_parse(fake_host(), f, "fuzz.csv", o, &sink, &err)
                  : rd_csv_parse(fake_host(), f, "fuzz.csv", o, &sink, &err);
    fclose(f);
    if (rc && strncmp(err.msg, "fuzz.csv", 8) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    mto_options plain = {0};
    mto_options tsv = {{"delimiter", "\\t", "header", "0", "map", "head=1,tail=2"}, 6};
    mto_options mcsv = {{"format", "csv"}, 2};
    mto_options mjson = {{"format", "jsonl", "max_rows", "2"}, 4};
    run(data, size, 0, &plain);
    run(data, size, 0, &tsv);
    run(data, size, 1, &mcsv);
    run(data, size, 1, &mjson);
    return 0;
}
