// CPU kernels of the samplers on the sphere (vMF: vmf.cpp, Power Spherical:
// power_spherical.cpp): the per-sample code of csrc/hvae/kernels/vmf_sample.h
// for an angle law `Law` in an at::parallel_for. Every sample owns its
// Philox subsequence, so the result does not depend on the thread count.
// Included by exactly those two translation units (anonymous namespace).
#pragma once

#include "vmf.h"
#include "cpu_buffers.h"
#include "vmf_cpu_avx2.h"

#include <algorithm>
#include <mutex>
#include <type_traits>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

namespace hvae_ops {
namespace {

template <typename Law>
constexpr bool is_ps() {
  return std::is_same<Law, hvae::PsAngleLaw>::value;
}

// A fresh 64-bit Philox key per call from the CPU generator; every sample's
// counter starts at block 0.
inline uint64_t next_cpu_seed(const std::optional<at::Generator>& generator) {
  auto* gen = at::get_generator_or_default<at::CPUGeneratorImpl>(
      generator, at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return gen->random64();
}

// A sample costs ~0.1 us + ~10 ns per dimension, so this keeps chunks around
// 20-50 us: both threads busy at B = 1024 and little scheduling overhead.
int64_t grain_size(int64_t m) { return std::max<int64_t>(1, 4096 / (m + 16)); }

// Outputs of at least 32 MiB (glibc's largest mmap threshold, so they are
// always fresh mappings) get the page hints of cpu_buffers.h: huge pages, and
// each thread populates its rows in one call. At B = 65536, m = 64, float64
// (33.5 MB) that took the sample op from 41 to 25 ms and the backward from
// 39 to 21 ms. Smaller outputs are left alone: at 4 MB, where glibc reuses
// trimmed heap, the hints made rsample + backward 1 ms slower.
constexpr int64_t kHintBytes = int64_t(32) << 20;

bool hint_pages(const at::Tensor& out) {
  if (out.nbytes() < static_cast<size_t>(kHintBytes)) return false;
  advise_huge_pages(out);
  return true;
}

template <typename T>
void populate_rows(bool hint, T* out, int64_t m, int64_t begin, int64_t end) {
  const int64_t bytes = (end - begin) * m * static_cast<int64_t>(sizeof(T));
  if (hint) populate_for_write(out + begin * m, bytes);
}

template <typename Law>
std::tuple<at::Tensor, at::Tensor> sample_cpu(const char* op_name, const at::Tensor& loc,
                                              const at::Tensor& kappa, uint64_t seed,
                                              uint64_t offset, int64_t num_samples) {
  VmfSampleLaunch l = vmf_sample_prepare(op_name, loc, kappa, num_samples);
  if (l.n == 0) return {l.z, l.theta};
  AT_DISPATCH_FLOATING_TYPES(l.z.scalar_type(), "hvae_vmf_sample", [&] {
    const hvae::VmfSampleParams<scalar_t> p = vmf_sample_params<scalar_t>(l, seed, offset);
    const bool avx2 = vmf_cpu_avx2_available();
    const bool hint = hint_pages(l.z);
    at::parallel_for(0, l.n, grain_size(l.m), [&](int64_t begin, int64_t end) {
      populate_rows(hint, p.z, l.m, begin, end);
      if (avx2) return vmf_sample_range_avx2(&p, sizeof(scalar_t) == 8, begin, end, is_ps<Law>());
      hvae::vmf_sample_range<scalar_t, Law>(p, begin, end);
    });
  });
  return {l.z, l.theta};
}

// The backward with S = n / B > 1 samples per row of loc: the gradients of
// batch entry b are summed over its samples inside the kernel
// (vmf_backward_sum, a row of scratch per thread), never stored per sample.
// Work items are (b, chunk of its samples); with B large an item is all of
// b's samples and writes grad_loc[b] directly, a small B is cut into C chunks
// (so that every thread has work) whose C [B, m] partial sums are added at the end.
template <typename Law>
std::tuple<at::Tensor, at::Tensor> backward_samples_cpu(VmfBackwardLaunch& l) {
  const int64_t B = l.batch, S = l.n / l.batch, m = l.m;
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t chunks = B >= 4 * threads ? 1 : std::min(S, (4 * threads + B - 1) / B);
  at::Tensor gl = chunks == 1 ? l.grad_loc : at::empty({chunks, B, m}, l.grad_loc.options());
  at::Tensor gk = chunks == 1 ? l.grad_kappa : at::zeros({chunks, B}, l.grad_loc.options());
  AT_DISPATCH_FLOATING_TYPES(l.grad_loc.scalar_type(), "hvae_vmf_backward", [&] {
    hvae::VmfBackwardParams<scalar_t> p = vmf_backward_params<scalar_t>(l);
    p.grad_loc = nullptr;  // the sums below are the outputs
    scalar_t* gl_out = gl.mutable_data_ptr<scalar_t>();
    scalar_t* gk_out = gk.mutable_data_ptr<scalar_t>();
    const bool avx2 = vmf_cpu_avx2_available();
    // items (b, c) of S / chunks samples: about as many samples per call as
    // the per-row grain
    const int64_t per_item = std::max<int64_t>(1, S / chunks);
    const int64_t grain = std::max<int64_t>(1, (l.need_kappa ? 64 : grain_size(m)) / per_item);
    at::parallel_for(0, B * chunks, grain, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> row(m);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t b = item / chunks, c = item % chunks;
        const int64_t s0 = S * c / chunks, s1 = S * (c + 1) / chunks;
        scalar_t* gl_sum = gl_out + (c * B + b) * m;
        scalar_t* gk_sum = gk_out + c * B + b;
        if (avx2) {
          vmf_backward_sum_avx2(&p, sizeof(scalar_t) == 8, b, s0, s1, gl_sum, gk_sum, row.data(),
                                is_ps<Law>());
        } else {
          hvae::vmf_backward_sum<scalar_t, Law>(p, b, s0, s1, gl_sum, gk_sum, row.data());
        }
      }
    });
  });
  if (chunks == 1) return {l.grad_loc, l.grad_kappa};
  return {gl.sum(0), gk.sum(0)};
}

template <typename Law>
std::tuple<at::Tensor, at::Tensor> backward_cpu(const char* op_name, const at::Tensor& grad_z,
                                                const at::Tensor& z, const at::Tensor& theta,
                                                const at::Tensor& loc, const at::Tensor& kappa,
                                                bool need_kappa) {
  VmfBackwardLaunch l = vmf_backward_prepare(grad_z, z, theta, loc, kappa, need_kappa, op_name);
  if (l.n == 0) return {l.grad_loc.zero_(), l.grad_kappa.zero_()};
  if (l.n != l.batch) return backward_samples_cpu<Law>(l);
  AT_DISPATCH_FLOATING_TYPES(l.grad_loc.scalar_type(), "hvae_vmf_backward", [&] {
    const hvae::VmfBackwardParams<scalar_t> p = vmf_backward_params<scalar_t>(l);
    // The kappa gradient (a Bessel ratio and a quadrature) dominates: ~1 us.
    const int64_t grain = need_kappa ? 64 : grain_size(l.m);
    const bool avx2 = vmf_cpu_avx2_available();
    const bool hint = hint_pages(l.grad_loc);
    at::parallel_for(0, l.n, grain, [&](int64_t begin, int64_t end) {
      populate_rows(hint, p.grad_loc, l.m, begin, end);
      if (avx2) return vmf_backward_range_avx2(&p, sizeof(scalar_t) == 8, begin, end, is_ps<Law>());
      hvae::vmf_backward_range<scalar_t, Law>(p, begin, end);
    });
  });
  return {l.grad_loc, l.grad_kappa};
}

}  // namespace
}  // namespace hvae_ops
