// The CUDA kernels of csrc/hvae/kernels/vmf_kernels.cuh (thread per sample,
// and warp per tile of 32 samples) run on the host under cuda_emulation.h and
// are compared with the per-sample host functions vmf_sample_one and
// vmf_backward_one of csrc/hvae/kernels/vmf_sample.h (what the CPU op runs
// and the Python tests check). Angles are drawn by the same code and must
// match exactly; the O(m) sums are split across lanes, so the rest matches
// to rounding. Partial tiles, grid-stride loops and strided loc are covered.
#include "sampler_emulated_check.h"

namespace {

using sampler_emulated::Case;

class VmfEmulatedKernels : public ::testing::TestWithParam<Case> {};

TEST_P(VmfEmulatedKernels, Double) {
  sampler_emulated::check_case<double, hvae::VmfAngleLaw>(GetParam(), 1e-12, 0.0);
}
TEST_P(VmfEmulatedKernels, Float) {
  sampler_emulated::check_case<float, hvae::VmfAngleLaw>(GetParam(), 2e-5f, 0.0f);
}

INSTANTIATE_TEST_SUITE_P(
    Vmf, VmfEmulatedKernels,
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
