// Transformer layers with torch.nn's names, arguments, submodule names and parameter layouts (a torch or
// Python state_dict loads): TransformerEncoderLayer, TransformerDecoderLayer, and the stacks
// TransformerEncoder / TransformerDecoder (`layers.{i}.`, then an optional final `norm`).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backpropx/nn/attention.h"
#include "backpropx/nn/layers.h"
#include "backpropx/nn/module.h"
#include "backpropx/nn/options.h"

namespace backpropx::nn {

struct TransformerLayerOptions {
  // Model width d_model, nhead attention heads.
  TransformerLayerOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  BACKPROPX_ARG(int64_t, d_model);
  BACKPROPX_ARG(int64_t, nhead);
  BACKPROPX_ARG(int64_t, dim_feedforward) = 2048;
  BACKPROPX_ARG(double, dropout) = 0.1;
  BACKPROPX_ARG(std::string, activation) = "relu";  // "relu" | "gelu"
  BACKPROPX_ARG(double, layer_norm_eps) = 1e-5;
  BACKPROPX_ARG(bool, batch_first) = false;
  BACKPROPX_ARG(bool, norm_first) = false;  // pre-LN when true
  BACKPROPX_ARG(bool, bias) = true;
  BACKPROPX_ARG(DType, dtype) = DType::Float32;
};

// Self-attention and a feed-forward block, each with a residual connection and layer norm (after it, or
// before it when norm_first), as torch.nn.TransformerEncoderLayer.
class TransformerEncoderLayer : public Module {
 public:
  // An encoder layer from options, submodules initialised as torch's.
  explicit TransformerEncoderLayer(const TransformerLayerOptions& options);
  // src [S, N, E] (batch_first: [N, S, E]); masks as MultiheadAttention's attn_mask / key_padding_mask.
  Tensor forward(const Tensor& src, const Tensor& src_mask = Tensor(), const Tensor& src_key_padding_mask = Tensor(),
                 bool is_causal = false) const;

  TransformerLayerOptions options;
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm> norm1, norm2;
};

// Self-attention over the target, attention over the encoder's memory and a feed-forward block, as
// torch.nn.TransformerDecoderLayer.
class TransformerDecoderLayer : public Module {
 public:
  // A decoder layer from options, submodules initialised as torch's.
  explicit TransformerDecoderLayer(const TransformerLayerOptions& options);
  // tgt [T, N, E], memory [S, N, E] (batch_first: [N, T, E], [N, S, E]).
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(), const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor(), bool tgt_is_causal = false,
                 bool memory_is_causal = false) const;

  TransformerLayerOptions options;
  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2, dropout3;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
};

// num_layers encoder layers that all start from the same initial parameters (torch deep-copies one
// layer; the generator advances once, as there), then a final LayerNorm when final_norm.
class TransformerEncoder : public Module {
 public:
  // num_layers encoder layers of layer_options (and a final LayerNorm when final_norm).
  TransformerEncoder(const TransformerLayerOptions& layer_options, int64_t num_layers, bool final_norm = false);
  // src [S, N, E] -> [S, N, E] through every layer (and the norm).
  Tensor forward(const Tensor& src, const Tensor& mask = Tensor(), const Tensor& src_key_padding_mask = Tensor(),
                 bool is_causal = false) const;

  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;  // null without final_norm
};

// num_layers decoder layers from the same initial parameters, then a final LayerNorm when final_norm.
class TransformerDecoder : public Module {
 public:
  // num_layers decoder layers of layer_options (and a final LayerNorm when final_norm).
  TransformerDecoder(const TransformerLayerOptions& layer_options, int64_t num_layers, bool final_norm = false);
  // tgt [T, N, E], memory [S, N, E] -> [T, N, E].
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(), const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor(), bool tgt_is_causal = false,
                 bool memory_is_causal = false) const;

  std::vector<std::shared_ptr<TransformerDecoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;  // null without final_norm
};

// [sz, sz] float mask: -inf above the diagonal (future positions), 0 elsewhere.
Tensor generate_square_subsequent_mask(int64_t sz, DType dtype = DType::Float32);

}  // namespace backpropx::nn
