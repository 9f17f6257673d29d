/* t5_checkpoint.c — load HF T5 checkpoints (dir with config.json +
 * model.safetensors, pytorch_model.bin or a sharded *.index.json, or one
 * .safetensors with the config in __metadata__), F32/F16/BF16, aliasing absent
 * tied tensors (mto/checkpoint.h reads the formats); save our own safetensors,
 * sharded on request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mto/alloc.h"
#include "mto/checkpoint.h"
#include "mto/safetensors.h"
#include "t5_internal.h"

static char *slurp(const char *path, mto_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) { mto_error_set(err, MTO_EIO, "%s: %s", path, strerror(errno)); return NULL; }
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1L << 24) && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = mto_malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = 0;
    } else if (n >= 0 && n < (1L << 24) && !buf) {
        mto_error_set(err, MTO_ENOMEM, "%s: out of memory for %ld bytes", path, n + 1);
    } else {
        free(buf);
        buf = NULL;
        mto_error_set(err, MTO_EIO, "%s: cannot read%s", path, n >= (1L << 24) ? " (too large)" : "");
    }
    fclose(f);
    return buf;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The tensor holding parameter p, trying the HF aliases of shared.weight. */
static const mto_ckpt_tensor *find_tensor(const mto_ckpt *f, const char *name)
{
    const mto_ckpt_tensor *t = mto_ckpt_find(f, name);
    if (t || strcmp(name, "shared.weight") != 0) return t;
    if ((t = mto_ckpt_find(f, "encoder.embed_tokens.weight"))) return t;
    if ((t = mto_ckpt_find(f, "decoder.embed_tokens.weight"))) return t;
    return mto_ckpt_find(f, "lm_head.weight"); /* tied models may keep only the head */
}

/* A checkpoint whose tensors are not exactly its config's (a 2-layer file whose
 * config.json says 1 layer) would load as another model: every tensor must be a
 * parameter of the config or an alias of the shared embedding. */
static int check_unexpected(const mto_ckpt *f, const mto_t5 *m, const char *stpath, mto_error *err)
{
    static const char *const alias[] = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                                        "lm_head.weight",
                                        /* unused, in Google's original t5-small/base/large (HF ignores it too) */
                                        "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"};
    size_t bad = 0;
    const char *first = NULL;
    for (size_t i = 0; i < mto_ckpt_count(f); i++) {
        const char *name = mto_ckpt_at(f, i)->name;
        int known = 0;
        for (size_t j = 0; !known && j < m->nparams; j++) known = strcmp(name, m->table[j].name) == 0;
        for (size_t j = 0; !known && j < sizeof alias / sizeof alias[0]; j++) known = strcmp(name, alias[j]) == 0;
        if (!known && !bad++) first = name;
    }
    if (!bad) return 0;
    return mto_error_set(err, MTO_EFORMAT,
                         "%s: tensor %s%s is not part of the model its config describes (%d+%d layers, "
                         "d_model %d): the checkpoint does not match its config", stpath, first,
                         bad > 1 ? " (and others)" : "", m->cfg.num_layers, m->cfg.num_decoder_layers, m->cfg.d_model);
}

mto_t5 *mto_t5_load(const char *path, mto_error *err)
{
    char stpath[4096], cfgpath[4200];
    char *cfgtext = NULL;
    mto_ckpt *f = NULL;
    mto_t5 *m = NULL;
    int dir = is_dir(path);
    if (mto_ckpt_resolve(path, stpath, sizeof stpath, err)) return NULL;
    if (mto_ckpt_open(stpath, &f, err)) return NULL;
    const char *where = cfgpath;
    const char *meta = mto_ckpt_meta(f, "config");
    if (!dir && meta) {
        cfgtext = mto_strdup(meta);
        snprintf(cfgpath, sizeof cfgpath, "%s: __metadata__.config", stpath);
        if (!cfgtext) mto_error_set(err, MTO_ENOMEM, "%s: out of memory", cfgpath);
    } else {
        /* a directory, or a bare file next to its config.json */
        if (dir) snprintf(cfgpath, sizeof cfgpath, "%s/config.json", path);
        else {
            const char *slash = strrchr(path, '/');
            int n = slash ? (int)(slash - path) : 1;
            snprintf(cfgpath, sizeof cfgpath, "%.*s/config.json", n, slash ? path : ".");
            if (access(cfgpath, R_OK) != 0) {
                mto_error_set(err, MTO_ENOTFOUND, "%s: no \"config\" in __metadata__ and no %s", stpath, cfgpath);
                goto fail;
            }
        }
        cfgtext = slurp(cfgpath, err);
    }
    if (!cfgtext) goto fail;
    mto_t5_config c;
    if (mto_t5_config_parse(&c, cfgtext, where, err)) goto fail;
    if (!(m = t5_alloc(&c, err))) goto fail;
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *p = &m->table[i];
        const mto_ckpt_tensor *t = find_tensor(f, p->name);
        if (!t) {
            mto_error_set(err, MTO_ENOTFOUND, "%s: tensor %s missing (config: %s, %s)", stpath, p->name,
                          c.ff == MTO_T5_FF_RELU ? "relu" : "gated", c.tie_word_embeddings ? "tied" : "untied");
            goto fail;
        }
        int same = t->ndim == p->ndim && t->shape[0] == p->shape[0] && (p->ndim < 2 || t->shape[1] == p->shape[1]);
        if (!same) {
            mto_error_set(err, MTO_EFORMAT, "%s: tensor %s has shape [%lld%s%lld], config wants [%lld%s%lld]",
                          mto_ckpt_shard(f, t->shard, NULL, NULL),
                          t->name, (long long)t->shape[0], t->ndim > 1 ? "," : "",
                          t->ndim > 1 ? (long long)t->shape[1] : 0LL, (long long)p->shape[0], p->ndim > 1 ? "," : "",
                          p->ndim > 1 ? (long long)p->shape[1] : 0LL);
            goto fail;
        }
        if (mto_ckpt_read_f32(f, t, m->params + p->offset, p->numel, err)) goto fail;
    }
    if (check_unexpected(f, m, stpath, err)) goto fail;
    const char *seed = mto_ckpt_meta(f, "seed");
    if (seed) m->seed = strtoull(seed, NULL, 10);
    free(cfgtext);
    mto_ckpt_close(f);
    return m;
fail:
    free(cfgtext);
    mto_ckpt_close(f);
    mto_t5_free(m);
    return NULL;
}

int mto_t5_save(const mto_t5 *m, const char *path, const char *const *extra_meta, mto_error *err)
{
    return mto_t5_save_sharded(m, path, extra_meta, 0, err);
}

int mto_t5_save_sharded(const mto_t5 *m, const char *path, const char *const *extra_meta, uint64_t max_shard_size,
                        mto_error *err)
{
    char stpath[4096], cfgpath[4200], seed[32];
    int dir = is_dir(path);
    if (max_shard_size && !dir)
        return mto_error_set(err, MTO_EINVAL, "%s: a sharded save needs an existing directory", path);
    if (snprintf(stpath, sizeof stpath, dir ? "%s/model.safetensors" : "%s", path) >= (int)sizeof stpath)
        return mto_error_set(err, MTO_EINVAL, "%s: path too long", path);
    char *cfg = mto_t5_config_json(&m->cfg);
    size_t nextra = 0;
    while (extra_meta && extra_meta[nextra]) nextra++;
    const char **meta = mto_calloc(nextra + 8, sizeof *meta);
    mto_st_out *outs = mto_calloc(m->nparams, sizeof *outs);
    int rc;
    if (!cfg || !meta || !outs) { rc = mto_error_set(err, MTO_ENOMEM, "t5 save: out of memory"); goto out; }
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)m->seed);
    size_t k = 0;
    meta[k++] = "format"; meta[k++] = "pt";
    meta[k++] = "config"; meta[k++] = cfg;
    meta[k++] = "seed"; meta[k++] = seed;
    for (size_t i = 0; i + 1 < nextra; i += 2) { meta[k++] = extra_meta[i]; meta[k++] = extra_meta[i + 1]; }
    meta[k] = NULL;
    for (size_t i = 0; i < m->nparams; i++) {
        const mto_t5_param *p = &m->table[i];
        outs[i] = (mto_st_out){p->name, MTO_ST_F32, p->ndim, p->shape, m->params + p->offset};
    }
    if (dir) rc = mto_st_write_sharded(path, outs, m->nparams, meta, max_shard_size, err);
    else rc = mto_st_write(stpath, outs, m->nparams, meta, err);
    if (rc) goto out;
    if (dir) {
        snprintf(cfgpath, sizeof cfgpath, "%s/config.json", path);
        rc = mto_st_write_text_atomic(cfgpath, cfg, err);
    }
out:
    free(cfg);
    free(meta);
    free(outs);
    return rc;
}
