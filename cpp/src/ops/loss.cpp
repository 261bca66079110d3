// Losses, forward and fused backward side by side: cross_entropy (from logits, one stable log-sum-exp
// pass per row), nll_loss, mse_loss, binary_cross_entropy_with_logits.
//
// Class-index losses see the input as [N, C, inner] (inner = d1 * d2 * ..., 1 for [N, C]; [C] is N = 1)
// and the target as N * inner rows. Reductions follow torch: 'mean' divides by the sum of the target
// classes' weights over the rows that are not ignore_index (the row count without weights), so an
// all-ignored batch gives nan. Targets are checked serially before any parallel kernel runs.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"
#include "simd_kernels.h"

namespace backpropx {

Reduction parse_reduction(const std::string& s, const char* op) {
  if (s == "mean") return Reduction::Mean;
  if (s == "sum") return Reduction::Sum;
  if (s == "none") return Reduction::None;
  throw ValueError(cat(op, ": reduction must be 'none', 'mean' or 'sum', got '", s, "'"));
}

namespace {

// Sum of f(b, e) over fixed blocks of [0, n): the order of the additions does not depend on the
// number of threads, so results are bitwise repeatable.
template <typename F>
double blocked_sum(int64_t n, F&& f) {
  constexpr int64_t kB = 4096;
  const int64_t nb = (n + kB - 1) / kB;
  std::vector<double> part(static_cast<size_t>(nb), 0.0);
  parallel_for(nb, std::max<int64_t>(1, kParallelGrain / kB), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) part[k] = f(k * kB, std::min(n, (k + 1) * kB));
  });
  double s = 0;
  for (double v : part) s += v;
  return s;
}

template <typename T>
Tensor scalar_of(double v) {
  Tensor t = Tensor::empty({}, dtype_of<T>::value);
  *t.data<T>() = static_cast<T>(v);
  return t;
}

// A float tensor detached and converted to dtype (no copy when it already has that dtype).
Tensor as_dtype(const Tensor& t, DType dt) { return t.dtype() == dt ? t.detach() : t.detach().to(dt); }

// The gradient g (shape of the loss output) turned into a per-row/per-element scale.
struct GradScale {
  Tensor per_elem;    // reduction 'none': contiguous, dtype T
  double scalar = 0;  // 'mean' / 'sum': g / denominator
};

GradScale grad_scale(const Tensor& g, Reduction red, double denom, DType dt) {
  GradScale s;
  if (red == Reduction::None) {
    s.per_elem = (g.dtype() == dt ? g : g.to(dt)).contiguous();
  } else {
    s.scalar = g.item();
    if (red == Reduction::Mean) s.scalar /= denom;
  }
  return s;
}

// ---- class-index losses: shared checks -------------------------------------------------------------

struct ClassLayout {
  int64_t N = 1, C = 1, inner = 1;
  int64_t rows() const { return N * inner; }
};

ClassLayout check_class_inputs(const Tensor& input, const Tensor& target, const Tensor& weight, const char* op) {
  BPX_CHECK(input.defined() && target.defined(), ValueError, op, ": got an undefined tensor");
  BPX_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a float32 or float64 input, got ",
            dtype_name(input.dtype()), " of shape ", shape_str(input.shape()));
  BPX_CHECK(!is_floating(target.dtype()), TypeError, op, ": target has dtype ", dtype_name(target.dtype()),
            " (shape ", shape_str(target.shape()), "); only class-index targets (int64 class ids) are supported, "
            "not class probabilities");
  BPX_CHECK(target.dtype() == DType::Int64, TypeError, op, ": expected int64 class-index targets, got ",
            dtype_name(target.dtype()), " of shape ", shape_str(target.shape()));
  BPX_CHECK(input.dim() >= 1, ValueError, op, ": input must have at least 1 dim ([C], [N, C] or [N, C, d1, ...]), got shape ",
            shape_str(input.shape()));
  ClassLayout L;
  Shape expected;
  if (input.dim() == 1) {
    L.C = input.shape()[0];
  } else {
    L.N = input.shape()[0];
    L.C = input.shape()[1];
    expected.push_back(L.N);
    for (int64_t d = 2; d < input.dim(); ++d) {
      L.inner *= input.shape()[d];
      expected.push_back(input.shape()[d]);
    }
  }
  BPX_CHECK(target.shape() == expected, ValueError, op, ": expected target of shape ", shape_str(expected),
            " for input of shape ", shape_str(input.shape()), ", got target of shape ", shape_str(target.shape()));
  BPX_CHECK(L.C > 0, ValueError, op, ": input of shape ", shape_str(input.shape()), " has 0 classes");
  if (weight.defined()) {
    BPX_CHECK(is_floating(weight.dtype()), TypeError, op, ": expected a float class weight, got ",
              dtype_name(weight.dtype()));
    BPX_CHECK(weight.dim() == 1 && weight.shape()[0] == L.C, ValueError, op,
              ": weight should be a 1-D tensor of size C = ", L.C, " (input of shape ", shape_str(input.shape()),
              "), got shape ", shape_str(weight.shape()));
  }
  return L;
}

// Checks every target (serially) and returns the 'mean' denominator: the sum of the target classes'
// weights (or the count) over the non-ignored rows.
template <typename T>
double check_targets(const int64_t* tp, const T* wp, const ClassLayout& L, int64_t ignore_index,
                     const Tensor& input, const char* op) {
  double denom = 0;
  for (int64_t r = 0, R = L.rows(); r < R; ++r) {
    const int64_t t = tp[r];
    if (t == ignore_index) continue;
    BPX_CHECK(t >= 0 && t < L.C, IndexError, op, ": target ", t, " is out of range for ", L.C,
              " classes (input of shape ", shape_str(input.shape()), "; valid targets are 0..", L.C - 1,
              " or ignore_index=", ignore_index, ")");
    denom += wp ? static_cast<double>(wp[t]) : 1.0;
  }
  return denom;
}

// Loss output from the per-row losses.
template <typename T>
Tensor reduce_rows_loss(const std::vector<T>& row_loss, const Shape& target_shape, Reduction red, double denom) {
  const int64_t R = static_cast<int64_t>(row_loss.size());
  if (red == Reduction::None) {
    Tensor out = Tensor::empty(target_shape, dtype_of<T>::value);
    std::copy(row_loss.begin(), row_loss.end(), out.data<T>());
    return out;
  }
  double total = blocked_sum(R, [&](int64_t b, int64_t e) {
    double s = 0;
    for (int64_t r = b; r < e; ++r) s += static_cast<double>(row_loss[r]);
    return s;
  });
  return scalar_of<T>(red == Reduction::Mean ? total / denom : total);
}

}  // namespace

// ---- cross_entropy ----------------------------------------------------------------------------------

Tensor cross_entropy(const Tensor& input, const Tensor& target_in, const Tensor& weight_in, int64_t ignore_index,
                     Reduction red, double eps) {
  const char* op = "cross_entropy";
  ClassLayout L = check_class_inputs(input, target_in, weight_in, op);
  BPX_CHECK(eps >= 0.0 && eps <= 1.0, ValueError, op, ": label_smoothing must be between 0.0 and 1.0, got ", eps);
  const DType dt = input.dtype();
  Tensor x = input.detach().contiguous();
  Tensor target = target_in.detach().contiguous();
  Tensor weight = weight_in.defined() ? as_dtype(weight_in, dt).contiguous() : Tensor();
  const int64_t C = L.C, inner = L.inner, R = L.rows();

  Tensor lse = Tensor::empty({R}, dt);  // saved for backward: p = exp(x - lse)
  double denom = 0;
  Tensor out = dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    const int64_t* tp = target.data<int64_t>();
    const T* wp = weight.defined() ? weight.data<T>() : nullptr;
    T* lp = lse.data<T>();
    denom = check_targets<T>(tp, wp, L, ignore_index, input, op);
    const T e = static_cast<T>(eps), invC = T(1) / static_cast<T>(C);
    std::vector<T> row_loss(static_cast<size_t>(R));
    parallel_for(R, std::max<int64_t>(1, kParallelGrain / C), [&](int64_t b, int64_t end) {
      for (int64_t r = b; r < end; ++r) {
        const T* xr = xp + (r / inner) * C * inner + (r % inner);  // class c at xr[c * inner]
        T l;  // log-sum-exp of the row
        if (inner == 1) {  // contiguous row: this CPU's SIMD kernel (AVX-512 exp where it has it)
          l = simd_kernels::logsumexp<T>(xr, C);
        } else {
          T m = -std::numeric_limits<T>::infinity();
          for (int64_t c = 0; c < C; ++c) m = std::max(m, xr[c * inner]);
          T s = 0;
          for (int64_t c = 0; c < C; ++c) s += std::exp(xr[c * inner] - m);
          l = m + std::log(s);
        }
        lp[r] = l;
        const int64_t t = tp[r];
        if (t == ignore_index) {
          row_loss[r] = 0;
          continue;
        }
        const T wt = wp ? wp[t] : T(1);
        T loss = wt * (l - xr[t * inner]);
        if (eps > 0) {
          T smooth = 0;  // sum_c w_c (-log p_c)
          if (inner == 1) {
            Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> row(xr, C);
            if (wp)
              smooth = (Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(wp, C) * (l - row)).sum();
            else
              smooth = (l - row).sum();
          } else if (wp) {
            for (int64_t c = 0; c < C; ++c) smooth += wp[c] * (l - xr[c * inner]);
          } else {
            for (int64_t c = 0; c < C; ++c) smooth += l - xr[c * inner];
          }
          loss = (T(1) - e) * loss + e * smooth * invC;
        }
        row_loss[r] = loss;
      }
    });
    return reduce_rows_loss<T>(row_loss, target.shape(), red, denom);
  });

  if (any_requires_grad({&input})) {
    const bool has_w = weight.defined();
    auto node = record("CrossEntropyBackward", {input}, {out}, [=](const TensorList& g, FunctionNode& nd) {
      Tensor xs = nd.saved(0), ls = nd.saved(1), ts = nd.saved(2);
      Tensor ws = has_w ? nd.saved(3) : Tensor();
      GradScale gs = grad_scale(g[0], red, denom, dt);
      Tensor dx = Tensor::empty(xs.shape(), dt);
      dispatch_float(dt, op, [&](auto tag) {
        using T = decltype(tag);
        const T* xp = xs.data<T>();
        const T* lp = ls.data<T>();
        const int64_t* tp = ts.data<int64_t>();
        const T* wp = has_w ? ws.data<T>() : nullptr;
        const T* sp = gs.per_elem.defined() ? gs.per_elem.data<T>() : nullptr;
        T* dp = dx.data<T>();
        const T e = static_cast<T>(eps), invC = T(1) / static_cast<T>(C);
        T wtotal = static_cast<T>(C);  // sum_c w_c
        if (wp) {
          wtotal = 0;
          for (int64_t c = 0; c < C; ++c) wtotal += wp[c];
        }
        parallel_for(R, std::max<int64_t>(1, kParallelGrain / C), [&](int64_t b, int64_t end) {
          for (int64_t r = b; r < end; ++r) {
            const int64_t off = (r / inner) * C * inner + (r % inner);
            const T* xr = xp + off;
            T* dr = dp + off;
            const int64_t t = tp[r];
            const T scale = sp ? sp[r] : static_cast<T>(gs.scalar);
            if (t == ignore_index) {
              for (int64_t c = 0; c < C; ++c) dr[c * inner] = 0;
              continue;
            }
            // d/dx_c = scale * [(1-e) w_t (p_c - [c == t]) + e/C (W p_c - w_c)],  W = sum_k w_k
            const T wt = wp ? wp[t] : T(1);
            const T coef_p = scale * ((T(1) - e) * wt + e * wtotal * invC);
            const T l = lp[r];
            const T sm = scale * e * invC;
            if (inner == 1) {  // contiguous row: this CPU's SIMD kernel
              simd_kernels::softmax_row<T>(xr, C, l, coef_p, e > 0 ? sm : T(0), e > 0 ? wp : nullptr, dr);
            } else if (e > 0) {
              for (int64_t c = 0; c < C; ++c)
                dr[c * inner] = coef_p * std::exp(xr[c * inner] - l) - sm * (wp ? wp[c] : T(1));
            } else {
              for (int64_t c = 0; c < C; ++c) dr[c * inner] = coef_p * std::exp(xr[c * inner] - l);
            }
            dr[t * inner] -= scale * (T(1) - e) * wt;
          }
        });
      });
      return TensorList{dx};
    });
    node->save(x);
    node->save(lse);
    node->save(target);
    if (has_w) node->save(weight);
  }
  return out;
}

// ---- nll_loss ---------------------------------------------------------------------------------------

Tensor nll_loss(const Tensor& input, const Tensor& target_in, const Tensor& weight_in, int64_t ignore_index,
                Reduction red) {
  const char* op = "nll_loss";
  ClassLayout L = check_class_inputs(input, target_in, weight_in, op);
  const DType dt = input.dtype();
  Tensor x = input.detach().contiguous();
  Tensor target = target_in.detach().contiguous();
  Tensor weight = weight_in.defined() ? as_dtype(weight_in, dt).contiguous() : Tensor();
  const int64_t C = L.C, inner = L.inner, R = L.rows();
  double denom = 0;
  Tensor out = dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    const int64_t* tp = target.data<int64_t>();
    const T* wp = weight.defined() ? weight.data<T>() : nullptr;
    denom = check_targets<T>(tp, wp, L, ignore_index, input, op);
    std::vector<T> row_loss(static_cast<size_t>(R));
    parallel_for(R, kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t t = tp[r];
        if (t == ignore_index) {
          row_loss[r] = 0;
          continue;
        }
        row_loss[r] = -(wp ? wp[t] : T(1)) * xp[(r / inner) * C * inner + t * inner + (r % inner)];
      }
    });
    return reduce_rows_loss<T>(row_loss, target.shape(), red, denom);
  });

  if (any_requires_grad({&input})) {
    const bool has_w = weight.defined();
    Shape xshape = x.shape();
    auto node = record("NllLossBackward", {input}, {out}, [=](const TensorList& g, FunctionNode& nd) {
      Tensor ts = nd.saved(0);
      Tensor ws = has_w ? nd.saved(1) : Tensor();
      GradScale gs = grad_scale(g[0], red, denom, dt);
      Tensor dx = zeros(xshape, dt);
      dispatch_float(dt, op, [&](auto tag) {
        using T = decltype(tag);
        const int64_t* tp = ts.data<int64_t>();
        const T* wp = has_w ? ws.data<T>() : nullptr;
        const T* sp = gs.per_elem.defined() ? gs.per_elem.data<T>() : nullptr;
        T* dp = dx.data<T>();
        parallel_for(R, kParallelGrain, [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r) {
            const int64_t t = tp[r];
            if (t == ignore_index) continue;
            const T scale = sp ? sp[r] : static_cast<T>(gs.scalar);
            dp[(r / inner) * C * inner + t * inner + (r % inner)] = -(wp ? wp[t] : T(1)) * scale;
          }
        });
      });
      return TensorList{dx};
    });
    node->save(target);
    if (has_w) node->save(weight);
  }
  return out;
}

// ---- mse_loss ---------------------------------------------------------------------------------------

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction red) {
  const char* op = "mse_loss";
  BPX_CHECK(input.defined() && target.defined(), ValueError, op, ": got an undefined tensor");
  const DType dt = promote_types(input.dtype(), target.dtype());
  BPX_CHECK(is_floating(dt), TypeError, op, ": expected float tensors, got ", dtype_name(input.dtype()), " and ",
            dtype_name(target.dtype()));
  const Shape shape = broadcast_shapes(input.shape(), target.shape(), op);
  Tensor a0 = as_dtype(input, dt), b0 = as_dtype(target, dt);
  Tensor a = expand(a0, shape).contiguous(), b = expand(b0, shape).contiguous();
  const int64_t n = shape_numel(shape);
  Tensor out = dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    if (red == Reduction::None) {
      Tensor o = Tensor::empty(shape, dt);
      T* op_ = o.data<T>();
      parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) {
          const T d = ap[i] - bp[i];
          op_[i] = d * d;
        }
      });
      return o;
    }
    double total = blocked_sum(n, [&](int64_t s, int64_t e) {
      T acc = 0;
      for (int64_t i = s; i < e; ++i) {
        const T d = ap[i] - bp[i];
        acc += d * d;
      }
      return static_cast<double>(acc);
    });
    return scalar_of<T>(red == Reduction::Mean ? total / static_cast<double>(n) : total);
  });

  if (any_requires_grad({&input, &target})) {
    Shape sa = input.shape(), sb = target.shape();
    DType da = input.dtype(), db = target.dtype();
    auto node = record("MseLossBackward", {input, target}, {out}, [=](const TensorList& g, FunctionNode& nd) {
      const bool need_a = nd.next_edges[0].fn != nullptr, need_b = nd.next_edges[1].fn != nullptr;
      Tensor a = expand(nd.saved(0), shape).contiguous(), b = expand(nd.saved(1), shape).contiguous();
      GradScale gs = grad_scale(g[0], red, static_cast<double>(n), dt);
      Tensor ga = Tensor::empty(shape, dt);  // d loss / d input = 2 (a - b) * scale
      dispatch_float(dt, op, [&](auto tag) {
        using T = decltype(tag);
        const T* ap = a.data<T>();
        const T* bp = b.data<T>();
        const T* sp = gs.per_elem.defined() ? gs.per_elem.data<T>() : nullptr;
        const T s2 = static_cast<T>(2.0 * gs.scalar);
        T* gp = ga.data<T>();
        parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
          if (sp)
            for (int64_t i = s; i < e; ++i) gp[i] = T(2) * sp[i] * (ap[i] - bp[i]);
          else
            for (int64_t i = s; i < e; ++i) gp[i] = s2 * (ap[i] - bp[i]);
        });
      });
      TensorList r(2);
      if (need_a) {
        r[0] = sum_to(ga, sa);
        if (r[0].dtype() != da) r[0] = r[0].to(da);
      }
      if (need_b) {
        r[1] = sum_to(neg(ga), sb);
        if (r[1].dtype() != db) r[1] = r[1].to(db);
      }
      return r;
    });
    node->save(a0);
    node->save(b0);
  }
  return out;
}

// ---- binary_cross_entropy_with_logits ---------------------------------------------------------------
// loss = w * [pw t softplus(-x) + (1 - t) softplus(x)]   (= torch's (1-t) x + (1 + (pw-1) t) softplus(-x),
// without its cancellation for very negative x), softplus(+-x) = log1p(exp(-|x|)) + max(+-x, 0)
// d/dx = w * [(1 - t) sigmoid(x) - pw t sigmoid(-x)]
// d/dt = w * [pw softplus(-x) - softplus(x)]

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        Reduction red, const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  BPX_CHECK(input.defined() && target.defined(), ValueError, op, ": got an undefined tensor");
  BPX_CHECK(is_floating(input.dtype()), TypeError, op, ": expected a float32 or float64 input, got ",
            dtype_name(input.dtype()));
  BPX_CHECK(is_floating(target.dtype()), TypeError, op, ": target must be a float tensor (probabilities in [0, 1]) of "
            "the input's shape, got ", dtype_name(target.dtype()));
  const Shape shape = input.shape();
  BPX_CHECK(target.shape() == shape, ValueError, op, ": target size (", shape_str(target.shape()),
            ") must be the same as input size (", shape_str(shape), ")");
  DType dt = promote_types(input.dtype(), target.dtype());
  for (const Tensor* w : {&weight, &pos_weight}) {
    if (!w->defined()) continue;
    const char* wname = w == &weight ? "weight" : "pos_weight";
    BPX_CHECK(is_floating(w->dtype()), TypeError, op, ": ", wname, " must be a float tensor, got ", dtype_name(w->dtype()));
    bool ok = static_cast<size_t>(w->dim()) <= shape.size();
    for (int64_t i = 0; ok && i < w->dim(); ++i) {
      int64_t have = w->shape()[w->dim() - 1 - i], want = shape[shape.size() - 1 - i];
      ok = have == want || have == 1;
    }
    BPX_CHECK(ok, ValueError, op, ": ", wname, " of shape ", shape_str(w->shape()),
              " cannot be broadcast to the input's shape ", shape_str(shape));
    dt = promote_types(dt, w->dtype());
  }
  Tensor x0 = as_dtype(input, dt), t0 = as_dtype(target, dt);
  Tensor w0 = weight.defined() ? as_dtype(weight, dt) : Tensor();
  Tensor pw0 = pos_weight.defined() ? as_dtype(pos_weight, dt) : Tensor();
  const int64_t n = shape_numel(shape);

  // Evaluates body(x, t, w, pw) -> value for every element, in the dtype T.
  auto full = [&](const Tensor& t) { return t.defined() ? expand(t, shape).contiguous() : Tensor(); };
  Tensor xc = x0.contiguous(), tc = t0.contiguous(), wc = full(w0), pwc = full(pw0);

  Tensor out = dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = xc.data<T>();
    const T* tp = tc.data<T>();
    const T* wp = wc.defined() ? wc.data<T>() : nullptr;
    const T* pp = pwc.defined() ? pwc.data<T>() : nullptr;
    auto elem = [=](int64_t i) {
      const T xv = xp[i], tv = tp[i];
      const T lg = std::log1p(std::exp(-std::abs(xv)));
      const T sp_neg = lg + std::max(-xv, T(0)), sp_pos = lg + std::max(xv, T(0));
      const T pw = pp ? pp[i] : T(1);
      const T l = pw * tv * sp_neg + (T(1) - tv) * sp_pos;
      return wp ? l * wp[i] : l;
    };
    if (red == Reduction::None) {
      Tensor o = Tensor::empty(shape, dt);
      T* op_ = o.data<T>();
      parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) op_[i] = elem(i);
      });
      return o;
    }
    double total = blocked_sum(n, [&](int64_t s, int64_t e) {
      T acc = 0;
      for (int64_t i = s; i < e; ++i) acc += elem(i);
      return static_cast<double>(acc);
    });
    return scalar_of<T>(red == Reduction::Mean ? total / static_cast<double>(n) : total);
  });

  if (any_requires_grad({&input, &target})) {
    const bool has_w = w0.defined(), has_pw = pw0.defined();
    DType dx_t = input.dtype(), dt_t = target.dtype();
    auto node = record("BinaryCrossEntropyWithLogitsBackward", {input, target}, {out},
                       [=](const TensorList& g, FunctionNode& nd) {
      const bool need_x = nd.next_edges[0].fn != nullptr, need_t = nd.next_edges[1].fn != nullptr;
      int k = 0;
      Tensor xs = nd.saved(k++).contiguous(), ts = nd.saved(k++).contiguous();
      Tensor ws = has_w ? expand(nd.saved(k++), shape).contiguous() : Tensor();
      Tensor ps = has_pw ? expand(nd.saved(k++), shape).contiguous() : Tensor();
      GradScale gs = grad_scale(g[0], red, static_cast<double>(n), dt);
      Tensor gx = need_x ? Tensor::empty(shape, dt) : Tensor();
      Tensor gt = need_t ? Tensor::empty(shape, dt) : Tensor();
      dispatch_float(dt, op, [&](auto tag) {
        using T = decltype(tag);
        const T* xp = xs.data<T>();
        const T* tp = ts.data<T>();
        const T* wp = has_w ? ws.data<T>() : nullptr;
        const T* pp = has_pw ? ps.data<T>() : nullptr;
        const T* sp = gs.per_elem.defined() ? gs.per_elem.data<T>() : nullptr;
        const T sc = static_cast<T>(gs.scalar);
        T* gxp = need_x ? gx.data<T>() : nullptr;
        T* gtp = need_t ? gt.data<T>() : nullptr;
        parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) {
            const T xv = xp[i], tv = tp[i];
            T scale = sp ? sp[i] : sc;
            if (wp) scale *= wp[i];
            const T pw = pp ? pp[i] : T(1);
            const T e = std::exp(-std::abs(xv));
            if (gxp) {
              // sigmoid(x) and sigmoid(-x) from exp(-|x|): stable for both signs
              const T big = T(1) / (T(1) + e), small = e / (T(1) + e);
              const T sig_pos = xv >= 0 ? big : small, sig_neg = xv >= 0 ? small : big;
              gxp[i] = scale * ((T(1) - tv) * sig_pos - pw * tv * sig_neg);
            }
            if (gtp) {
              const T lg = std::log1p(e);
              gtp[i] = scale * (pw * (lg + std::max(-xv, T(0))) - (lg + std::max(xv, T(0))));
            }
          }
        });
      });
      if (gx.defined() && gx.dtype() != dx_t) gx = gx.to(dx_t);
      if (gt.defined() && gt.dtype() != dt_t) gt = gt.to(dt_t);
      return TensorList{gx, gt};
    });
    node->save(x0);
    node->save(t0);
    if (has_w) node->save(w0);
    if (has_pw) node->save(pw0);
  }
  return out;
}

}  // namespace backpropx
