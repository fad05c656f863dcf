// The CUDA sampler kernels with the Power Spherical angle law
// (hvae/power_spherical.h) run on the host under cuda_emulation.h and are
// compared with the per-sample host functions (what the CPU op runs). The
// angle comes from G1 and the normals' |n|^2, which the warp kernel sums
// across lanes: theta matches to rounding, as does everything else. Partial
// tiles, grid-stride loops, strided loc and sample rows are covered.
#include "sampler_emulated_check.h"

namespace {

using sampler_emulated::Case;

class PsEmulatedKernels : public ::testing::TestWithParam<Case> {};

TEST_P(PsEmulatedKernels, Double) {
  sampler_emulated::check_case<double, hvae::PsAngleLaw>(GetParam(), 1e-12, 1e-13);
}
TEST_P(PsEmulatedKernels, Float) {
  sampler_emulated::check_case<float, hvae::PsAngleLaw>(GetParam(), 2e-5f, 2e-6f);
}

INSTANTIATE_TEST_SUITE_P(
    PowerSpherical, PsEmulatedKernels,
    ::testing::Values(
        // n, m, grid, threads, strided, tile
        Case{5, 2, 1, 32, false, 32}, Case{70, 3, 1, 32, true, 32}, Case{40, 16, 2, 64, false, 32},
        Case{1, 33, 1, 32, false, 32}, Case{33, 40, 1, 64, true, 32}, Case{70, 64, 1, 32, false, 32},
        Case{100, 101, 2, 64, false, 32}, Case{3, 300, 1, 32, true, 32}, Case{9, 40, 1, 64, false, 1},
        Case{45, 64, 2, 32, true, 7}, Case{37, 100, 1, 64, false, 16},
        // sample rows: loc and kappa of `batch` rows, sample i from row i mod batch
        Case{12, 3, 1, 32, false, 32, 4}, Case{40, 40, 2, 32, true, 7, 5}, Case{9, 16, 1, 64, false, 32, 1}),
    sampler_emulated::case_name);

}  // namespace
