// Optimizer updates, each a single fused pass over parameter, gradient and state (no temporaries).
#include "backpropx/optim.h"

#include <cmath>

#include "kernel_utils.h"

namespace backpropx {

namespace {

void check_state(const char* op, const Tensor& param, const Tensor& t, const char* what) {
  BPX_CHECK(t.defined() && t.shape() == param.shape() && t.dtype() == param.dtype() && t.is_contiguous(), ValueError,
            op, ": ", what, " must be a contiguous tensor of the parameter's shape ", shape_str(param.shape()),
            " and dtype ", dtype_name(param.dtype()));
}

}  // namespace

void sgd_step(Tensor& param, const Tensor& grad_in, Tensor& buf, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step) {
  BPX_CHECK(param.is_contiguous(), ValueError, "sgd: parameters must be contiguous");
  Tensor grad = grad_in.to(param.dtype()).contiguous();
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

void adam_step(Tensor& param, const Tensor& grad_in, Tensor& m, Tensor& v, Tensor& vmax, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool amsgrad,
               bool maximize) {
  BPX_CHECK(param.is_contiguous(), ValueError, "adam: parameters must be contiguous");
  BPX_CHECK(step >= 1, ValueError, "adam: step must be >= 1, got ", step);
  Tensor grad = grad_in.to(param.dtype()).contiguous();
  BPX_CHECK(grad.shape() == param.shape(), ValueError, "adam: gradient of shape ", shape_str(grad.shape()),
            " for a parameter of shape ", shape_str(param.shape()));
  check_state("adam", param, m, "exp_avg");
  check_state("adam", param, v, "exp_avg_sq");
  if (amsgrad) check_state("adam", param, vmax, "max_exp_avg_sq");
  const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(beta2, static_cast<double>(step));
  dispatch_float(param.dtype(), "adam", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* mp = m.data<T>();
    T* vp = v.data<T>();
    T* vmp = amsgrad ? vmax.data<T>() : nullptr;
    const T b1 = T(beta1), b2 = T(beta2), wd = T(weight_decay), eps_ = T(eps);
    const T step_size = T(lr / bc1), inv_sqrt_bc2 = T(1.0 / std::sqrt(bc2));
    const T decay = T(1.0 - lr * weight_decay);
    parallel_for(param.numel(), kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        T d = maximize ? -g[i] : g[i];
        if (weight_decay != 0) {
          if (decoupled) p[i] *= decay;
          else d += wd * p[i];
        }
        mp[i] = b1 * mp[i] + (T(1) - b1) * d;
        vp[i] = b2 * vp[i] + (T(1) - b2) * d * d;
        T vv = vp[i];
        if (vmp) {
          vmp[i] = std::max(vmp[i], vv);
          vv = vmp[i];
        }
        p[i] -= step_size * mp[i] / (std::sqrt(vv) * inv_sqrt_bc2 + eps_);
      }
    });
  });
  param.bump_version();
}

}  // namespace backpropx
