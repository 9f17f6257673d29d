/* mto/reader.h — run a reader plugin from C: a file in, records out. */
#ifndef MTO_READER_H
#define MTO_READER_H

#include "mto/error.h"
#include "mto/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read `path` with reader plugin `name` and opts (may be NULL) into sink
 * (mto_sink_init'ed by the caller, who frees it also on error). */
int mto_reader_read(const char *name, const char *path, const mto_options *opts, mto_record_sink *sink,
                    mto_error *err);

#ifdef __cplusplus
}
#endif
#endif
