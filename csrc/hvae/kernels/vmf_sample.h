// One sample (forward) and its gradient (backward) of a rotation-invariant
// law on the sphere, shared by the CPU loop and the CUDA thread-per-sample
// kernel. The CUDA warp-per-sample kernels (vmf_kernels.cuh) split the same
// O(m) loops across lanes.
//
// The laws differ only in the angle theta between z and mu (and so in
// d theta / d kappa); the tangent direction (normalised normals), the
// Householder rotation and the loc gradient are shared. `Law` is the angle
// law: VmfAngleLaw below (von Mises-Fisher) or PsAngleLaw
// (power_spherical.h, Power Spherical). A law supplies
//   Draw<T>                   what is drawn before the normals,
//   draw<T>(seed, i, offset, m, kappa) -> Draw<T>,
//   angle<T>(Draw<T>, |n|^2) -> VmfAngle<T>, with |n|^2 the squared norm of
//                             the m - 1 tangent normals (the PS angle uses it),
//   dtheta_dkappa<N>(m, kappa, theta) -> double (N quadrature nodes),
//   sin_cos(theta) -> VmfAngle<double>, sin and cos of theta for the chain
//                             rule (the same values wherever taken),
//   dtheta_dkappa_block<N>(m, kappa[], theta[], count, out[], angle[]): both
//                             for count <= kVmfBackwardBlock samples at once,
// and for the CPU's blocks of rows <= kVmfSampleRows samples (vmf_sample_rows)
//   draw_rows<T>(seed, i0, rows, offset, m, kappa[], out[]) and
//   angle_rows<T>(drawn[], norm2[], rows, out[]): draw and angle of each row.
#pragma once

#include <type_traits>

#include "../lanes.h"
#include "../power_spherical.h"
#include "../vmf.h"
#include "../vmf_grad.h"

namespace hvae {

// The vMF angle law: Wood's rejection sampler, independent of the normals.
struct VmfAngleLaw {
  template <typename T>
  using Draw = VmfAngle<T>;

  template <typename T>
  HVAE_HD static VmfAngle<T> draw(uint64_t seed, uint64_t subsequence, uint64_t offset, int64_t m,
                                  T kappa) {
    return vmf_draw_angle<T>(seed, subsequence, offset, m, kappa);
  }
  template <typename T>
  HVAE_HD static VmfAngle<T> angle(const VmfAngle<T>& d, T) {
    return d;
  }
  template <int N>
  HVAE_HD static double dtheta_dkappa(double m, double kappa, double theta) {
    return vmf_dtheta_dkappa<N>(m, kappa, theta, vmf_mean_cos(m, kappa));
  }
  HVAE_HD static VmfAngle<double> sin_cos(double theta) {
    return VmfAngle<double>{theta, ::cos(theta), ::sin(theta)};
  }
  // Wood's loop is taken a row at a time.
  template <typename T>
  static void draw_rows(uint64_t seed, uint64_t i0, int rows, uint64_t offset, int64_t m, const T* kappa,
                        VmfAngle<T>* out) {
    for (int r = 0; r < rows; ++r) out[r] = draw<T>(seed, i0 + uint64_t(r), offset, m, kappa[r]);
  }
  template <typename T>
  static void angle_rows(const VmfAngle<T>* d, const T*, int rows, VmfAngle<T>* out) {
    for (int r = 0; r < rows; ++r) out[r] = d[r];
  }
  template <int N>
  HVAE_HD static void dtheta_dkappa_block(double m, const double* kappa, const double* theta, int count,
                                          double* out, VmfAngle<double>* angle) {
    for (int k = 0; k < count; ++k) {
      out[k] = dtheta_dkappa<N>(m, kappa[k], theta[k]);
      angle[k] = sin_cos(theta[k]);
    }
  }
};

// Sample dimensions: n = S B rows, row i = s B + b drawn from loc row b =
// i mod B and kappa[b] (S samples per batch entry without copies of loc or
// kappa); the Philox stream is keyed by i, so the draws equal those of the
// call with loc and kappa repeated S times. batch = 0 means B = n.
template <typename T>
struct VmfSampleParams {
  const T* __restrict__ loc;    // [B, m], strides below (elements)
  const T* __restrict__ kappa;  // [B], stride below
  T* __restrict__ z;            // [n, m] contiguous output
  T* __restrict__ theta;        // [n] output: angle between z and loc
  int64_t loc_stride0;
  int64_t loc_stride1;
  int64_t kappa_stride;
  int64_t n;
  int64_t m;
  int64_t batch = 0;  // B (0: n)
  uint64_t seed;    // Philox key
  uint64_t offset;  // first Philox block of every sample's stream
};

template <typename T>
struct VmfBackwardParams {
  const T* __restrict__ grad_z;  // [n, m] contiguous
  const T* __restrict__ z;       // [n, m] contiguous (the forward's output)
  const T* __restrict__ theta;   // [n] contiguous
  const T* __restrict__ loc;     // [B, m], strides below (row i reads row i mod B)
  const T* __restrict__ kappa;   // [B], stride below
  T* __restrict__ grad_loc;      // [n, m] contiguous output: row i's gradient
  T* __restrict__ grad_kappa;    // [n] output, or nullptr when not needed
  int64_t loc_stride0;
  int64_t loc_stride1;
  int64_t kappa_stride;
  int64_t n;
  int64_t m;
  int64_t batch = 0;  // B (0: n)
};

// The loc/kappa row of sample row i (see VmfSampleParams).
HVAE_HD int64_t vmf_param_row(int64_t i, int64_t batch) { return batch == 0 || i < batch ? i : i % batch; }

// Quadrature nodes: ~1e-6 relative for float32 gradients, ~2e-8 for float64
// (the Power Spherical's series takes its tolerance from the same number,
// ps_series_tol).
template <typename T>
struct VmfQuadratureNodes {
  static constexpr int value = sizeof(T) > 4 ? 16 : 12;
};

// z = R (cos theta, sin theta v / |v|), v the m - 1 tangent normals, which
// are first written into z[1..m-1] (the output row doubles as scratch). In
// steps, which vmf_sample_one takes for one sample and vmf_sample_rows (CPU)
// for a block of them: the normals, their sums, the angle, the rotation.

// The normals of row i into z[1..m-1], the values of vmf_normal_pair. On the
// CPU in chunks (vectorised), but one or two pairs (m <= 5) are cheaper one
// at a time; a CUDA thread (m < kVmfWarpMinDim) takes them one at a time: the
// chunk's buffers would sit in local memory.
template <typename T>
HVAE_HD void vmf_sample_normals(const VmfSampleParams<T>& p, int64_t i) {
  const int64_t m = p.m;
  T* z = p.z + i * m;
#if defined(__CUDA_ARCH__)
  constexpr int64_t one_by_one = INT64_MAX;
#else
  constexpr int64_t one_by_one = 2;
#endif
  const int64_t pairs = vmf_normal_pairs(m);
  for (int64_t k = 0; pairs <= one_by_one && k < pairs; ++k) {
    const NormalPair<T> g = vmf_normal_pair<T>(p.seed, uint64_t(i), p.offset, k);
    z[1 + 2 * k] = g.z0;
    if (2 + 2 * k < m) z[2 + 2 * k] = g.z1;
  }
  for (int64_t k0 = 0; pairs > one_by_one && k0 < pairs; k0 += kVmfChunkPairs) {
    const int count = static_cast<int>(min_<int64_t>(kVmfChunkPairs, pairs - k0));
    vmf_normal_chunk(p.seed, uint64_t(i), p.offset, k0, count, m, z);
  }
}

// |v|^2, |mu_t|^2 and mu_t^T v of row i, in lanes (lanes.h).
template <typename T>
struct VmfSampleSums {
  T norm2, tail_sq, mu_dot_v;
};

template <typename T>
HVAE_HD VmfSampleSums<T> vmf_sample_sums(const VmfSampleParams<T>& p, int64_t i) {
  const T* mu = p.loc + vmf_param_row(i, p.batch) * p.loc_stride0;
  const int64_t ls = p.loc_stride1;
  const T* z = p.z + i * p.m;
  T s[3];
  lanes_accumulate<T>(1, p.m, s, [&](int64_t j, auto& acc) {
    typename std::remove_reference<decltype(acc[0])>::type v, mj;
    lanes_get(v, z, j, 1);
    lanes_get(mj, mu, j, ls);
    acc[0] += v * v;
    acc[1] += mj * mj;
    acc[2] += mj * v;
  });
  return VmfSampleSums<T>{s[0], s[1], s[2]};
}

// theta[i], and z[i] from the angle and the normals in z[i].
template <typename T>
HVAE_HD void vmf_sample_finish(const VmfSampleParams<T>& p, int64_t i, const VmfAngle<T>& a,
                               const VmfSampleSums<T>& sums) {
  const int64_t m = p.m;
  const T* mu = p.loc + vmf_param_row(i, p.batch) * p.loc_stride0;
  const int64_t ls = p.loc_stride1;
  T* z = p.z + i * m;
  T norm2 = sums.norm2, mu_dot_v = sums.mu_dot_v;
  p.theta[i] = a.theta;
  if (!(norm2 > T(0))) {  // all normals 0 (probability ~2^-32 at m = 2): any direction
    for (int64_t j = 1; j < m; ++j) z[j] = T(0);
    z[1] = T(1);
    norm2 = T(1);
    mu_dot_v = mu[ls];
  }
  const VmfReflector<T> r = vmf_reflector<T>(mu[0], sums.tail_sq);
  const T scale = a.sin_theta / sqrt_(norm2);  // z'_j = scale v_j, j >= 1
  // u^T z' = u1 cos theta + sigma sum_j mu_j z'_j;  z = -sigma z' + (2 u^T z'/q) sigma u
  const T utz = r.u1 * a.cos_theta + r.sigma * scale * mu_dot_v;
  const T c = T(2) * utz / r.q;
  z[0] = r.sigma * (c * r.u1 - a.cos_theta);
  for (int64_t j = 1; j < m; ++j) z[j] = c * mu[j * ls] - r.sigma * scale * z[j];
}

// Row i from its draw: the normals, their sums, the angle, the rotation.
template <typename T, typename Law>
HVAE_HD void vmf_sample_drawn(const VmfSampleParams<T>& p, int64_t i, const typename Law::template Draw<T>& drawn) {
  vmf_sample_normals<T>(p, i);
  const VmfSampleSums<T> sums = vmf_sample_sums<T>(p, i);
  vmf_sample_finish<T>(p, i, Law::template angle<T>(drawn, sums.norm2), sums);
}

template <typename T, typename Law = VmfAngleLaw>
HVAE_HD void vmf_sample_one(const VmfSampleParams<T>& p, int64_t i) {
  const T kappa = p.kappa[vmf_param_row(i, p.batch) * p.kappa_stride];
  vmf_sample_drawn<T, Law>(p, i, Law::template draw<T>(p.seed, uint64_t(i), p.offset, p.m, kappa));
}

// Rows i0 .. i0 + rows - 1 (rows <= kVmfSampleRows; CPU), the values of
// vmf_sample_one each: the draws and the angles of the block together
// (Law::draw_rows, Law::angle_rows), and at small m the normals too
// (vmf_normal_rows). Where the block's z would not stay in L1 between the
// sums and the rotation (16 rows of 512 doubles: 10% slower), all but the
// draws go a row at a time.
constexpr int64_t kVmfSampleBlockBytes = 16 * 1024;

template <typename T, typename Law = VmfAngleLaw>
inline void vmf_sample_rows(const VmfSampleParams<T>& p, int64_t i0, int rows) {
  T kappa[kVmfSampleRows] = {};  // all set: the draws' loops may run whole vectors
  for (int r = 0; r < rows; ++r) kappa[r] = p.kappa[vmf_param_row(i0 + r, p.batch) * p.kappa_stride];
  typename Law::template Draw<T> drawn[kVmfSampleRows];
  Law::template draw_rows<T>(p.seed, uint64_t(i0), rows, p.offset, p.m, kappa, drawn);
  const bool normals_by_rows = vmf_normal_blocks<T>(p.m) <= uint64_t(kVmfRowNormalBlocks);
  if (!normals_by_rows && kVmfSampleRows * p.m * int64_t(sizeof(T)) > kVmfSampleBlockBytes) {
    for (int r = 0; r < rows; ++r) vmf_sample_drawn<T, Law>(p, i0 + r, drawn[r]);
    return;
  }
  if (normals_by_rows) {
    vmf_normal_rows(p.seed, uint64_t(i0), rows, p.offset, p.m, p.z + i0 * p.m);
  } else {
    for (int r = 0; r < rows; ++r) vmf_sample_normals<T>(p, i0 + r);
  }
  VmfSampleSums<T> sums[kVmfSampleRows];
  T norm2[kVmfSampleRows];
  for (int r = 0; r < rows; ++r) {
    sums[r] = vmf_sample_sums<T>(p, i0 + r);
    norm2[r] = sums[r].norm2;
  }
  VmfAngle<T> angle[kVmfSampleRows];
  Law::template angle_rows<T>(drawn, norm2, rows, angle);
  for (int r = 0; r < rows; ++r) vmf_sample_finish<T>(p, i0 + r, angle[r], sums[r]);
}

// Rows [begin, end) in blocks (the host loops).
template <typename T, typename Law = VmfAngleLaw>
inline void vmf_sample_range(const VmfSampleParams<T>& p, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i += kVmfSampleRows)
    vmf_sample_rows<T, Law>(p, i, static_cast<int>(min_<int64_t>(kVmfSampleRows, end - i)));
}

// The kappa gradient of one sample is (d theta/d kappa) [-sin theta h_1 +
// cos theta h_t^T v], from h_1 = (R g)_1, ht = h_t^T z'_t and t2 = |z'_t|^2
// (v = z'_t / |z'_t|), in double whatever T is: the bracket here,
template <typename T>
HVAE_HD double vmf_kappa_factor(const VmfAngle<double>& a, T h0, T ht, T t2) {
  double tangent = 0.0;
  if (t2 > T(0)) tangent = double(ht) / ::sqrt(double(t2));
  return -a.sin_theta * double(h0) + a.cos_theta * tangent;
}

// and the product (0 where d theta/d kappa is 0, whatever the bracket).
template <typename T>
HVAE_HD T vmf_kappa_grad(double dtheta, double factor) {
  return dtheta == 0.0 ? T(0) : T(dtheta * factor);
}

template <typename T, typename Law = VmfAngleLaw>
HVAE_HD T vmf_grad_kappa(int64_t m, T kappa_t, T theta_t, T h0, T ht, T t2) {
  const double dtheta = Law::template dtheta_dkappa<VmfQuadratureNodes<T>::value>(
      double(m), double(kappa_t), double(theta_t));
  return vmf_kappa_grad<T>(dtheta, vmf_kappa_factor(Law::sin_cos(double(theta_t)), h0, ht, t2));
}

// What the kappa gradient of a sample needs from its loc gradient's pass.
template <typename T>
struct VmfKappaTerms {
  T h0, ht, t2;
};

// Gradients of sum(grad_z * z) for one sample: vmf_backward_loc writes the
// loc gradient to gl [m] and returns what the kappa gradient needs;
// vmf_backward_one adds the kappa gradient to *gk (gk null: none; the
// defaults are row i of p's outputs). z = R(mu) z'(kappa):
//   grad_mu = 2 [g p + (g^T u) z' - 2 (g^T u) p u / q] / q,  p = u^T z'
//   grad_kappa = (d theta/d kappa) [-sin theta h_1 + cos theta h_t^T v],
// with z' = R z, h = R g (R is its own inverse) and v the unit tangent of z'.
template <typename T>
HVAE_HD VmfKappaTerms<T> vmf_backward_loc(const VmfBackwardParams<T>& p, int64_t i, T* gl) {
  const int64_t m = p.m;
  const int64_t row = vmf_param_row(i, p.batch);
  const T* mu = p.loc + row * p.loc_stride0;
  const int64_t ls = p.loc_stride1;
  const T* z = p.z + i * m;
  const T* g = p.grad_z + i * m;

  // |mu_t|^2, mu_t^T z_t, mu_t^T g_t, in lanes (lanes.h).
  T s[3];
  lanes_accumulate<T>(1, m, s, [&](int64_t j, auto& acc) {
    typename std::remove_reference<decltype(acc[0])>::type mj, zj, gj;
    lanes_get(mj, mu, j, ls);
    lanes_get(zj, z, j, 1);
    lanes_get(gj, g, j, 1);
    acc[0] += mj * mj;
    acc[1] += mj * zj;
    acc[2] += mj * gj;
  });
  const T tail_sq = s[0], mz = s[1], mg = s[2];
  const VmfReflector<T> r = vmf_reflector<T>(mu[0], tail_sq);
  const T uz = r.u1 * z[0] + r.sigma * mz;  // u^T z
  const T ug = r.u1 * g[0] + r.sigma * mg;  // u^T g
  const T cz = T(2) * uz / r.q, cg = T(2) * ug / r.q;
  const T pz = r.sigma * uz;  // u^T z' = u^T R z = (R u)^T z = sigma u^T z
  const T k1 = T(2) * pz / r.q, k2 = T(2) * ug / r.q, k3 = T(4) * ug * pz / (r.q * r.q);
  // j = 0: u_0 = u1, z'_0 = -sigma (z_0 - cz u1), h_0 = -sigma (g_0 - cg u1)
  const T zp0 = -r.sigma * (z[0] - cz * r.u1);
  const T h0 = -r.sigma * (g[0] - cg * r.u1);
  gl[0] = k1 * g[0] + k2 * zp0 - k3 * r.u1;
  // grad_loc_j, and h_t^T z'_t, |z'_t|^2 (lanes).
  T ht_t2[2];
  lanes_accumulate<T>(1, m, ht_t2, [&](int64_t j, auto& acc) {
    using V = typename std::remove_reference<decltype(acc[0])>::type;
    V mj, zj, gj;
    lanes_get(mj, mu, j, ls);
    lanes_get(zj, z, j, 1);
    lanes_get(gj, g, j, 1);
    const V zpj = cz * mj - r.sigma * zj;  // u_j = sigma mu_j
    const V hj = cg * mj - r.sigma * gj;
    acc[0] += hj * zpj;
    acc[1] += zpj * zpj;
    lanes_put(gl, j, V(k1 * gj + k2 * zpj - (k3 * r.sigma) * mj));
  });
  return VmfKappaTerms<T>{h0, ht_t2[0], ht_t2[1]};
}

template <typename T, typename Law = VmfAngleLaw>
HVAE_HD void vmf_backward_one(const VmfBackwardParams<T>& p, int64_t i, T* gl, T* gk) {
  const VmfKappaTerms<T> k = vmf_backward_loc<T>(p, i, gl);
  if (gk == nullptr) return;
  const int64_t row = vmf_param_row(i, p.batch);
  *gk = vmf_grad_kappa<T, Law>(p.m, p.kappa[row * p.kappa_stride], p.theta[i], k.h0, k.ht, k.t2);
}

template <typename T, typename Law = VmfAngleLaw>
HVAE_HD void vmf_backward_one(const VmfBackwardParams<T>& p, int64_t i) {
  vmf_backward_one<T, Law>(p, i, p.grad_loc + i * p.m,
                           p.grad_kappa == nullptr ? nullptr : p.grad_kappa + i);
}

// Rows [i0, i0 + count), count <= kVmfBackwardBlock, as vmf_backward_one
// each (the same values), their d theta / d kappa taken together
// (Law::dtheta_dkappa_block: the Power Spherical series runs in lanes).
constexpr int kVmfBackwardBlock = 4;
#if HVAE_LANES_VECTOR
static_assert(kVmfBackwardBlock <= kPsSeriesLanes, "a block fits the Power Spherical series' lanes");
#endif

template <typename T, typename Law = VmfAngleLaw>
HVAE_HD void vmf_backward_block(const VmfBackwardParams<T>& p, int64_t i0, int count) {
  VmfKappaTerms<T> terms[kVmfBackwardBlock];
  for (int k = 0; k < count; ++k) terms[k] = vmf_backward_loc<T>(p, i0 + k, p.grad_loc + (i0 + k) * p.m);
  if (p.grad_kappa == nullptr) return;
  double kappa[kVmfBackwardBlock] = {}, theta[kVmfBackwardBlock] = {}, dtheta[kVmfBackwardBlock];
  VmfAngle<double> angle[kVmfBackwardBlock];
  for (int k = 0; k < count; ++k) {
    kappa[k] = double(p.kappa[vmf_param_row(i0 + k, p.batch) * p.kappa_stride]);
    theta[k] = double(p.theta[i0 + k]);
  }
  Law::template dtheta_dkappa_block<VmfQuadratureNodes<T>::value>(double(p.m), kappa, theta, count, dtheta,
                                                                  angle);
  for (int k = 0; k < count; ++k) {
    const VmfKappaTerms<T>& t = terms[k];
    p.grad_kappa[i0 + k] = vmf_kappa_grad<T>(dtheta[k], vmf_kappa_factor(angle[k], t.h0, t.ht, t.t2));
  }
}

// Rows [begin, end) in blocks (the host loops).
template <typename T, typename Law = VmfAngleLaw>
HVAE_HD void vmf_backward_range(const VmfBackwardParams<T>& p, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i += kVmfBackwardBlock)
    vmf_backward_block<T, Law>(p, i, static_cast<int>(min_<int64_t>(kVmfBackwardBlock, end - i)));
}

// The gradients of batch entry b summed over its sample rows i = s B + b,
// s in [s0, s1) (host; the samples' loc and kappa gradients reduced without
// a per-sample buffer): gl_sum [m] and *gk_sum (when p.grad_kappa is not null)
// are overwritten; row: scratch of m elements.
template <typename T, typename Law = VmfAngleLaw>
HVAE_HD void vmf_backward_sum(const VmfBackwardParams<T>& p, int64_t b, int64_t s0, int64_t s1, T* gl_sum,
                              T* gk_sum, T* row) {
  const int64_t B = p.batch == 0 ? p.n : p.batch;
  for (int64_t j = 0; j < p.m; ++j) gl_sum[j] = T(0);
  T gk_total = T(0);
  for (int64_t s = s0; s < s1; ++s) {
    T gk = T(0);
    vmf_backward_one<T, Law>(p, s * B + b, row, p.grad_kappa == nullptr ? nullptr : &gk);
    for (int64_t j = 0; j < p.m; ++j) gl_sum[j] += row[j];
    gk_total += gk;
  }
  if (p.grad_kappa != nullptr) *gk_sum = gk_total;
}

}  // namespace hvae
