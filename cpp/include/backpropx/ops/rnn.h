// Recurrent layers as fused ops: one op runs one layer in one direction over a whole sequence, with
// a hand-written backward-through-time. Kernels: cpp/src/ops/rnn.cpp. Layouts and gate orders are
// torch's: w_ih [G*H, I], w_hh [G*H, H], b_ih / b_hh [G*H] with G = 1 (RNN), 4 (LSTM: i, f, g, o) or
// 3 (GRU: r, z, n, where n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
//
// Variable lengths: lengths (int64 [B], values in [0, T]) makes row b active at time t iff t < lengths[b].
// An inactive row keeps its state and outputs zeros, so h_n is the state at the row's last real step
// and the reverse direction (reverse=true: times T-1 down to 0) starts each row at its own last step,
// as torch's packed sequences do. Undefined lengths: every row runs all T steps.
#pragma once
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx {

enum class RnnKind { Tanh, Relu, Lstm, Gru };

// x [T, B, I] (time-major); h0 [B, H] and, for LSTM, c0 [B, H] (undefined: zeros); b_ih / b_hh may
// be undefined (no bias). Returns {out [T, B, H], h_n [B, H]} and, for LSTM, c_n [B, H] third.
std::vector<Tensor> rnn_layer(RnnKind kind, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                              const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                              const Tensor& lengths = Tensor(), bool reverse = false);

// {out, h_n, c_n}
std::vector<Tensor> lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                               const Tensor& w_hh, const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor(),
                               const Tensor& lengths = Tensor(), bool reverse = false);
// {out, h_n}
std::vector<Tensor> gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                              const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor(),
                              const Tensor& lengths = Tensor(), bool reverse = false);
std::vector<Tensor> rnn_tanh_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                                   const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor(),
                                   const Tensor& lengths = Tensor(), bool reverse = false);
std::vector<Tensor> rnn_relu_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                                   const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor(),
                                   const Tensor& lengths = Tensor(), bool reverse = false);

// One step, as torch.lstm_cell / gru_cell / rnn_tanh_cell / rnn_relu_cell: x [B, I], h / c [B, H].
std::vector<Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                              const Tensor& w_hh, const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());  // {h', c'}
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = Tensor(),
                const Tensor& b_hh = Tensor());
Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());

}  // namespace backpropx
