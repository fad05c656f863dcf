// CPU kernels of the vMF sampler (vmf_sample, _vmf_sample_seeded,
// _vmf_sample_backward): the shared loops of sampler_cpu.h with the vMF
// angle law.
#include "sampler_cpu.h"

#include <torch/library.h>

namespace hvae_ops {
namespace {

using Law = hvae::VmfAngleLaw;

std::tuple<at::Tensor, at::Tensor> vmf_sample_cpu(const at::Tensor& loc, const at::Tensor& kappa,
                                                  std::optional<at::Generator> generator,
                                                  int64_t num_samples) {
  return sample_cpu<Law>("vmf_sample", loc, kappa, next_cpu_seed(generator), 0, num_samples);
}

std::tuple<at::Tensor, at::Tensor> vmf_sample_seeded_cpu(const at::Tensor& loc,
                                                         const at::Tensor& kappa, int64_t seed,
                                                         int64_t offset, int64_t num_samples) {
  return sample_cpu<Law>("_vmf_sample_seeded", loc, kappa, static_cast<uint64_t>(seed),
                         static_cast<uint64_t>(offset), num_samples);
}

std::tuple<at::Tensor, at::Tensor> vmf_sample_backward_cpu(const at::Tensor& grad_z,
                                                           const at::Tensor& z,
                                                           const at::Tensor& theta,
                                                           const at::Tensor& loc,
                                                           const at::Tensor& kappa,
                                                           bool need_kappa) {
  return backward_cpu<Law>("_vmf_sample_backward", grad_z, z, theta, loc, kappa, need_kappa);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CPU, m) {
  m.impl("vmf_sample", &vmf_sample_cpu);
  m.impl("_vmf_sample_seeded", &vmf_sample_seeded_cpu);
  m.impl("_vmf_sample_backward", &vmf_sample_backward_cpu);
}

}  // namespace hvae_ops
