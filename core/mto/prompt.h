/* mto/prompt.h — soft prompts (prompt tuning): k trainable embeddings placed
 * before (PRE) or after (POST) the source text of a frozen T5; only they train.
 *
 * The engine reads source id -j (j = 1..k) as row j-1 of the prompt, so a
 * prompted source is the text's ids with k negative slots inserted
 * (mto_prompt_insert). Attached frozen, the model's backward computes only
 * what flows to the prompt: no weight-gradient products, no gradient arena,
 * the model's parameters are never written. A POST prompt of a masked
 * template goes before the trailing mask sentinel (mask_id), as the
 * masked_post_pt template family says: "head [P1..Pk] <extra_id_0>". */
#ifndef MTO_PROMPT_H
#define MTO_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"
#include "mto/t5.h"
#include "mto/train.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MTO_PROMPT_PRE = 0, MTO_PROMPT_POST = 1 };

typedef struct mto_prompt {
    int k, d_model;
    int placement;           /* MTO_PROMPT_PRE or MTO_PROMPT_POST */
    int32_t mask_id;         /* POST: slots go before a trailing token with this id; -1: none */
    char init[16];           /* "vocab", "phrase", "uniform" (recorded in the file) */
    char template_name[64];  /* the template it was trained with ("" if none; recorded) */
    float *emb, *grad;       /* k x d_model each */
} mto_prompt;

/* A zero prompt; k in [1, 4096]. */
mto_prompt *mto_prompt_new(int k, int d_model, int placement, mto_error *err);
void mto_prompt_free(mto_prompt *p);

/* Initialisation (Lester et al. 2021): rows of m's embedding for k token ids
 * drawn uniformly from [lo, hi) (hi <= 0: min(vocab, lo + 5000), the most
 * frequent pieces of a SentencePiece vocabulary) ... */
int mto_prompt_init_vocab(mto_prompt *p, const mto_t5 *m, int lo, int hi, uint64_t seed, mto_error *err);
/* ... the embeddings of ids[0..n) (a relation phrase), repeated to fill k or trimmed ... */
int mto_prompt_init_ids(mto_prompt *p, const mto_t5 *m, const int32_t *ids, int n, mto_error *err);
/* ... or uniform in [-range, range]. */
int mto_prompt_init_uniform(mto_prompt *p, float range, uint64_t seed, mto_error *err);

/* Make m read slots -1..-k from p (frozen = 1: prompt-only backward); detach undoes it. */
int mto_prompt_attach(mto_t5 *m, mto_prompt *p, int frozen, mto_error *err);
void mto_prompt_detach(mto_t5 *m);

/* The prompted source of src[0..n): first truncated to max_src_len (0 = none;
 * a final eos is kept, as batches do), then the k slots inserted: PRE at the
 * start; POST before the final eos and, when mask_id >= 0, before a mask_id
 * token just before it. out holds n + k ids; returns the length written. */
int mto_prompt_insert(const mto_prompt *p, const int32_t *src, int n, int max_src_len, int32_t *out);

/* Prompted copies of ex[0..n) (targets shared with ex): *out and *ids are
 * malloc'ed (free both). */
int mto_prompt_examples(const mto_prompt *p, const mto_example *ex, size_t n, int max_src_len, mto_example **out,
                        int32_t **ids, mto_error *err);

/* mto_train_opts_default with the prompt-tuning optimizer: Adafactor, lr 0.3, constant. */
void mto_prompt_train_opts_default(mto_train_opts *o);

/* Train p on ex (sources without slots; the loop inserts them): m frozen,
 * o->params replaced by p's one view, validation prompted likewise. m's
 * parameters are left bit-identical (and its dropout seed/step restored). */
int mto_prompt_train(mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n, const mto_train_opts *o,
                     mto_train_result *res, mto_error *err);
/* mto_predict / mto_eval_loss with the prompt (sources without slots). */
int mto_prompt_predict(mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n, int batch_size, int max_src_len,
                       const mto_t5_gen_opts *gen, int32_t *out, int *out_len, mto_error *err);
int mto_prompt_eval_loss(mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n, int batch_size,
                         int max_src_len, int max_tgt_len, double *loss, mto_error *err);

/* A prompt-only .safetensors file: tensor "prompt.embedding" (k, d_model) F32
 * and metadata format=mto-soft-prompt, k, d_model, placement (pre|post),
 * mask_id, init, template. Written atomically. */
int mto_prompt_save(const mto_prompt *p, const char *path, mto_error *err);
mto_prompt *mto_prompt_load(const char *path, mto_error *err);

#ifdef __cplusplus
}
#endif
#endif
