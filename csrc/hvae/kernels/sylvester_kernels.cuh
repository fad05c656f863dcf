// CUDA kernels of the triangular Sylvester flow (torch-free: compiled by the
// CMake device-code check as well as by the extension build).
//
// One block per sample (grid-stride over the batch); the sample's vectors
// live in shared memory and the parameters are streamed once per pass:
//   forward : R x row dot products, one warp per row (a row is contiguous from
//             its diagonal on, so a warp's loads coalesce), warp-shuffle sums;
//   backward: R^T y and the outer-product gradients, one thread per column j
//             walking rows i <= j, so that at each i the block reads (and
//             writes the gradient of) a contiguous piece of row i. A thread
//             owns its columns, so no two threads write one element and the
//             gradient needs no atomics.
// Shared parameters: each block accumulates into its own [K, F] slice of a
// zeroed buffer (batch stride 0 in the params means "slice blockIdx.x"); the
// glue sums the slices, which is deterministic, unlike atomics.
// The scalar math (log-det term, its derivatives, layout) is csrc/hvae/sylvester.h.
#pragma once

#include "../sylvester.h"

namespace hvae {

constexpr int kSylvesterThreads = 128;
constexpr int kSylvesterWarps = kSylvesterThreads / 32;

template <typename T>
__device__ __forceinline__ T sylvester_warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block of one value per thread; the result is valid in thread 0.
// `scratch` holds kSylvesterWarps values. Ends with a barrier.
template <typename T>
__device__ __forceinline__ T sylvester_block_sum(T v, T* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = sylvester_warp_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T total = T(0);
  if (threadIdx.x == 0) {
    for (int w = 0; w < kSylvesterWarps; ++w) total += scratch[w];
  }
  __syncthreads();
  return total;
}

// Dynamic shared memory: zc, u, h [D] + kSylvesterWarps reduction slots.
template <typename T>
__global__ void __launch_bounds__(kSylvesterThreads)
    sylvester_forward_kernel(SylvesterParams<T> p) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* zc = reinterpret_cast<T*>(smem_raw);
  const int64_t D = p.dim, K = p.num_flows;
  T* u = zc + D;
  T* h = u + D;
  T* scratch = h + D;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t n = blockIdx.x; n < p.batch; n += gridDim.x) {
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      zc[j] = p.z[n * p.z_batch_stride + j * p.z_dim_stride];
    }
    T log_det = T(0);  // this thread's share (lanes 0 of the warps)
    __syncthreads();
    for (int64_t k = 0; k < K; ++k) {
      const bool flip = p.flips(k);
      const T* r1 = sylvester_factor_step(p.r1, n, k);
      const T* r2 = sylvester_factor_step(p.r2, n, k);
      const T* bk = p.b + n * p.b_batch_stride + k * p.b_step_stride;
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        u[j] = zc[flip ? D - 1 - j : j];
        if (p.zs != nullptr) p.zs[(n * K + k) * D + j] = zc[j];
      }
      __syncthreads();
      // a = R2 u + b, h = tanh(a), and the log-det terms
      for (int64_t i = warp; i < D; i += kSylvesterWarps) {
        const T* row = r2 + sylvester_row_offset(i, D, p.r2.row_stride, p.packed);
        T acc = T(0);
        for (int64_t j = i + lane; j < D; j += 32) {
          const T r = j == i ? sylvester_diag_value(row[0], p.diag_tanh) : row[j - i];
          acc += r * u[j];
        }
        acc = sylvester_warp_sum(acc);
        if (lane == 0) {
          const T a = acc + bk[i * p.b_dim_stride];
          if (p.as != nullptr) p.as[(n * K + k) * D + i] = a;
          const T d1 = r1[sylvester_row_offset(i, D, p.r1.row_stride, p.packed)];
          const T ha = tanh_(a);
          log_det += sylvester_log_term(d1, row[0], a, ha, p.diag_tanh);
          h[i] = ha;
        }
      }
      __syncthreads();
      // z += P R1 h (u keeps the old z; each row writes its own coordinate)
      for (int64_t i = warp; i < D; i += kSylvesterWarps) {
        const T* row = r1 + sylvester_row_offset(i, D, p.r1.row_stride, p.packed);
        T acc = T(0);
        for (int64_t j = i + lane; j < D; j += 32) {
          const T r = j == i ? sylvester_diag_value(row[0], p.diag_tanh) : row[j - i];
          acc += r * h[j];
        }
        acc = sylvester_warp_sum(acc);
        if (lane == 0) zc[flip ? D - 1 - i : i] += acc;
      }
      __syncthreads();
      if (p.per_step_logdet) {
        const T step = sylvester_block_sum(log_det, scratch);
        if (threadIdx.x == 0) p.logdet[n * K + k] = step;
        log_det = T(0);
      }
    }
    if (!p.per_step_logdet) {
      const T total = sylvester_block_sum(log_det, scratch);
      if (threadIdx.x == 0) p.logdet[n] = total;
    }
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) p.z_out[n * D + j] = zc[j];
    __syncthreads();
  }
}

// Dynamic shared memory: gz, u, h, s, v, g [D]. Steps in reverse order; per
// step (see sylvester_backward_sample for the formulas):
//   pass 1 (R1): gh_j = sum_{i<=j} R1_ij v_i, dR1_ij = v_i h_j; then, at the
//           diagonal, ga_j = gh_j s_j + gl dL_j/da_j and the log-det's diagonal
//           gradients (the R2 one parked in s_j for pass 2);
//   pass 2 (R2): gu_j = sum_{i<=j} R2_ij ga_i, dR2_ij = ga_i u_j; gz += P gu.
template <bool Accumulate, typename T>
__global__ void __launch_bounds__(kSylvesterThreads)
    sylvester_backward_kernel(SylvesterBackwardParams<T> bp) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const SylvesterParams<T>& p = bp.fwd;
  const int64_t D = p.dim, K = p.num_flows;
  const int64_t F = sylvester_factor_size(D, p.packed);
  T* gz = reinterpret_cast<T*>(smem_raw);
  T* u = gz + D;
  T* h = u + D;
  T* s = h + D;
  T* v = s + D;
  T* g = v + D;
  for (int64_t n = blockIdx.x; n < p.batch; n += gridDim.x) {
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      gz[j] = bp.grad_z_out[n * bp.gz_batch_stride + j * bp.gz_dim_stride];
    }
    // batch stride 0 = a shared parameter: this block's accumulator slice
    T* g1_base = bp.grad_r1 + (bp.grad_r1_batch_stride != 0 ? n * bp.grad_r1_batch_stride
                                                            : int64_t(blockIdx.x) * K * F);
    T* g2_base = bp.grad_r2 + (bp.grad_r2_batch_stride != 0 ? n * bp.grad_r2_batch_stride
                                                            : int64_t(blockIdx.x) * K * F);
    T* gb_base = bp.grad_b + (bp.grad_b_batch_stride != 0 ? n * bp.grad_b_batch_stride
                                                          : int64_t(blockIdx.x) * K * D);
    __syncthreads();
    for (int64_t k = K - 1; k >= 0; --k) {
      const bool flip = p.flips(k);
      const T* r1 = sylvester_factor_step(p.r1, n, k);
      const T* r2 = sylvester_factor_step(p.r2, n, k);
      T* g1 = g1_base + k * F;
      T* g2 = g2_base + k * F;
      T* gb = gb_base + k * D;
      const T gl = p.per_step_logdet ? bp.grad_logdet[n * bp.gl_batch_stride + k * bp.gl_step_stride]
                                     : bp.grad_logdet[n * bp.gl_batch_stride];
      const T* zk = bp.zs + (n * K + k) * D;
      const T* ak = bp.as + (n * K + k) * D;
      if (!Accumulate && !p.packed) {
        // stored dense gradients: write the zeros below the diagonal here
        // (coalesced), so the buffers need no separate zero fill
        for (int64_t e = threadIdx.x; e < D * D; e += blockDim.x) {
          if (e % D < e / D) {
            g1[e] = T(0);
            g2[e] = T(0);
          }
        }
      }
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        u[j] = zk[flip ? D - 1 - j : j];
        h[j] = tanh_(ak[j]);
        s[j] = sech2(ak[j]);
        v[j] = gz[flip ? D - 1 - j : j];
      }
      __syncthreads();
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        T acc = T(0);
        const T hj = h[j];
        // unrolled so that several rows' loads are in flight at once
#if defined(__CUDACC__)
#pragma unroll 4
#endif
        for (int64_t i = 0; i < j; ++i) {
          const int64_t off = sylvester_row_offset(i, D, p.r1.row_stride, p.packed) + (j - i);
          acc += r1[off] * v[i];
          sylvester_store<Accumulate>(g1 + sylvester_row_offset(i, D, D, p.packed) + (j - i), v[i] * hj);
        }
        const T d1 = r1[sylvester_row_offset(j, D, p.r1.row_stride, p.packed)];
        const T d2 = r2[sylvester_row_offset(j, D, p.r2.row_stride, p.packed)];
        acc += sylvester_diag_value(d1, p.diag_tanh) * v[j];
        const SylvesterDiagTerm<T> t = sylvester_diag_term(d1, d2, ak[j], p.diag_tanh);
        const T chain1 = p.diag_tanh ? sech2(d1) : T(1);
        sylvester_store<Accumulate>(g1 + sylvester_row_offset(j, D, D, p.packed), v[j] * hj * chain1 + gl * t.d_r1);
        const T ga = acc * s[j] + gl * t.d_a;
        g[j] = ga;
        sylvester_store<Accumulate>(gb + j, ga);
        s[j] = gl * t.d_r2;  // s_j is not needed any more; its owner parks the R2 diagonal term
      }
      __syncthreads();
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        T acc = T(0);
        const T uj = u[j];
        // unrolled so that several rows' loads are in flight at once
#if defined(__CUDACC__)
#pragma unroll 4
#endif
        for (int64_t i = 0; i < j; ++i) {
          const int64_t off = sylvester_row_offset(i, D, p.r2.row_stride, p.packed) + (j - i);
          acc += r2[off] * g[i];
          sylvester_store<Accumulate>(g2 + sylvester_row_offset(i, D, D, p.packed) + (j - i), g[i] * uj);
        }
        const T d2 = r2[sylvester_row_offset(j, D, p.r2.row_stride, p.packed)];
        acc += sylvester_diag_value(d2, p.diag_tanh) * g[j];
        const T chain2 = p.diag_tanh ? sech2(d2) : T(1);
        sylvester_store<Accumulate>(g2 + sylvester_row_offset(j, D, D, p.packed), g[j] * uj * chain2 + s[j]);
        gz[flip ? D - 1 - j : j] += acc;
      }
      __syncthreads();
    }
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) bp.grad_z[n * D + j] = gz[j];
    __syncthreads();
  }
}

// Inverse: one thread per sample running the header's sequential solve;
// `workspace` holds 3 D elements per sample. Correct, not tuned (the solve is
// sequential in the coordinates).
template <typename T>
__global__ void sylvester_inverse_kernel(SylvesterParams<T> p, T* workspace) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  const int64_t D = p.dim;
  for (int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; n < p.batch; n += stride) {
    T* w = workspace + n * 3 * D;
    sylvester_inverse_sample(p, n, w, w + D, w + 2 * D);
  }
}

}  // namespace hvae
