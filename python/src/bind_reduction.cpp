// Reductions as bx.<op> and Tensor.<op>: sum, mean, var, std, logsumexp, max/min (values, indices),
// amax/amin, argmax/argmin.
#include "bind_common.h"

namespace backpropx::python {

namespace {

py::object values_indices(const char* name, const std::pair<Tensor, Tensor>& r) {
  static py::object max_t = py::module_::import("collections").attr("namedtuple")("max", "values indices");
  static py::object min_t = py::module_::import("collections").attr("namedtuple")("min", "values indices");
  return (std::string(name) == "max" ? max_t : min_t)(r.first, r.second);
}

double correction_of(py::object unbiased, py::object correction) {
  if (!correction.is_none()) return correction.cast<double>();
  if (!unbiased.is_none()) return unbiased.cast<bool>() ? 1.0 : 0.0;
  return 1.0;
}

}  // namespace

void bind_reduction(py::module_& m) {
  using namespace py::literals;
  auto& cls = tensor_class();

  auto sum_fn = [](const Tensor& x, py::object dim, bool keepdim) { return sum(x, as_dims(dim), keepdim); };
  auto mean_fn = [](const Tensor& x, py::object dim, bool keepdim) { return mean(x, as_dims(dim), keepdim); };
  auto var_fn = [](const Tensor& x, py::object dim, py::object unbiased, bool keepdim, py::object correction) {
    return var(x, as_dims(dim), correction_of(unbiased, correction), keepdim);
  };
  auto std_fn = [](const Tensor& x, py::object dim, py::object unbiased, bool keepdim, py::object correction) {
    return backpropx::std(x, as_dims(dim), correction_of(unbiased, correction), keepdim);
  };
  auto lse_fn = [](const Tensor& x, py::object dim, bool keepdim) { return logsumexp(x, as_dims(dim), keepdim); };
  auto amax_fn = [](const Tensor& x, py::object dim, bool keepdim) { return amax(x, as_dims(dim), keepdim); };
  auto amin_fn = [](const Tensor& x, py::object dim, bool keepdim) { return amin(x, as_dims(dim), keepdim); };
  auto max_fn = [](const Tensor& x, py::object dim, bool keepdim) -> py::object {
    if (dim.is_none()) return py::cast(max(x));
    if (py::isinstance<Tensor>(dim)) return py::cast(maximum(x, dim.cast<Tensor>()));
    return values_indices("max", max(x, dim.cast<int64_t>(), keepdim));
  };
  auto min_fn = [](const Tensor& x, py::object dim, bool keepdim) -> py::object {
    if (dim.is_none()) return py::cast(min(x));
    if (py::isinstance<Tensor>(dim)) return py::cast(minimum(x, dim.cast<Tensor>()));
    return values_indices("min", min(x, dim.cast<int64_t>(), keepdim));
  };
  auto argmax_fn = [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return argmax(x, dim, keepdim); };
  auto argmin_fn = [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return argmin(x, dim, keepdim); };

  def_op(m, "sum", sum_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  def_op(m, "mean", mean_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  def_op(m, "var", var_fn, "input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false,
         py::kw_only(), "correction"_a = py::none());
  def_op(m, "std", std_fn, "input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false,
         py::kw_only(), "correction"_a = py::none());
  def_op(m, "logsumexp", lse_fn, "input"_a, "dim"_a, "keepdim"_a = false);
  def_op(m, "amax", amax_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  def_op(m, "amin", amin_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  def_op(m, "max", max_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  def_op(m, "min", min_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  def_op(m, "argmax", argmax_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  def_op(m, "argmin", argmin_fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);

  cls.def("sum", sum_fn, "dim"_a = py::none(), "keepdim"_a = false)
      .def("mean", mean_fn, "dim"_a = py::none(), "keepdim"_a = false)
      .def("var", var_fn, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false, py::kw_only(),
           "correction"_a = py::none())
      .def("std", std_fn, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false, py::kw_only(),
           "correction"_a = py::none())
      .def("logsumexp", lse_fn, "dim"_a, "keepdim"_a = false)
      .def("amax", amax_fn, "dim"_a = py::none(), "keepdim"_a = false)
      .def("amin", amin_fn, "dim"_a = py::none(), "keepdim"_a = false)
      .def("max", max_fn, "dim"_a = py::none(), "keepdim"_a = false)
      .def("min", min_fn, "dim"_a = py::none(), "keepdim"_a = false)
      .def("argmax", argmax_fn, "dim"_a = py::none(), "keepdim"_a = false)
      .def("argmin", argmin_fn, "dim"_a = py::none(), "keepdim"_a = false);
}

}  // namespace backpropx::python
