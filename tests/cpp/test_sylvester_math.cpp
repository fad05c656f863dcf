// Host checks of csrc/hvae/sylvester.h: the stable log-det term against the
// plain formula and long double, its derivatives against finite differences,
// one step against a hand computation, the backward against finite
// differences of the forward, and the inverse round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hvae/sylvester.h"

namespace {

// The plain formula in long double: fine unless 1 + t1 t2 s cancels.
long double log_term_ld(long double d1, long double d2, long double a) {
  const long double s = 1.0L / (std::cosh(a) * std::cosh(a));
  return std::log(std::fabs(1.0L + std::tanh(d1) * std::tanh(d2) * s));
}

// The same quantity through the identity 1 + t1 t2 s = tanh^2 a + s cosh(d1 + d2) /
// (cosh d1 cosh d2), evaluated directly (not in log space) in long double: a
// sum of non-negative terms, accurate where the plain formula cancels.
long double log_term_identity_ld(long double d1, long double d2, long double a) {
  const long double t = std::tanh(a), c = std::cosh(a);
  return std::log(t * t + std::cosh(d1 + d2) / (c * c * std::cosh(d1) * std::cosh(d2)));
}

TEST(SylvesterMath, LogCoshAndSech2) {
  for (double x : {0.0, 1e-8, 0.3, -2.5, 20.0, -400.0, 1000.0}) {
    const long double ref = std::log(std::cosh(static_cast<long double>(x)));
    if (std::fabs(x) < 700) {
      EXPECT_NEAR(hvae::log_cosh(x), static_cast<double>(ref), 1e-15 * (1 + std::fabs(x)));
    }
    EXPECT_TRUE(std::isfinite(hvae::log_cosh(x)));
    EXPECT_TRUE(std::isfinite(hvae::log_cosh(static_cast<float>(x))));
  }
  EXPECT_NEAR(hvae::sech2(0.7), 1 - std::tanh(0.7) * std::tanh(0.7), 1e-15);
  // 1 - tanh^2 rounds to 0 at x = 30; sech2 keeps relative accuracy
  EXPECT_NEAR(hvae::sech2(30.0) / (4 * std::exp(-60.0)), 1.0, 1e-12);
}

TEST(SylvesterMath, TanhFromExpMatchesTanhSech2) {
  for (double x : {0.0, 1e-9, -0.1, 0.25, -0.2500001, 0.7, -3.0, 12.0, -40.0, 400.0}) {
    double th = 0, s = 0;
    hvae::tanh_sech2(x, th, s);
    EXPECT_EQ(hvae::tanh_from_exp(x), th) << x;
    float thf = 0, sf = 0;
    hvae::tanh_sech2(static_cast<float>(x), thf, sf);
    EXPECT_EQ(hvae::tanh_from_exp(static_cast<float>(x)), thf) << x;
  }
}

// The forward's product form of a step's log-det sum against the sum of the
// logs in long double: factors log-uniform over [2^-70, 2^70], so that some
// take their own log (outside [2^-20, 2^20]) and the product is rescaled
// many times both ways; then 0, inf and NaN.
TEST(SylvesterMath, LogSumMatchesSumOfLogs) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> expo(-70.0, 70.0);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 1 + 97 * trial;
    hvae::SylvesterLogSum<double> sum64;
    hvae::SylvesterLogSum<float> sum32;
    long double ref64 = 0, ref32 = 0, walk64 = 0, walk32 = 0;
    for (int i = 0; i < n; ++i) {
      const double x = std::exp2(expo(rng));
      sum64.add(x);
      ref64 += std::log(static_cast<long double>(x));
      walk64 += std::fabs(ref64);
      const float xf = static_cast<float>(std::exp2(expo(rng) * 120.0 / 70.0));  // within float's range
      sum32.add(xf);
      ref32 += std::log(static_cast<long double>(xf));
      walk32 += std::fabs(ref32);
    }
    // The bound of summing n rounded logs one by one (eps times the sum of
    // the partial sums' magnitudes, plus one rounding per term), which is
    // what the product form replaces: it must be no worse than that.
    const double eps64 = std::numeric_limits<double>::epsilon(), eps32 = std::numeric_limits<float>::epsilon();
    EXPECT_NEAR(sum64.value(), static_cast<double>(ref64), eps64 * (n + static_cast<double>(walk64))) << n;
    EXPECT_NEAR(sum32.value(), static_cast<double>(ref32), eps32 * (n + static_cast<double>(walk32))) << n;
  }
  hvae::SylvesterLogSum<double> zero, inf, nan;
  zero.add(2.0);
  zero.add(0.0);
  EXPECT_EQ(zero.value(), -std::numeric_limits<double>::infinity());
  inf.add(0.5);
  inf.add(std::numeric_limits<double>::infinity());
  EXPECT_EQ(inf.value(), std::numeric_limits<double>::infinity());
  nan.add(std::nan(""));
  EXPECT_TRUE(std::isnan(nan.value()));
}

TEST(SylvesterMath, TanhSech2) {
  // both branches of tanh (|x| <= 1/4 and above), signs, 0 and saturation
  for (double x : {0.0, 1e-9, -0.1, 0.25, -0.2500001, 0.7, -3.0, 12.0, -40.0, 400.0}) {
    double th = 0, s = 0;
    hvae::tanh_sech2(x, th, s);
    EXPECT_NEAR(th, std::tanh(x), 4e-16 * std::fabs(std::tanh(x))) << x;
    EXPECT_NEAR(s, hvae::sech2(x), 1e-300) << x;
    float thf = 0, sf = 0;
    hvae::tanh_sech2(static_cast<float>(x), thf, sf);
    EXPECT_NEAR(thf, std::tanh(x), 3e-7 * std::fabs(std::tanh(x))) << x;
    EXPECT_EQ(sf, hvae::sech2(static_cast<float>(x))) << x;
  }
}

TEST(SylvesterMath, DiagTermPlainMatchesFormula) {
  const double r1 = 0.7, r2 = -1.3, a = 0.4;
  const double s = 1 - std::tanh(a) * std::tanh(a);
  const auto t = hvae::sylvester_diag_term(r1, r2, a, false);
  EXPECT_NEAR(t.log_term, std::log(std::fabs(1 + r1 * r2 * s)), 1e-15);
}

TEST(SylvesterMath, DiagTermTanhStableAgainstLongDouble) {
  // includes t1 t2 -> -1 with a -> 0, where 1 + t1 t2 sech^2 a cancels
  const double cases[][3] = {{0.3, -0.8, 0.2}, {5.0, -5.0, 1e-3}, {12.0, -12.0, 0.0},
                             {8.0, -9.0, 1e-5}, {-7.0, 7.0, 2.0}, {3.0, 4.0, -1.0}};
  for (const auto& c : cases) {
    const long double ref = log_term_identity_ld(c[0], c[1], c[2]);
    if (std::fabs(c[0] + c[1]) > 1) {  // no cancellation: the plain formula agrees
      EXPECT_NEAR(static_cast<double>(log_term_ld(c[0], c[1], c[2])), static_cast<double>(ref), 1e-15);
    }
    const double got = hvae::sylvester_diag_term(c[0], c[1], c[2], true).log_term;
    EXPECT_NEAR(got, static_cast<double>(ref), 1e-13 * (1 + std::fabs(static_cast<double>(ref))))
        << c[0] << " " << c[1] << " " << c[2];
  }
  // float32 where tanh saturates: finite and close to the double value
  for (float d : {10.0f, 30.0f, 60.0f}) {
    const float got = hvae::sylvester_diag_term(d, -d, 0.0f, true).log_term;
    const double ref = hvae::sylvester_diag_term(double(d), double(-d), 0.0, true).log_term;
    EXPECT_TRUE(std::isfinite(got));
    EXPECT_NEAR(got, ref, 2e-6 * std::fabs(ref));
  }
}

TEST(SylvesterMath, DiagTermDerivativesMatchFiniteDifferences) {
  const double h = 1e-6;
  // (0.9, -0.6): q > 1/2, the direct branch; (3, -3): q ~ 0.12, the stable one
  const double cases[][3] = {{0.9, -0.6, 0.35}, {3.0, -3.0, 0.35}, {3.0, -3.0, -0.02}};
  for (const auto& c : cases) for (bool diag_tanh : {false, true}) {
    const double r1 = c[0], r2 = c[1], a = c[2];
    const auto t = hvae::sylvester_diag_term(r1, r2, a, diag_tanh);
    auto f = [&](double x, double y, double z) { return hvae::sylvester_diag_term(x, y, z, diag_tanh).log_term; };
    const double tol = 1e-8 * (1 + std::fabs(t.d_a));
    EXPECT_NEAR(t.d_r1, (f(r1 + h, r2, a) - f(r1 - h, r2, a)) / (2 * h), tol) << r1 << " " << r2 << " " << a;
    EXPECT_NEAR(t.d_r2, (f(r1, r2 + h, a) - f(r1, r2 - h, a)) / (2 * h), tol) << r1 << " " << r2 << " " << a;
    EXPECT_NEAR(t.d_a, (f(r1, r2, a + h) - f(r1, r2, a - h)) / (2 * h), tol) << r1 << " " << r2 << " " << a;
  }
}

// d log q / dd1 at a = 0, where q = 1 + tanh d1 tanh d2: tanh(d1 + d2) - tanh(d1)
// = sinh(d2) / (cosh(d1 + d2) cosh d1), in log space in long double (cosh of
// 1e4 is finite there, but the logs keep it simple).
long double d_r1_at_zero_ld(long double d1, long double d2) {
  auto lc = [](long double x) { return std::fabs(x) + std::log1p(std::exp(-2 * std::fabs(x))) - std::log(2.0L); };
  const long double ls = std::fabs(d2) + std::log1p(-std::exp(-2 * std::fabs(d2))) - std::log(2.0L);
  return (d2 < 0 ? -1 : 1) * std::exp(ls - lc(d1 + d2) - lc(d1));
}

TEST(SylvesterMath, DiagTermSaturatedDerivativesFloat32) {
  // Raw diagonals of opposite signs and size up to 1e4 at a = 0, where the
  // cancelling branch is taken: each float32 derivative must match the exact
  // value to ~eps, not ~|d| eps (log-cosh sums rounded at size |d|).
  for (double d : {15.0, 40.0, 66.0, 1e3, 1e4}) {
    for (double ratio : {-1.1, -1.0001, -0.9, -0.5}) {
      const float d1 = static_cast<float>(d), d2 = static_cast<float>(ratio * d);
      for (int swap = 0; swap < 2; ++swap) {
        const float x = swap ? d2 : d1, y = swap ? d1 : d2;
        const auto t = hvae::sylvester_diag_term(x, y, 0.0f, true);
        const auto t64 = hvae::sylvester_diag_term(double(x), double(y), 0.0, true);
        const long double e1 = d_r1_at_zero_ld(x, y), e2 = d_r1_at_zero_ld(y, x);
        // The exact value is +-exp(E) with E <= log 2 of size ~2|d1 + d2|
        // (the true sensitivity to d1 + d2), so exp of a rounded E is good to
        // ~(1 + |E|) eps32 relative, and no better: allow 2 (2 + |E|) eps32.
        // The old form, rounded at size ~2|d|, was off by ~|d| eps32.
        auto tol32 = [](long double e) {
          const double m = std::fabs(static_cast<double>(e));
          return m == 0 ? 1e-38 : 2.4e-7 * (2 + std::fabs(std::log(m))) * m + 1e-38;
        };
        EXPECT_NEAR(t.d_r1, static_cast<double>(e1), tol32(e1)) << x << " " << y;
        EXPECT_NEAR(t.d_r2, static_cast<double>(e2), tol32(e2)) << x << " " << y;
        EXPECT_NEAR(t64.d_r1, static_cast<double>(e1), 1e-14 * std::fabs(static_cast<double>(e1)) + 1e-300);
        EXPECT_NEAR(t64.d_r2, static_cast<double>(e2), 1e-14 * std::fabs(static_cast<double>(e2)) + 1e-300);
        EXPECT_EQ(t.d_a, 0.0f);
        // the log-det term itself: lc(d1 + d2) - lc(d1) - lc(d2), relative eps
        const long double lq = std::log(std::cosh(static_cast<long double>(x) + y)) -
                               std::log(std::cosh(static_cast<long double>(x))) -
                               std::log(std::cosh(static_cast<long double>(y)));
        if (d < 5000) {  // cosh overflows neither way below this in long double
          EXPECT_NEAR(t.log_term, static_cast<double>(lq), 2e-7 * std::fabs(static_cast<double>(lq)));
          EXPECT_NEAR(t64.log_term, static_cast<double>(lq), 1e-15 * std::fabs(static_cast<double>(lq)));
        }
      }
    }
  }
}

TEST(SylvesterMath, RowOffsets) {
  // packed row i starts after rows 0..i-1 of lengths D, D-1, ...
  const int64_t D = 5;
  int64_t start = 0;
  for (int64_t i = 0; i < D; ++i) {
    EXPECT_EQ(hvae::sylvester_row_offset(i, D, 0, true), start);
    EXPECT_EQ(hvae::sylvester_row_offset(i, D, 7, false), i * 7 + i);
    start += D - i;
  }
  EXPECT_EQ(hvae::sylvester_factor_size(D, true), 15);
  EXPECT_EQ(hvae::sylvester_factor_size(D, false), 25);
}

// A single sample's flow with dense per-sample parameters.
struct Flow {
  int64_t D, K;
  std::vector<double> r1, r2, b;
  hvae::SylvesterFlips flips{};
  bool diag_tanh = false;

  hvae::SylvesterParams<double> params(const double* z, double* z_out, double* logdet, double* zs,
                                       double* as) const {
    hvae::SylvesterParams<double> p{};
    p.batch = 1;
    p.num_flows = K;
    p.dim = D;
    p.packed = false;
    p.diag_tanh = diag_tanh;
    p.per_step_logdet = false;
    p.flips = flips;
    p.z = z;
    p.z_batch_stride = D;
    p.z_dim_stride = 1;
    p.r1 = {r1.data(), K * D * D, D * D, D};
    p.r2 = {r2.data(), K * D * D, D * D, D};
    p.b = b.data();
    p.b_batch_stride = K * D;
    p.b_step_stride = D;
    p.b_dim_stride = 1;
    p.z_out = z_out;
    p.logdet = logdet;
    p.zs = zs;
    p.as = as;
    return p;
  }

  double forward(const std::vector<double>& z, std::vector<double>& out) const {
    std::vector<double> w(3 * D);
    double logdet = 0;
    out.assign(D, 0);
    const auto p = params(z.data(), out.data(), &logdet, nullptr, nullptr);
    hvae::sylvester_forward_sample(p, 0, w.data(), w.data() + D, w.data() + 2 * D);
    return logdet;
  }
};

Flow random_flow(int64_t D, int64_t K, unsigned seed, bool diag_tanh) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Flow f{D, K, std::vector<double>(K * D * D), std::vector<double>(K * D * D), std::vector<double>(K * D)};
  for (auto& x : f.r1) x = normal(rng) / std::sqrt(double(D));
  for (auto& x : f.r2) x = normal(rng) / std::sqrt(double(D));
  for (auto& x : f.b) x = normal(rng);
  for (int64_t k = 0; k < K; ++k) {
    if (k % 2 == 1) f.flips.words[0] |= 1u << k;
  }
  f.diag_tanh = diag_tanh;
  return f;
}

TEST(SylvesterMath, OneStepByHand) {
  // D = 2, no flip: a = R2 z + b, z' = z + R1 tanh(a)
  Flow f{2, 1, {0.5, 0.3, 99.0, -0.4}, {0.2, -0.7, 99.0, 0.9}, {0.1, -0.2}};
  const std::vector<double> z = {0.8, -1.1};
  std::vector<double> out;
  const double logdet = f.forward(z, out);
  const double a0 = 0.2 * 0.8 - 0.7 * -1.1 + 0.1, a1 = 0.9 * -1.1 - 0.2;
  const double h0 = std::tanh(a0), h1 = std::tanh(a1);
  EXPECT_NEAR(out[0], 0.8 + 0.5 * h0 + 0.3 * h1, 1e-15);
  EXPECT_NEAR(out[1], -1.1 - 0.4 * h1, 1e-15);
  const double expected = std::log(std::fabs(1 + 0.5 * 0.2 * (1 - h0 * h0))) +
                          std::log(std::fabs(1 - 0.4 * 0.9 * (1 - h1 * h1)));
  EXPECT_NEAR(logdet, expected, 1e-15);
}

TEST(SylvesterMath, BackwardMatchesFiniteDifferences) {
  for (bool diag_tanh : {false, true}) {
    const int64_t D = 4, K = 3;
    Flow f = random_flow(D, K, 7, diag_tanh);
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal;
    std::vector<double> z(D), wz(D);
    for (auto& x : z) x = normal(rng);
    for (auto& x : wz) x = normal(rng);
    const double wl = 0.7;
    auto loss = [&](const Flow& g, const std::vector<double>& zz) {
      std::vector<double> out;
      const double ld = g.forward(zz, out);
      double l = wl * ld;
      for (int64_t j = 0; j < D; ++j) l += wz[j] * out[j];
      return l;
    };
    // backward
    std::vector<double> out(D), zs(K * D), as(K * D), w(10 * D), gz(D);
    std::vector<double> g1(K * D * D, 0.0), g2(K * D * D, 0.0), gb(K * D, 0.0);
    double logdet = 0;
    hvae::SylvesterBackwardParams<double> bp{};
    bp.fwd = f.params(z.data(), out.data(), &logdet, zs.data(), as.data());
    hvae::sylvester_forward_sample(bp.fwd, 0, w.data(), w.data() + D, w.data() + 2 * D);
    bp.grad_z_out = wz.data();
    bp.gz_batch_stride = D;
    bp.gz_dim_stride = 1;
    bp.grad_logdet = &wl;
    bp.gl_batch_stride = 1;
    bp.gl_step_stride = 0;
    bp.zs = zs.data();
    bp.as = as.data();
    bp.grad_z = gz.data();
    bp.grad_r1 = g1.data();
    bp.grad_r2 = g2.data();
    bp.grad_b = gb.data();
    bp.grad_r1_batch_stride = K * D * D;
    bp.grad_r2_batch_stride = K * D * D;
    bp.grad_b_batch_stride = K * D;
    hvae::sylvester_backward_sample<false>(bp, 0, w.data(), w.data() + D, w.data() + 2 * D,
                                           w.data() + 3 * D, w.data() + 4 * D, w.data() + 5 * D, w.data() + 6 * D);
    const double h = 1e-6, tol = 1e-7;
    for (int64_t j = 0; j < D; ++j) {
      std::vector<double> zp = z, zm = z;
      zp[j] += h;
      zm[j] -= h;
      EXPECT_NEAR(gz[j], (loss(f, zp) - loss(f, zm)) / (2 * h), tol);
    }
    for (int64_t idx = 0; idx < K * D * D; ++idx) {
      const int64_t i = (idx / D) % D, j = idx % D;
      for (int which = 0; which < 2; ++which) {
        Flow fp = f, fm = f;
        (which == 0 ? fp.r1 : fp.r2)[idx] += h;
        (which == 0 ? fm.r1 : fm.r2)[idx] -= h;
        const double fd = (loss(fp, z) - loss(fm, z)) / (2 * h);
        const double got = (which == 0 ? g1 : g2)[idx];
        if (j < i) {
          EXPECT_EQ(fd, 0.0);  // the lower triangle is never read
        } else {
          EXPECT_NEAR(got, fd, tol) << "factor " << which << " element " << idx;
        }
      }
    }
    for (int64_t idx = 0; idx < K * D; ++idx) {
      Flow fp = f, fm = f;
      fp.b[idx] += h;
      fm.b[idx] -= h;
      EXPECT_NEAR(gb[idx], (loss(fp, z) - loss(fm, z)) / (2 * h), tol);
    }
  }
}

TEST(SylvesterMath, InverseRoundTrip) {
  for (bool diag_tanh : {false, true}) {
    const int64_t D = 9, K = 4;
    Flow f = random_flow(D, K, 11, diag_tanh);
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    std::vector<double> z(D), out, back(D), w(3 * D);
    for (auto& x : z) x = normal(rng);
    f.forward(z, out);
    double unused = 0;
    const auto p = f.params(out.data(), back.data(), &unused, nullptr, nullptr);
    hvae::sylvester_inverse_sample(p, 0, w.data(), w.data() + D, w.data() + 2 * D);
    for (int64_t j = 0; j < D; ++j) EXPECT_NEAR(back[j], z[j], 1e-12);
  }
}

TEST(SylvesterMath, SolveCoordinateBracketsHardCases) {
  // r1 r2 = -0.999: f'(x) = 1 - 0.999 sech^2(...) down to 1e-3
  const double r1 = 3.0, r2 = -0.333, c = 0.01;
  for (double rhs : {-4.0, -0.01, 0.0, 0.02, 5.0}) {
    const double x = hvae::sylvester_solve_coordinate(r1, r2, c, rhs);
    EXPECT_NEAR(x + r1 * std::tanh(r2 * x + c), rhs, 1e-14 * (1 + std::fabs(rhs)));
  }
  EXPECT_EQ(hvae::sylvester_solve_coordinate(0.0, 2.0, 1.0, 3.5), 3.5);
}

}  // namespace
