// Every differentiable op of backpropx, by family.
#pragma once
#include "backpropx/ops/attention.h"
#include "backpropx/ops/conv.h"
#include "backpropx/ops/elementwise.h"
#include "backpropx/ops/factory.h"
#include "backpropx/ops/indexing.h"
#include "backpropx/ops/linalg.h"
#include "backpropx/ops/nlp.h"
#include "backpropx/ops/reduction.h"
#include "backpropx/ops/rnn.h"
#include "backpropx/ops/shape.h"
