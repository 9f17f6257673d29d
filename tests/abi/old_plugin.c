/* old_plugin.c — one plugin of every kind, compiled against the frozen ABI 1
 * headers in tests/abi/v1 (no -I core): it stands for a plugin built before
 * a member was appended to an ops table. tests/abi/test_abi_forward.c loads it
 * into a host whose mto_objective_ops has grown (MTO_ABI_TEST_GROWN).
 *
 * Compiled again against the grown header (new_plugin.la, with
 * MTO_ABI_TEST_GROWN defined) it stands for a plugin that knows the new member:
 * its names then start with "abi2_" and its objective fills describe(). */
#include <string.h>

#include "mto/plugin.h"

#ifdef MTO_ABI_TEST_GROWN
#define NAME(s) "abi2_" s
#else
#define NAME(s) "abi1_" s
#endif

static const mto_host *H;

/* objective: input = text, target = text reversed + eos */
static int obj_apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                     mto_ids *target, mto_error *err)
{
    (void)state, (void)rng, (void)err;
    for (size_t i = 0; i < io->text_len; i++)
        if (H->ids_push(input, io->text[i])) return MTO_ENOMEM;
    for (size_t i = io->text_len; i > 0; i--)
        if (H->ids_push(target, io->text[i - 1])) return MTO_ENOMEM;
    return H->ids_push(target, io->eos_id);
}

#ifdef MTO_ABI_TEST_GROWN
static int obj_describe(void *state, mto_text *out, mto_error *err)
{
    (void)state, (void)err;
    return H->text_append(out, "reverses its text", (size_t)-1);
}
#endif

static const mto_objective_ops obj_ops = {
    .struct_size = sizeof(mto_objective_ops),
    .apply = obj_apply,
#ifdef MTO_ABI_TEST_GROWN
    .describe = obj_describe,
#endif
};

/* reader: two records, whatever the path */
static int read_two(const mto_host *host, const char *path, const mto_options *opts,
                    mto_record_sink *sink, mto_error *err)
{
    (void)opts;
    for (int i = 0; i < 2; i++) {
        mto_record *r = host->record_new();
        if (!r) return MTO_ENOMEM;
        if (host->record_set(r, "x", i ? "second" : "first", (size_t)-1) ||
            host->record_set(r, "path", path, (size_t)-1)) {
            host->record_free(r);
            return MTO_ENOMEM;
        }
        int rc = host->record_emit(sink, r, err);
        if (rc) return rc;
    }
    host->sink_count(sink, "emitted", 2);
    return 0;
}

static const mto_reader_ops reader_ops = {sizeof(mto_reader_ops), read_two};

/* template: input "x: <x>", target "<x>"; state holds a prefix from options */
static int tpl_create(const mto_host *host, const mto_options *opts, void **state, mto_error *err)
{
    (void)err;
    *state = (void *)host->opt_str(opts, "prefix", "x: ");
    return 0;
}

static int tpl_render(void *state, const mto_record *rec, mto_text *input, mto_text *target,
                      mto_error *err)
{
    const char *x = H->record_get(rec, "x");
    if (!x) return H->error(err, MTO_EINVAL, "record has no field 'x'");
    if (H->text_append(input, state, (size_t)-1) || H->text_append(input, x, (size_t)-1) ||
        H->text_append(target, x, (size_t)-1))
        return MTO_ENOMEM;
    return 0;
}

static const mto_template_ops tpl_ops = {sizeof(mto_template_ops), MTO_TEMPLATE_MASKED, tpl_create,
                                         tpl_render, NULL};

/* tokenizer: one id per byte, offset past pad/eos/unk */
static int tok_load(const mto_host *host, const char *path, void **state, mto_error *err)
{
    (void)host, (void)path, (void)err;
    *state = NULL;
    return 0;
}

static int tok_encode(void *state, const char *text, size_t len, mto_ids *out, mto_error *err)
{
    (void)state, (void)err;
    for (size_t i = 0; i < len; i++)
        if (H->ids_push(out, (int32_t)(unsigned char)text[i] + 3)) return MTO_ENOMEM;
    return 0;
}

static int tok_decode(void *state, const int32_t *ids, size_t n, mto_text *out, mto_error *err)
{
    (void)state;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 3 || ids[i] > 258) return H->error(err, MTO_EINVAL, "id %d is not a byte", (int)ids[i]);
        char c = (char)(ids[i] - 3);
        if (H->text_append(out, &c, 1)) return MTO_ENOMEM;
    }
    return 0;
}

static int32_t tok_vocab_size(void *state) { (void)state; return 259 + 100; }
static int32_t tok_piece_to_id(void *state, const char *piece)
{
    (void)state;
    return strlen(piece) == 1 ? (int32_t)(unsigned char)piece[0] + 3 : -1;
}
static void tok_destroy(void *state) { (void)state; }

static const mto_tokenizer_ops tok_ops = {sizeof(mto_tokenizer_ops), tok_load, tok_encode, tok_decode,
                                          tok_vocab_size, tok_piece_to_id, NULL, tok_destroy};

/* matcher: "mapping" when the task summary names a relation, no opinion otherwise */
static int match_decide(void *state, const mto_record *task, mto_text *family, mto_text *why,
                        mto_error *err)
{
    (void)state, (void)err;
    if (!H->record_get(task, "relation")) return H->text_append(why, "no relation", (size_t)-1);
    if (H->text_append(family, "mapping", (size_t)-1)) return MTO_ENOMEM;
    return H->text_append(why, "has a relation", (size_t)-1);
}

static const mto_matcher_ops match_ops = {sizeof(mto_matcher_ops), NULL, match_decide, NULL};

static const mto_plugin_desc descs[] = {
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, NAME("objective"), "1", "reverses", &obj_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, NAME("reader"), "1", "two records", &reader_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TEMPLATE, NAME("template"), "1", "x: X -> X", &tpl_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_TOKENIZER, NAME("tokenizer"), "1", "bytes", &tok_ops},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_MATCHER, NAME("matcher"), "1", "relation -> mapping", &match_ops},
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    H = host;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof descs / sizeof descs[0]; i++) rc = host->register_plugin(reg, &descs[i], err);
    return rc;
}
