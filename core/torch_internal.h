/* torch_internal.h — the tensor table shared by the pickle interpreter
 * (torch_pickle.c) and the zip reader (torch_zip.c). */
#ifndef MTO_TORCH_INTERNAL_H
#define MTO_TORCH_INTERNAL_H

#include <zip.h>

#include "mto/torch.h"

struct mto_pt_file {
    char *name;            /* for messages */
    mto_pt_tensor *t;      /* state-dict order; names and storage keys owned */
    size_t n;
    size_t *by_name;       /* indices into t, sorted by name */
    /* zip archive (NULL for mto_pt_parse_pickle) */
    zip_t *za;
    zip_int64_t *entry;    /* per tensor: index of PREFIX/data/KEY */
};

/* Keep messages readable when a hostile file uses megabyte-long names. */
#define PT_NAME_FMT "%.200s"

/* Parse data.pkl into f->t / f->n / f->by_name (f->name set by the caller). */
int mto_pt__parse(mto_pt_file *f, const unsigned char *buf, size_t len, mto_error *err);

#endif
