// Gradient checks of a few ops from C++ alone (no Python): float64 central differences against
// autograd. Also checks the checker: a planted wrong gradient must fail. Exit code 0 = all passed.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "backpropx/backpropx.h"

using namespace backpropx;

namespace {

int failures = 0;
int passes = 0;

Tensor input(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  Tensor t = Tensor::empty(shape, DType::Float64);
  uniform_(t, lo, hi);
  t.set_requires_grad(true);
  return t;
}

void check(const std::string& name, const GradcheckFn& fn, const TensorList& inputs, bool expect_ok = true) {
  GradcheckResult r = gradcheck(fn, inputs);
  bool good = r.ok == expect_ok;
  std::printf("%s %s%s%s\n", good ? "PASS" : "FAIL", name.c_str(), r.ok ? "" : "  -- ", r.ok ? "" : r.message.c_str());
  (good ? passes : failures)++;
}

// An op with a deliberately wrong backward (2x the true gradient), to prove the checker catches it.
Tensor wrong_square(const Tensor& x) {
  Tensor out = mul(x, x);
  {
    NoGradGuard ng;
    out = out.detach();
  }
  auto node = record("WrongSquareBackward", {x}, {out}, [](const TensorList& g, FunctionNode& n) {
    return TensorList{mul(mul(g[0], n.saved(0)), scalar_tensor(4.0, DType::Float64))};
  });
  node->save(x);
  return out;
}

}  // namespace

int main() {
  manual_seed(0);
  check("add (broadcast)", [](const TensorList& x) { return TensorList{add(x[0], x[1])}; }, {input({2, 3}), input({3})});
  check("mul (broadcast)", [](const TensorList& x) { return TensorList{mul(x[0], x[1])}; }, {input({2, 1, 3}), input({4, 1})});
  check("div", [](const TensorList& x) { return TensorList{div(x[0], x[1])}; }, {input({3, 2}), input({3, 2}, 0.5, 2.0)});
  check("tanh", [](const TensorList& x) { return TensorList{tanh(x[0])}; }, {input({4, 3})});
  check("sigmoid", [](const TensorList& x) { return TensorList{sigmoid(x[0])}; }, {input({5})});
  check("exp/log", [](const TensorList& x) { return TensorList{log(exp(x[0]))}; }, {input({2, 2})});
  check("sum over dim", [](const TensorList& x) { return TensorList{sum(x[0], {1}, true)}; }, {input({3, 4})});
  check("mean", [](const TensorList& x) { return TensorList{mean(x[0])}; }, {input({3, 4})});
  check("transpose+reshape", [](const TensorList& x) { return TensorList{reshape(transpose(x[0], 0, 1), {-1})}; },
        {input({2, 3})});
  check("chain of 5 ops", [](const TensorList& x) {
    return TensorList{sum(mul(tanh(add(x[0], x[1])), sigmoid(x[1])), {0})};
  }, {input({3, 2}), input({3, 2})});
  check("planted wrong gradient is caught", [](const TensorList& x) { return TensorList{wrong_square(x[0])}; },
        {input({3})}, /*expect_ok=*/false);

  // A 20,000-node chain backpropagates without recursion.
  Tensor x = input({1});
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = mul(y, scalar_tensor(1.0, DType::Float64));
  sum(y).backward();
  bool chain_ok = x.grad().defined() && std::fabs(x.grad().item() - 1.0) < 1e-12;
  std::printf("%s 20000-node chain backward\n", chain_ok ? "PASS" : "FAIL");
  (chain_ok ? passes : failures)++;

  std::printf("%d passed, %d failed\n", passes, failures);
  return failures == 0 ? 0 : 1;
}
