// Lanes for the O(m) loops of the vMF kernels (host + device, no torch): 8
// float or 4 double partial sums. A running sum over j is a chain of dependent
// adds that a compiler may not reorder, so it stays scalar; partial sums
// (lane = position in a group of lanes_count<T>() consecutive j), added in a
// fixed tree at the end, are what vectorises. A loop takes whole groups in
// lanes and the last (m - 1) mod lanes_count<T>() values one at a time. On the host, GCC's vector
// extension makes each lane operation one AVX2 instruction (two SSE2 ones:
// the operations are IEEE and elementwise, so both builds give the same
// values); in CUDA code (and with other compilers) the lanes are an array.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "hvae/common.h"

namespace hvae {

// 32 bytes: 8 float or 4 double lanes, one AVX2 register (two SSE2 ones).
// (With GCC 12, 64-byte vectors made the double loops ~4x slower.)
constexpr int kLaneBytes = 32;
template <typename T>
HVAE_HD constexpr int lanes_count() {
  return kLaneBytes / static_cast<int>(sizeof(T));
}

#if defined(__GNUC__) && !defined(__CUDACC__)
#define HVAE_LANES_VECTOR 1
template <typename T>
struct LanesOf {
  typedef T type __attribute__((vector_size(kLaneBytes)));
};
template <typename T>
using Lanes = typename LanesOf<T>::type;

// Inlined always: a vector wider than the target's registers must not cross
// a call (GCC passes it through memory, and warns of the ABI).
#define HVAE_LANES_FN inline __attribute__((always_inline))
#else
#define HVAE_LANES_VECTOR 0
template <typename T>
struct Lanes {
  T v[lanes_count<T>()];
  HVAE_HD T& operator[](int l) { return v[l]; }
  HVAE_HD const T& operator[](int l) const { return v[l]; }
};

#define HVAE_LANES_FN HVAE_HD

#define HVAE_LANES_OP(op)                                                  \
  template <typename T>                                                    \
  HVAE_HD Lanes<T> operator op(const Lanes<T>& a, const Lanes<T>& b) {     \
    Lanes<T> r;                                                            \
    for (int l = 0; l < lanes_count<T>(); ++l) r.v[l] = a.v[l] op b.v[l];  \
    return r;                                                              \
  }                                                                        \
  template <typename T>                                                    \
  HVAE_HD Lanes<T> operator op(T a, const Lanes<T>& b) {                   \
    Lanes<T> r;                                                            \
    for (int l = 0; l < lanes_count<T>(); ++l) r.v[l] = a op b.v[l];       \
    return r;                                                              \
  }                                                                        \
  template <typename T>                                                    \
  HVAE_HD Lanes<T>& operator op##=(Lanes<T>& a, const Lanes<T>& b) {       \
    for (int l = 0; l < lanes_count<T>(); ++l) a.v[l] = a.v[l] op b.v[l];  \
    return a;                                                              \
  }
HVAE_LANES_OP(+)
HVAE_LANES_OP(-)
HVAE_LANES_OP(*)
#undef HVAE_LANES_OP
#endif

// The sum of the lanes, always in this order: halves added lane by lane
// until one is left (8 lanes: (0+4, 1+5, 2+6, 3+7), then (0+2, 1+3), then 0+1).
template <typename T>
HVAE_LANES_FN T lanes_sum(const Lanes<T>& a) {
  constexpr int n = lanes_count<T>();
  T h[n];
  for (int l = 0; l < n; ++l) h[l] = a[l];
  for (int w = n / 2; w > 0; w /= 2) {
    for (int l = 0; l < w; ++l) h[l] = h[l] + h[l + w];
  }
  return h[0];
}

// acc += the lanes l >= first of a (selected, so that an infinite or NaN
// value in a dropped lane stays out). An out-parameter: see HVAE_LANES_FN.
template <typename T>
HVAE_LANES_FN void lanes_add_from(Lanes<T>& acc, const Lanes<T>& a, int first) {
#if HVAE_LANES_VECTOR
  using I = typename std::conditional<sizeof(T) == 8, int64_t, int32_t>::type;
  typedef I Mask __attribute__((vector_size(kLaneBytes)));
  Mask lane;
  for (int l = 0; l < lanes_count<T>(); ++l) lane[l] = I(l);
  acc += lane >= I(first) ? a : Lanes<T>{};
#else
  for (int l = 0; l < lanes_count<T>(); ++l) acc[l] += l >= first ? a[l] : T(0);
#endif
}

// sums[k] = the sum over j in [begin, end) of what body(j, acc) adds to
// acc[k], for K accumulators acc of Lanes<T>, a group of lanes_count<T>()
// consecutive j at a time (body is a generic lambda; V =
// std::remove_reference_t<decltype(acc[0])>). The last (end - begin) mod L
// values (L = lanes_count<T>()) come from one more group ending at `end`,
// which overlaps the one before: of it only those lanes are kept (a body's
// stores to the overlap write the same values again). Fewer than L values
// in all are taken one at a time (V = T). The lanes are added in
// lanes_sum's order.
template <typename T, int K, typename Body>
HVAE_LANES_FN void lanes_accumulate(int64_t begin, int64_t end, T (&sums)[K], Body&& body) {
  constexpr int L = lanes_count<T>();
  if (end - begin < L) {
    T acc[K];
    for (int k = 0; k < K; ++k) acc[k] = T(0);
    for (int64_t j = begin; j < end; ++j) body(j, acc);
    for (int k = 0; k < K; ++k) sums[k] = acc[k];
    return;
  }
  Lanes<T> acc[K];
  for (int k = 0; k < K; ++k) acc[k] = Lanes<T>{};
  int64_t j = begin;
  for (; j + L <= end; j += L) body(j, acc);
  if (j < end) {
    Lanes<T> last[K];
    for (int k = 0; k < K; ++k) last[k] = Lanes<T>{};
    body(end - L, last);
    const int first = L - static_cast<int>(end - j);
    for (int k = 0; k < K; ++k) lanes_add_from<T>(acc[k], last[k], first);
  }
  for (int k = 0; k < K; ++k) sums[k] = lanes_sum<T>(acc[k]);
}

// Loads and stores, one overload for a group of lanes and one for a single
// value, so that a loop body written once (a generic lambda over V = Lanes<T>
// or T) serves the whole groups and the remaining j. Out-parameters: see
// HVAE_LANES_FN.

// r = x[j * stride] for j = j0 .. j0 + lanes_count<T>() - 1.
template <typename T>
HVAE_LANES_FN void lanes_get(Lanes<T>& r, const T* x, int64_t j0, int64_t stride) {
#if HVAE_LANES_VECTOR
  if (stride == 1) {
    std::memcpy(&r, x + j0, sizeof r);
    return;
  }
  // Through an array: writing a vector's lanes one by one costs an insert each.
  T a[lanes_count<T>()];
  for (int l = 0; l < lanes_count<T>(); ++l) a[l] = x[(j0 + l) * stride];
  std::memcpy(&r, a, sizeof r);
#else
  for (int l = 0; l < lanes_count<T>(); ++l) r[l] = x[(j0 + l) * stride];
#endif
}

template <typename T>
HVAE_LANES_FN void lanes_get(T& r, const T* x, int64_t j, int64_t stride) {
  r = x[j * stride];
}

// x[j] = a[j - j0] for j = j0 .. j0 + lanes_count<T>() - 1.
template <typename T>
HVAE_LANES_FN void lanes_put(T* x, int64_t j0, const Lanes<T>& a) {
#if HVAE_LANES_VECTOR
  std::memcpy(x + j0, &a, sizeof a);
#else
  for (int l = 0; l < lanes_count<T>(); ++l) x[j0 + l] = a[l];
#endif
}

template <typename T>
HVAE_LANES_FN void lanes_put(T* x, int64_t j, const T& a) {
  x[j] = a;
}

}  // namespace hvae
