// Creating tensors, and the seedable random generator (cpp/src/factory.cpp, random.cpp).
#pragma once
#include <cstdint>
#include <random>

#include "backpropx/tensor.h"

namespace backpropx {

Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Int64);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);

// The global generator. manual_seed makes randn/rand/randint/dropout/init repeatable.
class Generator {
 public:
  explicit Generator(uint64_t seed = 5489u) { this->seed(seed); }
  void seed(uint64_t s) { engine_.seed(s); seed_ = s; }
  uint64_t initial_seed() const { return seed_; }
  std::mt19937_64& engine() { return engine_; }
  double uniform();  // [0, 1)
  double normal();   // N(0, 1)

 private:
  std::mt19937_64 engine_;
  uint64_t seed_ = 0;
};
Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor rand(const Shape& shape, DType dtype = DType::Float32);   // U[0, 1)
Tensor randn(const Shape& shape, DType dtype = DType::Float32);  // N(0, 1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64);
Tensor uniform_(Tensor& t, double low, double high);   // in place, no grad
Tensor normal_(Tensor& t, double mean, double std);    // in place, no grad

}  // namespace backpropx
