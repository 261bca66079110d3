// Options structs with chainable setters, as torch's C++ API:
//   nn::LSTM lstm(nn::RNNOptions(10, 20).num_layers(2).bidirectional(true));
#pragma once

// BACKPROPX_ARG(int64_t, num_layers) = 1; declares a field num_layers_ with a setter num_layers(v) that
// returns the options (so calls chain) and a getter num_layers().
#define BACKPROPX_ARG(T, name)                \
 public:                                      \
  auto& name(const T& value) {                \
    name##_ = value;                          \
    return *this;                             \
  }                                           \
  const T& name() const { return name##_; }   \
                                              \
 private:                                     \
  T name##_
