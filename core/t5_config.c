/* t5_config.c — the T5 hyper-parameters, read from / written as HF config.json. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json_oom.h"
#include "mto/t5.h"

void mto_t5_config_default(mto_t5_config *c)
{
    /* HF T5Config defaults (t5-small); num_decoder_layers follows num_layers */
    c->d_model = 512; c->d_ff = 2048; c->d_kv = 64; c->num_heads = 8;
    c->num_layers = 6; c->num_decoder_layers = 6;
    c->num_buckets = 32; c->max_distance = 128;
    c->vocab_size = 32128;
    c->ff = MTO_T5_FF_RELU;
    c->tie_word_embeddings = 1;
    c->dropout_rate = 0.1f;
    c->eps = 1e-6f;
}

int mto_t5_config_check(const mto_t5_config *c, mto_error *err)
{
    struct { const char *k; int v, lo, hi; } r[] = {
        {"d_model", c->d_model, 1, 1 << 16}, {"d_ff", c->d_ff, 1, 1 << 18},
        {"d_kv", c->d_kv, 1, 1 << 12}, {"num_heads", c->num_heads, 1, 1024},
        {"num_layers", c->num_layers, 0, 1024}, {"num_decoder_layers", c->num_decoder_layers, 1, 1024},
        {"relative_attention_num_buckets", c->num_buckets, 2, 1 << 16},
        {"relative_attention_max_distance", c->max_distance, 1, 1 << 24},
        {"vocab_size", c->vocab_size, 2, 1 << 24},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return mto_error_set(err, MTO_EINVAL, "t5 config: %s = %d out of range [%d, %d]",
                                 r[i].k, r[i].v, r[i].lo, r[i].hi);
    if (!(c->dropout_rate >= 0 && c->dropout_rate < 1))
        return mto_error_set(err, MTO_EINVAL, "t5 config: dropout_rate %g not in [0,1)", c->dropout_rate);
    if (!(c->eps > 0 && c->eps < 1))
        return mto_error_set(err, MTO_EINVAL, "t5 config: layer_norm_epsilon %g not in (0,1)", c->eps);
    if (c->num_buckets % 4)
        return mto_error_set(err, MTO_EINVAL, "t5 config: relative_attention_num_buckets %d not a multiple of 4",
                             c->num_buckets);
    return 0;
}

static int get_int(json_t *o, const char *k, int *dst, const char *where, mto_error *err)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v))
        return mto_error_set(err, MTO_EFORMAT, "%s: \"%s\" must be an integer", where, k);
    json_int_t x = json_integer_value(v);
    if (x < -2147483647 || x > 2147483647)
        return mto_error_set(err, MTO_EFORMAT, "%s: \"%s\" out of range", where, k);
    *dst = (int)x;
    return 0;
}

static int get_float(json_t *o, const char *k, float *dst, const char *where, mto_error *err)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v))
        return mto_error_set(err, MTO_EFORMAT, "%s: \"%s\" must be a number", where, k);
    *dst = (float)json_number_value(v);
    return 0;
}

int mto_t5_config_parse(mto_t5_config *c, const char *text, const char *where, mto_error *err)
{
    json_error_t je;
    mto_t5_config_default(c);
    json_t *o = json_loads(text, 0, &je);
    if (!o && mto_json_failed_for_memory(text, strlen(text), 0, &je))
        return mto_error_set(err, MTO_ENOMEM, "%s: out of memory parsing the JSON", where);
    if (!o)
        return mto_error_set(err, MTO_EFORMAT, "%s:%d: bad JSON: %s", where, je.line, je.text);
    int rc = 0;
    if (!json_is_object(o)) {
        rc = mto_error_set(err, MTO_EFORMAT, "%s: config is not a JSON object", where);
        goto out;
    }
    int dec = -1, tie = c->tie_word_embeddings;
    if ((rc = get_int(o, "d_model", &c->d_model, where, err)) ||
        (rc = get_int(o, "d_ff", &c->d_ff, where, err)) ||
        (rc = get_int(o, "d_kv", &c->d_kv, where, err)) ||
        (rc = get_int(o, "num_heads", &c->num_heads, where, err)) ||
        (rc = get_int(o, "num_layers", &c->num_layers, where, err)) ||
        (rc = get_int(o, "num_decoder_layers", &dec, where, err)) ||
        (rc = get_int(o, "relative_attention_num_buckets", &c->num_buckets, where, err)) ||
        (rc = get_int(o, "relative_attention_max_distance", &c->max_distance, where, err)) ||
        (rc = get_int(o, "vocab_size", &c->vocab_size, where, err)) ||
        (rc = get_float(o, "dropout_rate", &c->dropout_rate, where, err)) ||
        (rc = get_float(o, "layer_norm_epsilon", &c->eps, where, err)))
        goto out;
    c->num_decoder_layers = dec >= 0 ? dec : c->num_layers;
    json_t *t = json_object_get(o, "tie_word_embeddings");
    if (t && !json_is_null(t)) {
        if (!json_is_boolean(t)) {
            rc = mto_error_set(err, MTO_EFORMAT, "%s: \"tie_word_embeddings\" must be true/false", where);
            goto out;
        }
        tie = json_is_true(t);
    }
    c->tie_word_embeddings = tie;
    json_t *ff = json_object_get(o, "feed_forward_proj");
    if (ff && !json_is_null(ff)) {
        const char *s = json_string_value(ff);
        if (s && strcmp(s, "relu") == 0) c->ff = MTO_T5_FF_RELU;
        else if (s && (strcmp(s, "gated-gelu") == 0 || strcmp(s, "gated-gelu_new") == 0)) c->ff = MTO_T5_FF_GATED_GELU;
        else if (s && strcmp(s, "gated-relu") == 0) c->ff = MTO_T5_FF_GATED_RELU;
        else {
            rc = mto_error_set(err, MTO_EINVAL, "%s: feed_forward_proj \"%s\" not supported (relu, gated-gelu, gated-relu)",
                               where, s ? s : "?");
            goto out;
        }
    }
    rc = mto_t5_config_check(c, err);
out:
    json_decref(o);
    return rc;
}

char *mto_t5_config_json(const mto_t5_config *c)
{
    static const char *ffn[] = {"relu", "gated-gelu", "gated-relu"};
    json_t *o = json_object();
    json_object_set_new(o, "model_type", json_string("t5"));
    json_object_set_new(o, "architectures", json_pack("[s]", "T5ForConditionalGeneration"));
    json_object_set_new(o, "d_model", json_integer(c->d_model));
    json_object_set_new(o, "d_ff", json_integer(c->d_ff));
    json_object_set_new(o, "d_kv", json_integer(c->d_kv));
    json_object_set_new(o, "num_heads", json_integer(c->num_heads));
    json_object_set_new(o, "num_layers", json_integer(c->num_layers));
    json_object_set_new(o, "num_decoder_layers", json_integer(c->num_decoder_layers));
    json_object_set_new(o, "relative_attention_num_buckets", json_integer(c->num_buckets));
    json_object_set_new(o, "relative_attention_max_distance", json_integer(c->max_distance));
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "feed_forward_proj", json_string(ffn[c->ff]));
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    json_object_set_new(o, "dropout_rate", json_real(c->dropout_rate));
    json_object_set_new(o, "layer_norm_epsilon", json_real(c->eps));
    json_object_set_new(o, "pad_token_id", json_integer(MTO_T5_PAD));
    json_object_set_new(o, "eos_token_id", json_integer(MTO_T5_EOS));
    json_object_set_new(o, "decoder_start_token_id", json_integer(MTO_T5_PAD));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}
