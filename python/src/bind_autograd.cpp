// Autograd entry points: grad mode, backward over several roots, autograd.grad, gradcheck.
#include <pybind11/functional.h>

#include "bind_common.h"

namespace backpropx::python {

namespace {

TensorList as_tensor_list(py::handle seq) {
  TensorList out;
  for (py::handle h : seq) out.push_back(h.is_none() ? Tensor() : h.cast<Tensor>());
  return out;
}

}  // namespace

void bind_autograd(py::module_& m) {
  m.def("is_grad_enabled", &grad_enabled);
  m.def("_set_grad_enabled", &set_grad_enabled, py::arg("mode"));
  m.def("_backward", [](py::list roots, py::list grads, bool retain_graph) {
    backward(as_tensor_list(roots), as_tensor_list(grads), retain_graph);
  }, py::arg("tensors"), py::arg("grad_tensors"), py::arg("retain_graph") = false);
  m.def("_grad", [](py::list roots, py::list inputs, py::list grads, bool retain_graph, bool allow_unused) {
    TensorList r = grad(as_tensor_list(roots), as_tensor_list(inputs), as_tensor_list(grads), retain_graph, allow_unused);
    py::list out;
    for (const Tensor& t : r) out.append(t.defined() ? py::cast(t) : py::none());
    return out;
  }, py::arg("outputs"), py::arg("inputs"), py::arg("grad_outputs"), py::arg("retain_graph"), py::arg("allow_unused"));
  m.def("_gradcheck", [](py::function fn, py::list inputs, double eps, double atol, double rtol) {
    GradcheckFn f = [fn](const TensorList& xs) {
      py::list args;
      for (const Tensor& x : xs) args.append(py::cast(x));
      py::object r = fn(args);
      return as_tensor_list(r);
    };
    GradcheckResult res = gradcheck(f, as_tensor_list(inputs), eps, atol, rtol);
    return py::make_tuple(res.ok, res.message, res.max_abs_error);
  }, py::arg("fn"), py::arg("inputs"), py::arg("eps"), py::arg("atol"), py::arg("rtol"));
}

}  // namespace backpropx::python
