// backpropx: tensors, reverse-mode autograd, differentiable ops and gradient checks; nn modules,
// optimizers, LR schedules and safetensors checkpoints for C++ programs (docs/cpp.md).
#pragma once
#include "backpropx/autograd.h"
#include "backpropx/error.h"
#include "backpropx/gradcheck.h"
#include "backpropx/nn.h"
#include "backpropx/operators.h"
#include "backpropx/ops.h"
#include "backpropx/optim.h"
#include "backpropx/optimizers.h"
#include "backpropx/runtime.h"
#include "backpropx/schedule.h"
#include "backpropx/serialize.h"
#include "backpropx/sparse.h"
#include "backpropx/tensor.h"
