# Pick SIMD flags right for the build host and safe elsewhere. scikit-build-core's Release flags carry
# no -m flags, which leaves Eigen on SSE2 (2.5x slower GEMM). -march=native is a trap on Zen 3 with
# g++ 12 (its znver3 tuning makes Eigen's GEMM ~30% slower), so "auto" means -mavx2 -mfma when the
# build host runs AVX2+FMA code, else the compiler default.
set(BACKPROPX_SIMD_FLAGS "")
if(BACKPROPX_SIMD STREQUAL "auto")
  include(CheckCXXSourceRuns)
  set(CMAKE_REQUIRED_FLAGS "-mavx2 -mfma")
  check_cxx_source_runs([=[
    #include <immintrin.h>
    int main() {
      if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 1;
      __m256 a = _mm256_set1_ps(1.f);
      a = _mm256_fmadd_ps(a, a, a);
      return _mm256_cvtss_f32(a) == 2.f ? 0 : 1;
    }]=] BACKPROPX_HOST_HAS_AVX2_FMA)
  unset(CMAKE_REQUIRED_FLAGS)
  if(BACKPROPX_HOST_HAS_AVX2_FMA)
    set(BACKPROPX_SIMD_FLAGS -mavx2 -mfma)
  endif()
elseif(BACKPROPX_SIMD STREQUAL "avx2")
  set(BACKPROPX_SIMD_FLAGS -mavx2 -mfma)
elseif(BACKPROPX_SIMD STREQUAL "native")
  set(BACKPROPX_SIMD_FLAGS -march=native -mtune=generic)
elseif(NOT BACKPROPX_SIMD STREQUAL "none")
  message(FATAL_ERROR "BACKPROPX_SIMD must be auto, avx2, native or none (got ${BACKPROPX_SIMD})")
endif()
