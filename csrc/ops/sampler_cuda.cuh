// CUDA glue of the samplers on the sphere (vMF: vmf_cuda.cu, Power
// Spherical: power_spherical_cuda.cu): the header math of csrc/hvae/ in the
// thread-per-sample and warp-per-tile kernels of vmf_kernels.cuh for an
// angle law `Law`, on the current stream. The generator's (seed, offset) is
// read inside the kernel with at::cuda::philox::unpack, so sampling can be
// captured in a CUDA graph. Included by exactly those two translation units.
#pragma once

#include "vmf.h"

#include <algorithm>
#include <mutex>

#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/PhiloxUtils.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "hvae/kernels/vmf_kernels.cuh"

namespace hvae_ops {
namespace {

// Launch shape of the thread-per-sample (m < kVmfWarpMinDim) and the
// warp-per-tile kernels, which loop over the batch (grid stride). A warp
// takes `tile` samples: 32 (the scalar work of a whole warp's samples side by
// side) once the batch gives every SM at least kMinWarpsPerSm warps that
// way, else fewer, down to 1, so that a small batch (B ~ 1e3) still spreads
// its memory-bound O(m) loops over many warps. Blocks have 256 threads when
// the work fills the GPU twice over, else 64, so that a small batch reaches
// 4x as many SMs.
constexpr int64_t kMinWarpsPerSm = 12;

struct LaunchShape {
  bool warp;
  int tile;  // samples per warp (warp kernels)
  int threads;
  unsigned blocks;
};

LaunchShape launch_shape(int64_t n, int64_t m) {
  const auto* props = at::cuda::getCurrentDeviceProperties();
  const int64_t sms = props->multiProcessorCount;
  const bool warp = m >= hvae::kVmfWarpMinDim;
  int tile = hvae::kVmfWarp;
  while (warp && tile > 1 && (n + tile - 1) / tile < kMinWarpsPerSm * sms) tile /= 2;
  const int64_t needed = warp ? (n + tile - 1) / tile * hvae::kVmfWarp : n;  // threads with work
  const int threads = needed >= 2 * 256 * sms ? 256 : 64;
  const int64_t resident = sms * (props->maxThreadsPerMultiProcessor / threads);
  const int64_t blocks = std::min<int64_t>((needed + threads - 1) / threads, resident);
  return {warp, tile, threads, static_cast<unsigned>(std::max<int64_t>(blocks, 1))};
}

// The generator's offset counts 32-bit words (curand's convention); a
// launch reserves 4 words per Philox block, and our streams start at block
// offset / 4, so they never overlap the counters of other torch kernels.
struct TorchPhiloxRng {
  at::PhiloxCudaState state;
  __device__ void get(uint64_t& seed, uint64_t& offset) const {
    const auto seed_offset = at::cuda::philox::unpack(state);
    seed = std::get<0>(seed_offset);
    offset = std::get<1>(seed_offset) / 4;
  }
};

template <typename Law, typename Rng>
void launch_sample(const VmfSampleLaunch& l, Rng rng) {
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const LaunchShape shape = launch_shape(l.n, l.m);
  AT_DISPATCH_FLOATING_TYPES(l.z.scalar_type(), "hvae_vmf_sample", [&] {
    const hvae::VmfSampleParams<scalar_t> p = vmf_sample_params<scalar_t>(l, 0, 0);
    if (shape.warp) {
      hvae::vmf_sample_warp_kernel<scalar_t, Rng, Law><<<shape.blocks, shape.threads, 0, stream>>>(p, rng, shape.tile);
    } else {
      hvae::vmf_sample_thread_kernel<scalar_t, Rng, Law><<<shape.blocks, shape.threads, 0, stream>>>(p, rng);
    }
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename Law>
std::tuple<at::Tensor, at::Tensor> sample_cuda(const char* op_name, const at::Tensor& loc,
                                               const at::Tensor& kappa,
                                               std::optional<at::Generator> generator,
                                               int64_t num_samples) {
  const c10::cuda::CUDAGuard guard(loc.device());
  VmfSampleLaunch l = vmf_sample_prepare(op_name, loc, kappa, num_samples);
  if (l.n == 0) return {l.z, l.theta};
  auto* gen = at::get_generator_or_default<at::CUDAGeneratorImpl>(
      generator, at::cuda::detail::getDefaultCUDAGenerator(loc.device().index()));
  at::PhiloxCudaState state;
  {
    std::lock_guard<std::mutex> lock(gen->mutex_);
    state = gen->philox_cuda_state(4 * vmf_offset_increment(l.z.scalar_type(), l.m));
  }
  launch_sample<Law>(l, TorchPhiloxRng{state});
  return {l.z, l.theta};
}

template <typename Law>
std::tuple<at::Tensor, at::Tensor> sample_seeded_cuda(const char* op_name, const at::Tensor& loc,
                                                      const at::Tensor& kappa, int64_t seed,
                                                      int64_t offset, int64_t num_samples) {
  const c10::cuda::CUDAGuard guard(loc.device());
  VmfSampleLaunch l = vmf_sample_prepare(op_name, loc, kappa, num_samples);
  if (l.n == 0) return {l.z, l.theta};
  launch_sample<Law>(l, hvae::VmfFixedSeed{static_cast<uint64_t>(seed), static_cast<uint64_t>(offset)});
  return {l.z, l.theta};
}

template <typename Law>
std::tuple<at::Tensor, at::Tensor> backward_cuda(const char* op_name, const at::Tensor& grad_z,
                                                 const at::Tensor& z, const at::Tensor& theta,
                                                 const at::Tensor& loc, const at::Tensor& kappa,
                                                 bool need_kappa) {
  const c10::cuda::CUDAGuard guard(loc.device());
  VmfBackwardLaunch l = vmf_backward_prepare(grad_z, z, theta, loc, kappa, need_kappa, op_name);
  if (l.n == 0) return {l.grad_loc.zero_(), l.grad_kappa.zero_()};
  // S = n / B > 1 samples per row of loc: the kernels write each sample's
  // gradient row into a temporary [S, B, m] that one reduction kernel sums
  // (deterministic; the CPU sums inside its loop instead, see sampler_cpu.h).
  const bool samples = l.n != l.batch;
  at::Tensor rows_loc = samples ? at::empty({l.n, l.m}, l.grad_loc.options()) : l.grad_loc;
  at::Tensor rows_kappa = samples ? at::zeros({l.n}, l.grad_loc.options()) : l.grad_kappa;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const LaunchShape shape = launch_shape(l.n, l.m);
  AT_DISPATCH_FLOATING_TYPES(l.grad_loc.scalar_type(), "hvae_vmf_backward", [&] {
    hvae::VmfBackwardParams<scalar_t> p = vmf_backward_params<scalar_t>(l);
    p.grad_loc = rows_loc.mutable_data_ptr<scalar_t>();
    p.grad_kappa = l.need_kappa ? rows_kappa.mutable_data_ptr<scalar_t>() : nullptr;
    if (shape.warp) {
      hvae::vmf_backward_warp_kernel<scalar_t, Law><<<shape.blocks, shape.threads, 0, stream>>>(p, shape.tile);
    } else {
      hvae::vmf_backward_thread_kernel<scalar_t, Law><<<shape.blocks, shape.threads, 0, stream>>>(p);
    }
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  if (!samples) return {l.grad_loc, l.grad_kappa};
  return {rows_loc.view({-1, l.batch, l.m}).sum(0), rows_kappa.view({-1, l.batch}).sum(0)};
}

}  // namespace
}  // namespace hvae_ops
