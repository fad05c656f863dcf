// log_iv / log_ive on the CPU, a block of elements at a time, so that the
// compiler vectorises the math (AVX2 in the x86-64-v3 clone of the CPU loop).
// Host-only (no CUDA): the CUDA kernel keeps the per-element bessel_eval.
//
// The per-element function branches per region and calls libm (log, lgamma),
// so no loop over it vectorises. Here a block of up to kBlock elements is
// sorted by region (a counting sort on a small code), and each region runs a
// branch-free, libm-free loop over its contiguous slice:
//   - Debye (csrc/hvae/bessel.h region 1), one loop per term count K and,
//     for log_iv, one for the band around the zero of eta (v_eta_near_zero);
//   - the power series, one loop per term count (SeriesCfg::terms), with
//     lgamma(v + 1) from a small cache of the block's orders;
//   - Hankel, in structure-of-arrays form: all elements of the slice take a
//     term at a time, and the slice stops once every element has converged
//     (terms past an element's own exit are below kHankelEps of its sum and
//     keep shrinking: the ratio of consecutive terms is < 1 for k < 2x);
//   - the shifted-order Debye + backward recurrence, with the number of steps
//     per element as a mask.
// The formulas, constants, thresholds and term counts are bessel.h's own; the
// differences are fastmath::log_pos for log (a few ulp, guarded to positive
// normal arguments), log1p as log(1+u) u / ((1+u) - 1) on it, and 1/k as a
// product. Anything else (0, inf, NaN, negative arguments, extreme x/v)
// takes the scalar bessel_eval.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "../bessel.h"
#include "../vmf_fastmath.h"

namespace hvae {
namespace bessel_block {

constexpr int kBlock = 256;

// Region codes. The Debye and series ranges are indexed by term-count bucket.
template <typename T>
struct BlockLayout;
template <>
struct BlockLayout<double> {
  static constexpr int kDebyeBuckets = 5;   // K = 10, 8, 6, 5, 4 (debye_sums_for_order)
  static constexpr int kSeriesBuckets = 7;  // K = 3, 6, 10, 12, 16, 20, 22 (SeriesCfg::terms)
  static int64_t debye_bucket(double v) {
    return int64_t(v >= 100.0) + int64_t(v >= 300.0) + int64_t(v >= 1000.0) + int64_t(v >= 5000.0);
  }
  static int64_t series_bucket(double y) {
    return int64_t(y > 1e-6) + int64_t(y > 1e-2) + int64_t(y > 0.25) + int64_t(y > 1.0) +
           int64_t(y > 4.0) + int64_t(y > 9.0);
  }
  // Vectorised paths only inside these bounds (positive normal log arguments).
  static constexpr double kXMin = 1e-290;
  static constexpr double kXMax = 1e300;
  static constexpr double kVMax = 1e8;
};
template <>
struct BlockLayout<float> {
  static constexpr int kDebyeBuckets = 3;   // K = 5, 3, 2
  static constexpr int kSeriesBuckets = 5;  // K = 2, 4, 6, 8, 11
  static int32_t debye_bucket(float v) { return int32_t(v >= 150.0f) + int32_t(v >= 40.0f); }
  static int32_t series_bucket(float y) {
    return int32_t(y > 1e-4f) + int32_t(y > 1e-2f) + int32_t(y > 0.25f) + int32_t(y > 1.0f);
  }
  static constexpr float kXMin = 1e-30f;
  static constexpr float kXMax = 1e30f;
  static constexpr float kVMax = 1e6f;
};

template <typename T>
struct Codes {
  using L = BlockLayout<T>;
  static constexpr int kScalar = 0;
  static constexpr int kDebye = 1;                                // + bucket
  static constexpr int kDebyeNear = kDebye + L::kDebyeBuckets;    // + bucket
  static constexpr int kSeries = kDebyeNear + L::kDebyeBuckets;   // + bucket
  static constexpr int kHankel = kSeries + L::kSeriesBuckets;     // + 0, 1, 2 by x / threshold
  static constexpr int kRecur = kHankel + 3;
  static constexpr int kCount = kRecur + 1;
};

template <typename T>
constexpr int debye_terms(int bucket) {
  if constexpr (sizeof(T) == 8) {
    constexpr int k[5] = {10, 8, 6, 5, 4};
    return k[bucket];
  } else {
    constexpr int k[3] = {5, 3, 2};
    return k[bucket];
  }
}
template <typename T>
constexpr int series_terms(int bucket) {
  if constexpr (sizeof(T) == 8) {
    constexpr int k[7] = {3, 6, 10, 12, 16, 20, 22};
    return k[bucket];
  } else {
    constexpr int k[5] = {2, 4, 6, 8, 11};
    return k[bucket];
  }
}

// Which loop element (v, x) takes; the region tests are bessel_eval's.
// Branch-free (selects on every test), so that the loop over a block
// vectorises: per-element branches here would mispredict as x jumps between
// regions. The code is an integer of T's width (one vector lane each).
template <typename T>
using CodeInt = typename std::conditional<sizeof(T) == 8, int64_t, int32_t>::type;

template <typename T, bool kIv>
inline CodeInt<T> classify(T v, T x) {
  using Cfg = bessel_detail::BesselCfg<T>;
  using L = BlockLayout<T>;
  using C = Codes<T>;
  using I = CodeInt<T>;
  // NaN fails every comparison and lands in kScalar.
  const bool valid = (v >= T(0)) & (v < L::kVMax) & (x >= L::kXMin) & (x < L::kXMax);
  const bool debye = (v >= Cfg::kOrderMin) | ((v >= Cfg::kOrderMinLog) & (x > Cfg::kSeriesXMax));
  // bessel_eval's z = x / v must lie in 1e-30 < z < 1e15 (its other branches).
  const bool z_ok = (x > T(1e-30 * 1.001) * v) & (x < T(1e15 * 0.999) * v);
  // near_eta_zero(x / v), multiplied out (either side of the band is accurate).
  const bool near = kIv & (std::fabs(x - bessel_detail::EtaZero<T>::hi * v) < T(0.25) * v);
  const I debye_code = (near ? I(C::kDebyeNear) : I(C::kDebye)) + L::debye_bucket(v);
  const I series_code = I(C::kSeries) + L::series_bucket(T(0.25) * x * x);
  const T thr = Cfg::kHankelA + Cfg::kHankelB * (v + T(1)) * (v + T(1));
  const I hankel_code = I(C::kHankel) + I(x >= T(4) * thr) + I(x >= T(40) * thr);
  const I far_code = x >= thr ? hankel_code : I(C::kRecur);
  const I small_code = x <= Cfg::kSeriesXMax ? series_code : far_code;
  const I code = debye ? (z_ok ? debye_code : I(C::kScalar)) : small_code;
  return valid ? code : I(C::kScalar);
}

template <typename T>
inline T log_fast(T u) {
  return fastmath::log_pos(u);
}
// log1p(u) for |u| < 1/2 (Goldberg's correction: the rounding of 1 + u is
// undone by u / ((1 + u) - 1)).
template <typename T>
inline T log1p_fast(T u) {
  const T up1 = T(1) + u;
  const T um = up1 - T(1);
  const T l = log_fast(up1);
  return um == T(0) ? u : l * (u / um);
}

// log I_v - x (and, for kWithRatio, R_v) by Debye with K terms: debye<T, 0/1>
// of bessel.h with log_fast. asinh(1/z) is log((1+s)/z) for z <= 1 and
// log1p(u), u = (1 + 1/(s+z))/z, for z > 1: one division serves both. kLogIv
// drops log1p's correction term: for z > 1 the rounding of 1 + u costs
// v eps/2 absolute, below eps relative to log I_v >= 0.12 x > 0.12 v (it is
// needed for log_ive, which can be much smaller than v).
template <typename T, int K, bool kWithRatio, bool kLogIv = false>
inline T debye_log_ive(T v, T x, T& z, T& s, T& log_pre, T& ratio) {
  const T iv = T(1) / v;
  z = x * iv;
  s = std::sqrt(T(1) + z * z);
  const T t = T(1) / s;
  const T w = t * iv;
  T a0, a1, a2, c1;
  bessel_detail::debye_sums<T, K, kWithRatio ? 1 : 0>(t, w, a0, a1, a2, c1);
  const T sig = T(1) + a0;
  const bool big = z > T(1);
  const T r = T(1) / (s + z);
  const T u = (T(1) + (big ? r : s)) / z;  // u for z > 1, else (1+s)/z
  const T up1 = T(1) + u;
  const T l = log_fast(big ? up1 : u);
  T ash = l;
  if constexpr (!kLogIv) {
    const T um = up1 - T(1);
    ash = big ? (um == T(0) ? u : l * (u / um)) : l;
  }
  log_pre = T(0.5) * (log_fast(sig * sig * w) - T(kLog2Pi));
  ratio = T(0);
  if constexpr (kWithRatio) {
    const T F = a1 / (v * sig);
    const T zt = z * t;
    const T h = zt * w * (T(0.5) + t * F);
    ratio = z / (T(1) + s) - h;
  }
  return v * (r - ash) + log_pre;
}

template <typename T, int K, bool kIv>
void debye_loop(const T* __restrict v, const T* __restrict x, T* __restrict r, int m) {
  for (int j = 0; j < m; ++j) {
    T z, s, log_pre, ratio;
    const T l = debye_log_ive<T, K, false, kIv>(v[j], x[j], z, s, log_pre, ratio);
    r[j] = kIv ? l + x[j] : l;
  }
}

// log_iv in the band |z - z0| < 0.25: v_eta_near_zero of bessel.h + log_pre.
template <typename T, int K>
void debye_near_loop(const T* __restrict v, const T* __restrict x, T* __restrict r, int m) {
  using E = bessel_detail::EtaZero<T>;
  for (int j = 0; j < m; ++j) {
    const T vj = v[j], xj = x[j];
    const T iv = T(1) / vj;
    const T z = xj * iv;
    const T s = std::sqrt(T(1) + z * z);
    const T t = T(1) / s;
    const T w = t * iv;
    T a0, a1, a2, c1;
    bessel_detail::debye_sums<T, K, 0>(t, w, a0, a1, a2, c1);
    const T sig = T(1) + a0;
    const T log_pre = T(0.5) * (log_fast(sig * sig * w) - T(kLog2Pi));
    const T dz = (std::fma(-E::hi, vj, xj) - E::lo * vj) / vj;
    const T ds = dz * (z + E::hi) / (s + E::s0);
    r[j] = vj * (ds + log1p_fast(dz / E::hi) - log1p_fast(ds / (T(1) + E::s0))) + log_pre;
  }
}

// lgamma(v + 1), the one libm call left, for the few distinct orders of a
// block (one for a scalar order, four for orders cycling through the vMF
// dimensions): the last kSize orders seen, replaced in turn.
template <typename T>
struct LgammaCache {
  static constexpr int kSize = 8;
  T v[kSize], lg[kSize];
  int last = 0, next = 0;
  LgammaCache() {
    for (int i = 0; i < kSize; ++i) v[i] = lg[i] = std::numeric_limits<T>::quiet_NaN();  // NaN never matches
  }
  T get(T order) {
    if (v[last] == order) return lg[last];
    for (int i = 0; i < kSize; ++i) {
      if (v[i] == order) {
        last = i;
        return lg[i];
      }
    }
    last = next;
    next = (next + 1) % kSize;
    v[last] = order;
    lg[last] = lgamma_(order + T(1));
    return lg[last];
  }
};

// lg = lgamma(v + 1) per element (from LgammaCache).
template <typename T, int K, bool kIv>
void series_loop(const T* __restrict v, const T* __restrict x, const T* __restrict lg,
                 T* __restrict r, int m) {
  for (int j = 0; j < m; ++j) {
    const T xj = x[j];
    const T y = T(0.25) * xj * xj;
    const T s0 = bessel_detail::series_sum<T>(v[j], y, K);
    const T l = v[j] * log_fast(T(0.5) * xj) - lg[j] + log_fast(s0);
    r[j] = kIv ? l : l - xj;
  }
}

// Hankel's sum H for the whole slice, a term at a time (see the top).
template <typename T, bool kIv>
void hankel_loop(const T* __restrict v, const T* __restrict x, T* __restrict r, int m,
                 T* __restrict mu, T* __restrict q, T* __restrict term, T* __restrict sum) {
  using Cfg = bessel_detail::BesselCfg<T>;
  for (int j = 0; j < m; ++j) {
    mu[j] = T(4) * v[j] * v[j];
    q[j] = T(0.125) * (T(1) / x[j]);
    term[j] = T(1);
    sum[j] = T(1);
  }
  for (int k = 1; k < Cfg::kHankelTerms; ++k) {
    const T odd2 = T((2 * k - 1) * (2 * k - 1));
    const T ik = T(1) / T(k);
    for (int j = 0; j < m; ++j) {
      term[j] = term[j] * ((odd2 - mu[j]) * q[j] * ik);
      sum[j] += term[j];
    }
    if (k % 2 == 0) {
      int open = 0;
      for (int j = 0; j < m; ++j) open |= std::fabs(term[j]) > Cfg::kHankelEps * std::fabs(sum[j]);
      if (!open) break;
    }
  }
  for (int j = 0; j < m; ++j) {
    const T ix = T(1) / x[j];
    const T l = T(0.5) * (log_fast(sum[j] * sum[j] * ix) - T(kLog2Pi));
    r[j] = kIv ? l + x[j] : l;
  }
}

// Debye at order top = v + n, n = ceil(kOrderMinLog - v), then the backward
// recurrence b_{m-1} = (2m/x) b_m + b_{m+1} two steps at a time, as in
// bessel_eval; the steps past an element's own n are masked.
template <typename T, bool kIv>
void recur_loop(const T* __restrict v, const T* __restrict x, T* __restrict r, int m) {
  using Cfg = bessel_detail::BesselCfg<T>;
  constexpr int kPairs = (static_cast<int>(Cfg::kOrderMinLog) + 1) / 2;
  for (int j = 0; j < m; ++j) {
    const T vj = v[j], xj = x[j];
    const T nn = std::ceil(T(Cfg::kOrderMinLog) - vj);
    const T top = vj + nn;
    T z, s, log_pre, ratio;
    const T log_ive = debye_log_ive<T, Cfg::kDebyeTerms, true>(top, xj, z, s, log_pre, ratio);
    const T ix = T(1) / xj;
    T a = ratio, b = T(1);
    T k = nn;
#pragma GCC unroll 16
    for (int i = 0; i < kPairs; ++i) {
      const T c0 = (T(2) * (vj + k)) * ix;
      const T c1 = (T(2) * (vj + (k - T(1)))) * ix;
      const T nb1 = c0 * b + a;
      const T nb2 = (c1 * c0 + T(1)) * b + c1 * a;
      const bool on = k >= T(2);
      a = on ? nb1 : a;
      b = on ? nb2 : b;
      k = on ? k - T(2) : k;
    }
    const T c0 = (T(2) * (vj + T(1))) * ix;
    const T nb = c0 * b + a;
    b = k == T(1) ? nb : b;
    const T l = log_ive + log_fast(b);
    r[j] = kIv ? l + xj : l;
  }
}

template <typename T, bool kIv, int B = 0>
void run_debye(int bucket, bool near, const T* v, const T* x, T* r, int m) {
  if constexpr (B < BlockLayout<T>::kDebyeBuckets) {
    if (bucket != B) return run_debye<T, kIv, B + 1>(bucket, near, v, x, r, m);
    if constexpr (kIv) {
      if (near) return debye_near_loop<T, debye_terms<T>(B)>(v, x, r, m);
    }
    debye_loop<T, debye_terms<T>(B), kIv>(v, x, r, m);
  }
}

template <typename T, bool kIv, int B = 0>
void run_series(int bucket, const T* v, const T* x, const T* lg, T* r, int m) {
  if constexpr (B < BlockLayout<T>::kSeriesBuckets) {
    if (bucket != B) return run_series<T, kIv, B + 1>(bucket, v, x, lg, r, m);
    series_loop<T, series_terms<T>(B), kIv>(v, x, lg, r, m);
  }
}

// out[i] = log_iv(v[i], x[i]) (kIv) or log_ive(v[i], x[i]) for i < n <= kBlock.
template <typename T, bool kIv>
void log_iv_block(const T* v, const T* x, T* out, int n) {
  using C = Codes<T>;
  constexpr int kWhat = kIv ? bessel_detail::kLogIv : bessel_detail::kLogIve;
  CodeInt<T> code[kBlock];
  for (int i = 0; i < n; ++i) code[i] = classify<T, kIv>(v[i], x[i]);
  int start[C::kCount + 1] = {};
  for (int i = 0; i < n; ++i) ++start[code[i] + 1];
  for (int c = 0; c < C::kCount; ++c) start[c + 1] += start[c];
  int pos[C::kCount];
  for (int c = 0; c < C::kCount; ++c) pos[c] = start[c];
  int32_t perm[kBlock];
  alignas(64) T vs[kBlock], xs[kBlock], rs[kBlock], scratch[4][kBlock];
  for (int i = 0; i < n; ++i) {
    const int p = pos[code[i]]++;
    perm[p] = i;
    vs[p] = v[i];
    xs[p] = x[i];
  }
  LgammaCache<T> lgamma_cache;
  for (int c = 0; c < C::kCount; ++c) {
    const int b = start[c], m = start[c + 1] - b;
    if (m == 0) continue;
    T* r = rs + b;
    if (c == C::kScalar) {
      for (int j = b; j < b + m; ++j) rs[j] = bessel_detail::bessel_eval<T, kWhat>(vs[j], xs[j]);
    } else if (c < C::kDebyeNear) {
      run_debye<T, kIv>(c - C::kDebye, false, vs + b, xs + b, r, m);
    } else if (c < C::kSeries) {
      run_debye<T, kIv>(c - C::kDebyeNear, true, vs + b, xs + b, r, m);
    } else if (c < C::kHankel) {
      T* lg = scratch[0];
      for (int j = 0; j < m; ++j) lg[j] = lgamma_cache.get(vs[b + j]);
      run_series<T, kIv>(c - C::kSeries, vs + b, xs + b, lg, r, m);
    } else if (c < C::kRecur) {
      hankel_loop<T, kIv>(vs + b, xs + b, r, m, scratch[0], scratch[1], scratch[2], scratch[3]);
    } else {
      recur_loop<T, kIv>(vs + b, xs + b, r, m);
    }
  }
#pragma GCC unroll 4
  for (int p = 0; p < n; ++p) out[perm[p]] = rs[p];
}

}  // namespace bessel_block
}  // namespace hvae
