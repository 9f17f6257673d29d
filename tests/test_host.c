/* test_host.c — the host buffers plugins fill: ids, text, records, sinks,
 * options, and the seeded generator. */
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "tap.h"

int main(void)
{
    const mto_host *h = mto_host_table();
    is_int(h->abi_version, MTO_ABI_VERSION, "host reports its ABI");
    is_int(h->struct_size, sizeof(mto_host), "host reports its table size");

    mto_ids ids;
    mto_ids_init(&ids);
    for (int i = 0; i < 1000; i++) h->ids_push(&ids, i);
    is_int(h->ids_len(&ids), 1000, "ids grow");
    is_int(h->ids_data(&ids)[999], 999, "ids keep values");
    mto_ids_free(&ids);

    mto_text t;
    mto_text_init(&t);
    is_str(h->text_data(&t), "", "empty text is \"\"");
    h->text_append(&t, "PersonX ", (size_t)-1);
    h->text_append(&t, "applies for jobsXYZ", 16);
    is_str(h->text_data(&t), "PersonX applies for jobs", "text appends, with explicit length");
    mto_text_free(&t);

    mto_record *r = h->record_new();
    h->record_set(r, "head", "PersonX applies", (size_t)-1);
    h->record_set(r, "tail", "to earn", (size_t)-1);
    h->record_set(r, "head", "PersonX runs", (size_t)-1);
    is_str(h->record_get(r, "head"), "PersonX runs", "record_set replaces");
    ok(h->record_get(r, "relation") == NULL, "absent field is NULL");
    is_int(mto_record_nfields(r), 2, "two fields");
    mto_record *c = mto_record_copy(r);
    is_str(mto_record_get(c, "tail"), "to earn", "copy keeps fields");
    mto_record_free(c);

    mto_record_sink sink;
    mto_sink_init(&sink);
    mto_error err;
    is_int(h->record_emit(&sink, r, &err), 0, "emit");
    h->sink_count(&sink, "none_tails", 2);
    h->sink_count(&sink, "none_tails", 3);
    is_int(sink.len, 1, "sink holds the record");
    is_int(mto_sink_get_count(&sink, "none_tails"), 5, "counters add up");
    is_int(mto_sink_get_count(&sink, "other"), 0, "absent counter is 0");
    mto_sink_free(&sink);

    mto_options *o = mto_options_new();
    mto_options_set(o, "density", "0.15");
    mto_options_set(o, "masked", "true");
    is_near(h->opt_num(o, "density", 0), 0.15, 1e-12, "numeric option");
    is_near(h->opt_num(o, "masked", 0), 1, 0, "boolean option");
    is_near(h->opt_num(o, "mean_span", 3), 3, 0, "default for absent option");
    is_str(h->opt_str(o, "missing", "dflt"), "dflt", "string default");
    mto_options_free(o);

    mto_rng a, b;
    mto_rng_seed(&a, 42);
    mto_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= mto_rng_u64(&a) == mto_rng_u64(&b);
    ok(same, "same seed, same stream");
    mto_rng_seed(&b, 43);
    ok(mto_rng_u64(&a) != mto_rng_u64(&b), "different seed, different stream");
    double sum = 0;
    int inrange = 1, counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        double u = mto_rng_uniform(&a);
        inrange &= u >= 0 && u < 1;
        sum += u;
        counts[mto_rng_below(&a, 7)]++;
    }
    ok(inrange, "uniform in [0,1)");
    is_near(sum / 70000, 0.5, 0.01, "uniform mean ~0.5");
    int flat = 1;
    for (int k = 0; k < 7; k++) flat &= abs(counts[k] - 10000) < 500;
    ok(flat, "rng_below(7) is flat");
    return tap_done();
}
