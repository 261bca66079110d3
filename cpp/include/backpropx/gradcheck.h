// Gradient check: float64 central finite differences against the autograd Jacobian, element by element.
#pragma once
#include <functional>
#include <string>

#include "backpropx/autograd.h"

namespace backpropx {

struct GradcheckResult {
  bool ok = true;
  std::string message;  // on failure: the worst element (input, index, output element, both values)
  double max_abs_error = 0;
};

using GradcheckFn = std::function<TensorList(const TensorList&)>;

// Checks d(outputs)/d(inputs) for every input that requires grad (must be float64).
// |analytic - numeric| <= atol + rtol * |numeric| for every Jacobian element.
GradcheckResult gradcheck(const GradcheckFn& fn, const TensorList& inputs, double eps = 1e-6,
                          double atol = 1e-5, double rtol = 1e-3);

}  // namespace backpropx
