// Tests of csrc/hvae/philox_avx2.h and of the AVX2 build of vmf.h's normals,
// compiled the way csrc/ops/vmf_cpu_avx2.cpp compiles them (inside a
// namespace of their own, so this file includes no other copy of our
// headers): the same words as philox4x32_10 and the same normals as the
// per-pair vmf_normal_pair, bit for bit, including counters whose low word
// wraps inside a group (the portable loop takes those); and the words and
// normals of blocks of rows (vmf_philox_words_rows, vmf_normal_rows). That the AVX2 and
// baseline builds agree is tested in Python (test_vmf_sampler.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HVAE_TEST_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2")
#include "hvae/philox_avx2.h"
#define HVAE_VMF_PHILOX_AVX2 1
namespace avx2 {
#include "hvae/vmf.h"
}  // namespace avx2

namespace {

void words16(uint64_t seed, uint64_t sub, uint64_t o0, uint32_t* w) {
  hvae::philox_avx2::words16(seed, sub, o0, w, w + 16, w + 32, w + 48);
}

void avx2_words(uint64_t seed, uint64_t sub, uint64_t base, int count, uint32_t* w) {
  avx2::hvae::vmf_philox_words(seed, sub, base, count, w, w + 64, w + 128, w + 192);
}

template <typename T>
void avx2_chunk(uint64_t seed, uint64_t sub, uint64_t offset, int64_t k0, int count, int64_t m,
                T* z) {
  avx2::hvae::vmf_normal_chunk(seed, sub, offset, k0, count, m, z);
}

void avx2_words_rows(uint64_t seed, uint64_t i0, int rows, uint64_t base, int per_row, uint32_t* w) {
  constexpr int n = avx2::hvae::kVmfRowWords;
  avx2::hvae::vmf_philox_words_rows(seed, i0, rows, base, per_row, w, w + n, w + 2 * n, w + 3 * n);
}

template <typename T>
void avx2_normal_rows(uint64_t seed, uint64_t i0, int rows, uint64_t offset, int64_t m, T* z) {
  avx2::hvae::vmf_normal_rows(seed, i0, rows, offset, m, z);
}

}  // namespace
#pragma GCC pop_options
#else
#define HVAE_TEST_AVX2 0
#endif

#if HVAE_TEST_AVX2
namespace {

// The portable code, compiled with the AVX2 copy.
namespace hv = avx2::hvae;

bool have_avx2() { return __builtin_cpu_supports("avx2"); }

TEST(PhiloxAvx2, WordsEqualPhilox) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const uint64_t seeds[] = {0, 1, 0x0123456789abcdefull, ~0ull};
  const uint64_t subs[] = {0, 7, 0xfffffffful, 0x123456789ull};
  const uint64_t offsets[] = {0, 1000, 0x1ffffffe0ull, 0xfedcba9800000000ull};
  for (uint64_t seed : seeds) {
    for (uint64_t sub : subs) {
      for (uint64_t o0 : offsets) {
        uint32_t w[64];
        words16(seed, sub, o0, w);
        for (int p = 0; p < 16; ++p) {
          hv::PhiloxCounter c;
          const uint64_t o = o0 + uint64_t(p);
          c.v[0] = uint32_t(o);
          c.v[1] = uint32_t(o >> 32);
          c.v[2] = uint32_t(sub);
          c.v[3] = uint32_t(sub >> 32);
          const hv::PhiloxKey k{{uint32_t(seed), uint32_t(seed >> 32)}};
          const hv::PhiloxCounter r = hv::philox4x32_10(c, k);  // the portable code
          for (int j = 0; j < 4; ++j) ASSERT_EQ(w[16 * j + p], r.v[j]) << seed << " " << o;
        }
      }
    }
  }
}

TEST(PhiloxAvx2, VmfWordsEqualPortableAcrossTheWrap) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  // Bases whose low word wraps at every position of a group, and none.
  const uint64_t bases[] = {5, 0xffffffffull - 40, 0xfffffff0ull, 0x2fffffff1ull};
  for (uint64_t base : bases) {
    for (int count : {1, 5, 16, 17, 33, 64}) {
      uint32_t a[256], b[256];
      avx2_words(9, 3, base, count, a);
      for (int p = 0; p < count; ++p) {
        const hv::PhiloxCounter w = hv::vmf_normal_block(9, 3, base + uint64_t(p));
        for (int j = 0; j < 4; ++j) b[64 * j + p] = w.v[j];
      }
      for (int j = 0; j < 4; ++j) {
        for (int p = 0; p < count; ++p) ASSERT_EQ(a[64 * j + p], b[64 * j + p]) << base << " " << p;
      }
    }
  }
}

template <typename T>
void check_chunks() {
  for (int64_t m : {2, 3, 6, 16, 17, 130, 257, 513}) {
    // The second offset puts the low counter word's wrap among the normals.
    const uint64_t offsets[] = {0, 0x100000000ull - hv::vmf_angle_blocks<T>() - 37};
    for (uint64_t offset : offsets) {
      std::vector<T> z(m + 1, T(-7));
      const int64_t pairs = hv::vmf_normal_pairs(m);
      for (int64_t k0 = 0; k0 < pairs; k0 += hv::kVmfChunkPairs) {
        const int count = int(std::min<int64_t>(hv::kVmfChunkPairs, pairs - k0));
        avx2_chunk<T>(5, 11, offset, k0, count, m, z.data());
      }
      EXPECT_EQ(z[0], T(-7));  // z[0] is not a normal's
      EXPECT_EQ(z[m], T(-7));  // nothing past z[m - 1]
      for (int64_t k = 0; k < pairs; ++k) {
        const hv::NormalPair<T> g = hv::vmf_normal_pair<T>(5, 11, offset, k);
        ASSERT_EQ(z[1 + 2 * k], g.z0) << m << " " << k;
        if (2 + 2 * k < m) {
          ASSERT_EQ(z[2 + 2 * k], g.z1) << m << " " << k;
        }
      }
    }
  }
}

// The words of blocks of rows (sixteen counters of any subsequences at a
// time, the last group padded), across the low word's wrap.
TEST(PhiloxAvx2, RowWordsEqualPortable) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  constexpr int n = hv::kVmfRowWords;
  for (uint64_t base : {uint64_t(3), uint64_t(0xfffffffeull), uint64_t(0x1fffffffdull)}) {
    for (uint64_t i0 : {uint64_t(0), uint64_t(0xfffffff8ull)}) {
      for (int rows : {1, 3, 16}) {
        for (int per_row : {1, 2, 5, 12}) {
          uint32_t a[4 * n];
          avx2_words_rows(0x51ed270b27a1c0deull, i0, rows, base, per_row, a);
          for (int r = 0; r < rows; ++r) {
            for (int q = 0; q < per_row; ++q) {
              const hv::PhiloxCounter w = hv::vmf_normal_block(0x51ed270b27a1c0deull, i0 + r, base + q);
              for (int j = 0; j < 4; ++j) ASSERT_EQ(a[n * j + r * per_row + q], w.v[j]) << base << " " << r << " " << q;
            }
          }
        }
      }
    }
  }
}

template <typename T>
void check_normal_rows() {
  for (int64_t m : {2, 3, 6, 16, 17, 24, 25}) {
    if (hv::vmf_normal_blocks<T>(m) > uint64_t(hv::kVmfRowNormalBlocks)) continue;
    for (int rows : {1, 7, 16}) {
      std::vector<T> z(rows * m + 1, T(-7));
      avx2_normal_rows<T>(5, 100, rows, 9, m, z.data());
      EXPECT_EQ(z[rows * m], T(-7));  // nothing past the last row
      for (int r = 0; r < rows; ++r) {
        EXPECT_EQ(z[r * m], T(-7));  // z[0] of a row is not a normal's
        for (int64_t k = 0; k < hv::vmf_normal_pairs(m); ++k) {
          const hv::NormalPair<T> g = hv::vmf_normal_pair<T>(5, 100 + r, 9, k);
          ASSERT_EQ(z[r * m + 1 + 2 * k], g.z0) << m << " " << r << " " << k;
          if (2 + 2 * k < m) {
            ASSERT_EQ(z[r * m + 2 + 2 * k], g.z1) << m << " " << r << " " << k;
          }
        }
      }
    }
  }
}

TEST(PhiloxAvx2, NormalRowsEqualPortable) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  check_normal_rows<float>();
  check_normal_rows<double>();
}

TEST(PhiloxAvx2, NormalChunksEqualPortable) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  check_chunks<float>();
  check_chunks<double>();
}

}  // namespace
#endif
