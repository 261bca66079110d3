// Row-sparse tensors (backpropx/sparse.h): building, densifying, coalescing and adding them.
#include "backpropx/sparse.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

int64_t row_size(const Shape& dense_shape) {
  int64_t n = 1;
  for (size_t d = 1; d < dense_shape.size(); ++d) n *= dense_shape[d];
  return n;
}

}  // namespace

Tensor make_row_sparse(const Tensor& indices_in, const Tensor& values_in, const Shape& dense_shape) {
  BPX_CHECK(indices_in.defined() && values_in.defined(), ValueError, "row_sparse: got an undefined tensor");
  BPX_CHECK(!dense_shape.empty(), ValueError, "row_sparse: the dense shape must have at least one dimension");
  BPX_CHECK(indices_in.dtype() == DType::Int64 && indices_in.dim() == 1, TypeError,
            "row_sparse: indices must be a 1-D int64 tensor, got ", dtype_name(indices_in.dtype()), " of shape ",
            shape_str(indices_in.shape()));
  BPX_CHECK(is_floating(values_in.dtype()), TypeError, "row_sparse: values must be float32 or float64, got ",
            dtype_name(values_in.dtype()));
  Shape expected = dense_shape;
  expected[0] = indices_in.shape()[0];
  BPX_CHECK(values_in.shape() == expected, ValueError, "row_sparse: values of shape ", shape_str(values_in.shape()),
            " do not match ", indices_in.shape()[0], " rows of a tensor of shape ", shape_str(dense_shape),
            " (expected ", shape_str(expected), ")");
  Tensor indices = indices_in.detach().contiguous(), values = values_in.detach().contiguous();
  const int64_t* ip = indices.data<int64_t>();
  for (int64_t i = 0; i < indices.numel(); ++i)
    BPX_CHECK(ip[i] >= 0 && ip[i] < dense_shape[0], IndexError, "row_sparse: index ", ip[i],
              " is out of range for a tensor of shape ", shape_str(dense_shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = dense_shape;
  impl->strides = contiguous_strides(dense_shape);
  impl->dtype = values.dtype();
  impl->sparse_indices = indices.impl_ptr();
  impl->sparse_values = values.impl_ptr();
  return Tensor(std::move(impl));
}

void add_sparse_into_(const Tensor& dense, const Tensor& sparse) {
  BPX_CHECK(sparse.is_sparse() && !dense.is_sparse(), ValueError, "add_sparse_into_: expected a dense and a row-sparse tensor");
  BPX_CHECK(dense.shape() == sparse.shape(), ValueError, "add_sparse_into_: dense tensor of shape ",
            shape_str(dense.shape()), " vs row-sparse tensor of shape ", shape_str(sparse.shape()));
  BPX_CHECK(dense.is_contiguous(), ValueError, "add_sparse_into_: the dense tensor must be contiguous");
  const Tensor idx = sparse.sparse_indices();
  const Tensor vals = sparse.sparse_values().to(dense.dtype()).contiguous();
  const int64_t nnz = idx.numel(), D = row_size(dense.shape());
  const int64_t* ip = idx.data<int64_t>();
  dispatch_float(dense.dtype(), "add_sparse_into_", [&](auto tag) {
    using T = decltype(tag);
    T* dp = dense.data<T>();
    const T* vp = vals.data<T>();
    // Threads own disjoint column ranges, so repeated rows need no atomics.
    const int64_t col_grain = std::max<int64_t>(8, kParallelGrain / std::max<int64_t>(nnz, 1));
    parallel_for(D, col_grain, [&](int64_t c0, int64_t c1) {
      for (int64_t i = 0; i < nnz; ++i) {
        T* drow = dp + ip[i] * D;
        const T* vrow = vp + i * D;
        for (int64_t c = c0; c < c1; ++c) drow[c] += vrow[c];
      }
    });
  });
  dense.bump_version();
}

Tensor to_dense(const Tensor& t) {
  if (!t.is_sparse()) return t;
  Tensor out = zeros(t.shape(), t.dtype());
  add_sparse_into_(out, t);
  return out;
}

bool is_coalesced(const Tensor& t) {
  if (!t.is_sparse()) return true;
  const Tensor idx = t.sparse_indices();
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t i = 1; i < idx.numel(); ++i)
    if (ip[i] <= ip[i - 1]) return false;
  return true;
}

Tensor coalesce(const Tensor& t) {
  if (is_coalesced(t)) return t;
  const Tensor idx = t.sparse_indices(), vals = t.sparse_values();
  const int64_t nnz = idx.numel(), D = row_size(t.shape());
  const int64_t* ip = idx.data<int64_t>();
  std::vector<int64_t> order(nnz);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [ip](int64_t a, int64_t b) { return ip[a] < ip[b]; });
  std::vector<int64_t> unique_rows;  // the distinct indices, sorted
  std::vector<int64_t> slot(nnz);    // order position -> output row
  for (int64_t k = 0; k < nnz; ++k) {
    if (k == 0 || ip[order[k]] != ip[order[k - 1]]) unique_rows.push_back(ip[order[k]]);
    slot[k] = static_cast<int64_t>(unique_rows.size()) - 1;
  }
  const int64_t m = static_cast<int64_t>(unique_rows.size());
  Tensor new_idx = Tensor::empty({m}, DType::Int64);
  std::copy(unique_rows.begin(), unique_rows.end(), new_idx.data<int64_t>());
  Shape vshape = vals.shape();
  vshape[0] = m;
  Tensor new_vals = zeros(vshape, vals.dtype());
  dispatch_float(vals.dtype(), "coalesce", [&](auto tag) {
    using T = decltype(tag);
    const T* vp = vals.data<T>();
    T* op = new_vals.data<T>();
    // Rows are summed in their original order, so the result does not depend on the thread count.
    for (int64_t k = 0; k < nnz; ++k) {
      T* orow = op + slot[k] * D;
      const T* vrow = vp + order[k] * D;
      for (int64_t c = 0; c < D; ++c) orow[c] += vrow[c];
    }
  });
  return make_row_sparse(new_idx, new_vals, t.shape());
}

void coalesce_(const Tensor& t) {
  if (is_coalesced(t)) return;
  Tensor c = coalesce(t);
  t.impl()->sparse_indices = c.impl()->sparse_indices;
  t.impl()->sparse_values = c.impl()->sparse_values;
}

Tensor sparse_add(const Tensor& a, const Tensor& b) {
  BPX_CHECK(a.shape() == b.shape(), ValueError, "add: a row-sparse tensor adds only to a tensor of its own shape, got ",
            shape_str(a.shape()), " and ", shape_str(b.shape()));
  NoGradGuard no_grad;
  if (a.is_sparse() && b.is_sparse()) {
    const DType dt = promote_types(a.dtype(), b.dtype());
    Tensor idx = cat({a.sparse_indices(), b.sparse_indices()}, 0);
    Tensor vals = cat({a.sparse_values().to(dt), b.sparse_values().to(dt)}, 0);
    return make_row_sparse(idx, vals, a.shape());
  }
  const Tensor& dense = a.is_sparse() ? b : a;
  const Tensor& sparse = a.is_sparse() ? a : b;
  Tensor out = Tensor::empty(dense.shape(), promote_types(a.dtype(), b.dtype()));
  copy_strided(dense, out);
  if (sparse.is_sparse()) add_sparse_into_(out, sparse);
  return out;
}

}  // namespace backpropx
