/* half.c — F16/BF16 <-> f32 by bit manipulation (no _Float16 needed, so any
 * C11 compiler gives the same bits). */
#include "mto/half.h"

#include <string.h>

static uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float float_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float mto_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return float_of(sign | 0x7f800000u | (man << 13)); /* inf, NaN */
    if (exp == 0) {
        if (man == 0) return float_of(sign);
        /* Subnormal: shift the leading 1 up to the implicit position. */
        int e = 1;
        while (!(man & 0x400u)) { man <<= 1; --e; }
        return float_of(sign | ((uint32_t)(e + 112) << 23) | ((man & 0x3ffu) << 13));
    }
    return float_of(sign | ((exp + 112) << 23) | (man << 13));
}

/* Drop `shift` low bits of v, rounding to nearest, ties to even. */
static uint32_t round_shift(uint32_t v, int shift)
{
    uint32_t q = v >> shift, rem = v & ((1u << shift) - 1), half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

uint16_t mto_f32_to_f16(float f)
{
    uint32_t x = bits_of(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
    if (exp == 0xff) /* inf stays inf; NaN keeps its top payload bits, forced quiet */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    int e = (int)exp - 127 + 15; /* f16 biased exponent */
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        /* f16 subnormal: value = k * 2^-24, k = m24 * 2^(e-14). Below half the
         * smallest subnormal (e < -10) everything rounds to zero. */
        if (e < -10) return sign;
        return (uint16_t)(sign | round_shift(man | 0x800000u, 14 - e));
    }
    /* A carry out of the mantissa correctly bumps the exponent (up to inf). */
    return (uint16_t)(sign | round_shift(((uint32_t)e << 23) | man, 13));
}

float mto_bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t mto_f32_to_bf16(float f)
{
    uint32_t x = bits_of(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    /* Adding 0x7fff plus the lowest kept bit rounds half to even; carries
     * propagate into the exponent, and the largest finite values round to inf. */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void mto_f32_to_f16_n(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = mto_f32_to_f16(src[i]);
}

void mto_f32_to_bf16_n(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = mto_f32_to_bf16(src[i]);
}
