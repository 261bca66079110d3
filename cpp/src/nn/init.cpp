// nn::init: torch.nn.init's formulas, drawing from the global generator in Python's order.
#include "backpropx/nn/init.h"

#include <cmath>

#include "backpropx/autograd.h"
#include "backpropx/ops/factory.h"

namespace backpropx::nn::init {

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "sigmoid" || nonlinearity == "identity")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1 + param * param));
  if (nonlinearity == "selu") return 3.0 / 4;
  throw ValueError(cat("calculate_gain: unsupported nonlinearity \"", nonlinearity, "\""));
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  BPX_CHECK(t.dim() >= 2, ValueError,
            "fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape ",
            shape_str(t.shape()), ")");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

static int64_t fan(const Tensor& t, const std::string& mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  BPX_CHECK(mode == "fan_in" || mode == "fan_out", ValueError, "mode must be \"fan_in\" or \"fan_out\", got \"",
            mode, "\"");
  return mode == "fan_in" ? fan_in : fan_out;
}

Tensor uniform_(Tensor t, double a, double b) {
  NoGradGuard ng;
  return backpropx::uniform_(t, a, b);
}

Tensor normal_(Tensor t, double mean, double std) {
  NoGradGuard ng;
  return backpropx::normal_(t, mean, std);
}

Tensor constant_(Tensor t, double value) {
  NoGradGuard ng;
  return t.fill_(value);
}

Tensor zeros_(Tensor t) { return constant_(t, 0.0); }
Tensor ones_(Tensor t) { return constant_(t, 1.0); }

Tensor xavier_uniform_(Tensor t, double gain) {
  if (t.numel() == 0) return t;
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  double a = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return init::uniform_(t, -a, a);
}

Tensor xavier_normal_(Tensor t, double gain) {
  if (t.numel() == 0) return t;
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return init::normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor kaiming_uniform_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity) {
  if (t.numel() == 0) return t;
  double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / static_cast<double>(fan(t, mode)));
  return init::uniform_(t, -bound, bound);
}

Tensor kaiming_normal_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity) {
  if (t.numel() == 0) return t;
  return init::normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode))));
}

}  // namespace backpropx::nn::init
