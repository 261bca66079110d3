// Element types and devices.
#pragma once
#include <cstdint>
#include <string>

#include "backpropx/error.h"

namespace backpropx {

enum class DType : uint8_t { Float32, Float64, Int64, Bool };

inline size_t element_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  return 0;
}
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "?";
}
inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// The dtype of a binary op's result: bool < int64 < float32 < float64.
inline int dtype_rank(DType t) {
  switch (t) {
    case DType::Bool: return 0;
    case DType::Int64: return 1;
    case DType::Float32: return 2;
    case DType::Float64: return 3;
  }
  return 0;
}
inline DType promote_types(DType a, DType b) { return dtype_rank(a) >= dtype_rank(b) ? a : b; }

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };

// dispatch_float(dtype, "op", [&](auto tag) { using T = decltype(tag); ... }) runs the body for
// float or double and raises a TypeError naming the op for any other dtype.
template <typename F>
decltype(auto) dispatch_float(DType t, const char* op, F&& body) {
  switch (t) {
    case DType::Float32: return body(float{});
    case DType::Float64: return body(double{});
    default: break;
  }
  throw TypeError(cat(op, ": expected a float32 or float64 tensor, got ", dtype_name(t)));
}

// Same, for every dtype (bool runs as bool).
template <typename F>
decltype(auto) dispatch_all(DType t, F&& body) {
  switch (t) {
    case DType::Float32: return body(float{});
    case DType::Float64: return body(double{});
    case DType::Int64: return body(int64_t{});
    case DType::Bool: return body(bool{});
  }
  throw TypeError("unknown dtype");
}

// Numeric dtypes (float, double, int64); bool raises.
template <typename F>
decltype(auto) dispatch_numeric(DType t, const char* op, F&& body) {
  switch (t) {
    case DType::Float32: return body(float{});
    case DType::Float64: return body(double{});
    case DType::Int64: return body(int64_t{});
    default: break;
  }
  throw TypeError(cat(op, ": not supported for ", dtype_name(t), " tensors"));
}

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return type == DeviceType::CPU ? "cpu" : "cuda:" + std::to_string(index); }
};

}  // namespace backpropx
