// Broadcast/stride bookkeeping for elementwise kernels, without torch.
//
// The torch glue (csrc/ops/) broadcasts the operands to the output shape,
// collapses dimensions that are contiguous in every operand, and fills an
// ElementwiseIndex; kernels then map an output index to each operand's
// element offset. Operands that are contiguous like the output, or scalars,
// skip the per-dimension division entirely, which is the common case.
#pragma once

#include "common.h"

namespace hvae {

constexpr int kMaxDims = 8;

enum class OperandLayout : int8_t {
  kStrided = 0,    // general strides: decompose the index per dimension
  kContiguous = 1, // same layout as the (contiguous) output: offset = index
  kScalar = 2,     // a single element: offset = 0
};

template <int NOperands>
struct ElementwiseIndex {
  int ndim;                                   // dimensions after collapsing
  int64_t sizes[kMaxDims];                    // output sizes, innermost last
  int64_t strides[NOperands][kMaxDims];       // element strides (0 where broadcast)
  OperandLayout layout[NOperands];

  // Element offset of operand j for output index i (64-bit throughout: sizes
  // can pass 2^31).
  HVAE_HD int64_t offset(int j, int64_t i) const {
    if (layout[j] == OperandLayout::kContiguous) return i;
    if (layout[j] == OperandLayout::kScalar) return 0;
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t size = sizes[d];
      const int64_t q = i / size;
      off += (i - q * size) * strides[j][d];
      i = q;
    }
    return off;
  }
};

}  // namespace hvae
