/* cli.c — the `mto` command: a Lua host with the mto module preloaded, plus
 * a few subcommands that need no script. Exit codes: 0 ok, 1 failure, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "config.h"
#include "l_mpi.h"
#include "lmto.h"
#include "mto/host.h"
#include "mto/safetensors.h"
#include "mto/t5.h"

static const char usage_text[] =
    "usage: mto [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run SCRIPT.lua [ARGS...]   run a Lua experiment script (mto is preloaded;\n"
    "                             script arguments are in the global `arg`)\n"
    "  match --model DIR --task [NAME=]READER:PATH [...]\n"
    "                             score templates zero-shot and recommend, per task,\n"
    "                             the objective family and template (mto match --help)\n"
    "  slurm SWEEP.lua [OPTIONS]  write a Slurm batch script running a sweep on a\n"
    "                             cluster: a job array or one MPI job (mto slurm --help)\n"
    "  info CHECKPOINT            tensors, dtypes, metadata and T5 configuration\n"
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

/* mto info PATH: the safetensors header (tensors, dtypes, metadata keys) and,
 * when it is a T5 checkpoint, its configuration. Any defect is reported with
 * the file and tensor it concerns; exit 1. */
static int cmd_info(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "mto info: expected one CHECKPOINT (directory or .safetensors)\n");
        return usage(stderr, 2);
    }
    const char *path = argv[1];
    char file[4096];
    FILE *probe = NULL;
    snprintf(file, sizeof file, "%s/model.safetensors", path);
    if (!(probe = fopen(file, "rb"))) snprintf(file, sizeof file, "%s", path);
    else fclose(probe);
    mto_error err;
    mto_error_clear(&err);
    mto_st_file *f = NULL;
    if (mto_st_open(file, &f, &err)) {
        fprintf(stderr, "mto: %s\n", err.msg);
        return 1;
    }
    size_t n = mto_st_count(f);
    double bytes = 0;
    int counts[16] = {0};
    for (size_t i = 0; i < n; i++) {
        const mto_st_tensor *t = mto_st_at(f, i);
        bytes += (double)t->nbytes;
        if (t->dtype >= 0 && t->dtype < 16) counts[t->dtype]++;
    }
    printf("file        %s\n", file);
    printf("tensors     %zu (%.1f MB)", n, bytes / 1e6);
    for (int k = 0; k < 16; k++)
        if (counts[k]) printf(", %d %s", counts[k], mto_st_dtype_name(k));
    printf("\n");
    for (size_t i = 0; i < mto_st_meta_count(f); i++) {
        const char *v = NULL, *k = mto_st_meta_at(f, i, &v);
        printf("metadata    %s (%zu bytes)\n", k, v ? strlen(v) : 0);
    }
    mto_st_close(f);
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

static int cmd_run(int argc, char **argv)
{
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
        printf("mto %s (plugin ABI %d)\n", PACKAGE_VERSION, MTO_ABI_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "plugins")) return cmd_plugins(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "match")) return cmd_match(argc - 1, argv + 1);
    if (!strcmp(cmd, "slurm")) return cmd_slurm(argc - 1, argv + 1);
    if (cmd[0] == '-') fprintf(stderr, "mto: unknown option '%s'\n", cmd);
    else fprintf(stderr, "mto: unknown command '%s'\n", cmd);
    return usage(stderr, 2);
}
