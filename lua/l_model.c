/* l_model.c — T5 models in Lua:
 *   mto.load(path)                 HF dir or .safetensors -> model (raises on failure, like
 *                                  every constructor and loader of the binding: pcall to test)
 *   mto.new(config, seed)          random model; config uses HF config.json keys
 *   m.config                       table of the HF config keys
 *   m:loss(src, tgt)               mean cross-entropy (eval mode)
 *   m:score(src, tgt)              sum log-prob of tgt given src; m:score(items) with
 *                                  items = {{src =, tgt =}, ...} -> array (as p:score)
 *   m:generate(src, {max_len=, beams=, length_penalty=})  ids (without the final eos), log-prob
 *   m:save(path [, {max_shard_size = N | "10GB"}])
 *                                  .safetensors file, or an existing directory (HF layout;
 *                                  sharded into model-0000K-of-0000N.safetensors + index)
 *   m:num_params()
 *   m.tokenizer                    the directory's spiece.model as an mto.tokenizer (nil if none);
 *                                  assignable; m:save(dir) copies it into dir (self-contained)
 * src/tgt are arrays of integer ids (one example) or arrays of such arrays
 * (a batch: loss is then the batch mean, score/generate return arrays).
 * Buffers live in Lua userdata, so a Lua error never leaks them. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmto.h"
#include "mto/checkpoint.h"
#include "mto/t5.h"


static void push_model(lua_State *L, mto_t5 *m)
{
    mto_lua_model *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->m = m;
    luaL_setmetatable(L, MTO_LUA_MODEL_MT);
}

/* A padded batch read from Lua, owned by a userdata on the stack. */
typedef struct lbatch { int B, T; int32_t *ids; } lbatch;

static int is_batch(lua_State *L, int idx)
{
    return lua_rawgeti(L, idx, 1) == LUA_TTABLE ? (lua_pop(L, 1), 1) : (lua_pop(L, 1), 0);
}

/* Read src (pad 0) or tgt (pad -100) at idx: one list or a list of lists. */
static lbatch *check_batch(lua_State *L, int idx, int pad, const char *what)
{
    idx = lua_absindex(L, idx);
    luaL_argexpected(L, lua_istable(L, idx), idx, "array of ids or array of arrays");
    int batch = is_batch(L, idx);
    int B = batch ? (int)lua_rawlen(L, idx) : 1, T = 0;
    for (int b = 1; b <= B; b++) {
        if (batch && lua_rawgeti(L, idx, b) != LUA_TTABLE) luaL_error(L, "%s[%d] is not an array of ids", what, b);
        int n = (int)lua_rawlen(L, batch ? -1 : idx);
        if (batch) lua_pop(L, 1);
        T = n > T ? n : T;
    }
    if (T == 0) luaL_error(L, "%s is empty", what);
    lbatch *lb = lua_newuserdatauv(L, sizeof *lb + (size_t)B * T * sizeof(int32_t), 0);
    lb->B = B; lb->T = T; lb->ids = (int32_t *)(lb + 1);
    for (int b = 0; b < B; b++) {
        if (batch) lua_rawgeti(L, idx, b + 1);
        int t = batch ? lua_gettop(L) : idx, n = (int)lua_rawlen(L, t);
        for (int i = 0; i < T; i++) {
            lua_Integer v = pad;
            if (i < n) {
                lua_rawgeti(L, t, i + 1);
                int isnum;
                v = lua_tointegerx(L, -1, &isnum);
                lua_pop(L, 1);
                if (!isnum || v < -100 || v > INT32_MAX) luaL_error(L, "%s: element %d is not a token id", what, i + 1);
            }
            lb->ids[(size_t)b * T + i] = (int32_t)v;
        }
        if (batch) lua_pop(L, 1);
    }
    return lb;
}

static void check_same_batch(lua_State *L, const lbatch *s, const lbatch *t)
{
    if (s->B != t->B) luaL_error(L, "%d sources but %d targets", s->B, t->B);
}

static int l_loss(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    lbatch *s = check_batch(L, 2, MTO_T5_PAD, "src"), *t = check_batch(L, 3, MTO_T5_IGNORE, "tgt");
    check_same_batch(L, s, t);
    mto_t5_batch b = {s->B, s->T, t->T, s->ids, t->ids};
    mto_error e;
    if (mto_t5_forward(m, &b, 0, &e)) return mto_lua_error(L, &e);
    lua_pushnumber(L, m->loss);
    return 1;
}

/* m:score(items), items = {{src =, tgt =}, ...} as p:score and m:train take them (a target
 * gets an eos unless it ends with one): becomes (srcs, tgts). */
static void split_items(lua_State *L)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
    lua_createtable(L, (int)n, 0);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 2, i) != LUA_TTABLE) luaL_error(L, "score: items[%d] is not a {src =, tgt =} pair", (int)i);
        lua_getfield(L, -1, "src");
        lua_rawseti(L, -4, i);
        if (lua_getfield(L, -1, "tgt") != LUA_TTABLE) luaL_error(L, "score: items[%d].tgt is not an array of ids", (int)i);
        lua_Integer k = (lua_Integer)lua_rawlen(L, -1);
        lua_createtable(L, (int)k + 1, 0);
        for (lua_Integer j = 1; j <= k; j++) lua_rawgeti(L, -2, j), lua_rawseti(L, -2, j);
        lua_rawgeti(L, -1, k);
        if (k == 0 || lua_tointeger(L, -1) != MTO_T5_EOS) lua_pushinteger(L, MTO_T5_EOS), lua_rawseti(L, -3, k + 1);
        lua_pop(L, 1);
        lua_rawseti(L, -4, i);
        lua_pop(L, 2);
    }
    lua_replace(L, 3);
    lua_replace(L, 2);
}

static int l_score(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    lua_settop(L, 3);
    int items = lua_isnil(L, 3) && lua_istable(L, 2);
    if (items) split_items(L);
    int batch = items || (lua_istable(L, 2) && is_batch(L, 2));
    lbatch *s = check_batch(L, 2, MTO_T5_PAD, "src"), *t = check_batch(L, 3, MTO_T5_IGNORE, "tgt");
    check_same_batch(L, s, t);
    double *out = lua_newuserdatauv(L, (size_t)s->B * sizeof *out, 0);
    mto_t5_batch b = {s->B, s->T, t->T, s->ids, t->ids};
    mto_error e;
    if (mto_t5_score(m, &b, out, &e)) return mto_lua_error(L, &e);
    if (!batch) { lua_pushnumber(L, out[0]); return 1; }
    lua_createtable(L, s->B, 0);
    for (int i = 0; i < s->B; i++) { lua_pushnumber(L, out[i]); lua_rawseti(L, -2, i + 1); }
    return 1;
}

static int l_generate(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    int batch = lua_istable(L, 2) && is_batch(L, 2);
    lbatch *s = check_batch(L, 2, MTO_T5_PAD, "src");
    mto_t5_gen_opts o;
    mto_lua_gen_opts(L, 3, "generate", &o);
    size_t B = (size_t)s->B;
    /* one userdata, doubles first so every part is aligned */
    double *sc = lua_newuserdatauv(L, B * sizeof(double) + B * sizeof(int) + B * o.max_len * sizeof(int32_t), 0);
    int *len = (int *)(sc + B);
    int32_t *out = (int32_t *)(len + B);
    mto_error e;
    if (mto_t5_generate(m, s->ids, s->B, s->T, &o, out, len, sc, &e)) return mto_lua_error(L, &e);
    if (batch) { lua_createtable(L, s->B, 0); lua_createtable(L, s->B, 0); }
    for (size_t b = 0; b < B; b++) {
        int n = len[b];
        if (n > 0 && out[b * o.max_len + n - 1] == MTO_T5_EOS) n--; /* the eos is implied */
        mto_lua_push_ids(L, out + b * o.max_len, (size_t)n);
        lua_pushnumber(L, sc[b]);
        if (!batch) return 2;
        lua_rawseti(L, -3, (lua_Integer)b + 1);
        lua_rawseti(L, -3, (lua_Integer)b + 1);
    }
    return 2;
}

/* Copy src to dst through a temporary file and rename, so dst is never partial. */
static int copy_file(const char *src, const char *dst, mto_error *e)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dst, (long)getpid());
    FILE *in = fopen(src, "rb");
    if (!in) return mto_error_set(e, MTO_EIO, "%s: cannot open for copying: %s", src, strerror(errno));
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        int en = errno;
        fclose(in);
        return mto_error_set(e, MTO_EIO, "%s: cannot create: %s", tmp, strerror(en));
    }
    char buf[65536];
    size_t n;
    int bad = 0, en = 0; /* the first failure's errno: "No space left on device" */
    while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) bad = 1, en = errno;
    if (!bad && ferror(in)) bad = 1, en = errno;
    fclose(in);
    if (!bad && (fflush(out) != 0 || fsync(fileno(out)) != 0)) bad = 1, en = errno;
    if (fclose(out) != 0 && !bad) bad = 1, en = errno;
    if (!bad && rename(tmp, dst) != 0) bad = 1, en = errno;
    if (bad) {
        remove(tmp);
        return mto_error_set(e, MTO_EIO, "%s: cannot write a copy of %s: %s", dst, src, strerror(en ? en : EIO));
    }
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int l_save(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    const char *path = luaL_checkstring(L, 2);
    mto_error e;
    uint64_t max_shard = 0; /* opts.max_shard_size: bytes, or "10GB" / "500MiB" as in transformers */
    if (lua_type(L, 3) == LUA_TTABLE && lua_getfield(L, 3, "max_shard_size") != LUA_TNIL) {
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) max_shard = (uint64_t)lua_tointeger(L, -1);
        else if (mto_parse_size(lua_tostring(L, -1), &max_shard, &e)) return mto_lua_error(L, &e);
    } else if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    if (mto_t5_save_sharded(m, path, NULL, max_shard, &e)) return mto_lua_error(L, &e);
    /* a saved directory carries its tokenizer: config.json, model.safetensors, spiece.model */
    if (is_dir(path) && lua_getiuservalue(L, 1, 1) == LUA_TUSERDATA && lua_getfield(L, -1, "path") == LUA_TSTRING) {
        const char *src = lua_tostring(L, -1);
        char dst[4096];
        snprintf(dst, sizeof dst, "%s/spiece.model", path);
        struct stat a, b;
        int same = stat(src, &a) == 0 && stat(dst, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
        if (!same && copy_file(src, dst, &e)) return mto_lua_error(L, &e);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_num_params(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mto_lua_check_model(L, 1)->numel);
    return 1;
}

/* m.config: the HF config keys as a Lua table. */
static void push_config(lua_State *L, const mto_t5_config *c)
{
    static const char *ffn[] = {"relu", "gated-gelu", "gated-relu"};
    lua_createtable(L, 0, 16);
    struct { const char *k; int v; } iv[] = {
        {"d_model", c->d_model}, {"d_ff", c->d_ff}, {"d_kv", c->d_kv}, {"num_heads", c->num_heads},
        {"num_layers", c->num_layers}, {"num_decoder_layers", c->num_decoder_layers},
        {"relative_attention_num_buckets", c->num_buckets}, {"relative_attention_max_distance", c->max_distance},
        {"vocab_size", c->vocab_size}, {"pad_token_id", MTO_T5_PAD}, {"eos_token_id", MTO_T5_EOS},
        {"decoder_start_token_id", MTO_T5_PAD}};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        lua_pushinteger(L, iv[i].v);
        lua_setfield(L, -2, iv[i].k);
    }
    lua_pushstring(L, ffn[c->ff]);
    lua_setfield(L, -2, "feed_forward_proj");
    lua_pushboolean(L, c->tie_word_embeddings);
    lua_setfield(L, -2, "tie_word_embeddings");
    lua_pushnumber(L, c->dropout_rate);
    lua_setfield(L, -2, "dropout_rate");
    lua_pushnumber(L, c->eps);
    lua_setfield(L, -2, "layer_norm_epsilon");
    lua_pushstring(L, "t5");
    lua_setfield(L, -2, "model_type");
}

/* Append s to buf (JSON-string-safe when quoted: quotes, backslashes and
 * control characters are dropped; they never occur in a T5 config). */
static void put(char *buf, size_t cap, size_t *n, const char *s, int quoted)
{
    for (; *s && *n + 1 < cap; s++)
        if (!quoted || (*s != '"' && *s != '\\' && (unsigned char)*s >= 32)) buf[(*n)++] = *s;
    buf[*n] = 0;
}

/* A flat Lua table as JSON text (pushed), so mto.new goes through the config.json parser. */
static void push_table_json(lua_State *L, int idx)
{
    char buf[8192], num[64];
    size_t n = 0;
    put(buf, sizeof buf, &n, "{", 0);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *v = NULL;
        int quote = 0;
        if (lua_type(L, -2) == LUA_TSTRING) {
            if (lua_isinteger(L, -1)) snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1)), v = num;
            else if (lua_type(L, -1) == LUA_TNUMBER) {
                double x = lua_tonumber(L, -1);
                if (x != x || x - x != 0) /* NaN or infinite: JSON has no word for it */
                    luaL_error(L, "mto.new config: %s = %f is not a finite number", lua_tostring(L, -2), x);
                snprintf(num, sizeof num, "%.17g", x), v = num;
            }
            else if (lua_type(L, -1) == LUA_TBOOLEAN) v = lua_toboolean(L, -1) ? "true" : "false";
            else if (lua_type(L, -1) == LUA_TSTRING) v = lua_tostring(L, -1), quote = 1;
        }
        if (v) {
            if (n > 1) put(buf, sizeof buf, &n, ",", 0);
            put(buf, sizeof buf, &n, "\"", 0);
            put(buf, sizeof buf, &n, lua_tostring(L, -2), 1);
            put(buf, sizeof buf, &n, quote ? "\":\"" : "\":", 0);
            put(buf, sizeof buf, &n, v, quote);
            if (quote) put(buf, sizeof buf, &n, "\"", 0);
        }
        lua_pop(L, 1);
    }
    put(buf, sizeof buf, &n, "}", 0);
    lua_pushstring(L, buf);
}

static int l_index(lua_State *L)
{
    luaL_checkudata(L, 1, MTO_LUA_MODEL_MT); /* methods stay reachable after m:free(); they check */
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "config") == 0) {
        push_config(L, &mto_lua_check_model(L, 1)->cfg);
        return 1;
    }
    if (strcmp(k, "tokenizer") == 0) {
        lua_getiuservalue(L, 1, 1);
        return 1;
    }
    luaL_getmetafield(L, 1, "methods");
    lua_getfield(L, -1, k);
    return 1;
}

/* m.tokenizer = tok (an mto.tokenizer or nil); other fields are read-only. */
static int l_newindex(lua_State *L)
{
    mto_lua_check_model(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "tokenizer") != 0) return luaL_error(L, "model field '%s' is read-only", k);
    if (!lua_isnil(L, 3)) luaL_checkudata(L, 3, "mto.tokenizer");
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, 1, 1);
    return 0;
}

static int l_gc(lua_State *L)
{
    mto_lua_model *u = luaL_checkudata(L, 1, MTO_LUA_MODEL_MT);
    mto_t5_free(u->m);
    u->m = NULL;
    return 0;
}

/* m:free(): release the parameters, gradients, optimizer state and threads now
 * instead of at the next garbage collection (Lua sees a model as a few bytes, so
 * it would not hurry); later calls on m raise "model has been freed". */
static int l_free(lua_State *L)
{
    return l_gc(L);
}

/* m:trim() -> bytes released: the activation buffers, sized for the largest batch
 * seen so far (remade for the next call's batch). */
static int l_trim(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    size_t had = mto_t5_acts_bytes(m);
    mto_t5_trim(m);
    lua_pushinteger(L, (lua_Integer)had);
    return 1;
}

static int l_tostring(lua_State *L)
{
    if (!((mto_lua_model *)luaL_checkudata(L, 1, MTO_LUA_MODEL_MT))->m) {
        lua_pushliteral(L, "mto.model(freed)");
        return 1;
    }
    mto_t5 *m = mto_lua_check_model(L, 1);
    lua_pushfstring(L, "mto.model(t5 %s, d_model %d, %d+%d layers, %d params)",
                    m->cfg.ff == MTO_T5_FF_RELU ? "v1.0" : "v1.1", m->cfg.d_model, m->cfg.num_layers,
                    m->cfg.num_decoder_layers, (int)m->numel);
    return 1;
}

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    mto_error e;
    mto_t5 *m = mto_t5_load(path, &e);
    if (!m) return mto_lua_error(L, &e);
    push_model(L, m);
    /* a model directory with spiece.model brings its tokenizer along */
    char spm[4096];
    snprintf(spm, sizeof spm, "%s/spiece.model", path);
    struct stat st;
    if (is_dir(path) && stat(spm, &st) == 0) {
        int top = lua_gettop(L); /* the model */
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        if (lua_getfield(L, -1, "mto") == LUA_TTABLE && lua_getfield(L, -1, "tokenizer") == LUA_TFUNCTION) {
            lua_pushstring(L, spm);
            /* a corrupt (or empty) spiece.model raises, naming the file, as a bad checkpoint
             * does (the model is collected) */
            lua_call(L, 1, 1);
            lua_setiuservalue(L, top, 1);
        }
        lua_settop(L, top);
    }
    return 1;
}

static int l_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer seed = luaL_optinteger(L, 2, 0);
    /* the table goes through the same parser as config.json */
    push_table_json(L, 1);
    mto_t5_config c;
    mto_error e;
    if (mto_t5_config_parse(&c, lua_tostring(L, -1), "mto.new config", &e)) return mto_lua_error(L, &e);
    mto_t5 *m = mto_t5_new(&c, (uint64_t)seed, &e);
    if (!m) return mto_lua_error(L, &e);
    push_model(L, m);
    return 1;
}

void mto_lua_open_model(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"loss", l_loss}, {"score", l_score}, {"generate", l_generate}, {"save", l_save},
        {"num_params", l_num_params}, {"free", l_free}, {"trim", l_trim}, {NULL, NULL}};
    if (luaL_newmetatable(L, MTO_LUA_MODEL_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "methods");
        lua_pushcfunction(L, l_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_newindex);
        lua_setfield(L, -2, "__newindex");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_load);
    lua_setfield(L, -2, "load");
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "new");
}
