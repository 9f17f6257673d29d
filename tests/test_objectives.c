/* test_objectives.c — the objective plugins, through the real loader:
 * span_corruption statistics (density, span length, placement), sentinel
 * order and reconstruction, edge lengths, iid_denoising, prefix_lm, mapping,
 * salient_span, the example deshuffle plugin, and bad options / input. */
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "tap.h"

#define S0 32099 /* <extra_id_0> */
#define EOS 1
#define BASE 100 /* text token ids are BASE + i: never a sentinel or eos */

typedef struct {
    const mto_objective_ops *ops;
    void *state;
} obj;

static int is_sentinel(int32_t id) { return id <= S0 && id > S0 - 100; }

/* Create an objective from "k=v" option pairs (NULL-terminated). */
static int obj_new(obj *o, const char *name, const char **kv, mto_error *err)
{
    const mto_plugin_desc *d = mto_plugin_require(MTO_KIND_OBJECTIVE, name, err);
    if (!d) return err->code;
    mto_options *opts = mto_options_new();
    for (; kv && kv[0]; kv += 2) mto_options_set(opts, kv[0], kv[1]);
    o->ops = d->ops;
    o->state = NULL;
    int rc = o->ops->create(mto_host_table(), opts, &o->state, err);
    mto_options_free(opts);
    return rc;
}

static void obj_free(obj *o)
{
    if (o->ops) o->ops->destroy(o->state);
}

static mto_objective_io io_text(const int32_t *text, size_t n)
{
    mto_objective_io io = {sizeof io, text, n, NULL, 0, 0, 0, EOS, S0, 100};
    return io;
}

static int run(obj *o, const mto_objective_io *io, uint64_t seed, mto_ids *in, mto_ids *tgt,
               mto_error *err)
{
    mto_rng rng;
    mto_rng_seed(&rng, seed);
    mto_ids_init(in);
    mto_ids_init(tgt);
    return o->ops->apply(o->state, io, &rng, in, tgt, err);
}

/* Put the target's spans back into the input's sentinels; 1 if that gives
 * text[0..n) and the sentinels count 0, 1, 2, ... on both sides. */
static int reconstructs(const mto_ids *in, const mto_ids *tgt, const int32_t *text, size_t n)
{
    size_t out = 0, t = 0;
    int32_t want = S0;
    if (tgt->len == 0 || tgt->data[tgt->len - 1] != EOS) return 0;
    for (size_t i = 0; i < in->len; i++) {
        if (!is_sentinel(in->data[i])) {
            if (out >= n || text[out++] != in->data[i]) return 0;
            continue;
        }
        if (in->data[i] != want || t >= tgt->len || tgt->data[t] != want) return 0;
        want--;
        for (t++; t < tgt->len - 1 && !is_sentinel(tgt->data[t]); t++)
            if (out >= n || text[out++] != tgt->data[t]) return 0;
    }
    return out == n && t == tgt->len - 1;
}

/* noise mask recovered from an output: mask[i] = 1 if text[i] went to the target */
static void noise_mask(const mto_ids *in, size_t n, unsigned char *mask)
{
    memset(mask, 1, n);
    for (size_t i = 0; i < in->len; i++)
        if (!is_sentinel(in->data[i])) mask[in->data[i] - BASE] = 0;
}

static size_t count_spans(const unsigned char *m, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += m[i] && (i == 0 || !m[i - 1]);
    return k;
}

static void test_span_corruption(int32_t *text)
{
    mto_error err = {0};
    obj o;
    mto_ids in, tgt;
    unsigned char mask[512];
    ok(obj_new(&o, "span_corruption", NULL, &err) == 0, "span_corruption: create (%s)", err.msg);

    /* 512 tokens: noise = round(76.8) = 77 in round(77/3) = 26 spans (+1 when rolled over the end) */
    mto_objective_io io = io_text(text, 512);
    int all_rec = 1, all77 = 1, sorted = 1;
    double spans = 0, noise_tok = 0;
    const int draws = 400;
    for (int s = 0; s < draws; s++) {
        if (run(&o, &io, (uint64_t)s, &in, &tgt, &err)) { all_rec = 0; break; }
        all_rec &= reconstructs(&in, &tgt, text, 512);
        noise_mask(&in, 512, mask);
        size_t k = 0;
        for (int i = 0; i < 512; i++) k += mask[i];
        all77 &= k == 77;
        size_t ns = count_spans(mask, 512);
        sorted &= ns == 26 || ns == 27;
        spans += (double)ns;
        noise_tok += (double)k;
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(all_rec, "span_corruption: %d draws reconstruct, sentinels in order", draws);
    ok(all77, "span_corruption: every draw masks round(512*0.15) = 77 tokens");
    ok(sorted, "span_corruption: 26 spans (27 when a span wraps the end)");
    is_near(noise_tok / (draws * 512.0), 0.15, 0.002, "span_corruption: noise density 0.15");
    is_near(noise_tok / spans, 3.0, 0.12, "span_corruption: mean span length ~3");
    tap_diag("measured mean span length %.3f over %d draws", noise_tok / spans, draws);

    /* placement on short sentences: each position noise with p = 2/10 */
    io = io_text(text, 10);
    int last = 0, first = 0, only_end = 0, pos_hits[10] = {0};
    const int n10 = 4000;
    for (int s = 0; s < n10; s++) {
        run(&o, &io, 1000 + (uint64_t)s, &in, &tgt, &err);
        noise_mask(&in, 10, mask);
        last += mask[9];
        first += mask[0];
        only_end += mask[8] && mask[9];
        for (int i = 0; i < 10; i++) pos_hits[i] += mask[i];
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    is_near((double)last / n10, 0.2, 0.03, "span_corruption: last token noise in ~2/10 of 10-token texts");
    is_near((double)first / n10, 0.2, 0.03, "span_corruption: first token noise in ~2/10");
    ok(only_end < n10 / 5, "span_corruption: the final two tokens are the span in %d/%d draws (not always)",
       only_end, n10);
    int spread = 1;
    for (int i = 0; i < 10; i++) spread &= pos_hits[i] > n10 / 10 && pos_hits[i] < n10 * 3 / 10;
    ok(spread, "span_corruption: every position of a 10-token text is masked about as often");
    obj_free(&o);

    /* roll=0 is T5's original placement: always ends in noise */
    const char *kv_roll[] = {"roll", "0", NULL};
    ok(obj_new(&o, "span_corruption", kv_roll, &err) == 0, "span_corruption roll=0: create");
    int always_end = 1;
    for (int s = 0; s < 200; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        noise_mask(&in, 10, mask);
        always_end &= mask[9] && mask[8] && count_spans(mask, 10) == 1;
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(always_end, "span_corruption roll=0: T5's rule masks exactly the last 2 of 10 tokens");
    obj_free(&o);

    /* options */
    const char *kv[] = {"density", "0.3", "mean_span", "2", NULL};
    ok(obj_new(&o, "span_corruption", kv, &err) == 0, "span_corruption density=0.3 mean_span=2");
    io = io_text(text, 100);
    double sp = 0;
    int n30 = 1;
    for (int s = 0; s < 200; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        noise_mask(&in, 100, mask);
        size_t k = 0;
        for (int i = 0; i < 100; i++) k += mask[i];
        n30 &= k == 30;
        sp += (double)count_spans(mask, 100);
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(n30, "span_corruption: density 0.3 masks 30 of 100 tokens");
    is_near(30.0 * 200 / sp, 2.0, 0.1, "span_corruption: mean_span 2 honoured");
    obj_free(&o);

    /* edge lengths */
    ok(obj_new(&o, "span_corruption", NULL, &err) == 0, "span_corruption: create again");
    io = io_text(text, 0);
    ok(run(&o, &io, 1, &in, &tgt, &err) == 0 && in.len == 0 && tgt.len == 1 && tgt.data[0] == EOS,
       "span_corruption: empty text -> empty input, target eos");
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    io = io_text(text, 1);
    int kept = 0, masked1 = 0, ok1 = 1;
    for (int s = 0; s < 200; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        ok1 &= reconstructs(&in, &tgt, text, 1);
        if (in.len == 1 && in.data[0] == text[0]) kept++;
        if (in.len == 1 && in.data[0] == S0 && tgt.len == 3) masked1++;
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(ok1 && kept + masked1 == 200 && kept > 50 && masked1 > 50,
       "span_corruption: 1 token is kept (%d) or masked (%d), both valid", kept, masked1);
    io = io_text(text, 2);
    int ok2 = 1, m0 = 0, m1 = 0;
    for (int s = 0; s < 200; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        ok2 &= reconstructs(&in, &tgt, text, 2) && in.len == 2 && tgt.len == 3;
        m0 += in.data[0] == S0;
        m1 += in.data[1] == S0;
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(ok2 && m0 + m1 == 200 && m0 > 50 && m1 > 50,
       "span_corruption: 2 tokens -> exactly one masked, either one (%d/%d)", m0, m1);

    /* determinism */
    mto_ids in2, tgt2;
    io = io_text(text, 64);
    run(&o, &io, 42, &in, &tgt, &err);
    run(&o, &io, 42, &in2, &tgt2, &err);
    ok(in.len == in2.len && memcmp(in.data, in2.data, in.len * 4) == 0 && tgt.len == tgt2.len &&
           memcmp(tgt.data, tgt2.data, tgt.len * 4) == 0,
       "span_corruption: same seed, same output");
    mto_ids_free(&in2);
    mto_ids_free(&tgt2);
    run(&o, &io, 43, &in2, &tgt2, &err);
    ok(in.len != in2.len || memcmp(in.data, in2.data, in.len * 4) != 0,
       "span_corruption: another seed, another mask");
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    mto_ids_free(&in2);
    mto_ids_free(&tgt2);

    /* few sentinels: spans are capped, output still valid */
    io = io_text(text, 512);
    io.n_sentinels = 3;
    ok(run(&o, &io, 5, &in, &tgt, &err) == 0 && reconstructs(&in, &tgt, text, 512),
       "span_corruption: 3 sentinels suffice for 512 tokens (spans capped) (%s)", err.msg);
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    io.n_sentinels = 0;
    ok(run(&o, &io, 5, &in, &tgt, &err) == MTO_EINVAL, "span_corruption: no sentinels -> error: %s",
       err.msg);
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    obj_free(&o);

    /* bad options */
    const char *bad1[] = {"density", "0", NULL}, *bad2[] = {"density", "1.5", NULL},
               *bad3[] = {"mean_span", "0.5", NULL};
    ok(obj_new(&o, "span_corruption", bad1, &err) == MTO_EINVAL && strstr(err.msg, "density"),
       "span_corruption: density 0 refused: %s", err.msg);
    ok(obj_new(&o, "span_corruption", bad2, &err) == MTO_EINVAL, "span_corruption: density 1.5 refused");
    ok(obj_new(&o, "span_corruption", bad3, &err) == MTO_EINVAL && strstr(err.msg, "mean_span"),
       "span_corruption: mean_span 0.5 refused: %s", err.msg);
}

static void test_iid(int32_t *text)
{
    mto_error err = {0};
    obj o;
    mto_ids in, tgt;
    unsigned char mask[512];
    ok(obj_new(&o, "iid_denoising", NULL, &err) == 0, "iid_denoising: create (%s)", err.msg);
    mto_objective_io io = io_text(text, 500);
    double noise = 0;
    int rec = 1, merged = 1;
    for (int s = 0; s < 200; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        rec &= reconstructs(&in, &tgt, text, 500);
        for (size_t i = 1; i < in.len; i++) merged &= !(is_sentinel(in.data[i]) && is_sentinel(in.data[i - 1]));
        noise_mask(&in, 500, mask);
        for (int i = 0; i < 500; i++) noise += mask[i];
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(rec, "iid_denoising: reconstructs, sentinels in order");
    ok(merged, "iid_denoising: adjacent noise tokens share one sentinel");
    is_near(noise / (200 * 500.0), 0.15, 0.005, "iid_denoising: density 0.15");
    obj_free(&o);
}

static void test_prefix_lm(int32_t *text)
{
    mto_error err = {0};
    obj o;
    mto_ids in, tgt;
    ok(obj_new(&o, "prefix_lm", NULL, &err) == 0, "prefix_lm: create (%s)", err.msg);
    mto_objective_io io = io_text(text, 10);
    int hits[10] = {0}, good = 1;
    for (int s = 0; s < 2000; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        good &= in.len >= 1 && in.len <= 9 && in.len + tgt.len == 11 && tgt.data[tgt.len - 1] == EOS;
        for (size_t i = 0; i < in.len; i++) good &= in.data[i] == text[i];
        for (size_t i = 0; i + 1 < tgt.len; i++) good &= tgt.data[i] == text[in.len + i];
        if (in.len < 10) hits[in.len]++;
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(good, "prefix_lm: input = prefix, target = rest + eos, prefix length in [1, 9]");
    int uni = 1;
    for (int k = 1; k <= 9; k++) uni &= hits[k] > 2000 / 9 - 60 && hits[k] < 2000 / 9 + 60;
    ok(uni, "prefix_lm: split point uniform over 1..9 (%d %d %d ... %d)", hits[1], hits[2], hits[3], hits[9]);
    io = io_text(text, 1);
    ok(run(&o, &io, 1, &in, &tgt, &err) == 0 && in.len == 0 && tgt.len == 2 && tgt.data[0] == text[0],
       "prefix_lm: a 1-token text goes to the target");
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    obj_free(&o);
    const char *bad[] = {"density", "0.8", NULL};
    ok(obj_new(&o, "prefix_lm", bad, &err) == MTO_EINVAL, "prefix_lm: density 0.8 refused: %s", err.msg);
}

static void test_mapping(int32_t *text)
{
    mto_error err = {0};
    obj o;
    mto_ids in, tgt;
    ok(obj_new(&o, "mapping", NULL, &err) == 0, "mapping: create");
    mto_objective_io io = io_text(text, 4);
    int32_t t[3] = {7, 8, 9};
    io.target = t;
    io.target_len = 3;
    ok(run(&o, &io, 1, &in, &tgt, &err) == 0 && in.len == 4 && in.data[3] == text[3] && tgt.len == 4 &&
           tgt.data[0] == 7 && tgt.data[2] == 9 && tgt.data[3] == EOS,
       "mapping: input = text, target = target + eos");
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    io.target = NULL;
    io.target_len = 0;
    ok(run(&o, &io, 1, &in, &tgt, &err) == MTO_EINVAL && strstr(err.msg, "no supervised target"),
       "mapping: no target -> error: %s", err.msg);
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    obj_free(&o);
}

static void test_salient(int32_t *text)
{
    mto_error err = {0};
    obj o;
    mto_ids in, tgt;
    ok(obj_new(&o, "salient_span", NULL, &err) == 0, "salient_span: create (%s)", err.msg);
    mto_objective_io io = io_text(text, 10);
    io.span_begin = 7;
    io.span_end = 10; /* a fact's tail at the end */
    int32_t want_in[] = {BASE, BASE + 1, BASE + 2, BASE + 3, BASE + 4, BASE + 5, BASE + 6, S0};
    int32_t want_tgt[] = {S0, BASE + 7, BASE + 8, BASE + 9, EOS};
    ok(run(&o, &io, 1, &in, &tgt, &err) == 0 && in.len == 8 && memcmp(in.data, want_in, sizeof want_in) == 0 &&
           tgt.len == 5 && memcmp(tgt.data, want_tgt, sizeof want_tgt) == 0,
       "salient_span: masks exactly [7, 10): ... <extra_id_0> -> <extra_id_0> span eos");
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    io.span_begin = 2;
    io.span_end = 4;
    ok(run(&o, &io, 1, &in, &tgt, &err) == 0 && in.len == 9 && in.data[2] == S0 && in.data[3] == BASE + 4 &&
           tgt.len == 4 && tgt.data[1] == BASE + 2 && reconstructs(&in, &tgt, text, 10),
       "salient_span: a span in the middle");
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    io.span_begin = io.span_end = 0; /* no span: span corruption */
    int rec = 1;
    for (int s = 0; s < 50; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        size_t nspan = 0;
        for (size_t i = 0; i < in.len; i++) nspan += is_sentinel(in.data[i]);
        rec &= reconstructs(&in, &tgt, text, 10) && tgt.len == nspan + 3; /* sentinels, 2 noise tokens, eos */
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    ok(rec, "salient_span: no marked span -> span corruption");
    io.span_begin = 5;
    io.span_end = 11;
    ok(run(&o, &io, 1, &in, &tgt, &err) == MTO_EINVAL && strstr(err.msg, "outside"),
       "salient_span: span past the end -> error: %s", err.msg);
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    obj_free(&o);

    const char *kv[] = {"mix", "0.3", NULL};
    ok(obj_new(&o, "salient_span", kv, &err) == 0, "salient_span mix=0.3: create");
    io.span_begin = 4;
    io.span_end = 7;
    int salient = 0;
    for (int s = 0; s < 2000; s++) {
        run(&o, &io, (uint64_t)s, &in, &tgt, &err);
        salient += tgt.len == 5 && tgt.data[1] == BASE + 4 && tgt.data[3] == BASE + 6 && in.data[4] == S0;
        mto_ids_free(&in);
        mto_ids_free(&tgt);
    }
    is_near(salient / 2000.0, 0.7, 0.04, "salient_span: mix 0.3 -> ~70% of examples mask the span");
    obj_free(&o);
    const char *bad[] = {"mix", "2", NULL};
    ok(obj_new(&o, "salient_span", bad, &err) == MTO_EINVAL, "salient_span: mix 2 refused: %s", err.msg);
}

static void test_example(int32_t *text)
{
    mto_error err = {0};
    obj o;
    mto_ids in, tgt;
    if (!mto_plugin_find(MTO_KIND_OBJECTIVE, "deshuffle")) {
        char path[4096];
        const char *b = getenv("MTO_BUILDDIR");
        snprintf(path, sizeof path, "%s/plugins/examples/.libs/deshuffle.so", b ? b : ".");
        mto_plugin_load_file(path, &err);
    }
    if (obj_new(&o, "deshuffle", NULL, &err) != 0) {
        tap_skip("example plugin deshuffle not built");
        return;
    }
    mto_objective_io io = io_text(text, 20);
    ok(run(&o, &io, 3, &in, &tgt, &err) == 0 && in.len == 20 && tgt.len == 21, "deshuffle: lengths");
    int seen[20] = {0}, perm = 1, moved = 0;
    for (int i = 0; i < 20; i++) {
        int k = in.data[i] - BASE;
        perm &= k >= 0 && k < 20 && !seen[k]++;
        moved += in.data[i] != text[i];
        perm &= tgt.data[i] == text[i];
    }
    ok(perm && moved > 0, "deshuffle: input is a permutation, target the original");
    mto_ids_free(&in);
    mto_ids_free(&tgt);
    obj_free(&o);
}

int main(void)
{
    mto_error err = {0};
    static int32_t text[512];
    for (int i = 0; i < 512; i++) text[i] = BASE + i;
    ok(mto_plugins_load_all(&err) == 0, "plugins load (%s)", mto_plugin_search_path());
    for (size_t i = 0; i < mto_plugin_problem_count(); i++) tap_diag("problem: %s", mto_plugin_problem_at(i));
    test_span_corruption(text);
    test_iid(text);
    test_prefix_lm(text);
    test_mapping(text);
    test_salient(text);
    test_example(text);
    obj o;
    ok(obj_new(&o, "no_such_objective", NULL, &err) == MTO_ENOTFOUND && strstr(err.msg, "span_corruption"),
       "unknown objective -> error listing the available ones: %s", err.msg);
    return tap_done();
}
