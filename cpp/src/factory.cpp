// Creating tensors, and the global random generator.
#include <cmath>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  NoGradGuard ng;
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double start, double end, double step, DType dtype) {
  BPX_CHECK(step != 0, ValueError, "arange: step must be nonzero");
  BPX_CHECK((end - start) / step >= 0 || end == start, ValueError, "arange: upper bound (", end,
            ") and lower bound (", start, ") inconsistent with step sign (", step, ")");
  const double count = std::ceil((end - start) / step);
  BPX_CHECK(std::isfinite(count) && count < 9.0e18, ValueError, "arange: [", start, ", ", end, ") with step ", step,
            " would have ", count, " elements, too many to allocate");
  const int64_t n = std::max<int64_t>(static_cast<int64_t>(count), 0);
  Tensor t = Tensor::empty({n}, dtype);
  dispatch_numeric(dtype, "arange", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + i * step);
  });
  return t;
}

// ---- random -----------------------------------------------------------------------------------------

double Generator::uniform() {
  // 53 random bits -> [0, 1)
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
}

double Generator::normal() {
  // Box-Muller; 1 - u keeps log away from 0
  double u1 = 1.0 - uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

Generator& default_generator() {
  static Generator g(5489u);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

Tensor uniform_(Tensor& t, double low, double high) {
  Generator& g = default_generator();
  Tensor c = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  dispatch_float(t.dtype(), "uniform_", [&](auto tag) {
    using T = decltype(tag);
    T* p = c.data<T>();
    for (int64_t i = 0, n = c.numel(); i < n; ++i) p[i] = static_cast<T>(low + (high - low) * g.uniform());
  });
  if (!c.same(t)) copy_strided(c, t);
  t.bump_version();
  return t;
}

Tensor normal_(Tensor& t, double mean, double std) {
  Generator& g = default_generator();
  Tensor c = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  dispatch_float(t.dtype(), "normal_", [&](auto tag) {
    using T = decltype(tag);
    T* p = c.data<T>();
    for (int64_t i = 0, n = c.numel(); i < n; ++i) p[i] = static_cast<T>(mean + std * g.normal());
  });
  if (!c.same(t)) copy_strided(c, t);
  t.bump_version();
  return t;
}

Tensor rand(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  return uniform_(t, 0.0, 1.0);
}

Tensor randn(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  return normal_(t, 0.0, 1.0);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  BPX_CHECK(high > low, ValueError, "randint: high (", high, ") must be greater than low (", low, ")");
  Tensor t = Tensor::empty(shape, dtype);
  Generator& g = default_generator();
  uint64_t range = static_cast<uint64_t>(high - low);
  dispatch_numeric(dtype, "randint", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(low + static_cast<int64_t>(g.engine()() % range));
  });
  return t;
}

}  // namespace backpropx
