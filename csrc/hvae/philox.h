// Counter-based random numbers for the samplers: Philox4x32-10 and the
// uniform, normal, gamma and beta laws built on it.
//
// Philox4x32-10 is the bijection of Salmon, Moraes, Dror and Shaw, "Parallel
// random numbers: as easy as 1, 2, 3" (SC'11): a 128-bit counter and a 64-bit
// key give 128 random bits, with no state carried between calls. It reproduces
// the published Random123 known-answer vectors (tests/cpp/test_philox.cpp).
//
// Stream layout (PhiloxStream). For (seed, subsequence, offset):
//   key     = (seed mod 2^32, seed >> 32)
//   counter = (o mod 2^32, o >> 32, subsequence mod 2^32, subsequence >> 32)
// where o starts at `offset` and grows by one (mod 2^64, carrying from word 0
// into word 1 and never into the subsequence words) for every block of four
// uint32 the stream produces. Word j of the stream (j = 0, 1, 2, ...) is
// therefore word (j mod 4) of philox4x32_10(counter with o = offset + j / 4,
// key). `offset` counts 128-bit blocks, like at::Philox4_32 in PyTorch, not
// single words like curand_init's offset. The words depend on nothing but
// (seed, subsequence, offset) and how many words were drawn before, so CPU and
// CUDA code produce the same words; integer-to-uniform maps below are exact,
// and the rest agrees up to the last ulps (nvcc contracts a*b+c into fma).
//
// A caller that gives every sample its own subsequence and advances a shared
// offset between launches must advance it by at least the number of blocks
// one sample may use; the *_max_words helpers give the per-draw bounds.
#pragma once

#include <cstdint>

#include "hvae/common.h"
#include "hvae/vmf_fastmath.h"

namespace hvae {

struct PhiloxCounter {
  uint32_t v[4];
};

struct PhiloxKey {
  uint32_t v[2];
};

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1
constexpr int kPhiloxRounds = 10;

HVAE_HD uint32_t philox_mulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// One Philox4x32 round (Salmon et al. 2011, Sec. 3.3): two 32x32->64
// multiplications; the high halves are xored with the other words and the key.
HVAE_HD PhiloxCounter philox_round(PhiloxCounter c, PhiloxKey k) {
  const uint32_t hi0 = philox_mulhi(kPhiloxM0, c.v[0]);
  const uint32_t lo0 = kPhiloxM0 * c.v[0];
  const uint32_t hi1 = philox_mulhi(kPhiloxM1, c.v[2]);
  const uint32_t lo1 = kPhiloxM1 * c.v[2];
  PhiloxCounter out;
  out.v[0] = hi1 ^ c.v[1] ^ k.v[0];
  out.v[1] = lo1;
  out.v[2] = hi0 ^ c.v[3] ^ k.v[1];
  out.v[3] = lo0;
  return out;
}

// Philox4x32 with 10 rounds; the key is bumped by the Weyl increments
// between rounds (not before the first).
HVAE_HD PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int r = 0; r < kPhiloxRounds; ++r) {
    if (r > 0) {
      key.v[0] += kPhiloxW0;
      key.v[1] += kPhiloxW1;
    }
    ctr = philox_round(ctr, key);
  }
  return ctr;
}

// A sequence of uint32 words, four per counter step; see the layout at the
// top of this file. Small enough to live in registers (no indexed arrays).
class PhiloxStream {
 public:
  HVAE_HD PhiloxStream(uint64_t seed, uint64_t subsequence, uint64_t offset)
      : seed_(seed), subsequence_(subsequence), offset_(offset), used_(4) {}

  // The next four words of the stream. When no word of the current block is
  // pending this is exactly one block, one counter step.
  HVAE_HD PhiloxCounter next4() {
    if (used_ == 4) return next_block();
    PhiloxCounter out;
    out.v[0] = next_u32();
    out.v[1] = next_u32();
    out.v[2] = next_u32();
    out.v[3] = next_u32();
    return out;
  }

  HVAE_HD uint32_t next_u32() {
    if (used_ == 4) {
      const PhiloxCounter b = next_block();
      w0_ = b.v[0];
      w1_ = b.v[1];
      w2_ = b.v[2];
      w3_ = b.v[3];
      used_ = 0;
    }
    uint32_t w;
    switch (used_) {
      case 0: w = w0_; break;
      case 1: w = w1_; break;
      case 2: w = w2_; break;
      default: w = w3_; break;
    }
    ++used_;
    return w;
  }

  // Counter offset of the next block to be generated (offset + blocks used).
  HVAE_HD uint64_t offset() const { return offset_; }
  HVAE_HD uint64_t subsequence() const { return subsequence_; }
  HVAE_HD uint64_t seed() const { return seed_; }

 private:
  HVAE_HD PhiloxCounter next_block() {
    PhiloxCounter ctr;
    ctr.v[0] = static_cast<uint32_t>(offset_);
    ctr.v[1] = static_cast<uint32_t>(offset_ >> 32);
    ctr.v[2] = static_cast<uint32_t>(subsequence_);
    ctr.v[3] = static_cast<uint32_t>(subsequence_ >> 32);
    PhiloxKey key;
    key.v[0] = static_cast<uint32_t>(seed_);
    key.v[1] = static_cast<uint32_t>(seed_ >> 32);
    ++offset_;
    return philox4x32_10(ctr, key);
  }

  uint64_t seed_;
  uint64_t subsequence_;
  uint64_t offset_;
  uint32_t w0_ = 0, w1_ = 0, w2_ = 0, w3_ = 0;
  int used_;  // words of the pending block already returned; 4 = none pending
};

// ---------------------------------------------------------------------------
// Word budgets, so that callers can bound how far a draw moves the stream.

template <typename T>
HVAE_HD constexpr int uniform_words() {
  return sizeof(T) > 4 ? 2 : 1;
}
// normal_pair / normal use one uniform in (0,1] and one in (0,1).
template <typename T>
HVAE_HD constexpr int normal_words() {
  return 2 * uniform_words<T>();
}

constexpr int kGammaMaxTries = 64;

// Marsaglia-Tsang spends one normal per two tries (the pair is shared) and one
// uniform per try; alpha < 1 adds one uniform.
template <typename T>
HVAE_HD constexpr int gamma_max_words() {
  return (kGammaMaxTries / 2) * normal_words<T>() +
         (kGammaMaxTries + 1) * uniform_words<T>();
}
template <typename T>
HVAE_HD constexpr int beta_max_words() {
  return 2 * gamma_max_words<T>();
}

// ---------------------------------------------------------------------------
// Uniforms.

// Uniform on the symmetric grid (2k+1)·2^-24, k < 2^23 (float), or
// (2k+1)·2^-53, k < 2^52 (double): every value is exact, never 0 or 1, the
// law is symmetric about 1/2 and its mean is exactly 1/2. Uses the top 23
// bits of one word (float) or the top 52 bits of two words (double).
HVAE_HD float open01_from_bits(uint32_t w) {
  const uint32_t k = w >> 9;
  return static_cast<float>(2u * k + 1u) * 5.9604644775390625e-8f;  // 2^-24
}
HVAE_HD double open01_from_bits(uint32_t hi, uint32_t lo) {
  const uint64_t k = (static_cast<uint64_t>(hi) << 20) | (lo >> 12);
  return static_cast<double>(2u * k + 1u) * 1.1102230246251565404e-16;  // 2^-53
}

// Uniform in (0, 1], fine near 0: round(k)·2^-32 + 2^-33 for a 32-bit k
// (float) or round(k)·2^-64 + 2^-65 for a 64-bit k (double), round being the
// correctly rounded integer-to-float conversion (the same on host and device).
// The smallest value is 2^-33 (2^-65), so -log u reaches 22.9 (45.1) and the
// Box-Muller tails reach 6.8 (9.5) standard deviations. Meant for logs and the
// Box-Muller radius, where 1 is harmless and resolution near 0 matters.
HVAE_HD float left_open01_from_bits(uint32_t w) {
  return static_cast<float>(w) * 2.3283064365386963e-10f +  // 2^-32
         1.16415321826934814e-10f;                          // 2^-33
}
HVAE_HD double left_open01_from_bits(uint32_t hi, uint32_t lo) {
  const uint64_t k = (static_cast<uint64_t>(hi) << 32) | lo;
  return static_cast<double>(k) * 5.42101086242752217e-20 +  // 2^-64
         2.71050543121376109e-20;                            // 2^-65
}

template <typename T>
HVAE_HD T uniform_open01(PhiloxStream& s);

template <>
HVAE_HD float uniform_open01<float>(PhiloxStream& s) {
  return open01_from_bits(s.next_u32());
}

template <>
HVAE_HD double uniform_open01<double>(PhiloxStream& s) {
  const uint32_t hi = s.next_u32();
  const uint32_t lo = s.next_u32();
  return open01_from_bits(hi, lo);
}

template <typename T>
HVAE_HD T uniform_left_open01(PhiloxStream& s);

template <>
HVAE_HD float uniform_left_open01<float>(PhiloxStream& s) {
  return left_open01_from_bits(s.next_u32());
}

template <>
HVAE_HD double uniform_left_open01<double>(PhiloxStream& s) {
  const uint32_t hi = s.next_u32();
  const uint32_t lo = s.next_u32();
  return left_open01_from_bits(hi, lo);
}

// ---------------------------------------------------------------------------
// Normals.

template <typename T>
struct NormalPair {
  T z0;
  T z1;
};

// Box-Muller: r = sqrt(-2 log u1), u1 in (0,1]; theta = 2 pi u2, u2 in (0,1);
// (r cos theta, r sin theta) are two independent N(0,1).
template <typename T>
HVAE_HD NormalPair<T> normal_pair(PhiloxStream& s) {
  const T u1 = uniform_left_open01<T>(s);
  const T u2 = uniform_open01<T>(s);
  const T r = sqrt_(T(-2) * log_(u1));
  const T theta = T(6.283185307179586476925286766559) * u2;
  NormalPair<T> out;
  out.z0 = r * cos_(theta);
  out.z1 = r * sin_(theta);
  return out;
}

// Box-Muller with the branch-free log and sincos of vmf_fastmath.h and a
// correctly rounded sqrt (the same values on CPU and GPU, and vectorisable
// loops on the CPU, given -fno-math-errno): the samplers' tangent normals
// (vmf.h) and the Power Spherical's Gamma draw.
template <typename T>
HVAE_HD_INLINE NormalPair<T> box_muller_fast(T u1, T u2) {
  const T r = sqrt_(T(-2) * fastmath::log_pos(u1));
  T s, c;
  fastmath::sincos_2pi(u2, s, c);
  return NormalPair<T>{r * c, r * s};
}

// normal_pair's words through box_muller_fast.
template <typename T>
HVAE_HD NormalPair<T> normal_pair_fast(PhiloxStream& s) {
  const T u1 = uniform_left_open01<T>(s);
  const T u2 = uniform_open01<T>(s);
  return box_muller_fast<T>(u1, u2);
}

// One N(0,1); the second value of the pair is discarded.
template <typename T>
HVAE_HD T normal(PhiloxStream& s) {
  return normal_pair<T>(s).z0;
}

// ---------------------------------------------------------------------------
// Gamma and beta.

// log1p(t) - t without cancellation for small |t|. With s = t/(2+t),
// log1p(t) = 2 atanh(s) = 2(s + s^3/3 + s^5/5 + ...) and t - 2s = s t, so
// log1p(t) - t = -s t + 2 s^3 (1/3 + s^2/5 + ...). For |t| <= 1/4, |s| <= 1/7
// and the terms through s^21 leave a relative error below 1e-17.
template <typename T>
HVAE_HD T log1pmx(T t) {
  if (fabs_(t) > T(0.25)) return log1p_(t) - t;
  const T s = t / (T(2) + t);
  const T s2 = s * s;
  T p = T(1) / T(21);
  p = fma_(p, s2, T(1) / T(19));
  p = fma_(p, s2, T(1) / T(17));
  p = fma_(p, s2, T(1) / T(15));
  p = fma_(p, s2, T(1) / T(13));
  p = fma_(p, s2, T(1) / T(11));
  p = fma_(p, s2, T(1) / T(9));
  p = fma_(p, s2, T(1) / T(7));
  p = fma_(p, s2, T(1) / T(5));
  p = fma_(p, s2, T(1) / T(3));
  return fma_(T(2) * s * s2, p, -s * t);
}

// Marsaglia and Tsang (2000), "A simple method for generating gamma
// variables", for shape a >= 1: d = a - 1/3, c = 1/sqrt(9d); draw x ~ N(0,1),
// v = (1 + c x)^3, u ~ U(0,1); accept d v if v > 0 and either the squeeze
// u < 1 - 0.0331 x^4 holds or log u < x^2/2 + d (1 - v + log v). With
// t = c x, 1 - v + log v = 3 (log1p(t) - t) - t^2 (3 + t), which keeps the
// cancellation out for large d. Returns log(d v) when `log_space`.
//
// Each try accepts with probability >= 0.95 (the minimum, at a = 1; the v <= 0
// rejection is included), so all kGammaMaxTries = 64 tries fail with
// probability < 0.05^64 ~ 5e-84. Then d (close to the median) is returned
// rather than looping on. FastNormals takes the normals from
// normal_pair_fast (same words, the fastmath log and sincos), which a loop
// over samples can reproduce in lanes (the Power Spherical's draw).
template <typename T, bool FastNormals = false>
HVAE_HD T marsaglia_tsang(PhiloxStream& s, T a, bool log_space) {
  const T d = a - T(1) / T(3);
  const T c = T(1) / sqrt_(T(9) * d);
  NormalPair<T> pair{};
  for (int i = 0; i < kGammaMaxTries; ++i) {
    T x;
    if ((i & 1) == 0) {
      pair = FastNormals ? normal_pair_fast<T>(s) : normal_pair<T>(s);
      x = pair.z0;
    } else {
      x = pair.z1;
    }
    const T t = c * x;
    const T u = uniform_open01<T>(s);
    if (t <= T(-1)) continue;
    const T one_plus_t = T(1) + t;
    const T v = one_plus_t * one_plus_t * one_plus_t;
    const T x2 = x * x;
    const bool accept =
        u < T(1) - T(0.0331) * x2 * x2 ||
        log_(u) < T(0.5) * x2 + d * (T(3) * log1pmx(t) - t * t * (T(3) + t));
    if (accept) return log_space ? log_(d) + T(3) * log1p_(t) : d * v;
  }
  return log_space ? log_(d) : d;
}

// Gamma(alpha, 1). For alpha < 1, G(alpha) = G(alpha + 1) U^(1/alpha)
// (Marsaglia and Tsang 2000, Sec. 6), with U in (0,1]. NaN unless alpha > 0.
template <typename T, bool FastNormals = false>
HVAE_HD T gamma(PhiloxStream& s, T alpha) {
  if (!(alpha > T(0))) return quiet_nan<T>();
  if (alpha >= T(1)) return marsaglia_tsang<T, FastNormals>(s, alpha, false);
  const T g = marsaglia_tsang<T, FastNormals>(s, alpha + T(1), false);
  const T u = uniform_left_open01<T>(s);
  return g * exp_(log_(u) / alpha);
}

// log of a Gamma(alpha, 1) draw, from the same words as gamma(): finite even
// where the draw itself underflows (alpha = 1e-3 gives log G ~ -1000).
template <typename T>
HVAE_HD T log_gamma(PhiloxStream& s, T alpha) {
  if (!(alpha > T(0))) return quiet_nan<T>();
  if (alpha >= T(1)) return marsaglia_tsang<T>(s, alpha, true);
  const T lg = marsaglia_tsang<T>(s, alpha + T(1), true);
  const T u = uniform_left_open01<T>(s);
  return lg + log_(u) / alpha;
}

template <typename T>
struct BetaDraw {
  T x;            // the Beta(a, b) draw
  T one_minus_x;  // 1 - x, computed without cancellation
};

// Beta(a, b) = X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b) drawn in that order.
// For a, b >= 1 the ratios are taken directly; otherwise from the log draws,
// x = 1 / (1 + exp(log Y - log X)), so that two underflowing gammas still
// give a proper value. Both branches use the same words. NaN unless a, b > 0.
template <typename T>
HVAE_HD BetaDraw<T> beta_pair(PhiloxStream& s, T a, T b) {
  BetaDraw<T> out;
  if (a >= T(1) && b >= T(1)) {
    const T gx = gamma<T>(s, a);
    const T gy = gamma<T>(s, b);
    const T sum = gx + gy;
    out.x = gx / sum;
    out.one_minus_x = gy / sum;
    return out;
  }
  const T lx = log_gamma<T>(s, a);
  const T ly = log_gamma<T>(s, b);
  out.x = T(1) / (T(1) + exp_(ly - lx));
  out.one_minus_x = T(1) / (T(1) + exp_(lx - ly));
  return out;
}

template <typename T>
HVAE_HD T beta(PhiloxStream& s, T a, T b) {
  return beta_pair<T>(s, a, b).x;
}

// (log x, log(1 - x)) for x ~ Beta(a, b), from the same words as beta_pair:
// log x = -log1p(exp(log Y - log X)), finite even when x underflows.
template <typename T>
HVAE_HD BetaDraw<T> log_beta_pair(PhiloxStream& s, T a, T b) {
  const T lx = log_gamma<T>(s, a);
  const T ly = log_gamma<T>(s, b);
  const T dxy = lx - ly;
  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
  const T soft_pos = max_(dxy, T(0)) + log1p_(exp_(-fabs_(dxy)));
  BetaDraw<T> out;
  out.x = dxy - soft_pos;   // log x = -log(1 + e^-dxy)
  out.one_minus_x = -soft_pos;  // log(1 - x) = -log(1 + e^dxy)
  return out;
}

}  // namespace hvae
