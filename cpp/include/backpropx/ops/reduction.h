// Reductions over dims (empty dims = all dims). Kernels: cpp/src/ops/reduction.cpp.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx {

using Dims = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const Dims& dims = {}, double correction = 1.0, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, double correction = 1.0, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor amax(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// max/min over one dim: (values, indices); the gradient flows to the selected element.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements (gradient to the first maximum)
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);

// Sums g over the dims that broadcasting added or expanded, giving a tensor of `shape`.
Tensor sum_to(const Tensor& g, const Shape& shape);

// A dim in [-ndim, ndim) wrapped to [0, ndim); raises IndexError naming op.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace backpropx
