// Gathering ops with integer index tensors; their backward scatters (adds) the gradient back, so
// repeated indices sum. Kernels: cpp/src/ops/indexing.cpp.
#pragma once
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index: 1-D int64
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);        // torch.gather
// x[indices...] with advanced indexing: indices[i] indexes dim i (undefined = take the whole dim);
// the index tensors broadcast together, as torch's x[i, j] with integer tensors.
Tensor index(const Tensor& x, const std::vector<Tensor>& indices);
// Non-differentiable: the positions of true/nonzero elements, shape [n, ndim] (int64).
Tensor nonzero(const Tensor& x);

}  // namespace backpropx
