// Shape ops as bx.<op> and Tensor.<op>.
#include "bind_common.h"

namespace backpropx::python {

void bind_shape(py::module_& m) {
  using namespace py::literals;
  auto& cls = tensor_class();

  def_op(m, "reshape", [](const Tensor& x, const Shape& s) { return reshape(x, s); }, "input"_a, "shape"_a);
  def_op(m, "view", [](const Tensor& x, const Shape& s) { return view(x, s); }, "input"_a, "shape"_a);
  def_op(m, "flatten", [](const Tensor& x, int64_t s, int64_t e) { return flatten(x, s, e); }, "input"_a,
         "start_dim"_a = 0, "end_dim"_a = -1);
  def_op(m, "transpose", [](const Tensor& x, int64_t a, int64_t b) { return transpose(x, a, b); }, "input"_a, "dim0"_a, "dim1"_a);
  def_op(m, "t", [](const Tensor& x) { return t(x); }, "input"_a);
  def_op(m, "permute", [](const Tensor& x, const std::vector<int64_t>& d) { return permute(x, d); }, "input"_a, "dims"_a);
  def_op(m, "squeeze", [](const Tensor& x, std::optional<int64_t> d) { return squeeze(x, d); }, "input"_a, "dim"_a = py::none());
  def_op(m, "unsqueeze", [](const Tensor& x, int64_t d) { return unsqueeze(x, d); }, "input"_a, "dim"_a);
  def_op(m, "expand", [](const Tensor& x, const Shape& s) { return expand(x, s); }, "input"_a, "size"_a);
  def_op(m, "narrow", [](const Tensor& x, int64_t d, int64_t s, int64_t l) { return narrow(x, d, s, l); }, "input"_a,
         "dim"_a, "start"_a, "length"_a);
  def_op(m, "select", [](const Tensor& x, int64_t d, int64_t i) { return select(x, d, i); }, "input"_a, "dim"_a, "index"_a);
  def_op(m, "slice", [](const Tensor& x, int64_t d, std::optional<int64_t> s, std::optional<int64_t> e, int64_t st) {
    return slice(x, d, s, e, st);
  }, "input"_a, "dim"_a, "start"_a = py::none(), "end"_a = py::none(), "step"_a = 1);
  def_op(m, "cat", [](const std::vector<Tensor>& ts, int64_t d) { return cat(ts, d); }, "tensors"_a, "dim"_a = 0);
  def_op(m, "stack", [](const std::vector<Tensor>& ts, int64_t d) { return stack(ts, d); }, "tensors"_a, "dim"_a = 0);
  auto split_fn = [](const Tensor& x, py::object size, int64_t d) {
    std::vector<Tensor> r = py::isinstance<py::int_>(size) ? split(x, size.cast<int64_t>(), d)
                                                          : split(x, size.cast<std::vector<int64_t>>(), d);
    return py::tuple(py::cast(r));
  };
  def_op(m, "split", split_fn, "tensor"_a, "split_size_or_sections"_a, "dim"_a = 0);
  auto chunk_fn = [](const Tensor& x, int64_t c, int64_t d) { return py::tuple(py::cast(chunk(x, c, d))); };
  def_op(m, "chunk", chunk_fn, "input"_a, "chunks"_a, "dim"_a = 0);

  cls.def("reshape", [](const Tensor& x, py::args s) { return reshape(x, as_shape(s)); })
      .def("view", [](const Tensor& x, py::args s) { return view(x, as_shape(s)); })
      .def("flatten", [](const Tensor& x, int64_t s, int64_t e) { return flatten(x, s, e); }, "start_dim"_a = 0,
           "end_dim"_a = -1)
      .def("transpose", [](const Tensor& x, int64_t a, int64_t b) { return transpose(x, a, b); }, "dim0"_a, "dim1"_a)
      .def("t", [](const Tensor& x) { return t(x); })
      .def_property_readonly("T", [](const Tensor& x) {
        std::vector<int64_t> d(x.dim());
        for (int64_t i = 0; i < x.dim(); ++i) d[i] = x.dim() - 1 - i;
        return permute(x, d);
      })
      .def("permute", [](const Tensor& x, py::args d) { return permute(x, as_shape(d)); })
      .def("squeeze", [](const Tensor& x, std::optional<int64_t> d) { return squeeze(x, d); }, "dim"_a = py::none())
      .def("unsqueeze", [](const Tensor& x, int64_t d) { return unsqueeze(x, d); }, "dim"_a)
      .def("expand", [](const Tensor& x, py::args s) { return expand(x, as_shape(s)); })
      .def("expand_as", [](const Tensor& x, const Tensor& o) { return expand(x, o.shape()); }, "other"_a)
      .def("view_as", [](const Tensor& x, const Tensor& o) { return view(x, o.shape()); }, "other"_a)
      .def("reshape_as", [](const Tensor& x, const Tensor& o) { return reshape(x, o.shape()); }, "other"_a)
      .def("narrow", [](const Tensor& x, int64_t d, int64_t s, int64_t l) { return narrow(x, d, s, l); }, "dim"_a,
           "start"_a, "length"_a)
      .def("select", [](const Tensor& x, int64_t d, int64_t i) { return select(x, d, i); }, "dim"_a, "index"_a)
      .def("split", split_fn, "split_size"_a, "dim"_a = 0)
      .def("chunk", chunk_fn, "chunks"_a, "dim"_a = 0);
}

}  // namespace backpropx::python
