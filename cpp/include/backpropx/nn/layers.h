// Basic layers with torch's names, parameter layouts and default initialisation: Linear, Embedding,
// LayerNorm, Dropout. Each forward is the core op Python's layer calls (linear, embedding, layer_norm,
// dropout), so C++ and Python compute the same numbers.
#pragma once
#include <cstdint>
#include <optional>

#include "backpropx/nn/module.h"
#include "backpropx/nn/options.h"

namespace backpropx::nn {

struct LinearOptions {
  // in_features -> out_features.
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  BACKPROPX_ARG(int64_t, in_features);
  BACKPROPX_ARG(int64_t, out_features);
  BACKPROPX_ARG(bool, bias) = true;
  BACKPROPX_ARG(DType, dtype) = DType::Float32;
};

// y = x W^T + b with weight [out_features, in_features] and bias [out_features], both
// U(-1/sqrt(in), 1/sqrt(in)) as torch.
class Linear : public Module {
 public:
  // A Linear layer from options (sizes, bias, dtype), initialised as torch.
  explicit Linear(const LinearOptions& options);
  // Linear(in_features, out_features[, bias]).
  Linear(int64_t in_features, int64_t out_features, bool bias = true)
      : Linear(LinearOptions(in_features, out_features).bias(bias)) {}
  // Redraws weight and bias from the default initialisation.
  void reset_parameters();
  // x [..., in_features] -> [..., out_features].
  Tensor forward(const Tensor& x) const;
  // Same as forward.
  Tensor operator()(const Tensor& x) const { return forward(x); }

  LinearOptions options;
  Tensor weight, bias;  // bias undefined when options.bias() is false
};

struct EmbeddingOptions {
  // A table of num_embeddings rows of embedding_dim.
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  BACKPROPX_ARG(int64_t, num_embeddings);
  BACKPROPX_ARG(int64_t, embedding_dim);
  BACKPROPX_ARG(std::optional<int64_t>, padding_idx);  // negative counts from the end, as torch
  BACKPROPX_ARG(bool, sparse) = false;                 // row-sparse weight gradients (SGD, Adagrad, SparseAdam)
  BACKPROPX_ARG(DType, dtype) = DType::Float32;
};

// A lookup table weight [num_embeddings, embedding_dim], N(0, 1); the padding_idx row starts at zero and
// gets no gradient.
class Embedding : public Module {
 public:
  // An Embedding from options (sizes, padding_idx, sparse, dtype), N(0, 1) as torch.
  explicit Embedding(const EmbeddingOptions& options);
  // Embedding(num_embeddings, embedding_dim).
  Embedding(int64_t num_embeddings, int64_t embedding_dim) : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  // Redraws the weight (and zeroes the padding row).
  void reset_parameters();
  // ids int64 [...] -> [..., embedding_dim].
  Tensor forward(const Tensor& ids) const;
  // Same as forward.
  Tensor operator()(const Tensor& ids) const { return forward(ids); }

  EmbeddingOptions options;  // padding_idx is stored wrapped to [0, num_embeddings)
  Tensor weight;
};

struct LayerNormOptions {
  // Normalisation over the trailing dims normalized_shape.
  explicit LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  BACKPROPX_ARG(Shape, normalized_shape);
  BACKPROPX_ARG(double, eps) = 1e-5;
  BACKPROPX_ARG(bool, elementwise_affine) = true;
  BACKPROPX_ARG(bool, bias) = true;
  BACKPROPX_ARG(DType, dtype) = DType::Float32;
};

// Normalises over the trailing normalized_shape dims; weight ones, bias zeros.
class LayerNorm : public Module {
 public:
  // A LayerNorm from options (shape, eps, affine, bias, dtype).
  explicit LayerNorm(const LayerNormOptions& options);
  // LayerNorm over the last dim of size d.
  explicit LayerNorm(int64_t d, double eps = 1e-5) : LayerNorm(LayerNormOptions({d}).eps(eps)) {}
  // x [..., *normalized_shape] -> same shape.
  Tensor forward(const Tensor& x) const;
  // Same as forward.
  Tensor operator()(const Tensor& x) const { return forward(x); }

  LayerNormOptions options;
  Tensor weight, bias;  // undefined without elementwise_affine (bias also without bias)
};

// Zeroes elements with probability p in training mode (scaling the rest by 1 / (1 - p)); identity in eval.
class Dropout : public Module {
 public:
  // Dropout with probability p (0 <= p <= 1).
  explicit Dropout(double p = 0.5);
  // Applies dropout when is_training().
  Tensor forward(const Tensor& x) const;
  // Same as forward.
  Tensor operator()(const Tensor& x) const { return forward(x); }

  double p;
};

}  // namespace backpropx::nn
