/* mto/t5.h — the T5 encoder-decoder engine (v1.0 and v1.1 / flan-t5).
 *
 * llm.c style: parameters in one float arena, gradients in another, a
 * name -> (offset, shape) table using Hugging Face tensor names; activations
 * in one arena sized for the current batch shape and reused; every matrix
 * product goes through cblas_sgemm with batch*sequence folded into M.
 * Tensors are row-major; linear weights have HF shape (out, in): y = x W^T.
 * Threads: the caller sets OpenBLAS threads (openblas_set_num_threads); the
 * engine runs its own loops (norms, activations, attention, loss) on a per-model
 * pool of as many threads, sleeping between jobs. Same threads => same bits.
 * mto_set_threads() sets both at once. */
#ifndef MTO_T5_H
#define MTO_T5_H

#include <stddef.h>
#include <stdint.h>

#include "mto/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTO_T5_PAD 0
#define MTO_T5_EOS 1
#define MTO_T5_IGNORE (-100)

/* Feed-forward flavours (HF feed_forward_proj). */
enum { MTO_T5_FF_RELU = 0, MTO_T5_FF_GATED_GELU = 1, MTO_T5_FF_GATED_RELU = 2 };

typedef struct mto_t5_config {
    int d_model, d_ff, d_kv, num_heads;
    int num_layers, num_decoder_layers;
    int num_buckets, max_distance; /* relative_attention_num_buckets / _max_distance */
    int vocab_size;
    int ff;                        /* MTO_T5_FF_* */
    int tie_word_embeddings;       /* v1.0: 1 (lm_head = shared, output scaled) */
    float dropout_rate, eps;
} mto_t5_config;

/* Threads for every model's next step (OpenBLAS's and the engine's pools, >= 1);
 * returns the previous count. mto_threads() returns the current one. */
int mto_set_threads(int n);
int mto_threads(void);

/* Defaults of HF T5Config (t5-small shape, v1.0). */
void mto_t5_config_default(mto_t5_config *c);
/* Parse an HF config.json text; unknown keys ignored, bad values rejected. `where` names the source. */
int mto_t5_config_parse(mto_t5_config *c, const char *json, const char *where, mto_error *err);
/* Check ranges (positive sizes, buckets even, ...). */
int mto_t5_config_check(const mto_t5_config *c, mto_error *err);
/* The config as HF config.json text (malloc'ed, caller frees). */
char *mto_t5_config_json(const mto_t5_config *c);

/* One named tensor in the parameter arena. */
typedef struct mto_t5_param {
    char name[80];
    size_t offset, numel; /* in floats, into params/grads */
    int ndim;
    int64_t shape[2];
} mto_t5_param;

/* Pointers into the arena for one attention block / ff block / layer. */
typedef struct mto_t5_attn_w { float *q, *k, *v, *o, *ln; } mto_t5_attn_w;
typedef struct mto_t5_ff_w { float *wi, *wi1, *wo, *ln; } mto_t5_ff_w; /* wi = wi_0 when gated */
typedef struct mto_t5_layer_w { mto_t5_attn_w self, cross; mto_t5_ff_w ff; } mto_t5_layer_w;
typedef struct mto_t5_weights {
    float *shared, *lm_head;       /* lm_head == shared when tied */
    float *enc_rel, *dec_rel;      /* (num_buckets, heads) */
    float *enc_final_ln, *dec_final_ln;
    mto_t5_layer_w *enc, *dec;
} mto_t5_weights;

struct mto_t5_acts; /* activation arena, private to the engine */

typedef struct mto_t5 {
    mto_t5_config cfg;
    mto_t5_param *table;  /* nparams entries, in arena order */
    size_t nparams, numel;
    float *params, *grads;  /* grads NULL until the first backward or mto_t5_zero_grad */
    mto_t5_weights w, g;    /* views into params and grads */
    struct mto_t5_acts *acts;
    /* results of the last forward */
    float *logits;          /* (B*Tt, vocab); backward overwrites it with dlogits */
    float *tok_logprob;     /* (B*Tt) log p(label) per position, 0 where ignored */
    float loss;             /* mean cross-entropy over non-ignored labels */
    int ntok;               /* number of non-ignored labels */
    uint64_t seed, step;    /* dropout stream: mask = hash(seed, step, site, index) */
    /* Soft prompt (mto/prompt.h sets these): source ids -1..-soft_k read rows of
     * soft_emb (soft_k x d_model) instead of shared; backward adds their gradient
     * into soft_grad. frozen = 1: backward computes only what flows to the source
     * embeddings (dX through every layer, no weight-gradient products, no norm or
     * relative-bias gradients) and never allocates or touches grads. */
    const float *soft_emb;
    float *soft_grad;
    int soft_k, frozen;
    /* Matrix-product precision and its bf16 weights (mto/matmul.h); NULL: fp32. */
    struct mto_t5_mm *mm;
} mto_t5;

/* A padded batch: src (B x Ts, pad 0 marks padding), labels (B x Tt, -100 ignored).
 * Decoder input = labels shifted right, starting with pad, -100 read as pad. */
typedef struct mto_t5_batch {
    int B, Ts, Tt;
    const int32_t *src, *labels;
} mto_t5_batch;

/* A model with HF-style random init (seeded); params only, no grads yet. */
mto_t5 *mto_t5_new(const mto_t5_config *c, uint64_t seed, mto_error *err);
void mto_t5_free(mto_t5 *m);
/* Find a parameter by HF name (aliases embed_tokens / tied lm_head resolve to shared). */
const mto_t5_param *mto_t5_find(const mto_t5 *m, const char *name);

/* Forward pass + loss. train=1 enables dropout (new mask stream per call). */
int mto_t5_forward(mto_t5 *m, const mto_t5_batch *b, int train, mto_error *err);
/* Backward of the last forward: adds into grads (accumulation). */
int mto_t5_backward(mto_t5 *m, mto_error *err);
/* Set every gradient to zero (allocates the gradient arena if needed). */
int mto_t5_zero_grad(mto_t5 *m, mto_error *err);
/* Global L2 norm of the gradients; if max_norm > 0 and norm > max_norm, scale them down. */
double mto_t5_clip_grad_norm(mto_t5 *m, double max_norm);
/* Bytes held by the activation arena (for benchmarks). */
size_t mto_t5_acts_bytes(const mto_t5 *m);
/* Free the activation and backward buffers and the thread pool; the next call
 * that needs them makes them again for its own batch shape. */
void mto_t5_trim(mto_t5 *m);

/* ---- checkpoints ---------------------------------------------------------- */

/* Load an HF directory (config.json + model.safetensors, pytorch_model.bin or a
 * sharded *.index.json, see mto/checkpoint.h), or a .safetensors / .bin / index
 * file (config in __metadata__["config"] or a config.json beside it);
 * F32/F16/BF16; absent tied tensors aliased. */
mto_t5 *mto_t5_load(const char *path, mto_error *err);
/* Write a .safetensors file (or dir/model.safetensors + dir/config.json when path
 * is an existing directory) atomically; extra_meta = k,v,...,NULL or NULL. */
int mto_t5_save(const mto_t5 *m, const char *path, const char *const *extra_meta, mto_error *err);
/* The same; into a directory, max_shard_size > 0 shards the weights as
 * Hugging Face does (model-0000K-of-0000N.safetensors + model.safetensors.index.json). */
int mto_t5_save_sharded(const mto_t5 *m, const char *path, const char *const *extra_meta, uint64_t max_shard_size,
                        mto_error *err);

/* ---- inference (eval mode) ------------------------------------------------ */

/* Sum log-prob of each target sequence given its source: out[B]. */
int mto_t5_score(mto_t5 *m, const mto_t5_batch *b, double *out, mto_error *err);

/* Decoding options: beams = 1 is greedy; length_penalty divides scores by len^lp. */
typedef struct mto_t5_gen_opts {
    int max_len, beams;
    float length_penalty;
    int use_cache;          /* 0: recompute the whole prefix each step (tests) */
} mto_t5_gen_opts;

/* Decode each of B sources: out is B x max_len ids (padded with 0, eos kept if
 * produced), out_len[b] the length, out_score[b] (may be NULL) the sum log-prob. */
int mto_t5_generate(mto_t5 *m, const int32_t *src, int B, int Ts, const mto_t5_gen_opts *o,
                    int32_t *out, int *out_len, double *out_score, mto_error *err);

#ifdef __cplusplus
}
#endif
#endif
