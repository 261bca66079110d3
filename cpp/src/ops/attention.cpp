// scaled_dot_product_attention: one fused forward and one fused backward (the attention pair llm.c
// writes as attention_forward / attention_backward), on the strided GEMM entry point.
//
// Per batch entry b (the broadcast batch dims of query, key, value and mask, folded into one index):
//   forward   P = softmax(scale Q K^T + mask)    one GEMM into P [L, S], then one pass per row: mask,
//                                                 causal limit, stable softmax (a row with no key left
//                                                 is all zeros)
//             W = P * D / (1 - p)                 D: the dropout keep mask (only when p > 0)
//             O = W V                             one GEMM, written in query's memory order
//   backward  dW = dO V^T (+ the weights' own gradient)          GEMM
//             dV = W^T dO                                        GEMM
//             dP = dW * D / (1 - p);  dS = P * (dP - rowsum(dP * P))   one pass per row, in place
//             dQ = scale dS K,  dK = scale dS^T Q,  dmask = dS    GEMMs (dmask summed to mask's shape)
// P (and D) are saved for backward; the GEMMs read Q, K, V and dO through their strides (views such as
// a head split [B, L, H, Dh] -> [B, H, L, Dh] are never copied). The GEMMs of a batch run in parallel
// over the batch (one single-threaded GEMM per thread) unless the batch is small and the matrices big.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/ops/attention.h"
#include "backpropx/runtime.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// The shapes of one attention problem and, for each operand, its strides over [batch..., rows, cols]
// (0 on broadcast dims) and the element offset of every batch entry.
struct Plan {
  Shape batch;
  int64_t nb = 1, L = 0, S = 0, E = 0, Ev = 0;
  double scale = 1.0;
  bool causal = false;
  Shape q_st, k_st, v_st, m_st;
  std::vector<int64_t> q_off, k_off, v_off, m_off;
};

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

// Offsets of every batch entry (row-major over `batch`) for an operand with strides `st`.
std::vector<int64_t> batch_offsets(const Shape& batch, const Shape& st) {
  const int64_t nb = shape_numel(batch), nd = static_cast<int64_t>(batch.size());
  std::vector<int64_t> off(static_cast<size_t>(nb), 0);
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  int64_t cur = 0;
  for (int64_t b = 0; b < nb; ++b) {
    off[b] = cur;
    for (int64_t d = nd - 1; d >= 0; --d) {
      ++idx[d];
      cur += st[d];
      if (idx[d] < batch[d]) break;
      cur -= st[d] * batch[d];
      idx[d] = 0;
    }
  }
  return off;
}

// Broadcasts the batch part (all dims but the last two) of shape s into `batch`; false if impossible.
bool broadcast_batch_into(Shape& batch, const Shape& s) {
  const size_t nb = s.size() >= 2 ? s.size() - 2 : 0;
  if (nb > batch.size()) batch.insert(batch.begin(), nb - batch.size(), 1);
  const size_t off = batch.size() - nb;
  for (size_t i = 0; i < nb; ++i) {
    int64_t a = batch[off + i], b = s[i];
    if (a != b && a != 1 && b != 1) return false;
    batch[off + i] = a == 1 ? b : a;
  }
  return true;
}

// A 2-D view of t at batch offset off (relative to t's own offset).
Tensor matrix(const Tensor& t, int64_t off, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  return make_view(t, {rows, cols}, {rs, cs}, t.offset() + off);
}

// A new tensor of `shape` laid out in memory in the dim order of `like` (same shape but the last dim),
// so that the output of attention on a head-split view ([B, H, L, Dh] over [B, L, H, Dh] memory) is
// already in the memory order the caller merges the heads in. Contiguous when that order is unclear.
Tensor empty_in_order_of(const Tensor& like, const Shape& shape, DType dtype) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  bool same = like.dim() == nd && nd >= 2 && (like.strides()[nd - 1] == 1 || like.shape()[nd - 1] <= 1);
  for (int64_t d = 0; same && d + 1 < nd; ++d)
    same = like.shape()[d] == shape[d] && (like.strides()[d] != 0 || shape[d] <= 1);
  if (!same) return Tensor::empty(shape, dtype);
  std::vector<int64_t> order(static_cast<size_t>(nd - 1));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return like.strides()[a] > like.strides()[b]; });
  Shape strides(static_cast<size_t>(nd));
  strides[nd - 1] = 1;
  int64_t running = shape[nd - 1];
  for (int64_t i = nd - 2; i >= 0; --i) {
    strides[order[i]] = running;
    running *= shape[order[i]];
  }
  Tensor base = Tensor::empty({shape_numel(shape)}, dtype);
  return make_view(base, shape, strides, 0);
}

// A gradient with a 0 stride on a dim of size > 1 (an expanded view) is copied once up front.
Tensor without_zero_strides(const Tensor& g) {
  for (int64_t d = 0; d < g.dim(); ++d)
    if (g.shape()[d] > 1 && g.strides()[d] == 0) return g.contiguous();
  return g;
}

// f(b) for every batch entry: in parallel over the batch (one single-threaded GEMM per thread) when the
// batch gives every thread work, else one after the other (each GEMM then uses all threads).
template <typename F>
void for_each_batch(int64_t nb, double flops_each, F&& f) {
  const int threads = get_num_threads();
  const bool small = flops_each <= 262144.0;  // 64^3
  const bool worth_threads = flops_each * static_cast<double>(nb) > 65536.0;
  if (nb > 1 && threads > 1 && worth_threads && (small || nb >= threads)) {
    parallel_for(nb, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) f(i);
    });
    return;
  }
  for (int64_t i = 0; i < nb; ++i) f(i);
}

template <typename T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;

// One row of scores s[0..S) -> softmax weights in place, given the row's mask (bool or float, strided)
// and the causal limit (keys j < lim may be attended). A row with nothing to attend becomes zeros.
template <typename T, typename M>
void softmax_row(T* s, int64_t S, int64_t lim, const M* mask, int64_t mask_stride) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  if (mask) {
    for (int64_t j = 0; j < lim; ++j) {
      const M m = mask[j * mask_stride];
      if constexpr (std::is_same_v<M, bool>) {
        if (!m) s[j] = kNegInf;
      } else {
        s[j] += m;
      }
    }
  }
  for (int64_t j = lim; j < S; ++j) s[j] = T(0);
  if (lim == 0) return;
  Eigen::Map<Vec<T>> row(s, lim);
  const T mx = row.maxCoeff();
  if (mx == kNegInf) {  // every key masked out: zero weights (torch gives NaN)
    row.setZero();
    return;
  }
  // Eigen's vectorised exp clamps its argument, so exp(-inf) would be a tiny denormal: select exact zeros
  row = (row > kNegInf).select((row - mx).exp(), T(0));
  row *= T(1) / row.sum();
}

// The forward pass into p (the softmax weights [nb, L, S]), w (the dropped weights, or p itself) and out.
template <typename T>
void forward_kernel(const Plan& P, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                    const bool* keep, double keep_scale, Tensor& p, Tensor& w, Tensor& out) {
  const int64_t L = P.L, S = P.S, E = P.E, Ev = P.Ev, nb = P.nb;
  const Shape& os = out.strides();
  const int64_t nd = out.dim();
  const std::vector<int64_t> o_off = batch_offsets(P.batch, Shape(os.begin(), os.end() - 2));
  // scores = scale Q K^T
  for_each_batch(nb, 2.0 * L * S * E, [&](int64_t b) {
    Tensor qb = matrix(q, P.q_off[b], L, E, P.q_st[P.q_st.size() - 2], P.q_st.back());
    Tensor kb = matrix(k, P.k_off[b], S, E, P.k_st[P.k_st.size() - 2], P.k_st.back());
    Tensor pb = matrix(p, b * L * S, L, S, S, 1);
    gemm(qb, false, kb, true, pb, P.scale, 0.0);
  });
  // mask, causal limit and softmax, row by row
  T* pp = p.data<T>();
  const int64_t mrs = mask.defined() ? P.m_st[P.m_st.size() - 2] : 0;
  const int64_t mcs = mask.defined() ? P.m_st.back() : 0;
  parallel_for(nb * L, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / L, i = r % L;
      const int64_t lim = P.causal ? std::min(S, i + 1) : S;
      T* row = pp + r * S;
      if (mask.defined() && mask.dtype() == DType::Bool)
        softmax_row<T, bool>(row, S, lim, mask.data<bool>() + P.m_off[b] + i * mrs, mcs);
      else if (mask.defined())
        softmax_row<T, T>(row, S, lim, mask.data<T>() + P.m_off[b] + i * mrs, mcs);
      else
        softmax_row<T, T>(row, S, lim, nullptr, 0);
    }
  });
  // dropout on the weights
  if (keep) {
    const T* src = p.data<T>();
    T* dst = w.data<T>();
    const T s = static_cast<T>(keep_scale);
    parallel_for(nb * L * S, kParallelGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) dst[i] = keep[i] ? src[i] * s : T(0);
    });
  }
  // out = W V
  for_each_batch(nb, 2.0 * L * S * Ev, [&](int64_t b) {
    Tensor wb = matrix(w, b * L * S, L, S, S, 1);
    Tensor vb = matrix(v, P.v_off[b], S, Ev, P.v_st[P.v_st.size() - 2], P.v_st.back());
    Tensor ob = matrix(out, o_off[b], L, Ev, os[nd - 2], os[nd - 1]);
    gemm(wb, false, vb, false, ob, 1.0, 0.0);
  });
}

struct Grads {
  Tensor dq, dk, dv, dmask;  // over the full batch; summed to the inputs' shapes by the caller
};

template <typename T>
Grads backward_kernel(const Plan& P, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& p,
                      const Tensor& keep_mask, double keep_scale, const Tensor& d_out, const Tensor& d_weights,
                      bool need_q, bool need_k, bool need_v, bool need_mask) {
  const int64_t L = P.L, S = P.S, E = P.E, Ev = P.Ev, nb = P.nb;
  const DType dt = p.dtype();
  const bool* keep = keep_mask.defined() ? keep_mask.data<bool>() : nullptr;
  const T ks = static_cast<T>(keep_scale);
  // W: the weights as used in O = W V (P itself without dropout)
  Tensor w = p;
  if (keep && need_v && d_out.defined()) {
    w = Tensor::empty(p.shape(), dt);
    const T* src = p.data<T>();
    T* dst = w.data<T>();
    parallel_for(nb * L * S, kParallelGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) dst[i] = keep[i] ? src[i] * ks : T(0);
    });
  }
  Tensor g = Tensor::empty(with_matrix(P.batch, L, S), dt);  // dW, then dS in place
  std::vector<int64_t> go_off;
  Shape go_st;
  if (d_out.defined()) {
    go_st = broadcast_strides(d_out, with_matrix(P.batch, L, Ev));
    go_off = batch_offsets(P.batch, Shape(go_st.begin(), go_st.end() - 2));
    for_each_batch(nb, 2.0 * L * S * Ev, [&](int64_t b) {  // dW = dO V^T
      Tensor gob = matrix(d_out, go_off[b], L, Ev, go_st[go_st.size() - 2], go_st.back());
      Tensor vb = matrix(v, P.v_off[b], S, Ev, P.v_st[P.v_st.size() - 2], P.v_st.back());
      Tensor gb = matrix(g, b * L * S, L, S, S, 1);
      gemm(gob, false, vb, true, gb, 1.0, 0.0);
    });
    if (d_weights.defined()) g.add_(d_weights);
  } else {
    g.zero_();
    g.add_(d_weights);
  }
  Grads r;
  if (need_v) {  // dV = W^T dO
    r.dv = Tensor::empty(with_matrix(P.batch, S, Ev), dt);
    if (!d_out.defined()) {
      r.dv.zero_();
    } else {
      for_each_batch(nb, 2.0 * L * S * Ev, [&](int64_t b) {
        Tensor wb = matrix(w, b * L * S, L, S, S, 1);
        Tensor gob = matrix(d_out, go_off[b], L, Ev, go_st[go_st.size() - 2], go_st.back());
        Tensor dvb = matrix(r.dv, b * S * Ev, S, Ev, Ev, 1);
        gemm(wb, true, gob, false, dvb, 1.0, 0.0);
      });
    }
  }
  // dS = P * (dP - rowsum(dP * P)), dP = dW * D / (1 - p)
  {
    T* gp = g.data<T>();
    const T* pp = p.data<T>();
    parallel_for(nb * L, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t row = r0; row < r1; ++row) {
        Eigen::Map<Vec<T>> gr(gp + row * S, S);
        Eigen::Map<const Vec<T>> pr(pp + row * S, S);
        if (keep) {
          const bool* kr = keep + row * S;
          for (int64_t j = 0; j < S; ++j) gr[j] = kr[j] ? gr[j] * ks : T(0);
        }
        const T c = (gr * pr).sum();
        gr = pr * (gr - c);
      }
    });
  }
  if (need_q) {  // dQ = scale dS K
    r.dq = Tensor::empty(with_matrix(P.batch, L, E), dt);
    for_each_batch(nb, 2.0 * L * S * E, [&](int64_t b) {
      Tensor gb = matrix(g, b * L * S, L, S, S, 1);
      Tensor kb = matrix(k, P.k_off[b], S, E, P.k_st[P.k_st.size() - 2], P.k_st.back());
      Tensor dqb = matrix(r.dq, b * L * E, L, E, E, 1);
      gemm(gb, false, kb, false, dqb, P.scale, 0.0);
    });
  }
  if (need_k) {  // dK = scale dS^T Q
    r.dk = Tensor::empty(with_matrix(P.batch, S, E), dt);
    for_each_batch(nb, 2.0 * L * S * E, [&](int64_t b) {
      Tensor gb = matrix(g, b * L * S, L, S, S, 1);
      Tensor qb = matrix(q, P.q_off[b], L, E, P.q_st[P.q_st.size() - 2], P.q_st.back());
      Tensor dkb = matrix(r.dk, b * S * E, S, E, E, 1);
      gemm(gb, true, qb, false, dkb, P.scale, 0.0);
    });
  }
  if (need_mask) r.dmask = g;
  return r;
}

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p) {
  BPX_CHECK(q.defined() && k.defined() && v.defined(), ValueError, kOp, ": got an undefined query, key or value");
  BPX_CHECK(is_floating(q.dtype()) && q.dtype() == k.dtype() && q.dtype() == v.dtype(), TypeError, kOp,
            ": expected query, key and value of the same float dtype, got ", dtype_name(q.dtype()), ", ",
            dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  BPX_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, ValueError, kOp,
            ": query, key and value need at least 2 dims ([..., L, E], [..., S, E], [..., S, Ev]), got shapes ",
            shape_str(q.shape()), ", ", shape_str(k.shape()), " and ", shape_str(v.shape()));
  BPX_CHECK(q.shape().back() == k.shape().back(), ValueError, kOp, ": query ", shape_str(q.shape()), " and key ",
            shape_str(k.shape()), " must have the same embedding size (last dim)");
  BPX_CHECK(k.size(-2) == v.size(-2), ValueError, kOp, ": key ", shape_str(k.shape()), " and value ",
            shape_str(v.shape()), " must have the same sequence length (dim -2)");
  if (mask.defined())
    BPX_CHECK(mask.dtype() == DType::Bool || is_floating(mask.dtype()), TypeError, kOp,
              ": attn_mask must be a bool or float tensor, got ", dtype_name(mask.dtype()));
  BPX_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, ValueError, kOp, ": dropout_p has to be between 0 and 1, got ",
            dropout_p);
}

Plan make_plan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool is_causal,
               std::optional<double> scale) {
  Plan P;
  P.L = q.size(-2);
  P.E = q.size(-1);
  P.S = k.size(-2);
  P.Ev = v.size(-1);
  P.causal = is_causal;
  P.scale = scale ? *scale : (P.E > 0 ? 1.0 / std::sqrt(static_cast<double>(P.E)) : 1.0);
  bool ok = broadcast_batch_into(P.batch, q.shape()) && broadcast_batch_into(P.batch, k.shape()) &&
            broadcast_batch_into(P.batch, v.shape());
  BPX_CHECK(ok, ValueError, kOp, ": the batch dims of query ", shape_str(q.shape()), ", key ", shape_str(k.shape()),
            " and value ", shape_str(v.shape()), " cannot be broadcast together");
  if (mask.defined()) {
    const int64_t md = mask.dim();
    const int64_t ml = md >= 2 ? mask.size(-2) : 1, ms = md >= 1 ? mask.size(-1) : 1;
    ok = (ml == 1 || ml == P.L) && (ms == 1 || ms == P.S) && broadcast_batch_into(P.batch, mask.shape());
    BPX_CHECK(ok, ValueError, kOp, ": attn_mask of shape ", shape_str(mask.shape()),
              " cannot be broadcast to the attention weights' shape ",
              shape_str(with_matrix(P.batch, P.L, P.S)), " (query ", shape_str(q.shape()), ", key ",
              shape_str(k.shape()), ")");
  }
  P.nb = shape_numel(P.batch);
  auto plan_operand = [&](const Tensor& t, int64_t rows, int64_t cols, Shape& st, std::vector<int64_t>& off) {
    st = broadcast_strides(t, with_matrix(P.batch, rows, cols));
    off = batch_offsets(P.batch, Shape(st.begin(), st.end() - 2));
  };
  plan_operand(q, P.L, P.E, P.q_st, P.q_off);
  plan_operand(k, P.S, P.E, P.k_st, P.k_off);
  plan_operand(v, P.S, P.Ev, P.v_st, P.v_off);
  if (mask.defined()) plan_operand(mask, P.L, P.S, P.m_st, P.m_off);
  return P;
}

}  // namespace

AttentionResult attention_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                       const Tensor& attn_mask, double dropout_p, bool is_causal,
                                       std::optional<double> scale, bool need_weights) {
  check_inputs(query, key, value, attn_mask, dropout_p);
  const DType dt = query.dtype();
  // A float mask of the other float dtype is converted (differentiably), as the scores' dtype rules.
  const Tensor mask = attn_mask.defined() && is_floating(attn_mask.dtype()) && attn_mask.dtype() != dt
                          ? attn_mask.to(dt)
                          : attn_mask;
  const Plan P = make_plan(query, key, value, mask, is_causal, scale);
  const Shape w_shape = with_matrix(P.batch, P.L, P.S);

  // Dropout keep mask: sequential draws from the global generator (repeatable under manual_seed).
  Tensor keep;
  double keep_scale = 1.0;
  if (dropout_p > 0.0) {
    keep = Tensor::empty(w_shape, DType::Bool);
    bool* kp = keep.data<bool>();
    const int64_t n = keep.numel();
    if (dropout_p >= 1.0) {
      std::fill(kp, kp + n, false);
    } else {
      Generator& gen = default_generator();
      for (int64_t i = 0; i < n; ++i) kp[i] = gen.uniform() >= dropout_p;
    }
    keep_scale = dropout_p >= 1.0 ? 0.0 : 1.0 / (1.0 - dropout_p);
  }

  Tensor q = query.detach(), k = key.detach(), v = value.detach(), m = mask.defined() ? mask.detach() : Tensor();
  Tensor p = Tensor::empty(w_shape, dt);
  Tensor w = keep.defined() ? Tensor::empty(w_shape, dt) : p;
  Tensor out = empty_in_order_of(q, with_matrix(P.batch, P.L, P.Ev), dt);
  dispatch_float(dt, kOp, [&](auto tag) {
    using T = decltype(tag);
    forward_kernel<T>(P, q, k, v, m, keep.defined() ? keep.data<bool>() : nullptr, keep_scale, p, w, out);
  });

  AttentionResult result{out, need_weights ? w : Tensor()};
  TensorList inputs{query, key, value};
  if (mask.defined()) inputs.push_back(mask);
  if (any_requires_grad(inputs)) {
    const bool need_q = query.requires_grad(), need_k = key.requires_grad(), need_v = value.requires_grad();
    const bool need_mask = mask.defined() && mask.requires_grad();
    const bool has_mask = mask.defined(), has_keep = keep.defined();
    const Shape q_shape = query.shape(), k_shape = key.shape(), v_shape = value.shape();
    const Shape m_shape = has_mask ? mask.shape() : Shape{};
    TensorList outputs{out};
    if (need_weights) outputs.push_back(w);
    auto node = record(
        "ScaledDotProductAttentionBackward", inputs, outputs,
        [=](const TensorList& grads, FunctionNode& nd) {
          TensorList r(has_mask ? 4 : 3);
          const Tensor d_out = grads[0].defined() ? without_zero_strides(grads[0]) : Tensor();
          const Tensor d_w = grads.size() > 1 ? grads[1] : Tensor();
          if (!d_out.defined() && !d_w.defined()) return r;
          Tensor qs = nd.saved(0), ks = nd.saved(1), vs = nd.saved(2), ps = nd.saved(3);
          Tensor keep_s = has_keep ? nd.saved(4) : Tensor();
          Grads g = dispatch_float(ps.dtype(), kOp, [&](auto tag) {
            using T = decltype(tag);
            return backward_kernel<T>(P, qs, ks, vs, ps, keep_s, keep_scale, d_out, d_w, need_q, need_k, need_v,
                                      need_mask);
          });
          if (need_q) r[0] = sum_to(g.dq, q_shape);
          if (need_k) r[1] = sum_to(g.dk, k_shape);
          if (need_v) r[2] = sum_to(g.dv, v_shape);
          if (need_mask) r[3] = sum_to(g.dmask, m_shape);
          return r;
        });
    node->save(q);
    node->save(k);
    node->save(v);
    node->save(p);
    if (has_keep) node->save(keep);
  }
  return result;
}

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale) {
  BPX_CHECK(!(is_causal && attn_mask.defined()), ValueError, kOp,
            ": an explicit attn_mask should not be set when is_causal=True (pass one or the other)");
  return attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale, false).output;
}

}  // namespace backpropx
