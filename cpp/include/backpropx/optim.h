// Optimizer updates: one fused pass over each parameter (cpp/src/optim.cpp).
#pragma once
#include "backpropx/tensor.h"

namespace backpropx {

// SGD with momentum/dampening/nesterov/weight decay, as torch.optim.SGD. momentum_buf may be
// undefined when momentum == 0; on the first step (first_step) the buffer is set to the gradient.
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step);

// Adam/AdamW, as torch.optim.Adam (L2 weight decay added to the gradient) or AdamW (decoupled:
// param *= 1 - lr*wd). step is the 1-based step count after this update. max_exp_avg_sq is used
// only with amsgrad.
void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor& max_exp_avg_sq,
               int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool amsgrad, bool maximize);

}  // namespace backpropx
