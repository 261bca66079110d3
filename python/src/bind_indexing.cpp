// indexing ops as bx.<op> and Tensor.<op>: index_select, gather, nonzero, and index (advanced
// indexing: the Python layer's Tensor.__getitem__ turns masks / lists / tensors into a list of
// index tensors, None for a whole dim).
#include "bind_common.h"

namespace backpropx::python {

namespace {

std::vector<Tensor> as_index_list(py::handle indices) {
  std::vector<Tensor> out;
  if (py::isinstance<Tensor>(indices)) {  // a single index tensor indexes dim 0
    out.push_back(indices.cast<Tensor>());
    return out;
  }
  BPX_CHECK(py::isinstance<py::sequence>(indices) && !py::isinstance<py::str>(indices), TypeError,
            "index: expected a list of index tensors (None for a whole dim), got ",
            std::string(py::str(py::type::of(indices))));
  for (py::handle h : indices) {
    if (h.is_none()) out.emplace_back();
    else out.push_back(as_tensor(h, nullptr));
  }
  return out;
}

py::object nonzero_py(const Tensor& x, bool as_tuple) {
  Tensor nz = nonzero(x);
  if (!as_tuple) return py::cast(nz);
  py::tuple cols(x.dim() == 0 ? 1 : x.dim());
  if (x.dim() == 0) {  // torch: a 0-d input gives one column of zeros
    cols[0] = py::cast(zeros({nz.shape()[0]}, DType::Int64));
    return cols;
  }
  for (int64_t j = 0; j < x.dim(); ++j) cols[j] = py::cast(select(nz, 1, j).contiguous());
  return cols;
}

}  // namespace

void bind_indexing(py::module_& m) {
  using namespace py::literals;
  auto& cls = tensor_class();

  auto gather_fn = [](const Tensor& x, int64_t dim, const Tensor& index, bool sparse_grad) {
    BPX_CHECK(!sparse_grad, NotImplementedError, "gather: sparse_grad=True is not supported");
    return gather(x, dim, index);
  };
  auto index_fn = [](const Tensor& x, py::object indices) { return index(x, as_index_list(indices)); };

  def_op(m, "index_select", [](const Tensor& x, int64_t dim, const Tensor& idx) { return index_select(x, dim, idx); },
         "input"_a, "dim"_a, "index"_a);
  def_op(m, "gather", gather_fn, "input"_a, "dim"_a, "index"_a, py::kw_only(), "sparse_grad"_a = false);
  def_op(m, "nonzero", &nonzero_py, "input"_a, py::kw_only(), "as_tuple"_a = false);
  def_op(m, "index", index_fn, "input"_a, "indices"_a);

  cls.def("index_select", [](const Tensor& x, int64_t dim, const Tensor& idx) { return index_select(x, dim, idx); },
          "dim"_a, "index"_a)
      .def("gather", gather_fn, "dim"_a, "index"_a, py::kw_only(), "sparse_grad"_a = false)
      .def("nonzero", &nonzero_py, py::kw_only(), "as_tuple"_a = false);
}

}  // namespace backpropx::python
