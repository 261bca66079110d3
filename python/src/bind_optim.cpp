// Fused optimizer updates (the Python optimizers in backpropx/optim.py call these per parameter).
#include "bind_common.h"

namespace backpropx::python {

void bind_optim(py::module_& m) {
  using namespace py::literals;
  m.def("_sgd_step", [](Tensor param, const Tensor& grad, py::object buf, double lr, double momentum,
                        double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step) {
    Tensor b = buf.is_none() ? Tensor() : buf.cast<Tensor>();
    sgd_step(param, grad, b, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step);
  }, "param"_a, "grad"_a, "momentum_buffer"_a, "lr"_a, "momentum"_a, "dampening"_a, "weight_decay"_a, "nesterov"_a,
     "maximize"_a, "first_step"_a);
  m.def("_adam_step", [](Tensor param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq, py::object max_sq,
                         int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                         bool decoupled, bool amsgrad, bool maximize) {
    Tensor vmax = max_sq.is_none() ? Tensor() : max_sq.cast<Tensor>();
    adam_step(param, grad, exp_avg, exp_avg_sq, vmax, step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
              maximize);
  }, "param"_a, "grad"_a, "exp_avg"_a, "exp_avg_sq"_a, "max_exp_avg_sq"_a, "step"_a, "lr"_a, "beta1"_a, "beta2"_a,
     "eps"_a, "weight_decay"_a, "decoupled"_a, "amsgrad"_a, "maximize"_a);
}

}  // namespace backpropx::python
