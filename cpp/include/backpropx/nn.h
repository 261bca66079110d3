// backpropx::nn: modules with torch's names, parameter layouts, default initialisations and state_dict
// keys (Linear, Embedding, LayerNorm, Dropout, RNN/LSTM/GRU and their cells, MultiheadAttention,
// Transformer encoder/decoder layers and stacks), initialisations and gradient clipping.
#pragma once
#include "backpropx/nn/attention.h"
#include "backpropx/nn/init.h"
#include "backpropx/nn/layers.h"
#include "backpropx/nn/module.h"
#include "backpropx/nn/options.h"
#include "backpropx/nn/rnn.h"
#include "backpropx/nn/transformer.h"
#include "backpropx/nn/utils.h"
