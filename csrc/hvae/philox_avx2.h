// Philox4x32-10 for sixteen counters at once with AVX2 intrinsics (x86 CPU
// only). GCC vectorises philox_round's 32x32->64-bit products by widening
// every word to 64 bits and packing the halves back with cross-lane
// permutes, which makes a block ~8.5 ns; here the products of the even and
// odd lanes come from two _mm256_mul_epu32 and two blends (no permute), and
// two groups of eight counters are in flight to hide the multiplier's
// latency: ~2.4 ns a block on the 2-core CI machine (AMD Zen 3). The words
// are philox4x32_10's, bit for bit (tests/cpp/test_philox_avx2.cpp).
//
// Include this only from code compiled for AVX2 (vmf_cpu_avx2.cpp), and
// before any namespace: it includes <immintrin.h>. It includes no other
// header of ours, since vmf_cpu_avx2.cpp includes those again inside a
// namespace of its own; the constants below are philox.h's.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace hvae {
namespace philox_avx2 {

constexpr uint32_t kM0 = 0xD2511F53u;
constexpr uint32_t kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u;
constexpr uint32_t kW1 = 0xBB67AE85u;
constexpr int kRounds = 10;

// Blocks per call of words16: two groups of eight counters.
constexpr int kLanes = 16;

// High and low halves of x * m, lane by lane (unsigned 32-bit).
inline __m256i mulhilo(__m256i x, __m256i m, __m256i* lo) {
  const __m256i even = _mm256_mul_epu32(x, m);                       // lanes 0, 2, ...
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);  // lanes 1, 3, ...
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  return _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// The ten rounds on two groups of eight counters (x0..x3: the counter
// words, replaced by the output words) under key `seed`.
inline void rounds16(uint64_t seed, __m256i* x0, __m256i* x1, __m256i* x2, __m256i* x3) {
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kM0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(kM1));
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0));
    const __m256i key1 = _mm256_set1_epi32(static_cast<int>(k1));
    for (int g = 0; g < 2; ++g) {
      __m256i lo0, lo1;
      const __m256i hi0 = mulhilo(x0[g], m0, &lo0);
      const __m256i hi1 = mulhilo(x2[g], m1, &lo1);
      x0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[g]), key0);
      x2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[g]), key1);
      x1[g] = lo1;
      x3[g] = lo0;
    }
  }
}

inline void store16(const __m256i* x, uint32_t* w) {
  for (int g = 0; g < 2; ++g) _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + 8 * g), x[g]);
}

inline void load16(const uint32_t* c, __m256i* x) {
  for (int g = 0; g < 2; ++g) x[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 8 * g));
}

// Words of the sixteen blocks o0 + 0 .. o0 + 15 (o0's low word must not wrap
// within them) of subsequence `subsequence` under key `seed`.
inline void words16(uint64_t seed, uint64_t subsequence, uint64_t o0, uint32_t* w0, uint32_t* w1,
                    uint32_t* w2, uint32_t* w3) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i x0[2], x1[2], x2[2], x3[2];
  for (int g = 0; g < 2; ++g) {
    x0[g] = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(uint32_t(o0) + 8u * g)), lane);
    x1[g] = _mm256_set1_epi32(static_cast<int>(uint32_t(o0 >> 32)));
    x2[g] = _mm256_set1_epi32(static_cast<int>(uint32_t(subsequence)));
    x3[g] = _mm256_set1_epi32(static_cast<int>(uint32_t(subsequence >> 32)));
  }
  rounds16(seed, x0, x1, x2, x3);
  store16(x0, w0);
  store16(x1, w1);
  store16(x2, w2);
  store16(x3, w3);
}

// Words of sixteen counters of any blocks and subsequences: counter k is
// (c0[k], c1[k], c2[k], c3[k]); the words replace it (w_j = c_j).
inline void words16_in_place(uint64_t seed, uint32_t* c0, uint32_t* c1, uint32_t* c2, uint32_t* c3) {
  __m256i x0[2], x1[2], x2[2], x3[2];
  load16(c0, x0);
  load16(c1, x1);
  load16(c2, x2);
  load16(c3, x3);
  rounds16(seed, x0, x1, x2, x3);
  store16(x0, c0);
  store16(x1, c1);
  store16(x2, c2);
  store16(x3, c3);
}

}  // namespace philox_avx2
}  // namespace hvae
