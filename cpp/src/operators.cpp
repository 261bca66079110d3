// Tensors from and to std::vector, and printing (backpropx/operators.h).
#include "backpropx/operators.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "backpropx/ops/shape.h"

namespace backpropx {

template <typename T>
Tensor from_vector(const std::vector<T>& values, Shape shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  BPX_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()), ValueError, "from_vector: ", values.size(),
            " values do not fill a tensor of shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, dtype_of<T>::value);
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

template <typename T>
std::vector<T> to_vector(const Tensor& t) {
  BPX_CHECK(t.defined(), ValueError, "to_vector: undefined tensor");
  Tensor c = t.contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

template Tensor from_vector<float>(const std::vector<float>&, Shape);
template Tensor from_vector<double>(const std::vector<double>&, Shape);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, Shape);
template std::vector<float> to_vector<float>(const Tensor&);
template std::vector<double> to_vector<double>(const Tensor&);
template std::vector<int64_t> to_vector<int64_t>(const Tensor&);

namespace {

std::string format_value(const Tensor& c, int64_t i, int precision) {
  char buf[64];
  switch (c.dtype()) {
    case DType::Float32:
    case DType::Float64: {
      double v = c.dtype() == DType::Float32 ? c.data<float>()[i] : c.data<double>()[i];
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      std::snprintf(buf, sizeof buf, "%.*f", precision, v);
      return buf;
    }
    case DType::Int64: return std::to_string(c.data<int64_t>()[i]);
    case DType::Bool: return c.data<bool>()[i] ? "True" : "False";
  }
  return "?";
}

void format_dims(std::ostringstream& os, const Tensor& c, int64_t dim, int64_t& index, int precision) {
  if (dim == c.dim()) {
    os << format_value(c, index++, precision);
    return;
  }
  os << "[";
  for (int64_t i = 0; i < c.size(dim); ++i) {
    if (i) os << (dim + 1 == c.dim() ? ", " : ",\n" + std::string(static_cast<size_t>(8 + dim), ' '));
    format_dims(os, c, dim + 1, index, precision);
  }
  os << "]";
}

}  // namespace

std::string to_string(const Tensor& t, int precision) {
  if (!t.defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  Tensor c = t.is_sparse() ? Tensor() : t.contiguous();
  if (!c.defined()) return "tensor(row-sparse, shape=" + shape_str(t.shape()) + ")";
  int64_t index = 0;
  format_dims(os, c, 0, index, precision);
  if (c.dtype() == DType::Float64 || c.dtype() == DType::Bool) os << ", dtype=" << dtype_name(c.dtype());
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace backpropx
