// CUDA kernels of the vMF sampler: the shared glue of sampler_cuda.cuh with
// the vMF angle law.
#include "sampler_cuda.cuh"

#include <torch/library.h>

namespace hvae_ops {
namespace {

using Law = hvae::VmfAngleLaw;

std::tuple<at::Tensor, at::Tensor> vmf_sample_cuda(const at::Tensor& loc, const at::Tensor& kappa,
                                                   std::optional<at::Generator> generator,
                                                   int64_t num_samples) {
  return sample_cuda<Law>("vmf_sample", loc, kappa, generator, num_samples);
}

std::tuple<at::Tensor, at::Tensor> vmf_sample_seeded_cuda(const at::Tensor& loc,
                                                          const at::Tensor& kappa, int64_t seed,
                                                          int64_t offset, int64_t num_samples) {
  return sample_seeded_cuda<Law>("_vmf_sample_seeded", loc, kappa, seed, offset, num_samples);
}

std::tuple<at::Tensor, at::Tensor> vmf_sample_backward_cuda(const at::Tensor& grad_z,
                                                            const at::Tensor& z,
                                                            const at::Tensor& theta,
                                                            const at::Tensor& loc,
                                                            const at::Tensor& kappa,
                                                            bool need_kappa) {
  return backward_cuda<Law>("_vmf_sample_backward", grad_z, z, theta, loc, kappa, need_kappa);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CUDA, m) {
  m.impl("vmf_sample", &vmf_sample_cuda);
  m.impl("_vmf_sample_seeded", &vmf_sample_seeded_cuda);
  m.impl("_vmf_sample_backward", &vmf_sample_backward_cuda);
}

}  // namespace hvae_ops
