/* l_metrics.c — the metrics in Lua (see core/mto/metrics.h for definitions):
 *   mto.rouge_l(pred, refs [, {style=}])      best ROUGE-L F1; refs a string or an array
 *   mto.bleu(pred, refs [, {smoothing=}])     sentence BLEU-4; smoothing "method1" (default) or "none"
 *   mto.corpus_bleu(preds, refs_list [, {smoothing=}])   corpus BLEU-4
 *   mto.exact_match(pred, refs [, {style=}])  boolean
 *   mto.unique_count(preds [, {style=}])      number of distinct normalised predictions
 * style = "mto" (default: rouge_score-compatible tokens) or "paper" (the MTO
 * paper's code: pltrdy/rouge 1.0.1, strip-and-compare exact match, raw unique).
 * Every text is read with its Lua length, so embedded NUL bytes count.
 *   mto.mean_by_group(scores, groups)         mean per group (relation), then over groups
 *   mto.mc_pick(pred, choices)                1-based index of the choice pred names, or nil
 *   mto.mc_accuracy(picks, golds)             fraction equal
 *   mto.metric_tokens(text)                   the tokens every metric sees
 * Temporary arrays are Lua userdata, so a Lua error never leaks them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmto.h"
#include "mto/metrics.h"

/* Strings at stack index idx (a string, or an array of strings) as a const char *array
 * kept alive by a userdata pushed on the stack; *n gets the count and, if lens is
 * not NULL, *lens their byte lengths (in the same userdata). The strings belong to
 * the argument, which stays on the stack for the call. */
static const char **check_strings_len(lua_State *L, int idx, const char *fn, const char *what, size_t *n,
                                      size_t **lens)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char **v = lua_newuserdatauv(L, sizeof *v + sizeof(size_t), 0);
        size_t *l = (size_t *)(void *)(v + 1);
        v[0] = lua_tolstring(L, idx, l);
        *n = 1;
        if (lens) *lens = l;
        return v;
    }
    if (!lua_istable(L, idx))
        luaL_error(L, "%s: %s must be a string or an array of strings, got %s", fn, what, luaL_typename(L, idx));
    lua_Unsigned len = lua_rawlen(L, idx);
    size_t cap = len ? (size_t)len : 1;
    const char **v = lua_newuserdatauv(L, cap * (sizeof *v + sizeof(size_t)), 0);
    size_t *l = (size_t *)(void *)(v + cap);
    for (lua_Unsigned i = 1; i <= len; i++) {
        if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TSTRING)
            luaL_error(L, "%s: %s[%d] is a %s, expected a string", fn, what, (int)i, luaL_typename(L, -1));
        v[i - 1] = lua_tolstring(L, -1, &l[i - 1]); /* the table keeps the string alive */
        lua_pop(L, 1);
    }
    *n = (size_t)len;
    if (lens) *lens = l;
    return v;
}

/* opts.style at idx: nil/"mto" -> MTO_METRIC_STYLE_MTO, "paper" -> MTO_METRIC_STYLE_PAPER. */
static int check_style(lua_State *L, int idx, const char *fn)
{
    if (lua_isnoneornil(L, idx)) return MTO_METRIC_STYLE_MTO;
    if (!lua_istable(L, idx)) luaL_error(L, "%s: options must be a table, got %s", fn, luaL_typename(L, idx));
    int t = lua_getfield(L, idx, "style");
    int s = MTO_METRIC_STYLE_MTO;
    if (t == LUA_TSTRING) {
        static const char *const names[] = {"mto", "default", "paper", NULL};
        static const int styles[] = {MTO_METRIC_STYLE_MTO, MTO_METRIC_STYLE_MTO, MTO_METRIC_STYLE_PAPER};
        const char *v = lua_tostring(L, -1);
        int i = mto_lua_field(v, names);
        if (i < 0) luaL_error(L, "%s: style \"%s\" unknown (use \"mto\" or \"paper\")", fn, v);
        s = styles[i];
    } else if (t != LUA_TNIL)
        luaL_error(L, "%s: style must be a string, got %s", fn, luaL_typename(L, -1));
    lua_pop(L, 1);
    return s;
}

/* opts.smoothing: nil/"method1"/true/1 -> method1, "none"/false/0 -> none. */
static int check_smoothing(lua_State *L, int idx, const char *fn)
{
    if (lua_isnoneornil(L, idx)) return MTO_BLEU_SMOOTH_DEFAULT;
    luaL_checktype(L, idx, LUA_TTABLE);
    int t = lua_getfield(L, idx, "smoothing");
    int s = MTO_BLEU_SMOOTH_DEFAULT;
    if (t == LUA_TBOOLEAN) s = lua_toboolean(L, -1) ? MTO_BLEU_SMOOTH_METHOD1 : MTO_BLEU_SMOOTH_NONE;
    else if (t == LUA_TSTRING) {
        static const char *const names[] = {"method1", "none", "method0", NULL};
        static const int smooth[] = {MTO_BLEU_SMOOTH_METHOD1, MTO_BLEU_SMOOTH_NONE, MTO_BLEU_SMOOTH_NONE};
        const char *v = lua_tostring(L, -1);
        int i = mto_lua_field(v, names);
        if (i < 0) luaL_error(L, "%s: smoothing \"%s\" unknown (use \"method1\" or \"none\")", fn, v);
        s = smooth[i];
    } else if (t == LUA_TNUMBER) {
        lua_Integer k = lua_tointeger(L, -1);
        if (k != 0 && k != 1) luaL_error(L, "%s: smoothing %d unknown (0 = none, 1 = method1)", fn, (int)k);
        s = (int)k;
    } else if (t != LUA_TNIL)
        luaL_error(L, "%s: smoothing must be a string, boolean or number", fn);
    lua_pop(L, 1);
    return s;
}

static int nan_check(lua_State *L, double v, const char *fn)
{
    if (v != v) return luaL_error(L, "%s: out of memory", fn);
    lua_pushnumber(L, v);
    return 1;
}

static int l_rouge_l(lua_State *L)
{
    size_t plen, n, *lens;
    const char *pred = luaL_checklstring(L, 1, &plen);
    int style = check_style(L, 3, "mto.rouge_l");
    const char **refs = check_strings_len(L, 2, "mto.rouge_l", "refs", &n, &lens);
    return nan_check(L, mto_rouge_l_best_n(pred, plen, refs, lens, n, style), "mto.rouge_l");
}

static int l_bleu(lua_State *L)
{
    size_t plen, n, *lens;
    const char *pred = luaL_checklstring(L, 1, &plen);
    int s = check_smoothing(L, 3, "mto.bleu");
    const char **refs = check_strings_len(L, 2, "mto.bleu", "refs", &n, &lens);
    return nan_check(L, mto_bleu_sentence_n(pred, plen, refs, lens, n, s), "mto.bleu");
}

static int l_corpus_bleu(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    int s = check_smoothing(L, 3, "mto.corpus_bleu");
    size_t n, *plens;
    const char **preds = check_strings_len(L, 1, "mto.corpus_bleu", "preds", &n, &plens);
    if (lua_rawlen(L, 2) != n)
        return luaL_error(L, "mto.corpus_bleu: %d predictions but %d reference lists", (int)n,
                          (int)lua_rawlen(L, 2));
    const char *const **refs = lua_newuserdatauv(L, (n ? n : 1) * sizeof *refs, 0);
    const size_t **rlens = lua_newuserdatauv(L, (n ? n : 1) * sizeof *rlens, 0);
    size_t *nrefs = lua_newuserdatauv(L, (n ? n : 1) * sizeof *nrefs, 0);
    lua_createtable(L, (int)n, 0); /* anchors each example's array until we return */
    int anchor = lua_gettop(L);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        char what[32];
        snprintf(what, sizeof what, "refs_list[%d]", (int)i + 1);
        size_t *l;
        refs[i] = (const char *const *)check_strings_len(L, -1, "mto.corpus_bleu", what, &nrefs[i], &l);
        rlens[i] = l;
        lua_rawseti(L, anchor, (lua_Integer)i + 1); /* the strings stay alive in arg 2 */
        lua_pop(L, 1);
    }
    return nan_check(L, mto_bleu_corpus_n(preds, plens, refs, (const size_t *const *)rlens, nrefs, n, s),
                     "mto.corpus_bleu");
}

static int l_exact_match(lua_State *L)
{
    size_t plen, n, *lens;
    const char *pred = luaL_checklstring(L, 1, &plen);
    int style = check_style(L, 3, "mto.exact_match");
    const char **refs = check_strings_len(L, 2, "mto.exact_match", "refs", &n, &lens);
    int r = mto_exact_match_n(pred, plen, refs, lens, n, style);
    if (r < 0) return luaL_error(L, "mto.exact_match: out of memory");
    lua_pushboolean(L, r);
    return 1;
}

static int l_unique_count(lua_State *L)
{
    size_t n, *lens;
    int style = check_style(L, 2, "mto.unique_count");
    const char **preds = check_strings_len(L, 1, "mto.unique_count", "preds", &n, &lens);
    long k = mto_unique_count_n(preds, lens, n, style);
    if (k < 0) return luaL_error(L, "mto.unique_count: out of memory");
    lua_pushinteger(L, k);
    return 1;
}

static int l_mean_by_group(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 1), ng = 0, *glens = NULL;
    const char **groups = NULL;
    if (!lua_isnoneornil(L, 2)) {
        groups = check_strings_len(L, 2, "mto.mean_by_group", "groups", &ng, &glens);
        if (ng != n) return luaL_error(L, "mto.mean_by_group: %d scores but %d groups", (int)n, (int)ng);
    }
    double *v = lua_newuserdatauv(L, (n ? n : 1) * sizeof *v, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        int isnum;
        v[i] = lua_tonumberx(L, -1, &isnum);
        if (!isnum) return luaL_error(L, "mto.mean_by_group: scores[%d] is not a number", (int)i + 1);
        lua_pop(L, 1);
    }
    if (n == 0) return luaL_error(L, "mto.mean_by_group: no scores");
    lua_pushnumber(L, mto_mean_by_group_n(v, groups, glens, n));
    return 1;
}

static int l_mc_pick(lua_State *L)
{
    size_t plen, n, *lens;
    const char *pred = luaL_checklstring(L, 1, &plen);
    const char **choices = check_strings_len(L, 2, "mto.mc_pick", "choices", &n, &lens);
    long k = mto_mc_pick_n(pred, plen, choices, lens, n);
    if (k < 0) lua_pushnil(L);
    else lua_pushinteger(L, k + 1);
    return 1;
}

static int l_mc_accuracy(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Unsigned n = lua_rawlen(L, 1);
    if (lua_rawlen(L, 2) != n)
        return luaL_error(L, "mto.mc_accuracy: %d picks but %d gold answers", (int)n, (int)lua_rawlen(L, 2));
    if (n == 0) return luaL_error(L, "mto.mc_accuracy: no examples");
    lua_Unsigned hit = 0;
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i);
        lua_rawgeti(L, 2, (lua_Integer)i);
        hit += lua_compare(L, -1, -2, LUA_OPEQ);
        lua_pop(L, 2);
    }
    lua_pushnumber(L, (double)hit / (double)n);
    return 1;
}

static int l_metric_tokens(lua_State *L)
{
    size_t n, len;
    const char *text = luaL_checklstring(L, 1, &len);
    char **t = mto_metric_tokenize_n(text, len, &n);
    if (!t) return luaL_error(L, "mto.metric_tokens: out of memory");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, t[i]); /* cannot fail short of memory; then t leaks once */
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(t);
    return 1;
}

void mto_lua_open_metrics(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"rouge_l", l_rouge_l},
        {"bleu", l_bleu},
        {"corpus_bleu", l_corpus_bleu},
        {"exact_match", l_exact_match},
        {"unique_count", l_unique_count},
        {"mean_by_group", l_mean_by_group},
        {"mc_pick", l_mc_pick},
        {"mc_accuracy", l_mc_accuracy},
        {"metric_tokens", l_metric_tokens},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
