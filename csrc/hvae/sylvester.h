// Triangular Sylvester flow steps (T-SNF, van den Berg et al. 2018), one
// sample at a time: forward, backward and exact inverse.
//
// One step, column form, per sample (P = identity or coordinate reversal,
// R1, R2 upper triangular, h = tanh):
//     u  = P z,   a = R2 u + b,   z' = z + P R1 h(a)
//     log|det dz'/dz| = sum_i log|1 + R1_ii R2_ii h'(a_i)|,  h' = sech^2
// (the Jacobian is I + P R1 diag(h') R2 P, and P (I + triangular) P has the
// same diagonal).
//
// Storage of one factor of one step, row-major upper triangle:
//   dense : element (i, j) at p[i * row_stride + j], j >= i; below ignored
//   packed: rows concatenated, row i holds j = i..D-1 (torch.triu_indices
//           order); row i starts at i*D - i*(i-1)/2
// Either way row i from the diagonal on is contiguous, so every matrix-vector
// product here is a contiguous dot product (R x) or axpy (R^T y).
//
// diag_tanh: the stored diagonal is a raw pre-activation d and the factor
// uses tanh(d). The log-det term is then computed from the raw values,
//   1 + tanh(d1) tanh(d2) sech^2 a
//     = tanh^2 a + sech^2 a * cosh(d1 + d2) / (cosh d1 cosh d2)   (> 0),
// a sum of two non-negative terms, evaluated as a logaddexp in log space so
// that it neither cancels nor underflows when the tanh's saturate.
#pragma once

#include "common.h"

#if !HVAE_DEVICE_CODE && defined(__SSE2__)
#include <emmintrin.h>
#define HVAE_STREAM_STORES 1
#else
#define HVAE_STREAM_STORES 0
#endif

#if !HVAE_DEVICE_CODE && defined(_OPENMP)
#define HVAE_PRAGMA(x) _Pragma(#x)
#define HVAE_SIMD_SUM(var) HVAE_PRAGMA(omp simd reduction(+ : var))
#define HVAE_SIMD HVAE_PRAGMA(omp simd)
#define HVAE_SIMD_SUM4(a, b, c, d) HVAE_PRAGMA(omp simd reduction(+ : a, b, c, d))
#else
#define HVAE_SIMD_SUM(var)
#define HVAE_SIMD
#define HVAE_SIMD_SUM4(a, b, c, d)
#endif

// Software prefetch (host only; a prefetch never faults, so addresses past
// the end of a buffer are harmless).
#if !HVAE_DEVICE_CODE && defined(__GNUC__)
#define HVAE_PREFETCH_READ(ptr) __builtin_prefetch((ptr), 0, 3)
#define HVAE_PREFETCH_WRITE(ptr) __builtin_prefetch((ptr), 1, 3)
#else
#define HVAE_PREFETCH_READ(ptr)
#define HVAE_PREFETCH_WRITE(ptr)
#endif

namespace hvae {

// Flip schedules up to this many steps travel by value in the params struct
// (no device copy of a host list, no sync).
constexpr int kSylvesterMaxFlows = 1024;
constexpr int kSylvesterFlipWords = kSylvesterMaxFlows / 32;

// ---------------------------------------------------------------------------
// Scalar pieces
// ---------------------------------------------------------------------------

// log cosh x = |x| + log1p(exp(-2|x|)) - log 2: no overflow for large |x|.
template <typename T>
HVAE_HD T log_cosh(T x) {
  const T ax = fabs_(x);
  return ax + log1p_(exp_(T(-2) * ax)) - T(kLog2);
}

// sech^2 x = 4 e / (1 + e)^2 with e = exp(-2|x|): relative accuracy where
// 1 - tanh^2 x would round to 0.
template <typename T>
HVAE_HD T sech2(T x) {
  const T e = exp_(T(-2) * fabs_(x));
  const T d = T(1) + e;
  return T(4) * e / (d * d);
}

// tanh x and sech^2 x from one exp (the backward needs both for every a):
// with e = exp(-2|x|), sech^2 = 4 e / (1 + e)^2 as in sech2 and, for |x| >
// 1/4 where 1 - e >= 0.39 does not cancel, tanh|x| = (1 - e) / (1 + e) (a
// few eps, against tanh's one; tanh itself below 1/4). ~10% of the CPU
// backward at D = 64.
template <typename T>
HVAE_HD void tanh_sech2(T x, T& th, T& s) {
  const T ax = fabs_(x);
  const T e = exp_(T(-2) * ax);
  const T d = T(1) + e;
  s = T(4) * e / (d * d);
  const T t = ax > T(0.25) ? (T(1) - e) / d : tanh_(ax);
  th = x < T(0) ? -t : t;
}

// tanh x from one exp, as tanh_sech2 computes it (the host forward: glibc's
// tanh goes through expm1 and costs ~2x an exp; a few eps, against one).
template <typename T>
HVAE_HD T tanh_from_exp(T x) {
  const T ax = fabs_(x);
  const T e = exp_(T(-2) * ax);
  const T t = ax > T(0.25) ? (T(1) - e) / (T(1) + e) : tanh_(ax);
  return x < T(0) ? -t : t;
}

// A sum of logs kept as a product: sum_i log x_i = log(m) + e log 2 for the
// factors added with add(x), so that a step's D log-det terms cost one log
// instead of D (the host forward, where the logs were ~15% of the time). The
// product is kept in [2^-40, 2^40] by exact power-of-two rescaling; factors
// outside [2^-20, 2^20] (or not finite, or 0) take their own log, so nothing
// overflows or loses range. Each factor adds one rounding of the product
// (relative 2^-p), i.e. absolute error in the log sum of the same order as
// summing D rounded logs.
template <typename T>
struct SylvesterLogSum {
  T product = T(1);
  T logs = T(0);
  int exponent = 0;

  HVAE_HD void add(T x) {  // x >= 0
    constexpr T kLo = T(1) / T(1 << 20), kHi = T(1 << 20);
    if (!(x >= kLo && x <= kHi)) {
      logs += log_(x);
      return;
    }
    product *= x;
    if (product > kHi * kHi) {
      product *= kLo * kLo;
      exponent += 40;
    } else if (product < kLo * kLo) {
      product *= kHi * kHi;
      exponent -= 40;
    }
  }
  HVAE_HD T value() const { return log_(product) + logs + T(exponent) * T(kLog2); }
};

// log(exp(x) + exp(y)) for x, y possibly -inf.
template <typename T>
HVAE_HD T log_add_exp(T x, T y) {
  const T m = max_(x, y);
  if (m == -infinity<T>()) return m;
  return m + log1p_(exp_(-fabs_(x - y)));
}

// The diagonal value the factor uses: tanh(raw) in diag_tanh mode.
template <typename T>
HVAE_HD T sylvester_diag_value(T stored, bool diag_tanh) {
  return diag_tanh ? tanh_(stored) : stored;
}

// Above this value 1 + t1 t2 s is computed directly: its rounding error is
// then at most (1 + |t1 t2 s|) eps / q <= 3 eps relative, as good as the
// stable form, and it costs three transcendental calls instead of ten.
constexpr double kSylvesterDirectQ = 0.5;

// log cosh x without its |x| part: log1p(exp(-2|x|)) - log 2, in [-log 2, 0].
template <typename T>
HVAE_HD T log_cosh_rest(T x) {
  return log1p_(exp_(T(-2) * fabs_(x))) - T(kLog2);
}

// The three log-cosh combinations the stable branch needs, for raw diagonals
// d1, d2 (L = log(1 + tanh d1 tanh d2), and the exponents E1, E2 of the
// diagonal derivatives):
//   L  = lc(d1 + d2) - lc(d1) - lc(d2)
//   E1 = lc(d2) - lc(d1) - lc(d1 + d2) = log(sech^2 d1 / (1 + tanh d1 tanh d2))
//   E2 = lc(d1) - lc(d2) - lc(d1 + d2)
// with lc = log cosh. Each lc is |x| + rest(x); summing the lc's as rounded
// numbers of size ~|d| would leave an absolute error ~|d| eps in a result of
// size ~1 (relative error ~|d| eps after the exp). So the |x| parts are
// combined exactly first: for opposite signs |d1 + d2| = ||d1| - |d2||, hence
//   |.|-part of L  = -2 min(|d1|, |d2|)
//   |.|-part of E1 = -2 max(0, |d1| - |d2|),   E2 likewise with 1 <-> 2
// (the difference rounds exactly as d1 + d2 does, and min and 2x are exact);
// for equal signs they are 0, -2|d1| and -2|d2|. The rests are O(1).
template <typename T>
struct SylvesterLogCoshSums {
  T L, E1, E2;
};

template <typename T>
HVAE_HD SylvesterLogCoshSums<T> sylvester_log_cosh_sums(T d1, T d2) {
  const T a1 = fabs_(d1), a2 = fabs_(d2);
  const T r1 = log_cosh_rest(d1), r2 = log_cosh_rest(d2), r12 = log_cosh_rest(d1 + d2);
  T abs_l, abs_e1, abs_e2;
  if ((d1 < T(0)) != (d2 < T(0))) {
    abs_l = T(-2) * min_(a1, a2);
    abs_e1 = T(-2) * max_(T(0), a1 - a2);
    abs_e2 = T(-2) * max_(T(0), a2 - a1);
  } else {
    abs_l = T(0);
    abs_e1 = T(-2) * a1;
    abs_e2 = T(-2) * a2;
  }
  SylvesterLogCoshSums<T> out;
  out.L = abs_l + (r12 - r1 - r2);
  out.E1 = abs_e1 + (r2 - r1 - r12);
  out.E2 = abs_e2 + (r1 - r2 - r12);
  return out;
}

// log q with q = 1 + tanh(d1) tanh(d2) sech^2 a, from the raw diagonals, in
// the stable form (q may underflow; the log does not):
//   log q = logaddexp(log tanh^2 a, log sech^2 a + L),  L as above.
template <typename T>
HVAE_HD T sylvester_log_q_stable(T log_s, T L, T h) {
  const T log_h2 = T(2) * log_(fabs_(h));  // -inf at a = 0, handled by log_add_exp
  return log_add_exp(log_h2, log_s + L);
}

template <typename T>
HVAE_HD T sylvester_log_q_stable(T d1, T d2, T a, T h) {
  return sylvester_log_q_stable(T(-2) * log_cosh(a), sylvester_log_cosh_sums(d1, d2).L, h);
}

// One coordinate's log-det term log|q|, q = 1 + t1 t2 sech^2 a, where
// d1, d2 are the stored diagonals (raw pre-activations in diag_tanh mode),
// t1, t2 the values the factors use (d itself, or tanh d), h = tanh a.
template <typename T>
HVAE_HD T sylvester_log_term(T d1, T d2, T t1, T t2, T a, T h, bool diag_tanh) {
  // (1 - h)(1 + h) loses relative accuracy only where s is tiny, and there
  // q ~ 1 needs none; the cancelling branch takes log s from a itself.
  const T q = T(1) + t1 * t2 * ((T(1) - h) * (T(1) + h));
  if (!diag_tanh || q >= T(kSylvesterDirectQ)) return log_(fabs_(q));
  return sylvester_log_q_stable(d1, d2, a, h);
}

template <typename T>
HVAE_HD T sylvester_log_term(T d1, T d2, T a, T h, bool diag_tanh) {
  return sylvester_log_term(d1, d2, sylvester_diag_value(d1, diag_tanh),
                            sylvester_diag_value(d2, diag_tanh), a, h, diag_tanh);
}

// The log-det term and its partial derivatives with respect to the stored
// diagonals and to a.
template <typename T>
struct SylvesterDiagTerm {
  T log_term;
  T d_r1, d_r2, d_a;
};

// d1, d2, t1, t2 as for sylvester_log_term; c1, c2 = dt/dd (sech^2 d in
// diag_tanh mode, else 1); h = tanh a, s = sech^2 a. WithLog = false skips
// log_term where only the derivatives are wanted (the backward).
template <bool WithLog = true, typename T>
HVAE_HD SylvesterDiagTerm<T> sylvester_diag_term(T d1, T d2, T t1, T t2, T c1, T c2, T a, T h, T s,
                                                 bool diag_tanh) {
  SylvesterDiagTerm<T> out;
  // q = 1 + t1 t2 s: dq/dd1 = t2 s c1, dq/dd2 = t1 s c2, dq/da = -2 h s t1 t2,
  // and d log|q| = dq / q.
  const T q = T(1) + t1 * t2 * s;
  if (!diag_tanh || q >= T(kSylvesterDirectQ)) {
    out.log_term = WithLog ? log_(fabs_(q)) : T(0);
    out.d_r1 = t2 * s * c1 / q;
    out.d_r2 = t1 * s * c2 / q;
    out.d_a = T(-2) * h * s * t1 * t2 / q;
    return out;
  }
  // Cancelling case (diag_tanh, q < 1/2, so d1, d2 have opposite signs):
  // every ratio taken in log space (q and the sech^2 may underflow while the
  // ratios are finite). With C = 1 + t1 t2 = exp(L) and q = h^2 + s C,
  //   d log q / dd1 = t2 s sech^2(d1) / q = t2 (s C / q) exp(E1),
  //   s C / q = 1 / (1 + h^2 / (s C)),
  // so no exponent contains the large cancelling log-cosh terms (see
  // sylvester_log_cosh_sums); s C / q is exactly 1 at a = 0. Where h^2 and
  // s C are comparable with |d| large, |a| ~ exp(-min |d|) is far below a's
  // own absolute rounding error, so no float32 formula can do better there.
  const SylvesterLogCoshSums<T> lc = sylvester_log_cosh_sums(d1, d2);
  const T log_s = T(-2) * log_cosh(a);
  const T log_sc = log_s + lc.L;
  const T log_h2 = T(2) * log_(fabs_(h));  // -inf at h = 0
  const T log_q = log_add_exp(log_h2, log_sc);
  const T sc_over_q = T(1) / (T(1) + exp_(log_h2 - log_sc));
  out.log_term = log_q;
  out.d_r1 = t2 * sc_over_q * exp_(lc.E1);
  out.d_r2 = t1 * sc_over_q * exp_(lc.E2);
  // h s / q as sign(h) exp(log|h| + log s - log q): exactly 0 at h = 0 even
  // where s / q overflows.
  const T h_s_over_q = h == T(0) ? T(0) : (h > T(0) ? T(1) : T(-1)) * exp_(T(0.5) * log_h2 + log_s - log_q);
  out.d_a = T(-2) * t1 * t2 * h_s_over_q;
  return out;
}

// h = tanh a and s = sech^2 a, which the callers have at hand.
template <typename T>
HVAE_HD SylvesterDiagTerm<T> sylvester_diag_term(T d1, T d2, T a, T h, T s, bool diag_tanh) {
  return sylvester_diag_term(d1, d2, sylvester_diag_value(d1, diag_tanh), sylvester_diag_value(d2, diag_tanh),
                             diag_tanh ? sech2(d1) : T(1), diag_tanh ? sech2(d2) : T(1), a, h, s, diag_tanh);
}

template <typename T>
HVAE_HD SylvesterDiagTerm<T> sylvester_diag_term(T d1, T d2, T a, bool diag_tanh) {
  return sylvester_diag_term(d1, d2, a, tanh_(a), sech2(a), diag_tanh);
}

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

// Offset of element (i, i) of one factor (see the layout note above).
HVAE_HD int64_t sylvester_row_offset(int64_t i, int64_t dim, int64_t row_stride, bool packed) {
  return packed ? i * dim - (i * (i - 1)) / 2 : i * row_stride + i;
}

// Elements of one factor's storage: T or D*D (dense gradients are written
// with row stride D).
HVAE_HD int64_t sylvester_factor_size(int64_t dim, bool packed) {
  return packed ? dim * (dim + 1) / 2 : dim * dim;
}

struct SylvesterFlips {
  uint32_t words[kSylvesterFlipWords];
  HVAE_HD bool operator()(int64_t k) const { return (words[k >> 5] >> (k & 31)) & 1u; }
};

// A strided [B?, K, rows...] parameter; batch_stride 0 when shared.
template <typename T>
struct SylvesterFactor {
  const T* data;
  int64_t batch_stride, step_stride, row_stride;  // row_stride unused when packed
};

// Everything the forward, backward and inverse read (strides in elements).
//
// Sample dimensions: z has S rows per data point, [S, B, D] (the caller's
// leading sample dimensions flattened into S); row n = s B + b of the
// outputs (the order of z.reshape(-1, D)) uses data point b = n mod B's
// parameters. S = 1 is the plain [B, D] call. The kernels run the S rows of
// one b back to back, so that b's triangles are read from memory once and
// then from cache (CPU) or L2 (CUDA).
template <typename T>
struct SylvesterParams {
  int64_t batch, num_flows, dim;  // batch: B, the data points (parameter rows)
  int64_t samples = 1;            // S >= 1 rows per data point; N = S B rows in all
  int64_t sample_chunks = 1;      // CUDA forward: one b's S rows in this many blocks (divides S)
  bool packed, diag_tanh, per_step_logdet;
  SylvesterFlips flips;
  const T* z;  // [S, B, D]: the input (forward), z_K (inverse)
  int64_t z_sample_stride = 0, z_batch_stride, z_dim_stride;
  SylvesterFactor<T> r1, r2;
  const T* b;
  int64_t b_batch_stride, b_step_stride, b_dim_stride;
  // forward outputs (contiguous, indexed by the row n); zs/as null when not saved
  T* z_out;      // [N, D]
  T* logdet;     // [N] or [N, K]
  T* zs;         // [N, K, D]: the input of each step
  T* as;         // [N, K, D]: a = R2 P z + b of each step

  HVAE_HD int64_t rows() const { return samples * batch; }
};

// What the backward adds: incoming gradients, saved steps, gradient outputs.
template <typename T>
struct SylvesterBackwardParams {
  SylvesterParams<T> fwd;
  const T* grad_z_out;  // [S, B, D] strided
  int64_t gz_sample_stride = 0, gz_batch_stride, gz_dim_stride;
  const T* grad_logdet;  // [S, B] or [S, B, K] strided
  int64_t gl_sample_stride = 0, gl_batch_stride, gl_step_stride;
  const T* zs;  // saved, contiguous [N, K, D]
  const T* as;
  T* grad_z;  // [N, D] contiguous
  // Gradient buffers, contiguous [K, factor_size] / [K, D] per data point b
  // (batch stride 0 for the accumulators of shared parameters). With S > 1
  // the kernels accumulate (Accumulate = true) the S rows of b into b's.
  T* grad_r1;
  T* grad_r2;
  T* grad_b;
  int64_t grad_r1_batch_stride, grad_r2_batch_stride, grad_b_batch_stride;
};

template <typename T>
HVAE_HD const T* sylvester_factor_step(const SylvesterFactor<T>& f, int64_t n, int64_t k) {
  return f.data + n * f.batch_stride + k * f.step_stride;
}

// Row n = s B + b of the sample dimensions: its data point b (whose
// parameters it uses) and its sample s.
struct SylvesterRow {
  int64_t b, s;
};
HVAE_HD SylvesterRow sylvester_row(int64_t n, int64_t batch) { return {n % batch, n / batch}; }

// The row a loop visits at position m when it runs the S rows of each data
// point back to back (m = b S + s): n = s B + b. The identity when S = 1.
HVAE_HD int64_t sylvester_row_of_position(int64_t m, int64_t batch, int64_t samples) {
  return samples == 1 ? m : (m % samples) * batch + m / samples;
}

// ---------------------------------------------------------------------------
// Row kernels (contiguous; vectorised on the host)
// ---------------------------------------------------------------------------

template <typename T>
HVAE_HD T sylvester_dot(const T* __restrict__ x, const T* __restrict__ y, int64_t n) {
  T acc = T(0);
  HVAE_SIMD_SUM(acc)
  for (int64_t j = 0; j < n; ++j) acc += x[j] * y[j];
  return acc;
}

// Prefetch the cache lines of n contiguous elements from p (host; no-op on
// the device). The per-sample loops below stream through one triangle at a
// time, and each pass's row i is prefetched for the next triangle in the
// same pass, so the memory system always has the next factor's lines in
// flight instead of starting on them with a dependent miss.
template <bool ForWrite = false, typename T>
HVAE_HD void sylvester_prefetch(const T* p, int64_t n) {
#if !HVAE_DEVICE_CODE
  const char* c = reinterpret_cast<const char*>(p);
  const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
  for (int64_t off = 0; off < bytes; off += 64) {
    if (ForWrite) {
      HVAE_PREFETCH_WRITE(c + off);
    } else {
      HVAE_PREFETCH_READ(c + off);
    }
  }
  if (bytes > 0) {
    if (ForWrite) {
      HVAE_PREFETCH_WRITE(c + bytes - 1);
    } else {
      HVAE_PREFETCH_READ(c + bytes - 1);
    }
  }
#else
  (void)p;
  (void)n;
#endif
}

// Off-diagonal products of four consecutive rows i..i+3 of a triangle with
// x: out[r] = sum_{j > i+r} R(i+r, j) x_j, where q_r points at R(i+r, i+r),
// x at coordinate i, and len = D - i >= 4. Four accumulators over the
// columns all four rows share (j >= i + 4), so x is loaded once for four
// rows and the four horizontal reductions at the end overlap: one row at a
// time, each short dot (D = 64: 32 elements on average) ended in a
// reduction whose latency was a large part of the host forward.
template <typename T>
HVAE_HD void sylvester_dot4(const T* __restrict__ q0, const T* __restrict__ q1, const T* __restrict__ q2,
                            const T* __restrict__ q3, const T* __restrict__ x, int64_t len, T* __restrict__ out) {
  const T* __restrict__ p0 = q0 + 4;
  const T* __restrict__ p1 = q1 + 3;
  const T* __restrict__ p2 = q2 + 2;
  const T* __restrict__ p3 = q3 + 1;
  const T* __restrict__ y = x + 4;
  const int64_t n = len - 4;
  T a0 = T(0), a1 = T(0), a2 = T(0), a3 = T(0);
  HVAE_SIMD_SUM4(a0, a1, a2, a3)
  for (int64_t j = 0; j < n; ++j) {
    const T yj = y[j];
    a0 += p0[j] * yj;
    a1 += p1[j] * yj;
    a2 += p2[j] * yj;
    a3 += p3[j] * yj;
  }
  out[0] = (q0[1] * x[1] + q0[2] * x[2] + q0[3] * x[3]) + a0;
  out[1] = (q1[1] * x[2] + q1[2] * x[3]) + a1;
  out[2] = q2[1] * x[3] + a2;
  out[3] = a3;
}

// dst[0, n) = src[0, n) with non-temporal stores where the host has them
// (SSE2): the destination's lines are written whole without being read
// first (no read-for-ownership), which a written-once gradient buffer that
// nothing reads soon does not need. Callers end with sylvester_stream_fence.
template <typename T>
HVAE_HD void sylvester_stream_copy(T* __restrict__ dst, const T* __restrict__ src, int64_t n) {
  int64_t i = 0;
#if HVAE_STREAM_STORES
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15) != 0; ++i) dst[i] = src[i];
  constexpr int64_t kPer = 16 / static_cast<int64_t>(sizeof(T));
  if ((reinterpret_cast<uintptr_t>(dst + i) & 15) == 0) {
    for (; i + kPer <= n; i += kPer) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    }
  }
#endif
  for (; i < n; ++i) dst[i] = src[i];
}

// Orders the non-temporal stores before whatever the thread stores next.
HVAE_HD void sylvester_stream_fence() {
#if HVAE_STREAM_STORES
  _mm_sfence();
#endif
}

// ---------------------------------------------------------------------------
// Forward of one sample. Scratch: zc, u, h of D elements each.
// ---------------------------------------------------------------------------

template <typename T>
HVAE_HD void sylvester_forward_sample(const SylvesterParams<T>& p, int64_t n, T* __restrict__ zc,
                                      T* __restrict__ u, T* __restrict__ h) {
  const int64_t D = p.dim, K = p.num_flows;
  const SylvesterRow row_n = sylvester_row(n, p.batch);
  const int64_t pb = row_n.b;  // the data point whose parameters row n uses
  const T* zin = p.z + row_n.s * p.z_sample_stride + pb * p.z_batch_stride;
  for (int64_t j = 0; j < D; ++j) zc[j] = zin[j * p.z_dim_stride];
  T total = T(0);
  for (int64_t k = 0; k < K; ++k) {
    const bool flip = p.flips(k);
    const T* r1 = sylvester_factor_step(p.r1, pb, k);
    const T* r2 = sylvester_factor_step(p.r2, pb, k);
    const T* bk = p.b + pb * p.b_batch_stride + k * p.b_step_stride;
    for (int64_t j = 0; j < D; ++j) u[j] = zc[flip ? D - 1 - j : j];
    if (p.zs != nullptr) {
      T* zs = p.zs + (n * K + k) * D;
      for (int64_t j = 0; j < D; ++j) zs[j] = zc[j];
    }
    // a = R2 u + b (kept in h until the tanh below). Row i reads u_i.. only,
    // so u_i is free afterwards and keeps R2_ii's value t2_i (tanh'd once).
    // (R1's row i is prefetched alongside: the log-det loop below reads
    // R1's diagonal, a dependent miss per row otherwise)
    // Rows four at a time (sylvester_dot4), the last D mod 4 one by one.
    int64_t i = 0;
    for (; i + 4 <= D; i += 4) {
      const T* q[4];
      T off[4];
      for (int r = 0; r < 4; ++r) {
        q[r] = r2 + sylvester_row_offset(i + r, D, p.r2.row_stride, p.packed);
        sylvester_prefetch(r1 + sylvester_row_offset(i + r, D, p.r1.row_stride, p.packed), D - i - r);
      }
      sylvester_dot4(q[0], q[1], q[2], q[3], u + i, D - i, off);
      for (int r = 0; r < 4; ++r) {
        const T t2 = sylvester_diag_value(q[r][0], p.diag_tanh);
        h[i + r] = t2 * u[i + r] + off[r] + bk[(i + r) * p.b_dim_stride];
        u[i + r] = t2;
      }
    }
    for (; i < D; ++i) {
      const T* row = r2 + sylvester_row_offset(i, D, p.r2.row_stride, p.packed);
      sylvester_prefetch(r1 + sylvester_row_offset(i, D, p.r1.row_stride, p.packed), D - i);
      const T t2 = sylvester_diag_value(row[0], p.diag_tanh);
      h[i] = t2 * u[i] + sylvester_dot(row + 1, u + i + 1, D - 1 - i) + bk[i * p.b_dim_stride];
      u[i] = t2;
    }
    // h = tanh a, the log-det terms; u_i then keeps R1_ii's value t1_i.
    // Each term is log|q| with q = 1 + t1 t2 sech^2 a, or the stable form
    // where sylvester_log_term takes it (diag_tanh and q < 1/2); the direct
    // ones are summed as one product (SylvesterLogSum).
    SylvesterLogSum<T> direct;
    T stable = T(0);
    for (i = 0; i < D; ++i) {
      const T a = h[i];
      if (p.as != nullptr) p.as[(n * K + k) * D + i] = a;
      const T d1 = r1[sylvester_row_offset(i, D, p.r1.row_stride, p.packed)];
      const T d2 = r2[sylvester_row_offset(i, D, p.r2.row_stride, p.packed)];
      const T t1 = sylvester_diag_value(d1, p.diag_tanh);
      const T hi = tanh_from_exp(a);
      h[i] = hi;
      const T q = T(1) + t1 * u[i] * ((T(1) - hi) * (T(1) + hi));  // as in sylvester_log_term
      if (!p.diag_tanh || q >= T(kSylvesterDirectQ)) {
        direct.add(fabs_(q));
      } else {
        stable += sylvester_log_q_stable(d1, d2, a, hi);
      }
      u[i] = t1;
    }
    const T step = direct.value() + stable;
    // z += P R1 h: row i of R1 h lands on coordinate P(i) (the old z is no
    // longer needed). The next step's R2 streams in meanwhile.
    const T* r2_next = k + 1 < K ? sylvester_factor_step(p.r2, pb, k + 1) : nullptr;
    for (i = 0; i + 4 <= D; i += 4) {
      const T* q[4];
      T off[4];
      for (int r = 0; r < 4; ++r) {
        q[r] = r1 + sylvester_row_offset(i + r, D, p.r1.row_stride, p.packed);
        if (r2_next != nullptr) {
          sylvester_prefetch(r2_next + sylvester_row_offset(i + r, D, p.r2.row_stride, p.packed), D - i - r);
        }
      }
      sylvester_dot4(q[0], q[1], q[2], q[3], h + i, D - i, off);
      for (int r = 0; r < 4; ++r) zc[flip ? D - 1 - i - r : i + r] += u[i + r] * h[i + r] + off[r];
    }
    for (; i < D; ++i) {
      const T* row = r1 + sylvester_row_offset(i, D, p.r1.row_stride, p.packed);
      if (r2_next != nullptr) sylvester_prefetch(r2_next + sylvester_row_offset(i, D, p.r2.row_stride, p.packed), D - i);
      const T w = u[i] * h[i] + sylvester_dot(row + 1, h + i + 1, D - 1 - i);
      zc[flip ? D - 1 - i : i] += w;
    }
    if (p.per_step_logdet) {
      p.logdet[n * K + k] = step;
    } else {
      total += step;
    }
  }
  if (!p.per_step_logdet) p.logdet[n] = total;
  for (int64_t j = 0; j < D; ++j) p.z_out[n * D + j] = zc[j];
}

// ---------------------------------------------------------------------------
// Forward of up to M rows of one data point at once (host, sample
// dimensions): rows[0..count) are rows n of the same b, so they share every
// triangle. The vectors are kept sample-minor (x[j M + l] is coordinate j of
// lane l), so a triangle row times the M vectors is a broadcast of R_ij and
// an M-wide multiply-add per j: no horizontal reductions (which the one-row
// dot products of a short row spend most of their time in at D = 32) and
// each R_ij loaded once for M samples. Lanes >= count repeat lane 0 and are
// not written. The scalar work (tanh, the log-det terms) is the one-row
// path's, element by element. Scratch: 3 D M elements.
// ---------------------------------------------------------------------------

template <int M, typename T>
HVAE_HD void sylvester_forward_rows(const SylvesterParams<T>& p, const int64_t* rows, int count, T* __restrict__ w) {
  const int64_t D = p.dim, K = p.num_flows;
  T* __restrict__ zc = w;
  T* __restrict__ u = w + D * M;
  T* __restrict__ h = w + 2 * D * M;
  const int64_t pb = sylvester_row(rows[0], p.batch).b;
  for (int l = 0; l < M; ++l) {
    const SylvesterRow rn = sylvester_row(rows[l < count ? l : 0], p.batch);
    const T* zin = p.z + rn.s * p.z_sample_stride + rn.b * p.z_batch_stride;
    for (int64_t j = 0; j < D; ++j) zc[j * M + l] = zin[j * p.z_dim_stride];
  }
  T total[M];
  for (int l = 0; l < M; ++l) total[l] = T(0);
  for (int64_t k = 0; k < K; ++k) {
    const bool flip = p.flips(k);
    const T* r1 = sylvester_factor_step(p.r1, pb, k);
    const T* r2 = sylvester_factor_step(p.r2, pb, k);
    const T* bk = p.b + pb * p.b_batch_stride + k * p.b_step_stride;
    for (int64_t j = 0; j < D; ++j) {
      const T* src = zc + (flip ? D - 1 - j : j) * M;
      for (int l = 0; l < M; ++l) u[j * M + l] = src[l];
    }
    if (p.zs != nullptr) {
      for (int l = 0; l < count; ++l) {
        T* zs = p.zs + (rows[l] * K + k) * D;
        for (int64_t j = 0; j < D; ++j) zs[j] = zc[j * M + l];
      }
    }
    // a = R2 u + b (into h)
    for (int64_t i = 0; i < D; ++i) {
      const T* row = r2 + sylvester_row_offset(i, D, p.r2.row_stride, p.packed);
      const T t2 = sylvester_diag_value(row[0], p.diag_tanh);
      const T bi = bk[i * p.b_dim_stride];
      T acc[M];
      HVAE_SIMD
      for (int l = 0; l < M; ++l) acc[l] = t2 * u[i * M + l] + bi;
      for (int64_t j = 1; j < D - i; ++j) {
        const T r = row[j];
        const T* x = u + (i + j) * M;
        HVAE_SIMD
        for (int l = 0; l < M; ++l) acc[l] += r * x[l];
      }
      for (int l = 0; l < M; ++l) h[i * M + l] = acc[l];
    }
    // h = tanh a and the log-det terms (as sylvester_forward_sample)
    SylvesterLogSum<T> direct[M];
    T stable[M];
    for (int l = 0; l < M; ++l) stable[l] = T(0);
    for (int64_t i = 0; i < D; ++i) {
      const T d1 = r1[sylvester_row_offset(i, D, p.r1.row_stride, p.packed)];
      const T d2 = r2[sylvester_row_offset(i, D, p.r2.row_stride, p.packed)];
      const T t1 = sylvester_diag_value(d1, p.diag_tanh);
      const T t2 = sylvester_diag_value(d2, p.diag_tanh);
      for (int l = 0; l < M; ++l) {
        const T a = h[i * M + l];
        if (p.as != nullptr && l < count) p.as[(rows[l] * K + k) * D + i] = a;
        const T hi = tanh_from_exp(a);
        h[i * M + l] = hi;
        const T q = T(1) + t1 * t2 * ((T(1) - hi) * (T(1) + hi));
        if (!p.diag_tanh || q >= T(kSylvesterDirectQ)) {
          direct[l].add(fabs_(q));
        } else {
          stable[l] += sylvester_log_q_stable(d1, d2, a, hi);
        }
      }
    }
    // z += P R1 h
    for (int64_t i = 0; i < D; ++i) {
      const T* row = r1 + sylvester_row_offset(i, D, p.r1.row_stride, p.packed);
      const T t1 = sylvester_diag_value(row[0], p.diag_tanh);
      T acc[M];
      HVAE_SIMD
      for (int l = 0; l < M; ++l) acc[l] = t1 * h[i * M + l];
      for (int64_t j = 1; j < D - i; ++j) {
        const T r = row[j];
        const T* x = h + (i + j) * M;
        HVAE_SIMD
        for (int l = 0; l < M; ++l) acc[l] += r * x[l];
      }
      T* dst = zc + (flip ? D - 1 - i : i) * M;
      HVAE_SIMD
      for (int l = 0; l < M; ++l) dst[l] += acc[l];
    }
    for (int l = 0; l < count; ++l) {
      const T step = direct[l].value() + stable[l];
      if (p.per_step_logdet) {
        p.logdet[rows[l] * K + k] = step;
      } else {
        total[l] += step;
      }
    }
  }
  for (int l = 0; l < count; ++l) {
    if (!p.per_step_logdet) p.logdet[rows[l]] = total[l];
    for (int64_t j = 0; j < D; ++j) p.z_out[rows[l] * D + j] = zc[j * M + l];
  }
}

// ---------------------------------------------------------------------------
// Backward of one sample, steps in reverse order. Scratch: gz, u, h, s, v, g
// of D elements each and dg of 3 D (R1's diagonals, their values and chain factors). With Accumulate the parameter gradients are added to
// the buffers (zeroed; shared parameters: one accumulator per thread),
// otherwise stored, zeros below the diagonal of dense buffers included.
//
// Per step, with v = P gz' and gl the log-det's incoming gradient:
//   dR1 = v h^T (upper),  gh = R1^T v,  ga = gh * s + gl dL/da,  db = ga,
//   dR2 = ga u^T (upper), gz = gz' + P R2^T ga,
// plus gl dL/d(diag) on the diagonals, and the chain factor sech^2(d) of
// the diagonal's tanh in diag_tanh mode.
// ---------------------------------------------------------------------------

template <bool Accumulate, typename T>
HVAE_HD void sylvester_store(T* dst, T value) {
  if (Accumulate) {
    *dst += value;
  } else {
    *dst = value;
  }
}

// The off-diagonal part of one row i in a backward pass: the row's gradient
// (an outer product, c x^T) is stored or accumulated into grad[0, len), and
// the row's contribution to R^T y, c row, is added to acc[0, len), in one
// vectorised loop (grad, row: the row past its diagonal; x, acc: from
// coordinate i + 1).
template <bool Accumulate, typename T>
HVAE_HD void sylvester_row_update(T* __restrict__ grad, const T* __restrict__ row,
                                  const T* __restrict__ x, T* __restrict__ acc, T c, int64_t len) {
  HVAE_SIMD
  for (int64_t j = 0; j < len; ++j) {
    if (Accumulate) {
      grad[j] += c * x[j];
    } else {
      grad[j] = c * x[j];
    }
    acc[j] += row[j] * c;
  }
}

template <bool Accumulate, typename T>
HVAE_HD void sylvester_backward_sample(const SylvesterBackwardParams<T>& bp, int64_t n,
                                       T* __restrict__ gz, T* __restrict__ u, T* __restrict__ h,
                                       T* __restrict__ s, T* __restrict__ v, T* __restrict__ g,
                                       T* __restrict__ dg, T* __restrict__ stage = nullptr) {
  const SylvesterParams<T>& p = bp.fwd;
  // per coordinate: R1's raw diagonal d1, its value t1 = d1 or tanh d1 and
  // c1 = dt1/dd1, taken from row i's first element while R1's rows stream by
  // (gathering the D diagonals up front cost a cache miss each, between libm
  // calls that kept them from overlapping: ~1/3 of the backward's time)
  T* __restrict__ t1 = dg;
  T* __restrict__ d1s = dg + p.dim;
  T* __restrict__ c1 = dg + 2 * p.dim;
  const int64_t D = p.dim, K = p.num_flows;
  const int64_t F = sylvester_factor_size(D, p.packed);
  const int64_t grad_row_stride = D;  // dense gradient buffers are contiguous
  const SylvesterRow row_n = sylvester_row(n, p.batch);
  const int64_t pb = row_n.b;  // parameters and their gradient rows: data point b
  const T* gz_in = bp.grad_z_out + row_n.s * bp.gz_sample_stride + pb * bp.gz_batch_stride;
  const T* gl_in = bp.grad_logdet + row_n.s * bp.gl_sample_stride + pb * bp.gl_batch_stride;
  for (int64_t j = 0; j < D; ++j) gz[j] = gz_in[j * bp.gz_dim_stride];
  for (int64_t k = K - 1; k >= 0; --k) {
    const bool flip = p.flips(k);
    const T* r1 = sylvester_factor_step(p.r1, pb, k);
    const T* r2 = sylvester_factor_step(p.r2, pb, k);
    // With a stage (stored gradients only: 2 F elements of cache-resident
    // scratch), the step's two gradient triangles are built there and then
    // streamed out whole (sylvester_stream_copy), so their destination lines
    // are never read; the diagonal updates of the R2 pass also stay in cache.
    const bool staged = !Accumulate && stage != nullptr;
    T* const g1_out = bp.grad_r1 + pb * bp.grad_r1_batch_stride + k * F;
    T* const g2_out = bp.grad_r2 + pb * bp.grad_r2_batch_stride + k * F;
    T* g1 = staged ? stage : g1_out;
    T* g2 = staged ? stage + F : g2_out;
    T* gb = bp.grad_b + pb * bp.grad_b_batch_stride + k * D;
    const T gl = p.per_step_logdet ? gl_in[k * bp.gl_step_stride] : gl_in[0];
    const T* zk = bp.zs + (n * K + k) * D;
    const T* ak = bp.as + (n * K + k) * D;
    for (int64_t j = 0; j < D; ++j) {
      u[j] = zk[flip ? D - 1 - j : j];
      tanh_sech2(ak[j], h[j], s[j]);
      v[j] = gz[flip ? D - 1 - j : j];
      g[j] = T(0);
    }
    // R1: dR1 row i = v_i h^T, gh += v_i * row i   (gh kept in g). R2's
    // row i and its gradient row are prefetched for the next pass.
    for (int64_t i = 0; i < D; ++i) {
      const T* row = r1 + sylvester_row_offset(i, D, p.r1.row_stride, p.packed);
      T* grow = g1 + sylvester_row_offset(i, D, grad_row_stride, p.packed);
      sylvester_prefetch(r2 + sylvester_row_offset(i, D, p.r2.row_stride, p.packed), D - i);
      if (!staged) sylvester_prefetch<true>(g2 + sylvester_row_offset(i, D, grad_row_stride, p.packed), D - i);
      if (!Accumulate && !p.packed) {
        // stored (not accumulated) dense gradients: the zeros below the
        // diagonal are written here, so the buffers need no zero fill
        for (int64_t j = 0; j < i; ++j) {
          g1[i * D + j] = T(0);
          g2[i * D + j] = T(0);
        }
      }
      d1s[i] = row[0];
      t1[i] = sylvester_diag_value(row[0], p.diag_tanh);
      c1[i] = p.diag_tanh ? sech2(row[0]) : T(1);
      const T vi = v[i];
      sylvester_store<Accumulate>(grow, vi * h[i] * c1[i]);
      g[i] += t1[i] * vi;
      sylvester_row_update<Accumulate>(grow + 1, row + 1, h + i + 1, g + i + 1, vi, D - 1 - i);
    }
    // R2, row i: first ga_i = gh_i * s_i + gl dL/da_i and the log-det's
    // diagonal gradients (R2's diagonal is the row's first element), then
    // dR2 row i = ga_i u^T, gu += ga_i * row i; gz += P gu (gu kept in v,
    // free since the R1 loop)
    // (the previous step's R1 and its gradient rows are prefetched meanwhile)
    const T* r1_next = k > 0 ? sylvester_factor_step(p.r1, pb, k - 1) : nullptr;
    T* g1_next = k > 0 && !staged ? g1 - F : nullptr;
    if (k > 0) {
      sylvester_prefetch(zk - D, D);
      sylvester_prefetch(ak - D, D);
    }
    for (int64_t j = 0; j < D; ++j) v[j] = T(0);
    for (int64_t i = 0; i < D; ++i) {
      const T* row = r2 + sylvester_row_offset(i, D, p.r2.row_stride, p.packed);
      T* grow = g2 + sylvester_row_offset(i, D, grad_row_stride, p.packed);
      if (r1_next != nullptr) {
        sylvester_prefetch(r1_next + sylvester_row_offset(i, D, p.r1.row_stride, p.packed), D - i);
        if (g1_next != nullptr) {
          sylvester_prefetch<true>(g1_next + sylvester_row_offset(i, D, grad_row_stride, p.packed), D - i);
        }
      }
      const T d2 = row[0];
      const T t2 = sylvester_diag_value(d2, p.diag_tanh);
      const T c2 = p.diag_tanh ? sech2(d2) : T(1);
      const SylvesterDiagTerm<T> t =
          sylvester_diag_term<false>(d1s[i], d2, t1[i], t2, c1[i], c2, ak[i], h[i], s[i], p.diag_tanh);
      g1[sylvester_row_offset(i, D, grad_row_stride, p.packed)] += gl * t.d_r1;
      sylvester_store<Accumulate>(grow, gl * t.d_r2);
      const T gai = g[i] * s[i] + gl * t.d_a;
      sylvester_store<Accumulate>(gb + i, gai);
      grow[0] += gai * u[i] * c2;
      v[i] += t2 * gai;
      sylvester_row_update<Accumulate>(grow + 1, row + 1, u + i + 1, v + i + 1, gai, D - 1 - i);
    }
    for (int64_t j = 0; j < D; ++j) gz[flip ? D - 1 - j : j] += v[j];
    if (staged) {
      sylvester_stream_copy(g1_out, g1, F);
      sylvester_stream_copy(g2_out, g2, F);
    }
  }
  for (int64_t j = 0; j < D; ++j) bp.grad_z[n * D + j] = gz[j];
}

// ---------------------------------------------------------------------------
// Exact inverse of one sample.
//
// With u = P z and u' = P z', a step reads u' = u + R1 tanh(R2 u + b). Row i
// involves only u_i.. u_{D-1}, so the coordinates are solved last first: with
// u_{i+1..} known, c = b_i + sum_{l>i} R2_il u_l and
// rhs = u'_i - sum_{j>i} R1_ij tanh(a_j) are known and u_i solves
//     f(x) = x + r1 tanh(r2 x + c) - rhs = 0,   f' = 1 + r1 r2 sech^2 >= 1 + min(0, r1 r2),
// strictly increasing when r1 r2 > -1 (always true in diag_tanh mode). The
// root lies in [rhs - |r1|, rhs + |r1|] since |tanh| <= 1; Newton steps are
// kept inside the shrinking bracket and replaced by bisection when they leave
// it, for at most kSylvesterInverseIterations iterations.
// ---------------------------------------------------------------------------

constexpr int kSylvesterInverseIterations = 200;

// OneExp (the host): tanh and sech^2 of each iterate from one exp
// (tanh_sech2, a few eps instead of one) rather than a tanh and an exp.
template <bool OneExp = false, typename T>
HVAE_HD T sylvester_solve_coordinate(T r1, T r2, T c, T rhs) {
  T lo = rhs - fabs_(r1), hi = rhs + fabs_(r1);
  if (!(lo < hi)) return rhs;  // r1 = 0 (or non-finite input): x = rhs
  T x = rhs - r1 * (OneExp ? tanh_from_exp(r2 * rhs + c) : tanh_(r2 * rhs + c));
  if (!(x > lo && x < hi)) x = T(0.5) * (lo + hi);
  const T eps = std::numeric_limits<T>::epsilon();
  for (int it = 0; it < kSylvesterInverseIterations; ++it) {
    const T a = r2 * x + c;
    T th, s;
    if (OneExp) {
      tanh_sech2(a, th, s);
    } else {
      th = tanh_(a);
    }
    const T f = x + r1 * th - rhs;
    if (f == T(0)) return x;
    if (f < T(0)) {
      lo = x;
    } else {
      hi = x;
    }
    const T df = T(1) + r1 * r2 * (OneExp ? s : sech2(a));
    T next = x - f / df;
    if (!(df > T(0)) || !(next > lo && next < hi)) next = T(0.5) * (lo + hi);
    const T tol = T(2) * eps * max_(fabs_(next), std::numeric_limits<T>::min());
    if (fabs_(next - x) <= tol || hi - lo <= tol) return next;
    x = next;
  }
  return x;
}

// Scratch: zc, u, h of D elements each. Writes z_0 to p.z_out. OneExp as
// for sylvester_solve_coordinate (the host; the CUDA kernel keeps tanh).
template <bool OneExp = false, typename T>
HVAE_HD void sylvester_inverse_sample(const SylvesterParams<T>& p, int64_t n, T* __restrict__ zc,
                                      T* __restrict__ u, T* __restrict__ h) {
  const int64_t D = p.dim, K = p.num_flows;
  const SylvesterRow row_n = sylvester_row(n, p.batch);
  const int64_t pb = row_n.b;
  const T* zin = p.z + row_n.s * p.z_sample_stride + pb * p.z_batch_stride;
  for (int64_t j = 0; j < D; ++j) zc[j] = zin[j * p.z_dim_stride];
  for (int64_t k = K - 1; k >= 0; --k) {
    const bool flip = p.flips(k);
    const T* r1 = sylvester_factor_step(p.r1, pb, k);
    const T* r2 = sylvester_factor_step(p.r2, pb, k);
    const T* bk = p.b + pb * p.b_batch_stride + k * p.b_step_stride;
    for (int64_t i = D - 1; i >= 0; --i) {
      const T* row1 = r1 + sylvester_row_offset(i, D, p.r1.row_stride, p.packed);
      const T* row2 = r2 + sylvester_row_offset(i, D, p.r2.row_stride, p.packed);
      const int64_t len = D - 1 - i;
      const T c = bk[i * p.b_dim_stride] + sylvester_dot(row2 + 1, u + i + 1, len);
      const T rhs = zc[flip ? D - 1 - i : i] - sylvester_dot(row1 + 1, h + i + 1, len);
      const T d1 = sylvester_diag_value(row1[0], p.diag_tanh);
      const T d2 = sylvester_diag_value(row2[0], p.diag_tanh);
      if (i > 0) {  // rows are visited last first: the next one's lines
        sylvester_prefetch(r1 + sylvester_row_offset(i - 1, D, p.r1.row_stride, p.packed), len + 2);
        sylvester_prefetch(r2 + sylvester_row_offset(i - 1, D, p.r2.row_stride, p.packed), len + 2);
      }
      u[i] = sylvester_solve_coordinate<OneExp>(d1, d2, c, rhs);
      h[i] = OneExp ? tanh_from_exp(d2 * u[i] + c) : tanh_(d2 * u[i] + c);
    }
    for (int64_t j = 0; j < D; ++j) zc[flip ? D - 1 - j : j] = u[j];
  }
  for (int64_t j = 0; j < D; ++j) p.z_out[n * D + j] = zc[j];
}

}  // namespace hvae
