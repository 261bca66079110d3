// Optimizer updates (one fused pass over each parameter) and the gradient-norm utilities behind
// clipping and the training monitor (cpp/src/optim.cpp).
#pragma once
#include <utility>
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx {

// SGD with momentum/dampening/nesterov/weight decay, as torch.optim.SGD. momentum_buf may be
// undefined when momentum == 0; on the first step (first_step) the buffer is set to the gradient.
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step);

// Adam/AdamW, as torch.optim.Adam (L2 weight decay added to the gradient) or AdamW (decoupled:
// param *= 1 - lr*wd), on a list of parameters at once, each with its own state and 1-based step count
// after this update (max_exp_avg_sq is used only with amsgrad), in one parallel loop over all their
// elements; the checks run before any update.
void adam_step_multi(std::vector<Tensor>& params, const std::vector<Tensor>& grads, std::vector<Tensor>& exp_avg,
                     std::vector<Tensor>& exp_avg_sq, std::vector<Tensor>& max_exp_avg_sq,
                     const std::vector<int64_t>& steps, double lr, double beta1,
                     double beta2, double eps, double weight_decay, bool decoupled, bool amsgrad, bool maximize);

// RMSprop, as torch.optim.RMSprop. momentum_buf is used only when momentum > 0, grad_avg only when
// centered (both may be undefined otherwise).
void rmsprop_step(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& momentum_buf, Tensor& grad_avg,
                  double lr, double alpha, double eps, double weight_decay, double momentum, bool centered,
                  bool maximize);

// Adagrad, as torch.optim.Adagrad. step is the 1-based step count after this update
// (the effective lr is lr / (1 + (step - 1) * lr_decay)).
void adagrad_step(Tensor& param, const Tensor& grad, Tensor& state_sum, int64_t step, double lr, double lr_decay,
                  double weight_decay, double eps, bool maximize);

// torch.optim.SparseAdam: Adam on the rows of a row-sparse gradient only (lazy Adam); the moments
// of the other rows stay as they are. A dense gradient raises.
void sparse_adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
                      double beta1, double beta2, double eps, bool maximize);

// Row-sparse gradients (backpropx/sparse.h): SGD without momentum and weight decay, and Adagrad,
// update only the gradient's rows; SGD with momentum or weight decay densifies it; Adam, AdamW and
// RMSprop refuse it.

// ---- gradient norms and clipping -------------------------------------------------------------------

// Per-tensor p-norms (norm_type > 0, or +inf for max |x|) and the total norm of all of them together,
// i.e. the norm of the vector of per-tensor norms. One pass over each tensor, accumulated in double;
// NaN anywhere makes that tensor's norm and the total NaN.
struct TensorNorms {
  std::vector<double> norms;
  double total = 0.0;
};
TensorNorms tensor_norms(const std::vector<Tensor>& tensors, double norm_type);

// torch.nn.utils.clip_grad_norm_: scales every gradient in place by min(1, max_norm / (total + 1e-6))
// and returns the total norm. A non-finite total raises RuntimeError when error_if_nonfinite;
// otherwise the gradients are scaled by the non-finite coefficient as torch does (a NaN total makes
// every gradient NaN; an infinite total zeroes finite entries and makes infinite ones NaN).
double clip_grad_norm_(const std::vector<Tensor>& grads, double max_norm, double norm_type,
                       bool error_if_nonfinite);

// Multiplies every tensor in place by factor (one pass each; strided tensors are fine).
void scale_(const std::vector<Tensor>& tensors, double factor);

// torch.nn.utils.clip_grad_value_: clamps every gradient in place to [-clip_value, clip_value] (NaN stays NaN).
void clip_grad_value_(const std::vector<Tensor>& grads, double clip_value);

// For each i: (||after[i] - before[i]||_2, ||after[i]||_2) in one pass; the training monitor's
// update-to-parameter ratio.
std::vector<std::pair<double, double>> update_norms(const std::vector<Tensor>& after,
                                                    const std::vector<Tensor>& before);

}  // namespace backpropx
