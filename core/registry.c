/* registry.c — finding, loading and registering plugins.
 *
 * The registry is the library's only global mutable state. Loading never
 * stops at a bad file: each refusal becomes a "file: reason" problem line and
 * the remaining plugins load normally. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mto/alloc.h"
#include "mto/host.h"

#ifndef MTO_PKGLIBDIR
#define MTO_PKGLIBDIR "/usr/local/lib/mto"
#endif
#ifndef MTO_BUILDDIR
#define MTO_BUILDDIR ""
#endif

typedef struct loaded_file {
    char *path;
    void *handle;
    int builtin; /* from the build tree's plugins/ or the installed pkglibdir */
} loaded_file;

static struct {
    mto_plugin_info *items;
    size_t len, cap;
    char **problems;
    size_t nproblems;
    loaded_file *files;
    size_t nfiles;
    int loaded_all;
    int oom; /* an allocation failed while loading: mto_plugins_load_all reports it */
    int loading_builtin; /* load_dir of the built-in directory is running */
    char search_path[4096];
} R;

struct mto_registrar {
    const char *file;
    const mto_plugin_desc *pending[64];
    long replaces[64]; /* index of the built-in descriptor it overrides, or -1 */
    size_t npending;
};

static const char *kind_names[] = {NULL, "objective", "reader", "template", "tokenizer", "matcher"};

const char *mto_kind_name(int kind)
{
    if (kind >= 1 && kind <= MTO_KIND_MATCHER) return kind_names[kind];
    return "unknown";
}

int mto_kind_from_name(const char *name)
{
    for (int k = 1; k <= MTO_KIND_MATCHER; k++)
        if (name && strcmp(name, kind_names[k]) == 0) return k;
    return -1;
}

static void add_problem(const char *fmt, const char *file, const char *msg)
{
    char buf[MTO_ERROR_MSG_MAX + PATH_MAX + 16];
    snprintf(buf, sizeof buf, fmt, file, msg);
    char **p = mto_realloc(R.problems, (R.nproblems + 1) * sizeof *p);
    if (!p) { R.oom = 1; return; }
    R.problems = p;
    R.problems[R.nproblems] = mto_strdup(buf);
    if (R.problems[R.nproblems]) R.nproblems++;
    else R.oom = 1;
}

const mto_plugin_desc *mto_plugin_find(int kind, const char *name)
{
    for (size_t i = 0; i < R.len; i++)
        if (R.items[i].desc->kind == kind && strcmp(R.items[i].desc->name, name) == 0)
            return R.items[i].desc;
    return NULL;
}

static const char *find_file_of(int kind, const char *name, long *index)
{
    for (size_t i = 0; i < R.len; i++)
        if (R.items[i].desc->kind == kind && strcmp(R.items[i].desc->name, name) == 0) {
            if (index) *index = (long)i;
            return R.items[i].file;
        }
    return NULL;
}

/* Whether descriptor i came from a built-in plugin file. */
static int item_builtin(long i)
{
    for (size_t j = 0; j < R.nfiles; j++)
        if (R.files[j].path == R.items[i].file) return R.files[j].builtin;
    return 0;
}

/* MTO_PLUGIN_OVERRIDE=name[,name...] (',', ':' or spaces): the built-ins a plugin
 * from MTO_PLUGIN_PATH (or mto.load_plugin) may replace. */
static int override_allowed(const char *name)
{
    const char *env = getenv("MTO_PLUGIN_OVERRIDE");
    size_t n = strlen(name);
    for (const char *p = env; p && *p;) {
        while (*p == ',' || *p == ':' || *p == ' ') p++;
        size_t k = strcspn(p, ",: ");
        if (k == n && strncmp(p, name, n) == 0) return 1;
        p += k;
    }
    return 0;
}

const void *mto_plugin_ops(int kind, const char *name, mto_error *err)
{
    const mto_plugin_desc *d = mto_plugin_require(kind, name, err);
    return d ? d->ops : NULL; /* validated by check_desc at registration */
}

const mto_plugin_desc *mto_plugin_require(int kind, const char *name, mto_error *err)
{
    if (mto_plugins_load_all(err)) return NULL;
    const mto_plugin_desc *d = name ? mto_plugin_find(kind, name) : NULL;
    if (d) return d;
    char avail[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < R.len && used + 2 < sizeof avail; i++) {
        if (R.items[i].desc->kind != kind) continue;
        int n = snprintf(avail + used, sizeof avail - used, "%s%s", used ? ", " : "",
                         R.items[i].desc->name);
        if (n < 0) break;
        used += (size_t)n;
        if (used >= sizeof avail) used = sizeof avail - 1;
    }
    mto_error_set(err, MTO_ENOTFOUND, "no %s plugin named '%s' (available: %s)", mto_kind_name(kind),
                  name ? name : "(null)", used ? avail : "none");
    return NULL;
}

size_t mto_plugin_count(void) { return R.len; }
const mto_plugin_info *mto_plugin_at(size_t i) { return i < R.len ? &R.items[i] : NULL; }
size_t mto_plugin_problem_count(void) { return R.nproblems; }
const char *mto_plugin_problem_at(size_t i) { return i < R.nproblems ? R.problems[i] : NULL; }
const char *mto_plugin_search_path(void) { return R.search_path; }

static int valid_name(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* The first function the host needs that the ops table of a `kind` plugin
 * lacks (too short a table, or NULL), or NULL when it has them all. An older
 * plugin's shorter table passes as long as it holds these: members appended
 * later are read only behind MTO_HAS_MEMBER (see mto/plugin.h). */
#define NEEDS(T, p, m) \
    do { if (!MTO_HAS_MEMBER((const T *)(p), T, m) || !((const T *)(p))->m) return #m; } while (0)
#define HAS_ROOM(T, p, m) do { if (!MTO_HAS_MEMBER((const T *)(p), T, m)) return #m; } while (0)
static const char *missing_op(int kind, const void *ops)
{
    switch (kind) {
    case MTO_KIND_OBJECTIVE: NEEDS(mto_objective_ops, ops, apply); HAS_ROOM(mto_objective_ops, ops, destroy); break;
    case MTO_KIND_READER: NEEDS(mto_reader_ops, ops, read); break;
    case MTO_KIND_TEMPLATE: NEEDS(mto_template_ops, ops, render); HAS_ROOM(mto_template_ops, ops, destroy); break;
    case MTO_KIND_MATCHER: NEEDS(mto_matcher_ops, ops, decide); HAS_ROOM(mto_matcher_ops, ops, destroy); break;
    case MTO_KIND_TOKENIZER:
        NEEDS(mto_tokenizer_ops, ops, load);
        NEEDS(mto_tokenizer_ops, ops, encode);
        NEEDS(mto_tokenizer_ops, ops, decode);
        NEEDS(mto_tokenizer_ops, ops, vocab_size);
        NEEDS(mto_tokenizer_ops, ops, piece_to_id);
        NEEDS(mto_tokenizer_ops, ops, destroy);
        break;
    }
    return NULL;
}
#undef NEEDS
#undef HAS_ROOM

/* Check one descriptor; the message says what is wrong with it. */
static int check_desc(const mto_plugin_desc *d, mto_error *err)
{
    if (!d) return mto_error_set(err, MTO_EINVAL, "registered a NULL descriptor");
    if (d->abi_version > MTO_ABI_VERSION)
        return mto_error_set(err, MTO_EABI,
                             "plugin built for ABI version %u, but this mto provides ABI %d (upgrade mto)",
                             (unsigned)d->abi_version, MTO_ABI_VERSION);
    if (d->abi_version < MTO_ABI_MIN_VERSION)
        return mto_error_set(err, MTO_EABI,
                             "plugin built for ABI version %u, older than the oldest supported (%d)",
                             (unsigned)d->abi_version, MTO_ABI_MIN_VERSION);
    if (!MTO_HAS_MEMBER(d, mto_plugin_desc, ops))
        return mto_error_set(err, MTO_EABI, "descriptor struct_size %u is smaller than ABI 1's %zu",
                             (unsigned)d->struct_size, offsetof(mto_plugin_desc, ops) + sizeof d->ops);
    if (d->kind < 1 || d->kind > MTO_KIND_MATCHER)
        return mto_error_set(err, MTO_EINVAL, "unknown plugin kind %d", d->kind);
    if (!valid_name(d->name))
        return mto_error_set(err, MTO_EINVAL, "invalid %s name '%s' (use letters, digits, _ - .)",
                             mto_kind_name(d->kind), d->name ? d->name : "(null)");
    if (!d->ops || *(const uint32_t *)d->ops < sizeof(uint32_t) * 2)
        return mto_error_set(err, MTO_EINVAL, "%s '%s' has no operations table", mto_kind_name(d->kind),
                             d->name);
    const char *missing = missing_op(d->kind, d->ops);
    if (missing)
        return mto_error_set(err, MTO_EABI, "%s '%s': ops table (struct_size %u) lacks %s()",
                             mto_kind_name(d->kind), d->name, (unsigned)*(const uint32_t *)d->ops, missing);
    return 0;
}

int mto__register_plugin(mto_registrar *reg, const mto_plugin_desc *desc, mto_error *err)
{
    mto_error e;
    mto_error_clear(&e);
    if (!reg) return mto_error_set(err, MTO_EINVAL, "register_plugin called outside mto_plugin_init");
    if (check_desc(desc, &e)) {
        add_problem("%s: refused: %s", reg->file, e.msg);
        return mto_error_set(err, e.code, "%s", e.msg);
    }
    long index = -1, replaces = -1;
    const char *other = find_file_of(desc->kind, desc->name, &index);
    for (size_t i = 0; !other && i < reg->npending; i++)
        if (reg->pending[i]->kind == desc->kind && strcmp(reg->pending[i]->name, desc->name) == 0)
            other = reg->file;
    if (other && index >= 0 && item_builtin(index) && !R.loading_builtin && override_allowed(desc->name)) {
        for (size_t i = 0; i < reg->npending; i++)
            if (reg->replaces[i] == index) return mto_error_set(err, MTO_EINVAL, "'%s' registered twice", desc->name);
        other = NULL;
        replaces = index; /* MTO_PLUGIN_OVERRIDE names it: this one takes the built-in's place */
    }
    if (other) {
        /* only this descriptor is refused: the file's other plugins still register
         * (returning 0 lets an init that stops at the first error carry on) */
        char msg[PATH_MAX + 256];
        if (index >= 0 && item_builtin(index) && !R.loading_builtin)
            snprintf(msg, sizeof msg,
                     "%s '%s' is a built-in (from %s); a plugin replaces it only with MTO_PLUGIN_OVERRIDE=%s",
                     mto_kind_name(desc->kind), desc->name, other, desc->name);
        else
            snprintf(msg, sizeof msg, "duplicate %s name '%s' (already registered from %s)",
                     mto_kind_name(desc->kind), desc->name, other);
        add_problem("%s: refused: %s", reg->file, msg);
        mto_error_set(err, MTO_EINVAL, "%s", msg);
        return 0;
    }
    if (reg->npending == sizeof reg->pending / sizeof reg->pending[0])
        return mto_error_set(err, MTO_EINVAL, "too many descriptors in one plugin file");
    reg->replaces[reg->npending] = replaces;
    reg->pending[reg->npending++] = desc;
    return 0;
}

/* Refuse what sudo and ssh refuse: a file or directory that others can write to
 * (world-writable, or owned by a user other than us or root). Only regular files
 * are plugins: a FIFO or device named *.so is never opened. why: the reason. */
static int unsafe(const char *path, const struct stat *st, int want_dir, char *why, size_t n)
{
    if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
        snprintf(why, n, "%s is not a %s", path, want_dir ? "directory" : "regular file");
        return 1;
    }
    if (st->st_mode & S_IWOTH) {
        snprintf(why, n, "%s is world-writable (anyone could put code there)", path);
        return 1;
    }
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        snprintf(why, n, "%s is owned by another user (uid %ld), not by you or root", path, (long)st->st_uid);
        return 1;
    }
    return 0;
}

static int unsafe_dir(const char *dir, char *why, size_t n)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(why, n, "%s: cannot stat", dir);
        return 1;
    }
    return unsafe(dir, &st, 1, why, n);
}

static int already_loaded(const char *path)
{
    for (size_t i = 0; i < R.nfiles; i++)
        if (strcmp(R.files[i].path, path) == 0) return 1;
    return 0;
}

int mto_plugin_load_file(const char *path, mto_error *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        add_problem("%s: refused: %s", path, "file not found");
        return mto_error_set(err, MTO_EIO, "%s: plugin file not found", path);
    }
    if (already_loaded(real)) return 0;
    {
        char why[PATH_MAX + 128], dir[PATH_MAX];
        struct stat st;
        snprintf(dir, sizeof dir, "%s", real);
        char *slash = strrchr(dir, '/');
        if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
        if (stat(real, &st) != 0) snprintf(why, sizeof why, "%s: cannot stat", real);
        if (stat(real, &st) != 0 || unsafe(real, &st, 0, why, sizeof why) || unsafe_dir(dir, why, sizeof why)) {
            add_problem("%s: refused: %s", real, why);
            return mto_error_set(err, MTO_EPLUGIN, "%s: refused: %s", real, why);
        }
    }

    void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        add_problem("%s: refused: cannot load: %s", real, why ? why : "unknown dlopen error");
        return mto_error_set(err, MTO_EPLUGIN, "%s: cannot load: %s", real, why ? why : "?");
    }
    /* POSIX leaves function <-> object pointer casts to the implementation;
     * dlsym's own documentation uses this idiom. */
    mto_plugin_init_fn init;
    *(void **)&init = dlsym(h, MTO_PLUGIN_ENTRY);
    if (!init) {
        dlclose(h);
        add_problem("%s: refused: %s", real, "missing entry symbol " MTO_PLUGIN_ENTRY " (not an mto plugin?)");
        return mto_error_set(err, MTO_EABI, "%s: missing entry symbol %s (not an mto plugin?)", real,
                             MTO_PLUGIN_ENTRY);
    }

    mto_registrar reg = {.file = real, .npending = 0};
    for (size_t i = 0; i < sizeof reg.replaces / sizeof reg.replaces[0]; i++) reg.replaces[i] = -1;
    mto_error perr;
    mto_error_clear(&perr);
    size_t before = R.nproblems;
    int rc = init(mto_host_table(), &reg, &perr);
    if (rc != 0) {
        dlclose(h);
        if (R.nproblems > before) /* a refused descriptor already said why */
            return mto_error_set(err, rc < 0 ? rc : MTO_EPLUGIN, "%s", R.problems[R.nproblems - 1]);
        add_problem("%s: refused: initialisation failed: %s", real, perr.msg[0] ? perr.msg : "no message");
        return mto_error_set(err, MTO_EPLUGIN, "%s: initialisation failed: %s", real,
                             perr.msg[0] ? perr.msg : "no message");
    }
    if (reg.npending == 0) {
        dlclose(h);
        if (R.nproblems == before)
            add_problem("%s: refused: %s", real, "registered no plugins");
        return mto_error_set(err, MTO_EPLUGIN, "%s", R.problems[R.nproblems - 1]);
    }

    /* Take every allocation before registering anything, so that running out
     * of memory leaves the file unloaded (and a later retry loads it). */
    if (R.len + reg.npending > R.cap) {
        size_t c2 = R.cap ? R.cap * 2 : 32;
        while (c2 < R.len + reg.npending) c2 *= 2;
        mto_plugin_info *it = mto_realloc(R.items, c2 * sizeof *it);
        if (!it) { dlclose(h); R.oom = 1; return mto_error_set(err, MTO_ENOMEM, "%s: out of memory", real); }
        R.items = it;
        R.cap = c2;
    }
    loaded_file *f = mto_realloc(R.files, (R.nfiles + 1) * sizeof *f);
    char *kept = f ? mto_strdup(real) : NULL;
    if (f) R.files = f;
    if (!kept) { dlclose(h); R.oom = 1; return mto_error_set(err, MTO_ENOMEM, "%s: out of memory", real); }
    R.files[R.nfiles].path = kept;
    R.files[R.nfiles].handle = h;
    R.files[R.nfiles].builtin = R.loading_builtin;
    R.nfiles++;
    for (size_t i = 0; i < reg.npending; i++) {
        if (reg.replaces[i] >= 0) { /* MTO_PLUGIN_OVERRIDE: in the built-in's place */
            R.items[reg.replaces[i]].desc = reg.pending[i];
            R.items[reg.replaces[i]].file = kept;
            continue;
        }
        R.items[R.len].desc = reg.pending[i];
        R.items[R.len].file = kept;
        R.len++;
    }
    if (R.nproblems > before)
        return mto_error_set(err, MTO_EPLUGIN, "%s", R.problems[R.nproblems - 1]);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Load every *.so directly inside dir, in name order. With `recurse`, look
 * for libtool's `.libs` directories below dir (the uninstalled build tree). */
static void load_dir(const char *dir, int recurse)
{
    char why[PATH_MAX + 128];
    if (unsafe_dir(dir, why, sizeof why)) {
        add_problem("%s: refused: %s", dir, why);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".libs") != 0) continue;
        char **p = mto_realloc(names, (n + 1) * sizeof *p);
        if (!p) { R.oom = 1; break; }
        names = p;
        names[n] = mto_strdup(e->d_name);
        if (names[n]) n++;
        else { R.oom = 1; break; }
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char full[PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode) && recurse && unsafe_dir(full, why, sizeof why)) {
            add_problem("%s: refused: %s", full, why);
        } else if (S_ISDIR(st.st_mode)) {
            /* examples are built for the out-of-tree test, not loaded by default */
            if (recurse && strcmp(names[i], "examples") != 0) load_dir(full, 1);
        } else if (ends_with(names[i], ".so") && (!recurse || ends_with(dir, "/.libs"))) {
            mto_error e;
            mto_error_clear(&e);
            /* a plugin whose init ran out of memory says so in its message */
            if (mto_plugin_load_file(full, &e) == MTO_ENOMEM || strstr(e.msg, "out of memory")) R.oom = 1;
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Running from the build tree? True when libmto itself lives under it. */
static int running_uninstalled(void)
{
    if (!MTO_BUILDDIR[0]) return 0;
    Dl_info info;
    char self[PATH_MAX], build[PATH_MAX];
    if (!dladdr((void *)&running_uninstalled, &info) || !info.dli_fname) return 0;
    if (!realpath(info.dli_fname, self) || !realpath(MTO_BUILDDIR, build)) return 0;
    size_t n = strlen(build);
    return strncmp(self, build, n) == 0 && self[n] == '/';
}

static void append_search(const char *dir)
{
    size_t used = strlen(R.search_path);
    /* for diagnostics only: a truncated list is acceptable */
    if (snprintf(R.search_path + used, sizeof R.search_path - used, "%s%s", used ? ":" : "", dir) < 0)
        R.search_path[used] = '\0';
}

int mto_plugins_load_all(mto_error *err)
{
    if (R.loaded_all) return 0;
    R.loaded_all = 1;
    R.oom = 0;
    size_t problems_before = R.nproblems;
    R.search_path[0] = '\0';
    /* built-ins first: a plugin from MTO_PLUGIN_PATH cannot take their names by
     * accident (MTO_PLUGIN_OVERRIDE=name lets one replace a built-in) */
    R.loading_builtin = 1;
    if (running_uninstalled()) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/plugins", MTO_BUILDDIR);
        append_search(dir);
        load_dir(dir, 1);
    } else {
        append_search(MTO_PKGLIBDIR);
        struct stat st;
        if (stat(MTO_PKGLIBDIR, &st) == 0) load_dir(MTO_PKGLIBDIR, 0);
    }
    R.loading_builtin = 0;
    const char *env = getenv("MTO_PLUGIN_PATH");
    if (env && *env) {
        char *copy = mto_strdup(env);
        if (!copy) R.oom = 1;
        for (char *save = NULL, *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok;
             tok = strtok_r(NULL, ":", &save)) {
            struct stat st;
            append_search(tok);
            if (stat(tok, &st) != 0) continue;
            if (S_ISDIR(st.st_mode)) load_dir(tok, 0);
            else mto_plugin_load_file(tok, NULL);
        }
        free(copy);
    }
    if (R.oom) {
        /* Not a plugin's fault: forget the problems this pass recorded and let
         * the next call retry the files that did not load. */
        while (R.nproblems > problems_before) free(R.problems[--R.nproblems]);
        R.loaded_all = 0;
        return mto_error_set(err, MTO_ENOMEM, "loading plugins from %s: out of memory", R.search_path);
    }
    return 0;
}

void mto_plugins_reset(void)
{
    /* handles stay open: descriptors may still be referenced by callers */
    free(R.items);
    for (size_t i = 0; i < R.nproblems; i++) free(R.problems[i]);
    free(R.problems);
    for (size_t i = 0; i < R.nfiles; i++) free(R.files[i].path);
    free(R.files);
    memset(&R, 0, sizeof R);
}
