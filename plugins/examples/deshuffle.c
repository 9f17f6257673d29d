/* deshuffle.c — an example third-party objective, written to be read.
 *
 * What it does: the "deshuffling" objective from the T5 paper's comparison of
 * pre-training objectives. The input is the text with its tokens shuffled;
 * the target is the original text, so the model learns to put words back in
 * order. Option `window` (default 0 = the whole text) shuffles only within
 * consecutive windows of that many tokens, which keeps the task easier.
 *
 * How to build and use it outside the mto tree:
 *
 *     cc -shared -fPIC $(pkg-config --cflags mto-plugin) deshuffle.c -o deshuffle.so
 *     MTO_PLUGIN_PATH=$PWD mto plugins          # lists "objective deshuffle"
 *
 * and from Lua:
 *
 *     local obj = mto.objective("deshuffle", {window = 4})
 *     local input, target = obj:apply({10, 11, 12, 13, 14}, {seed = 1})
 *
 * The whole ABI a plugin sees is core/mto/plugin.h (installed as
 * <mto/plugin.h>). No libmto symbol is linked: everything the plugin needs
 * from the host (memory, options, randomness, output buffers, errors) comes
 * through the `mto_host` function table passed to the entry point. */
#include <mto/plugin.h>

/* 1. The plugin's state: whatever create() makes from the options. The host
 *    hands it back to apply() and destroy() untouched. We keep the host table
 *    too, because apply() and destroy() are not given it. */
typedef struct {
    const mto_host *host;
    size_t window; /* 0: shuffle the whole text */
} deshuffle_state;

/* 2. create(): read options, validate them, allocate state. Options are looked
 *    up by name with a default; a bad value is an error with a message that
 *    names the plugin and the option. Never exit() or abort(): return a
 *    negative MTO_E* code after filling `err` with host->error(). */
static int deshuffle_create(const mto_host *host, const mto_options *opts, void **state,
                            mto_error *err)
{
    double window = host->opt_num(opts, "window", 0.0);
    if (!(window >= 0.0 && window < 1e9))
        return host->error(err, MTO_EINVAL, "deshuffle: option window must be >= 0, got %g",
                           window);
    deshuffle_state *s = host->alloc(sizeof *s); /* the host's allocator */
    if (!s) return host->error(err, MTO_ENOMEM, "deshuffle: out of memory");
    s->host = host;
    s->window = (size_t)window;
    *state = s;
    return 0;
}

/* A uniform integer in [0, n): all randomness must come from the host's
 * seeded generator (rng), never rand() or time(), so a seed reproduces a run. */
static size_t below(const mto_host *host, mto_rng *rng, size_t n)
{
    size_t k = (size_t)(host->rng_uniform(rng) * (double)n);
    return k < n ? k : n - 1;
}

/* 3. apply(): one example in, one (input, target) pair out.
 *    io->text / io->text_len are the token ids (no eos). The host owns the
 *    output buffers; fill them with host->ids_push(). The target must end
 *    with io->eos_id. Sentinels, when needed, are io->sentinel0 - N. */
static int deshuffle_apply(void *state, const mto_objective_io *io, mto_rng *rng,
                           mto_ids *input, mto_ids *target, mto_error *err)
{
    deshuffle_state *s = state;
    const mto_host *host = s->host;
    size_t n = io->text_len;
    int32_t *tmp = host->alloc((n ? n : 1) * sizeof *tmp); /* scratch, freed below */
    if (!tmp) return host->error(err, MTO_ENOMEM, "deshuffle: out of memory");
    for (size_t i = 0; i < n; i++) tmp[i] = io->text[i];

    /* Fisher-Yates within each window */
    size_t w = s->window ? s->window : n;
    for (size_t start = 0; start < n; start += w) {
        size_t len = n - start < w ? n - start : w;
        for (size_t i = len; i > 1; i--) {
            size_t j = below(host, rng, i);
            int32_t t = tmp[start + i - 1];
            tmp[start + i - 1] = tmp[start + j];
            tmp[start + j] = t;
        }
    }

    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = host->ids_push(input, tmp[i]);
    for (size_t i = 0; i < n && rc == 0; i++) rc = host->ids_push(target, io->text[i]);
    if (rc == 0) rc = host->ids_push(target, io->eos_id);
    host->free(tmp);
    if (rc) return host->error(err, MTO_ENOMEM, "deshuffle: out of memory");
    return 0;
}

/* 4. destroy(): free what create() made. */
static void deshuffle_destroy(void *state)
{
    deshuffle_state *s = state;
    if (s) s->host->free(s);
}

/* 5. The ops table and the descriptor: `static const`, so they live as long
 *    as the .so is loaded. struct_size and abi_version let a newer host know
 *    which fields this plugin was compiled with. */
static const mto_objective_ops deshuffle_ops = {
    sizeof(mto_objective_ops), deshuffle_create, deshuffle_apply, deshuffle_destroy};

static const mto_plugin_desc deshuffle_desc = {
    MTO_PLUGIN_DESC_HEADER, /* abi_version, struct_size */
    MTO_KIND_OBJECTIVE,     /* what it provides */
    "deshuffle",            /* the name Lua uses: mto.objective("deshuffle") */
    "1.0",                  /* the plugin's own version */
    "example: input = shuffled tokens (option window), target = original order",
    &deshuffle_ops};

/* 6. The one exported symbol. The host calls it once after dlopen(); register
 *    every descriptor the file provides (one here). A name already taken for
 *    this kind, or an ABI the host does not accept, comes back as an error. */
MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &deshuffle_desc, err);
}
