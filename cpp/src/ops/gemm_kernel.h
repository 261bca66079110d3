// The GEMM kernels behind every matrix product. Eigen's blocked GEMM is compiled twice: once with the
// core's flags (AVX2+FMA on x86-64) and once for AVX-512 (twice the FLOPs per instruction: about 1.9x
// the GFLOP/s on a Zen 5 core), and the CPU picks at run time, so one build runs anywhere its
// baseline does and uses AVX-512 where it exists.
#pragma once
#include <cstdint>
#include <type_traits>

namespace backpropx::gemm_kernels {

// C (m x n, col-major, leading dim ldc) = alpha A B + beta C; A is m x k and B k x n, each row-major
// (a_row / b_row) or col-major with leading dims lda / ldb. beta == 0: C is not read.
template <typename T>
using GemmFn = void (*)(bool a_row, bool b_row, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                        int64_t ldc, int64_t m, int64_t n, int64_t k, T alpha, T beta);

struct Kernels {
  const char* name;  // "baseline" | "avx512"
  GemmFn<float> f32;
  GemmFn<double> f64;
  void (*set_threads)(int);  // each compiled copy of Eigen keeps its own thread count
};

const Kernels& baseline_kernels();
const Kernels* avx512_kernels();  // nullptr when this build has none or the CPU cannot run them

const Kernels& active();           // avx512 where available, unless BACKPROPX_GEMM=baseline at start-up
void select(const char* name);     // "baseline" | "avx512" | "auto"; throws ValueError otherwise

// C (col-major, ldc) = alpha A B + beta C on the active kernels. Operands are read through their
// leading dims only, so a "matrix" may have overlapping rows (conv1d's sliding windows).
template <typename T>
void run(bool a_row, bool b_row, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t m,
         int64_t n, int64_t k, T alpha, T beta) {
  if constexpr (std::is_same_v<T, float>) active().f32(a_row, b_row, a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
  else active().f64(a_row, b_row, a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
}

}  // namespace backpropx::gemm_kernels
