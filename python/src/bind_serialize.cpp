// safetensors checkpoints: the C++ reader/writer behind bx.save / bx.load (python/backpropx/serialization.py).
#include "backpropx/serialize.h"

#include "bind_common.h"

namespace backpropx::python {

void bind_serialize(py::module_& m) {
  using namespace py::literals;
  m.def("_save_safetensors", [](const std::string& path, const NamedTensors& tensors, const StringPairs& metadata) {
    py::gil_scoped_release release;
    save_safetensors(path, tensors, metadata);
  }, "path"_a, "tensors"_a, "metadata"_a, "Writes [(name, tensor)] and [(key, value)] metadata to a safetensors file.");
  m.def("_load_safetensors", [](const std::string& path) {
    SafetensorsContents c;
    {
      py::gil_scoped_release release;
      c = load_safetensors(path);
    }
    return py::make_tuple(py::cast(c.tensors), py::cast(c.metadata));
  }, "path"_a, "Reads a safetensors file: ([(name, tensor)], [(key, value)]) in file order.");
}

}  // namespace backpropx::python
