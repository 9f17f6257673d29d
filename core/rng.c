/* rng.c — the one random generator: xoshiro256** seeded through splitmix64.
 * Every random choice in mto (span corruption, few-shot draws, dropout,
 * initialisation) comes from one of these, so a seed reproduces a run. */
#include <math.h>

#include "mto/host.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mto_rng_seed(mto_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t mto_rng_u64(mto_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mto_rng_uniform(mto_rng *r)
{
    return (double)(mto_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t mto_rng_below(mto_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* rejection sampling: no modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = mto_rng_u64(r); while (x >= limit);
    return x % n;
}

double mto_rng_normal(mto_rng *r)
{
    double u1 = mto_rng_uniform(r), u2 = mto_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
