/* mto/tokenizer.h — text <-> token ids for C code in libmto and its users,
 * without touching the plugin table: a tokenizer is a loaded model of a
 * tokenizer plugin ("sentencepiece" by default).
 *
 * T5 conventions: pad 0, eos 1, unk 2; the 100 sentinels <extra_id_0>..
 * <extra_id_99> are ids vocab_size-1-N. Encoding never appends eos (append
 * MTO_TOK_EOS yourself where the model expects it); decoding drops pad/eos
 * and fails (MTO_EINVAL) on ids outside [0, vocab_size). */
#ifndef MTO_TOKENIZER_H
#define MTO_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"
#include "mto/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MTO_TOK_PAD = 0, MTO_TOK_EOS = 1, MTO_TOK_UNK = 2, MTO_TOK_SENTINELS = 100 };

typedef struct mto_tokenizer mto_tokenizer;

/* Load a model file (e.g. spiece.model) with the "sentencepiece" plugin. */
int mto_tokenizer_open(const char *path, mto_tokenizer **tok, mto_error *err);
/* Same, with a named tokenizer plugin. */
int mto_tokenizer_open_with(const char *plugin, const char *path, mto_tokenizer **tok,
                            mto_error *err);
/* Free a tokenizer (NULL is fine). */
void mto_tokenizer_free(mto_tokenizer *tok);

/* Append the ids of text[0..len) to out (no eos). */
int mto_tokenizer_encode(mto_tokenizer *tok, const char *text, size_t len, mto_ids *out,
                         mto_error *err);
/* Append the text of ids[0..n) to out. */
int mto_tokenizer_decode(mto_tokenizer *tok, const int32_t *ids, size_t n, mto_text *out,
                         mto_error *err);
/* Number of ids the tokenizer produces, sentinels included (t5: 32100). */
int32_t mto_tokenizer_vocab_size(const mto_tokenizer *tok);
/* Id of a piece ("▁the", "</s>", "<extra_id_3>"), or -1. */
int32_t mto_tokenizer_piece_to_id(const mto_tokenizer *tok, const char *piece);
/* Id of <extra_id_n>, or -1 when n is outside [0, 100). */
int32_t mto_tokenizer_sentinel(const mto_tokenizer *tok, int n);
/* The model file the tokenizer was loaded from. */
const char *mto_tokenizer_path(const mto_tokenizer *tok);

/* Train a new "sentencepiece" vocabulary of vocab_size ids (sentinels
 * included) from a text file, writing model_prefix.model (+ .vocab). opts may
 * be NULL; see plugins/tokenizers/sentencepiece.cc for the keys. */
int mto_tokenizer_train(const char *input, const char *model_prefix, int vocab_size,
                        const mto_options *opts, mto_error *err);

#ifdef __cplusplus
}
#endif
#endif
