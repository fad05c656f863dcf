// Modified Bessel functions of the first kind I_v(x), real order v >= 0 and
// real argument x >= 0, in log form, plus the ratio R_v = I_{v+1}/I_v and the
// x-derivatives. Header-only, host + device (see common.h for conventions).
//
// Regions (T = double / float):
//   v >= kOrderMin (32 / 12): uniform large-order (Debye) expansion, DLMF
//       10.41.3, with K (10 / 5) correction terms u_k(t)/v^k, evaluated in
//       log form together with its first and second x-derivatives.
//   v < kOrderMin, x <= kSeriesXMax (6 / 4): power series in log form,
//       I_v(x) = (x/2)^v / Gamma(v+1) * S_v(y), y = x^2/4,
//       S_v(y) = sum_k y^k / (k! (v+1)_k), summed by Horner from the top with
//       a y-dependent term count (<= 20 / 11).
//   otherwise: Debye at order mu = v + n >= kOrderMin (n = ceil(kOrderMin-v)),
//       then the (stable) backward recurrence I_{m-1} = (2m/x) I_m + I_{m+1}
//       normalised so that b_{v+n} = 1, b_{v+n+1} = R_{v+n}; then
//       b_v = I_v / I_{v+n} and R_v = b_{v+1} / b_v (no log per step).
//       The derivatives use the differentiated recurrences for
//       R_m, p_m = x^2 R_m' and g_m = R_m + m/x - 1, written so that no
//       step cancels (see comments at iv_shift_derivs).
//
// The u_k(t) polynomials come from the recurrence (DLMF 10.41.9)
//   u_{k+1}(t) = t^2 (1-t^2)/2 u_k'(t) + 1/8 int_0^t (1-5s^2) u_k(s) ds,
// computed once in exact rational arithmetic; the constants below are those
// rationals rounded to double. u_k(t) = t^k P_k(t^2), u_k'(t) = t^(k-1) Q_k(t^2),
// u_k''(t) = t^(k-2) W_k(t^2).
#pragma once

#include "common.h"

namespace hvae {
namespace bessel_detail {

// NaN / +inf without std::numeric_limits (whose constexpr members are host-only
// for nvcc unless --expt-relaxed-constexpr). Local to this header; common.h's
// quiet_nan/infinity warn (#20013-D) when instantiated in device code.
HVAE_HD double bessel_nan(double) { return ::nan(""); }
HVAE_HD float bessel_nan(float) { return ::nanf(""); }
HVAE_HD double bessel_inf(double) { return HUGE_VAL; }
HVAE_HD float bessel_inf(float) { return HUGE_VALF; }

template <typename T>
struct BesselCfg;
template <>
struct BesselCfg<double> {
  static constexpr int kDebyeTerms = 10;
  static constexpr double kOrderMin = 32.0;
  static constexpr double kSeriesXMax = 6.0;
};
template <>
struct BesselCfg<float> {
  static constexpr int kDebyeTerms = 5;
  static constexpr float kOrderMin = 12.0f;
  static constexpr float kSeriesXMax = 4.0f;
};

// Sums of the Debye corrections, with w = t/v, tau = t^2:
//   a0 = sum_{k=1..K} u_k(t)/v^k                 (= Sigma - 1)
//   a1 = v * sum_{k=1..K} u_k'(t)/v^k            (Sigma' = a1 / v)
//   a2 = v^2 * sum_{k=2..K} u_k''(t)/v^k,  c1 = u_1''(t)/t
//        (Sigma'' = a2 / v^2 + t * c1 / v)
// D selects how many derivatives are needed (0, 1, 2).
template <typename T, int K, int D>
HVAE_HD void debye_sums(T t, T w, T& a0, T& a1, T& a2, T& c1) {
  const T tau = t * t;
  a0 = T(0);
  a1 = T(0);
  a2 = T(0);
  c1 = T(0);
  if constexpr (K >= 10) {
    a0 = (a0 + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(3284469.853072038), tau, T(-19706819.118432228)), tau, T(50952602.49266464)), tau, T(-74105148.21153265)), tau, T(66344512.27472903)), tau, T(-37567176.66076335)), tau, T(13288767.166421818)), tau, T(-2785618.1280864547)), tau, T(308186.4046126624)), tau, T(-13886.08975371704)), tau, T(110.01714026924674))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(98534095.59216113), tau, T(-551790935.3161024)), tau, T(1324767664.8092806)), tau, T(-1778523557.076784)), tau, T(1459579270.0440385)), tau, T(-751343533.2152671)), tau, T(239197808.99559274)), tau, T(-44569890.049383275)), tau, T(4314609.664577274)), tau, T(-166633.0770446045)), tau, T(1100.1714026924674));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(2857488772.1726727), tau, T(-14898355253.534763)), tau, T(33119191620.232018)), tau, T(-40906041812.76603)), tau, T(30651164670.92481)), tau, T(-14275527131.090073)), tau, T(4066362752.9250765)), tau, T(-668548350.7407491)), tau, T(56089925.63950456)), tau, T(-1832963.8474906494)), tau, T(9901.542624232206));
  }
  if constexpr (K >= 9) {
    a0 = (a0 + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(-242919.18790055133), tau, T(1311763.6146629772)), tau, T(-2998015.9185381066)), tau, T(3763271.297656404)), tau, T(-2813563.226586534)), tau, T(1268365.2733216248)), tau, T(-331645.1724845636)), tau, T(45218.76898136273)), tau, T(-2499.8304818112097)), tau, T(24.380529699556064))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(-6558818.073314886), tau, T(32794090.36657443)), tau, T(-68954366.12637645)), tau, T(79028697.25078449)), tau, T(-53457701.305144146)), tau, T(21562209.646467622)), tau, T(-4974677.587268454)), tau, T(587843.9967577155)), tau, T(-27498.135299923306)), tau, T(219.42476729600457));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(-170529269.90618703), tau, T(787058168.7977864)), tau, T(-1516996054.780282)), tau, T(1580573945.0156896)), tau, T(-962238623.4925947)), tau, T(344995354.34348196)), tau, T(-69645486.22175835)), tau, T(7054127.961092586)), tau, T(-274981.35299923306)), tau, T(1755.3981383680366));
  }
  if constexpr (K >= 8) {
    a0 = (a0 + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(20204.29133096615), tau, T(-96980.59838863752)), tau, T(192547.00123253153)), tau, T(-203400.17728041555)), tau, T(122200.46498301746)), tau, T(-41192.65496889755)), tau, T(7109.514302489364)), tau, T(-493.915304773088)), tau, T(6.074042001273483))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(484902.99194318755), tau, T(-2133573.1645500255)), tau, T(3850940.0246506305)), tau, T(-3661203.1910474794)), tau, T(1955207.4397282794)), tau, T(-576697.1695645658)), tau, T(85314.17162987236)), tau, T(-4939.15304773088)), tau, T(48.592336010187864));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(11152768.814693315), tau, T(-44805036.45555053)), tau, T(73167860.46836199)), tau, T(-62240454.24780715)), tau, T(29328111.59592419)), tau, T(-7497063.204339354)), tau, T(938455.887928596)), tau, T(-44452.37742957792)), tau, T(340.14635207131505));
  }
  if constexpr (K >= 7) {
    a0 = (a0 + fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(-1919.457662318407), tau, T(8061.722181737309)), tau, T(-13586.550006434138)), tau, T(11655.393336864534)), tau, T(-5305.646978613403)), tau, T(1200.9029132163525)), tau, T(-108.09091978839466)), tau, T(1.7277275025844574))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(-40308.61090868655), tau, T(153172.72145300888)), tau, T(-230971.35010938035)), tau, T(174830.900052968)), tau, T(-68973.41072197424)), tau, T(13209.932045379877)), tau, T(-972.8182780955519)), tau, T(12.094092518091202));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(fma_(fma_(fma_(fma_(T(-806172.2181737309), tau, T(2757108.98615416)), tau, T(-3695541.6017500856)), tau, T(2447632.600741552)), tau, T(-827680.9286636909)), tau, T(132099.32045379878)), tau, T(-7782.5462247644155)), tau, T(72.56455510854721));
  }
  if constexpr (K >= 6) {
    a0 = (a0 + fma_(fma_(fma_(fma_(fma_(fma_(T(212.57013003921713), tau, T(-765.2524681411817)), tau, T(1059.9904525279999)), tau, T(-699.5796273761325)), tau, T(218.1905117442116)), tau, T(-26.491430486951554)), tau, T(0.5725014209747314))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(fma_(fma_(fma_(T(3826.262340705908), tau, T(-12244.039490258907)), tau, T(14839.866335391998)), tau, T(-8394.95552851359)), tau, T(2181.905117442116)), tau, T(-211.93144389561243)), tau, T(3.4350085258483887));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(fma_(fma_(fma_(T(65046.45979200044), tau, T(-183660.5923538836)), tau, T(192918.26236009598)), tau, T(-92344.5108136495)), tau, T(19637.146056979043)), tau, T(-1483.520107269287)), tau, T(17.175042629241943));
  }
  if constexpr (K >= 5) {
    a0 = (a0 + fma_(fma_(fma_(fma_(fma_(T(-28.212072558200244), tau, T(84.63621767460073)), tau, T(-91.81824154324002)), tau, T(42.53499874538846)), tau, T(-7.368794359479632)), tau, T(0.22710800170898438))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(fma_(fma_(T(-423.18108837300366), tau, T(1100.2708297698096)), tau, T(-1010.0006569756401)), tau, T(382.8149887084961)), tau, T(-51.58156051635742)), tau, T(1.1355400085449219));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(fma_(fma_(T(-5924.535237222051), tau, T(13203.249957237715)), tau, T(-10100.006569756402)), tau, T(3062.519909667969)), tau, T(-309.4893630981445)), tau, T(4.5421600341796875));
  }
  if constexpr (K >= 4) {
    a0 = (a0 + fma_(fma_(fma_(fma_(T(4.669584423426247), tau, T(-11.207002616222994)), tau, T(8.78912353515625)), tau, T(-2.3640869140625)), tau, T(0.112152099609375))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(fma_(T(56.03501308111497), tau, T(-112.07002616222994)), tau, T(70.31298828125)), tau, T(-14.184521484375)), tau, T(0.4486083984375));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(fma_(T(616.3851438922646), tau, T(-1008.6302354600695)), tau, T(492.19091796875)), tau, T(-70.922607421875)), tau, T(1.3458251953125));
  }
  if constexpr (K >= 3) {
    a0 = (a0 + fma_(fma_(fma_(T(-1.0258125964506173), tau, T(1.8464626736111112)), tau, T(-0.8912109375)), tau, T(0.0732421875))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(fma_(T(-9.232313368055555), tau, T(12.925238715277779)), tau, T(-4.4560546875)), tau, T(0.2197265625));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(fma_(T(-73.85850694444444), tau, T(77.55143229166667)), tau, T(-17.82421875)), tau, T(0.439453125));
  }
  if constexpr (K >= 2) {
    a0 = (a0 + fma_(fma_(T(0.3342013888888889), tau, T(-0.4010416666666667)), tau, T(0.0703125))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(fma_(T(2.0052083333333335), tau, T(-1.6041666666666667)), tau, T(0.140625));
    if constexpr (D >= 2) a2 = a2 * w + fma_(fma_(T(10.026041666666666), tau, T(-4.8125)), tau, T(0.140625));
  }
  if constexpr (K >= 1) {
    a0 = (a0 + fma_(T(-0.20833333333333334), tau, T(0.125))) * w;
    if constexpr (D >= 1) a1 = a1 * w + fma_(T(-0.625), tau, T(0.125));
  }
  // u_1''(t) = t * (T(-1.25))
  if constexpr (D >= 2) c1 = T(-1.25);
}

// ---------------------------------------------------------------------------
// Debye (uniform large-order) expansion at order v >= kOrderMin, 0 < x < inf.
// With z = x/v, s = sqrt(1+z^2), t = 1/s, Sigma(t) = sum_k u_k(t)/v^k:
//   log I_v(x) - x = v (1/(s+z) - asinh(1/z)) - log(2 pi v s)/2 + log Sigma
// (uses s - z = 1/(s+z) and log(z/(1+s)) = -asinh(1/z)). Differentiating
// (dt/dz = -z t^3, d/dx = (1/v) d/dz) with F = Sigma'/Sigma:
//   d/dx log I_v = s/z - h,  h = (z t^2 / v) (1/2 + t F)
//   R_v          = z/(1+s) - h              ((s-1)/z = z/(1+s))
//   d/dx log_ive = 1/(z (s+z)) - h          (s/z - 1 = 1/(z(s+z)))
//   R_v'  = (1/v) [ 1/(s(1+s)) + t^2 (1-2t^2)/(2v)
//                   - t^3 (F (3t^2-2) - t (zt)^2 F') / v ],  F' = Sigma''/Sigma - F^2
// and p = x^2 R_v' (used to seed the recurrence; no x^2 overflow).
template <typename T>
struct DebyeOut {
  T log_ive;     // log I_v(x) - x
  T ratio;       // R_v(x)
  T dlog_iv;     // d/dx log I_v
  T dlog_ive;    // d/dx log I_v - 1
  T ratio_dx;    // R_v'(x)
  T p;           // x^2 R_v'(x)
};

// D = 0: log_ive only; D = 1: + ratio and first derivatives; D = 2: + R'.
template <typename T, int D>
HVAE_HD DebyeOut<T> debye(T v, T x) {
  constexpr int K = BesselCfg<T>::kDebyeTerms;
  DebyeOut<T> o;
  const T z = x / v;
  const T s = hypot_(T(1), z);
  const T t = T(1) / s;
  const T w = t / v;
  T a0, a1, a2, c1;
  debye_sums<T, K, D>(t, w, a0, a1, a2, c1);
  const T sig = T(1) + a0;
  o.log_ive = v * (T(1) / (s + z) - asinh_(v / x)) -
              T(0.5) * (T(kLog2Pi) + log_(hypot_(v, x))) + log1p_(a0);
  o.ratio = o.dlog_iv = o.dlog_ive = o.ratio_dx = o.p = T(0);
  if constexpr (D >= 1) {
    const T F = a1 / (v * sig);
    const T zt = z * t;
    const T h = zt * w * (T(0.5) + t * F);
    o.ratio = z / (T(1) + s) - h;
    o.dlog_iv = s / z - h;
    o.dlog_ive = (T(1) / z) / (s + z) - h;
    if constexpr (D >= 2) {
      const T sig2 = a2 / (v * v) + t * c1 / v;
      const T Fp = sig2 / sig - F * F;
      const T tt = t * t;
      const T zt2 = zt * zt;  // = 1 - t^2
      const T c2 = tt * (zt2 - tt) / (T(2) * v);  // t^2 (1 - 2t^2) / (2v)
      const T c3 = t * (F * (T(3) * tt - T(2)) - t * zt2 * Fp) / v;
      // R' = (1/v) [ 1/(s(1+s)) + c2 - t^2 c3 ]
      o.ratio_dx = (t / (T(1) + s) + c2 - tt * c3) / v;
      // p = x^2 R' = v z^2 [...] = v [ (zt) z/(1+s) + (zt)^2 (c2/t^2 - c3) ]
      o.p = v * (zt * (z / (T(1) + s)) + zt2 * ((zt2 - tt) / (T(2) * v) - c3));
    }
  }
  return o;
}

// ---------------------------------------------------------------------------
// Power series, v < kOrderMin, 0 < x <= kSeriesXMax.
template <typename T>
struct SeriesCfg;
template <>
struct SeriesCfg<double> {
  static constexpr int kMaxTerms = 20;
  // smallest K with y^K / (K!)^2 < 1e-17 * S_0(y) for y up to the bound
  HVAE_HD static int terms(double y) {
    return y <= 1e-6 ? 3 : y <= 1e-2 ? 6 : y <= 0.25 ? 10 : y <= 1.0 ? 12 : y <= 4.0 ? 16 : 20;
  }
};
template <>
struct SeriesCfg<float> {
  static constexpr int kMaxTerms = 11;
  HVAE_HD static int terms(float y) {
    return y <= 1e-4f ? 2 : y <= 1e-2f ? 4 : y <= 0.25f ? 6 : y <= 1.0f ? 8 : 11;
  }
};

// S_nu(y) = sum_{k<K} y^k / (k! (nu+1)_k), Horner from the top (the divisions
// are off the dependency chain).
template <typename T>
HVAE_HD T series_sum(T nu, T y, int K) {
  T acc = T(1);
  for (int i = 0; i < SeriesCfg<T>::kMaxTerms; ++i) {
    const int k = K - 1 - i;
    if (k < 1) break;
    acc = fma_(y / (T(k) * (nu + T(k))), acc, T(1));
  }
  return acc;
}

// ---------------------------------------------------------------------------
// What to compute.
enum BesselWhat { kLogIve = 0, kLogIv, kRatio, kLogIvDx, kLogIveDx, kRatioDx };

template <typename T, int What>
HVAE_HD T bessel_special(T v, T x, bool& done) {
  done = true;
  if (isnan_(v) || isnan_(x) || v < T(0) || x < T(0)) return bessel_nan(T(0));
  if (x == T(0)) {
    switch (What) {
      case kLogIve:
      case kLogIv: return v == T(0) ? T(0) : -bessel_inf(T(0));
      case kRatio: return T(0);
      case kLogIvDx: return v == T(0) ? T(0) : bessel_inf(T(0));
      case kLogIveDx: return v == T(0) ? T(-1) : bessel_inf(T(0));
      default: return T(1) / (T(2) * (v + T(1)));
    }
  }
  if (x == bessel_inf(T(0))) {
    switch (What) {
      case kLogIve: return -bessel_inf(T(0));
      case kLogIv: return bessel_inf(T(0));
      case kRatio: return T(1);
      case kLogIvDx: return T(1);
      default: return T(0);
    }
  }
  done = false;
  return T(0);
}

template <typename T, int What>
HVAE_HD T bessel_eval(T v, T x) {
  bool done;
  const T sp = bessel_special<T, What>(v, x, done);
  if (done) return sp;
  constexpr T kOrderMin = BesselCfg<T>::kOrderMin;
  constexpr int D = (What == kRatioDx) ? 2 : (What == kLogIve || What == kLogIv) ? 0 : 1;

  if (v >= kOrderMin) {
    const DebyeOut<T> o = debye<T, D>(v, x);
    switch (What) {
      case kLogIve: return o.log_ive;
      case kLogIv: return o.log_ive + x;
      case kRatio: return o.ratio;
      case kLogIvDx: return o.dlog_iv;
      case kLogIveDx: return o.dlog_ive;
      default: return o.ratio_dx;
    }
  }

  if (x <= BesselCfg<T>::kSeriesXMax) {
    const T y = T(0.25) * x * x;
    const int K = SeriesCfg<T>::terms(y);
    const T s0 = series_sum<T>(v, y, K);
    if (What == kLogIve || What == kLogIv) {
      const T l = v * log_(T(0.5) * x) - lgamma_(v + T(1)) + log_(s0);
      return What == kLogIv ? l : l - x;
    }
    const T s1 = series_sum<T>(v + T(1), y, K);
    const T R = x / (T(2) * (v + T(1))) * (s1 / s0);
    switch (What) {
      case kRatio: return R;
      case kLogIvDx: return R + v / x;
      case kLogIveDx: return (R - T(1)) + v / x;
      default: {
        const T s2 = series_sum<T>(v + T(2), y, K);
        const T R1 = x / (T(2) * (v + T(2))) * (s2 / s1);
        // R_v' = R_v (1/x + R_{v+1} - R_v)  (from S_nu' = x S_{nu+1} / (2(nu+1)))
        return R * (T(1) / x + (R1 - R));
      }
    }
  }

  // Shift to order v + n >= kOrderMin and recur backwards.
  constexpr int kMaxShift = static_cast<int>(kOrderMin);
  const int n = static_cast<int>(ceil_(kOrderMin - v));
  const T top = v + T(n);
  const T ix = T(1) / x;
  if (What == kLogIve || What == kLogIv || What == kRatio) {
    // The top ratio seeds b_{top+1}; it is needed for log I_v as well.
    const DebyeOut<T> o = debye<T, 1>(top, x);
    // b_m = I_m / I_top: b_{m-1} = (2m/x) b_m + b_{m+1}; b_top = 1,
    // b_{top+1} = R_top. For x > kSeriesXMax no overflow is possible.
    T a = o.ratio, b = T(1);
    for (int i = 0; i < kMaxShift; ++i) {
      const int k = n - i;
      if (k < 1) break;
      const T c = (T(2) * (v + T(k))) * ix;
      const T nb = fma_(c, b, a);
      a = b;
      b = nb;
    }
    if (What == kRatio) return a / b;
    const T l = o.log_ive + log_(b);
    return What == kLogIv ? l + x : l;
  }
  const DebyeOut<T> o = debye<T, D>(top, x);
  T R = o.ratio, p = o.p, g = o.dlog_ive;
  for (int i = 0; i < kMaxShift; ++i) {
    const int k = n - i;
    if (k < 1) break;
    const T mu = v + T(k);
    const T mu1 = v + T(k - 1);
    const T Dn = fma_(x, R, T(2) * mu);
    const T invD = T(1) / Dn;
    const T Rn = x * invD;
    if (What == kRatioDx) {
      // p_{m-1} = x^2 R'_{m-1} = (2m - p_m) R_{m-1}^2
      p = (T(2) * mu - p) * (Rn * Rn);
    }
    if (What == kLogIveDx) {
      // g_{m-1} = [(m-1)(m + w) - x (1 + w)] / (x D),  w = x g_m
      const T wv = x * g;
      g = (mu1 * (mu + wv) - x * (T(1) + wv)) * invD * ix;
    }
    R = Rn;
  }
  switch (What) {
    case kRatio: return R;
    case kLogIvDx: return R + v * ix;
    case kLogIveDx: return g;
    default: return (p * ix) * ix;
  }
}

}  // namespace bessel_detail

template <typename T>
HVAE_HD T log_ive(T v, T x) {
  return bessel_detail::bessel_eval<T, bessel_detail::kLogIve>(v, x);
}
template <typename T>
HVAE_HD T log_iv(T v, T x) {
  return bessel_detail::bessel_eval<T, bessel_detail::kLogIv>(v, x);
}
template <typename T>
HVAE_HD T iv_ratio(T v, T x) {
  return bessel_detail::bessel_eval<T, bessel_detail::kRatio>(v, x);
}
template <typename T>
HVAE_HD T log_iv_dx(T v, T x) {
  return bessel_detail::bessel_eval<T, bessel_detail::kLogIvDx>(v, x);
}
template <typename T>
HVAE_HD T log_ive_dx(T v, T x) {
  return bessel_detail::bessel_eval<T, bessel_detail::kLogIveDx>(v, x);
}
template <typename T>
HVAE_HD T iv_ratio_dx(T v, T x) {
  return bessel_detail::bessel_eval<T, bessel_detail::kRatioDx>(v, x);
}

}  // namespace hvae
