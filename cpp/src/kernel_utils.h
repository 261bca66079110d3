// Internal helpers shared by the kernels: strided row iteration, parallel loops, dtype conversion.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "backpropx/tensor.h"

#ifdef BACKPROPX_OPENMP
#include <omp.h>
#endif

namespace backpropx {

// Work below this many elements runs on one thread: waking threads costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

// f(begin, end) over [0, n) in chunks, on all threads when n is large enough.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
#ifdef BACKPROPX_OPENMP
  if (n > grain && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel
    {
      int nt = omp_get_num_threads(), id = omp_get_thread_num();
      int64_t chunk = (n + nt - 1) / nt, b = id * chunk, e = std::min<int64_t>(n, b + chunk);
      if (b < e) f(b, e);
    }
    return;
  }
#endif
  if (n > 0) f(0, n);
}

// Strides of `t` seen through broadcasting to `shape` (0 on broadcast dims).
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape st(shape.size(), 0);
  int64_t off = static_cast<int64_t>(shape.size()) - t.dim();
  for (int64_t i = 0; i < t.dim(); ++i)
    st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

// Calls f(offsets, n, inner_strides) for each row (last dim) of `shape`, where offsets[k] is the
// element offset of operand k at the start of the row and inner_strides[k] its stride along the row.
template <size_t K, typename F>
void for_each_row(const Shape& shape, const std::array<const Shape*, K>& strides, F&& f) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::array<int64_t, K> off{}, inner{};
  if (nd == 0) {
    f(off, int64_t{1}, inner);
    return;
  }
  for (size_t k = 0; k < K; ++k) inner[k] = (*strides[k])[nd - 1];
  const int64_t n = shape[nd - 1];
  if (n == 0) return;
  int64_t rows = 1;
  for (int64_t d = 0; d < nd - 1; ++d) rows *= shape[d];
  if (rows == 0) return;
  std::vector<int64_t> idx(nd, 0);
  for (int64_t r = 0; r < rows; ++r) {
    f(off, n, inner);
    for (int64_t d = nd - 2; d >= 0; --d) {  // odometer increment of the outer index
      ++idx[d];
      for (size_t k = 0; k < K; ++k) off[k] += (*strides[k])[d];
      if (idx[d] < shape[d]) break;
      for (size_t k = 0; k < K; ++k) off[k] -= (*strides[k])[d] * shape[d];
      idx[d] = 0;
    }
  }
}

template <typename To, typename From>
inline To convert_value(From v) {
  if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else return static_cast<To>(v);
}

// Copies src (any strides, broadcast to dst's shape, any dtype) into dst (any strides).
void copy_strided(const Tensor& src, const Tensor& dst);

}  // namespace backpropx

namespace backpropx {

// out[i] = f(x[i]) over a contiguous copy of x; out has dtype R.
template <typename T, typename R = T, typename F>
Tensor map1(const Tensor& x_in, F&& f) {
  Tensor x = x_in.contiguous();
  Tensor out = Tensor::empty(x.shape(), dtype_of<R>::value);
  const T* xp = x.data<T>();
  R* op = out.data<R>();
  parallel_for(x.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) op[i] = f(xp[i]);
  });
  return out;
}

// out = f(x) where f maps an Eigen array block to an array expression: Eigen's SIMD exp/tanh/logistic
// (std::exp and std::tanh do not vectorise without -ffast-math). Blocks of 4096 keep each in L1/L2.
template <typename T, typename F>
Tensor map1_array(const Tensor& x_in, F&& f) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  Tensor x = x_in.contiguous();
  Tensor out = Tensor::empty(x.shape(), dtype_of<T>::value);
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  parallel_for(x.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; s += 4096) {
      const int64_t n = std::min<int64_t>(4096, e - s);
      Eigen::Map<Arr>(op + s, n) = f(Eigen::Map<const Arr>(xp + s, n));
    }
  });
  return out;
}

// out = f(a, b) over same-shape a and b, f mapping two Eigen array blocks to an array expression.
template <typename T, typename F>
Tensor map2_array(const Tensor& a_in, const Tensor& b_in, F&& f) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  BPX_CHECK(a_in.shape() == b_in.shape(), RuntimeError, "internal: map2_array shapes ", shape_str(a_in.shape()),
            " vs ", shape_str(b_in.shape()));
  Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Tensor out = Tensor::empty(a.shape(), dtype_of<T>::value);
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  T* op = out.data<T>();
  parallel_for(a.numel(), kParallelGrain, [&](int64_t b0, int64_t e) {
    for (int64_t s = b0; s < e; s += 4096) {
      const int64_t n = std::min<int64_t>(4096, e - s);
      Eigen::Map<Arr>(op + s, n) = f(Eigen::Map<const Arr>(ap + s, n), Eigen::Map<const Arr>(bp + s, n));
    }
  });
  return out;
}

// out[i] = f(a[i], b[i]) for same-shape a and b (contiguous copies taken if needed).
template <typename T, typename R = T, typename F>
Tensor map2(const Tensor& a_in, const Tensor& b_in, F&& f) {
  BPX_CHECK(a_in.shape() == b_in.shape(), RuntimeError, "internal: map2 shapes ", shape_str(a_in.shape()), " vs ",
            shape_str(b_in.shape()));
  Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Tensor out = Tensor::empty(a.shape(), dtype_of<R>::value);
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  R* op = out.data<R>();
  parallel_for(a.numel(), kParallelGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) op[i] = f(ap[i], bp[i]);
  });
  return out;
}

// out[i] = f(a[i], b[i], c[i]) for same-shape tensors.
template <typename T, typename F>
Tensor map3(const Tensor& a_in, const Tensor& b_in, const Tensor& c_in, F&& f) {
  Tensor a = a_in.contiguous(), b = b_in.contiguous(), c = c_in.contiguous();
  Tensor out = Tensor::empty(a.shape(), dtype_of<T>::value);
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  const T* cp = c.data<T>();
  T* op = out.data<T>();
  parallel_for(a.numel(), kParallelGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) op[i] = f(ap[i], bp[i], cp[i]);
  });
  return out;
}

}  // namespace backpropx
