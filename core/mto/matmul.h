/* mto/matmul.h — the engine's matrix-product backends and precisions.
 *
 * Every matrix product of forward, backward, decoding and prompt tuning goes
 * through one function (core/matmul.c). Two backends: OpenBLAS (the default,
 * always built; fp32 results are bit-identical to calling cblas_sgemm) and
 * oneDNN (optional: configure --with-dnnl). The backend is process-wide:
 * MTO_MATMUL=openblas|dnnl in the environment, or mto_matmul_set_backend().
 *
 * Precision is per model: MTO_PREC_BF16 runs the products in bfloat16 with
 * fp32 accumulation through oneDNN (whatever the fp32 backend); master
 * weights, optimizer, norms, softmax and the loss stay fp32. It is used only
 * where the CPU has native bf16 (avx512_bf16 or AMX, as oneDNN reports); else
 * mto_t5_set_precision falls back to fp32 and says why on stderr, once.
 * MTO_BF16=emulate in the environment allows it on any CPU oneDNN supports
 * (slow; for tests). */
#ifndef MTO_MATMUL_H
#define MTO_MATMUL_H

#include <stddef.h>

#include "mto/error.h"
#include "mto/t5.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MTO_MATMUL_OPENBLAS = 0, MTO_MATMUL_DNNL = 1 };
enum { MTO_PREC_FP32 = 0, MTO_PREC_BF16 = 1 };

/* The backend in use (MTO_MATMUL read at first use; unknown or unavailable
 * values fall back to openblas with a line on stderr). */
int mto_matmul_backend(void);
/* Choose the backend; MTO_EINVAL when it is not built in. */
int mto_matmul_set_backend(int backend, mto_error *err);
const char *mto_matmul_backend_name(int backend);
/* "openblas" / "dnnl" -> backend, -1 if unknown. */
int mto_matmul_parse(const char *name);
/* 1 when built with oneDNN. */
int mto_matmul_have_dnnl(void);
/* 1 when oneDNN reports native bf16 on this CPU (avx512_core_bf16 or AMX). */
int mto_matmul_bf16_native(void);
/* One line for `mto --version`: backend, OpenBLAS core, oneDNN version and ISA. */
void mto_matmul_describe(char *buf, size_t n);

/* "fp32" / "bf16" -> MTO_PREC_*, -1 if unknown. */
int mto_precision_parse(const char *name);
const char *mto_precision_name(int prec);
/* Set a model's matrix-product precision; returns the one in effect (bf16
 * unavailable -> fp32, with one line on stderr per process) or -1 with err
 * set (unknown value, out of memory). */
int mto_t5_set_precision(mto_t5 *m, int prec, mto_error *err);
int mto_t5_precision(const mto_t5 *m);
/* Say that model weights were written (optimizer steps and checkpoint loads
 * do): a bf16 model remakes its bf16 weights at its next forward or decode,
 * and only then. Whoever writes m->params directly calls it too. */
void mto_weights_changed(void);
/* The count of mto_weights_changed() calls so far. */
unsigned long mto_weights_version(void);

#ifdef __cplusplus
}
#endif
#endif
