// Builds a torch-free hvae::ElementwiseIndex from broadcast tensors.
#pragma once

#include <array>
#include <vector>

#include <ATen/ATen.h>

#include "hvae/strided.h"

namespace hvae_ops {

// Index for operands broadcast to `shape` (a null pointer is a scalar held
// outside any tensor). Size-1 dimensions are dropped and dimensions that are
// contiguous in every operand merged, so a contiguous or broadcast-scalar
// operand costs no per-element division. Returns false when more than
// hvae::kMaxDims dimensions remain; the caller then makes its operands
// contiguous and asks again.
template <int N>
bool make_elementwise_index(at::IntArrayRef shape, const std::array<const at::Tensor*, N>& ops,
                            hvae::ElementwiseIndex<N>& index) {
  const int64_t full_ndim = static_cast<int64_t>(shape.size());
  std::vector<int64_t> sizes;
  std::array<std::vector<int64_t>, N> strides;
  for (int64_t d = 0; d < full_ndim; ++d) {
    if (shape[d] == 1) continue;
    sizes.push_back(shape[d]);
    for (int j = 0; j < N; ++j) {
      int64_t s = 0;
      const at::Tensor* t = ops[j];
      if (t != nullptr) {
        const int64_t td = d - (full_ndim - t->dim());
        if (td >= 0 && t->size(td) != 1) s = t->stride(td);
      }
      strides[j].push_back(s);
    }
  }
  // Merge an outer dimension into the next inner one where every operand
  // steps through both as one.
  std::vector<int64_t> merged_sizes;
  std::array<std::vector<int64_t>, N> merged_strides;
  for (size_t d = 0; d < sizes.size(); ++d) {
    bool can_merge = !merged_sizes.empty();
    for (int j = 0; j < N && can_merge; ++j) {
      can_merge = merged_strides[j].back() == strides[j][d] * sizes[d];
    }
    if (can_merge) {
      merged_sizes.back() *= sizes[d];
      for (int j = 0; j < N; ++j) merged_strides[j].back() = strides[j][d];
    } else {
      merged_sizes.push_back(sizes[d]);
      for (int j = 0; j < N; ++j) merged_strides[j].push_back(strides[j][d]);
    }
  }
  if (merged_sizes.size() > static_cast<size_t>(hvae::kMaxDims)) return false;

  index.ndim = static_cast<int>(merged_sizes.size());
  for (int d = 0; d < index.ndim; ++d) index.sizes[d] = merged_sizes[d];
  for (int j = 0; j < N; ++j) {
    bool scalar = true;
    bool contiguous = true;
    int64_t expected = 1;
    for (int d = index.ndim - 1; d >= 0; --d) {
      const int64_t s = merged_strides[j][d];
      index.strides[j][d] = s;
      scalar = scalar && s == 0;
      contiguous = contiguous && s == expected;
      expected *= merged_sizes[d];
    }
    index.layout[j] = scalar ? hvae::OperandLayout::kScalar
                      : contiguous ? hvae::OperandLayout::kContiguous
                                   : hvae::OperandLayout::kStrided;
  }
  return true;
}

}  // namespace hvae_ops
