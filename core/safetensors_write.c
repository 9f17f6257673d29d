/* safetensors_write.c — write a safetensors file so that a crash at any point
 * leaves either the old file or the complete new one: write a temp file in
 * the same directory, fsync it, rename it over the target, fsync the dir. */
#define _POSIX_C_SOURCE 200809L
#include "mto/alloc.h"
#include "mto/safetensors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_FMT "%.200s"

/* Data order: larger elements first, then the caller's order, so every tensor
 * starts at a multiple of its element size (header length is a multiple of 8). */
typedef struct { size_t es, i; } order_ix;

/* Strict UTF-8 (what jansson accepts): tells a bad name from jansson running out of memory. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (n == 1 && *p < 0xc2) || (n == 3 && *p > 0xf4)) return 0;
        unsigned long c = *p++ & (0x7f >> n);
        for (int k = 0; k < n; k++, p++) {
            if ((*p & 0xc0) != 0x80) return 0;
            c = (c << 6) | (*p & 0x3f);
        }
        if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 3 && (c < 0x10000 || c > 0x10ffff)))
            return 0;
    }
    return 1;
}
static int order_cmp(const void *a, const void *b)
{
    const order_ix *x = a, *y = b;
    if (x->es != y->es) return x->es > y->es ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Validate the caller's tensors; fills nbytes[i]. */
static int check_inputs(const char *path, const mto_st_out *t, size_t n, uint64_t *nbytes,
                        mto_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *nm = t[i].name;
        if (!nm) return mto_error_set(err, MTO_EINVAL, "%.200s: tensor %zu has no name", path, i);
        if (strcmp(nm, "__metadata__") == 0)
            return mto_error_set(err, MTO_EINVAL, "%.200s: tensor name '__metadata__' is reserved", path);
        if (mto_st_dtype_size(t[i].dtype) == 0)
            return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" NAME_FMT "': unknown dtype %d",
                                 path, nm, t[i].dtype);
        if (t[i].ndim < 0 || t[i].ndim > MTO_ST_MAX_DIMS || (t[i].ndim > 0 && !t[i].shape))
            return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" NAME_FMT "': bad ndim %d",
                                 path, nm, t[i].ndim);
        mto_st_tensor tmp = {.name = nm, .dtype = t[i].dtype, .ndim = t[i].ndim};
        for (int d = 0; d < t[i].ndim; d++) tmp.shape[d] = t[i].shape[d];
        int64_t numel = mto_st_numel(&tmp);
        if (numel < 0)
            return mto_error_set(err, MTO_EINVAL,
                                 "%.200s: tensor '" NAME_FMT "': negative or overflowing shape",
                                 path, nm);
        nbytes[i] = (uint64_t)numel * mto_st_dtype_size(t[i].dtype);
        if (nbytes[i] && !t[i].data)
            return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" NAME_FMT "': no data", path, nm);
    }
    if (n < 2) return 0;
    const char **names = mto_malloc(n * sizeof *names);
    if (!names) return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", path);
    for (size_t i = 0; i < n; i++) names[i] = t[i].name;
    qsort(names, n, sizeof *names, name_cmp);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" NAME_FMT "' given twice", path,
                               names[i]);
    free(names);
    return rc;
}

/* Build the header JSON: __metadata__ first, then tensors in data order. */
static int build_header(const char *path, const mto_st_out *t, const order_ix *ord, size_t n,
                        const uint64_t *nbytes, const char *const *kv, json_t **out,
                        mto_error *err)
{
    int rc;
    json_t *root = json_object();
    if (!root) return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", path);
    if (kv && kv[0]) {
        json_t *m = json_object();
        if (!m || json_object_set_new(root, "__metadata__", m) < 0) goto oom;
        for (size_t i = 0; kv[i]; i += 2) {
            if (!kv[i + 1]) {
                rc = mto_error_set(err, MTO_EINVAL, "%.200s: metadata key '" NAME_FMT "' has no value",
                              path, kv[i]);
                goto fail;
            }
            if (json_object_get(m, kv[i])) {
                rc = mto_error_set(err, MTO_EINVAL, "%.200s: metadata key '" NAME_FMT "' given twice",
                              path, kv[i]);
                goto fail;
            }
            json_t *v = json_string(kv[i + 1]);
            if (!v || json_object_set_new(m, kv[i], v) < 0) {
                if (utf8_ok(kv[i]) && utf8_ok(kv[i + 1])) goto oom; /* jansson ran out of memory */
                rc = mto_error_set(err, MTO_EINVAL,
                              "%.200s: metadata key '" NAME_FMT "' or its value is not UTF-8", path,
                              kv[i]);
                goto fail;
            }
        }
    }
    uint64_t off = 0;
    for (size_t k = 0; k < n; k++) {
        const mto_st_out *o = &t[ord[k].i];
        uint64_t nb = nbytes[ord[k].i];
        if (off + nb < off || off + nb > (uint64_t)INT64_MAX) {
            rc = mto_error_set(err, MTO_EINVAL, "%.200s: total data size overflows", path);
            goto fail;
        }
        json_t *e = json_object(), *sh = json_array(), *of = json_array();
        if (!e || !sh || !of) { json_decref(e); json_decref(sh); json_decref(of); goto oom; }
        int bad = json_object_set_new(e, "dtype", json_string(mto_st_dtype_name(o->dtype))) < 0;
        bad |= json_object_set_new(e, "shape", sh) < 0;
        bad |= json_object_set_new(e, "data_offsets", of) < 0;
        for (int d = 0; d < o->ndim; d++) bad |= json_array_append_new(sh, json_integer(o->shape[d])) < 0;
        bad |= json_array_append_new(of, json_integer((json_int_t)off)) < 0;
        bad |= json_array_append_new(of, json_integer((json_int_t)(off + nb))) < 0;
        if (bad) { json_decref(e); goto oom; }
        if (json_object_set_new(root, o->name, e) < 0) {
            if (utf8_ok(o->name)) goto oom;
            rc = mto_error_set(err, MTO_EINVAL, "%.200s: tensor name '" NAME_FMT "' is not UTF-8", path,
                          o->name);
            goto fail;
        }
        off += nb;
    }
    *out = root;
    return 0;
oom:
    rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory building the header", path);
fail:
    json_decref(root);
    return rc;
}

static int write_all(int fd, const void *buf, uint64_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (uint64_t)w;
    }
    return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? mto_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : mto_strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some filesystems refuse fsync on dirs */
        close(fd);
    }
    free(dir);
}

/* A save killed by a signal leaves its full-size PATH.tmp-XXXXXX behind: the next
 * save of PATH removes every one that nobody holds. A writer keeps an fcntl lock
 * on its temp file until it is renamed, so a save running in another process
 * keeps its own. Best effort: failures are ignored. */
static void remove_stale_temps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = slash ? mto_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : mto_strdup(".");
    if (!dir) return;
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strlen(e->d_name) != bl + 11 || strncmp(e->d_name, base, bl) != 0 ||
            strncmp(e->d_name + bl, ".tmp-", 5) != 0)
            continue;
        size_t fl = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *full = mto_malloc(fl);
        if (!full) break;
        snprintf(full, fl, "%s/%s", dir, e->d_name);
        int fd = open(full, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
            if (fcntl(fd, F_SETLK, &lk) == 0) (void)unlink(full); /* its writer is gone */
            close(fd);
        }
        free(full);
    }
    if (d) closedir(d);
    free(dir);
}

int mto_st_write(const char *path, const mto_st_out *tensors, size_t n,
                 const char *const *meta_kv, mto_error *err)
{
    if (!path || (n && !tensors))
        return mto_error_set(err, MTO_EINVAL, "mto_st_write: NULL path or tensors");
    int rc = 0, fd = -1;
    char *hdr = NULL, *tmp = NULL;
    json_t *root = NULL;
    uint64_t *nbytes = mto_calloc(n ? n : 1, sizeof *nbytes);
    order_ix *ord = mto_calloc(n ? n : 1, sizeof *ord);
    if (!nbytes || !ord) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", path); goto out; }
    if ((rc = check_inputs(path, tensors, n, nbytes, err)) < 0) goto out;
    for (size_t i = 0; i < n; i++) ord[i] = (order_ix){mto_st_dtype_size(tensors[i].dtype), i};
    qsort(ord, n, sizeof *ord, order_cmp);
    if ((rc = build_header(path, tensors, ord, n, nbytes, meta_kv, &root, err)) < 0) goto out;
    char *js = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!js) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", path); goto out; }
    size_t jl = strlen(js), hl = (jl + 7) / 8 * 8; /* pad with spaces (the spec's choice) */
    hdr = mto_malloc(8 + hl);
    if (!hdr) { free(js); rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", path); goto out; }
    for (int i = 0; i < 8; i++) hdr[i] = (char)(((uint64_t)hl >> (8 * i)) & 0xff);
    memcpy(hdr + 8, js, jl);
    memset(hdr + 8 + jl, ' ', hl - jl);
    free(js);

    remove_stale_temps(path);
    size_t pl = strlen(path);
    tmp = mto_malloc(pl + sizeof ".tmp-XXXXXX");
    if (!tmp) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", path); goto out; }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = mto_error_set(err, MTO_EIO, "%.200s: cannot create temp file: %s", path, strerror(errno));
        free(tmp);
        tmp = NULL; /* nothing to unlink */
        goto out;
    }
    (void)fchmod(fd, 0644);
    {
        struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET}; /* ours: see remove_stale_temps */
        (void)fcntl(fd, F_SETLK, &lk);
    }
    if (write_all(fd, hdr, 8 + hl) < 0) goto io_fail;
    for (size_t k = 0; k < n; k++)
        if (write_all(fd, tensors[ord[k].i].data, nbytes[ord[k].i]) < 0) goto io_fail;
    if (fsync(fd) < 0) goto io_fail;
    if (rename(tmp, path) < 0) goto io_fail; /* still locked: nobody takes it for stale */
    free(tmp);
    tmp = NULL;
    if (close(fd) < 0) { fd = -1; goto io_fail; }
    fd = -1;
    sync_dir(path);
    goto out;
io_fail:
    rc = mto_error_set(err, MTO_EIO, "%.200s: write failed: %s", path, strerror(errno));
out:
    if (fd >= 0) close(fd);
    if (tmp) { unlink(tmp); free(tmp); }
    json_decref(root);
    free(hdr);
    free(nbytes);
    free(ord);
    return rc;
}
