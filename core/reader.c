/* reader.c — reader plugins behind a small C API (see mto/reader.h). */
#include "mto/reader.h"

int mto_reader_read(const char *name, const char *path, const mto_options *opts, mto_record_sink *sink,
                    mto_error *err)
{
    const mto_reader_ops *ops = mto_plugin_ops(MTO_KIND_READER, name, err);
    if (!ops) return err && err->code ? err->code : MTO_ENOTFOUND;
    int rc = ops->read(mto_host_table(), path, opts, sink, err);
    if (rc == 0) return 0;
    int code = rc < 0 ? rc : MTO_EPLUGIN;
    if (err && !err->msg[0]) mto_error_set(err, code, "reader '%s' failed on %s", name, path);
    return code;
}
