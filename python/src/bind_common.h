// Shared helpers of the Python bindings: op registration, Python values -> tensors, dims.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "backpropx/backpropx.h"

namespace py = pybind11;

namespace backpropx::python {

// Names of every op bound with def_op; the test suite checks each one is in the op registry.
std::vector<std::string>& op_names();

// m.def(name, f, extra...) and remember the name as an op reachable from Python.
template <typename Func, typename... Extra>
void def_op(py::module_& m, const char* name, Func&& f, const Extra&... extra) {
  m.def(name, std::forward<Func>(f), extra...);
  op_names().emplace_back(name);
}

// The bound Tensor class, so every binding file can add its methods.
py::class_<Tensor>& tensor_class();

// A Tensor from a Tensor, a Python bool/int/float (a 0-d tensor whose dtype follows `like`, as
// torch's wrapped numbers do), or anything NumPy can turn into an array.
Tensor as_tensor(py::handle obj, const Tensor* like = nullptr);

// dim arguments: None -> {} (all dims), an int, or a sequence of ints.
std::vector<int64_t> as_dims(py::handle dim);

// A shape from *args style input: (2, 3), ((2, 3),), ([2, 3],).
Shape as_shape(py::args args);

DType dtype_from_py(py::handle dtype, DType fallback);
py::object dtype_to_py(DType t);

void bind_tensor(py::module_& m);
void bind_autograd(py::module_& m);
void bind_elementwise(py::module_& m);
void bind_reduction(py::module_& m);
void bind_shape(py::module_& m);
void bind_linalg(py::module_& m);
void bind_indexing(py::module_& m);
void bind_nlp(py::module_& m);
void bind_optim(py::module_& m);
void bind_rnn(py::module_& m);
void bind_attention(py::module_& m);
void bind_conv(py::module_& m);
void bind_serialize(py::module_& m);
void bind_word2vec(py::module_& m);

}  // namespace backpropx::python
