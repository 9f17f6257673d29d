/* reverse_words.c — an example objective plugin, written the way a third
 * party would: it includes only <mto/plugin.h> and is built with
 *
 *     cc -shared -fPIC $(pkg-config --cflags mto-plugin) reverse_words.c -o reverse_words.so
 *
 * The objective: the model sees the text with its tokens in reverse order and
 * must produce the original order (a toy "unscrambling" pre-training task).
 * Option `max_len` (default: no limit) truncates long texts. */
#include <mto/plugin.h>

static const mto_host *host; /* the host's function table, kept from init */

/* apply: input = reversed text, target = text + eos. No state, no randomness. */
static int reverse_apply(void *state, const mto_objective_io *io, mto_rng *rng, mto_ids *input,
                         mto_ids *target, mto_error *err)
{
    size_t n = io->text_len, limit = (size_t)(state ? *(const double *)state : 0);
    (void)rng;
    if (limit && n > limit) n = limit;
    if (n == 0) return host->error(err, MTO_EINVAL, "reverse_words: empty text");
    for (size_t i = n; i-- > 0;)
        if (host->ids_push(input, io->text[i])) return host->error(err, MTO_ENOMEM, "reverse_words: out of memory");
    for (size_t i = 0; i < n; i++)
        if (host->ids_push(target, io->text[i])) return host->error(err, MTO_ENOMEM, "reverse_words: out of memory");
    return host->ids_push(target, io->eos_id);
}

/* create: read options once; the state is freed by destroy below. */
static int reverse_create(const mto_host *h, const mto_options *opts, void **state, mto_error *err)
{
    double *max_len = h->alloc(sizeof *max_len);
    if (!max_len) return h->error(err, MTO_ENOMEM, "reverse_words: out of memory");
    *max_len = h->opt_num(opts, "max_len", 0);
    *state = max_len;
    return 0;
}

static void reverse_destroy(void *state) { host->free(state); }

static const mto_objective_ops reverse_ops = {
    .struct_size = sizeof(mto_objective_ops),
    .create = reverse_create,
    .apply = reverse_apply,
    .destroy = reverse_destroy,
};

static const mto_plugin_desc reverse_desc = {
    MTO_PLUGIN_DESC_HEADER, /* abi_version, struct_size: filled from the header you built with */
    MTO_KIND_OBJECTIVE,
    "reverse_words",
    "1.0",
    "example: restore a text from its reversed tokens",
    &reverse_ops,
};

/* The one exported symbol. Register each descriptor; return 0 on success. */
MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *h, mto_registrar *reg, mto_error *err)
{
    if (h->abi_version < 1) return h->error(err, MTO_EABI, "reverse_words: host ABI too old");
    host = h;
    return h->register_plugin(reg, &reverse_desc, err);
}
