// Tests of csrc/hvae/philox.h: Random123 known answers, the stream layout,
// and the moments of every distribution.
//
// Statistical checks use fixed seeds, so each is deterministic; the bounds
// are 6 standard errors of the estimator (normal approximation), i.e. a
// correct implementation would fail a given check for a random seed with
// probability about 2e-9 (about 1e-7 for the most skewed case, the mean of
// Gamma(1e-3), noted there). The whole file has under 100 such checks.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "hvae/philox.h"

namespace {

using hvae::PhiloxCounter;
using hvae::PhiloxKey;
using hvae::PhiloxStream;

constexpr double kSigmas = 6.0;

void expect_block(const PhiloxCounter& got, uint32_t a, uint32_t b, uint32_t c,
                  uint32_t d) {
  EXPECT_EQ(got.v[0], a);
  EXPECT_EQ(got.v[1], b);
  EXPECT_EQ(got.v[2], c);
  EXPECT_EQ(got.v[3], d);
}

// Random123's kat_vectors for philox4x32 with 10 rounds (also checked against
// an independent Python implementation).
TEST(Philox, KnownAnswerZero) {
  expect_block(hvae::philox4x32_10({{0, 0, 0, 0}}, {{0, 0}}), 0x6627e8d5u,
               0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
}

TEST(Philox, KnownAnswerOnes) {
  expect_block(hvae::philox4x32_10(
                   {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                   {{0xffffffffu, 0xffffffffu}}),
               0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
}

TEST(Philox, KnownAnswerPi) {
  expect_block(hvae::philox4x32_10(
                   {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                   {{0xa4093822u, 0x299f31d0u}}),
               0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

// Layout: key = (seed lo, seed hi), counter = (offset lo, offset hi,
// subsequence lo, subsequence hi), offset + 1 per block. The expected words
// come from an independent Python implementation; the offset crosses 2^32
// to exercise the carry from counter word 0 into word 1.
TEST(PhiloxStream, LayoutAndCarry) {
  PhiloxStream s(0x0123456789abcdefull, 7, 0xfffffffeull);
  const uint32_t expected[12] = {0xf473f121u, 0x1711d15bu, 0x0e92abb9u,
                                 0x5ce07c5cu, 0x99b2a2afu, 0x6420bf62u,
                                 0x20f49b6bu, 0x6dd31e1cu, 0xc2692e75u,
                                 0x38a0d4e6u, 0xd164305au, 0xfd873ddfu};
  for (int j = 0; j < 12; ++j) EXPECT_EQ(s.next_u32(), expected[j]) << j;
  EXPECT_EQ(s.offset(), 0x100000001ull);

  const PhiloxKey key{{0x89abcdefu, 0x01234567u}};
  expect_block(hvae::philox4x32_10({{0u, 1u, 7u, 0u}}, key), expected[8],
               expected[9], expected[10], expected[11]);
}

TEST(PhiloxStream, OffsetWrapsWithoutTouchingSubsequence) {
  PhiloxStream s(5, 0x1122334455667788ull, ~0ull);
  s.next4();
  EXPECT_EQ(s.offset(), 0u);
  const PhiloxKey key{{5u, 0u}};
  const PhiloxCounter got = s.next4();
  const PhiloxCounter want =
      hvae::philox4x32_10({{0u, 0u, 0x55667788u, 0x11223344u}}, key);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got.v[i], want.v[i]);
}

TEST(PhiloxStream, Determinism) {
  PhiloxStream a(42, 3, 17), b(42, 3, 17);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u32(), b.next_u32());
  PhiloxStream c(42, 3, 17), d(42, 3, 17);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(hvae::gamma<double>(c, 0.3), hvae::gamma<double>(d, 0.3));
    ASSERT_EQ(hvae::normal<float>(c), hvae::normal<float>(d));
  }
  PhiloxStream e(42, 4, 17), f(43, 3, 17);
  PhiloxStream g(42, 3, 17);
  const uint32_t w = g.next_u32();
  EXPECT_NE(e.next_u32(), w);
  EXPECT_NE(f.next_u32(), w);
}

// next4 and next_u32 walk the same word sequence, aligned or not, and the
// offset advances by exactly one per block of four words.
TEST(PhiloxStream, WordsAndBlocksAgree) {
  PhiloxStream words(9, 1, 100);
  std::vector<uint32_t> ref;
  for (int i = 0; i < 40; ++i) ref.push_back(words.next_u32());
  EXPECT_EQ(words.offset(), 110u);

  PhiloxStream mixed(9, 1, 100);
  std::vector<uint32_t> got;
  got.push_back(mixed.next_u32());
  for (int i = 0; i < 4; ++i) {
    const PhiloxCounter b = mixed.next4();
    for (uint32_t x : b.v) got.push_back(x);
  }
  for (int i = 0; i < 3; ++i) got.push_back(mixed.next_u32());
  for (int i = 0; i < 5; ++i) {
    const PhiloxCounter b = mixed.next4();
    for (uint32_t x : b.v) got.push_back(x);
  }
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_EQ(got[i], ref[i]) << i;

  // Starting one block later skips exactly four words.
  PhiloxStream later(9, 1, 101);
  for (int i = 4; i < 40; ++i) EXPECT_EQ(later.next_u32(), ref[i]);
}

TEST(Uniform, ExtremeWords) {
  EXPECT_EQ(hvae::open01_from_bits(0u), std::ldexp(1.0f, -24));
  EXPECT_EQ(hvae::open01_from_bits(0xffffffffu), 1.0f - std::ldexp(1.0f, -24));
  EXPECT_EQ(hvae::open01_from_bits(0u, 0u), std::ldexp(1.0, -53));
  EXPECT_EQ(hvae::open01_from_bits(0xffffffffu, 0xffffffffu),
            1.0 - std::ldexp(1.0, -53));
  // Symmetric grid: the complement of a word maps to 1 - u, exactly.
  const uint32_t w = 0x9e3779b9u;
  EXPECT_EQ(hvae::open01_from_bits(~w), 1.0f - hvae::open01_from_bits(w));
  EXPECT_EQ(hvae::open01_from_bits(~w, ~w), 1.0 - hvae::open01_from_bits(w, w));

  EXPECT_EQ(hvae::left_open01_from_bits(0u), std::ldexp(1.0f, -33));
  EXPECT_EQ(hvae::left_open01_from_bits(0xffffffffu), 1.0f);
  EXPECT_EQ(hvae::left_open01_from_bits(0u, 0u), std::ldexp(1.0, -65));
  EXPECT_EQ(hvae::left_open01_from_bits(0xffffffffu, 0xffffffffu), 1.0);
  EXPECT_EQ(hvae::left_open01_from_bits(0u, 1u), std::ldexp(3.0, -65));
}

// log1p(t) - t against a long double oracle: the Taylor series
// sum_{k>=2} (-1)^(k+1) t^k / k for |t| < 0.1 (60 terms: truncation < 1e-60),
// the plain difference above. Our direct branch (|t| > 1/4) loses up to
// log2(|t| / |log1p(t) - t|) < 4 bits, hence 16 ulps.
long double log1pmx_oracle(long double t) {
  if (std::fabs(t) >= 0.1L) return std::log1p(t) - t;
  long double sum = 0, pw = t;
  for (int k = 2; k < 62; ++k) {
    pw *= -t;
    sum += pw / k;
  }
  return sum;
}

TEST(Log1pmx, MatchesOracle) {
  for (double t = -0.9; t < 3.0; t += 0.00731) {
    for (double scale : {1.0, 1e-2, 1e-4, 1e-6}) {
      const double x = t * scale;
      const long double ref = log1pmx_oracle(x);
      if (ref == 0) continue;
      EXPECT_LT(std::fabs((hvae::log1pmx(x) - ref) / ref), 16 * 2.2205e-16) << x;
      const long double reff = log1pmx_oracle(float(x));
      EXPECT_LT(std::fabs((hvae::log1pmx(float(x)) - reff) / reff), 16 * 1.1921e-7) << x;
    }
  }
}

struct Moments {
  double mean;
  double var;  // unbiased sample variance
  double n;
};

Moments moments(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += v;
  const double mean = sum / x.size();
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return {mean, ss / (x.size() - 1), static_cast<double>(x.size())};
}

// Standard errors under the normal approximation: of the mean, sqrt(var/n);
// of the sample variance, sqrt((mu4 - var^2)/n), mu4 the 4th central moment.
void expect_mean(const Moments& m, double mean, double var, const char* what) {
  const double se = std::sqrt(var / m.n);
  EXPECT_NEAR(m.mean, mean, kSigmas * se) << what;
}
void expect_var(const Moments& m, double var, double mu4, const char* what) {
  const double se = std::sqrt((mu4 - var * var) / m.n);
  EXPECT_NEAR(m.var, var, kSigmas * se) << what;
}

template <typename T>
class Dist : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Dist, Precisions);

TYPED_TEST(Dist, UniformOpen) {
  using T = TypeParam;
  PhiloxStream s(1234, 0, 0);
  std::vector<double> x(1 << 20);
  for (auto& v : x) {
    const T u = hvae::uniform_open01<T>(s);
    ASSERT_GT(u, T(0));
    ASSERT_LT(u, T(1));
    v = u;
  }
  const Moments m = moments(x);
  expect_mean(m, 0.5, 1.0 / 12, "uniform mean");
  expect_var(m, 1.0 / 12, 1.0 / 80, "uniform variance");
}

TYPED_TEST(Dist, UniformLeftOpen) {
  using T = TypeParam;
  PhiloxStream s(4321, 0, 0);
  std::vector<double> x(1 << 20);
  for (auto& v : x) {
    const T u = hvae::uniform_left_open01<T>(s);
    ASSERT_GT(u, T(0));
    ASSERT_LE(u, T(1));
    v = u;
  }
  const Moments m = moments(x);
  expect_mean(m, 0.5, 1.0 / 12, "uniform mean");
  expect_var(m, 1.0 / 12, 1.0 / 80, "uniform variance");
}

TYPED_TEST(Dist, NormalMoments) {
  using T = TypeParam;
  PhiloxStream s(99, 5, 0);
  const int n = 1 << 19;
  std::vector<double> z(2 * n);
  double cross = 0, m4 = 0;
  for (int i = 0; i < n; ++i) {
    const hvae::NormalPair<T> p = hvae::normal_pair<T>(s);
    ASSERT_TRUE(std::isfinite(p.z0) && std::isfinite(p.z1));
    z[2 * i] = p.z0;
    z[2 * i + 1] = p.z1;
    cross += double(p.z0) * p.z1;
  }
  for (double v : z) m4 += v * v * v * v;
  const Moments m = moments(z);
  expect_mean(m, 0.0, 1.0, "normal mean");
  expect_var(m, 1.0, 3.0, "normal variance");
  // E z^4 = 3, Var z^4 = 105 - 9; E z0 z1 = 0, Var = 1.
  EXPECT_NEAR(m4 / (2 * n), 3.0, kSigmas * std::sqrt(96.0 / (2 * n)));
  EXPECT_NEAR(cross / n, 0.0, kSigmas * std::sqrt(1.0 / n));
}

// Gamma(a): mean a, variance a, mu4 = 3a^2 + 6a.
TYPED_TEST(Dist, GammaMoments) {
  using T = TypeParam;
  const double alphas[] = {0.5, 1.0, 3.0, 5000.0};
  uint64_t sub = 0;
  for (double a : alphas) {
    PhiloxStream s(2024, sub++, 0);
    std::vector<double> x(200000);
    for (auto& v : x) {
      const T g = hvae::gamma<T>(s, T(a));
      ASSERT_TRUE(std::isfinite(g) && g >= T(0)) << a;
      v = g;
    }
    const Moments m = moments(x);
    SCOPED_TRACE(a);
    expect_mean(m, a, a, "gamma mean");
    expect_var(m, a, 3 * a * a + 6 * a, "gamma variance");
  }
}

// Gamma(1e-3) has skewness 2/sqrt(a) = 63, so the sample mean of n = 4e5
// draws keeps skewness 0.1 and a 6-sigma bound fails with probability about
// 1e-7 rather than 2e-9. Most draws underflow in float, so double only.
TEST(Gamma, TinyShapeMean) {
  const double a = 1e-3;
  PhiloxStream s(77, 0, 0);
  std::vector<double> x(400000);
  for (auto& v : x) {
    v = hvae::gamma<double>(s, a);
    ASSERT_TRUE(std::isfinite(v) && v >= 0);
  }
  expect_mean(moments(x), a, a, "gamma(1e-3) mean");
}

// psi, psi' and psi''' by upward recurrence to x >= 16 and the asymptotic
// series (Abramowitz and Stegun 6.3.18, 6.4.11-12).
double digamma(double x) {
  double acc = 0;
  for (; x < 16; x += 1) acc -= 1 / x;
  const double r = 1 / (x * x);
  return acc + std::log(x) - 0.5 / x -
         r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r / 132))));
}
double trigamma(double x) {
  double acc = 0;
  for (; x < 16; x += 1) acc += 1 / (x * x);
  const double r = 1 / (x * x);
  return acc + 1 / x + r / 2 +
         r / x * (1.0 / 6 - r * (1.0 / 30 - r * (1.0 / 42 - r * (1.0 / 30 - r * 5.0 / 66))));
}
double tetragamma3(double x) {  // psi'''(x)
  double acc = 0;
  for (; x < 16; x += 1) acc += 6 / (x * x * x * x);
  const double r = 1 / (x * x);
  return acc + r / x * (2 + 3 / x + r * (2 - r * (1 - r * (4.0 / 3 - r * (3 - 10 * r)))));
}

TEST(Gamma, PolygammaHelpers) {
  EXPECT_NEAR(digamma(1.0), -0.57721566490153286, 1e-14);
  EXPECT_NEAR(trigamma(1.0), 1.6449340668482264, 1e-14);
  EXPECT_NEAR(tetragamma3(1.0), 6.4939394022668291, 1e-12);  // 6 zeta(4)
  EXPECT_NEAR(digamma(0.5), -1.9635100260214235, 1e-14);
}

// log G for G ~ Gamma(a) has mean psi(a), variance psi'(a) and fourth
// central moment psi'''(a) + 3 psi'(a)^2 (its cumulants are polygammas).
TYPED_TEST(Dist, LogGammaMoments) {
  using T = TypeParam;
  const double alphas[] = {1e-3, 0.5, 3.0, 5000.0};
  uint64_t sub = 100;
  for (double a : alphas) {
    PhiloxStream s(555, sub++, 0);
    std::vector<double> x(200000);
    for (auto& v : x) {
      const T lg = hvae::log_gamma<T>(s, T(a));
      ASSERT_TRUE(std::isfinite(lg)) << a;
      v = lg;
    }
    const Moments m = moments(x);
    const double var = trigamma(a);
    SCOPED_TRACE(a);
    expect_mean(m, digamma(a), var, "log gamma mean");
    expect_var(m, var, tetragamma3(a) + 3 * var * var, "log gamma variance");
  }
}

// gamma and log_gamma spend the same words, and agree.
TYPED_TEST(Dist, GammaAndLogGammaAgree) {
  using T = TypeParam;
  for (double a : {0.7, 1.0, 40.0}) {
    PhiloxStream s1(8, 1, 0), s2(8, 1, 0);
    for (int i = 0; i < 1000; ++i) {
      const T g = hvae::gamma<T>(s1, T(a));
      const T lg = hvae::log_gamma<T>(s2, T(a));
      if (g > T(1e-30)) {
        EXPECT_NEAR(std::log(double(g)), double(lg),
                    64 * double(std::numeric_limits<T>::epsilon()) *
                        (1 + std::fabs(double(lg))));
      }
    }
    EXPECT_EQ(s1.offset(), s2.offset());
  }
}

TYPED_TEST(Dist, GammaWordBudget) {
  using T = TypeParam;
  const int max_blocks = (hvae::gamma_max_words<T>() + 3) / 4 + 1;
  for (double a : {1e-3, 0.5, 1.0, 5000.0}) {
    PhiloxStream s(31, 0, 0);
    for (int i = 0; i < 1000; ++i) {
      const uint64_t before = s.offset();
      hvae::gamma<T>(s, T(a));
      ASSERT_LE(s.offset() - before, uint64_t(max_blocks)) << a;
    }
  }
}

TYPED_TEST(Dist, InvalidShapesGiveNaN) {
  using T = TypeParam;
  PhiloxStream s(1, 1, 1);
  EXPECT_TRUE(std::isnan(hvae::gamma<T>(s, T(0))));
  EXPECT_TRUE(std::isnan(hvae::gamma<T>(s, T(-1))));
  EXPECT_TRUE(std::isnan(hvae::log_gamma<T>(s, std::numeric_limits<T>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(hvae::beta<T>(s, T(1), T(0))));
}

// Beta(a, b): mean a/(a+b), variance ab/((a+b)^2 (a+b+1)), excess kurtosis
// 6[(a-b)^2 (a+b+1) - ab(a+b+2)] / [ab(a+b+2)(a+b+3)], so mu4 = var^2 (3 + k).
TYPED_TEST(Dist, BetaMoments) {
  using T = TypeParam;
  const double shapes[][2] = {{0.5, 2.0}, {2.0, 3.0}, {4999.5, 4999.5}, {1.0, 1.0}};
  uint64_t sub = 0;
  for (const auto& ab : shapes) {
    const double a = ab[0], b = ab[1];
    PhiloxStream s(6502, sub++, 0);
    std::vector<double> x(200000);
    for (auto& v : x) {
      const hvae::BetaDraw<T> d = hvae::beta_pair<T>(s, T(a), T(b));
      ASSERT_TRUE(d.x >= T(0) && d.x <= T(1)) << a << " " << b;
      ASSERT_NEAR(double(d.x) + double(d.one_minus_x), 1.0,
                  4 * double(std::numeric_limits<T>::epsilon()));
      v = d.x;
    }
    const Moments m = moments(x);
    const double var = a * b / ((a + b) * (a + b) * (a + b + 1));
    SCOPED_TRACE(a);
    expect_mean(m, a / (a + b), var, "beta mean");
    const double kurt = 6 * ((a - b) * (a - b) * (a + b + 1) - a * b * (a + b + 2)) /
                        (a * b * (a + b + 2) * (a + b + 3));
    expect_var(m, var, var * var * (3 + kurt), "beta variance");
  }
}

// Tiny shapes: both gammas underflow (in float, nearly always), so only the
// log form gives a proper draw; Beta(1e-3, 1e-3) is close to a fair coin
// between 0 and 1.
TYPED_TEST(Dist, BetaTinyShapesAndLogForm) {
  using T = TypeParam;
  const double a = 1e-3, b = 1e-3;
  PhiloxStream s(11, 0, 0), t(11, 0, 0);
  std::vector<double> x(200000);
  for (auto& v : x) {
    const hvae::BetaDraw<T> d = hvae::beta_pair<T>(s, T(a), T(b));
    const hvae::BetaDraw<T> l = hvae::log_beta_pair<T>(t, T(a), T(b));
    ASSERT_TRUE(std::isfinite(l.x) && std::isfinite(l.one_minus_x));
    ASSERT_LE(l.x, T(0));
    ASSERT_LE(l.one_minus_x, T(0));
    ASSERT_NEAR(double(d.x), std::exp(double(l.x)),
                16 * double(std::numeric_limits<T>::epsilon()));
    v = d.x;
  }
  const Moments m = moments(x);
  const double var = a * b / ((a + b) * (a + b) * (a + b + 1));
  expect_mean(m, 0.5, var, "beta(1e-3, 1e-3) mean");
}

// log_beta_pair uses the same words as beta_pair and agrees with it.
TYPED_TEST(Dist, LogBetaMatchesBeta) {
  using T = TypeParam;
  PhiloxStream s(12, 0, 0), t(12, 0, 0);
  for (int i = 0; i < 2000; ++i) {
    const hvae::BetaDraw<T> d = hvae::beta_pair<T>(s, T(3), T(4999.5));
    const hvae::BetaDraw<T> l = hvae::log_beta_pair<T>(t, T(3), T(4999.5));
    const double tol = 64 * double(std::numeric_limits<T>::epsilon());
    EXPECT_NEAR(std::log(double(d.x)), double(l.x), tol * (1 + std::fabs(double(l.x))));
    EXPECT_NEAR(std::log(double(d.one_minus_x)), double(l.one_minus_x), tol);
  }
  EXPECT_EQ(s.offset(), t.offset());
}

}  // namespace
