// Row-sparse tensors: the gradient of embedding(..., sparse=true). A row-sparse tensor has a dense
// shape [V, ...] but holds only values [nnz, ...] at rows indices [nnz] (int64); until coalesced a
// row may appear several times, and its copies add up. The engine sums them with dense gradients,
// AccumulateGrad keeps them sparse in .grad, and SGD, Adagrad and SparseAdam update only those rows.
#pragma once
#include "backpropx/tensor.h"

namespace backpropx {

// A row-sparse tensor of dense_shape from indices [nnz] and values [nnz, dense_shape[1:]...].
Tensor make_row_sparse(const Tensor& indices, const Tensor& values, const Shape& dense_shape);

// The dense tensor (zeros, plus every value row added at its index); a dense t is returned as is.
Tensor to_dense(const Tensor& t);

// Sorted, unique indices with repeated rows summed (t itself when it already is). Dense t: t.
Tensor coalesce(const Tensor& t);
bool is_coalesced(const Tensor& t);

// Coalesces t in place: every handle to t sees the coalesced indices and values.
void coalesce_(const Tensor& t);

// a + b for any mix of dense and row-sparse: sparse + sparse stays sparse (rows concatenated), the
// other mixes give a new dense tensor. Shapes must match exactly (no broadcasting).
Tensor sparse_add(const Tensor& a, const Tensor& b);

// dense[indices[i]] += values[i] in place, for every row of the row-sparse `sparse`.
void add_sparse_into_(const Tensor& dense, const Tensor& sparse);

}  // namespace backpropx
