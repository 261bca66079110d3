// The NLP ops, each one fused kernel with a fused backward: embedding, softmax, log_softmax,
// cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits, dropout, layer_norm.
// Kernels: cpp/src/ops/{embedding,softmax,loss,dropout,layer_norm}.cpp. Semantics follow
// torch.nn.functional; as there, class weights and pos_weight are constants (no gradient), and
// targets/ids are int64 tensors without gradient.
#pragma once
#include <optional>
#include <string>

#include "backpropx/tensor.h"

namespace backpropx {

enum class Reduction { None, Mean, Sum };
Reduction parse_reduction(const std::string& s, const char* op);  // "none" | "mean" | "sum"

// weight [V, D], ids int64 of any shape -> [..., D]. The row at padding_idx gets no gradient.
Tensor embedding(const Tensor& ids, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt,
                 bool sparse = false);  // sparse: the weight's gradient is row-sparse (backpropx/sparse.h)

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// logits [N, C] or [C] or [N, C, d1...]; target int64 [N] / [] / [N, d1...]. Rows whose target is
// ignore_index contribute 0 and leave the 'mean' denominator (the sum of the targets' class weights).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, Reduction reduction = Reduction::Mean,
                     double label_smoothing = 0.0);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const Tensor& weight = Tensor(),
                int64_t ignore_index = -100, Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean,
                                        const Tensor& pos_weight = Tensor());

// Sum, mean or max of each bag of embedding rows: ids [B, N] (B bags of N) or 1-D with offsets [B]
// (or [B + 1] with include_last_offset); padding_idx entries are skipped; empty bags give zeros.
// per_sample_weights (mode "sum" only) scale each looked-up row.
Tensor embedding_bag(const Tensor& ids, const Tensor& weight, const Tensor& offsets = Tensor(),
                     const std::string& mode = "mean", const Tensor& per_sample_weights = Tensor(),
                     bool include_last_offset = false, std::optional<int64_t> padding_idx = std::nullopt);

// Inverted dropout: zeroes each element with probability p, scales the rest by 1/(1-p).
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

// Normalises over the trailing dims given by normalized_shape.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace backpropx
