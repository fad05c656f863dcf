#!/usr/bin/env bash
# Configure, build and test the CMake project: the torch-free nvcc compile of
# csrc/cuda_check/*.cu and the GoogleTest C++ tests (ctest).
#
#   tools/check_device_code.sh [BUILD_DIR]      (default: build/cmake)
#
# Environment:
#   HVAE_REQUIRE_NVCC=1   fail when nvcc is missing (CI sets this); otherwise a
#                         missing nvcc skips only the device-code check
#   CUDACXX               nvcc to use (else nvcc on PATH, else /usr/local/cuda)
#   HVAE_CMAKE_ARGS       extra arguments for the configure step
#   HVAE_JOBS             parallel build/test jobs (default: nproc)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-build/cmake}"
jobs="${HVAE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

nvcc_path=""
if [[ -n "${CUDACXX:-}" && -x "${CUDACXX}" ]]; then
  nvcc_path="${CUDACXX}"
elif command -v nvcc >/dev/null 2>&1; then
  nvcc_path="$(command -v nvcc)"
elif [[ -x /usr/local/cuda/bin/nvcc ]]; then
  nvcc_path=/usr/local/cuda/bin/nvcc
fi

cmake_args=(-S "${root}" -B "${build_dir}" -DHVAE_BUILD_TESTS=ON)
if [[ -n "${nvcc_path}" ]]; then
  echo "device-code check with ${nvcc_path}"
  cmake_args+=(-DHVAE_CUDA_DEVICE_CHECK=ON "-DCMAKE_CUDA_COMPILER=${nvcc_path}")
elif [[ "${HVAE_REQUIRE_NVCC:-0}" == "1" ]]; then
  echo "error: nvcc not found and HVAE_REQUIRE_NVCC=1 (set CUDACXX or PATH)" >&2
  exit 1
else
  echo "nvcc not found: skipping device-code check"
  cmake_args+=(-DHVAE_CUDA_DEVICE_CHECK=OFF)
fi

# shellcheck disable=SC2206  # word splitting of extra arguments is intended
cmake_args+=(${HVAE_CMAKE_ARGS:-})

cmake "${cmake_args[@]}"
cmake --build "${build_dir}" --parallel "${jobs}"
cd "${build_dir}" && ctest --output-on-failure --parallel "${jobs}"
