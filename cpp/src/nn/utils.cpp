// Gradient clipping over parameters: gathers the gradients and calls the core's clipping kernels.
#include "backpropx/nn/utils.h"

#include "backpropx/optim.h"

namespace backpropx::nn::utils {

namespace {

std::vector<Tensor> grads_of(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> grads;
  for (const auto& p : parameters)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  std::vector<Tensor> grads = grads_of(parameters);
  if (grads.empty()) return 0.0;
  return backpropx::clip_grad_norm_(grads, max_norm, norm_type, error_if_nonfinite);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  std::vector<Tensor> grads = grads_of(parameters);
  if (!grads.empty()) backpropx::clip_grad_value_(grads, clip_value);
}

double grad_norm(const std::vector<Tensor>& parameters, double norm_type) {
  std::vector<Tensor> grads = grads_of(parameters);
  return grads.empty() ? 0.0 : tensor_norms(grads, norm_type).total;
}

}  // namespace backpropx::nn::utils
