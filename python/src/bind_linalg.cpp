// linalg ops as bx.<op> and Tensor.<op>: matmul (and the @ operator), mm, bmm, linear.
#include "bind_common.h"

namespace backpropx::python {

namespace {

// The other operand of @: a Tensor, or an array-like made a tensor (numbers are refused by matmul).
Tensor matmul_operand(py::handle obj, const Tensor& like) { return as_tensor(obj, &like); }

}  // namespace

void bind_linalg(py::module_& m) {
  using namespace py::literals;
  auto& cls = tensor_class();

  def_op(m, "matmul", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, "input"_a, "other"_a);
  def_op(m, "mm", [](const Tensor& a, const Tensor& b) { return mm(a, b); }, "input"_a, "mat2"_a);
  def_op(m, "bmm", [](const Tensor& a, const Tensor& b) { return bmm(a, b); }, "input"_a, "mat2"_a);
  def_op(m, "linear", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b) {
    return linear(x, w, b ? *b : Tensor());
  }, "input"_a, "weight"_a, "bias"_a = py::none());

  cls.def("matmul", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, "other"_a)
      .def("mm", [](const Tensor& a, const Tensor& b) { return mm(a, b); }, "mat2"_a)
      .def("bmm", [](const Tensor& a, const Tensor& b) { return bmm(a, b); }, "mat2"_a)
      .def("__matmul__", [](const Tensor& a, py::object b) { return matmul(a, matmul_operand(b, a)); })
      .def("__rmatmul__", [](const Tensor& b, py::object a) { return matmul(matmul_operand(a, b), b); });
}

}  // namespace backpropx::python
