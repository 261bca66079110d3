// Conveniences for C++ users: arithmetic operators on tensors (each is the differentiable op of the same
// meaning: a + b is add(a, b)), tensors from and to std::vector, and printing.
//
//   Tensor x = from_vector<double>({0.5, -1.0}, {1, 2});
//   Tensor y = tanh(matmul(x, w) + b) * 2.0;
//   std::cout << y << "\n";               // tensor([[0.123400, -0.567800]])
//   std::vector<double> v = to_vector<double>(y);
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "backpropx/ops/elementwise.h"
#include "backpropx/tensor.h"

namespace backpropx {

// a + b (broadcasting).
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
// a - b (broadcasting).
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
// a * b elementwise (broadcasting); matmul(a, b) is the matrix product.
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
// a / b elementwise (broadcasting).
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
// -a.
inline Tensor operator-(const Tensor& a) { return neg(a); }
// a + s, with s a 0-d tensor of a's dtype (as Python's wrapped numbers).
inline Tensor operator+(const Tensor& a, double s) { return add(a, scalar_tensor(s, a.dtype())); }
// s + a.
inline Tensor operator+(double s, const Tensor& a) { return add(scalar_tensor(s, a.dtype()), a); }
// a - s.
inline Tensor operator-(const Tensor& a, double s) { return sub(a, scalar_tensor(s, a.dtype())); }
// s - a.
inline Tensor operator-(double s, const Tensor& a) { return sub(scalar_tensor(s, a.dtype()), a); }
// a * s.
inline Tensor operator*(const Tensor& a, double s) { return mul(a, scalar_tensor(s, a.dtype())); }
// s * a.
inline Tensor operator*(double s, const Tensor& a) { return mul(scalar_tensor(s, a.dtype()), a); }
// a / s.
inline Tensor operator/(const Tensor& a, double s) { return div(a, scalar_tensor(s, a.dtype())); }
// s / a.
inline Tensor operator/(double s, const Tensor& a) { return div(scalar_tensor(s, a.dtype()), a); }

// A new contiguous tensor of shape (empty shape: 1-D of values.size()) holding values; T is float
// (float32), double (float64) or int64_t (int64).
template <typename T>
Tensor from_vector(const std::vector<T>& values, Shape shape = {});
// The elements of t in row-major order (any strides); T must be t's element type.
template <typename T>
std::vector<T> to_vector(const Tensor& t);

// The values as text, as Python's repr: tensor([[0.1000, 0.2000]]) (precision digits after the point).
std::string to_string(const Tensor& t, int precision = 4);
// Prints to_string(t).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace backpropx
