#!/usr/bin/env bash
# Compile (not link) the torch CUDA glue, csrc/ops/*_cuda.cu, with nvcc on a
# machine without a CUDA build of torch: the CPU wheel ships torch's CUDA
# headers, and the few CUDA-library headers they include (cuBLAS, cuSPARSE,
# cuSOLVER; absent from a bare toolkit) are replaced by stubs declaring the
# handle types those headers need. It catches compile errors in the glue
# before a GPU run; it is a developer check, not part of CI (which compiles
# the torch-free kernel code, tools/check_device_code.sh).
#
#   tools/check_cuda_glue.sh [ARCH]        (default: sm_90)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
arch="${1:-sm_90}"
nvcc="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
torch_inc="$(python -c 'import torch.utils.cpp_extension as c; print(" ".join(c.include_paths()))')"
py_inc="$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
stubs="$(mktemp -d)"
trap 'rm -rf "$stubs"' EXIT
mkdir -p "$stubs/c10/cuda/impl"
echo '#pragma once' >"$stubs/c10/cuda/impl/cuda_cmake_macros.h"
printf '#pragma once\ntypedef struct cusparseContext* cusparseHandle_t;\ntypedef int cusparseStatus_t;\n' >"$stubs/cusparse.h"
printf '#pragma once\n#include <cuda_runtime.h>\ntypedef struct cublasContext* cublasHandle_t;\ntypedef int cublasStatus_t;\n' >"$stubs/cublas_v2.h"
printf '#pragma once\ntypedef struct cublasLtContext* cublasLtHandle_t;\n' >"$stubs/cublasLt.h"
printf '#pragma once\ntypedef int cusolverStatus_t;\n' >"$stubs/cusolver_common.h"
printf '#pragma once\n#include "cusolver_common.h"\ntypedef struct cusolverDnContext* cusolverDnHandle_t;\n' >"$stubs/cusolverDn.h"
includes=(-I"$stubs")
for d in $torch_inc; do includes+=(-I"$d"); done
status=0
for src in "$root"/csrc/ops/*_cuda.cu; do
  if "$nvcc" -std=c++17 -O3 -lineinfo --expt-relaxed-constexpr -arch="$arch" "${includes[@]}" -I"$root/csrc" \
      -I"$py_inc" -DTORCH_EXTENSION_NAME=_C -c "$src" -o "$stubs/$(basename "$src").o"; then
    echo "ok   $(basename "$src")"
  else
    echo "FAIL $(basename "$src")"
    status=1
  fi
done
exit "$status"
