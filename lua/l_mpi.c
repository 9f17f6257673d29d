/* l_mpi.c — MPI for the Lua layer (mto.mpi) and the data-parallel hook of m:train.
 *
 *   mto.mpi.built             true when configured with MPI
 *   mto.mpi.launched()        -> bool, size|nil: started by mpirun/srun (environment only; no MPI call)
 *   mto.mpi.init()            -> rank, size (MPI_Init_thread on first call; idempotent;
 *                                0, 1 in a build without MPI unless launched as several ranks: error)
 *   mto.mpi.active()          -> bool: MPI is initialised and not finalised
 *   mto.mpi.rank(), .size()   this process (starting MPI when launched by mpirun; else 0 and 1)
 *   mto.mpi.barrier()
 *   mto.mpi.allreduce(nums [, "sum"|"max"|"min"]) -> array of numbers (doubles)
 *   mto.mpi.bcast(str)        -> rank 0's string on every rank
 *   mto.mpi.finalize(), mto.mpi.abort([code])
 *
 * MPI is initialised only when asked (the sweep and m:train{data_parallel=true} ask
 * when launched by mpirun), so a plain `mto run` never touches it. MPI_Finalize runs
 * when the Lua state closes (a registry sentinel's __gc), or at exit. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "l_mpi.h"

#ifdef MTO_HAVE_MPI
#include <mpi.h>
#include <mto/matmul.h>
#endif

/* The launch environment: mpirun (Open MPI), Hydra/Slurm PMI, PMIx. -1: not launched;
 * 0: launched, size unknown; else the world size. */
static int launched_size(void)
{
    static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS", NULL};
    for (int i = 0; size_vars[i]; i++) {
        const char *s = getenv(size_vars[i]);
        if (s && *s) return atoi(s) > 0 ? atoi(s) : 0;
    }
    return getenv("PMIX_RANK") || getenv("PMI_RANK") ? 0 : -1;
}

#ifdef MTO_HAVE_MPI

static int g_rank = 0, g_size = 1;

static int is_active(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

static int mpi_msg(lua_State *L, const char *what, int rc)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "error %d", rc);
    return luaL_error(L, "mpi: %s failed: %s", what, s);
}

static int sentinel_gc(lua_State *L)
{
    (void)L;
    if (is_active()) MPI_Finalize();
    return 0;
}

/* a script that ends with os.exit() never closes its Lua state: finalise anyway,
 * or mpirun reports the rank as failed */
static void finalize_at_exit(void)
{
    if (is_active()) MPI_Finalize();
}

static void do_init(lua_State *L)
{
    if (!is_active()) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (fin) luaL_error(L, "mpi: already finalised (MPI cannot start twice in one process)");
        int provided, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) luaL_error(L, "mpi: MPI_Init_thread failed (error %d)", rc);
        /* errors come back as values (Lua errors naming the call), not as an abort */
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        atexit(finalize_at_exit);
        /* finalise when this Lua state closes */
        lua_newuserdatauv(L, 1, 0);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, sentinel_gc);
        lua_setfield(L, -2, "__gc");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, "mto.mpi.sentinel");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
}

static int l_init(lua_State *L)
{
    do_init(L);
    lua_pushinteger(L, g_rank);
    lua_pushinteger(L, g_size);
    return 2;
}

static int l_active(lua_State *L) { lua_pushboolean(L, is_active()); return 1; }
/* asking for the rank under mpirun is asking for MPI: start it then (not after finalize) */
static int want_init(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    return !fin && !is_active() && launched_size() >= 0;
}

static int l_rank(lua_State *L)
{
    if (want_init()) do_init(L);
    lua_pushinteger(L, is_active() ? g_rank : 0);
    return 1;
}

static int l_size(lua_State *L)
{
    if (want_init()) do_init(L);
    lua_pushinteger(L, is_active() ? g_size : 1);
    return 1;
}

static int l_barrier(lua_State *L)
{
    if (!is_active()) return 0;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_msg(L, "MPI_Barrier", rc);
}

static int l_allreduce(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const ops[] = {"sum", "max", "min", NULL};
    int op = luaL_checkoption(L, 2, "sum", ops);
    lua_Integer n = luaL_len(L, 1);
    if (n < 0 || n > INT_MAX / 8) return luaL_error(L, "mpi.allreduce: %d values", (int)n);
    double *x = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *x, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        int isnum;
        x[i] = lua_tonumberx(L, -1, &isnum);
        if (!isnum) return luaL_error(L, "mpi.allreduce: element %d is not a number", (int)i + 1);
        lua_pop(L, 1);
    }
    if (is_active() && n > 0) {
        MPI_Op mop = op == 0 ? MPI_SUM : op == 1 ? MPI_MAX : MPI_MIN;
        int rc = MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, mop, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_msg(L, "MPI_Allreduce", rc);
    }
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_pushnumber(L, x[i]);
        lua_seti(L, -2, i + 1);
    }
    return 1;
}

static int l_bcast(lua_State *L)
{
    size_t len = 0;
    const char *s = luaL_optlstring(L, 1, "", &len);
    if (!is_active()) { lua_pushlstring(L, s, len); return 1; }
    long long n = (long long)len;
    int rc = MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_msg(L, "MPI_Bcast", rc);
    if (n < 0 || n > INT_MAX) return luaL_error(L, "mpi.bcast: %lld bytes is too long", n);
    char *buf = lua_newuserdatauv(L, (size_t)n + 1, 0);
    if (g_rank == 0) memcpy(buf, s, (size_t)n);
    if ((rc = MPI_Bcast(buf, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD)) != MPI_SUCCESS) return mpi_msg(L, "MPI_Bcast", rc);
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static int l_finalize(lua_State *L)
{
    (void)L;
    if (is_active()) MPI_Finalize();
    return 0;
}

static int l_abort(lua_State *L)
{
    int code = (int)luaL_optinteger(L, 1, 1);
    if (is_active()) MPI_Abort(MPI_COMM_WORLD, code);
    return luaL_error(L, "mpi.abort(%d) without MPI running", code);
}

void mto_lua_mpi_abort_on_error(int code)
{
    if (is_active() && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

/* ---- data parallelism --------------------------------------------------------- */

enum { CHUNK = 1 << 28 }; /* MPI counts are ints */

static int dp_fail(mto_error *err, const char *what, int rc)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "error %d", rc);
    return mto_error_set(err, MTO_EIO, "train: data parallel: %s failed: %s", what, s);
}

/* Sum the gradients over the ranks: one MPI_Allreduce per run of views that are
 * contiguous in memory (the whole model's gradient arena is one run). */
static int dp_reduce(void *ud, const mto_param_view *v, size_t nv, double *sc, size_t ns, mto_error *err)
{
    (void)ud;
    for (size_t i = 0; i < nv;) {
        float *p = v[i].grad;
        size_t len = v[i].rows * v[i].cols, j = i + 1;
        while (j < nv && v[j].grad == p + len) len += v[j].rows * v[j].cols, j++;
        for (size_t off = 0; off < len; off += CHUNK) {
            int c = (int)(len - off < CHUNK ? len - off : CHUNK);
            int rc = MPI_Allreduce(MPI_IN_PLACE, p + off, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS) return dp_fail(err, "MPI_Allreduce of the gradients", rc);
        }
        i = j;
    }
    int rc = ns ? MPI_Allreduce(MPI_IN_PLACE, sc, (int)ns, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) : MPI_SUCCESS;
    return rc == MPI_SUCCESS ? 0 : dp_fail(err, "MPI_Allreduce of the loss", rc);
}

/* FNV-1a over the token ids: ranks that read their data differently disagree here. */
static uint64_t examples_hash(const mto_example *ex, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        const int32_t *seq[2] = {ex[i].src, ex[i].tgt};
        int len[2] = {ex[i].src_len, ex[i].tgt_len};
        for (int s = 0; s < 2; s++)
            for (int j = 0; j < len[s]; j++) h = (h ^ (uint32_t)seq[s][j]) * 1099511628211ull;
        h = (h ^ 0xffu) * 1099511628211ull;
    }
    return h;
}

void mto_lua_mpi_data_parallel(lua_State *L, mto_t5 *m, float *also, size_t also_n, const mto_example *ex,
                               size_t n, mto_train_opts *o)
{
    if (launched_size() < 0 && !is_active()) return; /* one process: plain training */
    do_init(L);
    if (g_size < 2) return;
    /* everything that shapes the batch plan and the update must agree */
    uint64_t h = examples_hash(ex, n);
    long long mine[8] = {(long long)n, (long long)(h >> 1), o->batch_size, o->grad_accum, (long long)o->seed,
                         o->max_steps, o->epochs, (long long)m->numel};
    long long hi[8], lo[8];
    int rc = MPI_Allreduce(mine, hi, 8, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS) rc = MPI_Allreduce(mine, lo, 8, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) mpi_msg(L, "MPI_Allreduce (data-parallel check)", rc);
    static const char *const what[8] = {"number of examples", "examples (token ids)", "batch_size", "grad_accum",
                                        "seed", "max_steps", "epochs", "model size"};
    for (int i = 0; i < 8; i++)
        if (hi[i] != lo[i])
            luaL_error(L, "train: data_parallel: the %d ranks disagree on the %s (every rank must train on the "
                          "same examples with the same options)", g_size, what[i]);
    /* every rank starts from rank 0's parameters */
    if (!m->frozen)
        for (size_t off = 0; off < m->numel; off += CHUNK) {
            int c = (int)(m->numel - off < CHUNK ? m->numel - off : CHUNK);
            if ((rc = MPI_Bcast(m->params + off, c, MPI_FLOAT, 0, MPI_COMM_WORLD)) != MPI_SUCCESS)
                mpi_msg(L, "MPI_Bcast of the parameters", rc);
        }
    mto_weights_changed(); /* the broadcast wrote them: a bf16 shadow must be remade */
    for (size_t off = 0; off < also_n; off += CHUNK) {
        int c = (int)(also_n - off < CHUNK ? also_n - off : CHUNK);
        if ((rc = MPI_Bcast(also + off, c, MPI_FLOAT, 0, MPI_COMM_WORLD)) != MPI_SUCCESS)
            mpi_msg(L, "MPI_Bcast of the prompt", rc);
    }
    o->reduce = dp_reduce;
    o->reduce_ud = NULL;
    o->dp_rank = g_rank;
    o->dp_size = g_size;
}

#else /* no MPI: one process; being launched as several ranks is an error, not N copies */

static void refuse_ranks(lua_State *L)
{
    int s = launched_size();
    if (s > 1 || (s == 0 && ((getenv("PMIX_RANK") && atoi(getenv("PMIX_RANK")) > 0) ||
                             (getenv("PMI_RANK") && atoi(getenv("PMI_RANK")) > 0))))
        luaL_error(L, "mpi: launched as one of several MPI ranks, but this mto was built without MPI "
                      "(reconfigure with --with-mpi; Debian: apt-get install libopenmpi-dev openmpi-bin)");
}

static int l_init(lua_State *L)
{
    refuse_ranks(L);
    lua_pushinteger(L, 0);
    lua_pushinteger(L, 1);
    return 2;
}

static int l_active(lua_State *L) { lua_pushboolean(L, 0); return 1; }
static int l_rank(lua_State *L) { lua_pushinteger(L, 0); return 1; }
static int l_size(lua_State *L) { lua_pushinteger(L, 1); return 1; }
static int l_barrier(lua_State *L) { (void)L; return 0; }
static int l_finalize(lua_State *L) { (void)L; return 0; }

static int l_allreduce(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    lua_createtable(L, (int)(n > 0 ? n : 0), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        if (!lua_isnumber(L, -1)) return luaL_error(L, "mpi.allreduce: element %d is not a number", (int)i);
        lua_pushnumber(L, lua_tonumber(L, -1));
        lua_seti(L, -3, i);
        lua_pop(L, 1);
    }
    return 1;
}

static int l_bcast(lua_State *L)
{
    size_t len = 0;
    const char *s = luaL_optlstring(L, 1, "", &len);
    lua_pushlstring(L, s, len);
    return 1;
}

static int l_abort(lua_State *L)
{
    return luaL_error(L, "mpi.abort(%d): this mto was built without MPI", (int)luaL_optinteger(L, 1, 1));
}

void mto_lua_mpi_abort_on_error(int code) { (void)code; }

void mto_lua_mpi_data_parallel(lua_State *L, mto_t5 *m, float *also, size_t also_n, const mto_example *ex,
                               size_t n, mto_train_opts *o)
{
    (void)m; (void)also; (void)also_n; (void)ex; (void)n; (void)o;
    refuse_ranks(L);
}

#endif

static int l_launched(lua_State *L)
{
    int s = launched_size();
    lua_pushboolean(L, s >= 0);
    if (s > 0) lua_pushinteger(L, s);
    else lua_pushnil(L);
    return 2;
}

void mto_lua_open_mpi(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"launched", l_launched}, {"init", l_init}, {"active", l_active}, {"rank", l_rank}, {"size", l_size},
        {"barrier", l_barrier}, {"allreduce", l_allreduce}, {"bcast", l_bcast}, {"finalize", l_finalize},
        {"abort", l_abort}, {NULL, NULL}};
    luaL_newlib(L, fns);
#ifdef MTO_HAVE_MPI
    lua_pushboolean(L, 1);
#else
    lua_pushboolean(L, 0);
#endif
    lua_setfield(L, -2, "built");
    lua_setfield(L, -2, "mpi");
}
