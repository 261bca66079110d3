// Picks the GEMM kernels for this CPU (see simd_kernels.h).
#include "simd_kernels.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backpropx/error.h"

namespace backpropx::simd_kernels {

#ifdef BPX_HAVE_AVX512_KERNELS
const Kernels& avx512_copy();  // simd_kernels_avx512.cpp
#endif

const Kernels* avx512_kernels() {
#ifdef BPX_HAVE_AVX512_KERNELS
  static const bool runs = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
  return runs ? &avx512_copy() : nullptr;
#else
  return nullptr;
#endif
}

namespace {

const Kernels* pick(const char* name) {
  if (std::strcmp(name, "baseline") == 0) return &baseline_kernels();
  if (std::strcmp(name, "avx512") == 0) return avx512_kernels();
  if (std::strcmp(name, "auto") == 0 || name[0] == '\0') {
    const Kernels* k = avx512_kernels();
    return k ? k : &baseline_kernels();
  }
  return nullptr;
}

const Kernels*& current() {
  static const Kernels* k = [] {
    const char* env = std::getenv("BACKPROPX_KERNELS");
    const Kernels* chosen = env ? pick(env) : nullptr;
    if (env && !chosen)  // start-up: nothing to raise to, so say it once and go on with auto
      std::fprintf(stderr, "backpropx: BACKPROPX_KERNELS=%s is not available here (expected auto, baseline or "
                   "avx512 on a CPU with AVX-512); using auto\n", env);
    return chosen ? chosen : pick("auto");
  }();
  return k;
}

}  // namespace

const Kernels& active() { return *current(); }

void select(const char* name) {
  const Kernels* k = pick(name);
  BPX_CHECK(k != nullptr || std::strcmp(name, "avx512") != 0, ValueError,
            "set_simd_kernels: 'avx512' is not available (this CPU or this build has no AVX-512 GEMM)");
  BPX_CHECK(k != nullptr, ValueError, "set_simd_kernels: expected 'auto', 'baseline' or 'avx512', got '", name, "'");
  current() = k;
}

}  // namespace backpropx::simd_kernels
