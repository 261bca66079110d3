// layer_norm over the trailing dims given by normalized_shape, forward and fused backward side by side
// (the pair llm.c calls layernorm_forward / layernorm_backward). x is seen as [M rows, N].
// Forward: per row mean, rstd = 1 / sqrt(var + eps) (two passes: stable), y = (x - mean) rstd w + b;
// saves x, mean [M] and rstd [M] (and w).
// Backward: xhat = (x - mean) rstd, dxhat = dy w,
//   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),  dw = sum_rows dy xhat,  db = sum_rows dy.
// dw / db are summed per fixed block of rows and the blocks added in order: repeatable results.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

template <typename T>
void ln_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t M, int64_t N, double eps) {
  parallel_for(M, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(N, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * N;
      T* yr = y + r * N;
      T s = 0;
      for (int64_t i = 0; i < N; ++i) s += xr[i];
      const T m = s / static_cast<T>(N);
      T v = 0;
      for (int64_t i = 0; i < N; ++i) {
        const T d = xr[i] - m;
        v += d * d;
      }
      v /= static_cast<T>(N);
      const T rs = T(1) / std::sqrt(v + static_cast<T>(eps));
      mean[r] = m;
      rstd[r] = rs;
      if (w && b)
        for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - m) * rs * w[i] + b[i];
      else if (w)
        for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - m) * rs * w[i];
      else if (b)
        for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - m) * rs + b[i];
      else
        for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - m) * rs;
    }
  });
}

// dx (if dx != null) and, if dw / db are given, the sums of dy * xhat and dy over the rows.
template <typename T>
void ln_backward(const T* dy, const T* x, const T* w, const T* mean, const T* rstd, T* dx, T* dw, T* db, int64_t M,
                 int64_t N) {
  const bool params = dw || db;
  // Fixed row blocks (independent of the thread count); each has its own dw / db partial buffer.
  int64_t nblk = 1;
  if (params) nblk = std::max<int64_t>(1, std::min<int64_t>({M, 32, (int64_t{1} << 22) / std::max<int64_t>(N, 1)}));
  const int64_t rows_per = (M + nblk - 1) / std::max<int64_t>(nblk, 1);
  std::vector<T> pw(params ? static_cast<size_t>(nblk * N) : 0, T(0)), pb(params ? static_cast<size_t>(nblk * N) : 0, T(0));
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(rows_per * N, 1));
  auto do_rows = [&](int64_t r0, int64_t r1, T* pwb, T* pbb) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* dyr = dy + r * N;
      const T* xr = x + r * N;
      const T m = mean[r], rs = rstd[r];
      if (dx) {
        T a = 0, c = 0;  // sum(dxhat), sum(dxhat * xhat)
        for (int64_t i = 0; i < N; ++i) {
          const T xh = (xr[i] - m) * rs;
          const T dxh = w ? dyr[i] * w[i] : dyr[i];
          a += dxh;
          c += dxh * xh;
        }
        a /= static_cast<T>(N);
        c /= static_cast<T>(N);
        T* dxr = dx + r * N;
        for (int64_t i = 0; i < N; ++i) {
          const T xh = (xr[i] - m) * rs;
          const T dxh = w ? dyr[i] * w[i] : dyr[i];
          dxr[i] = rs * (dxh - a - xh * c);
        }
      }
      if (pwb)
        for (int64_t i = 0; i < N; ++i) pwb[i] += dyr[i] * (xr[i] - m) * rs;
      if (pbb)
        for (int64_t i = 0; i < N; ++i) pbb[i] += dyr[i];
    }
  };
  if (!params) {
    parallel_for(M, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(N, 1)),
                 [&](int64_t r0, int64_t r1) { do_rows(r0, r1, nullptr, nullptr); });
    return;
  }
  parallel_for(nblk, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t k = b0; k < b1; ++k)
      do_rows(k * rows_per, std::min(M, (k + 1) * rows_per), dw ? pw.data() + k * N : nullptr,
              db ? pb.data() + k * N : nullptr);
  });
  if (dw) std::fill(dw, dw + N, T(0));
  if (db) std::fill(db, db + N, T(0));
  for (int64_t k = 0; k < nblk; ++k) {
    if (dw)
      for (int64_t i = 0; i < N; ++i) dw[i] += pw[k * N + i];
    if (db)
      for (int64_t i = 0; i < N; ++i) db[i] += pb[k * N + i];
  }
}

}  // namespace

Tensor layer_norm(const Tensor& x_in, const Shape& normalized_shape, const Tensor& weight_in, const Tensor& bias_in,
                  double eps) {
  const char* op = "layer_norm";
  BPX_CHECK(x_in.defined(), ValueError, op, ": got an undefined tensor");
  BPX_CHECK(is_floating(x_in.dtype()), TypeError, op, ": expected a float32 or float64 input, got ",
            dtype_name(x_in.dtype()));
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  BPX_CHECK(k >= 1, ValueError, op, ": normalized_shape must have at least 1 dim, got ", shape_str(normalized_shape));
  bool match = x_in.dim() >= k;
  for (int64_t i = 0; match && i < k; ++i) match = x_in.shape()[x_in.dim() - k + i] == normalized_shape[i];
  BPX_CHECK(match, ValueError, op, ": given normalized_shape=", shape_str(normalized_shape),
            ", expected input with shape [*, ", shape_str(normalized_shape).substr(1), ", but got input of shape ",
            shape_str(x_in.shape()));
  for (const Tensor* p : {&weight_in, &bias_in}) {
    if (!p->defined()) continue;
    const char* pname = p == &weight_in ? "weight" : "bias";
    BPX_CHECK(is_floating(p->dtype()), TypeError, op, ": ", pname, " must be a float tensor, got ", dtype_name(p->dtype()));
    BPX_CHECK(p->shape() == normalized_shape, ValueError, op, ": ", pname, " of shape ", shape_str(p->shape()),
              " does not match normalized_shape ", shape_str(normalized_shape));
  }
  BPX_CHECK(eps >= 0.0, ValueError, op, ": eps must be non-negative, got ", eps);

  const DType dt = x_in.dtype();
  int64_t N = 1, M = 1;
  for (int64_t i = 0; i < x_in.dim(); ++i) (i < x_in.dim() - k ? M : N) *= x_in.shape()[i];
  Tensor x = x_in.detach().contiguous();
  auto conv = [dt](const Tensor& t) {
    if (!t.defined()) return Tensor();
    Tensor d = t.detach();
    return (d.dtype() == dt ? d : d.to(dt)).contiguous();
  };
  Tensor w = conv(weight_in), b = conv(bias_in);
  Tensor out = Tensor::empty(x.shape(), dt);
  Tensor mean = Tensor::empty({M}, dt), rstd = Tensor::empty({M}, dt);
  dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    ln_forward<T>(x.data<T>(), w.defined() ? w.data<T>() : nullptr, b.defined() ? b.data<T>() : nullptr,
                  out.data<T>(), mean.data<T>(), rstd.data<T>(), M, N, eps);
  });

  if (any_requires_grad({&x_in, &weight_in, &bias_in})) {
    const bool has_w = w.defined();
    const DType wdt = has_w ? weight_in.dtype() : dt, bdt = bias_in.defined() ? bias_in.dtype() : dt;
    Shape xshape = x.shape(), nshape = normalized_shape;
    auto node = record("LayerNormBackward", {x_in, weight_in, bias_in}, {out}, [=](const TensorList& g, FunctionNode& nd) {
      const bool need_x = nd.next_edges[0].fn != nullptr;
      const bool need_w = nd.next_edges[1].fn != nullptr, need_b = nd.next_edges[2].fn != nullptr;
      Tensor xs = nd.saved(0), ms = nd.saved(1), rs = nd.saved(2);
      Tensor ws = has_w ? nd.saved(3) : Tensor();
      Tensor dy = (g[0].dtype() == dt ? g[0] : g[0].to(dt)).contiguous();
      Tensor dx = need_x ? Tensor::empty(xshape, dt) : Tensor();
      Tensor dw = need_w ? Tensor::empty(nshape, dt) : Tensor();
      Tensor db = need_b ? Tensor::empty(nshape, dt) : Tensor();
      dispatch_float(dt, op, [&](auto tag) {
        using T = decltype(tag);
        ln_backward<T>(dy.data<T>(), xs.data<T>(), has_w ? ws.data<T>() : nullptr, ms.data<T>(), rs.data<T>(),
                       need_x ? dx.data<T>() : nullptr, need_w ? dw.data<T>() : nullptr,
                       need_b ? db.data<T>() : nullptr, M, N);
      });
      if (dw.defined() && dw.dtype() != wdt) dw = dw.to(wdt);
      if (db.defined() && db.dtype() != bdt) db = db.to(bdt);
      return TensorList{dx, dw, db};
    });
    node->save(x);
    node->save(mean);
    node->save(rstd);
    if (has_w) node->save(w);
  }
  return out;
}

}  // namespace backpropx
