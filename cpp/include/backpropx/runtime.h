// Threads and build facts.
#pragma once
#include <string>

namespace backpropx {

void set_num_threads(int n);  // OpenMP kernels and Eigen's GEMM
int get_num_threads();
std::string build_info();     // SIMD instruction sets in use, OpenMP, compiler

}  // namespace backpropx
