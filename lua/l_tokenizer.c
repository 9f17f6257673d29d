/* l_tokenizer.c — tokenizers from Lua:
 *
 *   local tok = mto.tokenizer("spiece.model")    -- raises on a bad file
 *   local ids = tok:encode("a <extra_id_0> b")   -- {..., 32099, ...}, no eos
 *   local s   = tok:decode(ids)                  -- pad/eos dropped
 *   tok.vocab_size, tok.path, tok.pad_id, tok.eos_id, tok.unk_id
 *   tok:piece_to_id("▁the") -> id or nil;  tok:sentinel(n) -> id of <extra_id_n>
 *   mto.train_tokenizer{input=, model_prefix=, vocab_size=, model_type=, ...}
 *     -> model_prefix .. ".model"
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lmto.h"
#include "mto/host.h"
#include "mto/tokenizer.h"

#define TOKENIZER_MT "mto.tokenizer"

typedef struct { mto_tokenizer *tok; } ltok;

static mto_tokenizer *check_tok(lua_State *L, int idx)
{
    ltok *u = luaL_checkudata(L, idx, TOKENIZER_MT);
    if (!u->tok) luaL_error(L, "tokenizer is closed");
    return u->tok;
}

/* mto.tokenizer(path) */
static int l_tokenizer(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    ltok *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->tok = NULL;
    luaL_setmetatable(L, TOKENIZER_MT);
    mto_error err = {0};
    if (mto_tokenizer_open(path, &u->tok, &err)) return mto_lua_error(L, &err);
    return 1;
}

static int l_encode(lua_State *L)
{
    mto_tokenizer *t = check_tok(L, 1);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    mto_ids ids;
    mto_ids_init(&ids);
    mto_error err = {0};
    if (mto_tokenizer_encode(t, s, len, &ids, &err)) {
        mto_ids_free(&ids);
        return mto_lua_error(L, &err);
    }
    mto_lua_push_ids(L, ids.data, ids.len);
    mto_ids_free(&ids);
    return 1;
}

static int l_decode(lua_State *L)
{
    mto_tokenizer *t = check_tok(L, 1);
    size_t n;
    int32_t *ids = mto_lua_check_ids(L, 2, &n);
    mto_text txt;
    mto_text_init(&txt);
    mto_error err = {0};
    int rc = mto_tokenizer_decode(t, ids, n, &txt, &err);
    if (rc) {
        mto_text_free(&txt);
        return mto_lua_error(L, &err);
    }
    lua_pushlstring(L, txt.data ? txt.data : "", txt.len);
    mto_text_free(&txt);
    return 1;
}

static int l_piece_to_id(lua_State *L)
{
    int32_t id = mto_tokenizer_piece_to_id(check_tok(L, 1), luaL_checkstring(L, 2));
    if (id < 0) lua_pushnil(L);
    else lua_pushinteger(L, id);
    return 1;
}

static int l_sentinel(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 2);
    int32_t id = n >= 0 && n < MTO_TOK_SENTINELS ? mto_tokenizer_sentinel(check_tok(L, 1), (int)n) : -1;
    luaL_argcheck(L, id >= 0, 2, "sentinel number must be in [0, 100)");
    lua_pushinteger(L, id);
    return 1;
}

static int l_close(lua_State *L)
{
    ltok *u = luaL_checkudata(L, 1, TOKENIZER_MT);
    mto_tokenizer_free(u->tok);
    u->tok = NULL;
    return 0;
}

static int l_tostring(lua_State *L)
{
    ltok *u = luaL_checkudata(L, 1, TOKENIZER_MT);
    if (u->tok)
        lua_pushfstring(L, "mto.tokenizer(%s, %d ids)", mto_tokenizer_path(u->tok),
                        (int)mto_tokenizer_vocab_size(u->tok));
    else
        lua_pushliteral(L, "mto.tokenizer(closed)");
    return 1;
}

/* Fields first, then methods. */
static int l_index(lua_State *L)
{
    static const char *const fields[] = {"vocab_size", "path", "pad_id", "eos_id", "unk_id", NULL};
    const char *k = luaL_checkstring(L, 2);
    switch (mto_lua_field(k, fields)) {
    case 0: lua_pushinteger(L, mto_tokenizer_vocab_size(check_tok(L, 1))); break;
    case 1: lua_pushstring(L, mto_tokenizer_path(check_tok(L, 1))); break;
    case 2: lua_pushinteger(L, MTO_TOK_PAD); break;
    case 3: lua_pushinteger(L, MTO_TOK_EOS); break;
    case 4: lua_pushinteger(L, MTO_TOK_UNK); break;
    default: lua_getfield(L, lua_upvalueindex(1), k);
    }
    return 1;
}

/* Options train_tokenizer passes on to the plugin (anything else is a typo). */
static const char *const train_keys[] = {
    "model_type", "character_coverage", "input_sentence_size", "shuffle_input_sentence",
    "seed", "num_threads", "max_sentence_length", "split_digits", "byte_fallback",
    "normalization_rule_name", "user_defined_symbols", "verbose", NULL};

/* mto.train_tokenizer{input=, model_prefix=, vocab_size=, ...} -> path */
static int l_train(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "input");
    lua_getfield(L, 1, "model_prefix");
    lua_getfield(L, 1, "vocab_size");
    const char *input = lua_tostring(L, -3), *prefix = lua_tostring(L, -2);
    int isnum;
    lua_Integer vocab = lua_tointegerx(L, -1, &isnum);
    if (!input || !prefix || !isnum || vocab <= 0 || vocab > INT32_MAX)
        return luaL_error(L, "train_tokenizer: need input=, model_prefix= (strings) and "
                             "vocab_size= (a positive integer)");
    mto_options *opts = mto_options_new();
    if (!opts) return luaL_error(L, "train_tokenizer: out of memory");
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!k) {
            mto_options_free(opts);
            return luaL_error(L, "train_tokenizer: option keys must be strings");
        }
        if (strcmp(k, "input") && strcmp(k, "model_prefix") && strcmp(k, "vocab_size")) {
            int known = 0;
            for (int i = 0; train_keys[i]; i++) known |= !strcmp(k, train_keys[i]);
            const char *v = NULL;
            if (lua_type(L, -1) == LUA_TBOOLEAN) v = lua_toboolean(L, -1) ? "1" : "0";
            else if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING)
                v = lua_tostring(L, -1); /* converts the value slot, never the key */
            if (!known || !v || mto_options_set(opts, k, v)) {
                mto_options_free(opts);
                return luaL_error(L, "train_tokenizer: %s option '%s'",
                                  known ? "bad value for" : "unknown", k);
            }
        }
        lua_pop(L, 1);
    }
    mto_error err = {0};
    int rc = mto_tokenizer_train(input, prefix, (int)vocab, opts, &err);
    mto_options_free(opts);
    if (rc) return mto_lua_error(L, &err);
    lua_pushfstring(L, "%s.model", prefix);
    return 1;
}

void mto_lua_open_tokenizer(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"encode", l_encode}, {"decode", l_decode}, {"piece_to_id", l_piece_to_id},
        {"sentinel", l_sentinel}, {"close", l_close}, {NULL, NULL}};
    if (luaL_newmetatable(L, TOKENIZER_MT)) {
        luaL_newlib(L, methods);
        lua_pushcclosure(L, l_index, 1);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_tokenizer);
    lua_setfield(L, -2, "tokenizer");
    lua_pushcfunction(L, l_train);
    lua_setfield(L, -2, "train_tokenizer");
}
