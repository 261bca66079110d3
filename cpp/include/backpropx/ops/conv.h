// 1-D convolution and pooling over [N, C, L] (or unbatched [C, L]) tensors, each one fused kernel with a
// fused backward (kernels: cpp/src/ops/conv.cpp). Semantics follow torch.nn.functional.
#pragma once
#include <utility>

#include "backpropx/tensor.h"

namespace backpropx {

// input [N, C_in, L], weight [C_out, C_in / groups, K], bias [C_out] (optional) -> [N, C_out, L_out],
// L_out = (L + pad_left + pad_right - dilation (K - 1) - 1) / stride + 1. Zero padding; padding is
// (left, right) so that padding='same' with an even kernel can pad one more on the right, as torch.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
              std::pair<int64_t, int64_t> padding, int64_t dilation = 1, int64_t groups = 1);
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);

// Max over windows of kernel_size (stride 0 = kernel_size); padding counts as -inf. Returns (values,
// indices into the L dim, int64). The gradient flows to the selected element of each window.
std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, int64_t kernel_size, int64_t stride = 0,
                                                  int64_t padding = 0, int64_t dilation = 1,
                                                  bool ceil_mode = false);

// Mean over windows; count_include_pad: the zero padding counts in the divisor.
Tensor avg_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true);

// Max over output_size windows that cover L as evenly as possible (output_size 1: max over time).
std::pair<Tensor, Tensor> adaptive_max_pool1d_with_indices(const Tensor& input, int64_t output_size);

}  // namespace backpropx
