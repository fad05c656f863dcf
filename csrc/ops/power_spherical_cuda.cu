// CUDA kernels of the Power Spherical sampler: the shared glue of
// sampler_cuda.cuh with the PS angle law (hvae/power_spherical.h). One
// kernel per call, no host synchronisation, the vMF launch shapes.
#include "sampler_cuda.cuh"

#include <torch/library.h>

namespace hvae_ops {
namespace {

using Law = hvae::PsAngleLaw;

std::tuple<at::Tensor, at::Tensor> ps_sample_cuda(const at::Tensor& loc, const at::Tensor& kappa,
                                                  std::optional<at::Generator> generator,
                                                  int64_t num_samples) {
  return sample_cuda<Law>("power_spherical_sample", loc, kappa, generator, num_samples);
}

std::tuple<at::Tensor, at::Tensor> ps_sample_seeded_cuda(const at::Tensor& loc,
                                                         const at::Tensor& kappa, int64_t seed,
                                                         int64_t offset, int64_t num_samples) {
  return sample_seeded_cuda<Law>("_power_spherical_sample_seeded", loc, kappa, seed, offset,
                                 num_samples);
}

std::tuple<at::Tensor, at::Tensor> ps_sample_backward_cuda(const at::Tensor& grad_z,
                                                           const at::Tensor& z,
                                                           const at::Tensor& theta,
                                                           const at::Tensor& loc,
                                                           const at::Tensor& kappa,
                                                           bool need_kappa) {
  return backward_cuda<Law>("_power_spherical_sample_backward", grad_z, z, theta, loc, kappa,
                            need_kappa);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CUDA, m) {
  m.impl("power_spherical_sample", &ps_sample_cuda);
  m.impl("_power_spherical_sample_seeded", &ps_sample_seeded_cuda);
  m.impl("_power_spherical_sample_backward", &ps_sample_backward_cuda);
}

}  // namespace hvae_ops
