// Attention as bx.<op>: scaled_dot_product_attention (torch.nn.functional's name, arguments, order and
// defaults), and the internal _attention_with_weights that bx.nn.MultiheadAttention and the seq2seq
// attention layers call to also get the attention weights from the same fused kernel.
#include "backpropx/ops/attention.h"
#include "bind_common.h"

namespace backpropx::python {

namespace {

Tensor opt(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

// enable_gqa: query [..., Hq, L, E] with key / value [..., Hk, S, *] and Hq a multiple of Hk. Query head
// h reads key head h / (Hq / Hk): query (and a per-head mask) are viewed as [..., Hk, Hq / Hk, L, *]
// and key / value get a size-1 dim that broadcasts over the group; the output is merged back.
Tensor grouped_query_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                               double dropout_p, bool is_causal, std::optional<double> scale) {
  const char* op = "scaled_dot_product_attention";
  BPX_CHECK(q.dim() >= 3 && k.dim() >= 3 && v.dim() >= 3, ValueError, op,
            ": enable_gqa needs a head dim (dim -3) in query, key and value, got shapes ", shape_str(q.shape()),
            ", ", shape_str(k.shape()), " and ", shape_str(v.shape()));
  const int64_t hq = q.size(-3), hk = k.size(-3);
  BPX_CHECK(hk >= 1 && hq % hk == 0 && v.size(-3) == hk, ValueError, op,
            ": enable_gqa needs the query heads (", hq, ") to be a multiple of the key / value heads (", hk, ", ",
            v.size(-3), ")");
  auto split_heads = [&](const Tensor& t) {
    Shape s(t.shape().begin(), t.shape().end() - 3);
    s.insert(s.end(), {hk, hq / hk, t.size(-2), t.size(-1)});
    return reshape(t, s);
  };
  Tensor m = mask;
  if (m.defined() && m.dim() >= 3) m = m.size(-3) == hq && hq != 1 ? split_heads(m) : unsqueeze(m, -3);
  Tensor out = scaled_dot_product_attention(split_heads(q), unsqueeze(k, -3), unsqueeze(v, -3), m, dropout_p,
                                            is_causal, scale);
  Shape s(q.shape().begin(), q.shape().end() - 1);
  s.push_back(v.size(-1));
  return reshape(out, s);
}

}  // namespace

void bind_attention(py::module_& m) {
  using namespace py::literals;

  def_op(m, "scaled_dot_product_attention",
         [](const Tensor& query, const Tensor& key, const Tensor& value, std::optional<Tensor> attn_mask,
            double dropout_p, bool is_causal, std::optional<double> scale, bool enable_gqa) {
           if (enable_gqa && query.dim() >= 3 && key.dim() >= 3 && query.size(-3) != key.size(-3))
             return grouped_query_attention(query, key, value, opt(attn_mask), dropout_p, is_causal, scale);
           return scaled_dot_product_attention(query, key, value, opt(attn_mask), dropout_p, is_causal, scale);
         },
         "query"_a, "key"_a, "value"_a, "attn_mask"_a = py::none(), "dropout_p"_a = 0.0, "is_causal"_a = false,
         "scale"_a = py::none(), "enable_gqa"_a = false,
         "softmax(query key^T * scale + attn_mask) value, one fused op (bool attn_mask: True = may attend).\n"
         "A query row with every key masked out gives zeros (torch gives NaN).");

  m.def("_attention_with_weights",
        [](const Tensor& query, const Tensor& key, const Tensor& value, std::optional<Tensor> attn_mask,
           double dropout_p, bool is_causal, std::optional<double> scale, bool need_weights) {
          AttentionResult r =
              attention_with_weights(query, key, value, opt(attn_mask), dropout_p, is_causal, scale, need_weights);
          return py::make_tuple(r.output, r.weights.defined() ? py::cast(r.weights) : py::none());
        },
        "query"_a, "key"_a, "value"_a, "attn_mask"_a = py::none(), "dropout_p"_a = 0.0, "is_causal"_a = false,
        "scale"_a = py::none(), "need_weights"_a = true,
        "Internal: scaled_dot_product_attention that also returns the attention weights [..., L, S] (after "
        "dropout) as a differentiable output; attn_mask and is_causal may be given together.");
}

}  // namespace backpropx::python
