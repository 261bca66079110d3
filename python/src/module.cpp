// The backpropx._C extension: binds the C++ core. Errors map to the Python exceptions of the same name.
#include "bind_common.h"

namespace backpropx::python {

std::vector<std::string>& op_names() {
  static std::vector<std::string> names;
  return names;
}

}  // namespace backpropx::python

PYBIND11_MODULE(_C, m) {
  using namespace backpropx;
  using namespace backpropx::python;
  m.doc() = "backpropx C++ core";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const backpropx::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const backpropx::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const backpropx::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const backpropx::NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const backpropx::IOError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const backpropx::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  bind_tensor(m);
  bind_autograd(m);
  bind_elementwise(m);
  bind_reduction(m);
  bind_shape(m);
  bind_linalg(m);
  bind_indexing(m);
  bind_nlp(m);
  bind_optim(m);
  bind_rnn(m);
  bind_attention(m);
  bind_conv(m);
  bind_serialize(m);
  bind_word2vec(m);

  m.def("_op_names", [] { return op_names(); }, "Names of every op bound from C++ (for the registry test).");
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  m.def("build_info", &build_info);
  m.def("set_simd_kernels", &set_simd_kernels, py::arg("name"));
  m.def("simd_kernels", &active_simd_kernels);
  m.def("manual_seed", [](uint64_t s) { manual_seed(s); }, py::arg("seed"));
  m.def("initial_seed", [] { return default_generator().initial_seed(); });
}
