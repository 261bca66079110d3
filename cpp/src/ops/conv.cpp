// conv1d and the 1-D pools, forward and fused backward side by side.
//
// conv1d with stride 1, dilation 1 and one group runs on a time-major copy of x with no im2col at all
// (conv1d_time_major below). Any other conv1d (x [N, C, L], w [F, C/G, K] with G groups, output
// positions R = N * L_out):
//   forward   cols [R, C K] = im2col(x)                 every window unfolded, padding as zeros
//             Yt [F, R] = W [F, C K] cols^T             ONE GEMM per group (the batch folded into R)
//             y [N, F, L_out] = Yt + bias               one pass: rows of Yt copied block by block
//   backward  Gt [F, R] = dy (batch folded), db = sum of Gt's rows
//             dW = Gt cols                              ONE GEMM per group (cols recomputed from x)
//             dcols [R, C K] = Gt^T W                   ONE GEMM per group
//             dx = col2im(dcols)                        fold: overlapping windows add up
// Pools see x as rows [N C, L]: max_pool1d / adaptive_max_pool1d keep the argmax of each window (the
// backward scatters the gradient to it), avg_pool1d divides by the window size as torch counts it.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/ops/conv.h"
#include "simd_kernels.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

// An [N, C, L] view of a 3-D input, or of a 2-D (unbatched [C, L]) one with N = 1.
Tensor as_batched(const Tensor& x, const char* op) {
  BPX_CHECK(x.defined(), ValueError, op, ": got an undefined input");
  BPX_CHECK(x.dim() == 2 || x.dim() == 3, ValueError, op, ": expected a 2-D [C, L] or 3-D [N, C, L] input, got shape ",
            shape_str(x.shape()));
  BPX_CHECK(is_floating(x.dtype()), TypeError, op, ": expected a float32 or float64 input, got ",
            dtype_name(x.dtype()));
  if (x.dim() == 3) return x;
  return make_view(x, {1, x.shape()[0], x.shape()[1]}, {0, x.strides()[0], x.strides()[1]}, x.offset());
}

// The output length of a sliding window, as torch's pooling_output_shape (ceil_mode: a last partial
// window counts if it starts inside the input or the left padding).
int64_t window_count(int64_t L, int64_t K, int64_t pad_left, int64_t pad_right, int64_t stride, int64_t dilation,
                     bool ceil_mode) {
  const int64_t span = L + pad_left + pad_right - dilation * (K - 1) - 1;
  if (span < 0) return 0;
  int64_t n = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (n - 1) * stride >= L + pad_left) --n;
  return n;
}

// ---- conv1d ---------------------------------------------------------------------------------------

// A temporary that lives only inside one conv1d call (cols, dcols, Yt, Gt), in a per-thread buffer kept
// between calls: a fresh multi-megabyte buffer costs a page fault per 4 KiB on first touch, which measured
// more than the im2col that fills it. Buffers above kKeptBytes are not kept.
Tensor scratch(int slot, const Shape& shape, DType dtype) {
  constexpr size_t kKeptBytes = size_t{64} << 20;
  thread_local std::shared_ptr<Storage> kept[3];
  const size_t nbytes = static_cast<size_t>(shape_numel(shape)) * element_size(dtype);
  if (nbytes > kKeptBytes) return Tensor::empty(shape, dtype);
  std::shared_ptr<Storage>& buf = kept[slot];
  if (!buf || buf->nbytes() < nbytes || buf.use_count() > 1) buf = std::make_shared<Storage>(nbytes, Device{});
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = buf;
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}


struct ConvGeom {
  int64_t N, C, L, F, K, L_out, stride, pad, dilation, groups;
  int64_t rows() const { return N * L_out; }
  int64_t ck() const { return C * K; }
};

// cols[(n L_out + o), c K + k] = x[n, c, o stride - pad + k dilation] (0 outside the input). One output
// position per row; a window wholly inside the input skips the bounds checks.
template <typename T>
void im2col(const Tensor& x, const ConvGeom& g, T* cols) {
  const T* xp = x.data<T>();
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1], s2 = x.strides()[2], ck = g.ck();
  const int64_t K = g.K, step = g.dilation * s2, span = g.dilation * (g.K - 1);
  parallel_for(g.rows(), std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(ck, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.L_out, o = r % g.L_out, start = o * g.stride - g.pad;
      T* row = cols + r * ck;
      const T* xn = xp + n * s0;
      if (start >= 0 && start + span < g.L) {
        for (int64_t c = 0; c < g.C; ++c) {
          const T* src = xn + c * s1 + start * s2;
          T* dst = row + c * K;
          for (int64_t k = 0; k < K; ++k) dst[k] = src[k * step];
        }
        continue;
      }
      for (int64_t c = 0; c < g.C; ++c) {
        const T* xc = xn + c * s1;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t pos = start + k * g.dilation;
          row[c * K + k] = pos >= 0 && pos < g.L ? xc[pos * s2] : T(0);
        }
      }
    }
  });
}

// dx[n, c, pos] = sum of dcols over every (o, k) that read x[n, c, pos]. Work units are (sample, block of
// channels): each reads its rows of dcols in contiguous runs and owns its part of dx (no races).
template <typename T>
void col2im(const T* dcols, const ConvGeom& g, T* dx) {
  constexpr int64_t kChannelBlock = 32;
  const int64_t ck = g.ck(), K = g.K, d = g.dilation, span = d * (K - 1);
  const int64_t cblocks = (g.C + kChannelBlock - 1) / kChannelBlock;
  const int64_t work = std::min(g.C, kChannelBlock) * g.L_out * K;
  parallel_for(g.N * cblocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work, 1)),
               [&](int64_t u0, int64_t u1) {
                 for (int64_t u = u0; u < u1; ++u) {
                   const int64_t n = u / cblocks, c0 = (u % cblocks) * kChannelBlock;
                   const int64_t c1 = std::min(g.C, c0 + kChannelBlock);
                   T* xn = dx + n * g.C * g.L;
                   std::fill(xn + c0 * g.L, xn + c1 * g.L, T(0));
                   for (int64_t o = 0; o < g.L_out; ++o) {
                     const T* row = dcols + (n * g.L_out + o) * ck;
                     const int64_t start = o * g.stride - g.pad;
                     const bool inside = start >= 0 && start + span < g.L;
                     for (int64_t c = c0; c < c1; ++c) {
                       const T* src = row + c * K;
                       T* xr = xn + c * g.L;
                       if (inside) {
                         for (int64_t k = 0; k < K; ++k) xr[start + k * d] += src[k];
                       } else {
                         for (int64_t k = 0; k < K; ++k) {
                           const int64_t pos = start + k * d;
                           if (pos >= 0 && pos < g.L) xr[pos] += src[k];
                         }
                       }
                     }
                   }
                 }
               });
}

// For every group: out_g = op(a_g) op(b_g) where the groups split the given dims of each operand.
struct GroupSplit {
  int64_t rows, cols, row_step, col_step;  // a group's block, and where the next group's block starts
};
Tensor group_block(const Tensor& m, const GroupSplit& s, int64_t g) {
  return make_view(m, {s.rows, s.cols}, {m.strides()[0], m.strides()[1]},
                   m.offset() + g * (s.row_step * m.strides()[0] + s.col_step * m.strides()[1]));
}

// ---- conv1d with stride 1, dilation 1, one group (the NLP convolution): no im2col ---------------------
// In time-major memory xt [N, Lp, C] (padding as zero rows) the window of output row r is the K C values
// from xt + r C: the unfolded matrix is a view with row stride C whose rows overlap. With the batch folded
// into time (R = N Lp - K + 1 rows; the K - 1 rows of each sample that straddle two samples are dropped),
// each product is ONE GEMM and no window is copied:
//   forward   Y [R, F] = windows(xt) [R, K C] wt^T               wt [F, K, C] = w permuted
//             y [n, f, o] = Y[n Lp + o, f] + b[f]                 (Y kept as Y^T: rows copy whole)
//   backward  G [R, F] = dy with the batch folded into R (kept as G^T; 0 on the straddling rows),
//             db[f] = sum of dy[:, f, :]
//             dwt [F, K C] = G^T windows(xt)                     dw = dwt permuted back
//             dxt[k : k + R] += G wt[:, k, :]   for each tap k   (K GEMMs into shifted rows: no col2im)
struct TimeMajor {
  int64_t N, C, L, F, K, Lp, pad, L_out;
  int64_t rows() const { return N * Lp - K + 1; }
};

bool is_time_major(const Tensor& x3) {  // strides (any, 1, C): a transposed [N, L, C] tensor
  return x3.strides()[1] == 1 && (x3.shape()[2] <= 1 || x3.strides()[2] == x3.shape()[1]) &&
         (x3.shape()[0] <= 1 || x3.strides()[0] == x3.shape()[1] * x3.shape()[2]);
}

// xt [N, Lp, C]: x itself when it is time-major and unpadded, else a padded time-major copy.
template <typename T>
Tensor to_time_major(const Tensor& x, const TimeMajor& g, int64_t pad_right) {
  if (g.pad == 0 && pad_right == 0 && is_time_major(x)) return x;
  Tensor xt = Tensor::empty({g.N, g.Lp, g.C}, x.dtype());
  const T* xp = x.data<T>();
  T* dst = xt.data<T>();
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1], s2 = x.strides()[2];
  parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* xn = dst + n * g.Lp * g.C;
      std::fill(xn, xn + g.pad * g.C, T(0));
      std::fill(xn + (g.pad + g.L) * g.C, xn + g.Lp * g.C, T(0));
      for (int64_t l = 0; l < g.L; ++l) {
        T* row = xn + (g.pad + l) * g.C;
        const T* src = xp + n * s0 + l * s2;
        for (int64_t c = 0; c < g.C; ++c) row[c] = src[c * s1];
      }
    }
  });
  return xt;
}

// wt [F, K, C] = w [F, C, K] permuted (the window rows are time-major).
template <typename T>
void permute_weight(const T* w, int64_t F, int64_t C, int64_t K, T* wt) {
  parallel_for(F, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(C * K, 1)), [&](int64_t f0, int64_t f1) {
    for (int64_t f = f0; f < f1; ++f)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t k = 0; k < K; ++k) wt[(f * K + k) * C + c] = w[(f * C + c) * K + k];
  });
}

Tensor conv1d_time_major(const Tensor& input, const Tensor& x3, const Tensor& weight, const Tensor& bias,
                         int64_t pad_left, int64_t pad_right, int64_t L_out) {
  const DType dt = input.dtype();
  TimeMajor g{x3.shape()[0], x3.shape()[1], x3.shape()[2], weight.shape()[0], weight.shape()[2], 0, pad_left, L_out};
  g.Lp = g.L + pad_left + pad_right;
  const int64_t R = g.rows(), KC = g.K * g.C, F = g.F, C = g.C, K = g.K;
  const Tensor x = x3.detach();
  const Tensor w = weight.detach().contiguous();  // [F, C, K]
  Tensor wt = Tensor::empty({F, K, C}, dt);
  Tensor xt;
  Tensor out = Tensor::empty({g.N, F, L_out}, dt);
  dispatch_float(dt, "conv1d", [&](auto tag) {
    using T = decltype(tag);
    const T* wp = w.data<T>();
    T* wtp = wt.data<T>();
    permute_weight<T>(wp, F, C, K, wtp);
    xt = to_time_major<T>(x, g, pad_right);
    Tensor yt = scratch(1, {F, R}, dt);
    // Y (col-major [R, F] = Y^T row-major) = windows [R, K C] (row-major, leading dim C) wt^T
    simd_kernels::run<T>(true, false, xt.data<T>(), C, wtp, KC, yt.data<T>(), R, R, F, KC, T(1), T(0));
    const T* yp = yt.data<T>();
    const T* bp = bias.defined() ? bias.data<T>() : nullptr;
    const int64_t bs = bias.defined() ? bias.strides()[0] : 0;
    T* op = out.data<T>();
    parallel_for(g.N * F, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L_out, 1)), [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {  // out[n, f, :] = Y^T[f, n Lp : n Lp + L_out] + b[f]
        const int64_t n = u / F, f = u % F;
        const T* src = yp + f * R + n * g.Lp;
        T* dst = op + u * L_out;
        const T b = bp ? bp[f * bs] : T(0);
        for (int64_t o = 0; o < L_out; ++o) dst[o] = src[o] + b;
      }
    });
  });
  if (input.dim() == 2) out = make_view(out, {F, L_out}, {L_out, 1}, 0);

  TensorList inputs{input, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (!any_requires_grad(inputs)) return out;
  const bool need_x = input.requires_grad(), need_w = weight.requires_grad();
  const bool has_bias = bias.defined(), need_b = has_bias && bias.requires_grad();
  const bool x_time_major = is_time_major(x3);
  const Shape x_shape = input.shape(), w_shape = weight.shape();
  auto node = record("Conv1dBackward", inputs, {out}, [=](const TensorList& grads, FunctionNode& nd) {
    TensorList r(has_bias ? 3 : 2);
    if (!grads[0].defined()) return r;
    // x and w themselves are saved (their versions catch an in-place change); the time-major copy of x
    // (none when x already is) and the permuted w are rebuilt here, as the im2col path rebuilds its columns.
    int slot = 0;
    const Tensor xs = need_w ? nd.saved(slot++) : Tensor();
    const Tensor ws = need_x ? nd.saved(slot++).contiguous() : Tensor();
    const Tensor gy = grads[0].contiguous();  // [N, F, L_out]
    dispatch_float(dt, "conv1d", [&](auto tag) {
      using T = decltype(tag);
      const T* gp = gy.data<T>();
      Tensor gm = scratch(1, {F, R}, dt);  // G^T [F, R]
      Tensor db = need_b ? Tensor::empty({F}, dt) : Tensor();
      T* gmp = gm.data<T>();
      T* dbp = need_b ? db.data<T>() : nullptr;
      parallel_for(F, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)), [&](int64_t f0, int64_t f1) {
        for (int64_t f = f0; f < f1; ++f) {
          for (int64_t n = 0; n < g.N; ++n) {
            T* dst = gmp + f * R + n * g.Lp;
            const int64_t valid_end = std::min<int64_t>(g.Lp, R - n * g.Lp);  // the last sample has no tail
            std::memcpy(dst, gp + (n * F + f) * L_out, sizeof(T) * L_out);
            std::fill(dst + L_out, dst + valid_end, T(0));
          }
          if (dbp) dbp[f] = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(gmp + f * R, R).sum();
        }
      });
      if (need_b) r[2] = db;
      if (!need_w && !need_x) return;
      if (need_w) {  // dwt^T [K C, F] (col-major = dwt row-major) = windows^T G (G col-major = G^T rows)
        const Tensor xt_b = to_time_major<T>(xs, g, pad_right);
        Tensor dwt = scratch(0, {F, KC}, dt);
        simd_kernels::run<T>(false, false, xt_b.data<T>(), C, gmp, R, dwt.data<T>(), KC, KC, F, R, T(1), T(0));
        Tensor dw = Tensor::empty(w_shape, dt);
        const T* s = dwt.data<T>();
        T* d = dw.data<T>();
        parallel_for(F, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(KC, 1)), [&](int64_t f0, int64_t f1) {
          for (int64_t f = f0; f < f1; ++f)
            for (int64_t c = 0; c < C; ++c)
              for (int64_t k = 0; k < K; ++k) d[(f * C + c) * K + k] = s[(f * K + k) * C + c];
        });
        r[1] = dw;
      }
      if (need_x) {  // dxt[k : k + R] (col-major [C, R] per tap) += wt[:, k, :]^T G^T
        Tensor dxt = Tensor::empty({g.N, g.Lp, C}, dt);
        T* dxp = dxt.data<T>();
        std::fill(dxp + R * C, dxp + g.N * g.Lp * C, T(0));  // the rows tap 0 does not write
        Tensor wts = Tensor::empty({F, K, C}, dt);
        permute_weight<T>(ws.data<T>(), F, C, K, wts.data<T>());
        const T* wtp = wts.data<T>();
        for (int64_t k = 0; k < K; ++k)
          simd_kernels::run<T>(false, true, wtp + k * C, KC, gmp, R, dxp + k * C, C, C, R, F, T(1),
                               k == 0 ? T(0) : T(1));
        Tensor dx;
        if (x_time_major) {  // the gradient keeps the input's layout
          dx = make_view(dxt, {g.N, C, g.L}, {g.Lp * C, 1, C}, g.pad * C);
        } else {
          dx = Tensor::empty({g.N, C, g.L}, dt);
          T* d = dx.data<T>();
          parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
            for (int64_t n = n0; n < n1; ++n)
              for (int64_t l = 0; l < g.L; ++l) {
                const T* src = dxp + (n * g.Lp + g.pad + l) * C;
                for (int64_t c = 0; c < C; ++c) d[(n * C + c) * g.L + l] = src[c];
              }
          });
        }
        if (x_shape.size() == 2) dx = make_view(dx, x_shape, {dx.strides()[1], dx.strides()[2]}, dx.offset());
        r[0] = dx;
      }
    });
    return r;
  });
  if (need_w) node->save(x);
  if (need_x) node->save(weight);
  return out;
}

Tensor conv1d_impl(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t pad_left,
                   int64_t pad_right, int64_t dilation, int64_t groups) {
  const char* op = "conv1d";
  const Tensor x3 = as_batched(input, op);
  BPX_CHECK(weight.defined() && weight.dim() == 3, ValueError, op,
            ": weight must be 3-D [out_channels, in_channels / groups, kernel_size], got ",
            weight.defined() ? shape_str(weight.shape()) : std::string("undefined"));
  BPX_CHECK(weight.dtype() == input.dtype() && (!bias.defined() || bias.dtype() == input.dtype()), TypeError, op,
            ": input, weight and bias must have the same dtype, got ", dtype_name(input.dtype()), ", ",
            dtype_name(weight.dtype()), bias.defined() ? cat(" and ", dtype_name(bias.dtype())) : " (no bias)");
  BPX_CHECK(stride >= 1 && dilation >= 1 && pad_left >= 0 && pad_right >= 0 && groups >= 1, ValueError, op,
            ": stride, dilation and groups must be positive and padding non-negative, got stride=", stride,
            ", padding=(", pad_left, ", ", pad_right, "), dilation=", dilation, ", groups=", groups);
  constexpr int64_t kMaxArg = int64_t(1) << 31;  // keeps every index product below 2^63
  BPX_CHECK(stride < kMaxArg && dilation < kMaxArg && pad_left < kMaxArg && pad_right < kMaxArg, ValueError, op,
            ": stride, padding and dilation must be below 2^31, got stride=", stride, ", padding=(", pad_left, ", ",
            pad_right, "), dilation=", dilation);
  ConvGeom g{x3.shape()[0], x3.shape()[1], x3.shape()[2], weight.shape()[0], weight.shape()[2], 0, stride, pad_left,
             dilation, groups};
  BPX_CHECK(g.C % groups == 0 && g.F % groups == 0, ValueError, op, ": in_channels (", g.C, ") and out_channels (",
            g.F, ") must both be divisible by groups (", groups, ")");
  BPX_CHECK(weight.shape()[1] * groups == g.C, ValueError, op, ": input of shape ", shape_str(input.shape()),
            " has ", g.C, " channels, but weight of shape ", shape_str(weight.shape()), " with groups=", groups,
            " expects ", weight.shape()[1] * groups, " (dim 1 of the input is the channel dim: [N, C_in, L])");
  BPX_CHECK(g.K >= 1, ValueError, op, ": kernel_size must be at least 1, weight shape ", shape_str(weight.shape()));
  if (bias.defined())
    BPX_CHECK(bias.dim() == 1 && bias.shape()[0] == g.F, ValueError, op, ": bias of shape ", shape_str(bias.shape()),
              " does not match out_channels ", g.F, " (weight shape ", shape_str(weight.shape()), ")");
  g.L_out = window_count(g.L, g.K, pad_left, pad_right, stride, dilation, false);
  BPX_CHECK(g.L_out >= 1, ValueError, op, ": input of shape ", shape_str(input.shape()), " padded by (", pad_left,
            ", ", pad_right, ") is shorter than the dilated kernel (", dilation * (g.K - 1) + 1,
            "): the output would be empty");

  if (stride == 1 && dilation == 1 && groups == 1 && g.N > 0)
    return conv1d_time_major(input, x3, weight, bias, pad_left, pad_right, g.L_out);

  const DType dt = input.dtype();
  const int64_t R = g.rows(), CK = g.ck(), Cg = g.C / groups, Fg = g.F / groups, CgK = Cg * g.K;
  const Tensor x = x3.detach();
  const Tensor w = weight.detach().contiguous();  // [F, C/G K] as a matrix
  const Tensor w_mat = make_view(w, {g.F, CgK}, {CgK, 1}, w.offset());
  Tensor cols = scratch(0, {R, CK}, dt);
  Tensor yt = scratch(1, {g.F, R}, dt);
  Tensor out = Tensor::empty({g.N, g.F, g.L_out}, dt);
  dispatch_float(dt, op, [&](auto tag) {
    using T = decltype(tag);
    im2col<T>(x, g, cols.data<T>());
    for (int64_t gi = 0; gi < groups; ++gi) {  // Yt_g = W_g cols_g^T
      Tensor wg = group_block(w_mat, {Fg, CgK, Fg, 0}, gi);
      Tensor cg = group_block(cols, {R, CgK, 0, CgK}, gi);
      Tensor yg = group_block(yt, {Fg, R, Fg, 0}, gi);
      gemm(wg, false, cg, true, yg, 1.0, 0.0);
    }
    const T* yp = yt.data<T>();
    const T* bp = bias.defined() ? bias.data<T>() : nullptr;
    const int64_t bs = bias.defined() ? bias.strides()[0] : 0;
    T* op_ = out.data<T>();
    parallel_for(g.N * g.F, std::max<int64_t>(1, kParallelGrain / g.L_out), [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {  // out[n, f, :] = Yt[f, n L_out : (n + 1) L_out] + b[f]
        const int64_t n = u / g.F, f = u % g.F;
        const T* src = yp + f * R + n * g.L_out;
        T* dst = op_ + u * g.L_out;
        const T b = bp ? bp[f * bs] : T(0);
        for (int64_t o = 0; o < g.L_out; ++o) dst[o] = src[o] + b;
      }
    });
  });
  if (input.dim() == 2) out = make_view(out, {g.F, g.L_out}, {g.L_out, 1}, 0);

  TensorList inputs{input, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (any_requires_grad(inputs)) {
    const bool need_x = input.requires_grad(), need_w = weight.requires_grad();
    const bool has_bias = bias.defined(), need_b = has_bias && bias.requires_grad();
    const Shape x_shape = input.shape(), w_shape = weight.shape();
    auto node = record("Conv1dBackward", inputs, {out}, [=](const TensorList& grads, FunctionNode& nd) {
      TensorList r(has_bias ? 3 : 2);
      if (!grads[0].defined()) return r;
      int slot = 0;
      const Tensor xs = need_w ? nd.saved(slot++) : Tensor();
      const Tensor ws = need_x ? nd.saved(slot++) : Tensor();
      Tensor gy = grads[0].contiguous();  // [N, F, L_out]
      Tensor gt = scratch(1, {g.F, R}, dt);
      Tensor db = need_b ? Tensor::empty({g.F}, dt) : Tensor();
      dispatch_float(dt, op, [&](auto tag) {
        using T = decltype(tag);
        const T* gp = gy.data<T>();
        T* gtp = gt.data<T>();
        parallel_for(g.F, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)), [&](int64_t f0, int64_t f1) {
          for (int64_t f = f0; f < f1; ++f) {  // Gt[f, n L_out + o] = dy[n, f, o]; db[f] = its sum
            T* dst = gtp + f * R;
            for (int64_t n = 0; n < g.N; ++n)
              std::memcpy(dst + n * g.L_out, gp + (n * g.F + f) * g.L_out, sizeof(T) * g.L_out);
            if (need_b) {
              T s = 0;
              for (int64_t i = 0; i < R; ++i) s += dst[i];
              db.data<T>()[f] = s;
            }
          }
        });
        if (need_w) {  // dW_g = Gt_g cols_g
          Tensor cols_b = scratch(0, {R, CK}, dt);
          im2col<T>(xs, g, cols_b.data<T>());
          Tensor dw = Tensor::empty({g.F, CgK}, dt);
          for (int64_t gi = 0; gi < groups; ++gi) {
            Tensor gg = group_block(gt, {Fg, R, Fg, 0}, gi);
            Tensor cg = group_block(cols_b, {R, CgK, 0, CgK}, gi);
            Tensor dwg = group_block(dw, {Fg, CgK, Fg, 0}, gi);
            gemm(gg, false, cg, false, dwg, 1.0, 0.0);
          }
          r[1] = make_view(dw, w_shape, contiguous_strides(w_shape), 0);
        }
        if (need_x) {  // dcols_g = Gt_g^T W_g, then fold
          const Tensor wm = make_view(ws, {g.F, CgK}, {CgK, 1}, ws.offset());
          Tensor dcols = scratch(2, {R, CK}, dt);
          for (int64_t gi = 0; gi < groups; ++gi) {
            Tensor gg = group_block(gt, {Fg, R, Fg, 0}, gi);
            Tensor wg = group_block(wm, {Fg, CgK, Fg, 0}, gi);
            Tensor dcg = group_block(dcols, {R, CgK, 0, CgK}, gi);
            gemm(gg, true, wg, false, dcg, 1.0, 0.0);
          }
          Tensor dx = Tensor::empty({g.N, g.C, g.L}, dt);
          col2im<T>(dcols.data<T>(), g, dx.data<T>());
          r[0] = make_view(dx, x_shape, contiguous_strides(x_shape), 0);
        }
      });
      if (need_b) r[2] = db;
      return r;
    });
    if (need_w) node->save(x);
    if (need_x) node->save(w);
  }
  return out;
}

// ---- pools ----------------------------------------------------------------------------------------

// A window: positions start, start + step, ... (count of them), already clipped to the input.
struct Window {
  int64_t start, count, step;
};

// Max over each whole row (adaptive_max_pool1d with output_size 1: max over time), with its argmax: one
// vectorised max pass, then a scan for the first element equal to it (a NaN wins: the last NaN, as torch).
template <typename T>
void max_rows(const T* x, int64_t rows, int64_t L, T* out, int64_t* idx) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * L;
      const Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> row(xr, L);
      const T best = row.template maxCoeff<Eigen::PropagateNaN>();
      int64_t at = 0;
      if (std::isnan(best)) {
        for (int64_t i = L - 1; i >= 0; --i)
          if (std::isnan(xr[i])) {
            at = i;
            break;
          }
      } else {
        while (at < L - 1 && xr[at] != best) ++at;
      }
      out[r] = best;
      idx[r] = at;
    }
  });
}

// Max and argmax of every window of every row; win(o) gives output o's window. NaN wins, as torch.
template <typename T, typename WinFn>
void max_windows(const T* x, int64_t rows, int64_t L, int64_t L_out, T* out, int64_t* idx, WinFn win) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * L;
      for (int64_t o = 0; o < L_out; ++o) {
        const Window w = win(o);
        if (w.step == 1 && w.count >= 16) {  // a long contiguous window: the vectorised row kernel
          max_rows<T>(xr + w.start, 1, w.count, out + r * L_out + o, idx + r * L_out + o);
          idx[r * L_out + o] += w.start;
          continue;
        }
        T best = -std::numeric_limits<T>::infinity();
        int64_t at = w.count > 0 ? w.start : 0;
        for (int64_t k = 0, pos = w.start; k < w.count; ++k, pos += w.step) {
          const T v = xr[pos];
          if (v > best || std::isnan(v)) {
            best = v;
            at = pos;
          }
        }
        out[r * L_out + o] = best;
        idx[r * L_out + o] = at;
      }
    }
  });
}

// The gradient of a max pool: each output's gradient added at its argmax (windows may overlap).
Tensor scatter_to_argmax(const Tensor& g_in, const Tensor& idx, const Shape& x_shape, int64_t rows, int64_t L,
                         int64_t L_out) {
  const Tensor g = g_in.contiguous();
  Tensor dx = zeros(x_shape, g.dtype());
  dispatch_float(g.dtype(), "max_pool1d", [&](auto tag) {
    using T = decltype(tag);
    const T* gp = g.data<T>();
    const int64_t* ip = idx.data<int64_t>();
    T* dp = dx.data<T>();
    parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L_out, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t o = 0; o < L_out; ++o) dp[r * L + ip[r * L_out + o]] += gp[r * L_out + o];
    });
  });
  return dx;
}

Shape pooled_shape(const Tensor& x, int64_t L_out) {
  Shape s = x.shape();
  s.back() = L_out;
  return s;
}

// Runs a max pool given by win (L_out windows) and records its backward.
template <typename WinFactory>
std::pair<Tensor, Tensor> max_pool_impl(const Tensor& input, int64_t L_out, const char* op, const char* node_name,
                                        WinFactory&& make_win, bool whole_rows) {
  const Tensor x3 = as_batched(input, op);
  const int64_t rows = x3.shape()[0] * x3.shape()[1], L = x3.shape()[2];
  const Tensor x = x3.detach().contiguous();
  const Shape out_shape = pooled_shape(input, L_out);
  Tensor out = Tensor::empty(out_shape, input.dtype());
  Tensor idx = Tensor::empty(out_shape, DType::Int64);
  dispatch_float(input.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (whole_rows)
      max_rows<T>(x.data<T>(), rows, L, out.data<T>(), idx.data<int64_t>());
    else
      max_windows<T>(x.data<T>(), rows, L, L_out, out.data<T>(), idx.data<int64_t>(), make_win);
  });
  if (any_requires_grad({&input})) {
    const Shape x_shape = input.shape();
    auto node = record(node_name, {input}, {out}, [=](const TensorList& g, FunctionNode& nd) {
      if (!g[0].defined()) return TensorList(1);
      return TensorList{scatter_to_argmax(g[0], nd.saved(0), x_shape, rows, L, L_out)};
    });
    node->save(idx);
  }
  return {out, idx};
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
              std::pair<int64_t, int64_t> padding, int64_t dilation, int64_t groups) {
  return conv1d_impl(input, weight, bias, stride, padding.first, padding.second, dilation, groups);
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups) {
  return conv1d_impl(input, weight, bias, stride, padding, padding, dilation, groups);
}

std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, int64_t kernel_size, int64_t stride,
                                                  int64_t padding, int64_t dilation, bool ceil_mode) {
  const char* op = "max_pool1d";
  const Tensor x3 = as_batched(input, op);
  if (stride == 0) stride = kernel_size;
  BPX_CHECK(kernel_size < (int64_t(1) << 31) && stride < (int64_t(1) << 31) && dilation < (int64_t(1) << 31),
            ValueError, op, ": kernel_size, stride and dilation must be below 2^31");
  BPX_CHECK(kernel_size >= 1 && stride >= 1 && dilation >= 1, ValueError, op,
            ": kernel_size, stride and dilation must be positive, got kernel_size=", kernel_size, ", stride=", stride,
            ", dilation=", dilation);
  BPX_CHECK(padding >= 0 && padding <= ((kernel_size - 1) * dilation + 1) / 2, ValueError, op,
            ": pad should be at most half of effective kernel size, but got pad=", padding,
            ", kernel_size=", kernel_size, " and dilation=", dilation);
  const int64_t L = x3.shape()[2];
  const int64_t L_out = window_count(L, kernel_size, padding, padding, stride, dilation, ceil_mode);
  BPX_CHECK(L_out >= 1, ValueError, op, ": input of shape ", shape_str(input.shape()), " is too short for kernel_size=",
            kernel_size, " (dilation ", dilation, ", padding ", padding, "): the output would be empty");
  auto win = [=](int64_t o) {
    int64_t start = o * stride - padding, k0 = 0;
    if (start < 0) k0 = (-start + dilation - 1) / dilation;  // first tap inside the input
    int64_t count = 0;
    for (int64_t k = k0; k < kernel_size && start + k * dilation < L; ++k) ++count;
    return Window{start + k0 * dilation, count, dilation};
  };
  return max_pool_impl(input, L_out, op, "MaxPool1dBackward", win, false);
}

std::pair<Tensor, Tensor> adaptive_max_pool1d_with_indices(const Tensor& input, int64_t output_size) {
  const char* op = "adaptive_max_pool1d";
  const Tensor x3 = as_batched(input, op);
  const int64_t L = x3.shape()[2];
  BPX_CHECK(output_size >= 1, ValueError, op, ": output_size must be positive, got ", output_size);
  BPX_CHECK(L >= 1, ValueError, op, ": input of shape ", shape_str(input.shape()), " has an empty length dim");
  auto win = [=](int64_t o) {
    const int64_t start = (o * L) / output_size, end = ((o + 1) * L + output_size - 1) / output_size;
    return Window{start, end - start, 1};
  };
  return max_pool_impl(input, output_size, op, "AdaptiveMaxPool1dBackward", win, output_size == 1);
}

Tensor avg_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride, int64_t padding, bool ceil_mode,
                  bool count_include_pad) {
  const char* op = "avg_pool1d";
  const Tensor x3 = as_batched(input, op);
  if (stride == 0) stride = kernel_size;
  BPX_CHECK(kernel_size < (int64_t(1) << 31) && stride < (int64_t(1) << 31), ValueError, op,
            ": kernel_size and stride must be below 2^31");
  BPX_CHECK(kernel_size >= 1 && stride >= 1, ValueError, op, ": kernel_size and stride must be positive, got ",
            kernel_size, " and ", stride);
  BPX_CHECK(padding >= 0 && padding <= kernel_size / 2, ValueError, op,
            ": pad should be at most half of kernel size, but got pad=", padding, " and kernel_size=", kernel_size);
  const int64_t rows = x3.shape()[0] * x3.shape()[1], L = x3.shape()[2];
  const int64_t L_out = window_count(L, kernel_size, padding, padding, stride, 1, ceil_mode);
  BPX_CHECK(L_out >= 1, ValueError, op, ": input of shape ", shape_str(input.shape()), " is too short for kernel_size=",
            kernel_size, " (padding ", padding, "): the output would be empty");
  // Window o covers [lo, hi) of the input and divides by div, as torch's avg_pool.
  std::vector<int64_t> lo(L_out), hi(L_out);
  std::vector<double> inv_div(L_out);
  for (int64_t o = 0; o < L_out; ++o) {
    int64_t a = o * stride - padding, b = std::min(a + kernel_size, L + padding);
    const int64_t padded_size = b - a;
    a = std::max<int64_t>(a, 0);
    b = std::min(b, L);
    lo[o] = a;
    hi[o] = b;
    const int64_t div = count_include_pad ? padded_size : b - a;
    inv_div[o] = div > 0 ? 1.0 / static_cast<double>(div) : 0.0;
  }
  const Tensor x = x3.detach().contiguous();
  Tensor out = Tensor::empty(pooled_shape(input, L_out), input.dtype());
  dispatch_float(input.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t o = 0; o < L_out; ++o) {
          T s = 0;
          for (int64_t i = lo[o]; i < hi[o]; ++i) s += xp[r * L + i];
          yp[r * L_out + o] = s * static_cast<T>(inv_div[o]);
        }
    });
  });
  if (any_requires_grad({&input})) {
    const Shape x_shape = input.shape();
    record("AvgPool1dBackward", {input}, {out}, [=](const TensorList& g_in, FunctionNode&) {
      const Tensor g = g_in[0].contiguous();
      Tensor dx = zeros(x_shape, g.dtype());
      dispatch_float(g.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        const T* gp = g.data<T>();
        T* dp = dx.data<T>();
        parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(L, 1)), [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r)
            for (int64_t o = 0; o < L_out; ++o) {
              const T v = gp[r * L_out + o] * static_cast<T>(inv_div[o]);
              for (int64_t i = lo[o]; i < hi[o]; ++i) dp[r * L + i] += v;
            }
        });
      });
      return TensorList{dx};
    });
  }
  return out;
}

}  // namespace backpropx
