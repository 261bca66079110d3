// Matrix products. Transposed operands (a view with swapped strides) go to the GEMM as a transpose
// flag, never as a copy. Kernels: cpp/src/ops/linalg.cpp.
#pragma once
#include "backpropx/tensor.h"

namespace backpropx {

Tensor matmul(const Tensor& a, const Tensor& b);  // 1-D..N-D, batched with broadcasting, as torch.matmul
Tensor mm(const Tensor& a, const Tensor& b);      // 2-D only
Tensor bmm(const Tensor& a, const Tensor& b);     // 3-D only, same batch
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());  // x W^T + b, fused

// C = alpha * op(A) op(B) + beta * C on raw 2-D strided matrices (the one GEMM entry point).
void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha, double beta);

}  // namespace backpropx
