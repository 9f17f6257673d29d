/* cli.c — the `mto` command: a Lua host with the mto module preloaded, plus
 * a few subcommands that need no script. Exit codes: 0 ok, 1 failure, 2 usage. */
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lualib.h>

#include "config.h"
#include "l_mpi.h"
#include "lmto.h"
#include "mto/host.h"
#include "mto/checkpoint.h"
#include "mto/matmul.h"
#include "mto/safetensors.h"
#include "mto/t5.h"
#include "mto/train.h"

static const char usage_text[] =
    "usage: mto [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run [--verbose] SCRIPT.lua [ARGS...]\n"
    "                             run a Lua experiment script (mto is preloaded;\n"
    "                             script arguments are in the global `arg`);\n"
    "                             --verbose: per-step progress lines (MTO_VERBOSE=1)\n"
    "  match --model DIR --task [NAME=]READER:PATH [...]\n"
    "                             score templates zero-shot and recommend, per task,\n"
    "                             the objective family and template (mto match --help)\n"
    "  slurm SWEEP.lua [OPTIONS]  write a Slurm batch script running a sweep on a\n"
    "                             cluster: a job array or one MPI job (mto slurm --help)\n"
    "  info CHECKPOINT            tensors, dtypes, shards, metadata and T5 configuration\n"
    "                             (a directory, .safetensors, pytorch_model.bin or *.index.json)\n"
    "  convert IN OUT [--max-shard-size SIZE]\n"
    "                             write a checkpoint (pytorch_model.bin, sharded or\n"
    "                             not) as safetensors: OUT.safetensors or a directory\n"
    "  plugins                    list loaded plugins: name, kind, version, file\n"
    "  help                       show this message\n"
    "\n"
    "environment:\n"
    "  MTO_PLUGIN_PATH            ':'-separated plugin directories or files,\n"
    "                             loaded after the built-in plugins\n"
    "  MTO_PLUGIN_OVERRIDE        names (','-separated) of built-in plugins that a\n"
    "                             plugin from MTO_PLUGIN_PATH may replace\n";

static int usage(FILE *f, int code)
{
    fputs(usage_text, f);
    return code;
}

/* mto info PATH: the checkpoint's tensors (dtypes, sizes), its shards when
 * it is sharded, metadata keys and, when it is a T5 checkpoint, its
 * configuration. Any defect is reported with the file and tensor it
 * concerns; exit 1. */
static int cmd_info(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "mto info: expected one CHECKPOINT (directory, .safetensors, .bin or .index.json)\n");
        return usage(stderr, 2);
    }
    const char *path = argv[1];
    mto_error err;
    mto_error_clear(&err);
    mto_ckpt *f = NULL;
    if (mto_ckpt_open(path, &f, &err)) {
        fprintf(stderr, "mto: %s\n", err.msg);
        return 1;
    }
    size_t n = mto_ckpt_count(f), nsh = mto_ckpt_shard_count(f);
    double bytes = 0;
    int counts[16] = {0};
    for (size_t i = 0; i < n; i++) {
        const mto_ckpt_tensor *t = mto_ckpt_at(f, i);
        bytes += (double)t->nbytes;
        if (t->dtype >= 0 && t->dtype < 16) counts[t->dtype]++;
    }
    printf("file        %s (%s%s)\n", mto_ckpt_file(f), mto_ckpt_format(f), nsh > 1 ? ", sharded" : "");
    if (nsh > 1) {
        for (size_t k = 0; k < nsh; k++) {
            size_t nt = 0;
            uint64_t nb = 0;
            const char *sp = mto_ckpt_shard(f, k, &nt, &nb);
            printf("shard       %s (%zu tensors, %.1f MB)\n", sp, nt, (double)nb / 1e6);
        }
        int64_t ts = mto_ckpt_total_size(f);
        if (ts >= 0) printf("total_size  %lld bytes (index metadata)\n", (long long)ts);
    }
    printf("tensors     %zu (%.1f MB)", n, bytes / 1e6);
    for (int k = 0; k < 16; k++)
        if (counts[k]) printf(", %d %s", counts[k], mto_st_dtype_name(k));
    printf("\n");
    for (size_t i = 0; i < mto_ckpt_meta_count(f); i++) {
        const char *v = NULL, *k = mto_ckpt_meta_at(f, i, &v);
        printf("metadata    %s (%zu bytes)\n", k, v ? strlen(v) : 0);
    }
    mto_ckpt_close(f);
    mto_t5 *m = mto_t5_load(path, &err);
    if (!m) {
        fprintf(stderr, "mto: not a loadable T5 checkpoint: %s\n", err.msg);
        return 1;
    }
    const mto_t5_config *c = &m->cfg;
    printf("model       t5 %s, d_model %d, d_ff %d, d_kv %d, %d heads, %d+%d layers, vocab %d\n",
           c->ff == MTO_T5_FF_RELU ? "v1.0 (relu)" : "v1.1 (gated-gelu)", c->d_model, c->d_ff, c->d_kv,
           c->num_heads, c->num_layers, c->num_decoder_layers, c->vocab_size);
    printf("parameters  %zu\n", m->numel);
    mto_t5_free(m);
    return 0;
}

/* Copy a small file (config.json, spiece.model) byte for byte; 0 if src is absent. */
static int copy_if_present(const char *src, const char *dst)
{
    struct stat a, b;
    if (stat(src, &a) != 0) return 0;
    if (stat(dst, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) return 1; /* same file */
    FILE *in = fopen(src, "rb");
    if (!in) return 0;
    FILE *out = fopen(dst, "wb");
    int bad = !out;
    char buf[65536];
    size_t k;
    while (!bad && (k = fread(buf, 1, sizeof buf, in)) > 0) bad = fwrite(buf, 1, k, out) != k;
    bad |= ferror(in);
    fclose(in);
    if (out) bad |= fclose(out) != 0;
    if (bad) fprintf(stderr, "mto convert: cannot copy %s to %s\n", src, dst);
    return bad ? -1 : 1;
}

/* Read tensors [first, last) of a checkpoint into memory for writing, or let
 * them go (release): mto convert holds one shard at a time. */
typedef struct { mto_ckpt *c; void **bufs; const size_t *idx; } convert_ctx; /* idx: output -> input tensor */

static int convert_fill(void *vctx, mto_st_out *t, size_t first, size_t last, int release, mto_error *err)
{
    convert_ctx *x = vctx;
    for (size_t i = first; i < last; i++) {
        if (release) {
            free(x->bufs[i]);
            x->bufs[i] = NULL;
            t[i].data = NULL;
            continue;
        }
        const mto_ckpt_tensor *ct = mto_ckpt_at(x->c, x->idx[i]);
        if (!(x->bufs[i] = malloc(ct->nbytes ? (size_t)ct->nbytes : 1)))
            return mto_error_set(err, MTO_ENOMEM, "out of memory for tensor %s (%llu bytes)", ct->name,
                                 (unsigned long long)ct->nbytes);
        int rc = mto_ckpt_read_raw(x->c, ct, x->bufs[i], (size_t)ct->nbytes, err);
        if (rc) return rc;
        t[i].data = x->bufs[i];
    }
    return 0;
}

/* mto convert IN OUT [--max-shard-size SIZE]: any checkpoint mto reads
 * (pytorch_model.bin, sharded or not, or safetensors) written as safetensors,
 * every tensor with its own dtype. OUT is a .safetensors file (the config.json
 * beside IN goes into __metadata__.config) or a directory (HF layout:
 * model.safetensors or shards + index, config.json and spiece.model copied;
 * only one shard's tensors are in memory at a time). */
static int cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *shard = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max-shard-size") && i + 1 < argc) shard = argv[++i];
        else if (!strncmp(argv[i], "--max-shard-size=", 17)) shard = argv[i] + 17;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "mto convert: unknown option '%s'\n", argv[i]);
            return usage(stderr, 2);
        } else if (!in) in = argv[i];
        else if (!out) out = argv[i];
        else {
            fprintf(stderr, "mto convert: unexpected argument '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    if (!in || !out) {
        fprintf(stderr, "mto convert: expected IN OUT\n");
        return usage(stderr, 2);
    }
    mto_error err;
    mto_error_clear(&err);
    uint64_t max_shard = 0;
    size_t olen = strlen(out);
    int to_file = olen > 12 && !strcmp(out + olen - 12, ".safetensors");
    if (shard && (mto_parse_size(shard, &max_shard, &err) || to_file)) {
        fprintf(stderr, "mto convert: %s\n", to_file ? "--max-shard-size needs a directory OUT" : err.msg);
        return 2;
    }
    mto_ckpt *f = NULL;
    if (mto_ckpt_open(in, &f, &err)) {
        fprintf(stderr, "mto: %s\n", err.msg);
        return 1;
    }
    /* the directory IN's files live in */
    char indir[4096], src[4200], dst[4200];
    const char *file = mto_ckpt_file(f), *slash = strrchr(file, '/');
    snprintf(indir, sizeof indir, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
    size_t n = mto_ckpt_count(f);
    mto_st_out *outs = calloc(n ? n : 1, sizeof *outs);
    void **bufs = calloc(n ? n : 1, sizeof *bufs);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    char *cfg = NULL;
    int rc = 1;
    if (!outs || !bufs || !idx) { fprintf(stderr, "mto convert: out of memory\n"); goto done; }
    /* T5's encoder/decoder.embed_tokens are always tied to shared.weight (mto and
     * transformers re-tie them when absent): a state dict's views of it are dropped */
    const mto_ckpt_tensor *sh = mto_ckpt_find(f, "shared.weight");
    size_t m = 0, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const mto_ckpt_tensor *t = mto_ckpt_at(f, i);
        if ((!strcmp(t->name, "encoder.embed_tokens.weight") || !strcmp(t->name, "decoder.embed_tokens.weight")) &&
            mto_ckpt_same_data(f, t, sh)) {
            dropped++;
            continue;
        }
        idx[m] = i;
        outs[m++] = (mto_st_out){t->name, t->dtype, t->ndim, t->shape, NULL};
    }
    convert_ctx cx = {f, bufs, idx};
    if (to_file) {
        if (convert_fill(&cx, outs, 0, m, 0, &err)) { fprintf(stderr, "mto: %s\n", err.msg); goto done; }
        const char *meta[] = {"format", "pt", NULL, NULL, NULL};
        snprintf(src, sizeof src, "%s/config.json", indir);
        FILE *cf = fopen(src, "rb");
        if (cf) {
            cfg = calloc(1, 1 << 20);
            if (cfg && fread(cfg, 1, (1 << 20) - 1, cf) > 0) { meta[2] = "config"; meta[3] = cfg; }
            fclose(cf);
        } else if (mto_ckpt_meta(f, "config")) {
            meta[2] = "config";
            meta[3] = mto_ckpt_meta(f, "config");
        }
        if (mto_st_write(out, outs, m, meta, &err)) { fprintf(stderr, "mto: %s\n", err.msg); goto done; }
        printf("wrote %s (%zu tensors%s)\n", out, m, meta[2] ? ", config in __metadata__" : "");
    } else {
        const char *meta[] = {"format", "pt", NULL};
        mkdir(out, 0777);
        if (mto_st_write_sharded_fill(out, outs, m, meta, max_shard, convert_fill, &cx, &err)) {
            fprintf(stderr, "mto: %s\n", err.msg);
            goto done;
        }
        static const char *const side[] = {"config.json", "spiece.model", "tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json", "generation_config.json"};
        for (size_t k = 0; k < sizeof side / sizeof side[0]; k++) {
            snprintf(src, sizeof src, "%s/%s", indir, side[k]);
            snprintf(dst, sizeof dst, "%s/%s", out, side[k]);
            if (copy_if_present(src, dst) < 0) goto done;
        }
        mto_ckpt *o = NULL;
        if (mto_ckpt_open(out, &o, &err)) { fprintf(stderr, "mto: %s\n", err.msg); goto done; }
        printf("wrote %s (%zu tensors, %zu shard%s)\n", mto_ckpt_file(o), m, mto_ckpt_shard_count(o),
               mto_ckpt_shard_count(o) > 1 ? "s" : "");
        mto_ckpt_close(o);
    }
    if (dropped) printf("dropped %zu views of shared.weight (encoder/decoder.embed_tokens.weight: tied)\n", dropped);
    rc = 0;
done:
    for (size_t i = 0; bufs && i < n; i++) free(bufs[i]);
    free(bufs);
    free(idx);
    free(outs);
    free(cfg);
    mto_ckpt_close(f);
    return rc;
}

static int cmd_plugins(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "mto plugins: unexpected argument '%s'\n", argv[1]);
        return usage(stderr, 2);
    }
    mto_plugins_load_all(NULL);
    size_t n = mto_plugin_count();
    printf("%-24s %-10s %-8s %s\n", "NAME", "KIND", "VERSION", "FILE");
    for (size_t i = 0; i < n; i++) {
        const mto_plugin_info *p = mto_plugin_at(i);
        printf("%-24s %-10s %-8s %s\n", p->desc->name, mto_kind_name(p->desc->kind),
               p->desc->version ? p->desc->version : "-", p->file);
    }
    for (size_t i = 0; i < mto_plugin_problem_count(); i++)
        fprintf(stderr, "mto: warning: %s\n", mto_plugin_problem_at(i));
    if (n == 0)
        fprintf(stderr, "mto: no plugins found (searched %s)\n", mto_plugin_search_path());
    return 0;
}

/* Plugins that were refused: one warning line on stderr, once per process, from
 * every command that uses plugins (`mto plugins` lists each refusal). */
static void warn_refused_plugins(void)
{
    static int done;
    if (done) return;
    done = 1;
    mto_plugins_load_all(NULL);
    size_t n = mto_plugin_problem_count();
    if (n == 0) return;
    if (n == 1) fprintf(stderr, "mto: warning: plugin %s\n", mto_plugin_problem_at(0));
    else
        fprintf(stderr, "mto: warning: plugin %s (and %zu more refusals: `mto plugins` lists them)\n",
                mto_plugin_problem_at(0), n - 1);
}

/* Message handler: keep the error as Lua formatted it ("script.lua:LINE: msg")
 * and add a traceback only when MTO_TRACEBACK is set. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) msg = luaL_tolstring(L, 1, NULL);
    if (getenv("MTO_TRACEBACK")) luaL_traceback(L, L, msg, 1);
    else lua_pushstring(L, msg);
    return 1;
}

/* SIGTERM (Slurm at the time limit, a requeue, a worker whose parent died): a training
 * loop in progress stops after its step and saves its training state (m:train{checkpoint =
 * ...}, full-data sweep points), so the rerun loses nothing; otherwise, or on a second
 * SIGTERM, the default action. */
static void on_term(int sig)
{
    signal(sig, SIG_DFL);
    if (mto_train_active()) mto_train_request_stop();
    else raise(sig);
}

static int cmd_run(int argc, char **argv)
{
    signal(SIGTERM, on_term);
    /* mto run --verbose SCRIPT: per-step progress lines from every sweep (lua/mto/progress.lua) */
    while (argc >= 2 && (!strcmp(argv[1], "--verbose") || !strcmp(argv[1], "-v"))) {
        setenv("MTO_VERBOSE", "1", 1);
        argv[1] = argv[0];
        argc--, argv++;
    }
    if (argc < 2) {
        fprintf(stderr, "mto run: missing SCRIPT.lua\n");
        return usage(stderr, 2);
    }
    const char *script = argv[1];
    warn_refused_plugins();
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "mto: cannot create Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "mto", luaopen_mto, 0); /* package.loaded.mto, not a global */
    lua_pop(L, 1);

    /* arg[0] = script, arg[1..] = its arguments, as the stock interpreter does */
    lua_createtable(L, argc - 2, 1);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_seti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");

    int status = luaL_loadfile(L, script);
    if (status == LUA_OK) {
        lua_pushcfunction(L, msghandler);
        lua_insert(L, -2);
        for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - 2, 0, -(argc - 2) - 2);
    }
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "mto: %s\n", msg ? msg : "(error object is not a string)");
        mto_lua_mpi_abort_on_error(1); /* other MPI ranks would wait for this one forever */
    }
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}

/* mto slurm ARGS: a Slurm batch script for a sweep (lua/mto/slurm.lua; its
 * main(args) returns the exit status: 0 ok, 1 failure, 2 usage). */
static int cmd_slurm(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "mto: cannot create Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "mto", luaopen_mto, 0);
    lua_pop(L, 1);
    lua_pushcfunction(L, msghandler);
    int code = 1;
    if (luaL_loadstring(L, "return require('mto.slurm').main(...)") == LUA_OK) {
        lua_createtable(L, argc - 1, 0);
        for (int i = 1; i < argc; i++) {
            lua_pushstring(L, argv[i]);
            lua_seti(L, -2, i);
        }
        if (lua_pcall(L, 1, 1, 1) == LUA_OK) code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    }
    if (code == 1 && lua_isstring(L, -1) && !lua_isinteger(L, -1))
        fprintf(stderr, "mto slurm: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return code;
}

/* mto match ARGS: the matching report, written in Lua (lua/mto/match_cli.lua);
 * its main(args) returns the exit status (0 ok, 1 failure, 2 usage). */
static int cmd_match(int argc, char **argv)
{
    warn_refused_plugins();
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "mto: cannot create Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    lua_pushcfunction(L, msghandler);
    luaL_requiref(L, "mto", luaopen_mto, 0);
    lua_getfield(L, -1, "match_cli");
    lua_remove(L, -2);
    lua_createtable(L, argc - 1, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_seti(L, -2, i);
    }
    int code = 1;
    if (lua_pcall(L, 1, 1, 1) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "mto match: %s\n", msg ? msg : "(error object is not a string)");
    } else if (lua_isinteger(L, -1)) {
        code = (int)lua_tointeger(L, -1);
    } else {
        code = 0;
    }
    lua_close(L);
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage(stderr, 2);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) return usage(stdout, 0);
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        char mm[256];
        mto_matmul_describe(mm, sizeof mm);
        printf("mto %s (plugin ABI %d)\n%s\n", PACKAGE_VERSION, MTO_ABI_VERSION, mm);
        return 0;
    }
    if (!strcmp(cmd, "plugins")) return cmd_plugins(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "convert")) return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(cmd, "match")) return cmd_match(argc - 1, argv + 1);
    if (!strcmp(cmd, "slurm")) return cmd_slurm(argc - 1, argv + 1);
    if (cmd[0] == '-') fprintf(stderr, "mto: unknown option '%s'\n", cmd);
    else fprintf(stderr, "mto: unknown command '%s'\n", cmd);
    return usage(stderr, 2);
}
