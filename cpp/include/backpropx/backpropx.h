// backpropx: tensors, reverse-mode autograd, differentiable ops and gradient checks.
#pragma once
#include "backpropx/autograd.h"
#include "backpropx/error.h"
#include "backpropx/gradcheck.h"
#include "backpropx/ops.h"
#include "backpropx/optim.h"
#include "backpropx/runtime.h"
#include "backpropx/serialize.h"
#include "backpropx/sparse.h"
#include "backpropx/tensor.h"
