// The GEMM kernels compiled with the core's own SIMD flags (AVX2+FMA on x86-64 by default).
#define BPX_GEMM_KERNELS baseline_kernels
#define BPX_GEMM_NAME "baseline"
#include "gemm_kernel_impl.h"
