/* l_score.c — per-token scoring, matching numerics, matcher plugins, and the
 * entry points of the MTO method (DESIGN.md §5) in Lua:
 *
 *   m:token_logprobs(src, tgt)     log p(tgt[t] | src, tgt[<t]) for every t (eval mode, ids as
 *                                  given: append eos yourself); a list of lists gives a list of lists
 *   m:score_batch{srcs=, tgts=, tails=, sentinels={lo, hi}, eos=1, batch_size=32}
 *                                  one per-token log-prob array per pair, several pairs per forward
 *                                  (sorted by length, src padded with 0, labels with -100); with
 *                                  tails= each array also has .tail_sum, .tail_n, .tail_mean and
 *                                  .exact: the sum over the tail's tokens only (mto.tail_mask)
 *   mto.tail_mask(tgt, tail, {sentinels={lo, hi}, eos=1}) -> {1-based positions}, exact
 *   mto.match_rank(scores, gold) -> rank (1 = best; ties share the mean rank)
 *   mto.perplexity(sum_lp, ntok), mto.maskability(ppl_prompting, ppl_masked),
 *   mto.match_family(mi, threshold) -> "filling" | "mapping" | nil
 *   mto.matcher(name, opts) -> matcher;  matcher:decide{task=, relation=, mi=, ...} -> family|nil, why
 *                                  (opts: strings/numbers/booleans; a table {k = v} travels as "k=v|...")
 *   mto.match{...}, mto.adapt{...}, mto.adapt_data{...}, mto.match_cli(args)
 *                                  lua/mto/match.lua, adapt.lua, match_cli.lua
 * Buffers live in Lua userdata, so a Lua error never leaks them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmto.h"
#include "mto/host.h"
#include "mto/match.h"
#include "mto/matcher.h"
#include "mto/t5.h"

#define MATCHER_MT "mto.matcher"

/* ---- a list of id lists, flattened into one userdata ------------------------ */

typedef struct seqs {
    size_t n, total;
    size_t *off; /* n + 1 offsets into ids */
    int32_t *ids;
} seqs;

/* Read the list of id lists at idx (ids in [lo, hi)); the userdata stays on the stack. */
static seqs *check_seqs(lua_State *L, int idx, const char *what, lua_Integer lo, lua_Integer hi)
{
    idx = lua_absindex(L, idx);
    luaL_argexpected(L, lua_istable(L, idx), idx, "list of id lists");
    size_t n = lua_rawlen(L, idx), total = 0;
    for (size_t i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TTABLE) luaL_error(L, "%s[%d] is not an array of ids", what, (int)i);
        total += lua_rawlen(L, -1);
        lua_pop(L, 1);
    }
    seqs *s = lua_newuserdatauv(L, sizeof *s + (n + 1) * sizeof(size_t) + (total ? total : 1) * sizeof(int32_t), 0);
    s->n = n, s->total = total;
    s->off = (size_t *)(s + 1);
    s->ids = (int32_t *)(s->off + n + 1);
    size_t k = 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        size_t len = lua_rawlen(L, -1);
        s->off[i - 1] = k;
        for (size_t j = 1; j <= len; j++) {
            lua_rawgeti(L, -1, (lua_Integer)j);
            int isnum;
            lua_Integer v = lua_tointegerx(L, -1, &isnum);
            if (!isnum || v < lo || v >= hi)
                luaL_error(L, "%s[%d][%d] is not a token id in [0, %d)", what, (int)i, (int)j, (int)hi);
            s->ids[k++] = (int32_t)v;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    s->off[n] = k;
    return s;
}

static size_t seq_len(const seqs *s, size_t i) { return s->off[i + 1] - s->off[i]; }

/* ---- batched per-token scoring ------------------------------------------------ */

/* Sort key of one pair: (target length, source length, index), so a batch pads little
 * and the order is deterministic. */
typedef struct pair_key { size_t tl, sl, i; } pair_key;

static int cmp_key(const void *a, const void *b)
{
    const pair_key *x = a, *y = b;
    if (x->tl != y->tl) return x->tl < y->tl ? -1 : 1;
    if (x->sl != y->sl) return x->sl < y->sl ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* lp (total target length floats): per-token log-probs of every pair, in input order. */
static int score_pairs(mto_t5 *m, const seqs *src, const seqs *tgt, int batch_size, float *lp, size_t *idx,
                       pair_key *keys, int32_t *sbuf, int32_t *lbuf, mto_error *e)
{
    size_t n = src->n;
    for (size_t i = 0; i < n; i++) keys[i] = (pair_key){seq_len(tgt, i), seq_len(src, i), i};
    qsort(keys, n, sizeof *keys, cmp_key);
    for (size_t i = 0; i < n; i++) idx[i] = keys[i].i;
    for (size_t b0 = 0; b0 < n; b0 += (size_t)batch_size) {
        size_t B = n - b0 < (size_t)batch_size ? n - b0 : (size_t)batch_size;
        int Ts = 1, Tt = 0;
        for (size_t k = 0; k < B; k++) {
            size_t i = idx[b0 + k];
            if ((int)seq_len(src, i) > Ts) Ts = (int)seq_len(src, i);
            if ((int)seq_len(tgt, i) > Tt) Tt = (int)seq_len(tgt, i);
        }
        if (Tt == 0) continue; /* only empty targets: nothing to score */
        for (size_t k = 0; k < B; k++) {
            size_t i = idx[b0 + k], ls = seq_len(src, i), lt = seq_len(tgt, i);
            for (int t = 0; t < Ts; t++) sbuf[k * Ts + t] = (size_t)t < ls ? src->ids[src->off[i] + t] : MTO_T5_PAD;
            for (int t = 0; t < Tt; t++) lbuf[k * Tt + t] = (size_t)t < lt ? tgt->ids[tgt->off[i] + t] : MTO_T5_IGNORE;
        }
        mto_t5_batch bt = {(int)B, Ts, Tt, sbuf, lbuf};
        int rc = mto_t5_forward(m, &bt, 0, e);
        if (rc && !(rc == MTO_ENUMERIC && m->ntok == 0)) return rc;
        for (size_t k = 0; k < B; k++) {
            size_t i = idx[b0 + k], lt = seq_len(tgt, i);
            for (size_t t = 0; t < lt; t++)
                lp[tgt->off[i] + t] = lbuf[k * Tt + t] == MTO_T5_IGNORE ? 0.0f : m->tok_logprob[k * (size_t)Tt + t];
        }
    }
    return 0;
}

static lua_Integer field_int(lua_State *L, int t, const char *k, lua_Integer dflt)
{
    lua_getfield(L, t, k);
    lua_Integer v = lua_isnil(L, -1) ? dflt : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

/* {lo, hi} at t.sentinels (inclusive id range); none when absent. */
static void read_special(lua_State *L, int t, mto_match_special *sp)
{
    sp->eos = MTO_T5_EOS, sp->sent_lo = 1, sp->sent_hi = 0; /* empty range */
    if (t == 0 || !lua_istable(L, t)) return;
    sp->eos = (int32_t)field_int(L, t, "eos", MTO_T5_EOS);
    if (lua_getfield(L, t, "sentinels") == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        lua_Integer lo = luaL_checkinteger(L, -2), hi = luaL_checkinteger(L, -1);
        if (lo > hi) { lua_Integer x = lo; lo = hi; hi = x; }
        sp->sent_lo = (int32_t)lo, sp->sent_hi = (int32_t)hi;
        lua_pop(L, 2);
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "sentinels: expected {lowest id, highest id}");
    }
    lua_pop(L, 1);
}

/* The work of score_batch: srcs at si, tgts at ti, tails at ta (0 = none), opts table at ot. */
static int score_common(lua_State *L, mto_t5 *m, int si, int ti, int ta, int ot, int batch_size)
{
    lua_Integer V = m->cfg.vocab_size;
    seqs *src = check_seqs(L, si, "srcs", 0, V), *tgt = check_seqs(L, ti, "tgts", MTO_T5_IGNORE, V);
    if (src->n != tgt->n) return luaL_error(L, "%d sources but %d targets", (int)src->n, (int)tgt->n);
    seqs *tail = NULL;
    if (ta) {
        tail = check_seqs(L, ta, "tails", 0, V);
        if (tail->n != tgt->n) return luaL_error(L, "%d targets but %d tails", (int)tgt->n, (int)tail->n);
    }
    mto_match_special sp;
    read_special(L, ot, &sp);
    size_t n = src->n, maxs = 1, maxt = 1;
    for (size_t i = 0; i < n; i++) {
        if (seq_len(src, i) > maxs) maxs = seq_len(src, i);
        if (seq_len(tgt, i) > maxt) maxt = seq_len(tgt, i);
    }
    if (batch_size < 1) return luaL_error(L, "score_batch: batch_size %d < 1", batch_size);
    size_t bs = (size_t)batch_size < n ? (size_t)batch_size : (n ? n : 1); /* scratch rows needed */
    /* one scratch userdata: keys | idx | lp | src batch | label batch | mask */
    size_t need = (n + 1) * sizeof(pair_key) + (n + 1) * sizeof(size_t) + (tgt->total + 1) * sizeof(float) +
                  bs * maxs * sizeof(int32_t) + bs * maxt * sizeof(int32_t) + maxt + 16;
    char *scratch = lua_newuserdatauv(L, need, 0);
    pair_key *keys = (pair_key *)scratch;
    size_t *idx = (size_t *)(keys + n + 1);
    float *lp = (float *)(idx + n + 1);
    int32_t *sbuf = (int32_t *)(lp + tgt->total + 1), *lbuf = sbuf + bs * maxs;
    uint8_t *mask = (uint8_t *)(lbuf + bs * maxt);
    mto_error e;
    if (score_pairs(m, src, tgt, batch_size, lp, idx, keys, sbuf, lbuf, &e)) return mto_lua_error(L, &e);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        size_t lt = seq_len(tgt, i);
        const float *p = lp + tgt->off[i];
        lua_createtable(L, (int)lt, ta ? 4 : 0);
        for (size_t t = 0; t < lt; t++) {
            lua_pushnumber(L, p[t]);
            lua_rawseti(L, -2, (lua_Integer)t + 1);
        }
        if (tail) {
            int exact;
            mto_match_tail_mask(tgt->ids + tgt->off[i], lt, tail->ids + tail->off[i], seq_len(tail, i), &sp, mask, &exact);
            long k;
            double s = mto_match_masked_sum(p, mask, lt, &k);
            lua_pushnumber(L, s);
            lua_setfield(L, -2, "tail_sum");
            lua_pushinteger(L, k);
            lua_setfield(L, -2, "tail_n");
            lua_pushnumber(L, k > 0 ? s / (double)k : NAN);
            lua_setfield(L, -2, "tail_mean");
            lua_pushboolean(L, exact);
            lua_setfield(L, -2, "exact");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_score_batch(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_getfield(L, 2, "srcs"); /* 3 */
    lua_getfield(L, 2, "tgts"); /* 4 */
    lua_getfield(L, 2, "tails"); /* 5 */
    int bs = (int)field_int(L, 2, "batch_size", 32);
    return score_common(L, m, 3, 4, lua_isnil(L, 5) ? 0 : 5, 2, bs);
}

static int l_token_logprobs(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    int batch = lua_rawgeti(L, 2, 1) == LUA_TTABLE;
    lua_pop(L, 1);
    if (!batch) { /* wrap the single pair */
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, 2);
        lua_rawseti(L, -2, 1);
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, 3);
        lua_rawseti(L, -2, 1);
        lua_replace(L, 3);
        lua_replace(L, 2);
    }
    score_common(L, m, 2, 3, 0, 0, 32);
    if (!batch) lua_rawgeti(L, -1, 1);
    return 1;
}

/* ---- numerics ------------------------------------------------------------------ */

static int l_tail_mask(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    seqs *t = NULL, *tl = NULL;
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    t = check_seqs(L, -1, "tgt", MTO_T5_IGNORE, INT32_MAX);
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, 1);
    tl = check_seqs(L, -1, "tail", MTO_T5_IGNORE, INT32_MAX);
    mto_match_special sp;
    read_special(L, 3, &sp);
    uint8_t *mask = lua_newuserdatauv(L, t->total + 1, 0);
    int exact;
    mto_match_tail_mask(t->ids, t->total, tl->ids, tl->total, &sp, mask, &exact);
    lua_newtable(L);
    lua_Integer k = 0;
    for (size_t i = 0; i < t->total; i++)
        if (mask[i]) {
            lua_pushinteger(L, (lua_Integer)i + 1);
            lua_rawseti(L, -2, ++k);
        }
    lua_pushboolean(L, exact);
    return 2;
}

static int l_match_rank(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer gold = luaL_checkinteger(L, 2);
    size_t n = lua_rawlen(L, 1);
    luaL_argcheck(L, gold >= 1 && (size_t)gold <= n, 2, "gold index outside the scores");
    double *s = lua_newuserdatauv(L, n * sizeof *s, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        s[i] = luaL_checknumber(L, -1);
        lua_pop(L, 1);
    }
    lua_pushnumber(L, mto_match_rank(s, n, (size_t)gold - 1));
    return 1;
}

static int l_perplexity(lua_State *L)
{
    lua_pushnumber(L, mto_match_ppl(luaL_checknumber(L, 1), (long)luaL_checkinteger(L, 2)));
    return 1;
}

static int l_maskability(lua_State *L)
{
    lua_pushnumber(L, mto_match_mi(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
    return 1;
}

static int l_match_family(lua_State *L)
{
    const char *f = mto_match_family(luaL_checknumber(L, 1), luaL_optnumber(L, 2, 0.3));
    if (f) lua_pushstring(L, f);
    else lua_pushnil(L);
    return 1;
}

/* ---- matcher plugins ----------------------------------------------------------- */

typedef struct lmatcher {
    mto_matcher *m;     /* NULL once closed */
    mto_options *opts;  /* kept while the matcher lives: its state may point into it */
    char name[64];
} lmatcher;

/* Options table at idx into o; a {k = v} value travels as the one string "k=v|k=v". */
static void fill_opts(lua_State *L, int idx, mto_options *o)
{
    char buf[64];
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "matcher option keys must be strings");
        const char *key = lua_tostring(L, -2), *v = mto_lua_scalar(L, -1, buf, sizeof buf);
        if (!v && lua_istable(L, -1)) {
            int t = lua_gettop(L);
            lua_newtable(L); /* "k=v" items */
            int acc = t + 1;
            lua_pushnil(L);
            while (lua_next(L, t)) {
                const char *x = mto_lua_scalar(L, -1, buf, sizeof buf);
                if (lua_type(L, -2) != LUA_TSTRING || !x)
                    luaL_error(L, "matcher option %s: expected {name = value, ...}", key);
                if (strpbrk(lua_tostring(L, -2), "|=") || strchr(x, '|'))
                    luaL_error(L, "matcher option %s: '|' and '=' cannot appear in '%s'", key, lua_tostring(L, -2));
                lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), x);
                lua_rawseti(L, acc, (lua_Integer)lua_rawlen(L, acc) + 1);
                lua_pop(L, 1);
            }
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, acc); i++) {
                if (i > 1) luaL_addchar(&b, '|');
                lua_rawgeti(L, acc, i);
                luaL_addvalue(&b);
            }
            luaL_pushresult(&b);
            if (mto_options_set(o, key, lua_tostring(L, -1))) luaL_error(L, "out of memory");
            lua_pop(L, 2); /* the string and acc */
        } else if (v) {
            if (mto_options_set(o, key, v)) luaL_error(L, "out of memory");
        } else {
            luaL_error(L, "matcher option '%s': expected a string, number, boolean or {name = value}", key);
        }
        lua_pop(L, 1);
    }
}

static int matcher_gc(lua_State *L)
{
    lmatcher *u = luaL_checkudata(L, 1, MATCHER_MT);
    mto_matcher_free(u->m);
    if (u->opts) mto_options_free(u->opts);
    u->m = NULL, u->opts = NULL;
    return 0;
}

static int l_matcher_new(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    mto_error err = {0};
    lmatcher *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, MATCHER_MT);
    snprintf(u->name, sizeof u->name, "%s", name);
    if (!(u->opts = mto_options_new())) return luaL_error(L, "out of memory");
    if (lua_istable(L, 2)) fill_opts(L, 2, u->opts);
    if (mto_matcher_open(name, u->opts, &u->m, &err)) return mto_lua_error(L, &err);
    return 1;
}

static int l_decide(lua_State *L)
{
    lmatcher *u = luaL_checkudata(L, 1, MATCHER_MT);
    if (!u->m) return luaL_error(L, "matcher is closed");
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    mto_record *rec = mto_lua_check_record(L, 2);
    mto_text fam, why;
    mto_text_init(&fam);
    mto_text_init(&why);
    mto_error err = {0};
    int rc = mto_matcher_decide(u->m, rec, &fam, &why, &err);
    if (rc == 0) {
        if (fam.len) lua_pushlstring(L, fam.data, fam.len);
        else lua_pushnil(L);
        lua_pushlstring(L, why.data ? why.data : "", why.len);
    }
    mto_text_free(&fam);
    mto_text_free(&why);
    if (rc) return mto_lua_error(L, &err);
    return 2;
}

static int matcher_index(lua_State *L)
{
    lmatcher *u = luaL_checkudata(L, 1, MATCHER_MT);
    static const char *const fields[] = {"name", "decide", "close", NULL};
    switch (mto_lua_field(luaL_checkstring(L, 2), fields)) {
    case 0: lua_pushstring(L, u->name); break;
    case 1: lua_pushcfunction(L, l_decide); break;
    case 2: lua_pushcfunction(L, matcher_gc); break;
    default: lua_pushnil(L);
    }
    return 1;
}

static int matcher_tostring(lua_State *L)
{
    lmatcher *u = luaL_checkudata(L, 1, MATCHER_MT);
    lua_pushfstring(L, "mto.matcher(%s)", u->name);
    return 1;
}

/* ---- pure-Lua entry points (mto_lua_call_module, l_train.c) ---------------------- */

void mto_lua_open_score(lua_State *L)
{
    static const luaL_Reg methods[] = {{"token_logprobs", l_token_logprobs}, {"score_batch", l_score_batch}, {NULL, NULL}};
    mto_lua_add_model_methods(L, methods);
    static const luaL_Reg mt[] = {{"__gc", matcher_gc}, {"__close", matcher_gc}, {"__index", matcher_index},
                                  {"__tostring", matcher_tostring}, {NULL, NULL}};
    luaL_newmetatable(L, MATCHER_MT);
    luaL_setfuncs(L, mt, 0);
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"tail_mask", l_tail_mask}, {"match_rank", l_match_rank},
                                   {"perplexity", l_perplexity}, {"maskability", l_maskability},
                                   {"match_family", l_match_family}, {"matcher", l_matcher_new}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    static const char *const entry[][3] = {{"match", "mto.match", "run"}, {"adapt", "mto.adapt", "run"},
                                           {"adapt_data", "mto.adapt", "build"}, {"match_cli", "mto.match_cli", "main"}};
    mto_lua_add_module_entries(L, entry, sizeof entry / sizeof entry[0]);
}
