// dropout: inverted dropout driven by the global generator (manual_seed makes the mask repeatable).
// Forward draws a keep mask (bool, 1 byte per element: the only thing backward needs) and writes
// x * mask / (1 - p); backward is one pass dx = g * mask / (1 - p).
#include <cmath>
#include <cstdint>
#include <random>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

Tensor dropout(const Tensor& x_in, double p, bool training) {
  BPX_CHECK(x_in.defined(), ValueError, "dropout: got an undefined tensor");
  BPX_CHECK(p >= 0.0 && p <= 1.0, ValueError, "dropout: probability has to be between 0 and 1, but got ", p);
  BPX_CHECK(is_floating(x_in.dtype()), TypeError, "dropout: expected a float32 or float64 tensor, got ",
            dtype_name(x_in.dtype()));
  if (!training || p == 0.0) return x_in;  // the input itself, as torch

  const int64_t n = x_in.numel();
  Tensor mask = Tensor::empty(x_in.shape(), DType::Bool);
  bool* mp = mask.data<bool>();
  if (p == 1.0) {
    for (int64_t i = 0; i < n; ++i) mp[i] = false;
  } else {
    // sequential draws, so the mask depends only on the seed; each 64-bit draw decides two elements
    // (keep when a 32-bit half is >= p * 2^32)
    std::mt19937_64& engine = default_generator().engine();
    const uint64_t threshold = static_cast<uint64_t>(p * 4294967296.0);
    int64_t i = 0;
    for (; i + 1 < n; i += 2) {
      const uint64_t r = engine();
      mp[i] = (r & 0xffffffffu) >= threshold;
      mp[i + 1] = (r >> 32) >= threshold;
    }
    if (i < n) mp[i] = (engine() & 0xffffffffu) >= threshold;
  }
  const double scale = p == 1.0 ? 0.0 : 1.0 / (1.0 - p);

  Tensor x = x_in.detach().contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    const T s = static_cast<T>(scale);
    parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) op[i] = xp[i] * (mp[i] ? s : T(0));  // x * 0 keeps nan/inf as torch
    });
  });

  if (any_requires_grad({&x_in})) {
    auto node = record("DropoutBackward", {x_in}, {out}, [scale](const TensorList& g, FunctionNode& nd) {
      Tensor m = nd.saved(0);
      const bool* mp = m.data<bool>();
      Tensor dx = dispatch_float(g[0].dtype(), "dropout", [&](auto tag) {
        using T = decltype(tag);
        Tensor go = g[0].contiguous();
        Tensor r = Tensor::empty(go.shape(), go.dtype());
        const T* gp = go.data<T>();
        T* rp = r.data<T>();
        const T s = static_cast<T>(scale);
        parallel_for(go.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) rp[i] = gp[i] * (mp[i] ? s : T(0));
        });
        return r;
      });
      return TensorList{dx};
    });
    node->save(mask);
  }
  return out;
}

}  // namespace backpropx
