// softmax / log_softmax over any dim, forward and fused backward side by side.
// The input is seen as [outer, n, inner] (n = the softmax dim). inner == 1: each row is contiguous and
// is done in one pass for max, one for exp-sum, one to write. inner > 1: a block of up to kBlock
// neighbouring columns is processed together so every read walks memory contiguously. exp runs
// through Eigen's vectorised array functions (SIMD), as in reduction.cpp's logsumexp.
//   softmax      y = exp(x - max) / sum exp(x - max)        dx = y * (g - sum(g * y))
//   log_softmax  y = x - max - log(sum exp(x - max))         dx = g - exp(y) * sum(g)
// Both backward passes read only the saved output y.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

constexpr int64_t kBlock = 64;

struct RowLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

RowLayout layout_of(const Shape& shape, int64_t dim) {
  RowLayout L;
  if (shape.empty()) return L;  // 0-d: one row of one element
  for (int64_t d = 0; d < dim; ++d) L.outer *= shape[d];
  L.n = shape[dim];
  for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) L.inner *= shape[d];
  return L;
}

// Runs unit(o, i0, bs) over every (outer row, block of inner columns), on all threads.
template <typename F>
void for_each_unit(const RowLayout& L, F&& unit) {
  const int64_t bs = L.inner == 1 ? 1 : kBlock;
  const int64_t nblk = (L.inner + bs - 1) / bs;
  const int64_t units = L.outer * nblk;
  if (L.n == 0 || L.inner == 0) return;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L.n * bs, 1));
  parallel_for(units, grain, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const int64_t o = u / nblk, i0 = (u % nblk) * bs;
      unit(o, i0, std::min(bs, L.inner - i0));
    }
  });
}

template <typename T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;
template <typename T>
using BlockVec = Eigen::Array<T, Eigen::Dynamic, 1, 0, kBlock, 1>;  // no heap: at most kBlock entries

// exp(x - m) of a row whose max is -inf (all -inf) is taken with m = 0, giving 0/0 = nan as torch.
template <typename T>
T safe_max(T m) {
  return m == -std::numeric_limits<T>::infinity() ? T(0) : m;
}

template <typename T, bool Log>
void forward_kernel(const T* x, T* y, const RowLayout& L) {
  const int64_t n = L.n, inner = L.inner;
  if (inner == 1) {
    for_each_unit(L, [&](int64_t o, int64_t, int64_t) {
      Eigen::Map<const Vec<T>> xr(x + o * n, n);
      Eigen::Map<Vec<T>> yr(y + o * n, n);
      const T m = safe_max(xr.maxCoeff());
      if (Log) {
        const T lse = m + std::log((xr - m).exp().sum());
        yr = xr - lse;
      } else {
        yr = (xr - m).exp();
        yr *= T(1) / yr.sum();
      }
    });
    return;
  }
  for_each_unit(L, [&](int64_t o, int64_t i0, int64_t bs) {
    const T* xb = x + o * n * inner + i0;
    T* yb = y + o * n * inner + i0;
    auto row = [&](int64_t k) { return Eigen::Map<const Vec<T>>(xb + k * inner, bs); };
    auto out = [&](int64_t k) { return Eigen::Map<Vec<T>>(yb + k * inner, bs); };
    BlockVec<T> m = row(0);
    for (int64_t k = 1; k < n; ++k) m = m.max(row(k));
    for (int64_t j = 0; j < bs; ++j) m[j] = safe_max(m[j]);
    BlockVec<T> s = BlockVec<T>::Zero(bs);
    if (Log) {
      for (int64_t k = 0; k < n; ++k) s += (row(k) - m).exp();
      m += s.log();  // m = lse
      for (int64_t k = 0; k < n; ++k) out(k) = row(k) - m;
    } else {
      for (int64_t k = 0; k < n; ++k) {
        out(k) = (row(k) - m).exp();
        s += out(k);
      }
      s = s.inverse();
      for (int64_t k = 0; k < n; ++k) out(k) *= s;
    }
  });
}

template <typename T, bool Log>
void backward_kernel(const T* g, const T* y, T* dx, const RowLayout& L) {
  const int64_t n = L.n, inner = L.inner;
  if (inner == 1) {
    for_each_unit(L, [&](int64_t o, int64_t, int64_t) {
      Eigen::Map<const Vec<T>> gr(g + o * n, n), yr(y + o * n, n);
      Eigen::Map<Vec<T>> dr(dx + o * n, n);
      if (Log)
        dr = gr - yr.exp() * gr.sum();
      else
        dr = yr * (gr - (gr * yr).sum());
    });
    return;
  }
  for_each_unit(L, [&](int64_t o, int64_t i0, int64_t bs) {
    const int64_t base = o * n * inner + i0;
    auto gk = [&](int64_t k) { return Eigen::Map<const Vec<T>>(g + base + k * inner, bs); };
    auto yk = [&](int64_t k) { return Eigen::Map<const Vec<T>>(y + base + k * inner, bs); };
    auto dk = [&](int64_t k) { return Eigen::Map<Vec<T>>(dx + base + k * inner, bs); };
    BlockVec<T> s = BlockVec<T>::Zero(bs);
    for (int64_t k = 0; k < n; ++k) {
      if (Log)
        s += gk(k);
      else
        s += gk(k) * yk(k);
    }
    for (int64_t k = 0; k < n; ++k) {
      if (Log)
        dk(k) = gk(k) - yk(k).exp() * s;
      else
        dk(k) = yk(k) * (gk(k) - s);
    }
  });
}

template <bool Log>
Tensor softmax_impl(const Tensor& x_in, int64_t dim_in, const char* name, const char* node_name) {
  BPX_CHECK(x_in.defined(), ValueError, name, ": got an undefined tensor");
  BPX_CHECK(is_floating(x_in.dtype()), TypeError, name, ": expected a float32 or float64 tensor, got ",
            dtype_name(x_in.dtype()), " (convert with .float() or pass dtype=)");
  const int64_t dim = wrap_dim(dim_in, x_in.dim(), name);
  const RowLayout L = layout_of(x_in.shape(), dim);
  Tensor x = x_in.detach().contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    forward_kernel<T, Log>(x.data<T>(), out.data<T>(), L);
  });
  if (any_requires_grad({&x_in})) {
    auto node = record(node_name, {x_in}, {out}, [L, name](const TensorList& g, FunctionNode& nd) {
      Tensor y = nd.saved(0);
      Tensor go = (g[0].dtype() == y.dtype() ? g[0] : g[0].to(y.dtype())).contiguous();
      Tensor dx = Tensor::empty(y.shape(), y.dtype());
      dispatch_float(y.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        backward_kernel<T, Log>(go.data<T>(), y.data<T>(), dx.data<T>(), L);
      });
      return TensorList{dx};
    });
    node->save(out);
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl<false>(x, dim, "softmax", "SoftmaxBackward"); }

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl<true>(x, dim, "log_softmax", "LogSoftmaxBackward");
}

}  // namespace backpropx
