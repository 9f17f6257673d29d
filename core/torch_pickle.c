/* torch_pickle.c — a restricted pickle interpreter for PyTorch state dicts.
 *
 * Nothing is executed: the interpreter builds plain values (ints, strings,
 * tuples, dicts) and three kinds of stand-ins for what torch.save writes —
 * an allowed global, a storage reference (from BINPERSID) and a tensor (from
 * REDUCE of _rebuild_tensor_v2) — and refuses every other opcode or global
 * with a message naming it and its byte offset. Every object lives in one
 * list freed at the end, so cycles and shared references (memo) are harmless
 * and nothing recurses. The result must be a dict of name -> tensor; each
 * tensor is then checked against its storage (contiguous, inside it). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "torch_internal.h"

const char *const mto_pt_allowed_globals[] = {
    "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage",
    "torch.HalfStorage", "torch.BFloat16Storage", NULL,
};

enum { K_NONE, K_BOOL, K_INT, K_FLOAT, K_STR, K_TUPLE, K_DICT, K_GLOBAL, K_STORAGE, K_TENSOR };
static const char *const kind_names[] = {"None", "bool", "int", "float", "str", "tuple",
                                         "dict", "global", "storage", "tensor"};
enum { G_ORDEREDDICT, G_REBUILD, G_FLOAT, G_HALF, G_BF16 };

typedef struct obj obj;
struct obj {
    int kind;
    int g;             /* K_GLOBAL: G_*; K_STORAGE, K_TENSOR: MTO_ST_* dtype */
    int64_t i;         /* K_INT, K_BOOL; K_STORAGE: numel; K_TENSOR: storage offset */
    char *s;           /* K_STR (NUL-terminated copy); K_STORAGE: key (borrowed from a K_STR) */
    size_t slen;
    obj **items;       /* K_TUPLE items; K_DICT key,value,key,value...; K_TENSOR: [storage] */
    size_t n, cap;     /* K_DICT: n counts keys and values */
    int64_t *dims;     /* K_TENSOR: shape[ndim] then stride[ndim] */
    int ndim;
    obj *next;         /* every object, for freeing */
};

typedef struct {
    const char *file;
    const unsigned char *p, *end, *start;
    obj *all;
    size_t nobj;
    obj **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    obj **memo;
    size_t nmemo;      /* capacity of memo */
    size_t nstored;    /* entries set (MEMOIZE's next index) */
    size_t memo_limit;
    mto_error *err;
} vm;

#define MAX_STR (1u << 20)   /* longest string accepted (tensor names are short) */
#define MAX_OBJECTS (1u << 21) /* ~25 per tensor: 80k tensors in one pickle; bounds memory to ~200 MB */

static int oom(vm *v)
{
    return mto_error_set(v->err, MTO_ENOMEM, "%.200s: out of memory reading the pickle", v->file);
}

static size_t pos(const vm *v) { return (size_t)(v->p - v->start); }

static obj *new_obj(vm *v, int kind)
{
    if (v->nobj >= MAX_OBJECTS) {
        mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: more than %u objects", v->file, pos(v), MAX_OBJECTS);
        return NULL;
    }
    v->nobj++;
    obj *o = mto_calloc(1, sizeof *o);
    if (!o) { oom(v); return NULL; }
    o->kind = kind;
    o->next = v->all;
    v->all = o;
    return o;
}

static int push(vm *v, obj *o)
{
    if (!o) return v->err ? v->err->code : MTO_ENOMEM;
    if (v->sp == v->scap) {
        size_t nc = v->scap ? 2 * v->scap : 64;
        obj **ns = mto_realloc(v->stack, nc * sizeof *ns);
        if (!ns) return oom(v);
        v->stack = ns;
        v->scap = nc;
    }
    v->stack[v->sp++] = o;
    return 0;
}

static size_t base(const vm *v) { return v->nmarks ? v->marks[v->nmarks - 1] : 0; }

/* Pop one object (not across a MARK). */
static obj *pop(vm *v, const char *op)
{
    if (v->sp <= base(v)) {
        mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: %s on an empty stack", v->file, pos(v) - 1, op);
        return NULL;
    }
    return v->stack[--v->sp];
}

static int need(vm *v, size_t n, const char *op)
{
    if ((size_t)(v->end - v->p) < n)
        return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle truncated in %s at byte %zu", v->file, op, pos(v));
    return 0;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int push_int(vm *v, int64_t x)
{
    obj *o = new_obj(v, K_INT);
    if (o) o->i = x;
    return push(v, o);
}

static int push_str(vm *v, const unsigned char *s, size_t n)
{
    if (n > MAX_STR)
        return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: string of %zu bytes (limit %u)", v->file,
                             pos(v), n, MAX_STR);
    obj *o = new_obj(v, K_STR);
    if (!o) return MTO_ENOMEM;
    if (!(o->s = mto_malloc(n + 1))) return oom(v);
    memcpy(o->s, s, n);
    o->s[n] = 0;
    o->slen = n;
    return push(v, o);
}

/* Items above the topmost MARK become a tuple; the mark is dropped. */
static obj *make_tuple(vm *v, size_t from)
{
    obj *t = new_obj(v, K_TUPLE);
    if (!t) return NULL;
    t->n = v->sp - from;
    if (t->n) {
        if (!(t->items = mto_malloc(t->n * sizeof *t->items))) { oom(v); return NULL; }
        memcpy(t->items, v->stack + from, t->n * sizeof *t->items);
    }
    v->sp = from;
    return t;
}

static int dict_add(vm *v, obj *d, obj *k, obj *val)
{
    if (d->n + 2 > d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 16;
        obj **ni = mto_realloc(d->items, nc * sizeof *ni);
        if (!ni) return oom(v);
        d->items = ni;
        d->cap = nc;
    }
    d->items[d->n++] = k;
    d->items[d->n++] = val;
    return 0;
}

static int memo_put(vm *v, size_t idx, obj *o)
{
    if (idx >= v->memo_limit)
        return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: memo index %zu out of range", v->file,
                             pos(v), idx);
    if (idx >= v->nmemo) {
        size_t nn = idx + 1 > 2 * v->nmemo ? idx + 1 : 2 * v->nmemo;
        if (nn > v->memo_limit) nn = v->memo_limit;
        obj **nm = mto_realloc(v->memo, nn * sizeof *nm);
        if (!nm) return oom(v);
        memset(nm + v->nmemo, 0, (nn - v->nmemo) * sizeof *nm);
        v->memo = nm;
        v->nmemo = nn;
    }
    if (!v->memo[idx]) v->nstored++;
    v->memo[idx] = o;
    return 0;
}

static int memo_get(vm *v, size_t idx)
{
    if (idx >= v->nmemo || !v->memo[idx])
        return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: memo index %zu was never stored",
                             v->file, pos(v), idx);
    return push(v, v->memo[idx]);
}

static int do_global(vm *v, const char *mod, size_t nmod, const char *name, size_t nname, size_t at)
{
    static const struct { const char *mod, *name; int g; } ok[] = {
        {"collections", "OrderedDict", G_ORDEREDDICT},
        {"torch._utils", "_rebuild_tensor_v2", G_REBUILD},
        {"torch", "FloatStorage", G_FLOAT},
        {"torch", "HalfStorage", G_HALF},
        {"torch", "BFloat16Storage", G_BF16},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
        if (strlen(ok[k].mod) == nmod && !memcmp(ok[k].mod, mod, nmod) && strlen(ok[k].name) == nname &&
            !memcmp(ok[k].name, name, nname)) {
            obj *o = new_obj(v, K_GLOBAL);
            if (o) o->g = ok[k].g;
            return push(v, o);
        }
    return mto_error_set(v->err, MTO_EFORMAT,
                         "%.200s: pickle byte %zu: global '%.*s.%.*s' is not allowed (a state dict needs only "
                         "collections.OrderedDict, torch._utils._rebuild_tensor_v2 and the Float/Half/BFloat16 "
                         "storage types; nothing is executed)",
                         v->file, at, (int)(nmod > 100 ? 100 : nmod), mod, (int)(nname > 100 ? 100 : nname), name);
}

static int bad_arg(vm *v, size_t at, int k, const char *what, const obj *o)
{
    return mto_error_set(v->err, MTO_EFORMAT,
                         "%.200s: pickle byte %zu: _rebuild_tensor_v2 argument %d (%s) is %s%s", v->file, at, k + 1,
                         what, o ? "a " : "missing", o ? kind_names[o->kind] : "");
}

/* REDUCE: callable(args). Only OrderedDict() and _rebuild_tensor_v2(...). */
static int do_reduce(vm *v, size_t at)
{
    obj *args = pop(v, "REDUCE"), *fn = args ? pop(v, "REDUCE") : NULL;
    if (!fn) return v->err->code;
    if (fn->kind != K_GLOBAL || (fn->g != G_ORDEREDDICT && fn->g != G_REBUILD))
        return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: REDUCE may call only %s, not %s",
                             v->file, at, "collections.OrderedDict or torch._utils._rebuild_tensor_v2",
                             fn->kind == K_GLOBAL ? "a storage type (torch.*Storage)" : kind_names[fn->kind]);
    if (args->kind != K_TUPLE)
        return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: REDUCE arguments are a %s, not a tuple",
                             v->file, at, kind_names[args->kind]);
    if (fn->g == G_ORDEREDDICT) {
        if (args->n != 0)
            return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: OrderedDict called with %zu arguments",
                                 v->file, at, args->n);
        return push(v, new_obj(v, K_DICT));
    }
    if (args->n != 6 && args->n != 7)
        return mto_error_set(v->err, MTO_EFORMAT,
                             "%.200s: pickle byte %zu: _rebuild_tensor_v2 called with %zu arguments (6 or 7 expected)",
                             v->file, at, args->n);
    obj **a = args->items;
    if (a[0]->kind != K_STORAGE) return bad_arg(v, at, 0, "storage", a[0]);
    if (a[1]->kind != K_INT) return bad_arg(v, at, 1, "storage_offset", a[1]);
    if (a[2]->kind != K_TUPLE) return bad_arg(v, at, 2, "size", a[2]);
    if (a[3]->kind != K_TUPLE) return bad_arg(v, at, 3, "stride", a[3]);
    if (a[4]->kind != K_BOOL && a[4]->kind != K_INT) return bad_arg(v, at, 4, "requires_grad", a[4]);
    if (a[5]->kind != K_DICT || a[5]->n) return bad_arg(v, at, 5, "backward_hooks, an empty OrderedDict", a[5]);
    if (args->n == 7 && a[6]->kind != K_DICT && a[6]->kind != K_NONE) return bad_arg(v, at, 6, "metadata", a[6]);
    size_t nd = a[2]->n;
    if (nd > MTO_ST_MAX_DIMS || a[3]->n != nd)
        return mto_error_set(v->err, MTO_EFORMAT,
                             "%.200s: pickle byte %zu: tensor with %zu sizes and %zu strides (at most %d dimensions)",
                             v->file, at, nd, a[3]->n, MTO_ST_MAX_DIMS);
    obj *t = new_obj(v, K_TENSOR);
    if (!t) return MTO_ENOMEM;
    if (!(t->dims = mto_calloc(2 * nd + 1, sizeof *t->dims)) || !(t->items = mto_malloc(sizeof *t->items)))
        return oom(v);
    for (size_t d = 0; d < nd; d++) {
        if (a[2]->items[d]->kind != K_INT) return bad_arg(v, at, 2, "size: an int", a[2]->items[d]);
        if (a[3]->items[d]->kind != K_INT) return bad_arg(v, at, 3, "stride: an int", a[3]->items[d]);
        t->dims[d] = a[2]->items[d]->i;
        t->dims[nd + d] = a[3]->items[d]->i;
    }
    t->ndim = (int)nd;
    t->items[0] = a[0];
    t->n = 1;
    t->g = a[0]->g;
    t->i = a[1]->i;
    return push(v, t);
}

/* BINPERSID: ('storage', storage type, key, location, numel). */
static int do_persid(vm *v, size_t at)
{
    obj *pid = pop(v, "BINPERSID");
    if (!pid) return v->err->code;
    obj **a = pid->items;
    if (pid->kind != K_TUPLE || pid->n != 5 || a[0]->kind != K_STR || strcmp(a[0]->s, "storage") != 0 ||
        a[1]->kind != K_GLOBAL || a[1]->g < G_FLOAT || a[2]->kind != K_STR || a[3]->kind != K_STR ||
        a[4]->kind != K_INT)
        return mto_error_set(v->err, MTO_EFORMAT,
                             "%.200s: pickle byte %zu: persistent id is not ('storage', <Float|Half|BFloat16>Storage, "
                             "key, location, numel)",
                             v->file, at);
    if (a[4]->i < 0)
        return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: storage '%.100s' has %lld elements",
                             v->file, at, a[2]->s, (long long)a[4]->i);
    obj *s = new_obj(v, K_STORAGE);
    if (!s) return MTO_ENOMEM;
    s->g = a[1]->g == G_FLOAT ? MTO_ST_F32 : a[1]->g == G_HALF ? MTO_ST_F16 : MTO_ST_BF16;
    s->s = a[2]->s;
    s->slen = a[2]->slen;
    s->i = a[4]->i;
    return push(v, s);
}

static const char *opname(int c)
{
    switch (c) {
    case '(': return "MARK"; case '.': return "STOP"; case '0': return "POP"; case '1': return "POP_MARK";
    case '2': return "DUP"; case 'F': return "FLOAT"; case 'I': return "INT"; case 'J': return "BININT";
    case 'K': return "BININT1"; case 'L': return "LONG"; case 'M': return "BININT2"; case 'N': return "NONE";
    case 'P': return "PERSID"; case 'Q': return "BINPERSID"; case 'R': return "REDUCE"; case 'S': return "STRING";
    case 'T': return "BINSTRING"; case 'U': return "SHORT_BINSTRING"; case 'V': return "UNICODE";
    case 'X': return "BINUNICODE"; case 'a': return "APPEND"; case 'b': return "BUILD"; case 'c': return "GLOBAL";
    case 'd': return "DICT"; case '}': return "EMPTY_DICT"; case 'e': return "APPENDS"; case 'g': return "GET";
    case 'h': return "BINGET"; case 'i': return "INST"; case 'j': return "LONG_BINGET"; case 'l': return "LIST";
    case ']': return "EMPTY_LIST"; case 'o': return "OBJ"; case 'p': return "PUT"; case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT"; case 's': return "SETITEM"; case 't': return "TUPLE"; case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS"; case 'G': return "BINFLOAT"; case 0x80: return "PROTO"; case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1"; case 0x83: return "EXT2"; case 0x84: return "EXT4"; case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2"; case 0x87: return "TUPLE3"; case 0x88: return "NEWTRUE"; case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1"; case 0x8b: return "LONG4"; case 'B': return "BINBYTES"; case 'C': return "SHORT_BINBYTES";
    case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8"; case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET"; case 0x90: return "ADDITEMS"; case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX"; case 0x93: return "STACK_GLOBAL"; case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME"; case 0x96: return "BYTEARRAY8"; case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
    }
}

static int run(vm *v, obj **result)
{
    int rc = 0;
    while (!rc) {
        if (v->p >= v->end)
            return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle ends at byte %zu without STOP", v->file, pos(v));
        size_t at = pos(v);
        int op = *v->p++;
        switch (op) {
        case 0x80: /* PROTO */
            if ((rc = need(v, 1, "PROTO"))) break;
            if (*v->p < 2 || *v->p > 5)
                return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle protocol %d (2 to 5 supported)", v->file,
                                     *v->p);
            v->p++;
            break;
        case 0x95: /* FRAME: a length hint only */
            if (!(rc = need(v, 8, "FRAME"))) v->p += 8;
            break;
        case '.': { /* STOP */
            obj *r = pop(v, "STOP");
            if (!r) return v->err->code;
            *result = r;
            return 0;
        }
        case '(': /* MARK */
            if (v->nmarks == v->mcap) {
                size_t nc = v->mcap ? 2 * v->mcap : 16;
                size_t *nm = mto_realloc(v->marks, nc * sizeof *nm);
                if (!nm) return oom(v);
                v->marks = nm;
                v->mcap = nc;
            }
            v->marks[v->nmarks++] = v->sp;
            break;
        case ')': rc = push(v, new_obj(v, K_TUPLE)); break;
        case 't': case 0x85: case 0x86: case 0x87: { /* TUPLE, TUPLE1..3 */
            size_t from;
            if (op == 't') {
                if (!v->nmarks)
                    return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: TUPLE without MARK", v->file, at);
                from = v->marks[--v->nmarks];
            } else {
                size_t k = (size_t)(op - 0x84);
                if (v->sp < base(v) + k)
                    return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: %s on a short stack", v->file,
                                         at, opname(op));
                from = v->sp - k;
            }
            rc = push(v, make_tuple(v, from));
            break;
        }
        case '}': rc = push(v, new_obj(v, K_DICT)); break;
        case 's': case 'u': { /* SETITEM, SETITEMS */
            size_t from;
            if (op == 's') {
                if (v->sp < base(v) + 3)
                    return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: SETITEM on a short stack",
                                         v->file, at);
                from = v->sp - 2;
            } else {
                if (!v->nmarks)
                    return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: SETITEMS without MARK",
                                         v->file, at);
                from = v->marks[--v->nmarks];
                if (from == 0 || from < base(v) + 1 || (v->sp - from) % 2)
                    return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: SETITEMS without a dict or "
                                         "with an odd number of items", v->file, at);
            }
            obj *d = v->stack[from - 1];
            if (d->kind != K_DICT)
                return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: %s on a %s, not a dict", v->file,
                                     at, opname(op), kind_names[d->kind]);
            for (size_t k = from; k < v->sp && !rc; k += 2) rc = dict_add(v, d, v->stack[k], v->stack[k + 1]);
            v->sp = from;
            break;
        }
        case 'X': case 0x8c: { /* BINUNICODE, SHORT_BINUNICODE */
            size_t w = op == 'X' ? 4 : 1;
            if ((rc = need(v, w, opname(op)))) break;
            size_t n = op == 'X' ? rd32(v->p) : *v->p;
            v->p += w;
            if ((rc = need(v, n, opname(op)))) break;
            rc = push_str(v, v->p, n);
            v->p += n;
            break;
        }
        case 'J':
            if (!(rc = need(v, 4, "BININT"))) { rc = push_int(v, (int32_t)rd32(v->p)); v->p += 4; }
            break;
        case 'K':
            if (!(rc = need(v, 1, "BININT1"))) rc = push_int(v, *v->p++);
            break;
        case 'M':
            if (!(rc = need(v, 2, "BININT2"))) { rc = push_int(v, v->p[0] | v->p[1] << 8); v->p += 2; }
            break;
        case 0x8a: { /* LONG1: n bytes, little-endian two's complement */
            if ((rc = need(v, 1, "LONG1"))) break;
            size_t n = *v->p++;
            if ((rc = need(v, n, "LONG1"))) break;
            if (n > 8)
                return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: integer of %zu bytes (at most 8)",
                                     v->file, at, n);
            uint64_t u = 0;
            for (size_t k = 0; k < n; k++) u |= (uint64_t)v->p[k] << (8 * k);
            if (n && n < 8 && (v->p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
            v->p += n;
            int64_t x;
            memcpy(&x, &u, sizeof x);
            rc = push_int(v, x);
            break;
        }
        case 'G': { /* BINFLOAT (big-endian double) */
            if ((rc = need(v, 8, "BINFLOAT"))) break;
            obj *o = new_obj(v, K_FLOAT);
            v->p += 8;
            rc = push(v, o);
            break;
        }
        case 'N': rc = push(v, new_obj(v, K_NONE)); break;
        case 0x88: case 0x89: {
            obj *o = new_obj(v, K_BOOL);
            if (o) o->i = op == 0x88;
            rc = push(v, o);
            break;
        }
        case 'q':
            if (!(rc = need(v, 1, "BINPUT"))) {
                if (v->sp <= base(v))
                    return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: BINPUT on an empty stack", v->file, at);
                rc = memo_put(v, *v->p++, v->stack[v->sp - 1]);
            }
            break;
        case 'r':
            if (!(rc = need(v, 4, "LONG_BINPUT"))) {
                if (v->sp <= base(v))
                    return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: LONG_BINPUT on an empty stack", v->file, at);
                rc = memo_put(v, rd32(v->p), v->stack[v->sp - 1]);
                v->p += 4;
            }
            break;
        case 0x94: /* MEMOIZE */
            if (v->sp <= base(v))
                return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: MEMOIZE on an empty stack", v->file, at);
            rc = memo_put(v, v->nstored, v->stack[v->sp - 1]);
            break;
        case 'h':
            if (!(rc = need(v, 1, "BINGET"))) rc = memo_get(v, *v->p++);
            break;
        case 'j':
            if (!(rc = need(v, 4, "LONG_BINGET"))) { rc = memo_get(v, rd32(v->p)); v->p += 4; }
            break;
        case 'c': { /* GLOBAL module\nname\n */
            const unsigned char *m = v->p, *nl1 = memchr(m, '\n', (size_t)(v->end - m));
            const unsigned char *nm = nl1 ? nl1 + 1 : NULL;
            const unsigned char *nl2 = nm ? memchr(nm, '\n', (size_t)(v->end - nm)) : NULL;
            if (!nl2) return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle truncated in GLOBAL at byte %zu", v->file, at);
            v->p = nl2 + 1;
            rc = do_global(v, (const char *)m, (size_t)(nl1 - m), (const char *)nm, (size_t)(nl2 - nm), at);
            break;
        }
        case 0x93: { /* STACK_GLOBAL: module, name strings */
            obj *name = pop(v, "STACK_GLOBAL"), *mod = name ? pop(v, "STACK_GLOBAL") : NULL;
            if (!mod) return v->err->code;
            if (mod->kind != K_STR || name->kind != K_STR)
                return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: STACK_GLOBAL of a non-string",
                                     v->file, at);
            rc = do_global(v, mod->s, mod->slen, name->s, name->slen, at);
            break;
        }
        case 'R': rc = do_reduce(v, at); break;
        case 'Q': rc = do_persid(v, at); break;
        case 'b': { /* BUILD: only a dict's state (the state dict's _metadata), ignored */
            obj *state = pop(v, "BUILD");
            if (!state) return v->err->code;
            if (v->sp <= base(v) || v->stack[v->sp - 1]->kind != K_DICT)
                return mto_error_set(v->err, MTO_EFORMAT, "%.200s: pickle byte %zu: BUILD is allowed only on a dict",
                                     v->file, at);
            (void)state;
            break;
        }
        default:
            return mto_error_set(v->err, MTO_EFORMAT,
                                 "%.200s: pickle byte %zu: opcode 0x%02x (%s) is not allowed in a state dict", v->file,
                                 at, op, opname(op));
        }
    }
    return rc;
}

static _Thread_local const mto_pt_tensor *sort_base;
static int cmp_idx(const void *a, const void *b)
{
    return strcmp(sort_base[*(const size_t *)a].name, sort_base[*(const size_t *)b].name);
}
static int cmp_storage(const void *a, const void *b)
{
    return strcmp(sort_base[*(const size_t *)a].storage, sort_base[*(const size_t *)b].storage);
}

/* Check one tensor against its storage: sizes, contiguity, extent. */
static int check_tensor(const char *file, const mto_pt_tensor *t, mto_error *err)
{
    uint64_t numel = 1, lim = (UINT64_C(1) << 62) / 8;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0 || t->stride[d] < 0)
            return mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "' has a negative size or stride",
                                 file, t->name);
        if (t->shape[d] && numel > lim / (uint64_t)t->shape[d])
            return mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "' is too large", file, t->name);
        numel *= (uint64_t)t->shape[d];
    }
    if (t->storage_numel > lim)
        return mto_error_set(err, MTO_EFORMAT, "%.200s: storage '%.100s' of tensor '" PT_NAME_FMT "' is too large", file,
                             t->storage, t->name);
    if (numel == 0) return 0;
    uint64_t want = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && (uint64_t)t->stride[d] != want) {
            char buf[200];
            int o = 0;
            for (int k = 0; k < t->ndim && o < 150; k++)
                o += snprintf(buf + o, sizeof buf - (size_t)o, "%s%lld", k ? "," : "", (long long)t->stride[k]);
            return mto_error_set(err, MTO_EFORMAT,
                                 "%.200s: tensor '" PT_NAME_FMT "' is not contiguous (strides [%s]); save it with "
                                 ".contiguous()",
                                 file, t->name, buf);
        }
        want *= (uint64_t)t->shape[d];
    }
    if (t->storage_offset > t->storage_numel || numel > t->storage_numel - t->storage_offset)
        return mto_error_set(err, MTO_EFORMAT,
                             "%.200s: tensor '" PT_NAME_FMT "' needs elements %llu..%llu of storage '%.100s', which has "
                             "%llu",
                             file, t->name, (unsigned long long)t->storage_offset,
                             (unsigned long long)(t->storage_offset + numel), t->storage,
                             (unsigned long long)t->storage_numel);
    return 0;
}

int mto_pt__parse(mto_pt_file *f, const unsigned char *buf, size_t len, mto_error *err)
{
    vm v = {0};
    mto_error local;
    if (!err) err = &local; /* the interpreter reads codes back from it */
    mto_error_clear(err);
    v.file = f->name;
    v.p = v.start = buf;
    v.end = buf + len;
    v.err = err;
    v.memo_limit = 2 * len + 256;
    obj *r = NULL;
    int rc = run(&v, &r);
    if (!rc && r->kind != K_DICT)
        rc = mto_error_set(err, MTO_EFORMAT, "%.200s: the pickle holds a %s, not a state dict", f->name,
                           kind_names[r->kind]);
    if (!rc) {
        size_t n = r->n / 2;
        f->t = mto_calloc(n ? n : 1, sizeof *f->t);
        f->by_name = mto_calloc(n ? n : 1, sizeof *f->by_name);
        if (!f->t || !f->by_name) rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name);
        for (size_t k = 0; k < n && !rc; k++) {
            obj *key = r->items[2 * k], *val = r->items[2 * k + 1];
            if (key->kind != K_STR || strlen(key->s) != key->slen) {
                rc = mto_error_set(err, MTO_EFORMAT, "%.200s: state dict key %zu is %s", f->name, k,
                                   key->kind == K_STR ? "a string with a NUL byte" : kind_names[key->kind]);
                break;
            }
            if (val->kind != K_TENSOR) {
                rc = mto_error_set(err, MTO_EFORMAT, "%.200s: entry '" PT_NAME_FMT "' is a %s, not a tensor", f->name,
                                   key->s, kind_names[val->kind]);
                break;
            }
            mto_pt_tensor *t = &f->t[k];
            obj *st = val->items[0];
            t->name = mto_strdup(key->s);
            t->storage = mto_strndup(st->s, st->slen);
            f->n = k + 1;
            if (!t->name || !t->storage) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name); break; }
            t->dtype = val->g;
            t->ndim = val->ndim;
            for (int d = 0; d < val->ndim; d++) {
                t->shape[d] = val->dims[d];
                t->stride[d] = val->dims[val->ndim + d];
            }
            if (val->i < 0) {
                rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "' has storage offset %lld",
                                   f->name, t->name, (long long)val->i);
                break;
            }
            t->storage_offset = (uint64_t)val->i;
            t->storage_numel = (uint64_t)st->i;
            if (strlen(t->storage) != st->slen || st->slen == 0 || strchr(t->storage, '/')) {
                rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "' has a bad storage key",
                                   f->name, t->name);
                break;
            }
            rc = check_tensor(f->name, t, err);
        }
        if (!rc) {
            for (size_t k = 0; k < n; k++) f->by_name[k] = k;
            sort_base = f->t;
            qsort(f->by_name, n, sizeof *f->by_name, cmp_idx);
            for (size_t k = 1; k < n && !rc; k++)
                if (!strcmp(f->t[f->by_name[k]].name, f->t[f->by_name[k - 1]].name))
                    rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "' appears twice", f->name,
                                       f->t[f->by_name[k]].name);
        }
        if (!rc && n > 1) { /* one storage key, one dtype and size */
            size_t *ix = mto_malloc(n * sizeof *ix);
            if (!ix) rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name);
            for (size_t k = 0; ix && k < n; k++) ix[k] = k;
            if (ix) qsort(ix, n, sizeof *ix, cmp_storage);
            for (size_t k = 1; ix && k < n && !rc; k++) {
                const mto_pt_tensor *a = &f->t[ix[k - 1]], *b = &f->t[ix[k]];
                if (!strcmp(a->storage, b->storage) && (a->dtype != b->dtype || a->storage_numel != b->storage_numel))
                    rc = mto_error_set(err, MTO_EFORMAT,
                                       "%.200s: tensors '" PT_NAME_FMT "' and '" PT_NAME_FMT "' declare storage '%.100s' "
                                       "with different types or sizes",
                                       f->name, a->name, b->name, a->storage);
            }
            free(ix);
        }
    }
    while (v.all) {
        obj *o = v.all;
        v.all = o->next;
        if (o->kind == K_STR) free(o->s);
        free(o->items);
        free(o->dims);
        free(o);
    }
    free(v.stack);
    free(v.marks);
    free(v.memo);
    return rc;
}
