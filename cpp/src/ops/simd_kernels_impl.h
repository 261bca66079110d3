// One copy of the kernels of simd_kernels.h, included by simd_kernels_baseline.cpp and simd_kernels_avx512.cpp
// (each compiled with its own flags). BPX_SIMD_KERNELS names the function that returns this copy.
//
// The AVX-512 copy renames Eigen's namespace (see simd_kernels_avx512.cpp): its inline template code
// then has symbols of its own, so the linker can never merge it with the baseline copy (an ODR clash
// that would run AVX-512 instructions on a CPU without them).
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "simd_kernels.h"

namespace backpropx::simd_kernels {

namespace {

template <typename T, int Order>
using ConstMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, Eigen::Unaligned,
                            Eigen::OuterStride<>>;
template <typename T>
using OutMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>, Eigen::Unaligned,
                          Eigen::OuterStride<>>;

constexpr int64_t kParallelZero = 1 << 16;  // elements of C

int nb_threads() { return Eigen::nbThreads(); }

template <typename T, int AO, int BO>
void gemm_ordered(const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t m, int64_t n,
                  int64_t k, T alpha, T beta) {
  ConstMap<T, AO> A(a, m, k, Eigen::OuterStride<>(lda));
  ConstMap<T, BO> B(b, k, n, Eigen::OuterStride<>(ldb));
  OutMap<T> C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == T(0) && m * n >= kParallelZero && nb_threads() > 1) {
    // `C = A B` would zero C on one thread first (Eigen evaluates it as setZero, then +=): zero the
    // columns on all threads instead, so the second core does not wait through a serial memset.
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < m; ++i) c[j * ldc + i] = T(0);  // a plain loop: no std template here (see top)
    beta = T(1);
  }
  if (beta == T(0)) {
    if (alpha == T(1)) C.noalias() = A * B;
    else C.noalias() = (alpha * A) * B;
  } else {
    if (beta != T(1)) C *= beta;
    if (alpha == T(1)) C.noalias() += A * B;
    else C.noalias() += (alpha * A) * B;
  }
}

template <typename T>
void gemm_one(bool a_row, bool b_row, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t m,
              int64_t n, int64_t k, T alpha, T beta) {
  constexpr int R = Eigen::RowMajor, Cm = Eigen::ColMajor;
  if (a_row && b_row) gemm_ordered<T, R, R>(a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
  else if (a_row) gemm_ordered<T, R, Cm>(a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
  else if (b_row) gemm_ordered<T, Cm, R>(a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
  else gemm_ordered<T, Cm, Cm>(a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
}

// Eigen's own threading shares the packed panels between threads and meets at a barrier per block; for
// a C with one short side (conv1d's 100 filters, a recurrent step's 20 rows, a [10000, 400] decoder
// gradient) that costs more than it saves (measured on 2 Zen 5 cores: [800 x 200] x [200 x 20] 84
// GFLOP/s with 2 threads vs 193 with 1; [640 x 3196] x [3196 x 100] 246 vs 402 split by hand). There C is
// cut along its long side into one independent single-threaded GEMM per thread. A long inner dimension
// (k > 4096: the decoder's input gradient) or a squarish C stays with Eigen.
bool split_by_hand(int64_t m, int64_t n, int64_t k, int threads) {
  static const bool enabled = !getenv("BPX_NO_GEMM_SPLIT");  // for measurements
  if (!enabled) return false;
  const int64_t lo = m < n ? m : n, hi = m < n ? n : m;  // no std:: templates in this file (see top)
  return threads > 1 && k <= 4096 && (hi > 4 * lo || lo <= 128) && hi >= 16 * threads && m * n * k >= (1 << 21);
}

template <typename T>
void gemm(bool a_row, bool b_row, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t m,
          int64_t n, int64_t k, T alpha, T beta) {
  const int threads = nb_threads();
#ifdef _OPENMP
  if (!omp_in_parallel() && split_by_hand(m, n, k, threads)) {
#pragma omp parallel num_threads(threads)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      if (m >= n) {  // rows of C (and of A), in multiples of 48 (the AVX-512 kernel's row panel)
        const int64_t per = (m + nt - 1) / nt, step = (per + 47) / 48 * 48;
        const int64_t r0 = t * step < m ? t * step : m, r1 = r0 + step < m ? r0 + step : m;
        if (r1 > r0)
          gemm_one(a_row, b_row, a_row ? a + r0 * lda : a + r0, lda, b, ldb, c + r0, ldc, r1 - r0, n, k, alpha, beta);
      } else {  // columns of C (and of B)
        const int64_t per = (n + nt - 1) / nt;
        const int64_t c0 = t * per < n ? t * per : n, c1 = c0 + per < n ? c0 + per : n;
        if (c1 > c0)
          gemm_one(a_row, b_row, a, lda, b_row ? b + c0 : b + c0 * ldb, ldb, c + c0 * ldc, ldc, m, c1 - c0, k, alpha,
                   beta);
      }
    }
    return;
  }
#endif
  gemm_one(a_row, b_row, a, lda, b, ldb, c, ldc, m, n, k, alpha, beta);
}

void set_threads(int n) { Eigen::setNbThreads(n); }

template <typename T>
T logsumexp_impl(const T* x, int64_t n) {
  const Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> row(x, n);
  const T m = row.maxCoeff();
  return m + std::log((row - m).exp().sum());
}

template <typename T>
void softmax_row_impl(const T* x, int64_t n, T lse, T coef, T shift, const T* w, T* d) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  const Eigen::Map<const Arr> row(x, n);
  Eigen::Map<Arr> out(d, n);
  if (w) out = coef * (row - lse).exp() - shift * Eigen::Map<const Arr>(w, n);
  else if (shift != T(0)) out = coef * (row - lse).exp() - shift;
  else out = coef * (row - lse).exp();
}

}  // namespace

const Kernels& BPX_SIMD_KERNELS() {
  static const Kernels kernels{BPX_SIMD_NAME,
                               &gemm<float>,
                               &gemm<double>,
                               &set_threads,
                               &logsumexp_impl<float>,
                               &logsumexp_impl<double>,
                               &softmax_row_impl<float>,
                               &softmax_row_impl<double>};
  return kernels;
}

}  // namespace backpropx::simd_kernels
