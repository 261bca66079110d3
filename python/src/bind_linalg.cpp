// linalg ops as bx.<op> and Tensor.<op>.
#include "bind_common.h"

namespace backpropx::python {

void bind_linalg(py::module_& m) {}

}  // namespace backpropx::python
