// Modified Bessel functions of the first kind I_v(x), real order v >= 0 and
// real argument x >= 0, in log form, plus the ratio R_v = I_{v+1}/I_v and the
// x-derivatives. Header-only, host + device (see common.h for conventions).
//
// Regions (T = double / float); every region was checked against mpmath, see
// tests/test_bessel_accuracy.py and tests/data/make_bessel_reference.py:
//   1. v >= kOrderMin (32 / 12), or for log_iv/log_ive v >= kOrderMinLog
//      (24 / 8) and x > kSeriesXMax: uniform large-order (Debye) expansion,
//      DLMF 10.41.3, with up to K (10 / 5) terms u_k(t)/v^k (fewer for larger
//      v), in log form, with its first and second x-derivatives.
//   2. x <= kSeriesXMax (8 / 4; 2 for R'): power series in log form,
//      I_v(x) = (x/2)^v / Gamma(v+1) * S_v(y), y = x^2/4,
//      S_v(y) = sum_k y^k / (k! (v+1)_k), Horner from the top with a
//      y-dependent term count (<= 22 / 11), no division in the loop.
//   3. x >= A + B (v+1)^2 (A, B = 25, 0.4 / 20, 0.65): Hankel expansion
//      DLMF 10.40.1 (<= 28 / 14 terms, early exit); R' only for v <= 4.
//   4. otherwise: Debye at order top = v + n (n = ceil(threshold - v)), then
//      the stable backward recurrence I_{m-1} = (2m/x) I_m + I_{m+1},
//      normalised b_top = 1, b_{top+1} = R_top, so that b_v = I_v / I_top and
//      R_v = b_{v+1} / b_v (one log at the end, no division per step).
//      Derivatives: recurrences for R_m, p_m = x^2 R_m' (or, for x >> v^2,
//      q_m = p_m - m - 1/2 and 1 - R_m) and g_m = R_m + m/x - 1, each written
//      without cancellation (see bessel_eval).
// No loop runs more than a compile-time bound; no recursion, no allocation.
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
  // log_iv / log_ive only: the omitted Debye term is an absolute error
  // max|u_11|/v^11 <= 2.5e-15 in log I_v for v >= 24, so the expansion is used
  // directly there (for R and the derivatives 32 is kept).
  static constexpr double kOrderMinLog = 24.0;
  static constexpr double kSeriesXMax = 8.0;
  // Hankel expansion for v < kOrderMin when x >= kHankelA + kHankelB (v+1)^2,
  // at most kHankelTerms terms (the first omitted term is then < 2e-17).
  static constexpr int kHankelTerms = 28;
  static constexpr double kHankelA = 25.0;
  static constexpr double kHankelB = 0.4;
  static constexpr double kHankelEps = 1e-17;
  // R' uses Hankel only for v <= kHankelRdxVMax and x >= kHankelRdxXFac * (A + B (v+1)^2).
  static constexpr double kHankelRdxVMax = 4.0;
  static constexpr double kHankelRdxXFac = 1.0;
  // R' recurrence in q-form (see bessel_eval) for x >= kQFormFac (v+1)^2.
  static constexpr double kQFormFac = 1.0;
};
template <>
struct BesselCfg<float> {
  static constexpr int kDebyeTerms = 5;
  static constexpr float kOrderMin = 12.0f;
  static constexpr float kOrderMinLog = 8.0f;  // max|u_6|/8^6 = 1.5e-7
  static constexpr float kSeriesXMax = 4.0f;
  static constexpr int kHankelTerms = 14;
  static constexpr float kHankelA = 20.0f;
  static constexpr float kHankelB = 0.65f;
  static constexpr float kHankelEps = 3e-8f;
  static constexpr float kHankelRdxVMax = 4.0f;
  static constexpr float kHankelRdxXFac = 0.6f;
  static constexpr float kQFormFac = 1.0f;
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
  const T tau2 = tau * tau;  // Estrin split of the longer polynomials
  (void)tau2;
  a0 = T(0);
  a1 = T(0);
  a2 = T(0);
  c1 = T(0);
  if constexpr (K >= 10) {
    a0 = (a0 + ((((((T(3284469.853072038)) * tau2 + T(50952602.49266464)) * tau2 + T(66344512.27472903)) * tau2 + T(13288767.166421818)) * tau2 + T(308186.4046126624)) * tau2 + T(110.01714026924674)) + tau * (((((T(-19706819.118432228)) * tau2 + T(-74105148.21153265)) * tau2 + T(-37567176.66076335)) * tau2 + T(-2785618.1280864547)) * tau2 + T(-13886.08975371704))) * w;
    if constexpr (D >= 1) a1 = a1 * w + ((((((T(98534095.59216113)) * tau2 + T(1324767664.8092806)) * tau2 + T(1459579270.0440385)) * tau2 + T(239197808.99559274)) * tau2 + T(4314609.664577274)) * tau2 + T(1100.1714026924674)) + tau * (((((T(-551790935.3161024)) * tau2 + T(-1778523557.076784)) * tau2 + T(-751343533.2152671)) * tau2 + T(-44569890.049383275)) * tau2 + T(-166633.0770446045));
    if constexpr (D >= 2) a2 = a2 * w + ((((((T(2857488772.1726727)) * tau2 + T(33119191620.232018)) * tau2 + T(30651164670.92481)) * tau2 + T(4066362752.9250765)) * tau2 + T(56089925.63950456)) * tau2 + T(9901.542624232206)) + tau * (((((T(-14898355253.534763)) * tau2 + T(-40906041812.76603)) * tau2 + T(-14275527131.090073)) * tau2 + T(-668548350.7407491)) * tau2 + T(-1832963.8474906494));
  }
  if constexpr (K >= 9) {
    a0 = (a0 + (((((T(1311763.6146629772)) * tau2 + T(3763271.297656404)) * tau2 + T(1268365.2733216248)) * tau2 + T(45218.76898136273)) * tau2 + T(24.380529699556064)) + tau * (((((T(-242919.18790055133)) * tau2 + T(-2998015.9185381066)) * tau2 + T(-2813563.226586534)) * tau2 + T(-331645.1724845636)) * tau2 + T(-2499.8304818112097))) * w;
    if constexpr (D >= 1) a1 = a1 * w + (((((T(32794090.36657443)) * tau2 + T(79028697.25078449)) * tau2 + T(21562209.646467622)) * tau2 + T(587843.9967577155)) * tau2 + T(219.42476729600457)) + tau * (((((T(-6558818.073314886)) * tau2 + T(-68954366.12637645)) * tau2 + T(-53457701.305144146)) * tau2 + T(-4974677.587268454)) * tau2 + T(-27498.135299923306));
    if constexpr (D >= 2) a2 = a2 * w + (((((T(787058168.7977864)) * tau2 + T(1580573945.0156896)) * tau2 + T(344995354.34348196)) * tau2 + T(7054127.961092586)) * tau2 + T(1755.3981383680366)) + tau * (((((T(-170529269.90618703)) * tau2 + T(-1516996054.780282)) * tau2 + T(-962238623.4925947)) * tau2 + T(-69645486.22175835)) * tau2 + T(-274981.35299923306));
  }
  if constexpr (K >= 8) {
    a0 = (a0 + (((((T(20204.29133096615)) * tau2 + T(192547.00123253153)) * tau2 + T(122200.46498301746)) * tau2 + T(7109.514302489364)) * tau2 + T(6.074042001273483)) + tau * ((((T(-96980.59838863752)) * tau2 + T(-203400.17728041555)) * tau2 + T(-41192.65496889755)) * tau2 + T(-493.915304773088))) * w;
    if constexpr (D >= 1) a1 = a1 * w + (((((T(484902.99194318755)) * tau2 + T(3850940.0246506305)) * tau2 + T(1955207.4397282794)) * tau2 + T(85314.17162987236)) * tau2 + T(48.592336010187864)) + tau * ((((T(-2133573.1645500255)) * tau2 + T(-3661203.1910474794)) * tau2 + T(-576697.1695645658)) * tau2 + T(-4939.15304773088));
    if constexpr (D >= 2) a2 = a2 * w + (((((T(11152768.814693315)) * tau2 + T(73167860.46836199)) * tau2 + T(29328111.59592419)) * tau2 + T(938455.887928596)) * tau2 + T(340.14635207131505)) + tau * ((((T(-44805036.45555053)) * tau2 + T(-62240454.24780715)) * tau2 + T(-7497063.204339354)) * tau2 + T(-44452.37742957792));
  }
  if constexpr (K >= 7) {
    a0 = (a0 + ((((T(8061.722181737309)) * tau2 + T(11655.393336864534)) * tau2 + T(1200.9029132163525)) * tau2 + T(1.7277275025844574)) + tau * ((((T(-1919.457662318407)) * tau2 + T(-13586.550006434138)) * tau2 + T(-5305.646978613403)) * tau2 + T(-108.09091978839466))) * w;
    if constexpr (D >= 1) a1 = a1 * w + ((((T(153172.72145300888)) * tau2 + T(174830.900052968)) * tau2 + T(13209.932045379877)) * tau2 + T(12.094092518091202)) + tau * ((((T(-40308.61090868655)) * tau2 + T(-230971.35010938035)) * tau2 + T(-68973.41072197424)) * tau2 + T(-972.8182780955519));
    if constexpr (D >= 2) a2 = a2 * w + ((((T(2757108.98615416)) * tau2 + T(2447632.600741552)) * tau2 + T(132099.32045379878)) * tau2 + T(72.56455510854721)) + tau * ((((T(-806172.2181737309)) * tau2 + T(-3695541.6017500856)) * tau2 + T(-827680.9286636909)) * tau2 + T(-7782.5462247644155));
  }
  if constexpr (K >= 6) {
    a0 = (a0 + ((((T(212.57013003921713)) * tau2 + T(1059.9904525279999)) * tau2 + T(218.1905117442116)) * tau2 + T(0.5725014209747314)) + tau * (((T(-765.2524681411817)) * tau2 + T(-699.5796273761325)) * tau2 + T(-26.491430486951554))) * w;
    if constexpr (D >= 1) a1 = a1 * w + ((((T(3826.262340705908)) * tau2 + T(14839.866335391998)) * tau2 + T(2181.905117442116)) * tau2 + T(3.4350085258483887)) + tau * (((T(-12244.039490258907)) * tau2 + T(-8394.95552851359)) * tau2 + T(-211.93144389561243));
    if constexpr (D >= 2) a2 = a2 * w + ((((T(65046.45979200044)) * tau2 + T(192918.26236009598)) * tau2 + T(19637.146056979043)) * tau2 + T(17.175042629241943)) + tau * (((T(-183660.5923538836)) * tau2 + T(-92344.5108136495)) * tau2 + T(-1483.520107269287));
  }
  if constexpr (K >= 5) {
    a0 = (a0 + (((T(84.63621767460073)) * tau2 + T(42.53499874538846)) * tau2 + T(0.22710800170898438)) + tau * (((T(-28.212072558200244)) * tau2 + T(-91.81824154324002)) * tau2 + T(-7.368794359479632))) * w;
    if constexpr (D >= 1) a1 = a1 * w + (((T(1100.2708297698096)) * tau2 + T(382.8149887084961)) * tau2 + T(1.1355400085449219)) + tau * (((T(-423.18108837300366)) * tau2 + T(-1010.0006569756401)) * tau2 + T(-51.58156051635742));
    if constexpr (D >= 2) a2 = a2 * w + (((T(13203.249957237715)) * tau2 + T(3062.519909667969)) * tau2 + T(4.5421600341796875)) + tau * (((T(-5924.535237222051)) * tau2 + T(-10100.006569756402)) * tau2 + T(-309.4893630981445));
  }
  if constexpr (K >= 4) {
    a0 = (a0 + (((T(4.669584423426247)) * tau2 + T(8.78912353515625)) * tau2 + T(0.112152099609375)) + tau * ((T(-11.207002616222994)) * tau2 + T(-2.3640869140625))) * w;
    if constexpr (D >= 1) a1 = a1 * w + (((T(56.03501308111497)) * tau2 + T(70.31298828125)) * tau2 + T(0.4486083984375)) + tau * ((T(-112.07002616222994)) * tau2 + T(-14.184521484375));
    if constexpr (D >= 2) a2 = a2 * w + (((T(616.3851438922646)) * tau2 + T(492.19091796875)) * tau2 + T(1.3458251953125)) + tau * ((T(-1008.6302354600695)) * tau2 + T(-70.922607421875));
  }
  if constexpr (K >= 3) {
    a0 = (a0 + ((T(1.8464626736111112)) * tau2 + T(0.0732421875)) + tau * ((T(-1.0258125964506173)) * tau2 + T(-0.8912109375))) * w;
    if constexpr (D >= 1) a1 = a1 * w + ((T(12.925238715277779)) * tau2 + T(0.2197265625)) + tau * ((T(-9.232313368055555)) * tau2 + T(-4.4560546875));
    if constexpr (D >= 2) a2 = a2 * w + ((T(77.55143229166667)) * tau2 + T(0.439453125)) + tau * ((T(-73.85850694444444)) * tau2 + T(-17.82421875));
  }
  if constexpr (K >= 2) {
    a0 = (a0 + ((T(0.3342013888888889)) * tau + T(-0.4010416666666667)) * tau + T(0.0703125)) * w;
    if constexpr (D >= 1) a1 = a1 * w + ((T(2.0052083333333335)) * tau + T(-1.6041666666666667)) * tau + T(0.140625);
    if constexpr (D >= 2) a2 = a2 * w + ((T(10.026041666666666)) * tau + T(-4.8125)) * tau + T(0.140625);
  }
  if constexpr (K >= 1) {
    a0 = (a0 + (T(-0.20833333333333334)) * tau + T(0.125)) * w;
    if constexpr (D >= 1) a1 = a1 * w + (T(-0.625)) * tau + T(0.125);
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
// Fewer terms suffice for larger orders: the omitted term max_t|u_{K+1}(t)|/v^{K+1}
// stays below ~1e-18 (double) / ~1e-8 (float); max|u_k| = .083, .033, .016,
// .020, .021, .040, .065, .17, .38, 1.24, 3.55 for k = 1..11.
template <typename T, int D>
HVAE_HD void debye_sums_for_order(T v, T t, T w, T& a0, T& a1, T& a2, T& c1) {
  static_assert(BesselCfg<T>::kDebyeTerms == (sizeof(T) == 8 ? 10 : 5), "term counts");
  if constexpr (sizeof(T) == 8) {
    if (v >= T(5000)) {
      debye_sums<T, 4, D>(t, w, a0, a1, a2, c1);
    } else if (v >= T(1000)) {
      debye_sums<T, 5, D>(t, w, a0, a1, a2, c1);
    } else if (v >= T(300)) {
      debye_sums<T, 6, D>(t, w, a0, a1, a2, c1);
    } else if (v >= T(100)) {
      debye_sums<T, 8, D>(t, w, a0, a1, a2, c1);
    } else {
      debye_sums<T, 10, D>(t, w, a0, a1, a2, c1);
    }
  } else {
    if (v >= T(150)) {
      debye_sums<T, 2, D>(t, w, a0, a1, a2, c1);
    } else if (v >= T(40)) {
      debye_sums<T, 3, D>(t, w, a0, a1, a2, c1);
    } else {
      debye_sums<T, 5, D>(t, w, a0, a1, a2, c1);
    }
  }
}

template <typename T>
struct DebyeOut {
  T log_ive;     // log I_v(x) - x
  T log_pre;     // log(Sigma / sqrt(2 pi v s)): log_ive = v (1/(s+z) - asinh(1/z)) + log_pre
  T z, s;        // x / v and sqrt(1 + z^2), as rounded
  T ratio;       // R_v(x)
  T dlog_iv;     // d/dx log I_v
  T dlog_ive;    // d/dx log I_v - 1
  T ratio_dx;    // R_v'(x)
  T p;           // x^2 R_v'(x)
  T q;           // p - (v + 1/2)  (small for x >> v^2)
  T delta;       // 1 - R_v(x)
};

// D = 0: log_ive only; D = 1: + ratio and first derivatives; D = 2: + R'.
template <typename T, int D>
HVAE_HD DebyeOut<T> debye(T v, T x) {
  DebyeOut<T> o;
  const T iv = T(1) / v;
  const T z = x * iv;
  const T s = z < T(1e15) ? sqrt_(T(1) + z * z) : z;  // hypot(1, z), cheaper
  const T t = T(1) / s;
  const T w = t * iv;
  T a0, a1, a2, c1;
  debye_sums_for_order<T, D>(v, t, w, a0, a1, a2, c1);
  const T sig = T(1) + a0;
  // asinh(1/z) = log((1+s)/z); for z > 1 as log1p((1 + 1/(s+z))/z), with
  // log1p(u) = log(1+u) u / ((1+u) - 1) (exact-rounding correction trick).
  T ash;
  if (z > T(1)) {
    const T u = (T(1) + T(1) / (s + z)) / z;
    const T up1 = T(1) + u;
    const T um = up1 - T(1);
    ash = um == T(0) ? u : log_(up1) * (u / um);
  } else if (z > T(1e-30)) {
    ash = log_((T(1) + s) / z);
  } else {
    ash = T(kLog2) - log_(z);  // s = 1 to working precision
  }
  // -log(2 pi v s)/2 + log(Sigma) = log(Sigma^2 w)/2 - log(2 pi)/2, w = 1/(v s)
  o.log_pre = T(0.5) * (log_(sig * sig * w) - T(kLog2Pi));
  o.log_ive = v * (T(1) / (s + z) - ash) + o.log_pre;
  o.z = z;
  o.s = s;
  o.ratio = o.dlog_iv = o.dlog_ive = o.ratio_dx = o.p = o.q = o.delta = T(0);
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
      // z^2/(s(1+s)) = 1 - t, so q = p - v - 1/2 has no cancellation:
      o.q = -v * t - T(0.5) * tt * (T(3) - T(2) * tt) - zt2 * v * c3;
      o.delta = (T(1) + T(1) / (s + z)) / (T(1) + s) + h;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------
// log I_v(x) = v eta(z) + log_pre with eta(z) = s + log(z/(1+s)) = s - asinh(1/z)
// (DLMF 10.41.3). eta crosses zero at z0 = 0.66274341934918158097...; there
// log_ive + x (or s - asinh(1/z)) is a difference of terms of size ~1.2 v and
// the absolute error grows like v eps: 1.3e-5 relative in float32 at v = 3430.
// Near z0, with dz = z - z0 and s0 = sqrt(1 + z0^2) = asinh(1/z0),
//   eta = (s - s0) + log(z/z0) - log((1+s)/(1+s0))
//       = ds + log1p(dz/z0) - log1p(ds/(1+s0)),   ds = dz (z+z0)/(s+s0),
// three terms of the sign of dz (~0.55, 1.5 and -0.25 dz; eta' = s/z ~ 1.8),
// so eta keeps its relative accuracy if dz does. dz must not come from the
// rounded z = x/v (an absolute error of z eps, i.e. v eps in v eta again): it
// is (x - z0 v)/v with z0 split into hi + lo and x - z0_hi v from one fma.
template <typename T>
struct EtaZero;
template <>
struct EtaZero<double> {
  static constexpr double hi = 0.6627434193491816;
  static constexpr double lo = 8.155323790501267e-18;
  static constexpr double s0 = 1.1996786402577337;   // sqrt(1 + z0^2) = asinh(1/z0)
};
template <>
struct EtaZero<float> {
  static constexpr float hi = 0.6627434f;
  static constexpr float lo = 2.9742706e-08f;
  static constexpr float s0 = 1.1996787f;
};
// Where the direct form loses less than a factor ~6 (|dz| >= 0.25) it is kept.
template <typename T>
HVAE_HD bool near_eta_zero(T z) {
  return fabs_(z - EtaZero<T>::hi) < T(0.25);
}
template <typename T>
HVAE_HD T v_eta_near_zero(T v, T x, T z, T s) {
  using E = EtaZero<T>;
  const T dz = (fma_(-E::hi, v, x) - E::lo * v) / v;
  const T ds = dz * (z + E::hi) / (s + E::s0);
  return v * (ds + log1p_(dz / E::hi) - log1p_(ds / (T(1) + E::s0)));
}

// ---------------------------------------------------------------------------
// Power series, v < kOrderMin, 0 < x <= kSeriesXMax.
template <typename T>
struct SeriesCfg;
template <>
struct SeriesCfg<double> {
  static constexpr int kMaxTerms = 22;
  // smallest K with y^K / (K!)^2 < 1e-17 * S_0(y) for y up to the bound
  HVAE_HD static int terms(double y) {
    return y <= 1e-6 ? 3 : y <= 1e-2 ? 6 : y <= 0.25 ? 10 : y <= 1.0 ? 12 : y <= 4.0 ? 16 : y <= 9.0 ? 20 : 22;
  }
};
template <>
struct SeriesCfg<float> {
  static constexpr int kMaxTerms = 11;
  HVAE_HD static int terms(float y) {
    return y <= 1e-4f ? 2 : y <= 1e-2f ? 4 : y <= 0.25f ? 6 : y <= 1.0f ? 8 : 11;
  }
};

// S_nu(y) = sum_{k<K} y^k / (k! (nu+1)_k), Horner from the top,
//   acc_k = 1 + y acc_{k+1} / (k (nu+k)),
// carried as a fraction P/Q so that the loop has no division (Q <= 1e57 in
// double, 1e27 in float: no overflow).
template <typename T>
HVAE_HD T series_sum(T nu, T y, int K) {
  // Two Horner steps at a time (halves the dependency chain):
  //   P_{k-1} = (d_{k-1} + y) d_k Q_{k+1} + y^2 P_{k+1},  Q_{k-1} = d_{k-1} d_k Q_{k+1}.
  const T y2 = y * y;
  T P = T(1), Q = T(1);
  int k = K - 1;
  for (int i = 0; i < SeriesCfg<T>::kMaxTerms / 2; ++i) {
    if (k < 2) break;
    const T dk = T(k) * (nu + T(k));
    const T dk1 = T(k - 1) * (nu + T(k - 1));
    const T Qd = dk * Q;
    P = (dk1 + y) * Qd + y2 * P;
    Q = dk1 * Qd;
    k -= 2;
  }
  if (k == 1) {
    const T d = nu + T(1);
    P = d * Q + y * P;
    Q = d * Q;
  }
  return P / Q;
}

// ---------------------------------------------------------------------------
// Hankel large-argument expansion (DLMF 10.40.1), v < kOrderMin and
// x >= kHankelA + kHankelB (v+1)^2:
//   I_v(x) e^{-x} sqrt(2 pi x) ~ H_v(x) = sum_k (-1)^k a_k(v) / x^k,
//   a_k(v) = prod_{j<=k} (4v^2 - (2j-1)^2) / (k! 8^k).
// Returns H and x H'(x) = -sum_k k (-1)^k a_k / x^k. Summed forwards with an
// early exit once the term is below kHankelEps (relative); the threshold on x
// guarantees that happens within kHankelTerms terms.
template <typename T, bool kNeedDeriv>
HVAE_HD void hankel_sum(T v, T ix, T& H, T& xH1) {
  const T mu = T(4) * v * v;
  const T q = T(0.125) * ix;
  T term = T(1), sum = T(1), dsum = T(0);
  for (int k = 1; k < BesselCfg<T>::kHankelTerms; ++k) {
    const T odd = T(2 * k - 1);
    term = term * ((odd * odd - mu) * q / T(k));
    sum += term;
    dsum -= T(k) * term;
    // xH' = O(v^2/x) << H: when it is used, it must converge on its own scale.
    if (fabs_(term) <= BesselCfg<T>::kHankelEps * fabs_(sum) &&
        (!kNeedDeriv || T(k) * fabs_(term) <= BesselCfg<T>::kHankelEps * fabs_(dsum)))
      break;
  }
  H = sum;
  xH1 = dsum;
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

  constexpr bool kLogOnly = (What == kLogIve || What == kLogIv);
  if (v >= kOrderMin ||
      (kLogOnly && v >= BesselCfg<T>::kOrderMinLog && x > BesselCfg<T>::kSeriesXMax)) {
    const DebyeOut<T> o = debye<T, D>(v, x);
    switch (What) {
      case kLogIve: return o.log_ive;
      case kLogIv:
        return near_eta_zero(o.z) ? v_eta_near_zero(v, x, o.z, o.s) + o.log_pre : o.log_ive + x;
      case kRatio: return o.ratio;
      case kLogIvDx: return o.dlog_iv;
      case kLogIveDx: return o.dlog_ive;
      default: return o.ratio_dx;
    }
  }

  // R' = R (1/x + R_{v+1} - R_v) from the series cancels more and more as x
  // grows (10x at x = 6 for v = 0): use the series for R' only for x <= 2.
  // Likewise d/dx log_ive = (R - 1) + v/x cancels for x >~ 2 when v is small.
  if (x <= ((What == kRatioDx || What == kLogIveDx) ? T(2) : BesselCfg<T>::kSeriesXMax)) {
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

  // R' from Hankel needs more headroom (derivative sums; loses ~v/2 digits
  // when differencing the log-derivatives of orders v and v+1).
  if ((What != kRatioDx || v <= BesselCfg<T>::kHankelRdxVMax) &&
      x >= (What == kRatioDx ? BesselCfg<T>::kHankelRdxXFac : T(1)) *
               (BesselCfg<T>::kHankelA + BesselCfg<T>::kHankelB * (v + T(1)) * (v + T(1)))) {
    const T ix = T(1) / x;
    T H, xH1;
    hankel_sum<T, !kLogOnly && What != kRatio>(v, ix, H, xH1);
    switch (What) {
      case kLogIve:
      case kLogIv: {
        // log_ive = log(H / sqrt(2 pi x)) = log(H^2 / x) / 2 - log(2 pi) / 2
        const T l = T(0.5) * (log_(H * H * ix) - T(kLog2Pi));
        return What == kLogIv ? l + x : l;
      }
      case kRatio: {
        T H1, xH11;
        hankel_sum<T, false>(v + T(1), ix, H1, xH11);
        return H1 / H;
      }
      case kLogIvDx: return T(1) + (xH1 / H - T(0.5)) * ix;
      case kLogIveDx: return (xH1 / H - T(0.5)) * ix;
      default: {
        // R' = R (H'_{v+1}/H_{v+1} - H'_v/H_v); the two log-derivatives are
        // ~(4v^2-1)/(8x^2) and ~(4(v+1)^2-1)/(8x^2): the difference loses
        // ~v/2 digits' worth, so this is only used for small v.
        T H1, xH11;
        hankel_sum<T, true>(v + T(1), ix, H1, xH11);
        return (H1 / H) * ((xH11 / H1 - xH1 / H) * ix);
      }
    }
  }

  // Shift to order v + n >= kOrderMin and recur backwards.
  // log_iv / log_ive only need Debye's log at the top (its ratio only seeds
  // b_{top+1}), so they shift to kOrderMinLog; R and the derivatives to kOrderMin.
  constexpr int kMaxShift = static_cast<int>(kOrderMin);
  const T shift_to = kLogOnly ? BesselCfg<T>::kOrderMinLog : kOrderMin;
  const int n = static_cast<int>(ceil_(shift_to - v));
  const T top = v + T(n);
  const T ix = T(1) / x;
  if (What == kLogIve || What == kLogIv || What == kRatio) {
    // The top ratio seeds b_{top+1}; it is needed for log I_v as well.
    const DebyeOut<T> o = debye<T, 1>(top, x);
    // b_m = I_m / I_top: b_{m-1} = (2m/x) b_m + b_{m+1}; b_top = 1,
    // b_{top+1} = R_top. For x > kSeriesXMax no overflow is possible.
    T a = o.ratio, b = T(1);
    // Two steps at a time (c_m = 2m/x): b_{m-1} = c_m b_m + b_{m+1},
    // b_{m-2} = (c_{m-1} c_m + 1) b_m + c_{m-1} b_{m+1}; halves the chain.
    int k = n;
    for (int i = 0; i < kMaxShift / 2; ++i) {
      if (k < 2) break;
      const T c0 = (T(2) * (v + T(k))) * ix;
      const T c1 = (T(2) * (v + T(k - 1))) * ix;
      const T nb1 = c0 * b + a;
      const T nb2 = (c1 * c0 + T(1)) * b + c1 * a;
      a = nb1;
      b = nb2;
      k -= 2;
    }
    if (k == 1) {
      const T c0 = (T(2) * (v + T(1))) * ix;
      const T nb = c0 * b + a;
      a = b;
      b = nb;
    }
    if (What == kRatio) return a / b;
    const T l = o.log_ive + log_(b);
    return What == kLogIv ? l + x : l;
  }
  const DebyeOut<T> o = debye<T, D>(top, x);
  T R = o.ratio, p = o.p, g = o.dlog_ive;
  if (What == kRatioDx && x >= BesselCfg<T>::kQFormFac * (v + T(1)) * (v + T(1))) {
    // For x >> v^2 the recurrence for p = x^2 R' below amplifies the seed's
    // rounding error by ~(2 top + 1)/(2v + 1). There, carry
    // q_m = p_m - (m + 1/2) and delta_m = 1 - R_m instead (both small, both
    // cancellation-free):
    //   delta_{m-1} = (2m - x delta_m) / D,  D = 2m + x R_m,
    //   q_{m-1} = -(m - 1/2) delta_{m-1} (1 + R_{m-1}) - q_m R_{m-1}^2.
    T q = o.q, dl = o.delta;
    for (int i = 0; i < kMaxShift; ++i) {
      const int k = n - i;
      if (k < 1) break;
      const T mu = v + T(k);
      const T Dn = x * R + T(2) * mu;
      const T invD = T(1) / Dn;
      const T Rn = x * invD;
      dl = (T(2) * mu - x * dl) * invD;
      q = -(mu - T(0.5)) * dl * (T(1) + Rn) - q * (Rn * Rn);
      R = Rn;
    }
    return ((q + (v + T(0.5))) * ix) * ix;
  }
  for (int i = 0; i < kMaxShift; ++i) {
    const int k = n - i;
    if (k < 1) break;
    const T mu = v + T(k);
    const T mu1 = v + T(k - 1);
    const T Dn = x * R + T(2) * mu;
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
