// Optimizer updates, each a single fused pass over parameter, gradient and state (no temporaries),
// and the gradient norms behind clip_grad_norm_ / clip_grad_value_ and the training monitor.
#include "backpropx/optim.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backpropx/sparse.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

void check_state(const char* op, const Tensor& param, const Tensor& t, const char* what) {
  BPX_CHECK(t.defined() && t.shape() == param.shape() && t.dtype() == param.dtype() && t.is_contiguous(), ValueError,
            op, ": ", what, " must be a contiguous tensor of the parameter's shape ", shape_str(param.shape()),
            " and dtype ", dtype_name(param.dtype()));
}

void refuse_sparse(const char* op, const Tensor& grad, const char* alternative) {
  BPX_CHECK(!grad.is_sparse(), RuntimeError, op, " does not support sparse gradients (a row-sparse gradient of shape ",
            shape_str(grad.shape()), "), please consider ", alternative, " instead");
}

// Calls row_fn(p_row, g_row, row) for every row of the coalesced row-sparse gradient, rows in
// parallel (they are distinct, so no two threads touch the same parameter row).
template <typename T, typename RowFn>
void for_each_sparse_row(const Tensor& param, const Tensor& grad, RowFn&& row_fn) {
  const Tensor idx = grad.sparse_indices();
  const Tensor vals = grad.sparse_values().to(param.dtype()).contiguous();
  const int64_t nnz = idx.numel(), D = nnz ? vals.numel() / nnz : 0;
  const int64_t* ip = idx.data<int64_t>();
  T* p = param.data<T>();
  const T* g = vals.data<T>();
  parallel_for(nnz, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) row_fn(p + ip[i] * D, g + i * D, D, ip[i] * D);
  });
}

}  // namespace

void sgd_step(Tensor& param, const Tensor& grad_in, Tensor& buf, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step) {
  BPX_CHECK(param.is_contiguous(), ValueError, "sgd: parameters must be contiguous");
  BPX_CHECK(grad_in.shape() == param.shape(), ValueError, "sgd: gradient of shape ", shape_str(grad_in.shape()),
            " for a parameter of shape ", shape_str(param.shape()));
  if (grad_in.is_sparse() && momentum == 0 && weight_decay == 0) {  // only the looked-up rows move
    Tensor grad = coalesce(grad_in);
    dispatch_float(param.dtype(), "sgd", [&](auto tag) {
      using T = decltype(tag);
      const T step = T(maximize ? lr : -lr);
      for_each_sparse_row<T>(param, grad, [step](T* p, const T* g, int64_t D, int64_t) {
        for (int64_t c = 0; c < D; ++c) p[c] += step * g[c];
      });
    });
    param.bump_version();
    return;
  }
  // Momentum and weight decay touch every row: the sparse gradient is densified, as torch's update does.
  Tensor grad = to_dense(grad_in).to(param.dtype()).contiguous();
  BPX_CHECK(grad.shape() == param.shape(), ValueError, "sgd: gradient of shape ", shape_str(grad.shape()),
            " for a parameter of shape ", shape_str(param.shape()));
  if (momentum != 0) check_state("sgd", param, buf, "the momentum buffer");
  dispatch_float(param.dtype(), "sgd", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* b = momentum != 0 ? buf.data<T>() : nullptr;
    const T lr_ = T(lr), mom = T(momentum), damp = T(dampening), wd = T(weight_decay);
    parallel_for(param.numel(), kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        T d = maximize ? -g[i] : g[i];
        if (weight_decay != 0) d += wd * p[i];
        if (b) {
          b[i] = first_step ? d : mom * b[i] + (T(1) - damp) * d;
          d = nesterov ? d + mom * b[i] : b[i];
        }
        p[i] -= lr_ * d;
      }
    });
  });
  param.bump_version();
}

namespace {

// One Adam update of elements [b, e) of one parameter (in blocks of Eigen arrays: the sqrt and the
// division vectorise; std::sqrt does not, with math-errno).
template <typename T>
void adam_range(T* p, const T* g, T* mp, T* vp, T* vmp, int64_t b, int64_t e, int64_t step, double lr, double beta1,
                double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
  const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(beta2, static_cast<double>(step));
  const T b1 = T(beta1), b2 = T(beta2), wd = T(weight_decay), eps_ = T(eps);
  const T step_size = T(lr / bc1), inv_sqrt_bc2 = T(1.0 / std::sqrt(bc2));
  const T decay = T(1.0 - lr * weight_decay);
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  using Map = Eigen::Map<Arr>;
  alignas(64) T dbuf[1024];
  for (int64_t s = b; s < e; s += 1024) {
    const int64_t n = std::min<int64_t>(1024, e - s);
    Map P(p + s, n), M(mp + s, n), V(vp + s, n), D(dbuf, n);
    Eigen::Map<const Arr> G(g + s, n);
    if (maximize) D = -G;
    else D = G;
    if (weight_decay != 0) {
      if (decoupled) P *= decay;
      else D += wd * P;
    }
    M = b1 * M + (T(1) - b1) * D;
    V = b2 * V + (T(1) - b2) * D * D;
    if (vmp) {
      Map VM(vmp + s, n);
      VM = VM.max(V);
      P -= step_size * M / (VM.sqrt() * inv_sqrt_bc2 + eps_);
    } else {
      P -= step_size * M / (V.sqrt() * inv_sqrt_bc2 + eps_);
    }
  }
}

}  // namespace

void adam_step_multi(std::vector<Tensor>& params, const std::vector<Tensor>& grads_in, std::vector<Tensor>& m,
                     std::vector<Tensor>& v, std::vector<Tensor>& vmax,
                     const std::vector<int64_t>& steps, double lr, double beta1, double beta2, double eps,
                     double weight_decay, bool decoupled, bool amsgrad, bool maximize) {
  const char* op = decoupled ? "AdamW" : "Adam";
  const size_t n = params.size();
  BPX_CHECK(grads_in.size() == n && m.size() == n && v.size() == n && steps.size() == n && (!amsgrad || vmax.size() == n),
            ValueError, "adam: got ", n, " parameters but ", grads_in.size(), " gradients, ", m.size(), " exp_avg, ",
            v.size(), " exp_avg_sq and ", steps.size(), " step counts");
  // Every check first, so a bad parameter leaves all of them untouched.
  std::vector<Tensor> grads(n);
  for (size_t i = 0; i < n; ++i) {
    Tensor& param = params[i];
    BPX_CHECK(param.is_contiguous(), ValueError, "adam: parameters must be contiguous");
    BPX_CHECK(steps[i] >= 1, ValueError, "adam: step must be >= 1, got ", steps[i]);
    BPX_CHECK(is_floating(param.dtype()), TypeError, "adam: parameters must be float32 or float64, got ",
              dtype_name(param.dtype()));
    refuse_sparse(op, grads_in[i], "SparseAdam");
    grads[i] = grads_in[i].to(param.dtype()).contiguous();
    BPX_CHECK(grads[i].shape() == param.shape(), ValueError, "adam: gradient of shape ", shape_str(grads[i].shape()),
              " for a parameter of shape ", shape_str(param.shape()));
    check_state("adam", param, m[i], "exp_avg");
    check_state("adam", param, v[i], "exp_avg_sq");
    if (amsgrad) check_state("adam", param, vmax[i], "max_exp_avg_sq");
  }
  // All parameters as one list of chunks in one parallel loop (as torch's fused Adam): no fork, join or
  // Python call per parameter, and the small ones (biases, norms) share a thread's work.
  constexpr int64_t kChunk = 16384;
  struct Chunk {
    size_t param;
    int64_t begin, end;
  };
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < params[i].numel(); b += kChunk)
      chunks.push_back({i, b, std::min(params[i].numel(), b + kChunk)});
  parallel_for(static_cast<int64_t>(chunks.size()), 2, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const Chunk& ch = chunks[static_cast<size_t>(c)];
      const size_t i = ch.param;
      Tensor& vm = amsgrad ? vmax[i] : params[i];  // unused without amsgrad
      if (params[i].dtype() == DType::Float32)
        adam_range<float>(params[i].data<float>(), grads[i].data<float>(), m[i].data<float>(), v[i].data<float>(),
                          amsgrad ? vm.data<float>() : nullptr, ch.begin, ch.end, steps[i], lr, beta1, beta2, eps,
                          weight_decay, decoupled, maximize);
      else
        adam_range<double>(params[i].data<double>(), grads[i].data<double>(), m[i].data<double>(),
                           v[i].data<double>(), amsgrad ? vm.data<double>() : nullptr, ch.begin, ch.end, steps[i], lr,
                           beta1, beta2, eps, weight_decay, decoupled, maximize);
    }
  });
  for (Tensor& param : params) param.bump_version();
}

void rmsprop_step(Tensor& param, const Tensor& grad_in, Tensor& sq, Tensor& buf, Tensor& gavg, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  BPX_CHECK(param.is_contiguous(), ValueError, "rmsprop: parameters must be contiguous");
  refuse_sparse("RMSprop", grad_in, "SGD or Adagrad");
  Tensor grad = grad_in.to(param.dtype()).contiguous();
  BPX_CHECK(grad.shape() == param.shape(), ValueError, "rmsprop: gradient of shape ", shape_str(grad.shape()),
            " for a parameter of shape ", shape_str(param.shape()));
  check_state("rmsprop", param, sq, "square_avg");
  if (momentum > 0) check_state("rmsprop", param, buf, "momentum_buffer");
  if (centered) check_state("rmsprop", param, gavg, "grad_avg");
  dispatch_float(param.dtype(), "rmsprop", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* s = sq.data<T>();
    T* b = momentum > 0 ? buf.data<T>() : nullptr;
    T* ga = centered ? gavg.data<T>() : nullptr;
    const T lr_ = T(lr), a = T(alpha), one_minus_a = T(1.0 - alpha), eps_ = T(eps), wd = T(weight_decay),
            mom = T(momentum);
    parallel_for(param.numel(), kParallelGrain, [&](int64_t st, int64_t e) {
      for (int64_t i = st; i < e; ++i) {
        T d = maximize ? -g[i] : g[i];
        if (weight_decay != 0) d += wd * p[i];
        s[i] = a * s[i] + one_minus_a * d * d;
        T var = s[i];
        if (ga) {
          ga[i] += one_minus_a * (d - ga[i]);  // torch's lerp(grad_avg, grad, 1 - alpha)
          var -= ga[i] * ga[i];
        }
        const T avg = std::sqrt(var) + eps_;
        if (b) {
          b[i] = mom * b[i] + d / avg;
          p[i] -= lr_ * b[i];
        } else {
          p[i] -= lr_ * d / avg;
        }
      }
    });
  });
  param.bump_version();
}

void adagrad_step(Tensor& param, const Tensor& grad_in, Tensor& sum, int64_t step, double lr, double lr_decay,
                  double weight_decay, double eps, bool maximize) {
  BPX_CHECK(param.is_contiguous(), ValueError, "adagrad: parameters must be contiguous");
  BPX_CHECK(step >= 1, ValueError, "adagrad: step must be >= 1, got ", step);
  BPX_CHECK(grad_in.shape() == param.shape(), ValueError, "adagrad: gradient of shape ", shape_str(grad_in.shape()),
            " for a parameter of shape ", shape_str(param.shape()));
  check_state("adagrad", param, sum, "sum");
  const double clr = lr / (1 + static_cast<double>(step - 1) * lr_decay);
  if (grad_in.is_sparse()) {  // torch's sparse Adagrad: state and parameter change at the gradient's rows only
    BPX_CHECK(weight_decay == 0, RuntimeError, "Adagrad: weight_decay option is not compatible with sparse gradients");
    Tensor grad = coalesce(grad_in);
    dispatch_float(param.dtype(), "adagrad", [&](auto tag) {
      using T = decltype(tag);
      T* s = sum.data<T>();
      const T clr_ = T(clr), eps_ = T(eps), sign = T(maximize ? -1 : 1);
      for_each_sparse_row<T>(param, grad, [=](T* p, const T* g, int64_t D, int64_t off) {
        T* sr = s + off;
        for (int64_t c = 0; c < D; ++c) {
          const T d = sign * g[c];
          sr[c] += d * d;
          p[c] -= clr_ * d / (std::sqrt(sr[c]) + eps_);
        }
      });
    });
    param.bump_version();
    return;
  }
  Tensor grad = grad_in.to(param.dtype()).contiguous();
  dispatch_float(param.dtype(), "adagrad", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* s = sum.data<T>();
    const T clr_ = T(clr), eps_ = T(eps), wd = T(weight_decay);
    parallel_for(param.numel(), kParallelGrain, [&](int64_t st, int64_t e) {
      for (int64_t i = st; i < e; ++i) {
        T d = maximize ? -g[i] : g[i];
        if (weight_decay != 0) d += wd * p[i];
        s[i] += d * d;
        p[i] -= clr_ * d / (std::sqrt(s[i]) + eps_);
      }
    });
  });
  param.bump_version();
}

void sparse_adam_step(Tensor& param, const Tensor& grad_in, Tensor& m, Tensor& v, int64_t step, double lr,
                      double beta1, double beta2, double eps, bool maximize) {
  BPX_CHECK(param.is_contiguous(), ValueError, "SparseAdam: parameters must be contiguous");
  BPX_CHECK(step >= 1, ValueError, "SparseAdam: step must be >= 1, got ", step);
  BPX_CHECK(grad_in.is_sparse(), RuntimeError, "SparseAdam does not support dense gradients (got one of shape ",
            shape_str(grad_in.shape()), "), please consider Adam instead");
  BPX_CHECK(grad_in.shape() == param.shape(), ValueError, "SparseAdam: gradient of shape ", shape_str(grad_in.shape()),
            " for a parameter of shape ", shape_str(param.shape()));
  check_state("SparseAdam", param, m, "exp_avg");
  check_state("SparseAdam", param, v, "exp_avg_sq");
  Tensor grad = coalesce(grad_in);
  const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(beta2, static_cast<double>(step));
  dispatch_float(param.dtype(), "SparseAdam", [&](auto tag) {
    using T = decltype(tag);
    T* mp = m.data<T>();
    T* vp = v.data<T>();
    const T one_minus_b1 = T(1 - beta1), one_minus_b2 = T(1 - beta2), eps_ = T(eps), sign = T(maximize ? -1 : 1);
    const T step_size = T(lr * std::sqrt(bc2) / bc1);
    for_each_sparse_row<T>(param, grad, [=](T* p, const T* g, int64_t D, int64_t off) {
      T* mr = mp + off;
      T* vr = vp + off;
      for (int64_t c = 0; c < D; ++c) {
        const T d = sign * g[c];
        mr[c] += one_minus_b1 * (d - mr[c]);
        vr[c] += one_minus_b2 * (d * d - vr[c]);
        p[c] -= step_size * mr[c] / (std::sqrt(vr[c]) + eps_);
      }
    });
  });
  param.bump_version();
}

// ---- gradient norms and clipping --------------------------------------------------------------------

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class NormKind { One, Two, Inf, P };

NormKind norm_kind(double p) {
  BPX_CHECK(p > 0 && !std::isnan(p), ValueError, "norm: norm_type must be > 0 or inf, got ", p);
  if (std::isinf(p)) return NormKind::Inf;
  if (p == 1) return NormKind::One;
  if (p == 2) return NormKind::Two;
  return NormKind::P;
}

// max that propagates NaN (as torch's amax does).
inline double nan_max(double a, double b) { return (std::isnan(a) || std::isnan(b)) ? kNaN : std::max(a, b); }

// sum |x|^p over n elements x[0], x[stride], ... (max |x| for Inf). Four accumulators on the unit-stride
// path so the loop is not bound by the latency of one add chain.
template <typename T>
double power_sum(const T* x, int64_t n, int64_t stride, NormKind kind, double p) {
  if (kind == NormKind::Inf) {
    double m = 0;
    bool nan = false;
    for (int64_t i = 0; i < n; ++i) {
      const double v = std::abs(static_cast<double>(x[i * stride]));
      m = v > m ? v : m;
      nan |= std::isnan(v);
    }
    return nan ? kNaN : m;
  }
  auto term = [&](double v) {
    switch (kind) {
      case NormKind::One: return std::abs(v);
      case NormKind::Two: return v * v;
      default: return std::pow(std::abs(v), p);
    }
  };
  double acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  if (stride == 1 && kind == NormKind::Two) {
    for (; i + 4 <= n; i += 4)
      for (int k = 0; k < 4; ++k) {
        const double v = x[i + k];
        acc[k] += v * v;
      }
  } else if (stride == 1 && kind == NormKind::One) {
    for (; i + 4 <= n; i += 4)
      for (int k = 0; k < 4; ++k) acc[k] += std::abs(static_cast<double>(x[i + k]));
  }
  for (; i < n; ++i) acc[0] += term(static_cast<double>(x[i * stride]));
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

double combine(double a, double b, NormKind kind) { return kind == NormKind::Inf ? nan_max(a, b) : a + b; }

double root(double s, NormKind kind, double p) {
  switch (kind) {
    case NormKind::One:
    case NormKind::Inf: return s;
    case NormKind::Two: return std::sqrt(s);
    default: return std::pow(s, 1.0 / p);
  }
}

// Splits [0, n) into fixed blocks (independent of the thread count, so results are reproducible) and
// reduces each block on some thread: block_fn(begin, end) -> partial, combined in block order.
template <typename BlockFn>
double reduce_blocks(int64_t n, NormKind kind, BlockFn&& block_fn) {
  const int64_t nblocks = std::clamp<int64_t>((n + kParallelGrain - 1) / kParallelGrain, 1, 256);
  const int64_t block = (n + nblocks - 1) / nblocks;
  std::vector<double> partial(nblocks, 0.0);
  parallel_for(nblocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t s = b * block, e = std::min(n, s + block);
      if (s < e) partial[b] = block_fn(s, e);
    }
  });
  double r = partial[0];
  for (int64_t b = 1; b < nblocks; ++b) r = combine(r, partial[b], kind);
  return r;
}

// sum |x|^p (or max |x|) over one tensor of any strides.
double tensor_power_sum(const Tensor& t, NormKind kind, double p) {
  return dispatch_float(t.dtype(), "norm", [&](auto tag) -> double {
    using T = decltype(tag);
    const T* base = t.data<T>();
    if (t.is_contiguous())
      return reduce_blocks(t.numel(), kind, [&](int64_t s, int64_t e) { return power_sum(base + s, e - s, 1, kind, p); });
    double r = 0;
    for_each_row<1>(t.shape(), {&t.strides()}, [&](const std::array<int64_t, 1>& off, int64_t n,
                                                    const std::array<int64_t, 1>& inner) {
      r = combine(r, power_sum(base + off[0], n, inner[0], kind, p), kind);
    });
    return r;
  });
}

// Refuses tensors with a broadcast (stride-0) dimension: an in-place update would hit shared elements repeatedly.
void check_writable(const Tensor& t, const char* op) {
  for (int64_t d = 0; d < t.dim(); ++d)
    BPX_CHECK(t.strides()[d] != 0 || t.shape()[d] <= 1, ValueError, op, ": can't update in place a gradient of shape ",
              shape_str(t.shape()), " that is an expanded view (stride 0 in dim ", d, ")");
}

// x = f(x) in place over a tensor of any (non-overlapping) strides.
template <typename T, typename F>
void apply_inplace(const Tensor& t, F&& f) {
  T* base = t.data<T>();
  if (t.is_contiguous()) {
    parallel_for(t.numel(), kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) base[i] = f(base[i]);
    });
    return;
  }
  for_each_row<1>(t.shape(), {&t.strides()}, [&](const std::array<int64_t, 1>& off, int64_t n,
                                                  const std::array<int64_t, 1>& inner) {
    T* row = base + off[0];
    for (int64_t j = 0; j < n; ++j) row[j * inner[0]] = f(row[j * inner[0]]);
  });
}

}  // namespace

TensorNorms tensor_norms(const std::vector<Tensor>& tensors, double norm_type) {
  const NormKind kind = norm_kind(norm_type);
  TensorNorms out;
  out.norms.reserve(tensors.size());
  double total = 0;
  for (const Tensor& t : tensors) {
    BPX_CHECK(t.defined(), ValueError, "norm: got an undefined tensor");
    coalesce_(t);  // a row-sparse gradient's norm is that of its summed rows
    const double s = tensor_power_sum(t.is_sparse() ? t.sparse_values() : t, kind, norm_type);
    out.norms.push_back(root(s, kind, norm_type));
    total = combine(total, s, kind);
  }
  out.total = root(total, kind, norm_type);
  return out;
}

void scale_(const std::vector<Tensor>& tensors, double factor) {
  for (const Tensor& grad : tensors) {
    const Tensor t = grad.is_sparse() ? grad.sparse_values() : grad;
    check_writable(t, "clip_grad_norm_");
    dispatch_float(t.dtype(), "clip_grad_norm_", [&](auto tag) {
      using T = decltype(tag);
      const T f = T(factor);
      apply_inplace<T>(t, [f](T v) { return v * f; });
    });
    t.bump_version();
  }
}

double clip_grad_norm_(const std::vector<Tensor>& grads, double max_norm, double norm_type, bool error_if_nonfinite) {
  const double total = tensor_norms(grads, norm_type).total;
  BPX_CHECK(std::isfinite(total) || !error_if_nonfinite, RuntimeError, "clip_grad_norm_: the total norm of order ",
            norm_type, " for gradients from `parameters` is non-finite (", total, "), so it cannot be clipped. To "
            "scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`");
  // torch: clip_coef = max_norm / (total + 1e-6), clamped to at most 1 (a NaN coefficient stays NaN).
  const double coef = max_norm / (total + 1e-6);
  const double clamped = std::isnan(coef) ? coef : std::min(coef, 1.0);
  if (clamped != 1.0) scale_(grads, clamped);  // multiplying by exactly 1 changes nothing: skip the pass
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& grads, double clip_value) {
  BPX_CHECK(clip_value >= 0, ValueError, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  for (const Tensor& grad : grads) {
    coalesce_(grad);  // clamp the summed rows, not their parts
    const Tensor t = grad.is_sparse() ? grad.sparse_values() : grad;
    check_writable(t, "clip_grad_value_");
    dispatch_float(t.dtype(), "clip_grad_value_", [&](auto tag) {
      using T = decltype(tag);
      const T hi = T(clip_value), lo = -hi;
      apply_inplace<T>(t, [lo, hi](T v) { return v < lo ? lo : (v > hi ? hi : v); });  // NaN compares false: kept
    });
    t.bump_version();
  }
}

std::vector<std::pair<double, double>> update_norms(const std::vector<Tensor>& after,
                                                    const std::vector<Tensor>& before) {
  BPX_CHECK(after.size() == before.size(), ValueError, "update_norms: got ", after.size(), " parameters and ",
            before.size(), " snapshots");
  std::vector<std::pair<double, double>> out;
  out.reserve(after.size());
  for (size_t k = 0; k < after.size(); ++k) {
    BPX_CHECK(after[k].shape() == before[k].shape() && after[k].dtype() == before[k].dtype(), ValueError,
              "update_norms: parameter ", shape_str(after[k].shape()), " ", dtype_name(after[k].dtype()),
              " vs snapshot ", shape_str(before[k].shape()), " ", dtype_name(before[k].dtype()));
    const Tensor a = after[k].contiguous(), b = before[k].contiguous();
    dispatch_float(a.dtype(), "update_norms", [&](auto tag) {
      using T = decltype(tag);
      const T* ap = a.data<T>();
      const T* bp = b.data<T>();
      // Blocks as in reduce_blocks, each reducing (sum (a-b)^2, sum a^2) in the same pass.
      const int64_t n = a.numel();
      const int64_t nblocks = std::clamp<int64_t>((n + kParallelGrain - 1) / kParallelGrain, 1, 256);
      const int64_t block = (n + nblocks - 1) / nblocks;
      std::vector<std::pair<double, double>> partial(nblocks, {0.0, 0.0});
      parallel_for(nblocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t blk = b0; blk < b1; ++blk) {
          double d2 = 0, p2 = 0;
          for (int64_t i = blk * block, e = std::min(n, (blk + 1) * block); i < e; ++i) {
            const double x = static_cast<double>(ap[i]), d = x - static_cast<double>(bp[i]);
            d2 += d * d;
            p2 += x * x;
          }
          partial[blk] = {d2, p2};
        }
      });
      double delta_sq = 0, param_sq = 0;
      for (const auto& [d2, p2] : partial) {
        delta_sq += d2;
        param_sq += p2;
      }
      out.emplace_back(std::sqrt(delta_sq), std::sqrt(param_sq));
    });
  }
  return out;
}

}  // namespace backpropx
