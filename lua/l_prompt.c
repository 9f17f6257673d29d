/* l_prompt.c — soft prompts (prompt tuning) from Lua:
 *
 *   local p = m:prompt{k = 20, init = "vocab" | "phrase" | "uniform", phrase = "is a kind of",
 *                      placement = "pre" | "post", template = tpl, tokenizer = tok, seed = 1,
 *                      masked = bool, mask_id = id, range = 0.5, vocab_lo = 3, vocab_hi = 0}
 *       placement / masked default to the template's flags (post_pt, masked_post_pt, ...);
 *       a masked post prompt goes before the trailing <extra_id_0> (tokenizer:sentinel(0));
 *       init "phrase" tokenizes `phrase` (or takes phrase_ids) and repeats/trims it to k.
 *   p:train(items, opts)       only the prompt trains, the model stays bit-identical;
 *                              opts as m:train, default optimizer "adafactor", lr 0.3
 *   p:predict(items, {max_len=, beams=, length_penalty=, batch_size=, max_src_len=}) -> id arrays
 *   p:eval_loss(items [, {batch_size=, max_src_len=, max_tgt_len=}])  -> mean token loss
 *   p:score(items)             -> array of sum log-probs of each target; p:score(src, tgt)
 *                              -> one, p:score(srcs, tgts) -> array (as m:score)
 *   p:generate(src [, opts])   -> ids, sum log-prob (as m:generate; opts as p:predict);
 *                              several sources -> an array of each
 *   p:save(path)               prompt-only .safetensors (k, placement, d_model, init, template)
 *   m:load_prompt(path [, {tokenizer=, template=}])  -> prompt bound to m (template: the
 *                              one named in the file by default, when that plugin is loaded)
 *   p:embedding()              -> k arrays of d_model numbers
 *   p.k, p.d_model, p.placement, p.masked, p.mask_id, p.init, p.template, p.model, p.tokenizer
 *   mto.prompt_tune(ctx)       the sweep method (lua/mto/prompt.lua)
 *
 * items: {src = ids|text, tgt = ids|text} pairs, records {head=, relation=, tail=} rendered
 * with the prompt's template, or (predict) bare id arrays / texts. Sources carry no slots:
 * the prompt inserts them. Text sources get an eos, as the sweep's do. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lmto.h"
#include "mto/prompt.h"
#include "mto/train.h"

#define PROMPT_MT "mto.prompt"

/* User values: 1 the model (kept alive), 2 the tokenizer, 3 the template. */
typedef struct lprompt { mto_prompt *p; } lprompt;

static mto_prompt *check_prompt(lua_State *L, int idx)
{
    lprompt *u = luaL_checkudata(L, idx, PROMPT_MT);
    if (!u->p) luaL_error(L, "prompt has been freed");
    return u->p;
}

static mto_t5 *prompt_model(lua_State *L, int idx)
{
    lua_getiuservalue(L, idx, 1);
    mto_t5 *m = mto_lua_check_model(L, -1);
    lua_pop(L, 1);
    return m;
}

/* ---- options ------------------------------------------------------------------ */

/* ---- items -> examples ------------------------------------------------------------ */

/* Push tok:encode(text at idx) (+ eos when src). The tokenizer is the prompt's user value 2. */
static void push_encoded(lua_State *L, int pidx, int idx, int src)
{
    idx = lua_absindex(L, idx);
    if (lua_getiuservalue(L, pidx, 2) == LUA_TNIL)
        luaL_error(L, "prompt: text needs a tokenizer (the model's, or tokenizer= in m:prompt)");
    lua_getfield(L, -1, "encode");
    lua_insert(L, -2);
    lua_pushvalue(L, idx);
    lua_call(L, 2, 1);
    if (src) {
        lua_pushinteger(L, MTO_T5_EOS);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    }
}

/* Push the ids of field value at idx: a table as is, a string encoded. */
static void push_side(lua_State *L, int pidx, int idx, int src, size_t i, const char *what)
{
    if (lua_type(L, idx) == LUA_TSTRING) push_encoded(L, pidx, idx, src);
    else if (lua_istable(L, idx)) lua_pushvalue(L, idx);
    else luaL_error(L, "%s[%d].%s: expected token ids or text", what, (int)i, src ? "src" : "tgt");
}

/* A table of {src = ids, tgt = ids} from the items at idx (pushed). */
static void push_examples(lua_State *L, int pidx, int idx, int need_tgt, const char *what)
{
    idx = lua_absindex(L, idx);
    luaL_argexpected(L, lua_istable(L, idx), idx, "array of examples");
    size_t n = lua_rawlen(L, idx);
    lua_createtable(L, (int)n, 0);
    int out = lua_gettop(L);
    for (size_t i = 1; i <= n; i++) {
        int top = lua_gettop(L);
        int ty = lua_rawgeti(L, idx, (lua_Integer)i), it = lua_gettop(L);
        lua_createtable(L, 0, 2);
        int ex = lua_gettop(L);
        if (ty == LUA_TTABLE && mto_lua_has_opt(L, it, "head")) { /* a record: the template renders it */
            if (lua_getiuservalue(L, pidx, 3) == LUA_TNIL)
                luaL_error(L, "%s[%d]: a record needs the prompt's template (template= in m:prompt)", what, (int)i);
            lua_getfield(L, -1, "render");
            lua_insert(L, -2);
            lua_pushvalue(L, it);
            lua_call(L, 2, 2); /* input, target */
            push_encoded(L, pidx, -2, 1);
            lua_setfield(L, ex, "src");
            if (need_tgt) { push_encoded(L, pidx, -1, 0); lua_setfield(L, ex, "tgt"); }
        } else if (ty == LUA_TTABLE && mto_lua_has_opt(L, it, "src")) {
            lua_getfield(L, it, "src");
            push_side(L, pidx, -1, 1, i, what);
            lua_setfield(L, ex, "src");
            if (need_tgt) {
                lua_getfield(L, it, "tgt");
                push_side(L, pidx, -1, 0, i, what);
                lua_setfield(L, ex, "tgt");
            }
        } else if (!need_tgt && (ty == LUA_TTABLE || ty == LUA_TSTRING)) { /* a bare source */
            push_side(L, pidx, it, 1, i, what);
            lua_setfield(L, ex, "src");
        } else {
            luaL_error(L, "%s[%d]: expected {src=, tgt=} or a record {head=, relation=, tail=}", what, (int)i);
        }
        lua_pushvalue(L, ex);
        lua_rawseti(L, out, (lua_Integer)i);
        lua_settop(L, top);
    }
}

static int32_t *read_ids(lua_State *L, int idx, int32_t *dst, int vocab, const char *what, size_t i, const char *f,
                         int *len)
{
    int n = (int)lua_rawlen(L, idx);
    for (int j = 1; j <= n; j++) {
        lua_rawgeti(L, idx, j);
        int isnum;
        lua_Integer v = lua_tointegerx(L, -1, &isnum);
        lua_pop(L, 1);
        if (!isnum || v < 0 || v >= vocab)
            luaL_error(L, "%s[%d].%s[%d] is not a token id in [0, %d)", what, (int)i, f, j, vocab);
        dst[j - 1] = (int32_t)v;
    }
    *len = n;
    return dst + n;
}

/* The normalised examples at idx as one userdata (pushed): examples then ids. */
static mto_example *read_examples(lua_State *L, int idx, int need_tgt, int vocab, const char *what, size_t *n_out)
{
    idx = lua_absindex(L, idx);
    size_t n = lua_rawlen(L, idx), total = 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        lua_getfield(L, -1, "src");
        total += lua_rawlen(L, -1);
        lua_getfield(L, -2, "tgt");
        total += lua_istable(L, -1) ? lua_rawlen(L, -1) + 1 : 0;
        lua_pop(L, 3);
    }
    mto_example *ex = lua_newuserdatauv(L, (n ? n : 1) * sizeof *ex + (total ? total : 1) * sizeof(int32_t), 0);
    int32_t *ids = (int32_t *)(ex + (n ? n : 1));
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        lua_getfield(L, -1, "src");
        ex[i - 1] = (mto_example){ids, NULL, 0, 0};
        ids = read_ids(L, lua_gettop(L), ids, vocab, what, i, "src", &ex[i - 1].src_len);
        if (ex[i - 1].src_len == 0) luaL_error(L, "%s[%d].src is empty", what, (int)i);
        lua_pop(L, 1);
        if (need_tgt) {
            lua_getfield(L, -1, "tgt");
            int32_t *t = ids;
            ids = read_ids(L, lua_gettop(L), ids, vocab, what, i, "tgt", &ex[i - 1].tgt_len);
            /* need_tgt 2: the target as given (p:score(src, tgt), like m:score) */
            if (need_tgt == 1 && (ex[i - 1].tgt_len == 0 || t[ex[i - 1].tgt_len - 1] != MTO_T5_EOS))
                *ids++ = MTO_T5_EOS, ex[i - 1].tgt_len++;
            ex[i - 1].tgt = t;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    *n_out = n;
    return ex;
}

/* Normalise then read: pushes two values (the table and the userdata). */
static mto_example *check_items(lua_State *L, int pidx, int idx, int need_tgt, const char *what, size_t *n)
{
    push_examples(L, pidx, idx, need_tgt, what);
    return read_examples(L, -1, need_tgt, prompt_model(L, pidx)->cfg.vocab_size, what, n);
}

/* ---- m:prompt, m:load_prompt ----------------------------------------------------- */

static void push_prompt(lua_State *L, int model_idx, mto_prompt *p)
{
    model_idx = lua_absindex(L, model_idx);
    lprompt *u = lua_newuserdatauv(L, sizeof *u, 3);
    u->p = p;
    luaL_setmetatable(L, PROMPT_MT);
    lua_pushvalue(L, model_idx);
    lua_setiuservalue(L, -2, 1);
}

/* User values 2 (tokenizer) and 3 (template) from opts at o, the model's tokenizer by default. */
static void set_tok_tpl(lua_State *L, int pu, int model_idx, int o)
{
    if (mto_lua_has_opt(L, o, "tokenizer")) lua_getfield(L, o, "tokenizer");
    else lua_getiuservalue(L, model_idx, 1);
    if (lua_type(L, -1) == LUA_TSTRING) { /* a path: mto.tokenizer(path) */
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_getfield(L, -1, "mto");
        lua_getfield(L, -1, "tokenizer");
        lua_pushvalue(L, -4);
        lua_call(L, 1, 1);
        lua_replace(L, -4);
        lua_pop(L, 2);
    }
    lua_setiuservalue(L, pu, 2);
    if (mto_lua_has_opt(L, o, "template")) {
        lua_getfield(L, o, "template");
        if (lua_type(L, -1) == LUA_TSTRING) { /* a name: mto.template(name) */
            lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
            lua_getfield(L, -1, "mto");
            lua_getfield(L, -1, "template");
            lua_pushvalue(L, -4);
            lua_call(L, 1, 1);
            lua_replace(L, -4);
            lua_pop(L, 2);
        }
        luaL_checkudata(L, -1, "mto.template");
        lua_setiuservalue(L, pu, 3);
    }
}

/* A boolean field of the template userdata (user value 3 of pu), 0 without one. */
static int tpl_flag(lua_State *L, int pu, const char *k)
{
    int v = 0;
    if (lua_getiuservalue(L, pu, 3) != LUA_TNIL) {
        lua_getfield(L, -1, k);
        v = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return v;
}

/* tokenizer:sentinel(0), the mask slot of masked templates. */
static int32_t sentinel0(lua_State *L, int pu)
{
    if (lua_getiuservalue(L, pu, 2) == LUA_TNIL)
        luaL_error(L, "m:prompt: a masked prompt needs mask_id= or a tokenizer for <extra_id_0>");
    lua_getfield(L, -1, "sentinel");
    lua_insert(L, -2);
    lua_pushinteger(L, 0);
    lua_call(L, 2, 1);
    int32_t id = (int32_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return id;
}

static const char *const prompt_keys[] = {"k", "init", "phrase", "phrase_ids", "placement", "template", "tokenizer",
                                          "seed", "masked", "mask_id", "range", "vocab_lo", "vocab_hi", NULL};

static int l_prompt(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    lua_settop(L, 2);
    mto_lua_check_keys(L, 2, "m:prompt", prompt_keys);
    int k = (int)mto_lua_opt_int(L, 2, "k", 20);
    static const char *const inits[] = {"vocab", "uniform", "phrase", NULL};
    static const char *const placements[] = {"pre", "post", NULL};
    int init = mto_lua_opt_choice(L, 2, "m:prompt", "init", "vocab", inits);
    uint64_t seed = (uint64_t)mto_lua_opt_integer(L, 2, "seed", 0);
    mto_error e;
    mto_prompt *p = mto_prompt_new(k, m->cfg.d_model, MTO_PROMPT_PRE, &e);
    if (!p) return mto_lua_error(L, &e);
    push_prompt(L, 1, p); /* owns p from here (__gc) */
    int pu = lua_gettop(L);
    set_tok_tpl(L, pu, 1, 2);
    int pl = mto_lua_opt_choice(L, 2, "m:prompt", "placement", tpl_flag(L, pu, "soft_post") ? "post" : "pre", placements);
    p->placement = pl == 0 ? MTO_PROMPT_PRE : MTO_PROMPT_POST;
    if (mto_lua_opt_bool(L, 2, "masked", tpl_flag(L, pu, "masked")))
        p->mask_id = mto_lua_has_opt(L, 2, "mask_id") ? (int32_t)mto_lua_opt_integer(L, 2, "mask_id", -1) : sentinel0(L, pu);
    if (lua_getiuservalue(L, pu, 3) != LUA_TNIL) {
        lua_getfield(L, -1, "name");
        const char *tn = lua_tostring(L, -1);
        snprintf(p->template_name, sizeof p->template_name, "%s", tn ? tn : "");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    int rc;
    if (init == 0) {
        rc = mto_prompt_init_vocab(p, m, (int)mto_lua_opt_int(L, 2, "vocab_lo", 3), (int)mto_lua_opt_int(L, 2, "vocab_hi", 0), seed, &e);
    } else if (init == 1) {
        rc = mto_prompt_init_uniform(p, (float)mto_lua_opt_number(L, 2, "range", 0.5), seed, &e);
    } else {
        if (mto_lua_has_opt(L, 2, "phrase_ids")) lua_getfield(L, 2, "phrase_ids");
        else if (mto_lua_has_opt(L, 2, "phrase")) { lua_getfield(L, 2, "phrase"); push_encoded(L, pu, -1, 0); }
        else return luaL_error(L, "m:prompt: init = \"phrase\" needs phrase = \"...\" or phrase_ids = {...}");
        size_t n;
        int32_t *ids = mto_lua_check_ids(L, -1, &n);
        rc = mto_prompt_init_ids(p, m, ids, (int)n, &e);
    }
    if (rc) return mto_lua_error(L, &e);
    lua_settop(L, pu);
    return 1;
}

static int l_load_prompt(lua_State *L)
{
    mto_t5 *m = mto_lua_check_model(L, 1);
    const char *path = luaL_checkstring(L, 2);
    lua_settop(L, 3);
    mto_error e;
    mto_prompt *p = mto_prompt_load(path, &e);
    if (!p) return mto_lua_error(L, &e);
    push_prompt(L, 1, p);
    int pu = lua_gettop(L);
    if (p->d_model != m->cfg.d_model)
        return luaL_error(L, "%s: prompt d_model %d does not match the model's %d", path, p->d_model, m->cfg.d_model);
    set_tok_tpl(L, pu, 1, 3);
    if (!mto_lua_has_opt(L, 3, "template") && p->template_name[0]) { /* the file's template, if it can be made */
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_getfield(L, -1, "mto");
        lua_getfield(L, -1, "template");
        lua_pushstring(L, p->template_name);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && luaL_testudata(L, -1, "mto.template")) lua_setiuservalue(L, pu, 3);
        lua_settop(L, pu);
    }
    return 1;
}

/* ---- training and inference -------------------------------------------------------- */

static int l_train(lua_State *L)
{
    mto_prompt *p = check_prompt(L, 1);
    mto_t5 *m = prompt_model(L, 1);
    lua_settop(L, 3);
    int o = 3;
    mto_lua_check_keys(L, o, "p:train", mto_lua_train_keys); /* the same options as m:train */
    size_t n, nv = 0;
    mto_example *ex = check_items(L, 1, 2, 1, "examples", &n);
    mto_train_opts t;
    mto_prompt_train_opts_default(&t);
    mto_lua_train_opts(L, o, &t, "p:train");
    if (mto_lua_has_opt(L, o, "valid")) {
        lua_getfield(L, o, "valid");
        t.valid = check_items(L, 1, -1, 1, "valid", &nv);
        t.nvalid = nv;
    }
    mto_lua_train_run(L, o, m, p, ex, n, &t, "p:train");
    lua_pushinteger(L, (lua_Integer)p->k * p->d_model);
    lua_setfield(L, -2, "trained_params");
    return 1;
}

/* Sum log-prob of each decoded out[i][0..len[i]) (eos included when produced) given its
 * prompted source: what m:generate returns beside its ids. Pushes an array of n, or the
 * number alone when single; the prompt must be attached; src holds k + the longest source. */
static int push_gen_scores(lua_State *L, mto_t5 *m, mto_prompt *p, const mto_example *ex, size_t n,
                           int max_src_len, const int32_t *out, const int *len, int max_len, int single,
                           int32_t *src, mto_error *e)
{
    if (!single) lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        int slen = mto_prompt_insert(p, ex[i].src, ex[i].src_len, max_src_len, src);
        mto_t5_batch b = {1, slen, len[i], src, out + i * (size_t)max_len};
        double sc = 0;
        int rc = len[i] > 0 ? mto_t5_score(m, &b, &sc, e) : 0;
        if (rc) return rc;
        lua_pushnumber(L, sc);
        if (single) return 0;
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 0;
}

/* p:predict (with_scores 0): an array of id arrays. p:generate (with_scores 1): m:generate's
 * shape, ids and their sum log-prob (one source) or an array of each (several). */
static int decode(lua_State *L, int items, int opts, int single, int with_scores)
{
    mto_prompt *p = check_prompt(L, 1);
    mto_t5 *m = prompt_model(L, 1);
    size_t n;
    mto_example *ex = check_items(L, 1, items, 0, "srcs", &n);
    mto_t5_gen_opts g;
    mto_lua_gen_opts(L, opts, "prompt predict", &g);
    int *len = lua_newuserdatauv(L, (n ? n : 1) * (sizeof(int) + (size_t)g.max_len * sizeof(int32_t)), 0);
    int32_t *out = (int32_t *)(len + (n ? n : 1));
    mto_error e;
    int msl = mto_lua_opt_int(L, opts, "max_src_len", 0), bs = mto_lua_opt_int(L, opts, "batch_size", 32);
    int prec = mto_lua_precision(L, opts, m, "prompt predict");
    int rc = mto_prompt_predict(m, p, ex, n, bs, msl, &g, out, len, &e);
    if (!rc && with_scores) {
        size_t cap = 1;
        for (size_t i = 0; i < n; i++)
            if ((size_t)ex[i].src_len + (size_t)p->k > cap) cap = (size_t)ex[i].src_len + (size_t)p->k;
        /* allocated before attach (stays on the stack): no Lua error while the prompt is attached */
        int32_t *src = lua_newuserdatauv(L, cap * sizeof *src, 0);
        if (!(rc = mto_prompt_attach(m, p, 0, &e))) {
            rc = push_gen_scores(L, m, p, ex, n, msl, out, len, g.max_len, single, src, &e);
            mto_prompt_detach(m);
        }
    }
    mto_lua_precision_restore(m, prec);
    if (rc) return mto_lua_error(L, &e);
    int scores = lua_gettop(L);
    mto_lua_push_decoded(L, out, len, n, g.max_len, single);
    if (!with_scores) return 1;
    lua_pushvalue(L, scores);
    return 2;
}

static int l_predict(lua_State *L)
{
    lua_settop(L, 3);
    return decode(L, 2, 3, 0, 0);
}

/* Whether idx holds several sources (a table whose first element is itself a source,
 * ids or text) rather than one (ids, text or a record). */
static int is_source_list(lua_State *L, int idx)
{
    int t = lua_istable(L, idx) ? lua_rawgeti(L, idx, 1) : LUA_TNUMBER;
    if (lua_istable(L, idx)) lua_pop(L, 1);
    return t == LUA_TTABLE || t == LUA_TSTRING;
}

/* p:generate(src | srcs, opts) -> ids, log-prob (or arrays of each), as m:generate. A
 * list of sources is a table whose first element is itself a source (ids or text). */
static int l_generate(lua_State *L)
{
    lua_settop(L, 3);
    int many = is_source_list(L, 2);
    if (!many) {
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, 2);
        lua_rawseti(L, -2, 1);
        lua_replace(L, 2);
    }
    return decode(L, 2, 3, !many, 1);
}

static int l_eval_loss(lua_State *L)
{
    mto_prompt *p = check_prompt(L, 1);
    mto_t5 *m = prompt_model(L, 1);
    lua_settop(L, 3);
    size_t n;
    mto_example *ex = check_items(L, 1, 2, 1, "examples", &n);
    double loss;
    mto_error e;
    if (mto_prompt_eval_loss(m, p, ex, n, (int)mto_lua_opt_int(L, 3, "batch_size", 32), (int)mto_lua_opt_int(L, 3, "max_src_len", 0),
                             (int)mto_lua_opt_int(L, 3, "max_tgt_len", 0), &loss, &e))
        return mto_lua_error(L, &e);
    lua_pushnumber(L, loss);
    return 1;
}

/* p:score(items) -> sum log-prob of each target, one forward per item (eval mode);
 * p:score(src, tgt) -> one number and p:score(srcs, tgts) -> an array, as m:score. */
static int l_score(lua_State *L)
{
    mto_prompt *p = check_prompt(L, 1);
    mto_t5 *m = prompt_model(L, 1);
    lua_settop(L, 3);
    int single = 0, pairs = !lua_isnil(L, 3);
    if (pairs) { /* pairs as m:score takes them (targets as given): make them items */
        int many = is_source_list(L, 2);
        single = !many;
        if (many && !lua_istable(L, 3)) luaL_argerror(L, 3, "an array of targets");
        lua_Integer nn = many ? (lua_Integer)lua_rawlen(L, 2) : 1;
        if (many && (lua_Integer)lua_rawlen(L, 3) != nn)
            luaL_error(L, "%d sources but %d targets", (int)nn, (int)lua_rawlen(L, 3));
        lua_createtable(L, (int)nn, 0);
        for (lua_Integer i = 1; i <= nn; i++) {
            lua_createtable(L, 0, 2);
            if (many) lua_rawgeti(L, 2, i); else lua_pushvalue(L, 2);
            lua_setfield(L, -2, "src");
            if (many) lua_rawgeti(L, 3, i); else lua_pushvalue(L, 3);
            lua_setfield(L, -2, "tgt");
            lua_rawseti(L, -2, i);
        }
        lua_replace(L, 2);
    }
    lua_settop(L, 2);
    size_t n;
    mto_example *ex = check_items(L, 1, 2, pairs ? 2 : 1, "examples", &n);
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        if ((size_t)ex[i].src_len + (size_t)p->k > cap) cap = (size_t)ex[i].src_len + (size_t)p->k;
    int32_t *src = lua_newuserdatauv(L, cap * sizeof *src, 0);
    mto_error e;
    int rc = mto_prompt_attach(m, p, 0, &e);
    if (rc) return mto_lua_error(L, &e);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n && !rc; i++) {
        int len = mto_prompt_insert(p, ex[i].src, ex[i].src_len, 0, src);
        mto_t5_batch b = {1, len, ex[i].tgt_len, src, ex[i].tgt};
        double s;
        if (!(rc = mto_t5_score(m, &b, &s, &e))) {
            lua_pushnumber(L, s);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
    }
    mto_prompt_detach(m);
    if (rc) return mto_lua_error(L, &e);
    if (single) lua_rawgeti(L, -1, 1);
    return 1;
}

static int l_save(lua_State *L)
{
    mto_prompt *p = check_prompt(L, 1);
    mto_error e;
    if (mto_prompt_save(p, luaL_checkstring(L, 2), &e)) return mto_lua_error(L, &e);
    return 0;
}

static int l_embedding(lua_State *L)
{
    mto_prompt *p = check_prompt(L, 1);
    lua_createtable(L, p->k, 0);
    for (int i = 0; i < p->k; i++) {
        lua_createtable(L, p->d_model, 0);
        for (int j = 0; j < p->d_model; j++) {
            lua_pushnumber(L, p->emb[(size_t)i * p->d_model + j]);
            lua_rawseti(L, -2, j + 1);
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_index(lua_State *L)
{
    mto_prompt *p = check_prompt(L, 1);
    static const char *const fields[] = {"k", "d_model", "placement", "masked", "mask_id", "init", "template",
                                         "model", "tokenizer", NULL};
    const char *k = luaL_checkstring(L, 2);
    switch (mto_lua_field(k, fields)) {
    case 0: lua_pushinteger(L, p->k); break;
    case 1: lua_pushinteger(L, p->d_model); break;
    case 2: lua_pushstring(L, p->placement == MTO_PROMPT_PRE ? "pre" : "post"); break;
    case 3: lua_pushboolean(L, p->mask_id >= 0); break;
    case 4: p->mask_id >= 0 ? lua_pushinteger(L, p->mask_id) : lua_pushnil(L); break;
    case 5: lua_pushstring(L, p->init); break;
    case 6: lua_pushstring(L, p->template_name); break;
    case 7: lua_getiuservalue(L, 1, 1); break;
    case 8: lua_getiuservalue(L, 1, 2); break;
    default: luaL_getmetafield(L, 1, "methods"); lua_getfield(L, -1, k);
    }
    return 1;
}

static int l_gc(lua_State *L)
{
    lprompt *u = luaL_checkudata(L, 1, PROMPT_MT);
    mto_prompt_free(u->p);
    u->p = NULL;
    return 0;
}

static int l_tostring(lua_State *L)
{
    mto_prompt *p = check_prompt(L, 1);
    lua_pushfstring(L, "mto.prompt(k %d, d_model %d, %s%s, init %s)", p->k, p->d_model,
                    p->placement == MTO_PROMPT_PRE ? "pre" : "post", p->mask_id >= 0 ? " masked" : "", p->init);
    return 1;
}

/* mto.prompt_tune(ctx): require("mto.prompt").tune(ctx) (the embedded lua/mto/prompt.lua). */
static int l_prompt_tune(lua_State *L)
{
    int nargs = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "mto.prompt");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "tune");
    lua_insert(L, 1);
    lua_pop(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

void mto_lua_open_prompt(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"train", l_train}, {"predict", l_predict}, {"generate", l_generate}, {"eval_loss", l_eval_loss},
        {"score", l_score}, {"save", l_save}, {"embedding", l_embedding}, {NULL, NULL}};
    static const luaL_Reg model_methods[] = {{"prompt", l_prompt}, {"load_prompt", l_load_prompt}, {NULL, NULL}};
    int top = lua_gettop(L);
    if (luaL_newmetatable(L, PROMPT_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "methods");
        lua_pushcfunction(L, l_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_settop(L, top);
    /* m:prompt / m:load_prompt join the model's methods (l_model.c builds the table first) */
    mto_lua_add_model_methods(L, model_methods);
    lua_pushcfunction(L, l_prompt_tune);
    lua_setfield(L, -2, "prompt_tune");
}
