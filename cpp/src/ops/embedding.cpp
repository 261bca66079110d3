// embedding: forward gathers rows of the weight, backward scatters (adds) the gradient rows back into a
// dense [V, D] gradient in one kernel (repeated ids sum; the padding_idx row gets nothing). With
// sparse=true the gradient is row-sparse instead: the looked-up rows only (backpropx/sparse.h).
#include <algorithm>
#include <cstring>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/sparse.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

// The row-sparse gradient of the weight: one row per looked-up id but the padding ones (copied, so
// .grad never aliases a gradient buffer of the graph). ids [n], grad_out [n, D] contiguous.
Tensor embedding_sparse_grad(const Tensor& ids, const Tensor& grad_out, const Shape& wshape, int64_t pad) {
  const int64_t n = ids.numel(), D = wshape[1];
  const int64_t* ip = ids.data<int64_t>();
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) kept += ip[i] != pad;
  Tensor indices = Tensor::empty({kept}, DType::Int64);
  Tensor values = Tensor::empty({kept, D}, grad_out.dtype());
  int64_t* op = indices.data<int64_t>();
  dispatch_float(grad_out.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    const T* gp = grad_out.data<T>();
    T* vp = values.data<T>();
    for (int64_t i = 0, k = 0; i < n; ++i) {
      if (ip[i] == pad) continue;
      op[k] = ip[i];
      std::memcpy(vp + k * D, gp + i * D, sizeof(T) * D);
      ++k;
    }
  });
  return make_row_sparse(indices, values, wshape);
}

}  // namespace

Tensor embedding(const Tensor& ids_in, const Tensor& weight_in, std::optional<int64_t> padding_idx, bool sparse) {
  BPX_CHECK(ids_in.defined() && weight_in.defined(), ValueError, "embedding: got an undefined tensor");
  BPX_CHECK(ids_in.dtype() == DType::Int64, TypeError, "embedding: expected the indices (input) to be an int64 tensor, got ",
            dtype_name(ids_in.dtype()), " of shape ", shape_str(ids_in.shape()));
  BPX_CHECK(is_floating(weight_in.dtype()), TypeError, "embedding: expected a float32 or float64 weight, got ",
            dtype_name(weight_in.dtype()));
  BPX_CHECK(weight_in.dim() == 2, ValueError, "embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape ",
            shape_str(weight_in.shape()));
  const int64_t V = weight_in.shape()[0], D = weight_in.shape()[1];
  int64_t pad = -1;  // -1: none
  if (padding_idx) {
    BPX_CHECK(*padding_idx >= -V && *padding_idx < V, ValueError, "embedding: padding_idx ", *padding_idx,
              " must be within num_embeddings (weight of shape ", shape_str(weight_in.shape()), ")");
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  }

  Tensor ids = ids_in.detach().contiguous();
  const int64_t n = ids.numel();
  const int64_t* ip = ids.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)  // serial check: never throw inside a parallel region
    BPX_CHECK(ip[i] >= 0 && ip[i] < V, IndexError, "embedding: index ", ip[i], " is out of range for a weight of shape ",
              shape_str(weight_in.shape()));

  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor weight = weight_in.detach().contiguous();
  Tensor out = Tensor::empty(out_shape, weight.dtype());
  dispatch_float(weight.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    const T* wp = weight.data<T>();
    T* op = out.data<T>();
    parallel_for(n, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) std::memcpy(op + i * D, wp + ip[i] * D, sizeof(T) * D);
    });
  });

  if (any_requires_grad({&weight_in})) {
    Shape wshape = weight_in.shape();
    DType wdtype = weight_in.dtype();
    auto node = record("EmbeddingBackward", {weight_in}, {out}, [wshape, wdtype, pad, sparse](const TensorList& g, FunctionNode& nd) {
      Tensor idx = nd.saved(0);
      const int64_t V = wshape[0], D = wshape[1], n = idx.numel();
      const int64_t* ip = idx.data<int64_t>();
      Tensor go = g[0].dtype() == wdtype ? g[0].contiguous() : g[0].to(wdtype).contiguous();
      if (sparse) return TensorList{embedding_sparse_grad(idx, go, wshape, pad)};
      Tensor dw = Tensor::empty(wshape, wdtype);
      dispatch_float(wdtype, "embedding", [&](auto tag) {
        using T = decltype(tag);
        T* dp = dw.data<T>();
        const T* gp = go.data<T>();
        parallel_for(V * D, kParallelGrain * 4, [&](int64_t b, int64_t e) { std::fill(dp + b, dp + e, T(0)); });
        // Threads own disjoint column ranges of dW, so repeated ids need no atomics and the
        // summation order (by position) does not depend on the thread count.
        const int64_t col_grain = std::max<int64_t>(8, kParallelGrain / std::max<int64_t>(n, 1));
        parallel_for(D, col_grain, [&](int64_t c0, int64_t c1) {
          for (int64_t i = 0; i < n; ++i) {
            const int64_t r = ip[i];
            if (r == pad) continue;
            T* drow = dp + r * D;
            const T* grow = gp + i * D;
            for (int64_t c = c0; c < c1; ++c) drow[c] += grow[c];
          }
        });
      });
      return TensorList{dw};
    });
    node->save(ids);
  }
  return out;
}

}  // namespace backpropx
