// Attention: scaled_dot_product_attention as one fused op with a fused backward
// (kernels: cpp/src/ops/attention.cpp). Semantics follow torch.nn.functional.scaled_dot_product_attention.
#pragma once
#include <optional>

#include "backpropx/tensor.h"

namespace backpropx {

// softmax(query key^T * scale + mask) value, with dropout on the attention weights.
//   query [..., L, E], key [..., S, E], value [..., S, Ev] -> [..., L, Ev]; the batch dims broadcast.
//   attn_mask (optional) broadcasts to [..., L, S]: bool (true = may attend, as torch) or float (added to
//   the scores; it gets a gradient). is_causal masks out key j > query i (top-left aligned, as torch);
//   torch refuses attn_mask together with is_causal, and so does this op.
//   scale defaults to 1 / sqrt(E). dropout_p > 0 drops attention weights with the global generator.
// A query row whose every key is masked out gives zero weights and a zero output (torch gives NaN), and
// no NaN reaches any gradient.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);

// The same op that also returns the attention weights [..., L, S] (after dropout, as torch's
// MultiheadAttention returns them) as a second differentiable output; weights is undefined unless
// need_weights. Unlike the public op it accepts attn_mask together with is_causal (both apply).
struct AttentionResult {
  Tensor output;
  Tensor weights;
};
AttentionResult attention_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                       const Tensor& attn_mask, double dropout_p, bool is_causal,
                                       std::optional<double> scale, bool need_weights);

}  // namespace backpropx
