/* error.c — the one error helper everything else uses. */
#include "mto/error.h"

#include <stdarg.h>
#include <stdio.h>

int mto_error_set(mto_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void mto_error_clear(mto_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *mto_strerror(int code)
{
    switch (code) {
    case MTO_OK: return "ok";
    case MTO_EIO: return "i/o error";
    case MTO_EFORMAT: return "format error";
    case MTO_ENOMEM: return "out of memory";
    case MTO_EINVAL: return "invalid argument";
    case MTO_ENOTFOUND: return "not found";
    case MTO_EABI: return "plugin ABI mismatch";
    case MTO_ENUMERIC: return "numeric error";
    case MTO_EPLUGIN: return "plugin error";
    default: return "unknown error";
    }
}
