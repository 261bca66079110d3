// Example 3: the seed's manual backpropagation walkthrough (`backpropx walkthrough`, part 1) with the
// C++ API: a 2-3-1 network, every gradient derived by hand with the chain rule, then the same network
// through autograd, side by side.
//
//   x [1,2] --W1 [2,3], b1 [3]--> z1 --tanh--> h [1,3] --W2 [3,1], b2 [1]--> z2 --sigmoid--> y_hat
//   L = 1/2 (y_hat - y)^2
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backpropx/backpropx.h"

using namespace backpropx;

namespace {

Tensor f64(const std::vector<double>& v, const Shape& shape, bool requires_grad = false) {
  Tensor t = from_vector<double>(v, shape);
  t.set_requires_grad(requires_grad);
  return t;
}

void show(const char* name, const Tensor& t) { std::printf("    %-12s = %s\n", name, to_string(t, 10).c_str()); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> x = to_vector<double>(a), y = to_vector<double>(b);
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::fmax(m, std::fabs(x[i] - y[i]));
  return m;
}

}  // namespace

int main() {
  const double tolerance = 1e-10;
  Tensor x = f64({0.5, -1.0}, {1, 2}), y = f64({1.0}, {1, 1});
  Tensor W1 = f64({0.1, -0.2, 0.3, 0.4, 0.5, -0.6}, {2, 3}), b1 = f64({0.01, -0.02, 0.03}, {3});
  Tensor W2 = f64({0.7, -0.8, 0.9}, {3, 1}), b2 = f64({0.05}, {1});

  std::printf("Part 1: backpropagation by hand, checked against autograd\n");
  std::printf("  network: x[1,2] -> Linear(2,3) -> tanh -> Linear(3,1) -> sigmoid -> y_hat;"
              "  loss L = 1/2 (y_hat - y)^2\n\n  Forward pass\n");
  // Forward: plain tensor arithmetic (nothing requires grad, so nothing is recorded).
  Tensor z1 = matmul(x, W1) + b1, h = tanh(z1), z2 = matmul(h, W2) + b2, y_hat = sigmoid(z2);
  const double loss = 0.5 * sum((y_hat - y) * (y_hat - y)).item();
  show("x", x);
  show("z1 = xW1+b1", z1);
  show("h = tanh", h);
  show("z2 = hW2+b2", z2);
  show("y_hat", y_hat);
  std::printf("    %-12s = %.10f   (target y = 1)\n\n", "loss", loss);

  // Backward by hand, the chain rule one step at a time.
  struct Step {
    std::string name, rule;
    Tensor hand;
  };
  std::vector<Step> steps;
  Tensor dL_dyhat = y_hat - y;
  steps.push_back({"dL/dy_hat", "y_hat - y", dL_dyhat});
  Tensor dL_dz2 = dL_dyhat * y_hat * (1.0 - y_hat);
  steps.push_back({"dL/dz2", "dL/dy_hat * y_hat (1 - y_hat)", dL_dz2});
  steps.push_back({"dL/dW2", "h^T dL/dz2", matmul(t(h), dL_dz2)});
  steps.push_back({"dL/db2", "sum over batch of dL/dz2", sum(dL_dz2, {0})});
  Tensor dL_dh = matmul(dL_dz2, t(W2));
  steps.push_back({"dL/dh", "dL/dz2 W2^T", dL_dh});
  Tensor dL_dz1 = dL_dh * (1.0 - h * h);
  steps.push_back({"dL/dz1", "dL/dh * (1 - h^2)", dL_dz1});
  steps.push_back({"dL/dW1", "x^T dL/dz1", matmul(t(x), dL_dz1)});
  steps.push_back({"dL/db1", "sum over batch of dL/dz1", sum(dL_dz1, {0})});
  steps.push_back({"dL/dx", "dL/dz1 W1^T", matmul(dL_dz1, t(W1))});

  // The same network on the tape; retain_grad() keeps the intermediate gradients to compare.
  Tensor tx = f64(to_vector<double>(x), {1, 2}, true), tW1 = f64(to_vector<double>(W1), {2, 3}, true);
  Tensor tb1 = f64(to_vector<double>(b1), {3}, true), tW2 = f64(to_vector<double>(W2), {3, 1}, true);
  Tensor tb2 = f64(to_vector<double>(b2), {1}, true);
  Tensor tz1 = matmul(tx, tW1) + tb1, th = tanh(tz1), tz2 = matmul(th, tW2) + tb2, tyhat = sigmoid(tz2);
  for (const Tensor& v : {tz1, th, tz2, tyhat}) v.retain_grad();
  Tensor tloss = 0.5 * sum((tyhat - y) * (tyhat - y));
  tloss.backward();
  const Tensor autograd[] = {tyhat.grad(), tz2.grad(), tW2.grad(), tb2.grad(), th.grad(),
                             tz1.grad(),   tW1.grad(), tb1.grad(), tx.grad()};

  std::printf("  Backward pass (hand-derived | autograd | max |difference|)\n");
  bool all_ok = std::fabs(tloss.item() - loss) < tolerance;
  for (size_t i = 0; i < steps.size(); ++i) {
    const double diff = max_abs_diff(steps[i].hand, autograd[i]);
    const bool ok = diff < tolerance;
    all_ok = all_ok && ok;
    std::printf("  %-14s = %s\n", steps[i].name.c_str(), steps[i].rule.c_str());
    show("by hand", steps[i].hand);
    show("autograd", autograd[i]);
    std::printf("    %-12s = %s (max diff %.1e)\n", "agree", ok ? "yes" : "NO", diff);
  }
  std::printf("\n  All gradients agree: %s\n", all_ok ? "yes" : "NO");
  return all_ok ? 0 : 1;
}
