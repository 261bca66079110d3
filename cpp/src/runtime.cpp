// Threads and build facts.
#include "backpropx/runtime.h"

#include <Eigen/Core>
#include <thread>

#include "backpropx/error.h"
#include "ops/simd_kernels.h"

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
  simd_kernels::baseline_kernels().set_threads(n);
  if (const simd_kernels::Kernels* k = simd_kernels::avx512_kernels()) k->set_threads(n);
}

void set_simd_kernels(const std::string& name) { simd_kernels::select(name.c_str()); }

std::string active_simd_kernels() { return simd_kernels::active().name; }

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
  s += std::string("; SIMD kernels: ") + simd_kernels::active().name;
  if (simd_kernels::avx512_kernels()) s += " (AVX-512 available)";
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
