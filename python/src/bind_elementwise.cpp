// Elementwise ops as bx.<op>, Tensor.<op> and Python operators (+ - * / ** -x, comparisons).
#include "bind_common.h"

namespace backpropx::python {

namespace {

// (Tensor|number, Tensor|number) -> (Tensor, Tensor); numbers take the other operand's dtype.
std::pair<Tensor, Tensor> operands(py::handle a, py::handle b, const char* op) {
  if (py::isinstance<Tensor>(a)) {
    Tensor ta = a.cast<Tensor>();
    return {ta, as_tensor(b, &ta)};
  }
  BPX_CHECK(py::isinstance<Tensor>(b), TypeError, op, ": expected at least one Tensor argument");
  Tensor tb = b.cast<Tensor>();
  return {as_tensor(a, &tb), tb};
}

template <typename F>
auto binary(F f, const char* op) {
  return [f, op](py::object a, py::object b) {
    auto [x, y] = operands(a, b, op);
    return f(x, y);
  };
}

template <typename F>
auto reflected(F f, const char* op) {
  return [f, op](py::object self, py::object other) {
    auto [y, x] = operands(self, other, op);
    return f(x, y);
  };
}

Tensor pow_any(py::object a, py::object b) {
  if (py::isinstance<Tensor>(a) && (py::isinstance<py::float_>(b) || py::isinstance<py::int_>(b)) &&
      !py::isinstance<py::bool_>(b)) {
    Tensor x = a.cast<Tensor>();
    if (is_floating(x.dtype())) return pow(x, b.cast<double>());
  }
  auto [x, y] = operands(a, b, "pow");
  return pow(x, y);
}

}  // namespace

void bind_elementwise(py::module_& m) {
  auto& cls = tensor_class();
  using namespace py::literals;

  auto add_fn = [](py::object a, py::object b, double alpha) {
    auto [x, y] = operands(a, b, "add");
    return add(x, y, alpha);
  };
  auto sub_fn = [](py::object a, py::object b, double alpha) {
    auto [x, y] = operands(a, b, "sub");
    return sub(x, y, alpha);
  };
  def_op(m, "add", add_fn, "input"_a, "other"_a, py::kw_only(), "alpha"_a = 1.0);
  def_op(m, "sub", sub_fn, "input"_a, "other"_a, py::kw_only(), "alpha"_a = 1.0);
  def_op(m, "mul", binary([](const Tensor& a, const Tensor& b) { return mul(a, b); }, "mul"), "input"_a, "other"_a);
  def_op(m, "div", binary([](const Tensor& a, const Tensor& b) { return div(a, b); }, "div"), "input"_a, "other"_a);
  def_op(m, "pow", &pow_any, "input"_a, "exponent"_a);
  def_op(m, "maximum", binary([](const Tensor& a, const Tensor& b) { return maximum(a, b); }, "maximum"), "input"_a, "other"_a);
  def_op(m, "minimum", binary([](const Tensor& a, const Tensor& b) { return minimum(a, b); }, "minimum"), "input"_a, "other"_a);
  cls.def("add", add_fn, "other"_a, py::kw_only(), "alpha"_a = 1.0)
      .def("sub", sub_fn, "other"_a, py::kw_only(), "alpha"_a = 1.0)
      .def("mul", binary([](const Tensor& a, const Tensor& b) { return mul(a, b); }, "mul"), "other"_a)
      .def("div", binary([](const Tensor& a, const Tensor& b) { return div(a, b); }, "div"), "other"_a)
      .def("pow", &pow_any, "exponent"_a)
      .def("maximum", binary([](const Tensor& a, const Tensor& b) { return maximum(a, b); }, "maximum"), "other"_a)
      .def("minimum", binary([](const Tensor& a, const Tensor& b) { return minimum(a, b); }, "minimum"), "other"_a)
      .def("__add__", binary([](const Tensor& a, const Tensor& b) { return add(a, b); }, "add"))
      .def("__radd__", reflected([](const Tensor& a, const Tensor& b) { return add(a, b); }, "add"))
      .def("__sub__", binary([](const Tensor& a, const Tensor& b) { return sub(a, b); }, "sub"))
      .def("__rsub__", reflected([](const Tensor& a, const Tensor& b) { return sub(a, b); }, "sub"))
      .def("__mul__", binary([](const Tensor& a, const Tensor& b) { return mul(a, b); }, "mul"))
      .def("__rmul__", reflected([](const Tensor& a, const Tensor& b) { return mul(a, b); }, "mul"))
      .def("__truediv__", binary([](const Tensor& a, const Tensor& b) { return div(a, b); }, "div"))
      .def("__rtruediv__", reflected([](const Tensor& a, const Tensor& b) { return div(a, b); }, "div"))
      .def("__pow__", &pow_any)
      .def("__rpow__", [](py::object self, py::object base) { return pow_any(base, self); })
      .def("__iadd__", [](Tensor& t, py::object o) { return t.add_(as_tensor(o, &t)); })
      .def("__isub__", [](Tensor& t, py::object o) { return t.add_(as_tensor(o, &t), -1.0); })
      .def("__imul__", [](Tensor& t, py::object o) { return t.mul_(as_tensor(o, &t)); })
      .def("__neg__", [](const Tensor& t) { return neg(t); })
      .def("__abs__", [](const Tensor& t) { return abs(t); })
      .def("__invert__", [](const Tensor& t) {
        BPX_CHECK(t.dtype() == DType::Bool, TypeError, "~ (bitwise not) is only supported on bool tensors here");
        return logical_not(t);
      })
      .def("__and__", binary([](const Tensor& a, const Tensor& b) { return logical_and(a, b); }, "and"))
      .def("__or__", binary([](const Tensor& a, const Tensor& b) { return logical_or(a, b); }, "or"));

  // unary math and activations
  def_op(m, "neg", [](const Tensor& x) { return neg(x); }, "input"_a);
  def_op(m, "exp", [](const Tensor& x) { return exp(x); }, "input"_a);
  def_op(m, "log", [](const Tensor& x) { return log(x); }, "input"_a);
  def_op(m, "sqrt", [](const Tensor& x) { return sqrt(x); }, "input"_a);
  def_op(m, "abs", [](const Tensor& x) { return abs(x); }, "input"_a);
  def_op(m, "tanh", [](const Tensor& x) { return tanh(x); }, "input"_a);
  def_op(m, "sigmoid", [](const Tensor& x) { return sigmoid(x); }, "input"_a);
  def_op(m, "relu", [](const Tensor& x) { return relu(x); }, "input"_a);
  def_op(m, "leaky_relu", [](const Tensor& x, double s) { return leaky_relu(x, s); }, "input"_a, "negative_slope"_a = 0.01);
  def_op(m, "gelu", [](const Tensor& x, const std::string& a) { return gelu(x, a); }, "input"_a, py::kw_only(),
         "approximate"_a = "none");
  def_op(m, "softplus", [](const Tensor& x, double b, double t) { return softplus(x, b, t); }, "input"_a, "beta"_a = 1.0,
         "threshold"_a = 20.0);
  def_op(m, "clamp", [](const Tensor& x, std::optional<double> lo, std::optional<double> hi) { return clamp(x, lo, hi); },
         "input"_a, "min"_a = py::none(), "max"_a = py::none());
  cls.def("neg", [](const Tensor& x) { return neg(x); })
      .def("exp", [](const Tensor& x) { return exp(x); })
      .def("log", [](const Tensor& x) { return log(x); })
      .def("sqrt", [](const Tensor& x) { return sqrt(x); })
      .def("abs", [](const Tensor& x) { return abs(x); })
      .def("tanh", [](const Tensor& x) { return tanh(x); })
      .def("sigmoid", [](const Tensor& x) { return sigmoid(x); })
      .def("relu", [](const Tensor& x) { return relu(x); })
      .def("clamp", [](const Tensor& x, std::optional<double> lo, std::optional<double> hi) { return clamp(x, lo, hi); },
           "min"_a = py::none(), "max"_a = py::none());

  // selection
  def_op(m, "where", [](const Tensor& c, py::object a, py::object b) {
    Tensor ta, tb;
    if (py::isinstance<Tensor>(a)) {
      ta = a.cast<Tensor>();
      tb = as_tensor(b, &ta);
    } else if (py::isinstance<Tensor>(b)) {
      tb = b.cast<Tensor>();
      ta = as_tensor(a, &tb);
    } else {
      ta = as_tensor(a);
      tb = as_tensor(b, &ta);
    }
    return where(c, ta, tb);
  }, "condition"_a, "input"_a, "other"_a);
  auto masked_fill_fn = [](const Tensor& x, const Tensor& mask, py::object value) {
    double v = py::isinstance<Tensor>(value) ? value.cast<Tensor>().item() : value.cast<double>();
    return masked_fill(x, mask, v);
  };
  def_op(m, "masked_fill", masked_fill_fn, "input"_a, "mask"_a, "value"_a);
  cls.def("masked_fill", masked_fill_fn, "mask"_a, "value"_a);

  // comparisons and logic (no gradient)
  struct Cmp {
    const char* name;
    const char* dunder;
    Tensor (*fn)(const Tensor&, const Tensor&);
  };
  for (Cmp c : {Cmp{"eq", "__eq__", &eq}, Cmp{"ne", "__ne__", &ne}, Cmp{"lt", "__lt__", &lt}, Cmp{"le", "__le__", &le},
                Cmp{"gt", "__gt__", &gt}, Cmp{"ge", "__ge__", &ge}}) {
    auto f = c.fn;
    const char* name = c.name;
    auto call = [f, name](py::object a, py::object b) {
      auto [x, y] = operands(a, b, name);
      return f(x, y);
    };
    def_op(m, c.name, call, "input"_a, "other"_a);
    cls.def(c.name, call, "other"_a);
    cls.def(c.dunder, call);
  }
  cls.attr("__hash__") = py::module_::import("builtins").attr("object").attr("__hash__");
  def_op(m, "logical_not", [](const Tensor& x) { return logical_not(x); }, "input"_a);
  def_op(m, "logical_and", [](const Tensor& a, const Tensor& b) { return logical_and(a, b); }, "input"_a, "other"_a);
  def_op(m, "logical_or", [](const Tensor& a, const Tensor& b) { return logical_or(a, b); }, "input"_a, "other"_a);
}

}  // namespace backpropx::python
