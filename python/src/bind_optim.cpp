// Fused optimizer updates and gradient norms (backpropx/optim.py, nn/utils/clip_grad.py and monitor.py call these).
#include "bind_common.h"

namespace backpropx::python {

namespace {

Tensor optional_tensor(const py::object& o) { return o.is_none() ? Tensor() : o.cast<Tensor>(); }

}  // namespace

void bind_optim(py::module_& m) {
  using namespace py::literals;
  m.def("_sgd_step", [](Tensor param, const Tensor& grad, py::object buf, double lr, double momentum,
                        double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step) {
    Tensor b = optional_tensor(buf);
    sgd_step(param, grad, b, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step);
  }, "param"_a, "grad"_a, "momentum_buffer"_a, "lr"_a, "momentum"_a, "dampening"_a, "weight_decay"_a, "nesterov"_a,
     "maximize"_a, "first_step"_a);
  m.def("_adam_step_multi", [](TensorList params, const TensorList& grads, TensorList exp_avg, TensorList exp_avg_sq,
                               TensorList max_sq, const std::vector<int64_t>& steps, double lr, double beta1,
                               double beta2, double eps, double weight_decay, bool decoupled, bool amsgrad,
                               bool maximize) {
    adam_step_multi(params, grads, exp_avg, exp_avg_sq, max_sq, steps, lr, beta1, beta2, eps, weight_decay, decoupled,
                    amsgrad, maximize);
  }, "params"_a, "grads"_a, "exp_avg"_a, "exp_avg_sq"_a, "max_exp_avg_sq"_a, "steps"_a, "lr"_a, "beta1"_a,
     "beta2"_a, "eps"_a, "weight_decay"_a, "decoupled"_a, "amsgrad"_a, "maximize"_a);
  m.def("_rmsprop_step", [](Tensor param, const Tensor& grad, Tensor square_avg, py::object buf, py::object grad_avg,
                            double lr, double alpha, double eps, double weight_decay, double momentum, bool centered,
                            bool maximize) {
    Tensor b = optional_tensor(buf), ga = optional_tensor(grad_avg);
    rmsprop_step(param, grad, square_avg, b, ga, lr, alpha, eps, weight_decay, momentum, centered, maximize);
  }, "param"_a, "grad"_a, "square_avg"_a, "momentum_buffer"_a, "grad_avg"_a, "lr"_a, "alpha"_a, "eps"_a,
     "weight_decay"_a, "momentum"_a, "centered"_a, "maximize"_a);
  m.def("_adagrad_step", [](Tensor param, const Tensor& grad, Tensor sum, int64_t step, double lr, double lr_decay,
                            double weight_decay, double eps, bool maximize) {
    adagrad_step(param, grad, sum, step, lr, lr_decay, weight_decay, eps, maximize);
  }, "param"_a, "grad"_a, "sum"_a, "step"_a, "lr"_a, "lr_decay"_a, "weight_decay"_a, "eps"_a, "maximize"_a);
  m.def("_sparse_adam_step", [](Tensor param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq, int64_t step,
                                double lr, double beta1, double beta2, double eps, bool maximize) {
    sparse_adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, maximize);
  }, "param"_a, "grad"_a, "exp_avg"_a, "exp_avg_sq"_a, "step"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a, "maximize"_a);

  m.def("_tensor_norms", [](const std::vector<Tensor>& tensors, double norm_type) {
    TensorNorms r = tensor_norms(tensors, norm_type);
    return py::make_tuple(r.norms, r.total);
  }, "tensors"_a, "norm_type"_a, "([per-tensor norm], total norm) of a list of tensors, in one pass over each.");
  m.def("_clip_grad_norm_", &clip_grad_norm_, "grads"_a, "max_norm"_a, "norm_type"_a, "error_if_nonfinite"_a);
  m.def("_clip_grad_value_", &clip_grad_value_, "grads"_a, "clip_value"_a);
  m.def("_scale_", &scale_, "tensors"_a, "factor"_a);
  m.def("_update_norms", &update_norms, "after"_a, "before"_a,
        "[(||after - before||, ||after||)] for each pair of same-shape tensors, one pass each.");
}

}  // namespace backpropx::python
