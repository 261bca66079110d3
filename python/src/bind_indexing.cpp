// indexing ops as bx.<op> and Tensor.<op>.
#include "bind_common.h"

namespace backpropx::python {

void bind_indexing(py::module_& m) {}

}  // namespace backpropx::python
