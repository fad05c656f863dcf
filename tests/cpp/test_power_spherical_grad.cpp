// Tests of csrc/hvae/power_spherical_grad.h, d theta / d kappa of the Power
// Spherical angle. For odd m, beta = (m-1)/2 is an integer n and the Beta
// CDF is a finite sum, F = I_x(alpha, n) = x^alpha sum_{j<n} (alpha)_j/j! y^j,
// so dB/dalpha = -(dF/dalpha) / f(x) has the closed form
//   dB/dalpha = -x y^(1-n) B(alpha, n) sum_{j<n} (alpha)_j/j! y^j (log x + H_j),
// H_j = sum_{k<j} 1/(alpha + k), B(alpha, n) = (n-1)! / (alpha)_n, evaluated
// in long double. (Python tests compare the op with an mpmath quadrature
// for every m, and with betaincinv.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "hvae/power_spherical_grad.h"

namespace {

using ld = long double;

// d theta / d kappa at y = sin^2(theta/2) for integer beta = n, long double.
ld closed_dtheta(int n, ld kappa, ld y) {
  const ld alpha = n + kappa, x = 1 - y;  // log x as log1p(-y): y reaches 1e-12
  ld term = 1, h = 0, sum = 0;  // term = (alpha)_j / j! y^j
  for (int j = 0; j < n; ++j) {
    sum += term * (std::log1p(-y) + h);
    h += 1 / (alpha + j);
    term *= (alpha + j) / (j + 1) * y;
  }
  ld log_beta = std::lgamma(ld(n));  // log B(alpha, n) = log (n-1)! - log (alpha)_n
  for (int j = 0; j < n; ++j) log_beta -= std::log(alpha + j);
  const ld dB = -x * std::pow(y, ld(1 - n)) * std::exp(log_beta) * sum;
  return -dB / std::sqrt(x * y);  // d theta = -dB / (s c)
}

double theta_of_y(double y) { return 2.0 * std::asin(std::sqrt(y)); }

ld rel(ld a, ld b) { return std::fabs(a - b) / std::fabs(b); }

// Within a few standard deviations of the mean of 1 - B ~ Beta(beta, alpha),
// where the closed form's sum does not cancel.
std::vector<double> bulk_ys(double alpha, double beta) {
  const double mean = beta / (alpha + beta);
  const double sd = std::sqrt(alpha * beta / ((alpha + beta) * (alpha + beta) * (alpha + beta + 1)));
  std::vector<double> ys;
  for (double z : {-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0}) {
    const double y = mean + z * sd;
    if (y > 0 && y < 1) ys.push_back(y);
  }
  return ys;
}

TEST(PowerSphericalGrad, SeriesMatchesClosedFormForOddM) {
  ld worst = 0;
  int y_form = 0, x_form = 0, series = 0, points = 0;
  for (int m : {3, 5, 9, 17, 33, 65, 101}) {
    const int n = (m - 1) / 2;
    for (double kappa : {0.0, 0.3, 5.0, 100.0, 1e4, 1e6}) {
      for (double y : bulk_ys(n + kappa, n)) {
        const double theta = theta_of_y(y);
        ++points;
        // the reference at the y the double theta stands for
        const ld ys = std::sin(ld(theta) / 2) * std::sin(ld(theta) / 2);
        const hvae::PsSeriesSetup s = hvae::ps_series_setup(m, kappa, theta);
        y_form += s.form == hvae::PsSeriesForm::kY;
        x_form += s.form == hvae::PsSeriesForm::kX;
        const ld want = closed_dtheta(n, kappa, ys);
        const hvae::PsSeries got = hvae::ps_dtheta_dkappa_series(m, kappa, theta);
        const double value = hvae::ps_dtheta_dkappa<16>(m, kappa, theta);
        // float32 results: the looser series (or the 12-node quadrature)
        EXPECT_LT(rel(hvae::ps_dtheta_dkappa<12>(m, kappa, theta), want), 2e-7) << m << " " << kappa << " " << y;
        if (got.ok) {
          ++series;
          const ld e = rel(got.value, want);
          worst = std::fmax(worst, e);
          EXPECT_LT(e, 1e-12) << m << " " << kappa << " " << y;
          EXPECT_EQ(value, got.value);
        } else {  // a series too long for this point: the quadrature's ~1e-8
          EXPECT_LT(rel(value, want), 2e-8) << m << " " << kappa << " " << y;
        }
      }
    }
  }
  EXPECT_GT(y_form, 0);
  EXPECT_GT(x_form, 0);
  EXPECT_GT(series, points * 9 / 10);
  RecordProperty("worst", std::to_string(double(worst)));
}

// Draws of theta from the law itself (both tails included by the sample size).
std::vector<double> drawn_thetas(double m, double kappa, int count, unsigned seed) {
  std::mt19937_64 g(seed);
  std::gamma_distribution<double> ga(0.5 * (m - 1) + kappa), gb(0.5 * (m - 1));
  std::vector<double> th(count);
  for (double& t : th) {
    const double a = ga(g), b = gb(g);
    t = 2.0 * std::atan2(std::sqrt(b), std::sqrt(a));
  }
  return th;
}

TEST(PowerSphericalGrad, SeriesMatchesQuadrature) {
  // the quadrature is ~1e-8 accurate (16 nodes); the two share only D
  int compared = 0;
  for (double m : {2.0, 3.0, 4.0, 16.0, 64.0, 512.0}) {
    for (double kappa : {0.0, 1e-3, 0.7, 12.0, 400.0, 3e4, 1e6}) {
      for (double theta : drawn_thetas(m, kappa, 200, 7)) {
        if (!(theta > 0.0)) continue;
        const hvae::PsSeries s = hvae::ps_dtheta_dkappa_series(m, kappa, theta);
        if (!s.ok) continue;
        const double q = hvae::ps_dtheta_dkappa_quadrature<16>(m, kappa, theta);
        EXPECT_LT(std::fabs(s.value - q), 2e-8 * std::fabs(q)) << m << " " << kappa << " " << theta;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 7000);
}

TEST(PowerSphericalGrad, ChoosesItsPath) {
  // the bulk at large kappa: the y-series
  const double m = 16, big = 1e4, alpha = 7.5 + big;
  EXPECT_EQ(hvae::ps_series_setup(m, big, theta_of_y(7.5 / alpha)).form, hvae::PsSeriesForm::kY);
  EXPECT_TRUE(hvae::ps_dtheta_dkappa_series(m, big, theta_of_y(7.5 / alpha)).ok);
  // far in the lower tail of B (y ~ Gamma(7.5) / alpha at 60: ~1e-18): the
  // y-series cancels, the quadrature takes over, and the value is finite
  const double tail = theta_of_y(60.0 / alpha);
  EXPECT_EQ(hvae::ps_series_setup(m, big, tail).form, hvae::PsSeriesForm::kY);
  EXPECT_FALSE(hvae::ps_dtheta_dkappa_series(m, big, tail).ok);
  EXPECT_EQ(hvae::ps_dtheta_dkappa<16>(m, big, tail), hvae::ps_dtheta_dkappa_quadrature<16>(m, big, tail));
  EXPECT_TRUE(std::isfinite(hvae::ps_dtheta_dkappa<16>(m, big, tail)));
  // B near 0 at kappa = 0 (theta near pi): the x-series
  EXPECT_EQ(hvae::ps_series_setup(m, 0.0, 3.0).form, hvae::PsSeriesForm::kX);
  EXPECT_TRUE(hvae::ps_dtheta_dkappa_series(m, 0.0, 3.0).ok);
  // m = 10^4 at small kappa: ~hundreds of terms predicted, the quadrature
  EXPECT_EQ(hvae::ps_series_setup(1e4, 1.0, 1.5707963).form, hvae::PsSeriesForm::kQuadrature);
  // edges
  EXPECT_EQ(hvae::ps_dtheta_dkappa<16>(m, 3.0, 0.0), 0.0);
  EXPECT_EQ(hvae::ps_dtheta_dkappa<16>(m, 3.0, hvae::vmf_detail::kPi), 0.0);
  EXPECT_EQ(hvae::ps_dtheta_dkappa<16>(m, HUGE_VAL, 0.1), 0.0);
  EXPECT_TRUE(std::isnan(hvae::ps_dtheta_dkappa<16>(m, -1.0, 0.1)));
}

#if HVAE_LANES_VECTOR
TEST(PowerSphericalGrad, LanesEqualOneAtATime) {
  // values and the sin / cos of theta handed to the chain rule, bit for bit
  for (double m : {2.0, 3.0, 16.0, 64.0, 512.0, 1e4}) {
    for (double kappa : {0.0, 0.5, 30.0, 1e4, 1e6}) {
      std::vector<double> th = drawn_thetas(m, kappa, 203, 11);
      th[0] = 0.0;
      th[5] = hvae::vmf_detail::kPi;
      std::vector<double> k(th.size(), kappa);
      k[9] = -1.0;
      k[13] = HUGE_VAL;
      for (size_t i = 0; i < th.size(); i += hvae::kPsSeriesLanes) {
        const int count = static_cast<int>(std::min<size_t>(hvae::kPsSeriesLanes, th.size() - i));
        double out[hvae::kPsSeriesLanes];
        hvae::VmfAngle<double> angle[hvae::kPsSeriesLanes];
        hvae::ps_dtheta_dkappa_lanes<12>(m, &k[i], &th[i], count, out, angle);
        for (int l = 0; l < count; ++l) {
          const double one = hvae::ps_dtheta_dkappa<12>(m, k[i + l], th[i + l]);
          EXPECT_EQ(std::memcmp(&one, &out[l], sizeof(double)), 0) << m << " " << kappa << " " << th[i + l];
          const hvae::VmfAngle<double> a = hvae::ps_angle_sin_cos(th[i + l]);
          EXPECT_EQ(std::memcmp(&a, &angle[l], sizeof(a)), 0);
        }
      }
    }
  }
}
#endif

}  // namespace
