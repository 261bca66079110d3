// Threads and build facts.
#pragma once
#include <string>

namespace backpropx {

void set_num_threads(int n);  // OpenMP kernels and Eigen's GEMM
int get_num_threads();
// Which copy of the SIMD kernels (GEMM, cross_entropy's rows) runs: "auto" (AVX-512 where the CPU has
// it), "baseline" (the build's SIMD flags) or "avx512". BACKPROPX_KERNELS sets the start-up choice.
void set_simd_kernels(const std::string& name);
std::string active_simd_kernels();
std::string build_info();     // SIMD instruction sets in use, OpenMP, compiler

}  // namespace backpropx
