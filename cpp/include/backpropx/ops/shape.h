// Shape ops: views share storage (reshape of viewable data, view, transpose, permute, squeeze,
// unsqueeze, expand, narrow/select/slice); cat, stack and split move data. Kernels: cpp/src/ops/shape.cpp.
#pragma once
#include <optional>
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx {

Tensor reshape(const Tensor& x, Shape shape);  // one -1 allowed; copies only when not viewable
Tensor view(const Tensor& x, Shape shape);     // raises when the strides do not allow a view
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor t(const Tensor& x);  // 2-D transpose (0-D/1-D unchanged)
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim = std::nullopt);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a dim
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor slice(const Tensor& x, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step = 1);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sections, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
Tensor contiguous(const Tensor& x);  // differentiable (identity gradient)

}  // namespace backpropx
