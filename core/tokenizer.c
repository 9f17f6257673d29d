/* tokenizer.c — a loaded tokenizer model behind a small C API, so the engine
 * and other libmto code never handle the plugin ops table themselves. */
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "mto/host.h"
#include "mto/tokenizer.h"

#define DEFAULT_TOKENIZER "sentencepiece"

struct mto_tokenizer {
    const mto_tokenizer_ops *ops;
    void *state;
    char *path;
};

/* The plugin's ops (checked at registration to hold what is called here). */
static const mto_tokenizer_ops *find_ops(const char *plugin, mto_error *err)
{
    return mto_plugin_ops(MTO_KIND_TOKENIZER, plugin, err);
}

int mto_tokenizer_open_with(const char *plugin, const char *path, mto_tokenizer **tok,
                            mto_error *err)
{
    *tok = NULL;
    if (!path) return mto_error_set(err, MTO_EINVAL, "tokenizer: no model path");
    const mto_tokenizer_ops *ops = find_ops(plugin ? plugin : DEFAULT_TOKENIZER, err);
    if (!ops) return err && err->code ? err->code : MTO_ENOTFOUND;
    mto_tokenizer *t = mto_calloc(1, sizeof *t);
    char *p = t ? mto_malloc(strlen(path) + 1) : NULL;
    if (!p) {
        free(t);
        return mto_error_set(err, MTO_ENOMEM, "%s: out of memory", path);
    }
    strcpy(p, path);
    t->ops = ops;
    t->path = p;
    int rc = ops->load(mto_host_table(), path, &t->state, err);
    if (rc) {
        free(p);
        free(t);
        return rc < 0 ? rc : MTO_EPLUGIN;
    }
    *tok = t;
    return 0;
}

int mto_tokenizer_open(const char *path, mto_tokenizer **tok, mto_error *err)
{
    return mto_tokenizer_open_with(DEFAULT_TOKENIZER, path, tok, err);
}

void mto_tokenizer_free(mto_tokenizer *tok)
{
    if (!tok) return;
    tok->ops->destroy(tok->state);
    free(tok->path);
    free(tok);
}

int mto_tokenizer_encode(mto_tokenizer *tok, const char *text, size_t len, mto_ids *out,
                         mto_error *err)
{
    return tok->ops->encode(tok->state, text, len, out, err);
}

int mto_tokenizer_decode(mto_tokenizer *tok, const int32_t *ids, size_t n, mto_text *out,
                         mto_error *err)
{
    return tok->ops->decode(tok->state, ids, n, out, err);
}

int32_t mto_tokenizer_vocab_size(const mto_tokenizer *tok)
{
    return tok->ops->vocab_size(tok->state);
}

int32_t mto_tokenizer_piece_to_id(const mto_tokenizer *tok, const char *piece)
{
    return tok->ops->piece_to_id(tok->state, piece);
}

int32_t mto_tokenizer_sentinel(const mto_tokenizer *tok, int n)
{
    if (n < 0 || n >= MTO_TOK_SENTINELS) return -1;
    return mto_tokenizer_vocab_size(tok) - 1 - n;
}

const char *mto_tokenizer_path(const mto_tokenizer *tok)
{
    return tok->path;
}

int mto_tokenizer_train(const char *input, const char *model_prefix, int vocab_size,
                        const mto_options *opts, mto_error *err)
{
    const mto_tokenizer_ops *ops = find_ops(DEFAULT_TOKENIZER, err);
    if (!ops) return err && err->code ? err->code : MTO_ENOTFOUND;
    if (!ops->train) /* optional: a tokenizer that cannot train leaves it NULL */
        return mto_error_set(err, MTO_EINVAL, "tokenizer plugin '%s' cannot train",
                             DEFAULT_TOKENIZER);
    return ops->train(mto_host_table(), input, model_prefix, vocab_size, opts, err);
}
