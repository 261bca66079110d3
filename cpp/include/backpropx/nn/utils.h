// Gradient clipping over a model's parameters (torch.nn.utils.clip_grad_norm_ / clip_grad_value_); the
// norms and the scaling are the core's one-pass kernels that Python's clipping calls too.
#pragma once
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx::nn::utils {

// Scales the gradients of parameters (those that have one) by min(1, max_norm / (total + 1e-6)) and
// returns their total norm before clipping; norm_type may be INFINITY. A non-finite total raises
// RuntimeError when error_if_nonfinite (gradients untouched), else it scales as torch does.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient of parameters in place to [-clip_value, clip_value] (NaN stays NaN).
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
// The total norm of the parameters' gradients, without changing them.
double grad_norm(const std::vector<Tensor>& parameters, double norm_type = 2.0);

}  // namespace backpropx::nn::utils
