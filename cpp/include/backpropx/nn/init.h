// Parameter initialisation, as torch.nn.init (and Python's bx.nn.init): each function fills t in place
// without recording a gradient, draws from the global generator (manual_seed) in the same order as the
// Python function, and returns t. So manual_seed(s) then nn::Linear(3, 2) gives Python's
// bx.manual_seed(s); bx.nn.Linear(3, 2) bit for bit.
#pragma once
#include <string>
#include <utility>

#include "backpropx/tensor.h"

namespace backpropx::nn::init {

// The recommended gain of a nonlinearity: linear/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)).
double calculate_gain(const std::string& nonlinearity, double param = 0.01);
// (fan_in, fan_out) of a weight of 2 or more dims: (size(1) * receptive field, size(0) * receptive field).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

// U(a, b).
Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0);
// N(mean, std^2).
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0);
// Every element = value.
Tensor constant_(Tensor t, double value);
// Every element = 0.
Tensor zeros_(Tensor t);
// Every element = 1.
Tensor ones_(Tensor t);
// U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot).
Tensor xavier_uniform_(Tensor t, double gain = 1.0);
// N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor t, double gain = 1.0);
// U(-b, b), b = gain(nonlinearity, a) * sqrt(3 / fan) with fan = fan_in or fan_out (He).
Tensor kaiming_uniform_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");
// N(0, std^2), std = gain(nonlinearity, a) / sqrt(fan).
Tensor kaiming_normal_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu");

}  // namespace backpropx::nn::init
