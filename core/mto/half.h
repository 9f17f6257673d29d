/* mto/half.h — IEEE binary16 (F16) and bfloat16 (BF16) <-> f32, bit-exact.
 *
 * Widening is exact. Narrowing rounds to nearest, ties to even; overflow
 * gives +-inf, NaN stays a (quiet) NaN with its sign. */
#ifndef MTO_HALF_H
#define MTO_HALF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

float mto_f16_to_f32(uint16_t h);
uint16_t mto_f32_to_f16(float f);
float mto_bf16_to_f32(uint16_t h);
uint16_t mto_f32_to_bf16(float f);

/* Array forms (src and dst must not overlap). */
void mto_f32_to_f16_n(const float *src, uint16_t *dst, size_t n);
void mto_f32_to_bf16_n(const float *src, uint16_t *dst, size_t n);

#ifdef __cplusplus
}
#endif
#endif
