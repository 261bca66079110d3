// The GEMM kernels compiled for AVX-512: CMake adds -mavx512f -mavx512vl -mavx512dq -mavx512bw to this
// file alone and defines BPX_HAVE_AVX512_KERNELS where the compiler takes them. Eigen's namespace is
// renamed, and nothing but Eigen is included, so no inline function compiled with these flags is shared
// with the rest of the library (`nm -C` on this object lists no weak symbol outside bpx_eigen_avx512).
#ifdef BPX_HAVE_AVX512_KERNELS
#define Eigen bpx_eigen_avx512
#define BPX_SIMD_KERNELS avx512_copy
#define BPX_SIMD_NAME "avx512"
#include "simd_kernels_impl.h"
#endif
