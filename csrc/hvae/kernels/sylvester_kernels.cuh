// CUDA kernels of the triangular Sylvester flow (torch-free: compiled by the
// CMake device-code check as well as by the extension build).
//
// One block per row (sample) at a time (looping over its rows,
// sylvester_block_row: with sample dimensions the rows of one data point
// back to back; the glue sizes the grid to what fits on the GPU at once);
// the row's vectors live in shared memory and every parameter is read from
// global memory once per row (per data point from DRAM, the rest from L2):
//   forward : R x row dot products, one thread per row from shared memory
//             (one warp per row, warp-shuffle sums, from global memory);
//   backward: R^T y and the outer-product gradients, one thread per column j
//             walking rows i <= j, so that at each i the block reads (and
//             writes the gradient of) a contiguous piece of row i. A thread
//             owns its columns, so no two threads write one element and the
//             gradient needs no atomics.
// The op is memory-bound: what matters is keeping enough bytes in flight.
// With Slots > 0 the upper triangles stream through a ring of Slots shared-
// memory slots in the order the passes use them (forward: R2_k, R1_k, R2_k+1,
// ...; backward: R1_k, R2_k, R1_k-1, ...; continuing into the block's next
// sample), each copied as a packed triangle with asynchronous 16-byte copies
// (async_copy.h) Slots - 1 triangles ahead of the pass that reads it, so the
// loads overlap the passes. Slots = 0 reads the factors from global memory
// in the passes (a D too large for two slots in shared memory).
// Shared parameters: each block accumulates into its own [K, F] slice of a
// zeroed buffer (batch stride 0 in the params means "slice blockIdx.x"); the
// glue sums the slices, which is deterministic, unlike atomics.
// The scalar math (log-det term, its derivatives, layout) is csrc/hvae/sylvester.h.
#pragma once

#include "../sylvester.h"
#include "async_copy.h"

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

// ---------------------------------------------------------------------------
// Shared-memory layout: the sample's vectors, then (16-byte aligned) the ring.

// Elements of one ring slot: a packed triangle and 16 bytes of slack, so that
// the triangle can start at its source's address modulo 16, which lines the
// 16-byte copies up on both sides; a whole number of 16-byte units, so that
// every slot starts 16-byte aligned.
HVAE_HD int64_t sylvester_slot_elems(int64_t dim, int64_t elem_size) {
  const int64_t per16 = 16 / elem_size;
  return (dim * (dim + 1) / 2 + per16 - 1) / per16 * per16 + per16;
}
// Where the ring starts, after `vector_elems` elements, in elements.
HVAE_HD int64_t sylvester_ring_offset(int64_t vector_elems, int64_t elem_size) {
  const int64_t per16 = 16 / elem_size;
  return (vector_elems + per16 - 1) / per16 * per16;
}
// Forward: zc, u, h, a, d2, b [D] + kSylvesterWarps reduction slots.
HVAE_HD int64_t sylvester_forward_vector_elems(int64_t dim) { return 6 * dim + kSylvesterWarps; }
// Backward: gz, u, h, s, v, g [D].
HVAE_HD int64_t sylvester_backward_vector_elems(int64_t dim) { return 6 * dim; }
// Dynamic shared memory in bytes.
HVAE_HD int64_t sylvester_smem_bytes(int64_t vector_elems, int64_t dim, int slots, int64_t elem_size) {
  return (sylvester_ring_offset(vector_elems, elem_size) + slots * sylvester_slot_elems(dim, elem_size)) *
         elem_size;
}

// Where the packed triangle of `src` lies in its slot (see sylvester_slot_elems).
template <typename T>
__device__ __forceinline__ T* sylvester_slot_view(T* slot, const T* src, bool packed) {
  if (!packed) return slot;
  return slot + (reinterpret_cast<uintptr_t>(src) % 16) / sizeof(T);
}

// Starts the copy of one factor step's upper triangle (global, either layout)
// into `slot` as a packed triangle at sylvester_slot_view(slot, src). Every
// thread of the block calls it with the same arguments; no commit, no wait.
template <typename T>
__device__ __forceinline__ void sylvester_stage_async(T* slot, const T* src, int64_t dim,
                                                      int64_t row_stride, bool packed) {
  if (!packed) {
    for (int64_t i = 0; i < dim; ++i) {
      T* out = slot + sylvester_row_offset(i, dim, 0, true) - i;
      const T* in = src + i * row_stride;
      for (int64_t j = i + threadIdx.x; j < dim; j += blockDim.x) async_copy_element(out + j, in + j);
    }
    return;
  }
  constexpr int64_t kPer16 = 16 / int64_t(sizeof(T));
  const int64_t size = dim * (dim + 1) / 2;
  T* dst = sylvester_slot_view(slot, src, true);
  // elements before the first 16-byte boundary and after the last one singly
  const int64_t lead = (reinterpret_cast<uintptr_t>(src) % 16) / sizeof(T);
  const int64_t head = min_<int64_t>(lead == 0 ? 0 : kPer16 - lead, size);
  const int64_t chunks = (size - head) / kPer16;
  const int64_t tail = head + chunks * kPer16;
  for (int64_t e = threadIdx.x; e < head; e += blockDim.x) async_copy_element(dst + e, src + e);
  for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) {
    async_copy_16(dst + head + c * kPer16, src + head + c * kPer16);
  }
  for (int64_t e = tail + threadIdx.x; e < size; e += blockDim.x) async_copy_element(dst + e, src + e);
}

// The j-th row a block visits. The block's units are u = blockIdx.x +
// t gridDim.x (t = j / L) of B C: data point b = u / C and its c = u mod C-th
// chunk of L = S / C consecutive samples (C = p.sample_chunks divides S). So a
// block runs L rows of one b back to back and reads b's triangles from DRAM
// about once per unit (the later rows find them in L2), and with S = 1 it
// visits n = blockIdx.x + j gridDim.x. -1 past the block's last row.
template <typename T>
__device__ __forceinline__ int64_t sylvester_block_row(const SylvesterParams<T>& p, int64_t j) {
  const int64_t C = p.sample_chunks, L = p.samples / C;
  const int64_t u = int64_t(blockIdx.x) + (j / L) * int64_t(gridDim.x);
  if (u >= p.batch * C) return -1;
  return ((u % C) * L + j % L) * p.batch + u / C;
}

// The triangles one block reads, in order: triangle q belongs to the block's
// (q / 2K)-th row, n = sylvester_block_row(p, q / 2K); within a row
// the forward reads R2_k then R1_k for k = 0..K-1, the backward R1_k then
// R2_k for k = K-1..0. With Slots > 0 they pass through a ring: acquire(q)
// first starts triangle q + Slots - 1 (into the slot that triangle q - 1 just
// left, which the caller's barrier after its pass has freed), then waits for
// triangle q and makes it visible to the block.
template <int Slots, bool Backward, typename T>
struct SylvesterTriangleRing {
  const SylvesterParams<T>& p;
  T* ring;
  int64_t slot_elems;

  struct Source {
    const T* data;  // null past the end of the batch
    int64_t row_stride;
  };

  // The ring in dynamic shared memory, after the kernel's vector_elems
  // vectors (sylvester_ring_offset).
  static __device__ __forceinline__ SylvesterTriangleRing in_shared(const SylvesterParams<T>& p,
                                                                    unsigned char* smem,
                                                                    int64_t vector_elems) {
    return {p, reinterpret_cast<T*>(smem) + sylvester_ring_offset(vector_elems, sizeof(T)),
            sylvester_slot_elems(p.dim, sizeof(T))};
  }

  // How a pass reads what acquire returns: packed rows (the ring's slots, or
  // a packed global factor), else factor f's own row stride.
  __device__ __forceinline__ bool read_packed() const { return Slots > 0 || p.packed; }
  __device__ __forceinline__ int64_t row_stride(const SylvesterFactor<T>& f) const {
    return Slots > 0 ? 0 : f.row_stride;
  }

  __device__ __forceinline__ Source source(int64_t q) const {
    const int64_t K = p.num_flows;
    const int64_t n = sylvester_block_row(p, q / (2 * K));
    if (n < 0) return {nullptr, 0};
    const int64_t t = q % (2 * K);
    const int64_t k = Backward ? K - 1 - t / 2 : t / 2;
    const bool second = (t % 2) != 0;
    const SylvesterFactor<T>& f = (second != Backward) ? p.r1 : p.r2;  // fwd: R2, R1; bwd: R1, R2
    return {sylvester_factor_step(f, n % p.batch, k), f.row_stride};
  }

  __device__ __forceinline__ T* slot(int64_t q) const { return ring + (q % (Slots > 0 ? Slots : 1)) * slot_elems; }

  __device__ __forceinline__ void issue(int64_t q) const {
    const Source s = source(q);
    if (s.data != nullptr) sylvester_stage_async(slot(q), s.data, p.dim, s.row_stride, p.packed);
    async_commit();
  }

  // Before the block's first triangle.
  __device__ __forceinline__ void start() const {
    for (int j = 0; j + 1 < Slots; ++j) issue(j);
  }

  // Triangle q, readable by the whole block (packed when Slots > 0, else the
  // global factor in its own layout). Contains a barrier.
  __device__ __forceinline__ const T* acquire(int64_t q) const {
    if (Slots == 0) {
      __syncthreads();
      return source(q).data;
    }
    issue(q + Slots - 1);
    async_wait<(Slots > 0 ? Slots - 1 : 0)>();
    __syncthreads();
    return sylvester_slot_view(slot(q), source(q).data, p.packed);
  }
};

// For each row i of the triangle r (row i starts at sylvester_row_offset(i,
// D, rs, packed) with R_ii, whose value goes through sylvester_diag_value),
// calls epilogue(i, row, acc) once with acc = sum_{j >= i} R_ij x_j, in the
// thread that owns the row. From shared memory (the ring's packed slots,
// ThreadPerRow): one thread per row, which needs no reductions and runs the
// rows' scalar epilogues (tanh, log-det term) side by side. From global
// memory: one warp per row, so that the loads coalesce; lane 0 owns the row.
template <bool ThreadPerRow, typename T, typename Epilogue>
__device__ __forceinline__ void sylvester_rows_dot(const T* r, int64_t D, int64_t rs, bool packed,
                                                   bool diag_tanh, const T* x, Epilogue epilogue) {
  if (ThreadPerRow) {
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const T* row = r + sylvester_row_offset(i, D, rs, packed);
      // A serial sum of up to D terms: in double, so that float32 loses no
      // accuracy to it (float products are exact in double; one rounding at
      // the end). A float accumulator here failed float32 tests on the H100
      // (gradients vs float64 at 1e-6, CUDA vs CPU at 1e-4, D = 130) that the
      // warp's tree sum passed. The kernel is memory-bound; the double FMAs
      // and conversions should cost little (not yet measured).
      double acc = double(sylvester_diag_value(row[0], diag_tanh)) * double(x[i]);
      for (int64_t j = 1; j < D - i; ++j) acc += double(row[j]) * double(x[i + j]);
      epilogue(i, row, T(acc));
    }
    return;
  }
  const int lane = threadIdx.x & 31;
  for (int64_t i = threadIdx.x >> 5; i < D; i += blockDim.x >> 5) {
    const T* row = r + sylvester_row_offset(i, D, rs, packed);
    T acc = T(0);
    for (int64_t j = i + lane; j < D; j += 32) {
      const T v = j == i ? sylvester_diag_value(row[0], diag_tanh) : row[j - i];
      acc += v * x[j];
    }
    acc = sylvester_warp_sum(acc);
    if (lane == 0) epilogue(i, row, acc);
  }
}

template <int Slots, typename T>
__global__ void __launch_bounds__(kSylvesterThreads)
    sylvester_forward_kernel(SylvesterParams<T> p) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int64_t D = p.dim, K = p.num_flows;
  T* zc = reinterpret_cast<T*>(smem_raw);
  T* u = zc + D;
  T* h = u + D;
  T* a_s = h + D;
  T* d2s = a_s + D;
  T* bs = d2s + D;
  T* scratch = bs + D;
  const auto ring =
      SylvesterTriangleRing<Slots, false, T>::in_shared(p, smem_raw, sylvester_forward_vector_elems(D));
  const bool read_packed = ring.read_packed();
  const int64_t rs1 = ring.row_stride(p.r1), rs2 = ring.row_stride(p.r2);
  int64_t q = 0;
  ring.start();
  for (int64_t row = 0;; ++row) {
    const int64_t n = sylvester_block_row(p, row);
    if (n < 0) break;
    const SylvesterRow rn = sylvester_row(n, p.batch);
    const T* zin = p.z + rn.s * p.z_sample_stride + rn.b * p.z_batch_stride;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) zc[j] = zin[j * p.z_dim_stride];
    T log_det = T(0);  // this thread's share (of the rows it finished)
    __syncthreads();
    for (int64_t k = 0; k < K; ++k) {
      const bool flip = p.flips(k);
      const T* bk = p.b + rn.b * p.b_batch_stride + k * p.b_step_stride;
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        u[j] = zc[flip ? D - 1 - j : j];
        // b read by the whole block at once, not by the rows' lanes 0 one
        // dependent load after another
        bs[j] = bk[j * p.b_dim_stride];
        if (p.zs != nullptr) p.zs[(n * K + k) * D + j] = zc[j];
      }
      // a = R2 u + b, h = tanh(a); a and R2's diagonal kept for the log-det
      const T* r2 = ring.acquire(q++);
      sylvester_rows_dot<(Slots > 0)>(r2, D, rs2, read_packed, p.diag_tanh, u, [&](int64_t i, const T* row, T acc) {
        const T a = acc + bs[i];
        if (p.as != nullptr) p.as[(n * K + k) * D + i] = a;
        a_s[i] = a;
        d2s[i] = row[0];
        h[i] = tanh_(a);
      });
      __syncthreads();
      // z += P R1 h (u keeps the old z; each row writes its own coordinate),
      // and the log-det terms, which need R1's diagonal
      const T* r1 = ring.acquire(q++);
      sylvester_rows_dot<(Slots > 0)>(r1, D, rs1, read_packed, p.diag_tanh, h, [&](int64_t i, const T* row, T acc) {
        zc[flip ? D - 1 - i : i] += acc;
        log_det += sylvester_log_term(row[0], d2s[i], a_s[i], h[i], p.diag_tanh);
      });
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

// Dynamic shared memory: gz, u, h, s, v, g [D], then the ring. Steps in
// reverse order; per step (see sylvester_backward_sample for the formulas):
//   pass 1 (R1): gh_j = sum_{i<=j} R1_ij v_i, dR1_ij = v_i h_j; then, at the
//           diagonal, ga_j = gh_j s_j + gl dL_j/da_j and the log-det's diagonal
//           gradients (the R2 one parked in s_j for pass 2); R2's diagonal is
//           read from global memory here (R2_k is still on its way);
//   pass 2 (R2): gu_j = sum_{i<=j} R2_ij ga_i, dR2_ij = ga_i u_j; gz += P gu.
template <bool Accumulate, int Slots, typename T>
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
  const auto ring =
      SylvesterTriangleRing<Slots, true, T>::in_shared(p, smem_raw, sylvester_backward_vector_elems(D));
  const bool read_packed = ring.read_packed();
  const int64_t rs1 = ring.row_stride(p.r1), rs2 = ring.row_stride(p.r2);
  int64_t q = 0;
  ring.start();
  // With S > 1 (p.sample_chunks = 1: one block runs all S rows of its data
  // point b) the block accumulates (Accumulate) b's gradient rows over the
  // samples; each element has one owning thread in every row, so no atomics.
  for (int64_t row = 0;; ++row) {
    const int64_t n = sylvester_block_row(p, row);
    if (n < 0) break;
    const SylvesterRow rn = sylvester_row(n, p.batch);
    const int64_t pb = rn.b;
    const T* gz_in = bp.grad_z_out + rn.s * bp.gz_sample_stride + pb * bp.gz_batch_stride;
    const T* gl_in = bp.grad_logdet + rn.s * bp.gl_sample_stride + pb * bp.gl_batch_stride;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) gz[j] = gz_in[j * bp.gz_dim_stride];
    // batch stride 0 = a shared parameter: this block's accumulator slice
    T* g1_base = bp.grad_r1 + (bp.grad_r1_batch_stride != 0 ? pb * bp.grad_r1_batch_stride
                                                            : int64_t(blockIdx.x) * K * F);
    T* g2_base = bp.grad_r2 + (bp.grad_r2_batch_stride != 0 ? pb * bp.grad_r2_batch_stride
                                                            : int64_t(blockIdx.x) * K * F);
    T* gb_base = bp.grad_b + (bp.grad_b_batch_stride != 0 ? pb * bp.grad_b_batch_stride
                                                          : int64_t(blockIdx.x) * K * D);
    __syncthreads();
    for (int64_t k = K - 1; k >= 0; --k) {
      const bool flip = p.flips(k);
      const T* r2_global = sylvester_factor_step(p.r2, pb, k);
      T* g1 = g1_base + k * F;
      T* g2 = g2_base + k * F;
      T* gb = gb_base + k * D;
      const T gl = p.per_step_logdet ? gl_in[k * bp.gl_step_stride] : gl_in[0];
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
      const T* r1 = ring.acquire(q++);
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        T acc = T(0);
        const T hj = h[j];
        // unrolled so that several rows' loads are in flight at once
#if defined(__CUDACC__)
#pragma unroll 4
#endif
        for (int64_t i = 0; i < j; ++i) {
          const int64_t off = sylvester_row_offset(i, D, rs1, read_packed) + (j - i);
          acc += r1[off] * v[i];
          sylvester_store<Accumulate>(g1 + sylvester_row_offset(i, D, D, p.packed) + (j - i), v[i] * hj);
        }
        const T d1 = r1[sylvester_row_offset(j, D, rs1, read_packed)];
        const T d2 = r2_global[sylvester_row_offset(j, D, p.r2.row_stride, p.packed)];
        const T t1 = sylvester_diag_value(d1, p.diag_tanh);
        acc += t1 * v[j];
        const T chain1 = p.diag_tanh ? sech2(d1) : T(1);
        const SylvesterDiagTerm<T> t =
            sylvester_diag_term<false>(d1, d2, t1, sylvester_diag_value(d2, p.diag_tanh), chain1,
                                       p.diag_tanh ? sech2(d2) : T(1), ak[j], hj, s[j], p.diag_tanh);
        sylvester_store<Accumulate>(g1 + sylvester_row_offset(j, D, D, p.packed), v[j] * hj * chain1 + gl * t.d_r1);
        const T ga = acc * s[j] + gl * t.d_a;
        g[j] = ga;
        sylvester_store<Accumulate>(gb + j, ga);
        s[j] = gl * t.d_r2;  // s_j is not needed any more; its owner parks the R2 diagonal term
      }
      __syncthreads();
      const T* r2 = ring.acquire(q++);
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        T acc = T(0);
        const T uj = u[j];
        // unrolled so that several rows' loads are in flight at once
#if defined(__CUDACC__)
#pragma unroll 4
#endif
        for (int64_t i = 0; i < j; ++i) {
          const int64_t off = sylvester_row_offset(i, D, rs2, read_packed) + (j - i);
          acc += r2[off] * g[i];
          sylvester_store<Accumulate>(g2 + sylvester_row_offset(i, D, D, p.packed) + (j - i), g[i] * uj);
        }
        const T d2 = r2[sylvester_row_offset(j, D, rs2, read_packed)];
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
  for (int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; n < p.rows(); n += stride) {
    T* w = workspace + n * 3 * D;
    sylvester_inverse_sample(p, n, w, w + D, w + 2 * D);
  }
}

}  // namespace hvae
