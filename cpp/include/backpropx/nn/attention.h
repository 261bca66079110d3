// Multi-head attention as torch.nn.MultiheadAttention: the same parameters (in_proj_weight [3E, E] and
// in_proj_bias [3E], or q/k/v_proj_weight when kdim / vdim differ; out_proj.weight / .bias; bias_k /
// bias_v with add_bias_kv), arguments and mask conventions; all heads run in the fused core attention op
// (attention_with_weights), the one Python's layer calls.
//
// Masks, as torch: key_padding_mask [N, S] and a bool attn_mask mark with true what may NOT be attended;
// a float mask is added to the scores. A query row whose every key is masked gets zero weights and a zero
// output (torch gives NaN).
#pragma once
#include <cstdint>
#include <optional>

#include "backpropx/nn/layers.h"
#include "backpropx/nn/module.h"
#include "backpropx/nn/options.h"

namespace backpropx::nn {

struct MultiheadAttentionOptions {
  // embed_dim split over num_heads heads (embed_dim % num_heads == 0).
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  BACKPROPX_ARG(int64_t, embed_dim);
  BACKPROPX_ARG(int64_t, num_heads);
  BACKPROPX_ARG(double, dropout) = 0.0;  // on the attention weights, in training mode
  BACKPROPX_ARG(bool, bias) = true;
  BACKPROPX_ARG(bool, add_bias_kv) = false;
  BACKPROPX_ARG(bool, add_zero_attn) = false;
  BACKPROPX_ARG(std::optional<int64_t>, kdim);  // default embed_dim
  BACKPROPX_ARG(std::optional<int64_t>, vdim);  // default embed_dim
  BACKPROPX_ARG(bool, batch_first) = false;
  BACKPROPX_ARG(DType, dtype) = DType::Float32;
};

// (output like query, weights [N, L, S] averaged over heads, [N, H, L, S] per head, or undefined).
struct AttentionOutput {
  Tensor output, weights;
};

class MultiheadAttention : public Module {
 public:
  // Multi-head attention from options, initialised as torch.
  explicit MultiheadAttention(const MultiheadAttentionOptions& options);
  // MultiheadAttention(embed_dim, num_heads).
  MultiheadAttention(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttention(MultiheadAttentionOptions(embed_dim, num_heads)) {}
  // Redraws the parameters as torch: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k/v.
  void reset_parameters();
  // query [L, N, E] (batch_first: [N, L, E]; unbatched [L, E]), key [S, N, kdim], value [S, N, vdim];
  // attn_mask [L, S] or [N * num_heads, L, S]; is_causal is torch's hint that attn_mask is causal.
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& key_padding_mask = Tensor(), bool need_weights = true,
                          const Tensor& attn_mask = Tensor(), bool average_attn_weights = true,
                          bool is_causal = false) const;

  MultiheadAttentionOptions options;
  int64_t kdim, vdim, head_dim;
  bool qkv_same_embed_dim;
  Tensor in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias, bias_k, bias_v;
  std::shared_ptr<Linear> out_proj;

 private:
  Tensor merge_masks(const Tensor& attn_mask, const Tensor& key_padding_mask, int64_t N, int64_t L, int64_t S,
                     DType dtype) const;
};

}  // namespace backpropx::nn
