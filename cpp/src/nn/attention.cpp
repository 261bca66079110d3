// MultiheadAttention: torch's parameters and mask conventions on the fused attention op; the same steps as
// Python's bx.nn.MultiheadAttention.forward (projections, head split as views, one fused kernel, merge,
// out_proj).
#include "backpropx/nn/attention.h"

#include <cmath>
#include <limits>

#include "backpropx/autograd.h"
#include "backpropx/nn/init.h"
#include "backpropx/ops.h"

namespace backpropx::nn {

namespace {

// A bool mask (true = masked out) as an additive float mask: -inf where true, 0 elsewhere.
Tensor neg_inf_where(const Tensor& mask, DType dtype) {
  return masked_fill(zeros(mask.shape(), dtype), mask, -std::numeric_limits<double>::infinity());
}

// mask [..., S] -> [..., S + 1], the new key not masked (for bias_k / add_zero_attn).
Tensor pad_last(const Tensor& mask) {
  if (!mask.defined()) return mask;
  Shape shape = mask.shape();
  shape.back() = 1;
  return cat({mask, zeros(shape, mask.dtype())}, mask.dim() - 1);
}

}  // namespace

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& o) : Module("MultiheadAttention"), options(o) {
  const int64_t E = o.embed_dim(), H = o.num_heads();
  BPX_CHECK(E > 0 && H > 0, ValueError, "MultiheadAttention: embed_dim and num_heads must be positive, got embed_dim=",
            E, " and num_heads=", H);
  BPX_CHECK(E % H == 0, ValueError, "MultiheadAttention: embed_dim (", E, ") must be divisible by num_heads (", H, ")");
  kdim = o.kdim().value_or(E);
  vdim = o.vdim().value_or(E);
  qkv_same_embed_dim = kdim == E && vdim == E;
  head_dim = E / H;
  const DType dt = o.dtype();
  if (qkv_same_embed_dim) {
    in_proj_weight = register_parameter("in_proj_weight", Tensor::empty({3 * E, E}, dt));
    register_parameter("q_proj_weight", Tensor());
    register_parameter("k_proj_weight", Tensor());
    register_parameter("v_proj_weight", Tensor());
  } else {
    q_proj_weight = register_parameter("q_proj_weight", Tensor::empty({E, E}, dt));
    k_proj_weight = register_parameter("k_proj_weight", Tensor::empty({E, kdim}, dt));
    v_proj_weight = register_parameter("v_proj_weight", Tensor::empty({E, vdim}, dt));
    register_parameter("in_proj_weight", Tensor());
  }
  in_proj_bias = register_parameter("in_proj_bias", o.bias() ? Tensor::empty({3 * E}, dt) : Tensor());
  // As torch (and Python): out_proj is built (and draws its default init) before the projections' init.
  out_proj = register_module("out_proj", std::make_shared<Linear>(LinearOptions(E, E).bias(o.bias()).dtype(dt)));
  if (o.add_bias_kv()) {
    bias_k = register_parameter("bias_k", Tensor::empty({1, 1, E}, dt));
    bias_v = register_parameter("bias_v", Tensor::empty({1, 1, E}, dt));
  }
  reset_parameters();
}

void MultiheadAttention::reset_parameters() {
  if (qkv_same_embed_dim) {
    init::xavier_uniform_(in_proj_weight);
  } else {
    init::xavier_uniform_(q_proj_weight);
    init::xavier_uniform_(k_proj_weight);
    init::xavier_uniform_(v_proj_weight);
  }
  if (in_proj_bias.defined()) {
    init::constant_(in_proj_bias, 0.0);
    init::constant_(out_proj->bias, 0.0);
  }
  if (bias_k.defined()) {
    init::xavier_normal_(bias_k);
    init::xavier_normal_(bias_v);
  }
}

Tensor MultiheadAttention::merge_masks(const Tensor& attn_mask, const Tensor& key_padding_mask, int64_t N, int64_t L,
                                       int64_t S, DType dtype) const {
  const int64_t H = options.num_heads();
  std::vector<Tensor> masks;
  if (attn_mask.defined()) {
    if (attn_mask.dim() == 2) {
      BPX_CHECK(attn_mask.shape() == (Shape{L, S}), RuntimeError, "MultiheadAttention: the shape of the 2D attn_mask is ",
                shape_str(attn_mask.shape()), ", but should be ", shape_str({L, S}));
      masks.push_back(attn_mask);
    } else if (attn_mask.dim() == 3) {
      BPX_CHECK(attn_mask.shape() == (Shape{N * H, L, S}), RuntimeError, "MultiheadAttention: the shape of the 3D "
                "attn_mask is ", shape_str(attn_mask.shape()), ", but should be ", shape_str({N * H, L, S}));
      masks.push_back(reshape(attn_mask, {N, H, L, S}));
    } else {
      throw RuntimeError(cat("MultiheadAttention: attn_mask must be 2-D [L, S] or 3-D [N * num_heads, L, S], got shape ",
                             shape_str(attn_mask.shape())));
    }
  }
  if (key_padding_mask.defined()) {
    BPX_CHECK(key_padding_mask.shape() == (Shape{N, S}), ValueError, "MultiheadAttention: expected key_padding_mask of "
              "shape ", shape_str({N, S}), ", got ", shape_str(key_padding_mask.shape()));
    masks.push_back(reshape(key_padding_mask, {N, 1, 1, S}));
  }
  bool all_bool = true;
  for (const auto& m : masks) {
    BPX_CHECK(m.dtype() == DType::Bool || is_floating(m.dtype()), TypeError,
              "MultiheadAttention: only bool and float masks are supported, got ", dtype_name(m.dtype()));
    all_bool = all_bool && m.dtype() == DType::Bool;
  }
  if (masks.empty()) return Tensor();
  if (all_bool) {
    Tensor blocked = masks.size() == 1 ? masks[0] : logical_or(masks[0], masks[1]);
    return logical_not(blocked);
  }
  std::vector<Tensor> floats;
  for (const auto& m : masks) floats.push_back(m.dtype() == DType::Bool ? neg_inf_where(m, dtype) : m);
  return floats.size() == 1 ? floats[0] : add(floats[0], floats[1]);
}

AttentionOutput MultiheadAttention::forward(const Tensor& query_in, const Tensor& key_in, const Tensor& value_in,
                                            const Tensor& key_padding_mask_in, bool need_weights,
                                            const Tensor& attn_mask_in, bool average_attn_weights,
                                            bool is_causal) const {
  BPX_CHECK(query_in.dim() == 2 || query_in.dim() == 3, ValueError, "MultiheadAttention: query should be unbatched "
            "2-D or batched 3-D, got shape ", shape_str(query_in.shape()));
  BPX_CHECK(key_in.dim() == query_in.dim() && value_in.dim() == query_in.dim(), ValueError, "MultiheadAttention: "
            "query, key and value must all be 2-D or all 3-D, got shapes ", shape_str(query_in.shape()), ", ",
            shape_str(key_in.shape()), " and ", shape_str(value_in.shape()));
  BPX_CHECK(!is_causal || attn_mask_in.defined(), RuntimeError, "MultiheadAttention: need attn_mask if specifying the "
            "is_causal hint (pass the causal mask, e.g. nn::generate_square_subsequent_mask(L))");
  const bool batched = query_in.dim() == 3;
  const int64_t seq_dim = (options.batch_first() && batched) ? 1 : 0, batch_dim = 1 - seq_dim;
  Tensor query = query_in, key = key_in, value = value_in, kpm = key_padding_mask_in, attn_mask = attn_mask_in;
  if (!batched) {
    query = unsqueeze(query, 1);
    key = unsqueeze(key, 1);
    value = unsqueeze(value, 1);
    if (kpm.defined()) kpm = unsqueeze(kpm, 0);
  }
  const int64_t L = query.size(seq_dim), N = query.size(batch_dim);
  int64_t S = key.size(seq_dim);
  const int64_t E = options.embed_dim(), H = options.num_heads(), Dh = head_dim;
  BPX_CHECK(query.size(2) == E && key.size(2) == kdim && value.size(2) == vdim, ValueError,
            "MultiheadAttention: expected query [.., ", E, "], key [.., ", kdim, "] and value [.., ", vdim,
            "], got shapes ", shape_str(query_in.shape()), ", ", shape_str(key_in.shape()), " and ",
            shape_str(value_in.shape()));
  BPX_CHECK(key.size(batch_dim) == N && value.size(batch_dim) == N && value.size(seq_dim) == S, ValueError,
            "MultiheadAttention: query, key and value disagree on the batch size or key and value on the sequence "
            "length: shapes ", shape_str(query_in.shape()), ", ", shape_str(key_in.shape()), " and ",
            shape_str(value_in.shape()), " (batch_first=", options.batch_first() ? "true" : "false", ")");

  // The input projections: three GEMMs on slices of in_proj_weight / in_proj_bias.
  Tensor bq, bk, bv, wq, wk, wv;
  if (in_proj_bias.defined()) {
    bq = slice(in_proj_bias, 0, 0, E);
    bk = slice(in_proj_bias, 0, E, 2 * E);
    bv = slice(in_proj_bias, 0, 2 * E, std::nullopt);
  }
  if (qkv_same_embed_dim) {
    wq = slice(in_proj_weight, 0, 0, E);
    wk = slice(in_proj_weight, 0, E, 2 * E);
    wv = slice(in_proj_weight, 0, 2 * E, std::nullopt);
  } else {
    wq = q_proj_weight;
    wk = k_proj_weight;
    wv = v_proj_weight;
  }
  Tensor q = linear(query, wq, bq), k = linear(key, wk, bk), v = linear(value, wv, bv);
  if (bias_k.defined()) {  // one more key / value: the learned bias_k / bias_v
    Shape shape = seq_dim == 1 ? Shape{N, 1, E} : Shape{1, N, E};
    k = cat({k, expand(reshape(bias_k, {1, 1, E}), shape)}, seq_dim);
    v = cat({v, expand(reshape(bias_v, {1, 1, E}), shape)}, seq_dim);
    attn_mask = pad_last(attn_mask);
    kpm = pad_last(kpm);
    S += 1;
  }
  // heads: [L, N, E] (or [N, L, E]) -> [N, H, L, Dh] views
  auto heads = [&](const Tensor& t, int64_t length) {
    if (seq_dim == 0) return permute(reshape(t, {length, N, H, Dh}), {1, 2, 0, 3});
    return transpose(reshape(t, {N, length, H, Dh}), 1, 2);
  };
  q = heads(q, L);
  k = heads(k, S);
  v = heads(v, S);
  if (options.add_zero_attn()) {  // one more key / value of zeros
    k = cat({k, zeros({N, H, 1, Dh}, k.dtype())}, 2);
    v = cat({v, zeros({N, H, 1, Dh}, v.dtype())}, 2);
    attn_mask = pad_last(attn_mask);
    kpm = pad_last(kpm);
    S += 1;
  }
  const bool causal = is_causal && !kpm.defined() && !bias_k.defined() && !options.add_zero_attn();
  Tensor mask = causal ? Tensor() : merge_masks(attn_mask, kpm, N, L, S, q.dtype());
  const double p = is_training() ? options.dropout() : 0.0;
  AttentionResult r = attention_with_weights(q, k, v, mask, p, causal, std::nullopt, need_weights);

  // [N, H, L, Dh] -> [L, N, E] (or [N, L, E])
  Tensor out = seq_dim == 0 ? reshape(permute(r.output, {2, 0, 1, 3}), {L, N, E})
                            : reshape(transpose(r.output, 1, 2), {N, L, E});
  out = out_proj->forward(out);
  Tensor weights = r.weights;
  if (weights.defined() && average_attn_weights) weights = mean(weights, {1});
  if (!batched) {
    out = squeeze(out, 1);
    if (weights.defined()) weights = squeeze(weights, 0);
  }
  return {out, weights};
}

}  // namespace backpropx::nn
