// CUDA kernels of the vMF and Power Spherical samplers (torch-free: compiled
// by the CMake device-code check as well as by the extension build); `Law`
// is the angle law of vmf_sample.h (VmfAngleLaw, PsAngleLaw). Small m: one thread
// per sample (vmf_sample_one / vmf_backward_one, the CPU code). Large m: one
// warp per tile of up to 32 samples; the lanes split each sample's O(m) loops
// and take one sample each for the scalar work (the angle's rejection loop,
// the kappa gradient's quadrature). Both give the CPU's values up to the order of
// the floating-point sums.
//
// `Rng` supplies (seed, first block) on the device, so that the torch glue
// can read them from a PhiloxCudaState inside the kernel (CUDA graphs):
//   struct Rng { __device__ void get(uint64_t& seed, uint64_t& offset) const; };
#pragma once

#include "vmf_sample.h"

namespace hvae {

// (seed, offset) fixed at launch (the seeded op, and the device-code check).
struct VmfFixedSeed {
  uint64_t seed;
  uint64_t offset;
  __device__ void get(uint64_t& s, uint64_t& o) const {
    s = seed;
    o = offset;
  }
};

constexpr int kVmfWarp = 32;

// The O(m) loops of one sample: unrolled on the GPU so that a warp has
// several iterations' loads in flight (a warp works through its tile's
// samples one at a time, so these loads are all the memory parallelism it has).
#if defined(__CUDA_ARCH__)
#define HVAE_VMF_UNROLL _Pragma("unroll 4")
#else
#define HVAE_VMF_UNROLL
#endif
// Warp per sample from this m on; one thread per sample below.
constexpr int64_t kVmfWarpMinDim = 33;

template <typename T>
__device__ __forceinline__ T vmf_warp_sum(T v) {
#pragma unroll
  for (int d = kVmfWarp / 2; d > 0; d /= 2) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}

// A lane's angle draw, broadcast from lane `src` (one overload per law's Draw).
template <typename T>
__device__ __forceinline__ VmfAngle<T> vmf_shfl(const VmfAngle<T>& d, int src) {
  return VmfAngle<T>{__shfl_sync(0xffffffffu, d.theta, src),
                     __shfl_sync(0xffffffffu, d.cos_theta, src),
                     __shfl_sync(0xffffffffu, d.sin_theta, src)};
}
template <typename T>
__device__ __forceinline__ PsDraw<T> vmf_shfl(const PsDraw<T>& d, int src) {
  return PsDraw<T>{__shfl_sync(0xffffffffu, d.g1, src)};
}

template <typename T, typename Rng, typename Law = VmfAngleLaw>
__global__ void vmf_sample_thread_kernel(VmfSampleParams<T> p, Rng rng) {
  rng.get(p.seed, p.offset);
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride) {
    vmf_sample_one<T, Law>(p, i);
  }
}

// Warp per tile of `tile` (1..32) consecutive samples: lane l < tile first
// draws the angle of sample t0 + l (the rejection loops run side by side
// instead of on one lane while the others wait), then the warp takes the
// tile's samples one by one, lanes splitting the O(m) loops; the angle is
// completed from the warp's |n|^2 (Law::angle) and lane 0 stores theta. Larger tiles
// share the scalar work better, smaller ones give a small batch more warps
// for the memory-bound O(m) loops; the glue picks (vmf_cuda.cu).
template <typename T, typename Rng, typename Law = VmfAngleLaw>
__global__ void vmf_sample_warp_kernel(VmfSampleParams<T> p, Rng rng, int tile) {
  rng.get(p.seed, p.offset);
  const int lane = threadIdx.x % kVmfWarp;
  const int64_t warps = int64_t(blockDim.x / kVmfWarp) * gridDim.x;
  const int64_t m = p.m;
  const int64_t pairs = vmf_normal_pairs(m);
  const int64_t ls = p.loc_stride1;
  for (int64_t t0 = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kVmfWarp * tile; t0 < p.n;
       t0 += warps * tile) {
    const int count = static_cast<int>(min_<int64_t>(tile, p.n - t0));  // warp-uniform
    typename Law::template Draw<T> mine{};
    if (lane < count) {
      const int64_t i = t0 + lane;
      mine = Law::template draw<T>(p.seed, uint64_t(i), p.offset, m,
                                   p.kappa[vmf_param_row(i, p.batch) * p.kappa_stride]);
    }
    for (int s = 0; s < count; ++s) {
      const int64_t i = t0 + s;
      const T* mu = p.loc + vmf_param_row(i, p.batch) * p.loc_stride0;
      T* z = p.z + i * m;
      const typename Law::template Draw<T> drawn = vmf_shfl(mine, s);

      // Lane l owns pairs l, l + 32, ... (elements 1 + 2k and 2 + 2k).
      T norm2 = T(0), tail_sq = T(0), mu_dot_v = T(0);
      HVAE_VMF_UNROLL
      for (int64_t k = lane; k < pairs; k += kVmfWarp) {
        const NormalPair<T> g = vmf_normal_pair<T>(p.seed, uint64_t(i), p.offset, k);
        const T m0 = mu[(1 + 2 * k) * ls];
        z[1 + 2 * k] = g.z0;
        norm2 += g.z0 * g.z0;
        tail_sq += m0 * m0;
        mu_dot_v += m0 * g.z0;
        if (2 + 2 * k < m) {
          const T m1 = mu[(2 + 2 * k) * ls];
          z[2 + 2 * k] = g.z1;
          norm2 += g.z1 * g.z1;
          tail_sq += m1 * m1;
          mu_dot_v += m1 * g.z1;
        }
      }
      norm2 = vmf_warp_sum(norm2);
      tail_sq = vmf_warp_sum(tail_sq);
      mu_dot_v = vmf_warp_sum(mu_dot_v);
      const VmfAngle<T> a = Law::template angle<T>(drawn, norm2);
      const T cos_theta = a.cos_theta, sin_theta = a.sin_theta;
      if (lane == 0) p.theta[i] = a.theta;
      const bool degenerate = !(norm2 > T(0));
      if (degenerate) {  // all normals 0 (never in practice): direction e2
        norm2 = T(1);
        mu_dot_v = mu[ls];
      }
      const VmfReflector<T> r = vmf_reflector<T>(mu[0], tail_sq);
      const T scale = sin_theta / sqrt_(norm2);
      const T utz = r.u1 * cos_theta + r.sigma * scale * mu_dot_v;
      const T c = T(2) * utz / r.q;
      if (lane == 0) z[0] = r.sigma * (c * r.u1 - cos_theta);
      HVAE_VMF_UNROLL
      for (int64_t k = lane; k < pairs; k += kVmfWarp) {
        for (int64_t j = 1 + 2 * k; j <= 2 + 2 * k && j < m; ++j) {
          const T v = degenerate ? T(j == 1 ? 1 : 0) : z[j];
          z[j] = c * mu[j * ls] - r.sigma * scale * v;
        }
      }
    }
  }
}

template <typename T, typename Law = VmfAngleLaw>
__global__ void vmf_backward_thread_kernel(VmfBackwardParams<T> p) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride) {
    vmf_backward_one<T, Law>(p, i);
  }
}

// vmf_backward_one for a tile of `tile` (1..32) samples per warp: the warp
// takes the samples one by one for the two O(m) passes (lanes split them),
// and lane s keeps what sample t0 + s needs for its kappa gradient; then the
// tile's lanes compute their samples' kappa gradients (a quadrature), side
// by side.
template <typename T, typename Law = VmfAngleLaw>
__global__ void vmf_backward_warp_kernel(VmfBackwardParams<T> p, int tile) {
  const int lane = threadIdx.x % kVmfWarp;
  const int64_t warps = int64_t(blockDim.x / kVmfWarp) * gridDim.x;
  const int64_t m = p.m;
  const int64_t ls = p.loc_stride1;
  for (int64_t t0 = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kVmfWarp * tile; t0 < p.n;
       t0 += warps * tile) {
    const int count = static_cast<int>(min_<int64_t>(tile, p.n - t0));  // warp-uniform
    T my_h0 = T(0), my_ht = T(0), my_t2 = T(0);
    for (int s = 0; s < count; ++s) {
      const int64_t i = t0 + s;
      const T* mu = p.loc + vmf_param_row(i, p.batch) * p.loc_stride0;
      const T* z = p.z + i * m;
      const T* g = p.grad_z + i * m;
      T* gl = p.grad_loc + i * m;
      T tail_sq = T(0), mz = T(0), mg = T(0);
      HVAE_VMF_UNROLL
      for (int64_t j = 1 + lane; j < m; j += kVmfWarp) {
        const T mj = mu[j * ls];
        tail_sq += mj * mj;
        mz += mj * z[j];
        mg += mj * g[j];
      }
      tail_sq = vmf_warp_sum(tail_sq);
      mz = vmf_warp_sum(mz);
      mg = vmf_warp_sum(mg);
      const VmfReflector<T> r = vmf_reflector<T>(mu[0], tail_sq);
      const T uz = r.u1 * z[0] + r.sigma * mz;
      const T ug = r.u1 * g[0] + r.sigma * mg;
      const T cz = T(2) * uz / r.q, cg = T(2) * ug / r.q;
      const T pz = r.sigma * uz;
      const T k1 = T(2) * pz / r.q, k2 = T(2) * ug / r.q, k3 = T(4) * ug * pz / (r.q * r.q);
      T ht = T(0), t2 = T(0);
      HVAE_VMF_UNROLL
      for (int64_t j = 1 + lane; j < m; j += kVmfWarp) {
        const T mj = mu[j * ls];
        const T zpj = -r.sigma * z[j] + cz * mj;
        const T hj = -r.sigma * g[j] + cg * mj;
        ht += hj * zpj;
        t2 += zpj * zpj;
        gl[j] = k1 * g[j] + k2 * zpj - k3 * r.sigma * mj;
      }
      ht = vmf_warp_sum(ht);
      t2 = vmf_warp_sum(t2);
      const T zp0 = -r.sigma * (z[0] - cz * r.u1);
      if (lane == 0) gl[0] = k1 * g[0] + k2 * zp0 - k3 * r.u1;
      if (lane == s) {
        my_h0 = -r.sigma * (g[0] - cg * r.u1);
        my_ht = ht;
        my_t2 = t2;
      }
    }
    if (p.grad_kappa == nullptr || lane >= count) continue;
    const int64_t i = t0 + lane;
    const T kappa = p.kappa[vmf_param_row(i, p.batch) * p.kappa_stride];
    p.grad_kappa[i] = vmf_grad_kappa<T, Law>(m, kappa, p.theta[i], my_h0, my_ht, my_t2);
  }
}

}  // namespace hvae
