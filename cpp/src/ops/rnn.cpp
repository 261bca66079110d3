// Recurrent layers: one fused op per (layer, direction) over the whole sequence, forward and
// backward-through-time side by side. Shapes: x [T, B, I] is seen as X [T*B, I] (row t*B + b),
// H hidden, G gates (RNN 1, LSTM 4: i f g o, GRU 3: r z n), GW the width of a gate-buffer row.
//
// Forward:
//   P = X W_ih^T                       ONE GEMM for every time step, into the gate buffer [T*B, GW]
//   for each time t (T-1 down to 0 when reverse):
//     P[t] += h W_hh^T                 one [B, H] x [H, G*H] GEMM (GRU: S = h W_hh^T, kept apart)
//     fused gate kernel                activations in place in P[t]; new h (and c); out[t]
//   Saved: LSTM i, f, g, o and the cell states; GRU r, z, n and W_hn h + b_hn; RNN nothing but out.
// Backward, times in the reverse visiting order:
//   fused gate-gradient kernel         dG[t] = gradients of the gate pre-activations; dc in place
//   dh = dG[t] W_hh (GRU: + dh z)      one GEMM
// then once over all steps: dX = dG W_ih, dW_ih = dG^T X, dW_hh = dG^T H_prev, db = column sums of dG.
// H_prev is not stored: the state before time t is out at the previously visited time, except at a
// row's first step where it is h0, so dW_hh = dG[rest]^T out[shifted one step] + dG[first]^T h0.
// Variable lengths (see rnn.h): an inactive row keeps its state, outputs 0 and gets dG = 0, so the
// all-steps GEMMs need no masks; the per-step GEMMs cover only rows [0, span[t]) (sorted lengths:
// exactly the active rows).
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/ops/rnn.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

int64_t gate_count(RnnKind k) { return k == RnnKind::Lstm ? 4 : k == RnnKind::Gru ? 3 : 1; }

// Width of a gate-buffer row: GRU keeps W_hn h + b_hn as a fourth block.
int64_t gate_width(RnnKind k, int64_t H) { return k == RnnKind::Tanh || k == RnnKind::Relu ? H : 4 * H; }

const char* layer_name(RnnKind k) {
  switch (k) {
    case RnnKind::Tanh: return "rnn_tanh_layer";
    case RnnKind::Relu: return "rnn_relu_layer";
    case RnnKind::Lstm: return "lstm_layer";
    case RnnKind::Gru: return "gru_layer";
  }
  return "rnn_layer";
}

// A row of H values as an Eigen array: the gate kernels use Eigen's vectorised logistic / tanh.
template <typename T>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Rows [r0, r0 + n) and columns [c0, c0 + w) of a 2-D matrix, as a view.
Tensor block(const Tensor& m, int64_t r0, int64_t n, int64_t c0, int64_t w) {
  return make_view(m, {n, w}, m.strides(), m.offset() + r0 * m.strides()[0] + c0 * m.strides()[1]);
}
Tensor rows(const Tensor& m, int64_t r0, int64_t n) { return block(m, r0, n, 0, m.shape()[1]); }

// When each row runs: row b is active at time t iff t < len[b]. The per-step GEMMs cover rows
// [0, span[t]), which holds every active row; dense[t]: every one of those rows is active.
struct Schedule {
  int64_t T = 0, B = 0;
  bool reverse = false;
  std::vector<int64_t> len;
  std::vector<int64_t> span;
  std::vector<char> dense;

  bool active(int64_t t, int64_t b) const { return t < len[b]; }
  bool first(int64_t t, int64_t b) const { return reverse ? t == len[b] - 1 : t == 0; }  // no state yet
  int64_t prev(int64_t t) const { return reverse ? t + 1 : t - 1; }                       // visited before t
  int64_t time_at(int64_t step) const { return reverse ? T - 1 - step : step; }
};

Schedule make_schedule(const Tensor& lengths, int64_t T, int64_t B, bool reverse) {
  Schedule s;
  s.T = T;
  s.B = B;
  s.reverse = reverse;
  s.len.assign(static_cast<size_t>(B), T);
  if (lengths.defined()) {
    Tensor l = lengths.contiguous();
    std::copy(l.data<int64_t>(), l.data<int64_t>() + B, s.len.begin());
  }
  s.span.assign(static_cast<size_t>(T), 0);
  s.dense.assign(static_cast<size_t>(T), 1);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b)
      if (s.active(t, b)) s.span[t] = b + 1;
    for (int64_t b = 0; b < s.span[t]; ++b)
      if (!s.active(t, b)) s.dense[t] = 0;
  }
  return s;
}

// The checked, converted operands of one call.
struct Layer {
  RnnKind kind;
  const char* op;
  int64_t T, B, I, H, G, GW;
  Tensor x2d;          // [T*B, I] contiguous, no history
  Tensor h0, c0;       // [B, H] contiguous (zeros when not given); c0 LSTM only
  Tensor w_ih, w_hh;   // no history
};

// Bias added to the input projection (G*H: b_ih + b_hh, but GRU's n block gets b_in only) and GRU's b_hn.
template <typename T>
void fold_biases(const Layer& L, const Tensor& b_ih, const Tensor& b_hh, std::vector<T>& bias_x, std::vector<T>& bias_hn) {
  const int64_t GH = L.G * L.H, H = L.H;
  bias_x.assign(static_cast<size_t>(GH), T(0));
  bias_hn.assign(static_cast<size_t>(L.kind == RnnKind::Gru ? H : 0), T(0));
  if (b_ih.defined()) {
    Tensor b = b_ih.contiguous();
    for (int64_t j = 0; j < GH; ++j) bias_x[j] += b.data<T>()[j];
  }
  if (b_hh.defined()) {
    Tensor b = b_hh.contiguous();
    const int64_t folded = L.kind == RnnKind::Gru ? 2 * H : GH;
    for (int64_t j = 0; j < folded; ++j) bias_x[j] += b.data<T>()[j];
    for (int64_t j = 0; j < static_cast<int64_t>(bias_hn.size()); ++j) bias_hn[j] = b.data<T>()[2 * H + j];
  }
}

// The gate kernels do a sigmoid or tanh per element (~10x the work of an add): a smaller grain than
// kParallelGrain, so a step of 20 rows x 800 gates runs on two threads.
int64_t row_grain(int64_t width) { return std::max<int64_t>(1, (kParallelGrain / 8) / std::max<int64_t>(width, 1)); }

// ---- forward ------------------------------------------------------------------------------------

// gates [T*B, GW], out [T*B, H], h [B, H] / c [B, H] (the running state: h0 / c0 in, h_n / c_n out),
// cs [T*B, H] the LSTM cell states, scratch [B, 3H] (GRU's h W_hh^T).
template <typename T>
void layer_forward(const Layer& L, const Schedule& s, const std::vector<T>& bias_x, const std::vector<T>& bias_hn,
                   Tensor& gates, Tensor& out, Tensor& h, Tensor& c, Tensor& cs, Tensor& scratch) {
  const int64_t B = L.B, H = L.H, GH = L.G * L.H, GW = L.GW;
  Tensor proj = block(gates, 0, L.T * B, 0, GH);
  gemm(L.x2d, false, L.w_ih, true, proj, 1.0, 0.0);  // every time step at once
  T* gp = gates.data<T>();
  T* op = out.data<T>();
  T* hp = h.data<T>();
  T* cp = L.kind == RnnKind::Lstm ? c.data<T>() : nullptr;
  T* csp = L.kind == RnnKind::Lstm ? cs.data<T>() : nullptr;
  T* sp = L.kind == RnnKind::Gru ? scratch.data<T>() : nullptr;
  const T* bx = bias_x.data();
  const T* bhn = bias_hn.data();
  for (int64_t step = 0; step < L.T; ++step) {
    const int64_t t = s.time_at(step), m = s.span[t];
    if (m > 0) {
      Tensor hs = rows(h, 0, m);
      if (L.kind == RnnKind::Gru) {
        Tensor sh = block(scratch, 0, m, 0, GH);
        gemm(hs, false, L.w_hh, true, sh, 1.0, 0.0);
      } else {
        Tensor pt = block(gates, t * B, m, 0, GH);
        gemm(hs, false, L.w_hh, true, pt, 1.0, 1.0);
      }
    }
    parallel_for(B, row_grain(GW), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r = t * B + b;
        T* o = op + r * H;
        if (!s.active(t, b)) {
          std::fill(o, o + H, T(0));
          continue;
        }
        T* g = gp + r * GW;  // pre-activations in, activations out
        T* hb = hp + b * H;
        switch (L.kind) {
          case RnnKind::Lstm: {
            Row<T> i(g, H), f(g + H, H), gg(g + 2 * H, H), og(g + 3 * H, H), cb(cp + b * H, H), hr(hb, H);
            i = (i + ConstRow<T>(bx, H)).logistic();
            f = (f + ConstRow<T>(bx + H, H)).logistic();
            gg = (gg + ConstRow<T>(bx + 2 * H, H)).tanh();
            og = (og + ConstRow<T>(bx + 3 * H, H)).logistic();
            cb = f * cb + i * gg;                        // c_t = f c_(t-1) + i g
            Row<T>(csp + r * H, H) = cb;
            hr = og * cb.tanh();                         // h_t = o tanh(c_t)
            Row<T>(o, H) = hr;
            break;
          }
          case RnnKind::Gru: {
            const T* sh = sp + b * GH;  // h W_hh^T: r, z, n blocks
            Row<T> rg(g, H), z(g + H, H), n(g + 2 * H, H), hn(g + 3 * H, H), hr(hb, H);
            rg = (rg + ConstRow<T>(bx, H) + ConstRow<T>(sh, H)).logistic();
            z = (z + ConstRow<T>(bx + H, H) + ConstRow<T>(sh + H, H)).logistic();
            hn = ConstRow<T>(sh + 2 * H, H) + ConstRow<T>(bhn, H);              // W_hn h + b_hn
            n = (n + ConstRow<T>(bx + 2 * H, H) + rg * hn).tanh();             // tanh(W_in x + b_in + r (...))
            hr = (T(1) - z) * n + z * hr;                                       // h_t = (1 - z) n + z h_(t-1)
            Row<T>(o, H) = hr;
            break;
          }
          case RnnKind::Tanh:
            Row<T>(hb, H) = (ConstRow<T>(g, H) + ConstRow<T>(bx, H)).tanh();
            Row<T>(o, H) = Row<T>(hb, H);
            break;
          case RnnKind::Relu:
            Row<T>(hb, H) = (ConstRow<T>(g, H) + ConstRow<T>(bx, H)).max(T(0));
            Row<T>(o, H) = Row<T>(hb, H);
            break;
        }
      }
    });
  }
}

// ---- backward -----------------------------------------------------------------------------------

// Gradients of one layer call. In: gout [T*B, H] and dh / dc [B, H] holding the gradients of h_n / c_n;
// out: dh / dc hold those of h0 / c0 and dG [T*B, GW] those of the gate pre-activations (GRU: dr, dz,
// dn, d(W_hn h + b_hn)).
template <typename T>
void layer_backward_steps(const Layer& L, const Schedule& s, const Tensor& gates, const Tensor& cs, const Tensor& out,
                          const Tensor& gout, Tensor& dh, Tensor& dc, Tensor& dG) {
  const int64_t B = L.B, H = L.H, GW = L.GW;
  Tensor scratch = Tensor::empty({B, H}, dG.dtype());
  const T* gp = gates.defined() ? gates.data<T>() : nullptr;  // RNN: none saved
  const T* op = out.data<T>();
  const T* gop = gout.data<T>();
  const T* csp = L.kind == RnnKind::Lstm ? cs.data<T>() : nullptr;
  const T* h0p = L.h0.data<T>();
  const T* c0p = L.kind == RnnKind::Lstm ? L.c0.data<T>() : nullptr;
  T* dhp = dh.data<T>();
  T* dcp = L.kind == RnnKind::Lstm ? dc.data<T>() : nullptr;
  T* dgp = dG.data<T>();
  T* scp = scratch.data<T>();
  Tensor w_hh_rz = rows(L.w_hh, 0, 2 * H), w_hh_n = rows(L.w_hh, 2 * H, H);
  for (int64_t step = L.T - 1; step >= 0; --step) {
    const int64_t t = s.time_at(step), m = s.span[t];
    const bool dense = s.dense[t];
    T* dst = dense ? dhp : scp;  // where this step's dh_prev goes (rows [0, m))
    parallel_for(B, row_grain(GW), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r = t * B + b;
        T* d = dgp + r * GW;
        if (!s.active(t, b)) {
          std::fill(d, d + GW, T(0));
          if (b < m) std::fill(dst + b * H, dst + (b + 1) * H, T(0));
          continue;
        }
        const T* g = gp + r * GW;
        const T* go = gop + r * H;
        T* dhb = dhp + b * H;
        const bool first = s.first(t, b);
        switch (L.kind) {
          case RnnKind::Lstm: {
            const T* cprev = first ? c0p + b * H : csp + (s.prev(t) * B + b) * H;
            T* dcb = dcp + b * H;
            T* tcb = d + 3 * H;  // tanh(c_t), parked in the o column until it is overwritten last
            Row<T>(tcb, H) = ConstRow<T>(csp + r * H, H).tanh();
            for (int64_t j = 0; j < H; ++j) {
              const T i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
              const T dht = go[j] + dhb[j], tc = tcb[j];
              const T dct = dcb[j] + dht * o * (T(1) - tc * tc);
              d[j] = dct * gg * i * (T(1) - i);
              d[H + j] = dct * cprev[j] * f * (T(1) - f);
              d[2 * H + j] = dct * i * (T(1) - gg * gg);
              d[3 * H + j] = dht * tc * o * (T(1) - o);
              dcb[j] = dct * f;
            }
            break;
          }
          case RnnKind::Gru: {
            const T* hprev = first ? h0p + b * H : op + (s.prev(t) * B + b) * H;
            T* db = dst + b * H;
            for (int64_t j = 0; j < H; ++j) {
              const T rg = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
              const T dht = go[j] + dhb[j];
              const T dn = dht * (T(1) - z) * (T(1) - n * n);
              d[j] = dn * hn * rg * (T(1) - rg);
              d[H + j] = dht * (hprev[j] - n) * z * (T(1) - z);
              d[2 * H + j] = dn;
              d[3 * H + j] = dn * rg;
              db[j] = dht * z;  // the direct path h = ... + z h_prev; the GEMMs add the rest
            }
            break;
          }
          case RnnKind::Tanh:
            for (int64_t j = 0; j < H; ++j) {
              const T hv = op[r * H + j];
              d[j] = (go[j] + dhb[j]) * (T(1) - hv * hv);
            }
            break;
          case RnnKind::Relu:
            for (int64_t j = 0; j < H; ++j) d[j] = op[r * H + j] > T(0) ? go[j] + dhb[j] : T(0);
            break;
        }
      }
    });
    if (m == 0) continue;
    Tensor dprev = make_view(dense ? dh : scratch, {m, H}, {H, 1}, (dense ? dh : scratch).offset());
    if (L.kind == RnnKind::Gru) {
      Tensor d_rz = block(dG, t * B, m, 0, 2 * H), d_hn = block(dG, t * B, m, 3 * H, H);
      gemm(d_rz, false, w_hh_rz, false, dprev, 1.0, 1.0);
      gemm(d_hn, false, w_hh_n, false, dprev, 1.0, 1.0);
    } else {
      Tensor dgt = rows(dG, t * B, m);
      gemm(dgt, false, L.w_hh, false, dprev, 1.0, 0.0);
    }
    if (!dense)
      for (int64_t b = 0; b < m; ++b)
        if (s.active(t, b)) std::memcpy(dhp + b * H, scp + b * H, sizeof(T) * H);
  }
}

// Rows of dG at each row's first step (the ones whose H_prev is h0), [B, GW].
template <typename T>
Tensor first_step_rows(const Layer& L, const Schedule& s, const Tensor& dG) {
  const int64_t B = L.B, GW = L.GW;
  if (!s.reverse) return rows(dG, 0, B);
  bool all_full = true;
  for (int64_t b = 0; b < B; ++b) all_full = all_full && s.len[b] == L.T;
  if (all_full) return rows(dG, (L.T - 1) * B, B);
  Tensor f = Tensor::empty({B, GW}, dG.dtype());
  for (int64_t b = 0; b < B; ++b) {
    T* dst = f.data<T>() + b * GW;
    if (s.len[b] == 0) std::fill(dst, dst + GW, T(0));
    else std::memcpy(dst, dG.data<T>() + ((s.len[b] - 1) * B + b) * GW, sizeof(T) * GW);
  }
  return f;
}

// dW_hh = dG^T H_prev over all steps: out shifted by one step, plus the first steps against h0.
// For GRU the gate-gradient columns (dr, dz | d(W_hn h)) map to W_hh's rows (r, z | n).
template <typename T>
Tensor weight_hh_grad(const Layer& L, const Schedule& s, const Tensor& dG, const Tensor& out) {
  const int64_t T_ = L.T, B = L.B, H = L.H;
  Tensor dw = Tensor::empty({L.G * H, H}, dG.dtype());
  if (T_ == 0) return dw.zero_();
  Tensor dfirst = first_step_rows<T>(L, s, dG);
  std::vector<std::pair<int64_t, int64_t>> col_to_row;  // (first column of dG, first row of W_hh), widths
  std::vector<int64_t> width;
  if (L.kind == RnnKind::Gru) {
    col_to_row = {{0, 0}, {3 * H, 2 * H}};
    width = {2 * H, H};
  } else {
    col_to_row = {{0, 0}};
    width = {L.G * H};
  }
  for (size_t k = 0; k < col_to_row.size(); ++k) {
    const auto [c0, w0] = col_to_row[k];
    Tensor target = rows(dw, w0, width[k]);
    double beta = 0.0;
    if (T_ > 1) {
      Tensor dg_rest = block(dG, s.reverse ? 0 : B, (T_ - 1) * B, c0, width[k]);
      Tensor h_rest = rows(out, s.reverse ? B : 0, (T_ - 1) * B);
      gemm(dg_rest, true, h_rest, false, target, 1.0, 0.0);
      beta = 1.0;
    }
    Tensor dg_first = block(dfirst, 0, B, c0, width[k]);
    gemm(dg_first, true, L.h0, false, target, 1.0, beta);
  }
  return dw;
}

template <typename T>
std::vector<T> column_sums(const Tensor& m) {
  const int64_t R = m.shape()[0], C = m.shape()[1];
  std::vector<T> sum(static_cast<size_t>(C), T(0));
  const T* p = m.data<T>();
  parallel_for(C, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)), [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = c0; c < c1; ++c) sum[c] += p[r * C + c];
  });
  return sum;
}

template <typename T>
Tensor vector_of(const std::vector<T>& v, int64_t from, int64_t n, Tensor into = Tensor(), int64_t at = 0) {
  if (!into.defined()) into = Tensor::empty({n}, dtype_of<T>::value);
  std::copy(v.begin() + from, v.begin() + from + n, into.data<T>() + at);
  return into;
}

// ---- checks -------------------------------------------------------------------------------------

void check_layer(const Layer& L, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                 const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths) {
  const char* op = L.op;
  const char* g = L.kind == RnnKind::Lstm ? "4*" : L.kind == RnnKind::Gru ? "3*" : "";
  BPX_CHECK(x.defined() && w_ih.defined() && w_hh.defined(), ValueError, op, ": input, w_ih and w_hh are required");
  BPX_CHECK(is_floating(x.dtype()), TypeError, op, ": expected a float32 or float64 input, got ", dtype_name(x.dtype()));
  const std::pair<const Tensor*, const char*> named[] = {{&h0, "h0"},     {&c0, "c0"},     {&w_ih, "w_ih"},
                                                         {&w_hh, "w_hh"}, {&b_ih, "b_ih"}, {&b_hh, "b_hh"}};
  for (const auto& [t, name] : named)
    BPX_CHECK(!t->defined() || t->dtype() == x.dtype(), TypeError, op, ": ", name, " is ", dtype_name(t->dtype()),
              " but the input is ", dtype_name(x.dtype()), " (every operand must have the input's dtype)");
  BPX_CHECK(x.dim() == 3, ValueError, op, ": input must be 3-D [seq_len, batch, input_size], got shape ",
            shape_str(x.shape()));
  BPX_CHECK(w_hh.dim() == 2 && w_hh.shape()[0] == L.G * w_hh.shape()[1], ValueError, op, ": w_hh must be [", g,
            "hidden_size, hidden_size], got shape ", shape_str(w_hh.shape()));
  BPX_CHECK(w_ih.dim() == 2 && w_ih.shape()[0] == L.G * L.H, ValueError, op, ": w_ih must be [", g,
            "hidden_size, input_size] = [", L.G * L.H, ", ", L.I, "], got shape ", shape_str(w_ih.shape()));
  BPX_CHECK(w_ih.shape()[1] == L.I, ValueError, op, ": input size ", L.I, " (input shape ", shape_str(x.shape()),
            ") does not match w_ih of shape ", shape_str(w_ih.shape()), " (expected [", L.G * L.H, ", ", L.I, "])");
  for (const Tensor* b : {&b_ih, &b_hh})
    BPX_CHECK(!b->defined() || (b->dim() == 1 && b->shape()[0] == L.G * L.H), ValueError, op, ": ",
              b == &b_ih ? "b_ih" : "b_hh", " must be [", g, "hidden_size] = [", L.G * L.H, "], got shape ",
              shape_str(b->shape()));
  for (const Tensor* h : {&h0, &c0})
    BPX_CHECK(!h->defined() || h->shape() == Shape({L.B, L.H}), ValueError, op, ": ", h == &h0 ? "h0" : "c0",
              " must be [batch, hidden_size] = [", L.B, ", ", L.H, "], got shape ", shape_str(h->shape()),
              " (input shape ", shape_str(x.shape()), ")");
  BPX_CHECK(L.kind == RnnKind::Lstm || !c0.defined(), ValueError, op, ": only an LSTM has a cell state c0");
  if (lengths.defined()) {
    BPX_CHECK(lengths.dtype() == DType::Int64, TypeError, op, ": lengths must be an int64 tensor, got ",
              dtype_name(lengths.dtype()));
    BPX_CHECK(lengths.dim() == 1 && lengths.shape()[0] == L.B, ValueError, op,
              ": lengths must have one entry per batch row (", L.B, "), got shape ", shape_str(lengths.shape()));
    Tensor l = lengths.contiguous();
    for (int64_t b = 0; b < L.B; ++b) {
      const int64_t v = l.data<int64_t>()[b];
      BPX_CHECK(v >= 0 && v <= L.T, ValueError, op, ": lengths[", b, "] = ", v,
                v < 0 ? " is negative" : " is longer than the sequence", " (input shape ", shape_str(x.shape()), ")");
    }
  }
}

std::vector<Tensor> layer_impl(RnnKind kind, const char* op, const Tensor& x, const Tensor& h0_in, const Tensor& c0_in,
                               const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                               const Tensor& lengths, bool reverse) {
  Layer L{kind, op, 0, 0, 0, 0, gate_count(kind), 0, {}, {}, {}, {}, {}};
  if (x.defined() && x.dim() == 3) L.T = x.shape()[0], L.B = x.shape()[1], L.I = x.shape()[2];
  if (w_hh.defined() && w_hh.dim() == 2) L.H = w_hh.shape()[1];
  check_layer(L, x, h0_in, c0_in, w_ih, w_hh, b_ih, b_hh, lengths);
  const int64_t T_ = L.T, B = L.B, H = L.H;
  L.GW = gate_width(kind, H);
  const DType dt = x.dtype();
  Tensor xc = x.detach().contiguous();
  L.x2d = make_view(xc, {T_ * B, L.I}, {L.I, 1}, xc.offset());
  L.h0 = h0_in.defined() ? h0_in.detach().contiguous() : zeros({B, H}, dt);
  if (kind == RnnKind::Lstm) L.c0 = c0_in.defined() ? c0_in.detach().contiguous() : zeros({B, H}, dt);
  L.w_ih = w_ih.detach();
  L.w_hh = w_hh.detach();
  Schedule s = make_schedule(lengths, T_, B, reverse);

  Tensor gates = Tensor::empty({T_ * B, L.GW}, dt), out = Tensor::empty({T_, B, H}, dt);
  Tensor h_n = L.h0.clone().detach(), c_n = kind == RnnKind::Lstm ? L.c0.clone().detach() : Tensor();
  Tensor cs = kind == RnnKind::Lstm ? Tensor::empty({T_ * B, H}, dt) : Tensor();
  Tensor scratch = kind == RnnKind::Gru ? Tensor::empty({B, 3 * H}, dt) : Tensor();
  Tensor out2d = make_view(out, {T_ * B, H}, {H, 1}, 0);
  dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> bias_x, bias_hn;
    fold_biases<T>(L, b_ih, b_hh, bias_x, bias_hn);
    layer_forward<T>(L, s, bias_x, bias_hn, gates, out2d, h_n, c_n, cs, scratch);
  });

  TensorList outputs{out, h_n};
  if (kind == RnnKind::Lstm) outputs.push_back(c_n);
  if (!any_requires_grad({&x, &h0_in, &c0_in, &w_ih, &w_hh, &b_ih, &b_hh})) return outputs;

  const Shape x_shape = x.shape();
  const bool has_h0 = h0_in.defined(), has_c0 = c0_in.defined();
  const char* node_name = kind == RnnKind::Lstm ? "LstmLayerBackward"
                          : kind == RnnKind::Gru ? "GruLayerBackward"
                          : kind == RnnKind::Tanh ? "RnnTanhLayerBackward"
                                                  : "RnnReluLayerBackward";
  Layer dims = L;  // the backward keeps the sizes; the tensors live in the node's saved slots
  dims.x2d = dims.h0 = dims.c0 = dims.w_ih = dims.w_hh = Tensor();
  auto node = record(node_name, {x, h0_in, c0_in, w_ih, w_hh, b_ih, b_hh}, outputs,
                     [dims, s, has_h0, has_c0, x_shape, dt](const TensorList& g, FunctionNode& nd) {
    Layer l = dims;
    l.x2d = nd.saved(0), l.h0 = nd.saved(1), l.c0 = nd.saved(2), l.w_ih = nd.saved(3), l.w_hh = nd.saved(4);
    Tensor gates = nd.saved(5), cs = nd.saved(6), out = nd.saved(7);
    const int64_t TB = l.T * l.B, GH = l.G * l.H, H = l.H;
    auto need = [&](int i) { return nd.next_edges[i].fn != nullptr; };
    auto grad_of = [&](size_t i, const Shape& shape, bool writable) {
      if (i >= g.size() || !g[i].defined()) return zeros(shape, dt);
      Tensor t = (g[i].dtype() == dt ? g[i] : g[i].to(dt)).contiguous();
      return writable && t.same(g[i]) ? t.clone().detach() : t;  // dh / dc are updated in place below
    };
    Tensor gout = grad_of(0, {l.T, l.B, H}, false);
    Tensor dh = grad_of(1, {l.B, H}, true);
    Tensor dc = l.kind == RnnKind::Lstm ? grad_of(2, {l.B, H}, true) : Tensor();
    Tensor dG = Tensor::empty({TB, l.GW}, dt);
    Tensor out2d = make_view(out, {TB, H}, {H, 1}, out.offset());
    Tensor dx, dw_ih, dw_hh, db_ih, db_hh;
    dispatch_float(dt, l.op, [&](auto tag) {
      using T = decltype(tag);
      layer_backward_steps<T>(l, s, gates, cs, out2d, gout, dh, dc, dG);
      Tensor dGx = block(dG, 0, TB, 0, GH);
      if (need(0)) {
        Tensor d2 = Tensor::empty({TB, l.I}, dt);
        gemm(dGx, false, l.w_ih, false, d2, 1.0, 0.0);
        dx = make_view(d2, x_shape, contiguous_strides(x_shape), 0);
      }
      if (need(3)) {
        dw_ih = Tensor::empty({GH, l.I}, dt);
        gemm(dGx, true, l.x2d, false, dw_ih, 1.0, 0.0);
      }
      if (need(4)) dw_hh = weight_hh_grad<T>(l, s, dG, out2d);
      if (need(5) || need(6)) {
        std::vector<T> sums = column_sums<T>(dG);
        if (need(5)) db_ih = vector_of<T>(sums, 0, GH);
        if (need(6)) {
          if (l.kind == RnnKind::Gru) {
            db_hh = vector_of<T>(sums, 0, 2 * H, Tensor::empty({GH}, dt));
            vector_of<T>(sums, 3 * H, H, db_hh, 2 * H);
          } else {
            db_hh = vector_of<T>(sums, 0, GH);
          }
        }
      }
    });
    return TensorList{dx, has_h0 && need(1) ? dh : Tensor(), has_c0 && need(2) ? dc : Tensor(), dw_ih, dw_hh,
                      db_ih, db_hh};
  });
  node->save(L.x2d);
  node->save(L.h0);
  node->save(L.c0);
  node->save(L.w_ih);
  node->save(L.w_hh);
  node->save(kind == RnnKind::Tanh || kind == RnnKind::Relu ? Tensor() : gates);
  node->save(cs);
  node->save(out);
  return outputs;
}

Tensor as_step(const Tensor& x, const char* op) {
  BPX_CHECK(x.defined() && x.dim() == 2, ValueError, op, ": input must be 2-D [batch, input_size], got shape ",
            x.defined() ? shape_str(x.shape()) : std::string("(undefined)"));
  return unsqueeze(x, 0);
}

}  // namespace

std::vector<Tensor> rnn_layer(RnnKind kind, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                              const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths,
                              bool reverse) {
  return layer_impl(kind, layer_name(kind), x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse);
}

std::vector<Tensor> lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                               const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths,
                               bool reverse) {
  return layer_impl(RnnKind::Lstm, "lstm_layer", x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse);
}

std::vector<Tensor> gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                              const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths, bool reverse) {
  return layer_impl(RnnKind::Gru, "gru_layer", x, h0, Tensor(), w_ih, w_hh, b_ih, b_hh, lengths, reverse);
}

std::vector<Tensor> rnn_tanh_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                                   const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths, bool reverse) {
  return layer_impl(RnnKind::Tanh, "rnn_tanh_layer", x, h0, Tensor(), w_ih, w_hh, b_ih, b_hh, lengths, reverse);
}

std::vector<Tensor> rnn_relu_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                                   const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths, bool reverse) {
  return layer_impl(RnnKind::Relu, "rnn_relu_layer", x, h0, Tensor(), w_ih, w_hh, b_ih, b_hh, lengths, reverse);
}

// A cell is a one-step layer: the same fused kernels, T = 1.
std::vector<Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih, const Tensor& w_hh,
                              const Tensor& b_ih, const Tensor& b_hh) {
  auto r = layer_impl(RnnKind::Lstm, "lstm_cell", as_step(x, "lstm_cell"), h, c, w_ih, w_hh, b_ih, b_hh, Tensor(), false);
  return {r[1], r[2]};
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  return layer_impl(RnnKind::Gru, "gru_cell", as_step(x, "gru_cell"), h, Tensor(), w_ih, w_hh, b_ih, b_hh, Tensor(),
                    false)[1];
}

Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return layer_impl(RnnKind::Tanh, "rnn_tanh_cell", as_step(x, "rnn_tanh_cell"), h, Tensor(), w_ih, w_hh, b_ih, b_hh,
                    Tensor(), false)[1];
}

Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return layer_impl(RnnKind::Relu, "rnn_relu_cell", as_step(x, "rnn_relu_cell"), h, Tensor(), w_ih, w_hh, b_ih, b_hh,
                    Tensor(), false)[1];
}

}  // namespace backpropx
