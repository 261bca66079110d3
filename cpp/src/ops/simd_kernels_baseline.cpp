// The GEMM kernels compiled with the core's own SIMD flags (AVX2+FMA on x86-64 by default).
#define BPX_SIMD_KERNELS baseline_kernels
#define BPX_SIMD_NAME "baseline"
#include "simd_kernels_impl.h"
