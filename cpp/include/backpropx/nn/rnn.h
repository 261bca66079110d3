// Recurrent layers with torch's names, parameter layouts and initialisation: RNN, LSTM, GRU (multi-layer,
// bidirectional, batch_first, dropout between layers, initial states, variable lengths) and the cells
// RNNCell, LSTMCell, GRUCell. Each (layer, direction) is one fused core op over the whole sequence
// (lstm_layer, gru_layer, rnn_tanh_layer, rnn_relu_layer: the same calls Python's bx.nn.LSTM makes).
// Parameters per layer k and direction: weight_ih_l{k}[_reverse] [G*H, I_k], weight_hh_l{k}[_reverse]
// [G*H, H], bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse] [G*H], all U(-1/sqrt(H), 1/sqrt(H)).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backpropx/nn/module.h"
#include "backpropx/nn/options.h"

namespace backpropx::nn {

struct RNNOptions {
  // input_size features in, hidden_size units per direction.
  RNNOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  BACKPROPX_ARG(int64_t, input_size);
  BACKPROPX_ARG(int64_t, hidden_size);
  BACKPROPX_ARG(int64_t, num_layers) = 1;
  BACKPROPX_ARG(bool, bias) = true;
  BACKPROPX_ARG(bool, batch_first) = false;
  BACKPROPX_ARG(double, dropout) = 0.0;  // after every layer but the last, in training mode
  BACKPROPX_ARG(bool, bidirectional) = false;
  BACKPROPX_ARG(std::string, nonlinearity) = "tanh";  // RNN only: "tanh" | "relu"
  BACKPROPX_ARG(DType, dtype) = DType::Float32;
};

// What a recurrent layer returns: output [T, B, D*H] ([B, T, D*H] with batch_first; [T, D*H] unbatched),
// h_n [num_layers*D, B, H] and, for LSTM, c_n like h_n (undefined for RNN and GRU).
struct RNNOutput {
  Tensor output, h_n, c_n;
};

// The network behind RNN, LSTM and GRU (torch.nn.RNNBase).
class RNNBase : public Module {
 public:
  // mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
  RNNBase(const std::string& mode, const RNNOptions& options, const std::string& type_name);
  // Redraws every parameter from U(-1/sqrt(H), 1/sqrt(H)).
  void reset_parameters();
  // Per (layer, direction): {w_ih, w_hh, b_ih, b_hh} (torch's all_weights; no biases without bias).
  std::vector<std::vector<Tensor>> all_weights() const;

  RNNOptions options;
  std::string mode;

 protected:
  // x [T, B, I] / [B, T, I] / [T, I]; h0 (and c0) [L*D, B, H] or undefined (zeros); lengths int64 [B]
  // (row b active at time t iff t < lengths[b]) or undefined.
  RNNOutput run(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& lengths) const;
};

// Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu), as torch.nn.RNN.
class RNN : public RNNBase {
 public:
  // An RNN from options (nonlinearity "tanh" or "relu").
  explicit RNN(const RNNOptions& options);
  // RNN(input_size, hidden_size[, num_layers]).
  RNN(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1)
      : RNN(RNNOptions(input_size, hidden_size).num_layers(num_layers)) {}
  // {output, h_n}; h0 and lengths may be undefined.
  RNNOutput forward(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& lengths = Tensor()) const;
};

// Long short-term memory, gates i, f, g, o, as torch.nn.LSTM.
class LSTM : public RNNBase {
 public:
  // An LSTM from options.
  explicit LSTM(const RNNOptions& options);
  // LSTM(input_size, hidden_size[, num_layers]).
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1)
      : LSTM(RNNOptions(input_size, hidden_size).num_layers(num_layers)) {}
  // {output, h_n, c_n}; h0, c0 and lengths may be undefined.
  RNNOutput forward(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
                    const Tensor& lengths = Tensor()) const;
};

// Gated recurrent unit, gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), as torch.nn.GRU.
class GRU : public RNNBase {
 public:
  // A GRU from options.
  explicit GRU(const RNNOptions& options);
  // GRU(input_size, hidden_size[, num_layers]).
  GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1)
      : GRU(RNNOptions(input_size, hidden_size).num_layers(num_layers)) {}
  // {output, h_n}; h0 and lengths may be undefined.
  RNNOutput forward(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& lengths = Tensor()) const;
};

// One recurrent step's parameters: weight_ih [G*H, I], weight_hh [G*H, H], bias_ih / bias_hh [G*H].
class RNNCellBase : public Module {
 public:
  // gates = 1 (RNN), 4 (LSTM) or 3 (GRU).
  RNNCellBase(int64_t input_size, int64_t hidden_size, bool bias, int64_t gates, const std::string& type_name,
              DType dtype);
  // Redraws every parameter from U(-1/sqrt(H), 1/sqrt(H)).
  void reset_parameters();

  int64_t input_size, hidden_size;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // biases undefined without bias

 protected:
  Tensor batched(const Tensor& x) const;                              // [I] -> [1, I], checks the size
  Tensor state(const Tensor& h, const Tensor& x, bool unbatched) const;  // zeros when undefined
};

// h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), as torch.nn.RNNCell.
class RNNCell : public RNNCellBase {
 public:
  // RNNCell(input_size, hidden_size[, bias, nonlinearity, dtype]).
  RNNCell(int64_t input_size, int64_t hidden_size, bool bias = true, const std::string& nonlinearity = "tanh",
          DType dtype = DType::Float32);
  // x [B, I] (or [I]), h [B, H] or undefined -> h' [B, H].
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;

  std::string nonlinearity;
};

// One LSTM step, as torch.nn.LSTMCell.
class LSTMCell : public RNNCellBase {
 public:
  // LSTMCell(input_size, hidden_size[, bias, dtype]).
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true, DType dtype = DType::Float32);
  // x [B, I] (or [I]), h and c [B, H] or undefined -> {h', c'}.
  std::vector<Tensor> forward(const Tensor& x, const Tensor& h = Tensor(), const Tensor& c = Tensor()) const;
};

// One GRU step, as torch.nn.GRUCell.
class GRUCell : public RNNCellBase {
 public:
  // GRUCell(input_size, hidden_size[, bias, dtype]).
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true, DType dtype = DType::Float32);
  // x [B, I] (or [I]), h [B, H] or undefined -> h' [B, H].
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;
};

}  // namespace backpropx::nn
