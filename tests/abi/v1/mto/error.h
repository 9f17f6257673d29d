/* mto/error.h — errors as values: a code plus a message naming the culprit.
 *
 * Every fallible libmto function takes an `mto_error *err` (may be NULL) and
 * returns 0 on success or a negative MTO_E* code; the message says which file,
 * line, tensor or plugin was at fault. The library never calls exit(). */
#ifndef MTO_ERROR_H
#define MTO_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MTO_OK = 0,
    MTO_EIO = -1,      /* file cannot be opened/read/written */
    MTO_EFORMAT = -2,  /* malformed input (file:line or tensor named) */
    MTO_ENOMEM = -3,   /* allocation failed */
    MTO_EINVAL = -4,   /* bad argument or configuration */
    MTO_ENOTFOUND = -5,/* named thing (tensor, plugin, field) missing */
    MTO_EABI = -6,     /* plugin ABI mismatch */
    MTO_ENUMERIC = -7, /* NaN/Inf where a number was needed */
    MTO_EPLUGIN = -8   /* a plugin reported failure */
};

#define MTO_ERROR_MSG_MAX 512

typedef struct mto_error {
    int code;                      /* last MTO_E* code, 0 if none */
    char msg[MTO_ERROR_MSG_MAX];   /* human-readable, NUL-terminated */
} mto_error;

/* Record an error in err (if non-NULL) and return code. printf-style message. */
int mto_error_set(mto_error *err, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Reset err to "no error". */
void mto_error_clear(mto_error *err);

/* Short name of an error code ("format error", ...). */
const char *mto_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
