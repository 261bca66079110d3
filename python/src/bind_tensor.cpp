// The Tensor class: properties, NumPy interop (zero-copy both ways), factories, in-place methods.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>

#include "bind_common.h"

namespace backpropx::python {

namespace {

py::class_<Tensor>* g_tensor_class = nullptr;

DType dtype_from_numpy(const py::dtype& dt) {
  char kind = dt.kind();
  size_t size = dt.itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'b') return DType::Bool;
  throw TypeError(cat("can't convert a NumPy array of dtype ", std::string(py::str(dt)),
                      ": supported dtypes are float32, float64, int64 and bool"));
}

const char* numpy_format(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "float32";
}

// Zero-copy: the tensor's storage keeps the array alive.
Tensor from_numpy(py::array arr) {
  DType dt = dtype_from_numpy(arr.dtype());
  const ssize_t item = arr.itemsize();
  Shape shape, strides;
  for (ssize_t d = 0; d < arr.ndim(); ++d) {
    shape.push_back(arr.shape(d));
    ssize_t st = arr.strides(d);
    BPX_CHECK(st >= 0 && st % item == 0, ValueError, "from_numpy: arrays with negative or unaligned strides are not "
              "supported; pass a copy (np.ascontiguousarray)");
    strides.push_back(st / item);
  }
  // The element span the array covers, for the storage size.
  int64_t span = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] > 0) span += (shape[d] - 1) * strides[d];
  if (shape_numel(shape) == 0) span = 0;
  PyObject* obj = arr.ptr();
  Py_INCREF(obj);
  std::shared_ptr<void> owner(nullptr, [obj](void*) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    Py_DECREF(obj);
  });
  auto storage = std::make_shared<Storage>(const_cast<void*>(arr.data()), span * item, owner, Device{});
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = dt;
  return Tensor(impl);
}

py::array to_numpy(const Tensor& t, bool force) {
  BPX_CHECK(force || !(grad_enabled() && t.requires_grad()), RuntimeError,
            "numpy: can't call numpy() on a tensor that requires grad; use tensor.detach().numpy() instead");
  auto holder = std::make_unique<std::shared_ptr<Storage>>(t.storage());
  py::capsule base(holder.get(), [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  holder.release();
  std::vector<ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(static_cast<ssize_t>(s * element_size(t.dtype())));
  return py::array(py::dtype(numpy_format(t.dtype())), shape, strides, t.raw_data(), base);
}

const Tensor& sparse_part(const Tensor& t, const char* what) {
  BPX_CHECK(t.is_sparse(), RuntimeError, what, ": expected a row-sparse tensor, got a dense one of shape ",
            shape_str(t.shape()));
  return t;
}

const Tensor& coalesced_part(const Tensor& t, const char* what) {
  BPX_CHECK(is_coalesced(sparse_part(t, what)), RuntimeError, "Cannot get ", what,
            " on an uncoalesced tensor, please call .coalesce() first");
  return t;
}

// Re-points t at src's data (torch's `param.data = ...`); t keeps its autograd identity and hooks.
void set_data(Tensor& t, const Tensor& src) {
  BPX_CHECK(!src.is_sparse() && !t.is_sparse(), RuntimeError, "data: can't set the data of or to a row-sparse tensor");
  TensorImpl* impl = t.impl();
  if (impl->grad && impl->grad->dtype != src.dtype()) impl->grad.reset();
  impl->storage = src.storage();
  impl->shape = src.shape();
  impl->strides = src.strides();
  impl->offset = src.offset();
  impl->dtype = src.dtype();
}

}  // namespace

py::class_<Tensor>& tensor_class() { return *g_tensor_class; }

DType dtype_from_py(py::handle dtype, DType fallback) {
  if (dtype.is_none()) return fallback;
  if (py::isinstance<DType>(dtype)) return dtype.cast<DType>();
  try {
    return dtype_from_numpy(py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype)));
  } catch (const py::error_already_set&) {
    throw TypeError(cat("unknown dtype ", std::string(py::repr(dtype)),
                        "; use backpropx.float32, float64, int64 or bool"));
  }
}

py::object dtype_to_py(DType t) { return py::cast(t); }

Tensor as_tensor(py::handle obj, const Tensor* like) {
  if (py::isinstance<Tensor>(obj)) return obj.cast<Tensor>();
  if (py::isinstance<py::bool_>(obj)) return scalar_tensor(obj.cast<bool>() ? 1.0 : 0.0, DType::Bool);
  if (py::isinstance<py::int_>(obj)) {
    DType dt = like && like->dtype() != DType::Bool ? like->dtype() : DType::Int64;
    return scalar_tensor(obj.cast<double>(), dt);
  }
  if (py::isinstance<py::float_>(obj)) {
    DType dt = like && is_floating(like->dtype()) ? like->dtype() : DType::Float32;
    return scalar_tensor(obj.cast<double>(), dt);
  }
  py::object np = py::module_::import("numpy");
  py::array arr;
  try {
    arr = np.attr("asarray")(obj);
  } catch (const py::error_already_set&) {
    throw TypeError(cat("expected a Tensor, a number or an array-like, got ", std::string(py::str(obj.get_type()))));
  }
  std::string kind(1, arr.dtype().kind());
  if (kind == "f" && arr.itemsize() != 4 && arr.itemsize() != 8) arr = np.attr("asarray")(arr, "float32");
  if (kind == "i" || kind == "u") arr = np.attr("asarray")(arr, "int64");
  if (kind == "O" || kind == "U" || kind == "S")
    throw TypeError(cat("can't make a tensor from ", std::string(py::repr(obj))));
  Tensor t = from_numpy(np.attr("array")(arr).cast<py::array>());  // own copy
  return t;
}

std::vector<int64_t> as_dims(py::handle dim) {
  if (dim.is_none()) return {};
  if (py::isinstance<py::int_>(dim)) return {dim.cast<int64_t>()};
  return dim.cast<std::vector<int64_t>>();
}

Shape as_shape(py::args args) {
  if (args.size() == 1 && !py::isinstance<py::int_>(args[0])) return args[0].cast<Shape>();
  return args.cast<Shape>();
}

void bind_tensor(py::module_& m) {
  py::enum_<DType>(m, "dtype")
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("int64", DType::Int64)
      .value("bool", DType::Bool)
      .def_property_readonly("is_floating_point", [](DType t) { return is_floating(t); })
      .def_property_readonly("itemsize", [](DType t) { return element_size(t); });

  static py::class_<Tensor> cls(m, "Tensor", py::dynamic_attr());
  g_tensor_class = &cls;
  cls.def(py::init([](const Tensor& t) { return t; }), py::arg("data"),
          "A new handle sharing the data and history of a tensor.")
      .def(py::init([](py::object data) { return as_tensor(data, nullptr); }), py::arg("data"))
      .def_property_readonly("shape", [](const Tensor& t) { return py::tuple(py::cast(t.shape())); })
      .def("size", [](const Tensor& t, py::object dim) -> py::object {
        if (dim.is_none()) return py::tuple(py::cast(t.shape()));
        return py::int_(t.size(dim.cast<int64_t>()));
      }, py::arg("dim") = py::none())
      .def("stride", [](const Tensor& t) { return py::tuple(py::cast(t.strides())); })
      .def_property_readonly("ndim", &Tensor::dim)
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("device", [](const Tensor& t) { return t.device().str(); })
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def_property_readonly("data_ptr_", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("item", [](const Tensor& t) -> py::object {
        double v = t.item();
        if (t.dtype() == DType::Int64) return py::int_(static_cast<int64_t>(v));
        if (t.dtype() == DType::Bool) return py::bool_(v != 0);
        return py::float_(v);
      })
      .def("numpy", [](const Tensor& t, bool force) { return to_numpy(t, force); }, py::arg("force") = false,
           "The values as a NumPy array sharing memory with the tensor (zero-copy).")
      .def("contiguous", [](const Tensor& t) { return contiguous(t); })
      .def("clone", &Tensor::clone)
      .def("detach", &Tensor::detach)
      .def("detach_", [](Tensor& t) {
        t.impl()->grad_fn.reset();
        t.impl()->requires_grad = false;
        return t;
      })
      .def("to", [](const Tensor& t, py::object dtype) { return t.to(dtype_from_py(dtype, t.dtype())); }, py::arg("dtype"))
      .def("float", [](const Tensor& t) { return t.to(DType::Float32); })
      .def("double", [](const Tensor& t) { return t.to(DType::Float64); })
      .def("long", [](const Tensor& t) { return t.to(DType::Int64); })
      .def("bool", [](const Tensor& t) { return t.to(DType::Bool); })
      .def("type_as", [](const Tensor& t, const Tensor& o) { return t.to(o.dtype()); })
      .def("cpu", [](const Tensor& t) { return t; })
      // autograd
      .def_property("requires_grad", &Tensor::requires_grad,
                    [](Tensor& t, bool r) { t.set_requires_grad(r); })
      .def("requires_grad_", [](Tensor& t, bool r) { t.set_requires_grad(r); return t; },
           py::arg("requires_grad") = true)
      .def_property("grad", [](const Tensor& t) -> py::object {
        Tensor g = t.grad();
        if (!g.defined()) return py::none();
        return py::cast(g);
      }, [](Tensor& t, py::object g) {
        t.set_grad(g.is_none() ? Tensor() : g.cast<Tensor>());
      })
      .def_property_readonly("grad_fn", [](const Tensor& t) -> py::object {
        if (!t.grad_fn()) return py::none();
        return py::cast(t.grad_fn()->name());
      })
      .def("_backward", [](const Tensor& t, py::object gradient, bool retain_graph) {
        Tensor g = gradient.is_none() ? Tensor() : as_tensor(gradient, &t);
        t.backward(g, retain_graph);
      }, py::arg("gradient") = py::none(), py::arg("retain_graph") = false)
      .def("_register_hook", [](const Tensor& t, py::function fn) {
        return t.register_hook([fn](const Tensor& g) -> Tensor {
          py::gil_scoped_acquire gil;
          py::object r = fn(g);
          if (r.is_none()) return Tensor();
          BPX_CHECK(py::isinstance<Tensor>(r), TypeError, "hook: a tensor hook must return None or a Tensor, got ",
                    std::string(py::str(r.get_type().attr("__name__"))));
          return r.cast<Tensor>();
        });
      })
      .def("_remove_hook", &Tensor::remove_hook)
      .def("retain_grad", &Tensor::retain_grad)
      .def_property_readonly("retains_grad", [](const Tensor& t) { return t.impl()->retains_grad; })
      .def("_version", [](const Tensor& t) {
        return t.is_sparse() ? t.sparse_values().storage()->version() : t.storage()->version();
      })
      // row-sparse tensors (the gradient of a sparse embedding), as torch's sparse COO with one sparse dim
      .def_property_readonly("is_sparse", &Tensor::is_sparse)
      .def("to_dense", [](const Tensor& t) { return to_dense(t); })
      .def("coalesce", [](const Tensor& t) { return coalesce(t); })
      .def("is_coalesced", [](const Tensor& t) { return is_coalesced(t); })
      .def("_indices", [](const Tensor& t) { return unsqueeze(sparse_part(t, "_indices").sparse_indices(), 0); })
      .def("_values", [](const Tensor& t) { return sparse_part(t, "_values").sparse_values(); })
      .def("indices", [](const Tensor& t) { return unsqueeze(coalesced_part(t, "indices").sparse_indices(), 0); })
      .def("values", [](const Tensor& t) { return coalesced_part(t, "values").sparse_values(); })
      .def("_nnz", [](const Tensor& t) { return sparse_part(t, "_nnz").sparse_indices().numel(); })
      .def("_bump_version", [](const Tensor& t) { t.bump_version(); })
      .def("_set_data", &set_data, py::arg("data"))
      .def_property("data", [](const Tensor& t) { return t.detach(); }, &set_data)
      .def("_same", [](const Tensor& t, const Tensor& o) { return t.same(o); })
      .def("_shares_storage", [](const Tensor& t, const Tensor& o) { return t.storage() == o.storage(); })
      // in-place
      .def("zero_", [](Tensor& t) { return t.zero_(); })
      .def("fill_", [](Tensor& t, double v) { return t.fill_(v); }, py::arg("value"))
      .def("copy_", [](Tensor& t, py::object src) { return t.copy_(as_tensor(src, &t)); }, py::arg("src"))
      .def("add_", [](Tensor& t, py::object o, double alpha) { return t.add_(as_tensor(o, &t), alpha); },
           py::arg("other"), py::kw_only(), py::arg("alpha") = 1.0)
      .def("sub_", [](Tensor& t, py::object o, double alpha) { return t.add_(as_tensor(o, &t), -alpha); },
           py::arg("other"), py::kw_only(), py::arg("alpha") = 1.0)
      .def("mul_", [](Tensor& t, py::object o) { return t.mul_(as_tensor(o, &t)); }, py::arg("other"))
      .def("div_", [](Tensor& t, py::object o) {
        Tensor r;
        {
          NoGradGuard ng;
          r = div(t, as_tensor(o, &t));
        }
        return t.copy_(r);
      }, py::arg("other"))
      .def("uniform_", [](Tensor& t, double a, double b) { return uniform_(t, a, b); }, py::arg("a") = 0.0,
           py::arg("b") = 1.0)
      .def("normal_", [](Tensor& t, double mean, double std) { return normal_(t, mean, std); },
           py::arg("mean") = 0.0, py::arg("std") = 1.0);

  m.def("from_numpy", &from_numpy, py::arg("array"), "A tensor sharing memory with a NumPy array.");
  m.def("_as_tensor", [](py::object o) { return as_tensor(o, nullptr); });
  m.def("_empty", [](const Shape& s, py::object dtype) { return Tensor::empty(s, dtype_from_py(dtype, DType::Float32)); });
  m.def("_full", [](const Shape& s, double v, py::object dtype) { return full(s, v, dtype_from_py(dtype, DType::Float32)); });
  m.def("_arange", [](double a, double b, double step, py::object dtype) {
    return arange(a, b, step, dtype_from_py(dtype, DType::Int64));
  });
  m.def("_rand", [](const Shape& s, py::object dtype) { return rand(s, dtype_from_py(dtype, DType::Float32)); });
  m.def("_randn", [](const Shape& s, py::object dtype) { return randn(s, dtype_from_py(dtype, DType::Float32)); });
  m.def("_randint", [](int64_t lo, int64_t hi, const Shape& s, py::object dtype) {
    return randint(lo, hi, s, dtype_from_py(dtype, DType::Int64));
  });
}

}  // namespace backpropx::python
