// Per-sample cost of the CPU sampler loops, one thread, straight over the
// headers (no torch, no op overhead): the forward (vmf_sample_range) and the
// backward with the kappa gradient (vmf_backward_range) of both angle laws,
// and the Power Spherical's d theta / d kappa in lanes alone, at B = 1024,
// m in {16, 64, 512}, kappa log-spaced in [1, 1e4]. Compiled as
// csrc/ops/vmf_cpu_avx2.cpp compiles the loops (AVX2, no FMA). The 10th
// percentile of 200 timings of the 1024 samples, in ns a sample.
//
//   g++ -O3 -std=c++17 -fopenmp -fno-math-errno -fno-trapping-math -Icsrc
//       tools/sampler_host_bench.cpp -o /tmp/sampler_host_bench && /tmp/sampler_host_bench
//
// (-I another checkout's csrc, from the one that added this file on, for a
// before/after comparison of the loops.)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#pragma GCC push_options
#pragma GCC target("avx2")
#include "hvae/philox_avx2.h"
#define HVAE_VMF_PHILOX_AVX2 1
#define HVAE_PS_SERIES_LANES 1
namespace avx2 {
#include "hvae/kernels/vmf_sample.h"
}  // namespace avx2

namespace {

using namespace avx2::hvae;

constexpr int64_t kBatch = 1024;

// The loops in functions of their own, as in vmf_cpu_avx2.cpp: inlined into
// the timing code they would be compiled (and inlined) differently.
template <typename T, typename Law>
__attribute__((noinline)) void sample_range(const VmfSampleParams<T>& p) {
  vmf_sample_range<T, Law>(p, 0, p.n);
}

template <typename T, typename Law>
__attribute__((noinline)) void backward_range(const VmfBackwardParams<T>& p) {
  vmf_backward_range<T, Law>(p, 0, p.n);
}

template <typename F>
double ns_per_sample(F&& f) {
  std::vector<double> t;
  for (int r = 0; r < 200; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 10] / kBatch;
}

template <typename T>
struct Inputs {
  std::vector<T> loc, kappa, z, theta, grad_z, grad_loc, grad_kappa;
  Inputs(int64_t m) : loc(kBatch * m), kappa(kBatch), z(kBatch * m), theta(kBatch), grad_z(kBatch * m),
                      grad_loc(kBatch * m), grad_kappa(kBatch) {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal;
    for (int64_t i = 0; i < kBatch; ++i) {
      double norm2 = 0.0;
      for (int64_t j = 0; j < m; ++j) norm2 += std::pow(loc[i * m + j] = T(normal(rng)), 2);
      for (int64_t j = 0; j < m; ++j) loc[i * m + j] = T(loc[i * m + j] / std::sqrt(norm2));
      kappa[i] = T(std::pow(10.0, 4.0 * double(i % 97) / 96.0));
    }
    for (T& g : grad_z) g = T(normal(rng));
  }
  int64_t m() const { return static_cast<int64_t>(loc.size()) / kBatch; }
  VmfSampleParams<T> sample_params() {
    VmfSampleParams<T> p{};
    p.loc = loc.data();
    p.kappa = kappa.data();
    p.z = z.data();
    p.theta = theta.data();
    p.loc_stride0 = m();
    p.loc_stride1 = 1;
    p.kappa_stride = 1;
    p.n = kBatch;
    p.m = m();
    p.seed = 5;
    return p;
  }
  VmfBackwardParams<T> backward_params() {
    VmfBackwardParams<T> b{};
    b.grad_z = grad_z.data();
    b.z = z.data();
    b.theta = theta.data();
    b.loc = loc.data();
    b.kappa = kappa.data();
    b.grad_loc = grad_loc.data();
    b.grad_kappa = grad_kappa.data();
    b.loc_stride0 = m();
    b.loc_stride1 = 1;
    b.kappa_stride = 1;
    b.n = kBatch;
    b.m = m();
    return b;
  }
};

template <typename T, typename Law>
void time_law(const char* law, int64_t m) {
  Inputs<T> in(m);
  const VmfSampleParams<T> p = in.sample_params();
  const double forward = ns_per_sample([&] { sample_range<T, Law>(p); });
  const VmfBackwardParams<T> b = in.backward_params();
  const double backward = ns_per_sample([&] { backward_range<T, Law>(b); });
  std::printf("%-4s %-7s m=%-4ld sample %7.1f ns   backward %7.1f ns\n", law, sizeof(T) == 4 ? "float32" : "float64",
              static_cast<long>(m), forward, backward);
}

// d theta / d kappa of the Power Spherical in lanes, at the sampler's own
// draws (theta from the float32 forward, as the op's backward sees it).
void time_ps_dtheta(int64_t m) {
  Inputs<float> in(m);
  sample_range<float, PsAngleLaw>(in.sample_params());
  std::vector<double> kappa(in.kappa.begin(), in.kappa.end()), theta(in.theta.begin(), in.theta.end()), out(kBatch);
  std::vector<VmfAngle<double>> angle(kBatch);
  const double t = ns_per_sample([&] {
    for (int64_t i = 0; i < kBatch; i += kPsSeriesLanes) {
      ps_dtheta_dkappa_lanes<12>(double(m), &kappa[i], &theta[i], kPsSeriesLanes, &out[i], &angle[i]);
    }
  });
  std::printf("ps   dtheta/dkappa in lanes, m=%-4ld %7.1f ns\n", static_cast<long>(m), t);
}

}  // namespace
#pragma GCC pop_options

int main() {
  if (!__builtin_cpu_supports("avx2")) {
    std::printf("no AVX2 on this CPU\n");
    return 0;
  }
  for (int64_t m : {16, 64, 512}) {
    time_law<float, PsAngleLaw>("ps", m);
    time_law<double, PsAngleLaw>("ps", m);
    time_law<float, VmfAngleLaw>("vmf", m);
    time_law<double, VmfAngleLaw>("vmf", m);
    time_ps_dtheta(m);
  }
  return 0;
}
