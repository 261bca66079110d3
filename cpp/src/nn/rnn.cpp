// RNN, LSTM, GRU and their cells: torch's parameters, composed from the fused per-layer core ops exactly
// as Python's bx.nn.RNNBase composes them (same calls, same order).
#include "backpropx/nn/rnn.h"

#include <cmath>

#include "backpropx/autograd.h"
#include "backpropx/nn/init.h"
#include "backpropx/ops.h"

namespace backpropx::nn {

namespace {

int64_t gates_of(const std::string& mode) {
  if (mode == "RNN_TANH" || mode == "RNN_RELU") return 1;
  if (mode == "LSTM") return 4;
  if (mode == "GRU") return 3;
  throw ValueError(cat("RNNBase: unknown mode \"", mode, "\" (expected RNN_TANH, RNN_RELU, LSTM or GRU)"));
}

std::string suffix(int64_t layer, int64_t direction) {
  return "_l" + std::to_string(layer) + (direction ? "_reverse" : "");
}

}  // namespace

RNNBase::RNNBase(const std::string& mode_, const RNNOptions& o, const std::string& type_name)
    : Module(type_name), options(o), mode(mode_) {
  const int64_t gate_size = gates_of(mode) * o.hidden_size();
  BPX_CHECK(o.input_size() >= 0 && o.hidden_size() >= 1 && o.num_layers() >= 1, ValueError, type_name,
            ": input_size must be non-negative and hidden_size, num_layers positive, got ", o.input_size(), ", ",
            o.hidden_size(), ", ", o.num_layers());
  BPX_CHECK(0.0 <= o.dropout() && o.dropout() <= 1.0, ValueError, type_name,
            ": dropout should be a number in range [0, 1], got ", o.dropout());
  const int64_t directions = o.bidirectional() ? 2 : 1;
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    const int64_t layer_input = layer == 0 ? o.input_size() : o.hidden_size() * directions;
    for (int64_t d = 0; d < directions; ++d) {
      const std::string s = suffix(layer, d);
      register_parameter("weight_ih" + s, Tensor::empty({gate_size, layer_input}, o.dtype()));
      register_parameter("weight_hh" + s, Tensor::empty({gate_size, o.hidden_size()}, o.dtype()));
      if (o.bias()) {
        register_parameter("bias_ih" + s, Tensor::empty({gate_size}, o.dtype()));
        register_parameter("bias_hh" + s, Tensor::empty({gate_size}, o.dtype()));
      }
    }
  }
  reset_parameters();
}

void RNNBase::reset_parameters() {
  const double stdv = 1.0 / std::sqrt(static_cast<double>(options.hidden_size()));
  for (auto& p : parameters()) init::uniform_(p, -stdv, stdv);
}

std::vector<std::vector<Tensor>> RNNBase::all_weights() const {
  std::vector<std::vector<Tensor>> out;
  const int64_t directions = options.bidirectional() ? 2 : 1;
  for (int64_t layer = 0; layer < options.num_layers(); ++layer)
    for (int64_t d = 0; d < directions; ++d) {
      const std::string s = suffix(layer, d);
      std::vector<Tensor> w{get("weight_ih" + s), get("weight_hh" + s)};
      if (options.bias()) {
        w.push_back(get("bias_ih" + s));
        w.push_back(get("bias_hh" + s));
      }
      out.push_back(w);
    }
  return out;
}

RNNOutput RNNBase::run(const Tensor& input, const Tensor& h0_in, const Tensor& c0_in, const Tensor& lengths) const {
  const std::string& name = type_name();
  const bool is_lstm = mode == "LSTM";
  BPX_CHECK(input.defined() && (input.dim() == 2 || input.dim() == 3), ValueError, name,
            ": Expected input to be 2D (unbatched) or 3D, got ",
            input.defined() ? shape_str(input.shape()) : std::string("an undefined tensor"));
  const bool unbatched = input.dim() == 2;
  Tensor x = unbatched ? unsqueeze(input, 1) : (options.batch_first() ? transpose(input, 0, 1) : input);
  BPX_CHECK(x.size(-1) == options.input_size(), ValueError, name,
            ": input.size(-1) must be equal to input_size. Expected ", options.input_size(), ", got ", x.size(-1),
            " (input shape ", shape_str(input.shape()), ")");
  const int64_t B = x.size(1);
  if (lengths.defined()) {
    BPX_CHECK(lengths.dtype() == DType::Int64, TypeError, name, ": lengths must be an int64 tensor, got ",
              dtype_name(lengths.dtype()));
    BPX_CHECK(lengths.dim() == 1 && lengths.size(0) == B, ValueError, name, ": expected ", B,
              " lengths (one per sequence of the batch), got shape ", shape_str(lengths.shape()));
  }
  const int64_t directions = options.bidirectional() ? 2 : 1;
  const Shape expected{options.num_layers() * directions, B, options.hidden_size()};
  auto prepare = [&](const Tensor& s, const char* what) {
    if (!s.defined()) return s;
    BPX_CHECK(s.dim() == (unbatched ? 2 : 3), ValueError, name, ": for ", unbatched ? "unbatched 2-D" : "batched 3-D",
              " input, ", what, " should be ", unbatched ? "2-D" : "3-D", " but got shape ", shape_str(s.shape()));
    Tensor t = unbatched ? unsqueeze(s, 1) : s;
    BPX_CHECK(t.shape() == expected, ValueError, name, ": Expected ", what, " size ", shape_str(expected), ", got ",
              shape_str(t.shape()));
    return t;
  };
  const Tensor h0 = prepare(h0_in, is_lstm ? "hidden[0]" : "hidden");
  const Tensor c0 = prepare(c0_in, "hidden[1]");
  BPX_CHECK(is_lstm || !c0.defined(), ValueError, name, ": only an LSTM takes a cell state c0");

  const RnnKind kind = mode == "LSTM" ? RnnKind::Lstm
                       : mode == "GRU" ? RnnKind::Gru
                       : mode == "RNN_RELU" ? RnnKind::Relu
                                            : RnnKind::Tanh;
  Tensor layer_input = x;
  std::vector<Tensor> h_n, c_n;
  for (int64_t layer = 0; layer < options.num_layers(); ++layer) {
    std::vector<Tensor> outputs;
    for (int64_t d = 0; d < directions; ++d) {
      const int64_t k = layer * directions + d;
      const std::string s = suffix(layer, d);
      Tensor b_ih = options.bias() ? get("bias_ih" + s) : Tensor();
      Tensor b_hh = options.bias() ? get("bias_hh" + s) : Tensor();
      Tensor h = h0.defined() ? select(h0, 0, k) : Tensor();
      Tensor c = c0.defined() ? select(c0, 0, k) : Tensor();
      std::vector<Tensor> r;
      switch (kind) {
        case RnnKind::Lstm:
          r = lstm_layer(layer_input, h, c, get("weight_ih" + s), get("weight_hh" + s), b_ih, b_hh, lengths, d == 1);
          break;
        case RnnKind::Gru:
          r = gru_layer(layer_input, h, get("weight_ih" + s), get("weight_hh" + s), b_ih, b_hh, lengths, d == 1);
          break;
        case RnnKind::Relu:
          r = rnn_relu_layer(layer_input, h, get("weight_ih" + s), get("weight_hh" + s), b_ih, b_hh, lengths, d == 1);
          break;
        case RnnKind::Tanh:
          r = rnn_tanh_layer(layer_input, h, get("weight_ih" + s), get("weight_hh" + s), b_ih, b_hh, lengths, d == 1);
          break;
      }
      outputs.push_back(r[0]);
      h_n.push_back(r[1]);
      if (is_lstm) c_n.push_back(r[2]);
    }
    Tensor layer_output = directions == 1 ? outputs[0] : cat(outputs, int64_t{2});
    if (options.dropout() > 0 && is_training() && layer < options.num_layers() - 1)
      layer_output = dropout(layer_output, options.dropout(), true);
    layer_input = layer_output;
  }
  RNNOutput out{layer_input, stack(h_n, 0), is_lstm ? stack(c_n, 0) : Tensor()};
  if (unbatched) {
    out.output = squeeze(out.output, 1);
    out.h_n = squeeze(out.h_n, 1);
    if (is_lstm) out.c_n = squeeze(out.c_n, 1);
  } else if (options.batch_first()) {
    out.output = transpose(out.output, 0, 1);
  }
  return out;
}

static std::string rnn_mode(const RNNOptions& o) {
  BPX_CHECK(o.nonlinearity() == "tanh" || o.nonlinearity() == "relu", ValueError, "RNN: unknown nonlinearity \"",
            o.nonlinearity(), "\"; select from \"tanh\" or \"relu\"");
  return o.nonlinearity() == "tanh" ? "RNN_TANH" : "RNN_RELU";
}

RNN::RNN(const RNNOptions& o) : RNNBase(rnn_mode(o), o, "RNN") {}
RNNOutput RNN::forward(const Tensor& input, const Tensor& h0, const Tensor& lengths) const {
  return run(input, h0, Tensor(), lengths);
}

LSTM::LSTM(const RNNOptions& o) : RNNBase("LSTM", o, "LSTM") {}
RNNOutput LSTM::forward(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& lengths) const {
  return run(input, h0, c0, lengths);
}

GRU::GRU(const RNNOptions& o) : RNNBase("GRU", o, "GRU") {}
RNNOutput GRU::forward(const Tensor& input, const Tensor& h0, const Tensor& lengths) const {
  return run(input, h0, Tensor(), lengths);
}

// ---- cells --------------------------------------------------------------------------------------------

RNNCellBase::RNNCellBase(int64_t input_size_, int64_t hidden_size_, bool bias, int64_t gates,
                         const std::string& type_name, DType dtype)
    : Module(type_name), input_size(input_size_), hidden_size(hidden_size_) {
  BPX_CHECK(input_size >= 0 && hidden_size >= 1, ValueError, type_name, ": bad sizes ", input_size, ", ", hidden_size);
  weight_ih = register_parameter("weight_ih", Tensor::empty({gates * hidden_size, input_size}, dtype));
  weight_hh = register_parameter("weight_hh", Tensor::empty({gates * hidden_size, hidden_size}, dtype));
  bias_ih = register_parameter("bias_ih", bias ? Tensor::empty({gates * hidden_size}, dtype) : Tensor());
  bias_hh = register_parameter("bias_hh", bias ? Tensor::empty({gates * hidden_size}, dtype) : Tensor());
  reset_parameters();
}

void RNNCellBase::reset_parameters() {
  const double stdv = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (auto& p : parameters()) init::uniform_(p, -stdv, stdv);
}

Tensor RNNCellBase::batched(const Tensor& x) const {
  BPX_CHECK(x.defined() && (x.dim() == 1 || x.dim() == 2), ValueError, type_name(),
            ": Expected input to be 1D or 2D, got ", x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  return x.dim() == 1 ? unsqueeze(x, 0) : x;
}

Tensor RNNCellBase::state(const Tensor& h, const Tensor& x, bool unbatched) const {
  if (!h.defined()) return zeros({x.size(0), hidden_size}, x.dtype());
  BPX_CHECK(h.dim() == (unbatched ? 1 : 2), ValueError, type_name(), ": for ", unbatched ? "unbatched 1-D" : "batched 2-D",
            " input, hx should be ", unbatched ? "1-D" : "2-D", ", got shape ", shape_str(h.shape()));
  return unbatched ? unsqueeze(h, 0) : h;
}

RNNCell::RNNCell(int64_t input_size, int64_t hidden_size, bool bias, const std::string& nonlinearity_, DType dtype)
    : RNNCellBase(input_size, hidden_size, bias, 1, "RNNCell", dtype), nonlinearity(nonlinearity_) {
  BPX_CHECK(nonlinearity == "tanh" || nonlinearity == "relu", ValueError, "RNNCell: unknown nonlinearity \"",
            nonlinearity, "\"; select from \"tanh\" or \"relu\"");
}

Tensor RNNCell::forward(const Tensor& input, const Tensor& hx) const {
  Tensor x = batched(input);
  const bool unbatched = input.dim() == 1;
  Tensor h = state(hx, x, unbatched);
  Tensor out = nonlinearity == "tanh" ? rnn_tanh_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
                                      : rnn_relu_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh);
  return unbatched ? squeeze(out, 0) : out;
}

LSTMCell::LSTMCell(int64_t input_size, int64_t hidden_size, bool bias, DType dtype)
    : RNNCellBase(input_size, hidden_size, bias, 4, "LSTMCell", dtype) {}

std::vector<Tensor> LSTMCell::forward(const Tensor& input, const Tensor& hx, const Tensor& cx) const {
  Tensor x = batched(input);
  const bool unbatched = input.dim() == 1;
  BPX_CHECK(hx.defined() == cx.defined(), ValueError, "LSTMCell: give both h and c, or neither");
  Tensor h = state(hx, x, unbatched), c = state(cx, x, unbatched);
  std::vector<Tensor> r = lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh);
  if (unbatched) return {squeeze(r[0], 0), squeeze(r[1], 0)};
  return r;
}

GRUCell::GRUCell(int64_t input_size, int64_t hidden_size, bool bias, DType dtype)
    : RNNCellBase(input_size, hidden_size, bias, 3, "GRUCell", dtype) {}

Tensor GRUCell::forward(const Tensor& input, const Tensor& hx) const {
  Tensor x = batched(input);
  const bool unbatched = input.dim() == 1;
  Tensor out = gru_cell(x, state(hx, x, unbatched), weight_ih, weight_hh, bias_ih, bias_hh);
  return unbatched ? squeeze(out, 0) : out;
}

}  // namespace backpropx::nn
