// Threads and build facts.
#include "backpropx/runtime.h"

#include <Eigen/Core>
#include <thread>

#include "backpropx/error.h"
#include "ops/gemm_kernel.h"

#ifdef BACKPROPX_OPENMP
#include <omp.h>
#endif

namespace backpropx {

void set_num_threads(int n) {
  BPX_CHECK(n >= 1, ValueError, "set_num_threads: expected a positive number of threads, got ", n);
#ifdef BACKPROPX_OPENMP
  omp_set_num_threads(n);
#endif
  Eigen::setNbThreads(n);
  gemm_kernels::baseline_kernels().set_threads(n);
  if (const gemm_kernels::Kernels* k = gemm_kernels::avx512_kernels()) k->set_threads(n);
}

void set_gemm_kernel(const std::string& name) { gemm_kernels::select(name.c_str()); }

std::string gemm_kernel() { return gemm_kernels::active().name; }

int get_num_threads() {
#ifdef BACKPROPX_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

std::string build_info() {
  std::string s = std::string("SIMD: ") + Eigen::SimdInstructionSetsInUse();
#ifdef __FMA__
  s += ", FMA";
#endif
  s += std::string("; GEMM kernel: ") + gemm_kernels::active().name;
  if (gemm_kernels::avx512_kernels()) s += " (AVX-512 available)";
#ifdef BACKPROPX_OPENMP
  s += "; OpenMP: on";
#else
  s += "; OpenMP: off";
#endif
  s += "; Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
       std::to_string(EIGEN_MINOR_VERSION);
#ifdef __VERSION__
  s += "; compiler: " + std::string(__VERSION__);
#endif
  return s;
}

}  // namespace backpropx
