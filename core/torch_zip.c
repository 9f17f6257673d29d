/* torch_zip.c — the zip side of torch.save checkpoints, through libzip.
 *
 * Finds PREFIX/data.pkl (one per archive), refuses big-endian archives
 * (PREFIX/byteorder), parses the pickle (torch_pickle.c), then checks that
 * every storage the tensors use exists as PREFIX/data/KEY and is at least as
 * long as the storage declares. Reads go through libzip, which checks each
 * entry's length and CRC; a short read is an error naming the tensor. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/alloc.h"
#include "mto/half.h"
#include "torch_internal.h"

#define MAX_PICKLE (64u << 20) /* data.pkl of an 11B model is ~100 kB */

size_t mto_pt_count(const mto_pt_file *f) { return f ? f->n : 0; }
const mto_pt_tensor *mto_pt_at(const mto_pt_file *f, size_t i) { return f && i < f->n ? &f->t[i] : NULL; }
const char *mto_pt_name(const mto_pt_file *f) { return f ? f->name : "(null)"; }

const mto_pt_tensor *mto_pt_find(const mto_pt_file *f, const char *name)
{
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->by_name[mid]].name, name);
        if (c == 0) return &f->t[f->by_name[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int64_t mto_pt_numel(const mto_pt_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d]; /* bounded by check_tensor */
    return n;
}

void mto_pt_close(mto_pt_file *f)
{
    if (!f) return;
    if (f->za) zip_discard(f->za);
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->t[i].name);
        free((char *)f->t[i].storage);
    }
    free(f->t);
    free(f->by_name);
    free(f->entry);
    free(f->name);
    free(f);
}

static mto_pt_file *new_file(const char *name, mto_error *err)
{
    mto_pt_file *f = mto_calloc(1, sizeof *f);
    if (f && !(f->name = mto_strdup(name ? name : "(buffer)"))) {
        free(f);
        f = NULL;
    }
    if (!f) mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", name ? name : "(buffer)");
    return f;
}

int mto_pt_parse_pickle(const unsigned char *buf, size_t len, const char *name, mto_pt_file **out, mto_error *err)
{
    *out = NULL;
    mto_pt_file *f = new_file(name, err);
    if (!f) return MTO_ENOMEM;
    int rc = mto_pt__parse(f, buf, len, err);
    if (rc) mto_pt_close(f);
    else *out = f;
    return rc;
}

/* Read a whole (small) entry into a NUL-terminated buffer. */
static int read_entry(mto_pt_file *f, zip_int64_t idx, const char *ename, size_t max, unsigned char **out, size_t *len,
                      mto_error *err)
{
    zip_stat_t st;
    *out = NULL;
    if (zip_stat_index(f->za, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return mto_error_set(err, MTO_EFORMAT, "%.200s: %.200s: %s", f->name, ename, zip_strerror(f->za));
    if (st.size > max)
        return mto_error_set(err, MTO_EFORMAT, "%.200s: %.200s is %llu bytes (limit %zu)", f->name, ename,
                             (unsigned long long)st.size, max);
    unsigned char *buf = mto_malloc((size_t)st.size + 1);
    if (!buf) return mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory for %.200s", f->name, ename);
    zip_file_t *zf = zip_fopen_index(f->za, (zip_uint64_t)idx, 0);
    zip_int64_t got = zf ? zip_fread(zf, buf, st.size) : -1;
    if (!zf || got != (zip_int64_t)st.size) {
        int rc = mto_error_set(err, MTO_EFORMAT, "%.200s: %.200s is truncated or damaged (%s)", f->name, ename,
                               zf ? zip_file_strerror(zf) : zip_strerror(f->za));
        if (zf) zip_fclose(zf);
        free(buf);
        return rc;
    }
    zip_fclose(zf);
    buf[st.size] = 0;
    *out = buf;
    *len = (size_t)st.size;
    return 0;
}

static int open_archive(mto_pt_file *f, mto_error *err)
{
    zip_int64_t n = zip_get_num_entries(f->za, 0), pkl = -1;
    size_t plen = 0;
    const char *pname = NULL;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *e = zip_get_name(f->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!e) continue;
        const char *slash = strchr(e, '/');
        if (slash && !strcmp(slash + 1, "data.pkl")) {
            if (pkl >= 0)
                return mto_error_set(err, MTO_EFORMAT, "%.200s: more than one data.pkl in the archive", f->name);
            pkl = i;
            pname = e;
            plen = (size_t)(slash - e);
        }
    }
    if (pkl < 0)
        return mto_error_set(err, MTO_EFORMAT,
                             "%.200s: a zip archive without PREFIX/data.pkl: not written by torch.save", f->name);
    char *prefix = mto_strndup(pname, plen);
    char *ename = prefix ? mto_malloc(plen + 300) : NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = 0;
    if (!ename) { rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name); goto out; }
    snprintf(ename, plen + 300, "%s/byteorder", prefix);
    zip_int64_t bo = zip_name_locate(f->za, ename, ZIP_FL_ENC_RAW);
    if (bo >= 0) {
        if ((rc = read_entry(f, bo, ename, 16, &buf, &len, err))) goto out;
        if (strcmp((char *)buf, "little") != 0) {
            rc = mto_error_set(err, MTO_EFORMAT, "%.200s: byteorder '%.16s' (only little-endian archives are read)",
                               f->name, (char *)buf);
            goto out;
        }
        free(buf);
        buf = NULL;
    }
    snprintf(ename, plen + 300, "%s/data.pkl", prefix);
    if ((rc = read_entry(f, pkl, ename, MAX_PICKLE, &buf, &len, err))) goto out;
    if ((rc = mto_pt__parse(f, buf, len, err))) goto out;
    if (!(f->entry = mto_calloc(f->n ? f->n : 1, sizeof *f->entry))) {
        rc = mto_error_set(err, MTO_ENOMEM, "%.200s: out of memory", f->name);
        goto out;
    }
    for (size_t i = 0; i < f->n; i++) {
        const mto_pt_tensor *t = &f->t[i];
        if (strlen(t->storage) > 200) {
            rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "' has a storage key of %zu bytes",
                               f->name, t->name, strlen(t->storage));
            goto out;
        }
        snprintf(ename, plen + 300, "%s/data/%s", prefix, t->storage);
        zip_int64_t e = zip_name_locate(f->za, ename, ZIP_FL_ENC_RAW);
        zip_stat_t st;
        if (e < 0) {
            rc = mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "': storage entry %.200s is missing",
                               f->name, t->name, ename);
            goto out;
        }
        if (zip_stat_index(f->za, (zip_uint64_t)e, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
            rc = mto_error_set(err, MTO_EFORMAT, "%.200s: %.200s: %s", f->name, ename, zip_strerror(f->za));
            goto out;
        }
        uint64_t need = t->storage_numel * mto_st_dtype_size(t->dtype); /* < 2^62 by check_tensor */
        if (st.size < need) {
            rc = mto_error_set(err, MTO_EFORMAT,
                               "%.200s: tensor '" PT_NAME_FMT "': storage %.200s has %llu bytes, the pickle declares "
                               "%llu elements of %s (%llu bytes)",
                               f->name, t->name, ename, (unsigned long long)st.size,
                               (unsigned long long)t->storage_numel, mto_st_dtype_name(t->dtype),
                               (unsigned long long)need);
            goto out;
        }
        f->entry[i] = e;
    }
out:
    free(buf);
    free(ename);
    free(prefix);
    return rc;
}

static int zip_open_error(const char *name, zip_error_t *ze, mto_error *err)
{
    int sys = zip_error_code_system(ze);
    int code = zip_error_code_zip(ze);
    int rc = mto_error_set(err, code == ZIP_ER_OPEN && sys == ENOENT ? MTO_EIO : code == ZIP_ER_MEMORY ? MTO_ENOMEM
                                : code == ZIP_ER_OPEN || code == ZIP_ER_READ ? MTO_EIO : MTO_EFORMAT,
                           "%.200s: not a readable torch.save zip archive (%s)", name, zip_error_strerror(ze));
    zip_error_fini(ze);
    return rc;
}

int mto_pt_open(const char *path, mto_pt_file **out, mto_error *err)
{
    *out = NULL;
    FILE *probe = fopen(path, "rb");
    if (!probe) return mto_error_set(err, MTO_EIO, "%.200s: %s", path, strerror(errno));
    unsigned char magic[2] = {0};
    size_t got = fread(magic, 1, 2, probe);
    fclose(probe);
    if (got == 2 && magic[0] == 0x80)
        return mto_error_set(err, MTO_EFORMAT,
                             "%.200s: legacy torch.save format (before PyTorch 1.6) is not read; re-save it with "
                             "torch.save in PyTorch >= 1.6 or convert it to safetensors",
                             path);
    mto_pt_file *f = new_file(path, err);
    if (!f) return MTO_ENOMEM;
    int zerr = 0;
    f->za = zip_open(path, ZIP_RDONLY, &zerr);
    if (!f->za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        mto_pt_close(f);
        return zip_open_error(path, &ze, err);
    }
    int rc = open_archive(f, err);
    if (rc) mto_pt_close(f);
    else *out = f;
    return rc;
}

int mto_pt_open_buffer(const void *buf, size_t len, const char *name, mto_pt_file **out, mto_error *err)
{
    *out = NULL;
    mto_pt_file *f = new_file(name, err);
    if (!f) return MTO_ENOMEM;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    if (src && !(f->za = zip_open_from_source(src, ZIP_RDONLY, &ze))) zip_source_free(src);
    if (!f->za) {
        mto_pt_close(f);
        return zip_open_error(name ? name : "(buffer)", &ze, err);
    }
    zip_error_fini(&ze);
    int rc = open_archive(f, err);
    if (rc) mto_pt_close(f);
    else *out = f;
    return rc;
}

int mto_pt_read(mto_pt_file *f, const mto_pt_tensor *t, void *dst, size_t nbytes, mto_error *err)
{
    if (!f || !t || t < f->t || t >= f->t + f->n)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor is not in this file", mto_pt_name(f));
    if (!f->za)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" PT_NAME_FMT "': no archive to read data from", f->name,
                             t->name);
    size_t es = mto_st_dtype_size(t->dtype);
    uint64_t numel = (uint64_t)mto_pt_numel(t);
    if (numel * es != nbytes)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" PT_NAME_FMT "' has %llu bytes, caller expected %zu",
                             f->name, t->name, (unsigned long long)(numel * es), nbytes);
    if (nbytes == 0) return 0;
    zip_int64_t e = f->entry[t - f->t];
    zip_file_t *zf = zip_fopen_index(f->za, (zip_uint64_t)e, 0);
    if (!zf)
        return mto_error_set(err, MTO_EFORMAT, "%.200s: tensor '" PT_NAME_FMT "': cannot open storage '%.100s': %s",
                             f->name, t->name, t->storage, zip_strerror(f->za));
    uint64_t skip = t->storage_offset * es;
    int rc = 0;
    if (skip && zip_fseek(zf, (zip_int64_t)skip, SEEK_SET) != 0) { /* compressed entry: read and drop */
        unsigned char tmp[4096];
        while (skip && !rc) {
            zip_int64_t want = skip < sizeof tmp ? (zip_int64_t)skip : (zip_int64_t)sizeof tmp;
            if (zip_fread(zf, tmp, (zip_uint64_t)want) != want) rc = 1;
            skip -= (uint64_t)want;
        }
    }
    unsigned char *p = dst;
    size_t left = nbytes;
    while (!rc && left) {
        zip_int64_t got = zip_fread(zf, p, left);
        if (got <= 0) rc = 1;
        else { p += got; left -= (size_t)got; }
    }
    /* a tensor that ends where its entry ends (the usual case): read on to the
     * end so that libzip checks the entry's CRC */
    zip_stat_t st;
    if (!rc && zip_stat_index(f->za, (zip_uint64_t)e, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
        st.size == t->storage_offset * es + nbytes) {
        unsigned char extra;
        if (zip_fread(zf, &extra, 1) != 0) rc = 1;
    }
    if (rc)
        rc = mto_error_set(err, MTO_EFORMAT,
                           "%.200s: tensor '" PT_NAME_FMT "': storage '%.100s' is truncated or damaged (%s)", f->name,
                           t->name, t->storage, zip_file_strerror(zf));
    zip_fclose(zf);
    return rc;
}

int mto_pt_read_f32(mto_pt_file *f, const mto_pt_tensor *t, float *dst, size_t n, mto_error *err)
{
    if (!f || !t || t < f->t || t >= f->t + f->n)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor is not in this file", mto_pt_name(f));
    if ((uint64_t)mto_pt_numel(t) != n)
        return mto_error_set(err, MTO_EINVAL, "%.200s: tensor '" PT_NAME_FMT "' has %lld elements, caller expected %zu",
                             f->name, t->name, (long long)mto_pt_numel(t), n);
    if (t->dtype == MTO_ST_F32) {
        int rc = mto_pt_read(f, t, dst, n * 4, err);
        for (size_t i = 0; !rc && i < n; i++) { /* little-endian bytes to host floats */
            const unsigned char *b = (const unsigned char *)&dst[i];
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&dst[i], &u, 4);
        }
        return rc;
    }
    /* 16-bit: read into the back half of dst, widen front to back */
    uint16_t *h = (uint16_t *)(void *)(dst + n / 2);
    int rc = mto_pt_read(f, t, h, n * 2, err);
    for (size_t i = 0; !rc && i < n; i++) {
        const unsigned char *b = (const unsigned char *)&h[i];
        uint16_t u = (uint16_t)(b[0] | b[1] << 8);
        dst[i] = t->dtype == MTO_ST_F16 ? mto_f16_to_f32(u) : mto_bf16_to_f32(u);
    }
    return rc;
}
