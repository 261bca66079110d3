// Reductions: sum, mean, var/std, logsumexp, amax/amin, max/min with indices, argmax/argmin.
// Multi-dim reductions move the reduced dims last and reduce contiguous rows: x -> [outer, inner].
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, as torch
  BPX_CHECK(dim >= -n && dim < n, IndexError, op, ": dimension out of range (expected to be in range of [", -n,
            ", ", n - 1, "], but got ", dim, ")");
  return dim < 0 ? dim + n : dim;
}

namespace {

struct ReducePlan {
  Tensor rows;       // [outer, inner] contiguous, inner = the reduced elements
  int64_t outer = 1, inner = 1;
  Shape out_shape;   // result shape (keepdim or not)
  Shape keep_shape;  // result shape with reduced dims kept as 1
  std::vector<bool> reduced;
  std::vector<int64_t> perm;  // kept dims, then reduced dims: x permuted by it gives rows
};

ReducePlan plan_reduce(const Tensor& x, const Dims& dims_in, bool keepdim, const char* op, bool materialize = true) {
  const int64_t nd = x.dim();
  ReducePlan p;
  p.reduced.assign(nd, dims_in.empty());
  for (int64_t d : dims_in) {
    int64_t w = wrap_dim(d, nd, op);
    if (nd == 0) continue;
    BPX_CHECK(!p.reduced[w], ValueError, op, ": dim ", w, " appears multiple times in the list of dims");
    p.reduced[w] = true;
  }
  std::vector<int64_t>& perm = p.perm;
  for (int64_t d = 0; d < nd; ++d)
    if (!p.reduced[d]) perm.push_back(d);
  for (int64_t d = 0; d < nd; ++d)
    if (p.reduced[d]) perm.push_back(d);
  for (int64_t d = 0; d < nd; ++d) {
    if (p.reduced[d]) {
      p.inner *= x.shape()[d];
      p.keep_shape.push_back(1);
      if (keepdim) p.out_shape.push_back(1);
    } else {
      p.outer *= x.shape()[d];
      p.keep_shape.push_back(x.shape()[d]);
      p.out_shape.push_back(x.shape()[d]);
    }
  }
  if (!materialize) return p;
  Tensor moved = nd ? permute(x.detach(), perm) : x.detach();
  p.rows = moved.contiguous();
  return p;
}

// A contiguous x whose reduced dims are one block [outer, red, inner] with inner > 1 (mean over the
// sequence of [B, S, D], a bias gradient summed over the batch): summed row by row in place, with no
// permuted copy. Each output element is summed by one thread in a fixed order (same result for any
// thread count), in blocks of 128 rows added to a running total (a short cascade: the error grows with
// 128 + red / 128, not red).
bool middle_block(const Tensor& x, const std::vector<bool>& reduced, int64_t& outer, int64_t& red, int64_t& inner) {
  if (!x.is_contiguous() || x.dim() == 0) return false;
  int64_t first = -1, last = -1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (reduced[d] && x.shape()[d] != 1) {
      if (first < 0) first = d;
      last = d;
    }
  if (first < 0) return false;
  outer = red = inner = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    const int64_t n = x.shape()[d];
    if (d < first) outer *= n;
    else if (d > last) inner *= n;
    else if (!reduced[d] && n != 1) return false;  // a kept dim inside the block
    else red *= n;
  }
  return inner > 1;
}

template <typename T>
Tensor sum_middle(const Tensor& x, int64_t outer, int64_t red, int64_t inner, const Shape& out_shape, T scale) {
  constexpr int64_t kRowBlock = 128, kChunk = 1024;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  parallel_for(outer * chunks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(red * std::min(inner, kChunk), 1)),
               [&](int64_t u0, int64_t u1) {
    T part[kChunk];
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / chunks, i0 = (u % chunks) * kChunk, n = std::min(kChunk, inner - i0);
      T* total = op + o * inner + i0;
      std::fill(total, total + n, T(0));
      for (int64_t r0 = 0; r0 < red; r0 += kRowBlock) {
        std::fill(part, part + n, T(0));
        for (int64_t r = r0; r < std::min(red, r0 + kRowBlock); ++r) {
          const T* row = xp + (o * red + r) * inner + i0;
          for (int64_t i = 0; i < n; ++i) part[i] += row[i];
        }
        for (int64_t i = 0; i < n; ++i) total[i] += part[i];
      }
      if (scale != T(1))
        for (int64_t i = 0; i < n; ++i) total[i] *= scale;
    }
  });
  return out;
}

// out[o] = f(row o of length inner) for every outer row, threads over rows.
template <typename T, typename R, typename F>
Tensor reduce_rows(const ReducePlan& p, DType out_dtype, F&& f) {
  Tensor out = Tensor::empty(p.out_shape, out_dtype);
  const T* xp = p.rows.data<T>();
  R* op = out.data<R>();
  parallel_for(p.outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(p.inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) op[o] = f(xp + o * p.inner, p.inner);
  });
  return out;
}

template <typename T>
T row_sum(const T* x, int64_t n) {
  return Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x, n).sum();
}

// The gradient of a reduction seen at every input element: g reshaped to keep_shape, broadcast to x.
Tensor expand_back(const Tensor& g, const Shape& keep_shape, const Shape& x_shape) {
  return expand(reshape(g, keep_shape), x_shape);
}

}  // namespace

// ---- sum / mean -----------------------------------------------------------------------------------

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  ReducePlan p = plan_reduce(x, dims, keepdim, "sum", false);
  DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
  int64_t outer, red, inner;
  Tensor out;
  if (is_floating(x.dtype()) && middle_block(x, p.reduced, outer, red, inner)) {
    out = dispatch_float(out_dtype, "sum", [&](auto tag) {
      using T = decltype(tag);
      return sum_middle<T>(x.detach(), outer, red, inner, p.out_shape, T(1));
    });
  } else {
    p = plan_reduce(x, dims, keepdim, "sum");
    Tensor rows_typed = p.rows.dtype() == out_dtype ? p.rows : p.rows.to(out_dtype);
    p.rows = rows_typed;
    out = dispatch_numeric(out_dtype, "sum", [&](auto tag) {
      using T = decltype(tag);
      return reduce_rows<T, T>(p, out_dtype, [](const T* r, int64_t n) { return row_sum(r, n); });
    });
  }
  if (any_requires_grad({&x})) {
    Shape keep = p.keep_shape, xs = x.shape();
    record("SumBackward", {x}, {out}, [keep, xs](const TensorList& g, FunctionNode&) {
      return TensorList{expand_back(g[0], keep, xs)};
    });
  }
  return out;
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  BPX_CHECK(is_floating(x.dtype()), TypeError, "mean: expected a float32 or float64 tensor, got ",
            dtype_name(x.dtype()));
  ReducePlan p = plan_reduce(x, dims, keepdim, "mean", false);
  int64_t outer, red, inner;
  Tensor out;
  if (middle_block(x, p.reduced, outer, red, inner)) {
    out = dispatch_float(x.dtype(), "mean", [&](auto tag) {
      using T = decltype(tag);
      return sum_middle<T>(x.detach(), outer, red, inner, p.out_shape, T(1) / static_cast<T>(red));
    });
  } else {
    p = plan_reduce(x, dims, keepdim, "mean");
    out = dispatch_float(x.dtype(), "mean", [&](auto tag) {
      using T = decltype(tag);
      return reduce_rows<T, T>(p, x.dtype(), [](const T* r, int64_t n) { return row_sum(r, n) / static_cast<T>(n); });
    });
  }
  if (any_requires_grad({&x})) {
    Shape keep = p.keep_shape, xs = x.shape();
    double scale = 1.0 / static_cast<double>(std::max<int64_t>(p.inner, 1));
    record("MeanBackward", {x}, {out}, [keep, xs, scale](const TensorList& g, FunctionNode&) {
      return TensorList{expand_back(mul(g[0], scalar_tensor(scale, g[0].dtype())), keep, xs)};
    });
  }
  return out;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  Dims dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) dims.push_back(d);
  if (dims.empty()) return reshape(g, shape);
  return reshape(sum(g, dims, true), shape);
}

// ---- var / std ------------------------------------------------------------------------------------

Tensor var(const Tensor& x, const Dims& dims, double correction, bool keepdim) {
  ReducePlan p = plan_reduce(x, dims, keepdim, "var");
  double denom = static_cast<double>(p.inner) - correction;
  Tensor out = dispatch_float(x.dtype(), "var", [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(p, x.dtype(), [denom](const T* r, int64_t n) {
      auto a = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(r, n);
      T m = a.sum() / static_cast<T>(n);
      T ss = (a - m).square().sum();
      return denom > 0 ? ss / static_cast<T>(denom) : std::numeric_limits<T>::quiet_NaN();
    });
  });
  if (any_requires_grad({&x})) {
    Shape keep = p.keep_shape, xs = x.shape();
    Dims rd;
    for (int64_t d = 0; d < x.dim(); ++d)
      if (p.reduced[d]) rd.push_back(d);
    auto node = record("VarBackward", {x}, {out}, [keep, xs, rd, denom](const TensorList& g, FunctionNode& n) {
      // d var / dx_i = 2 (x_i - mean) / (N - correction)
      Tensor xv = n.saved(0);
      Tensor centered = sub(xv, mean(xv, rd, true));
      Tensor scale = mul(reshape(g[0], keep), scalar_tensor(2.0 / denom, g[0].dtype()));
      return TensorList{mul(centered, scale)};
    });
    node->save(x);
  }
  return out;
}

Tensor std(const Tensor& x, const Dims& dims, double correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}

// ---- logsumexp ------------------------------------------------------------------------------------

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  ReducePlan p = plan_reduce(x, dims, keepdim, "logsumexp");
  Tensor out = dispatch_float(x.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(p, x.dtype(), [](const T* r, int64_t n) {
      if (n == 0) return -std::numeric_limits<T>::infinity();
      auto a = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(r, n);
      T m = a.maxCoeff();
      if (!std::isfinite(m)) return m;
      return m + std::log((a - m).exp().sum());
    });
  });
  if (any_requires_grad({&x})) {
    Shape keep = p.keep_shape;
    auto node = record("LogsumexpBackward", {x}, {out}, [keep](const TensorList& g, FunctionNode& n) {
      // d lse / dx_i = exp(x_i - lse) = softmax_i
      Tensor xv = n.saved(0), o = reshape(n.saved(1), keep);
      return TensorList{mul(exp(sub(xv, o)), reshape(g[0], keep))};
    });
    node->save(x);
    node->save(out);
  }
  return out;
}

// ---- amax / amin / max / min ----------------------------------------------------------------------

static Tensor extreme(const Tensor& x, const Dims& dims, bool keepdim, bool is_max) {
  const char* op = is_max ? "amax" : "amin";
  BPX_CHECK(x.numel() > 0, ValueError, op, ": cannot reduce an empty tensor (shape ", shape_str(x.shape()), ")");
  ReducePlan p = plan_reduce(x, dims, keepdim, op);
  BPX_CHECK(p.inner > 0, ValueError, op, ": cannot reduce over a zero-size dim (shape ", shape_str(x.shape()), ")");
  Tensor out = dispatch_numeric(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(p, x.dtype(), [is_max](const T* r, int64_t n) {
      T best = r[0];
      for (int64_t i = 1; i < n; ++i) best = is_max ? std::max(best, r[i]) : std::min(best, r[i]);
      return best;
    });
  });
  if (any_requires_grad({&x})) {
    // One pass per row of the [outer, inner] layout: the gradient is shared evenly among the elements
    // equal to the extreme value (count 0, a NaN extreme: 0 * (g / 0), NaN, as the unfused formula).
    Shape moved_shape, x_shape = x.shape();
    const std::vector<int64_t> perm = p.perm;
    std::vector<int64_t> inverse(x.dim());
    for (size_t i = 0; i < perm.size(); ++i) {
      moved_shape.push_back(x_shape[perm[i]]);
      inverse[perm[i]] = static_cast<int64_t>(i);
    }
    const int64_t outer = p.outer, inner = p.inner;
    auto node = record(is_max ? "AmaxBackward" : "AminBackward", {x}, {out},
                       [=](const TensorList& g, FunctionNode& n) {
      const Tensor xs = n.saved(0);  // x itself (its version catches an in-place change); rows rebuilt here
      const Tensor rows = x_shape.empty() ? xs.contiguous() : permute(xs, perm).contiguous();
      const Tensor best = n.saved(1).contiguous(), go = g[0].contiguous();
      Tensor gx = Tensor::empty(moved_shape, rows.dtype());
      dispatch_float(rows.dtype(), is_max ? "amax" : "amin", [&](auto tag) {
        using T = decltype(tag);
        const T *xp = rows.data<T>(), *bp = best.data<T>(), *gp = go.data<T>();
        T* dp = gx.data<T>();
        parallel_for(outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o) {
            const T* r = xp + o * inner;
            T* d = dp + o * inner;
            const T best_o = bp[o];
            T count = 0;  // a float count (exact below 2^24 elements): the compare-and-add vectorises
            if (inner < (int64_t(1) << 24)) {
              for (int64_t i = 0; i < inner; ++i) count += r[i] == best_o ? T(1) : T(0);
            } else {
              int64_t n_hits = 0;
              for (int64_t i = 0; i < inner; ++i) n_hits += r[i] == best_o;
              count = static_cast<T>(n_hits);
            }
            const T share = gp[o] / count, miss = T(0) * share;
            for (int64_t i = 0; i < inner; ++i) d[i] = r[i] == best_o ? share : miss;
          }
        });
      });
      if (x_shape.empty()) return TensorList{reshape(gx, x_shape)};
      return TensorList{permute(gx, inverse).contiguous()};
    });
    node->save(x);
    node->save(out);
  }
  return out;
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return extreme(x, dims, keepdim, true); }
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) { return extreme(x, dims, keepdim, false); }
Tensor max(const Tensor& x) { return extreme(x, {}, false, true); }
Tensor min(const Tensor& x) { return extreme(x, {}, false, false); }

namespace {

// x viewed as [outer, n, inner] (contiguous) with the reduced dim in the middle.
struct DimView {
  Tensor x;
  int64_t outer = 1, n = 1, inner = 1;
  Shape out_shape;
};

DimView dim_view(const Tensor& x_in, int64_t dim, bool keepdim, const char* op) {
  DimView v;
  int64_t d = wrap_dim(dim, x_in.dim(), op);
  v.x = x_in.contiguous();
  for (int64_t i = 0; i < x_in.dim(); ++i) {
    int64_t s = x_in.shape()[i];
    if (i < d) v.outer *= s;
    else if (i == d) v.n = s;
    else v.inner *= s;
    if (i != d || keepdim) v.out_shape.push_back(i == d ? 1 : s);
  }
  BPX_CHECK(v.n > 0, ValueError, op, ": cannot reduce over a zero-size dim (shape ", shape_str(x_in.shape()), ")");
  return v;
}

// indices[o, i] = position of the extreme along the middle dim (first occurrence).
template <typename T>
void arg_extreme(const DimView& v, bool is_max, int64_t* idx, T* val) {
  const T* xp = v.x.data<T>();
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      const T* base = xp + o * v.n * v.inner + i;
      int64_t best = 0;
      T bv = base[0];
      for (int64_t k = 1; k < v.n; ++k) {
        T c = base[k * v.inner];
        if (is_max ? (c > bv || (std::isnan(static_cast<double>(c)) && !std::isnan(static_cast<double>(bv))))
                   : (c < bv || (std::isnan(static_cast<double>(c)) && !std::isnan(static_cast<double>(bv))))) {
          bv = c;
          best = k;
        }
      }
      idx[o * v.inner + i] = best;
      if (val) val[o * v.inner + i] = bv;
    }
}

std::pair<Tensor, Tensor> max_min_dim(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  DimView v = dim_view(x, dim, keepdim, op);
  Tensor values = Tensor::empty(v.out_shape, x.dtype());
  Tensor indices = Tensor::empty(v.out_shape, DType::Int64);
  dispatch_numeric(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    arg_extreme<T>(v, is_max, indices.data<int64_t>(), values.data<T>());
  });
  if (any_requires_grad({&x})) {
    Shape xs = x.shape();
    int64_t outer = v.outer, n = v.n, inner = v.inner;
    auto node = record(is_max ? "MaxBackward" : "MinBackward", {x}, {values},
                       [xs, outer, n, inner](const TensorList& g, FunctionNode& node) {
      Tensor idx = node.saved(0);
      Tensor gc = g[0].contiguous();
      Tensor gx = zeros(xs, gc.dtype());
      dispatch_float(gc.dtype(), "max", [&](auto tag) {
        using T = decltype(tag);
        const T* gp = gc.data<T>();
        const int64_t* ip = idx.data<int64_t>();
        T* xp = gx.data<T>();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i)
            xp[o * n * inner + ip[o * inner + i] * inner + i] += gp[o * inner + i];
      });
      return TensorList{gx};
    });
    node->save(indices);
  }
  return {values, indices};
}

Tensor arg_dim(const Tensor& x, std::optional<int64_t> dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  BPX_CHECK(x.numel() > 0, ValueError, op, ": cannot reduce an empty tensor");
  if (!dim) {
    Tensor flat = reshape(x.detach(), {x.numel()});
    Tensor r = arg_dim(flat, 0, false, is_max);
    return keepdim ? reshape(r, Shape(x.dim(), 1)) : r;
  }
  DimView v = dim_view(x, *dim, keepdim, op);
  Tensor indices = Tensor::empty(v.out_shape, DType::Int64);
  dispatch_numeric(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    arg_extreme<T>(v, is_max, indices.data<int64_t>(), static_cast<T*>(nullptr));
  });
  return indices;
}

}  // namespace

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return max_min_dim(x, dim, keepdim, true); }
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return max_min_dim(x, dim, keepdim, false); }
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_dim(x, dim, keepdim, true); }
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_dim(x, dim, keepdim, false); }

}  // namespace backpropx
