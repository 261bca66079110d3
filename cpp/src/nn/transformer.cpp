// Transformer encoder/decoder layers and stacks: torch's submodules and names, the same residual / layer
// norm steps as Python's bx.nn.TransformerEncoderLayer and TransformerDecoderLayer.
#include "backpropx/nn/transformer.h"

#include <limits>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/ops/factory.h"

namespace backpropx::nn {

namespace {

Tensor activate(const std::string& activation, const Tensor& x) {
  if (activation == "relu") return relu(x);
  if (activation == "gelu") return gelu(x);
  throw RuntimeError(cat("activation should be relu/gelu, not ", activation));
}

void check_activation(const std::string& activation) {
  BPX_CHECK(activation == "relu" || activation == "gelu", RuntimeError, "activation should be relu/gelu, not ",
            activation);
}

std::shared_ptr<MultiheadAttention> make_attention(const TransformerLayerOptions& o) {
  return std::make_shared<MultiheadAttention>(MultiheadAttentionOptions(o.d_model(), o.nhead())
                                                  .dropout(o.dropout())
                                                  .bias(o.bias())
                                                  .batch_first(o.batch_first())
                                                  .dtype(o.dtype()));
}

std::shared_ptr<Linear> make_linear(int64_t in, int64_t out, const TransformerLayerOptions& o) {
  return std::make_shared<Linear>(LinearOptions(in, out).bias(o.bias()).dtype(o.dtype()));
}

std::shared_ptr<LayerNorm> make_norm(const TransformerLayerOptions& o) {
  return std::make_shared<LayerNorm>(
      LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps()).bias(o.bias()).dtype(o.dtype()));
}

// Layers 1.. of a stack start as copies of layer 0 (torch deep-copies one layer): they are built with the
// generator rewound, so it advances once for the whole stack, then take layer 0's values.
template <typename Layer>
std::vector<std::shared_ptr<Layer>> make_clones(const TransformerLayerOptions& o, int64_t n, ModuleList& list) {
  BPX_CHECK(n >= 1, ValueError, "num_layers must be positive, got ", n);
  std::vector<std::shared_ptr<Layer>> layers;
  layers.push_back(list.push_back(std::make_shared<Layer>(o)));
  for (int64_t i = 1; i < n; ++i) {
    Generator saved = default_generator();
    auto layer = std::make_shared<Layer>(o);
    default_generator() = saved;
    layer->load_state_dict(layers[0]->state_dict());
    layers.push_back(list.push_back(layer));
  }
  return layers;
}

}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerOptions& o)
    : Module("TransformerEncoderLayer"), options(o) {
  check_activation(o.activation());
  self_attn = register_module("self_attn", make_attention(o));
  linear1 = register_module("linear1", make_linear(o.d_model(), o.dim_feedforward(), o));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout()));
  linear2 = register_module("linear2", make_linear(o.dim_feedforward(), o.d_model(), o));
  norm1 = register_module("norm1", make_norm(o));
  norm2 = register_module("norm2", make_norm(o));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout()));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout()));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask,
                                        bool is_causal) const {
  auto sa_block = [&](const Tensor& x) {
    return dropout1->forward(self_attn->forward(x, x, x, src_key_padding_mask, false, src_mask, true, is_causal).output);
  };
  auto ff_block = [&](const Tensor& x) {
    return dropout2->forward(linear2->forward(dropout->forward(activate(options.activation(), linear1->forward(x)))));
  };
  Tensor x = src;
  if (options.norm_first()) {
    x = add(x, sa_block(norm1->forward(x)));
    x = add(x, ff_block(norm2->forward(x)));
  } else {
    x = norm1->forward(add(x, sa_block(x)));
    x = norm2->forward(add(x, ff_block(x)));
  }
  return x;
}

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLayerOptions& o)
    : Module("TransformerDecoderLayer"), options(o) {
  check_activation(o.activation());
  self_attn = register_module("self_attn", make_attention(o));
  multihead_attn = register_module("multihead_attn", make_attention(o));
  linear1 = register_module("linear1", make_linear(o.d_model(), o.dim_feedforward(), o));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout()));
  linear2 = register_module("linear2", make_linear(o.dim_feedforward(), o.d_model(), o));
  norm1 = register_module("norm1", make_norm(o));
  norm2 = register_module("norm2", make_norm(o));
  norm3 = register_module("norm3", make_norm(o));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout()));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout()));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(o.dropout()));
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                        const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                        const Tensor& memory_key_padding_mask, bool tgt_is_causal,
                                        bool memory_is_causal) const {
  auto sa_block = [&](const Tensor& x) {
    return dropout1->forward(
        self_attn->forward(x, x, x, tgt_key_padding_mask, false, tgt_mask, true, tgt_is_causal).output);
  };
  auto mha_block = [&](const Tensor& x) {
    return dropout2->forward(multihead_attn
                                 ->forward(x, memory, memory, memory_key_padding_mask, false, memory_mask, true,
                                           memory_is_causal)
                                 .output);
  };
  auto ff_block = [&](const Tensor& x) {
    return dropout3->forward(linear2->forward(dropout->forward(activate(options.activation(), linear1->forward(x)))));
  };
  Tensor x = tgt;
  if (options.norm_first()) {
    x = add(x, sa_block(norm1->forward(x)));
    x = add(x, mha_block(norm2->forward(x)));
    x = add(x, ff_block(norm3->forward(x)));
  } else {
    x = norm1->forward(add(x, sa_block(x)));
    x = norm2->forward(add(x, mha_block(x)));
    x = norm3->forward(add(x, ff_block(x)));
  }
  return x;
}

TransformerEncoder::TransformerEncoder(const TransformerLayerOptions& o, int64_t num_layers, bool final_norm)
    : Module("TransformerEncoder") {
  auto list = register_module("layers", std::make_shared<ModuleList>());
  layers = make_clones<TransformerEncoderLayer>(o, num_layers, *list);
  if (final_norm) norm = register_module("norm", make_norm(o));
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask,
                                   bool is_causal) const {
  Tensor out = src;
  for (const auto& layer : layers) out = layer->forward(out, mask, src_key_padding_mask, is_causal);
  return norm ? norm->forward(out) : out;
}

TransformerDecoder::TransformerDecoder(const TransformerLayerOptions& o, int64_t num_layers, bool final_norm)
    : Module("TransformerDecoder") {
  auto list = register_module("layers", std::make_shared<ModuleList>());
  layers = make_clones<TransformerDecoderLayer>(o, num_layers, *list);
  if (final_norm) norm = register_module("norm", make_norm(o));
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                   const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                   const Tensor& memory_key_padding_mask, bool tgt_is_causal,
                                   bool memory_is_causal) const {
  Tensor out = tgt;
  for (const auto& layer : layers)
    out = layer->forward(out, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
                         tgt_is_causal, memory_is_causal);
  return norm ? norm->forward(out) : out;
}

Tensor generate_square_subsequent_mask(int64_t sz, DType dtype) {
  BPX_CHECK(sz >= 0, ValueError, "generate_square_subsequent_mask: size must be non-negative, got ", sz);
  Tensor m = zeros({sz, sz}, dtype);
  const double inf = std::numeric_limits<double>::infinity();
  NoGradGuard ng;
  for (int64_t i = 0; i < sz; ++i)
    if (i + 1 < sz) slice(select(m, 0, i), 0, i + 1, std::nullopt).fill_(-inf);
  return m;
}

}  // namespace backpropx::nn
