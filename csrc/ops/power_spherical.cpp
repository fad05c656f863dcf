// CPU kernels of the Power Spherical sampler (power_spherical_sample,
// _power_spherical_sample_seeded, _power_spherical_sample_backward): the
// shared loops of sampler_cpu.h with the PS angle law (hvae/power_spherical.h).
#include "sampler_cpu.h"

#include <torch/library.h>

namespace hvae_ops {
namespace {

using Law = hvae::PsAngleLaw;

std::tuple<at::Tensor, at::Tensor> ps_sample_cpu(const at::Tensor& loc, const at::Tensor& kappa,
                                                 std::optional<at::Generator> generator,
                                                 int64_t num_samples) {
  return sample_cpu<Law>("power_spherical_sample", loc, kappa, next_cpu_seed(generator), 0,
                         num_samples);
}

std::tuple<at::Tensor, at::Tensor> ps_sample_seeded_cpu(const at::Tensor& loc,
                                                        const at::Tensor& kappa, int64_t seed,
                                                        int64_t offset, int64_t num_samples) {
  return sample_cpu<Law>("_power_spherical_sample_seeded", loc, kappa,
                         static_cast<uint64_t>(seed), static_cast<uint64_t>(offset), num_samples);
}

std::tuple<at::Tensor, at::Tensor> ps_sample_backward_cpu(const at::Tensor& grad_z,
                                                          const at::Tensor& z,
                                                          const at::Tensor& theta,
                                                          const at::Tensor& loc,
                                                          const at::Tensor& kappa,
                                                          bool need_kappa) {
  return backward_cpu<Law>("_power_spherical_sample_backward", grad_z, z, theta, loc, kappa,
                           need_kappa);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CPU, m) {
  m.impl("power_spherical_sample", &ps_sample_cpu);
  m.impl("_power_spherical_sample_seeded", &ps_sample_seeded_cpu);
  m.impl("_power_spherical_sample_backward", &ps_sample_backward_cpu);
}

}  // namespace hvae_ops
