// Linear, Embedding, LayerNorm, Dropout: torch's parameters and inits on the core ops Python's layers call.
#include "backpropx/nn/layers.h"

#include <cmath>

#include "backpropx/autograd.h"
#include "backpropx/nn/init.h"
#include "backpropx/ops.h"

namespace backpropx::nn {

// ---- Linear -----------------------------------------------------------------------------------------

Linear::Linear(const LinearOptions& o) : Module("Linear"), options(o) {
  BPX_CHECK(o.in_features() >= 0 && o.out_features() >= 0, ValueError, "Linear: in_features and out_features must be "
            "non-negative, got ", o.in_features(), " and ", o.out_features());
  weight = register_parameter("weight", Tensor::empty({o.out_features(), o.in_features()}, o.dtype()));
  bias = register_parameter("bias", o.bias() ? Tensor::empty({o.out_features()}, o.dtype()) : Tensor());
  reset_parameters();
}

void Linear::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));  // = U(-1/sqrt(in), 1/sqrt(in))
  if (bias.defined()) {
    double bound = options.in_features() > 0 ? 1 / std::sqrt(static_cast<double>(options.in_features())) : 0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

// ---- Embedding --------------------------------------------------------------------------------------

Embedding::Embedding(const EmbeddingOptions& o) : Module("Embedding"), options(o) {
  const int64_t n = o.num_embeddings();
  BPX_CHECK(n >= 0 && o.embedding_dim() >= 0, ValueError, "Embedding: sizes must be non-negative, got ", n, " and ",
            o.embedding_dim());
  if (o.padding_idx()) {
    int64_t p = *o.padding_idx();
    BPX_CHECK(-n <= p && p < n, ValueError, "Embedding: padding_idx ", p, " must be within num_embeddings (", n, ")");
    options.padding_idx(p < 0 ? p + n : p);
  }
  weight = register_parameter("weight", Tensor::empty({n, o.embedding_dim()}, o.dtype()));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (options.padding_idx()) {
    NoGradGuard ng;
    select(weight, 0, *options.padding_idx()).fill_(0.0);
  }
}

Tensor Embedding::forward(const Tensor& ids) const {
  return embedding(ids, weight, options.padding_idx(), options.sparse());
}

// ---- LayerNorm --------------------------------------------------------------------------------------

LayerNorm::LayerNorm(const LayerNormOptions& o) : Module("LayerNorm"), options(o) {
  if (o.elementwise_affine()) {
    weight = register_parameter("weight", ones(o.normalized_shape(), o.dtype()));
    bias = register_parameter("bias", o.bias() ? zeros(o.normalized_shape(), o.dtype()) : Tensor());
  } else {
    register_parameter("weight", Tensor());
    register_parameter("bias", Tensor());
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  return layer_norm(x, options.normalized_shape(), weight, bias, options.eps());
}

// ---- Dropout ----------------------------------------------------------------------------------------

Dropout::Dropout(double p_) : Module("Dropout"), p(p_) {
  BPX_CHECK(0.0 <= p && p <= 1.0, ValueError, "dropout probability has to be between 0 and 1, but got ", p);
}

Tensor Dropout::forward(const Tensor& x) const { return dropout(x, p, is_training()); }

}  // namespace backpropx::nn
