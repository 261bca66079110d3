// Recurrent ops as bx.<op>: the fused layer ops (one layer, one direction, a whole sequence) that
// bx.nn.RNN / LSTM / GRU compose, and the cells as torch.lstm_cell / gru_cell / rnn_tanh_cell /
// rnn_relu_cell. Layer ops take time-major input [T, B, I] and return a tuple.
#include "backpropx/ops/rnn.h"
#include "bind_common.h"

namespace backpropx::python {

namespace {

Tensor opt(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

// lengths: None, an int64 tensor, or a list / array of ints.
Tensor lengths_of(py::object lengths) {
  if (lengths.is_none()) return Tensor();
  Tensor l = as_tensor(lengths);
  BPX_CHECK(l.dtype() == DType::Int64, TypeError, "lengths must be integers (an int64 tensor, a list or an array), got ",
            dtype_name(l.dtype()));
  return l;
}

py::tuple as_tuple(const std::vector<Tensor>& ts) {
  py::tuple out(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out[i] = py::cast(ts[i]);
  return out;
}

std::pair<Tensor, Tensor> lstm_state(const std::vector<Tensor>& hx) {
  BPX_CHECK(hx.size() == 2, ValueError, "lstm_cell: hx must be a pair (h, c), got ", hx.size(), " tensors");
  return {hx[0], hx[1]};
}

}  // namespace

void bind_rnn(py::module_& m) {
  using namespace py::literals;

  def_op(m, "lstm_layer",
         [](const Tensor& input, std::optional<Tensor> h0, std::optional<Tensor> c0, const Tensor& w_ih,
            const Tensor& w_hh, std::optional<Tensor> b_ih, std::optional<Tensor> b_hh, py::object lengths,
            bool reverse) {
           return as_tuple(lstm_layer(input, opt(h0), opt(c0), w_ih, w_hh, opt(b_ih), opt(b_hh), lengths_of(lengths),
                                      reverse));
         },
         "input"_a, "h0"_a, "c0"_a, "w_ih"_a, "w_hh"_a, "b_ih"_a = py::none(), "b_hh"_a = py::none(),
         "lengths"_a = py::none(), "reverse"_a = false,
         "One LSTM layer over a time-major sequence [T, B, I] -> (output [T, B, H], h_n, c_n).");

  using Layer3 = std::vector<Tensor> (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                         const Tensor&, const Tensor&, bool);
  const std::pair<const char*, Layer3> layers[] = {
      {"gru_layer", &gru_layer}, {"rnn_tanh_layer", &rnn_tanh_layer}, {"rnn_relu_layer", &rnn_relu_layer}};
  for (const auto& [name, fn] : layers)
    def_op(m, name,
           [fn = fn](const Tensor& input, std::optional<Tensor> h0, const Tensor& w_ih, const Tensor& w_hh,
                     std::optional<Tensor> b_ih, std::optional<Tensor> b_hh, py::object lengths, bool reverse) {
             return as_tuple(fn(input, opt(h0), w_ih, w_hh, opt(b_ih), opt(b_hh), lengths_of(lengths), reverse));
           },
           "input"_a, "h0"_a, "w_ih"_a, "w_hh"_a, "b_ih"_a = py::none(), "b_hh"_a = py::none(),
           "lengths"_a = py::none(), "reverse"_a = false,
           "One layer over a time-major sequence [T, B, I] -> (output [T, B, H], h_n).");

  def_op(m, "lstm_cell",
         [](const Tensor& input, const std::vector<Tensor>& hx, const Tensor& w_ih, const Tensor& w_hh,
            std::optional<Tensor> b_ih, std::optional<Tensor> b_hh) {
           auto [h, c] = lstm_state(hx);
           return as_tuple(lstm_cell(input, h, c, w_ih, w_hh, opt(b_ih), opt(b_hh)));
         },
         "input"_a, "hx"_a, "w_ih"_a, "w_hh"_a, "b_ih"_a = py::none(), "b_hh"_a = py::none(),
         "One LSTM step: input [B, I], hx (h, c) -> (h', c').");

  using Cell = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&);
  const std::pair<const char*, Cell> cells[] = {
      {"gru_cell", &gru_cell}, {"rnn_tanh_cell", &rnn_tanh_cell}, {"rnn_relu_cell", &rnn_relu_cell}};
  for (const auto& [name, fn] : cells)
    def_op(m, name,
           [fn = fn](const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     std::optional<Tensor> b_ih, std::optional<Tensor> b_hh) {
             return fn(input, hx, w_ih, w_hh, opt(b_ih), opt(b_hh));
           },
           "input"_a, "hx"_a, "w_ih"_a, "w_hh"_a, "b_ih"_a = py::none(), "b_hh"_a = py::none(),
           "One recurrent step: input [B, I], hx [B, H] -> h'.");
}

}  // namespace backpropx::python
