/* Known-answer vectors for SeededGenerator (Tests/DMLNumericsTests/MatrixTests.swift), from the
 * reference algorithms of Sebastiano Vigna's splitmix64.c and of Blackman & Vigna's
 * xoshiro256starstar.c (prng.di.unimi.it), written out here:
 *   gcc -O2 -o /tmp/rng-vectors scripts/rng-reference-vectors.c && /tmp/rng-vectors
 * Prints the first outputs of SplitMix64 from seed 0 and from seed 42, and of xoshiro256**
 * seeded, as SeededGenerator(seed:) is, with four consecutive SplitMix64 outputs. */
#include <stdint.h>
#include <stdio.h>

static uint64_t sm;
static uint64_t splitmix64(void) {
    uint64_t z = (sm += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(const uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t s[4];
static uint64_t xoshiro256starstar(void) {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

int main(void) {
    uint64_t seeds[] = {0, 42};
    for (int k = 0; k < 2; k++) {
        sm = seeds[k];
        printf("splitmix64 seed %llu:", (unsigned long long)seeds[k]);
        for (int i = 0; i < 4; i++) printf(" 0x%016llx", (unsigned long long)splitmix64());
        printf("\n");
    }
    for (int k = 0; k < 2; k++) {
        sm = seeds[k];
        for (int i = 0; i < 4; i++) s[i] = splitmix64();
        printf("xoshiro256** seed %llu:", (unsigned long long)seeds[k]);
        for (int i = 0; i < 6; i++) printf(" 0x%016llx", (unsigned long long)xoshiro256starstar());
        printf("\n");
    }
    return 0;
}
