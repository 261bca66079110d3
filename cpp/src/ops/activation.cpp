// Activations: tanh, sigmoid, relu, leaky_relu, gelu (exact and tanh), softplus.
// Each forward is one pass; each backward is one fused pass g * f'(saved).
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

struct Scalar {};  // applied element by element
struct Array {};   // maps Eigen array blocks: vectorised exp/tanh/logistic and selects, whatever the flags

// forward: y = f(x); backward: dx = g * local(saved), saved = x or y as chosen by the op. With
// BwdMode = Array, local(g, saved) maps the blocks of g and saved to dx instead.
template <typename Mode = Scalar, typename BwdMode = Scalar, typename Fwd, typename Local>
Tensor unary_op(const char* name, const char* node_name, const Tensor& x_in, bool save_output, Fwd fwd, Local local) {
  Tensor x = is_floating(x_in.dtype()) ? x_in : x_in.to(DType::Float32);  // ints compute in float32, as torch
  Tensor out = dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<Mode, Array>)
      return map1_array<T>(x, [&](const auto& a) { return fwd(a); });
    else
      return map1<T>(x, [&](T v) { return fwd(v); });
  });
  if (any_requires_grad({&x})) {
    auto node = record(node_name, {x}, {out}, [local, name](const TensorList& g, FunctionNode& n) {
      Tensor s = n.saved(0);
      return TensorList{dispatch_float(s.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<BwdMode, Array>)
          return map2_array<T>(g[0], s, [&](const auto& ga, const auto& sa) { return local(ga, sa); });
        else
          return map2<T>(g[0], s, [&](T gv, T sv) { return gv * local(sv); });
      })};
    });
    node->save(save_output ? out : x);
  }
  return out;
}

}  // namespace

Tensor tanh(const Tensor& x) {
  return unary_op<Array>("tanh", "TanhBackward", x, true, [](const auto& a) { return a.tanh(); },
                         [](auto y) { return 1 - y * y; });  // d tanh = 1 - tanh^2
}

Tensor sigmoid(const Tensor& x) {
  // Eigen's logistic is stable for large |v| (never exp of a large positive number)
  return unary_op<Array>("sigmoid", "SigmoidBackward", x, true, [](const auto& a) { return a.logistic(); },
                         [](auto y) { return y * (1 - y); });
}

Tensor relu(const Tensor& x) {
  // backward dx = g where y > 0, else 0 (torch's threshold_backward); a select, not a branch: a branch on
  // random signs mispredicts half the time and was 10x slower
  return unary_op<Scalar, Array>("relu", "ReluBackward", x, true, [](auto v) { return std::max(v, decltype(v)(0)); },
                                 [](const auto& g, const auto& y) {
                                   using T = typename std::decay_t<decltype(g)>::Scalar;
                                   return (y > T(0)).select(g, T(0));
                                 });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  return unary_op<Scalar, Array>("leaky_relu", "LeakyReluBackward", x, false,
                                 [slope](auto v) {
                                   using T = decltype(v);
                                   return std::max(v, T(0)) + static_cast<T>(slope) * std::min(v, T(0));
                                 },
                                 [slope](const auto& g, const auto& x) {  // a select, as relu's
                                   using T = typename std::decay_t<decltype(g)>::Scalar;
                                   return (x > T(0)).select(g, g * static_cast<T>(slope));
                                 });
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  constexpr double kInvSqrt2 = 0.70710678118654752440;
  constexpr double kInvSqrt2Pi = 0.39894228040143267794;
  constexpr double kSqrt2OverPi = 0.79788456080286535588;
  constexpr double kC = 0.044715;
  if (approximate == "none") {
    // gelu(x) = x Phi(x); gelu'(x) = Phi(x) + x phi(x)
    return unary_op("gelu", "GeluBackward", x, false,
                    [](auto v) {
                      using T = decltype(v);
                      return static_cast<T>(0.5) * v * (1 + std::erf(v * static_cast<T>(kInvSqrt2)));
                    },
                    [](auto v) {
                      using T = decltype(v);
                      T cdf = static_cast<T>(0.5) * (1 + std::erf(v * static_cast<T>(kInvSqrt2)));
                      T pdf = static_cast<T>(kInvSqrt2Pi) * std::exp(static_cast<T>(-0.5) * v * v);
                      return cdf + v * pdf;
                    });
  }
  BPX_CHECK(approximate == "tanh", ValueError, "gelu: approximate must be 'none' or 'tanh', got '", approximate, "'");
  // gelu(x) = x/2 (1 + tanh(u)), u = sqrt(2/pi)(x + c x^3)
  return unary_op("gelu", "GeluBackward", x, false,
                  [](auto v) {
                    using T = decltype(v);
                    T u = static_cast<T>(kSqrt2OverPi) * (v + static_cast<T>(kC) * v * v * v);
                    return static_cast<T>(0.5) * v * (1 + std::tanh(u));
                  },
                  [](auto v) {
                    using T = decltype(v);
                    T u = static_cast<T>(kSqrt2OverPi) * (v + static_cast<T>(kC) * v * v * v);
                    T th = std::tanh(u);
                    T du = static_cast<T>(kSqrt2OverPi) * (1 + 3 * static_cast<T>(kC) * v * v);
                    return static_cast<T>(0.5) * (1 + th) + static_cast<T>(0.5) * v * (1 - th * th) * du;
                  });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  // softplus(x) = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
  return unary_op("softplus", "SoftplusBackward", x, false,
                  [beta, threshold](auto v) {
                    using T = decltype(v);
                    T bx = static_cast<T>(beta) * v;
                    return bx > static_cast<T>(threshold) ? v : std::log1p(std::exp(bx)) / static_cast<T>(beta);
                  },
                  [beta, threshold](auto v) {
                    using T = decltype(v);
                    T bx = static_cast<T>(beta) * v;
                    if (bx > static_cast<T>(threshold)) return T(1);
                    return bx >= 0 ? T(1) / (T(1) + std::exp(-bx)) : std::exp(bx) / (T(1) + std::exp(bx));
                  });
}

}  // namespace backpropx
