// CUDA kernels of the triangular Sylvester flow ops: launches of
// csrc/hvae/kernels/sylvester_kernels.cuh on the current stream.
#include "sylvester.h"

#include <algorithm>
#include <tuple>

#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "hvae/kernels/sylvester_kernels.cuh"

namespace hvae_ops {
namespace {

constexpr int64_t kMaxGrid = int64_t(1) << 20;  // grid-stride loops cover larger batches
// Ring slots for the factor triangles (sylvester_kernels.cuh): four while a
// block needs at most this much shared memory (two or more blocks per SM),
// else two while they fit in a block at all, else none (the passes then read
// the factors from global memory).
constexpr int64_t kFourSlotBytes = 100 * 1024;
// Accumulator slices of shared parameters' gradients (one per block) are
// capped at this many bytes in all; fewer blocks then loop over more samples.
constexpr int64_t kAccumulatorBytes = int64_t(64) << 20;

int ring_slots(int64_t vector_elems, int64_t dim, int64_t elem_size) {
  const auto* props = at::cuda::getCurrentDeviceProperties();
  if (hvae::sylvester_smem_bytes(vector_elems, dim, 4, elem_size) <= kFourSlotBytes) return 4;
  if (hvae::sylvester_smem_bytes(vector_elems, dim, 2, elem_size) <= int64_t(props->sharedMemPerBlockOptin)) {
    return 2;
  }
  return 0;
}

// Makes `bytes` of dynamic shared memory available to `kernel`, or fails
// naming D (the vectors of one sample must fit in one block's shared memory).
template <typename Kernel>
void reserve_shared_memory(Kernel kernel, size_t bytes, const char* op_name, int64_t dim) {
  const auto* props = at::cuda::getCurrentDeviceProperties();
  TORCH_CHECK(bytes <= props->sharedMemPerBlockOptin, op_name, ": D = ", dim,
              " is too large for the CUDA kernel (needs ", bytes, " bytes of shared memory per block, the device has ",
              props->sharedMemPerBlockOptin, ")");
  if (bytes > 48 * 1024) {
    C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(bytes)));
  }
}

// How many blocks of `kernel` fit on the device at once: the grid, since the
// kernels loop over the batch and prefetch across their samples.
template <typename Kernel>
int64_t resident_blocks(Kernel kernel, size_t bytes) {
  int per_sm = 0;
  C10_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, hvae::kSylvesterThreads, bytes));
  return int64_t(std::max(per_sm, 1)) * at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
}

// Forward with sample dimensions: one data point's S rows are cut into C
// chunks of S / C rows (C divides S), a block's unit of work
// (sylvester_block_row), so that a small batch with many samples still fills
// the GPU: the largest divisor C of S with B C <= the resident blocks
// (rounded up). Each chunk reads b's triangles from DRAM about once.
int64_t sample_chunks(int64_t batch, int64_t samples, int64_t resident) {
  const int64_t want = std::max<int64_t>(1, (resident + batch - 1) / std::max<int64_t>(batch, 1));
  for (int64_t c = std::min(want, samples); c > 1; --c) {
    if (samples % c == 0) return c;
  }
  return 1;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> sylvester_triangular_cuda(
    const at::Tensor& z, const at::Tensor& r1, const at::Tensor& r2, const at::Tensor& b,
    c10::List<bool> flips, bool packed, bool per_step_logdet, bool diag_tanh, bool save_steps) {
  const char* op_name = "sylvester_triangular";
  const c10::cuda::CUDAGuard guard(z.device());
  const SylvesterLaunch launch =
      sylvester_prepare(op_name, z, r1, r2, b, flips, packed, diag_tanh, per_step_logdet);
  SylvesterOutputs out = sylvester_allocate(launch, save_steps);
  if (launch.rows() > 0) {
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "sylvester_triangular_cuda", [&] {
      const int64_t elem = sizeof(scalar_t);
      const int64_t vectors = hvae::sylvester_forward_vector_elems(launch.dim);
      const int slots = ring_slots(vectors, launch.dim, elem);
      const size_t bytes = hvae::sylvester_smem_bytes(vectors, launch.dim, slots, elem);
      auto kernel = slots == 4   ? hvae::sylvester_forward_kernel<4, scalar_t>
                    : slots == 2 ? hvae::sylvester_forward_kernel<2, scalar_t>
                                 : hvae::sylvester_forward_kernel<0, scalar_t>;
      reserve_shared_memory(kernel, bytes, op_name, launch.dim);
      const int64_t resident = resident_blocks(kernel, bytes);
      hvae::SylvesterParams<scalar_t> p = sylvester_params<scalar_t>(launch, out);
      p.sample_chunks = sample_chunks(launch.batch, launch.samples, resident);
      const int64_t blocks = std::min({launch.batch * p.sample_chunks, kMaxGrid, resident});
      kernel<<<static_cast<unsigned>(blocks), hvae::kSylvesterThreads, bytes, stream>>>(p);
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  return {out.z_out, out.logdet, out.z_steps, out.a_steps};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> sylvester_triangular_backward_cuda(
    const at::Tensor& grad_z, const at::Tensor& grad_logdet, const at::Tensor& r1,
    const at::Tensor& r2, const at::Tensor& b, const at::Tensor& z_steps,
    const at::Tensor& a_steps, c10::List<bool> flips, bool packed, bool per_step_logdet,
    bool diag_tanh) {
  const char* op_name = "_sylvester_triangular_backward";
  const c10::cuda::CUDAGuard guard(grad_z.device());
  const SylvesterLaunch launch = sylvester_prepare(op_name, grad_z, r1, r2, b, flips, packed,
                                                   diag_tanh, per_step_logdet);
  at::Tensor gz = grad_z, gl = grad_logdet, zs = z_steps, as = a_steps;
  sylvester_check_backward(op_name, launch, gz, gl, zs, as);

  const int64_t B = launch.batch, K = launch.num_flows, D = launch.dim;
  const int64_t F = hvae::sylvester_factor_size(D, packed);
  // With sample dimensions (S != 1) one block runs all S rows of its data
  // point and accumulates b's gradient rows (zeroed buffers), as the shared
  // parameters' slices do: sums over samples without atomics or a per-sample
  // temporary.
  const bool shared_params = launch.r1_shared || launch.r2_shared || launch.b_shared;
  const bool any_shared = shared_params || launch.samples != 1;  // the accumulating kernel
  const auto opts = grad_z.options();
  const auto* props = at::cuda::getCurrentDeviceProperties();
  int64_t blocks = std::max<int64_t>(1, std::min(B, kMaxGrid));
  if (shared_params) {
    const int64_t per_block = std::max<int64_t>(1, 2 * K * F * int64_t(grad_z.element_size()));
    blocks = std::min<int64_t>(B, int64_t(props->multiProcessorCount) * 4);
    blocks = std::max<int64_t>(1, std::min(blocks, kAccumulatorBytes / per_block));
  }
  auto factor_buffer = [&](bool shared) {
    if (shared) return at::zeros({blocks, K, F}, opts);
    return any_shared ? at::zeros({B, K, F}, opts) : at::empty({B, K, F}, opts);
  };
  at::Tensor g_r1 = factor_buffer(launch.r1_shared);
  at::Tensor g_r2 = factor_buffer(launch.r2_shared);
  at::Tensor g_b = launch.b_shared ? at::zeros({blocks, K, D}, opts)
               : any_shared        ? at::zeros({B, K, D}, opts)
                                   : at::empty({B, K, D}, opts);
  at::Tensor g_z = at::empty(launch.shape({B, D}), opts);

  if (launch.rows() > 0) {
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES(grad_z.scalar_type(), "sylvester_triangular_backward_cuda", [&] {
      const hvae::SylvesterBackwardParams<scalar_t> bp =
          sylvester_backward_params<scalar_t>(launch, gz, gl, zs, as, {g_z, g_r1, g_r2, g_b});
      const int64_t elem = sizeof(scalar_t);
      const int64_t vectors = hvae::sylvester_backward_vector_elems(D);
      const int slots = ring_slots(vectors, D, elem);
      const size_t bytes = hvae::sylvester_smem_bytes(vectors, D, slots, elem);
      auto kernel = any_shared ? (slots == 4   ? hvae::sylvester_backward_kernel<true, 4, scalar_t>
                                  : slots == 2 ? hvae::sylvester_backward_kernel<true, 2, scalar_t>
                                               : hvae::sylvester_backward_kernel<true, 0, scalar_t>)
                               : (slots == 4   ? hvae::sylvester_backward_kernel<false, 4, scalar_t>
                                  : slots == 2 ? hvae::sylvester_backward_kernel<false, 2, scalar_t>
                                               : hvae::sylvester_backward_kernel<false, 0, scalar_t>);
      reserve_shared_memory(kernel, bytes, op_name, D);
      // the accumulator slices (shared parameters) were sized for `blocks`
      const int64_t grid = std::min(blocks, resident_blocks(kernel, bytes));
      kernel<<<static_cast<unsigned>(grid), hvae::kSylvesterThreads, bytes, stream>>>(bp);
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  auto finish = [&](at::Tensor g, bool shared) {
    if (shared) g = g.sum(0);
    return g.view(sylvester_factor_shape(launch, shared));
  };
  at::Tensor grad_b = launch.b_shared ? g_b.sum(0) : g_b;
  return {g_z, finish(g_r1, launch.r1_shared), finish(g_r2, launch.r2_shared), grad_b};
}

at::Tensor sylvester_triangular_inverse_cuda(const at::Tensor& z, const at::Tensor& r1,
                                             const at::Tensor& r2, const at::Tensor& b,
                                             c10::List<bool> flips, bool packed, bool diag_tanh) {
  const c10::cuda::CUDAGuard guard(z.device());
  const SylvesterLaunch launch = sylvester_prepare("sylvester_triangular_inverse", z, r1, r2, b,
                                                   flips, packed, diag_tanh, false);
  at::Tensor out = at::empty(launch.shape({launch.batch, launch.dim}), z.options());
  if (launch.rows() > 0) {
    constexpr int kThreads = 128;
    const int64_t blocks = std::min<int64_t>((launch.rows() + kThreads - 1) / kThreads, kMaxGrid);
    at::Tensor workspace = at::empty({launch.rows(), 3 * launch.dim}, z.options());
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "sylvester_triangular_inverse_cuda", [&] {
      SylvesterOutputs outputs;
      outputs.z_out = out;
      hvae::sylvester_inverse_kernel<scalar_t><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
          sylvester_params<scalar_t>(launch, outputs), workspace.mutable_data_ptr<scalar_t>());
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CUDA, m) {
  m.impl("sylvester_triangular", &sylvester_triangular_cuda);
  m.impl("_sylvester_triangular_backward", &sylvester_triangular_backward_cuda);
  m.impl("sylvester_triangular_inverse", &sylvester_triangular_inverse_cuda);
}

}  // namespace hvae_ops
