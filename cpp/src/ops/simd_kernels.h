// The compute-bound kernels, compiled twice: once with the core's flags (AVX2+FMA on x86-64) and once
// for AVX-512 (twice the work per instruction: Eigen's GEMM runs about 1.9x the GFLOP/s on a Zen 5
// core), and the CPU picks at run time, so one build runs anywhere its baseline does and uses AVX-512
// where it exists. They are the GEMM behind every matrix product and the exp-heavy rows of
// cross_entropy (a log-sum-exp and a softmax per row of the logits).
#pragma once
#include <cstdint>
#include <type_traits>

namespace backpropx::simd_kernels {

// C (m x n, col-major, leading dim ldc) = alpha A B + beta C; A is m x k and B k x n, each row-major
// (a_row / b_row) or col-major with leading dims lda / ldb. beta == 0: C is not read.
template <typename T>
using GemmFn = void (*)(bool a_row, bool b_row, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                        int64_t ldc, int64_t m, int64_t n, int64_t k, T alpha, T beta);

// log(sum_i exp(x_i)) of a contiguous row of n >= 1 values, through its max (stable).
template <typename T>
using LogSumExpFn = T (*)(const T* x, int64_t n);

// d_i = coef exp(x_i - lse) - shift w_i (w_i = 1 when w is null): a row of cross_entropy's gradient.
template <typename T>
using SoftmaxRowFn = void (*)(const T* x, int64_t n, T lse, T coef, T shift, const T* w, T* d);

struct Kernels {
  const char* name;  // "baseline" | "avx512"
  GemmFn<float> gemm_f32;
  GemmFn<double> gemm_f64;
  void (*set_threads)(int);  // each compiled copy of Eigen keeps its own thread count
  LogSumExpFn<float> logsumexp_f32;
  LogSumExpFn<double> logsumexp_f64;
  SoftmaxRowFn<float> softmax_row_f32;
  SoftmaxRowFn<double> softmax_row_f64;
};

const Kernels& baseline_kernels();
const Kernels* avx512_kernels();  // nullptr when this build has none or the CPU cannot run them

const Kernels& active();           // avx512 where available, unless BACKPROPX_KERNELS=baseline at start-up
void select(const char* name);     // "baseline" | "avx512" | "auto"; throws ValueError otherwise

// C (col-major, ldc) = alpha A B + beta C on the active kernels. Operands are read through their
// leading dims only, so a "matrix" may have overlapping rows (conv1d's sliding windows).
template <typename T>
void run(bool a_row, bool b_row, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t m,
         int64_t n, int64_t k, T alpha, T beta) {
  if constexpr (std::is_same_v<T, float>) active().gemm_f32(a_row, b_row, a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
  else active().gemm_f64(a_row, b_row, a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
}

template <typename T>
T logsumexp(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) return active().logsumexp_f32(x, n);
  else return active().logsumexp_f64(x, n);
}

template <typename T>
void softmax_row(const T* x, int64_t n, T lse, T coef, T shift, const T* w, T* d) {
  if constexpr (std::is_same_v<T, float>) active().softmax_row_f32(x, n, lse, coef, shift, w, d);
  else active().softmax_row_f64(x, n, lse, coef, shift, w, d);
}

}  // namespace backpropx::simd_kernels
