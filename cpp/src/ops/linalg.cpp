// Matrix products: one strided GEMM entry point on Eigen's kernels (gemm; simd_kernels.h), and matmul / mm / bmm / linear on
// top of it, each with a hand-written backward that reuses the same GEMM with swapped strides.
//
// A matrix is (pointer, rows, cols, row stride, col stride). A matrix whose col stride is 1 maps to
// an Eigen RowMajor Map, one whose row stride is 1 to a ColMajor Map, both with an OuterStride, so a
// transposed view (or a transpose flag) is a stride swap folded into Eigen's blocked GEMM; an
// operand is copied only when neither stride is 1 (or a stride is 0: an expanded view).
// Batched products loop over the broadcast batch (in parallel over the batch when the matrices are
// small), or fold the batch into one GEMM when the strides allow it (N-D @ 2-D: the batch becomes
// rows; a gradient summed over a broadcast batch: the batch becomes the inner dimension).
#include <algorithm>
#include <cstring>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/runtime.h"
#include "simd_kernels.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

// A 2-D strided matrix: element (i, j) at p[i * rs + j * cs].
template <typename T>
struct Mat {
  T* p = nullptr;
  int64_t rows = 0, cols = 0, rs = 0, cs = 0;
  Mat t() const { return {p, cols, rows, cs, rs}; }
  Mat at(int64_t off) const { return {p + off, rows, cols, rs, cs}; }
};

enum class Layout { Row, Col, None };

// How Eigen can read m: RowMajor (col stride 1), ColMajor (row stride 1) with leading dim ld, or not
// at all (then the caller copies). The stride of a size-1 dim does not matter.
template <typename T>
Layout layout_of(const Mat<T>& m, int64_t& ld) {
  if ((m.cs == 1 || m.cols <= 1) && (m.rows <= 1 || m.rs >= std::max<int64_t>(m.cols, 1))) {
    ld = m.rows <= 1 ? std::max<int64_t>(m.cols, 1) : m.rs;
    return Layout::Row;
  }
  if ((m.rs == 1 || m.rows <= 1) && (m.cols <= 1 || m.cs >= std::max<int64_t>(m.rows, 1))) {
    ld = m.cols <= 1 ? std::max<int64_t>(m.rows, 1) : m.cs;
    return Layout::Col;
  }
  return Layout::None;
}

// A contiguous row-major copy of m (for operands Eigen cannot map).
template <typename T>
Mat<T> copy_rowmajor(const Mat<T>& m, std::vector<T>& buf) {
  buf.resize(static_cast<size_t>(std::max<int64_t>(m.rows * m.cols, 1)));
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) buf[i * m.cols + j] = m.p[i * m.rs + j * m.cs];
  return {buf.data(), m.rows, m.cols, m.cols, 1};
}

// C = alpha A B + beta C on strided matrices (A m x k, B k x n, C m x n). beta == 0: C is not read.
template <typename T>
void gemm_raw(Mat<T> A, Mat<T> B, Mat<T> C, T alpha, T beta) {
  const int64_t m = C.rows, n = C.cols, k = A.cols;
  if (m == 0 || n == 0) return;
  int64_t ldc = 0;
  Layout lc = layout_of(C.t(), ldc);  // Row for C^T means C is col-major
  if (lc == Layout::Row) {
    lc = Layout::Col;
  } else if (layout_of(C, ldc) == Layout::Row) {  // row-major C: compute C^T = B^T A^T col-major
    std::swap(A, B);
    A = A.t();
    B = B.t();
    C = C.t();
    lc = Layout::Col;
  } else {
    lc = Layout::None;
  }
  if (lc != Layout::Col) {  // C needs a temporary col-major buffer
    std::vector<T> buf(static_cast<size_t>(m * n));
    Mat<T> tmp{buf.data(), m, n, 1, m};
    if (beta != T(0))
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) buf[i + j * m] = C.p[i * C.rs + j * C.cs];
    gemm_raw(A, B, tmp, alpha, beta);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) C.p[i * C.rs + j * C.cs] = buf[i + j * m];
    return;
  }
  const int64_t M = C.rows, N = C.cols;  // after the possible transpose
  if (k == 0) {  // an empty sum: C = beta C
    for (int64_t j = 0; j < N; ++j)
      for (int64_t i = 0; i < M; ++i) {
        T& v = C.p[i + j * ldc];
        v = beta == T(0) ? T(0) : beta * v;
      }
    return;
  }
  std::vector<T> abuf, bbuf;
  int64_t lda = 0, ldb = 0;
  Layout la = layout_of(A, lda), lb = layout_of(B, ldb);
  if (la == Layout::None) {
    A = copy_rowmajor(A, abuf);
    la = layout_of(A, lda);
  }
  if (lb == Layout::None) {
    B = copy_rowmajor(B, bbuf);
    lb = layout_of(B, ldb);
  }
  simd_kernels::run<T>(la == Layout::Row, lb == Layout::Row, A.p, lda, B.p, ldb, C.p, ldc, M, N, k, alpha, beta);
}

// Collapses dims (size, stride), outer to inner, into one uniformly strided dim; false if impossible.
bool collapse(const std::vector<std::pair<int64_t, int64_t>>& dims, int64_t& stride) {
  std::vector<std::pair<int64_t, int64_t>> live;
  for (const auto& d : dims)
    if (d.first != 1) live.push_back(d);
  for (const auto& d : live)
    if (d.first == 0) {
      stride = 1;
      return true;
    }
  if (live.empty()) {
    stride = 1;
    return true;
  }
  for (size_t i = 0; i + 1 < live.size(); ++i)
    if (live[i].second != live[i + 1].second * live[i + 1].first) return false;
  stride = live.back().second;
  return true;
}

bool all_shared(const Shape& batch, const Shape& bs) {
  for (size_t d = 0; d < batch.size(); ++d)
    if (batch[d] > 1 && bs[d] != 0) return false;
  return true;
}

// (batch dims with their strides) followed by one matrix dim.
std::vector<std::pair<int64_t, int64_t>> with_batch(const Shape& batch, const Shape& bs, int64_t size, int64_t stride) {
  std::vector<std::pair<int64_t, int64_t>> v;
  for (size_t d = 0; d < batch.size(); ++d) v.emplace_back(batch[d], bs[d]);
  v.emplace_back(size, stride);
  return v;
}

// Z[b] = alpha X[b] Y[b] + beta Z[b] for every b of the batch shape; xbs/ybs/zbs are the operands'
// strides over the batch (0 where broadcast). Where zbs is 0 over a batch dim of size > 1 the products
// are summed into Z: then beta must be 1 (Z initialised by the caller).
template <typename T>
void batched_gemm(const Shape& batch, Mat<T> X, const Shape& xbs, Mat<T> Y, const Shape& ybs, Mat<T> Z,
                  const Shape& zbs, T alpha, T beta) {
  const int64_t nb = shape_numel(batch);
  const int64_t m = Z.rows, n = Z.cols, k = X.cols;
  if (nb == 0 || m == 0 || n == 0) return;
  if (nb == 1) {  // every batch dim has size 1
    gemm_raw(X, Y, Z, alpha, beta);
    return;
  }
  int64_t s1 = 0, s2 = 0;
  // Y shared: the batch folds into the rows of X and Z.
  if (all_shared(batch, ybs) && collapse(with_batch(batch, xbs, m, X.rs), s1) &&
      collapse(with_batch(batch, zbs, m, Z.rs), s2)) {
    gemm_raw(Mat<T>{X.p, nb * m, k, s1, X.cs}, Y, Mat<T>{Z.p, nb * m, n, s2, Z.cs}, alpha, beta);
    return;
  }
  // X shared: the batch folds into the columns of Y and Z.
  if (all_shared(batch, xbs) && collapse(with_batch(batch, ybs, n, Y.cs), s1) &&
      collapse(with_batch(batch, zbs, n, Z.cs), s2)) {
    gemm_raw(X, Mat<T>{Y.p, k, nb * n, Y.rs, s1}, Mat<T>{Z.p, m, nb * n, Z.rs, s2}, alpha, beta);
    return;
  }
  // Z shared (a sum over the batch): the batch folds into the inner dimension.
  if (all_shared(batch, zbs) && collapse(with_batch(batch, xbs, k, X.cs), s1) &&
      collapse(with_batch(batch, ybs, k, Y.rs), s2)) {
    gemm_raw(Mat<T>{X.p, m, nb * k, X.rs, s1}, Mat<T>{Y.p, nb * k, n, s2, Y.cs}, Z, alpha, beta);
    return;
  }
  const int64_t nd = static_cast<int64_t>(batch.size());
  auto offsets = [&](int64_t i, int64_t& ox, int64_t& oy, int64_t& oz) {
    ox = oy = oz = 0;
    for (int64_t d = nd - 1; d >= 0; --d) {
      int64_t id = i % batch[d];
      i /= batch[d];
      ox += id * xbs[d];
      oy += id * ybs[d];
      oz += id * zbs[d];
    }
  };
  bool reduce = false;
  for (int64_t d = 0; d < nd; ++d) reduce = reduce || (batch[d] > 1 && zbs[d] == 0);
  const int threads = get_num_threads();
  const bool small = static_cast<double>(m) * n * k <= 262144.0;  // 64^3
  if (!reduce && threads > 1 && (small || nb >= 4 * threads)) {
    // Independent products: one GEMM per thread at a time (Eigen runs single-threaded inside).
    parallel_for(nb, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        int64_t ox, oy, oz;
        offsets(i, ox, oy, oz);
        gemm_raw(X.at(ox), Y.at(oy), Z.at(oz), alpha, beta);
      }
    });
    return;
  }
  for (int64_t i = 0; i < nb; ++i) {
    int64_t ox, oy, oz;
    offsets(i, ox, oy, oz);
    gemm_raw(X.at(ox), Y.at(oy), Z.at(oz), alpha, beta);
  }
}

// A tensor seen as a batch of matrices. 1-D tensors are promoted as matmul does: the first operand
// to a row [1, k], the second to a column [k, 1].
struct Matrices {
  Shape batch, bstrides;
  int64_t rows = 0, cols = 0, rs = 0, cs = 0;
};

Matrices as_matrices(const Tensor& t, bool first) {
  Matrices r;
  const int64_t nd = t.dim();
  if (nd == 1) {
    int64_t k = t.shape()[0], s = t.strides()[0];
    if (first) r = {{}, {}, 1, k, k * s, s};
    else r = {{}, {}, k, 1, s, k * s};
    return r;
  }
  r.batch.assign(t.shape().begin(), t.shape().end() - 2);
  r.bstrides.assign(t.strides().begin(), t.strides().end() - 2);
  r.rows = t.shape()[nd - 2];
  r.cols = t.shape()[nd - 1];
  r.rs = t.strides()[nd - 2];
  r.cs = t.strides()[nd - 1];
  return r;
}

// The strides of an operand's batch dims seen through broadcasting to `batch` (0 where broadcast).
Shape batch_strides(const Matrices& m, const Shape& batch) {
  Shape st(batch.size(), 0);
  const size_t off = batch.size() - m.batch.size();
  for (size_t i = 0; i < m.batch.size(); ++i) st[off + i] = m.batch[i] == 1 ? 0 : m.bstrides[i];
  return st;
}

template <typename T>
Mat<T> mat_of(const Tensor& t, const Matrices& m) {
  return {const_cast<T*>(t.data<T>()), m.rows, m.cols, m.rs, m.cs};
}

// A gradient with a 0 stride on a dim of size > 1 (an expanded view) is copied once up front.
Tensor gemm_ready(const Tensor& g) {
  for (int64_t d = 0; d < g.dim(); ++d)
    if (g.shape()[d] > 1 && g.strides()[d] == 0) return g.contiguous();
  return g;
}

// Z = X Y batched (X from x, Y from y, each optionally transposed), written into a new tensor of
// `shape` (its batch part may be smaller than `batch`: the products are then summed over it).
Tensor batched_product(const Tensor& x, const Matrices& mx, bool tx, const Tensor& y, const Matrices& my, bool ty,
                       const Shape& batch, const Shape& shape) {
  Shape zbatch(shape.begin(), shape.end() - 2);
  bool reduce = false;
  {
    const size_t off = batch.size() - zbatch.size();
    for (size_t d = 0; d < batch.size(); ++d) {
      int64_t zs = d < off ? 1 : zbatch[d - off];
      reduce = reduce || (zs == 1 && batch[d] != 1);  // summed over (an empty batch sums to 0)
    }
  }
  Tensor z = reduce ? zeros(shape, x.dtype()) : Tensor::empty(shape, x.dtype());
  Matrices mz = as_matrices(z, true);
  dispatch_float(x.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    Mat<T> X = mat_of<T>(x, mx), Y = mat_of<T>(y, my);
    if (tx) X = X.t();
    if (ty) Y = Y.t();
    batched_gemm<T>(batch, X, batch_strides(mx, batch), Y, batch_strides(my, batch), mat_of<T>(z, mz),
                    batch_strides(mz, batch), T(1), reduce ? T(1) : T(0));
  });
  return z;
}

void check_float_pair(const Tensor& a, const Tensor& b, const char* op) {
  BPX_CHECK(a.defined() && b.defined(), ValueError, op, ": got an undefined tensor");
  BPX_CHECK(is_floating(a.dtype()) && is_floating(b.dtype()), TypeError, op,
            ": expected float32 or float64 tensors, got ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  BPX_CHECK(a.dtype() == b.dtype(), TypeError, op, ": expected both operands to have the same dtype, but got ",
            dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
}

Shape matrix_shape(const Shape& batch, int64_t r, int64_t c) {
  Shape s = batch;
  s.push_back(r);
  s.push_back(c);
  return s;
}

Tensor matmul_impl(const Tensor& a, const Tensor& b, const char* op, const char* node_name) {
  check_float_pair(a, b, op);
  BPX_CHECK(a.dim() >= 1 && b.dim() >= 1, ValueError, op, ": both arguments need to be at least 1-D, got shapes ",
            shape_str(a.shape()), " and ", shape_str(b.shape()));
  Matrices ma = as_matrices(a, true), mb = as_matrices(b, false);
  BPX_CHECK(ma.cols == mb.rows, ValueError, op, ": shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
            " cannot be multiplied (", ma.cols, " != ", mb.rows, ")");
  Shape batch;
  {
    const size_t nb = std::max(ma.batch.size(), mb.batch.size());
    batch.resize(nb);
    for (size_t i = 0; i < nb; ++i) {
      int64_t da = i < nb - ma.batch.size() ? 1 : ma.batch[i - (nb - ma.batch.size())];
      int64_t db = i < nb - mb.batch.size() ? 1 : mb.batch[i - (nb - mb.batch.size())];
      BPX_CHECK(da == db || da == 1 || db == 1, ValueError, op, ": the batch dims of shapes ", shape_str(a.shape()),
                " and ", shape_str(b.shape()), " cannot be broadcast together (", da, " vs ", db, ")");
      batch[i] = da == 1 ? db : da;
    }
  }
  const int64_t m = ma.rows, n = mb.cols, k = ma.cols;
  Shape full = matrix_shape(batch, m, n);
  Shape out_shape = batch;
  if (a.dim() > 1) out_shape.push_back(m);
  if (b.dim() > 1) out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  {
    Tensor zf = make_view(out, full, contiguous_strides(full), 0);
    Matrices mz = as_matrices(zf, true);
    dispatch_float(a.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      batched_gemm<T>(batch, mat_of<T>(a, ma), batch_strides(ma, batch), mat_of<T>(b, mb), batch_strides(mb, batch),
                      mat_of<T>(zf, mz), batch_strides(mz, batch), T(1), T(0));
    });
  }
  if (any_requires_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    Shape as = a.shape(), bs = b.shape();
    Shape ap = matrix_shape(ma.batch, m, k), bp = matrix_shape(mb.batch, k, n);
    auto node = record(node_name, {a, b}, {out}, [=](const TensorList& grads, FunctionNode& nd) {
      TensorList r(2);
      if (!grads[0].defined()) return r;
      int slot = 0;
      Tensor bt = need_a ? nd.saved(slot++) : Tensor();
      Tensor at = need_b ? nd.saved(slot++) : Tensor();
      Tensor g = gemm_ready(reshape(grads[0], full));
      Matrices mg = as_matrices(g, true);
      if (need_a) {  // dA = dC B^T, summed over the dims a was broadcast on
        r[0] = reshape(batched_product(g, mg, false, bt, as_matrices(bt, false), true, batch, ap), as);
      }
      if (need_b) {  // dB = A^T dC
        r[1] = reshape(batched_product(at, as_matrices(at, true), true, g, mg, false, batch, bp), bs);
      }
      return r;
    });
    if (need_a) node->save(b);
    if (need_b) node->save(a);
  }
  return out;
}

}  // namespace

// ---- gemm -------------------------------------------------------------------------------------------

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha, double beta) {
  check_float_pair(a, b, "gemm");
  BPX_CHECK(c.defined() && c.dtype() == a.dtype(), TypeError, "gemm: the output must be a ", dtype_name(a.dtype()),
            " tensor", c.defined() ? cat(", got ", dtype_name(c.dtype())) : std::string());
  BPX_CHECK(a.dim() == 2 && b.dim() == 2 && c.dim() == 2, ValueError, "gemm: expected 2-D matrices, got shapes ",
            shape_str(a.shape()), ", ", shape_str(b.shape()), " and ", shape_str(c.shape()));
  const int64_t m = trans_a ? a.shape()[1] : a.shape()[0], k = trans_a ? a.shape()[0] : a.shape()[1];
  const int64_t k2 = trans_b ? b.shape()[1] : b.shape()[0], n = trans_b ? b.shape()[0] : b.shape()[1];
  BPX_CHECK(k == k2 && c.shape()[0] == m && c.shape()[1] == n, ValueError, "gemm: shapes ", shape_str(a.shape()),
            trans_a ? "^T" : "", " x ", shape_str(b.shape()), trans_b ? "^T" : "", " -> ", shape_str(c.shape()),
            " do not match");
  dispatch_float(a.dtype(), "gemm", [&](auto tag) {
    using T = decltype(tag);
    Mat<T> A{const_cast<T*>(a.data<T>()), a.shape()[0], a.shape()[1], a.strides()[0], a.strides()[1]};
    Mat<T> B{const_cast<T*>(b.data<T>()), b.shape()[0], b.shape()[1], b.strides()[0], b.strides()[1]};
    Mat<T> C{c.data<T>(), m, n, c.strides()[0], c.strides()[1]};
    gemm_raw<T>(trans_a ? A.t() : A, trans_b ? B.t() : B, C, static_cast<T>(alpha), static_cast<T>(beta));
  });
}

// ---- matmul / mm / bmm ------------------------------------------------------------------------------

Tensor matmul(const Tensor& a, const Tensor& b) { return matmul_impl(a, b, "matmul", "MatmulBackward"); }

Tensor mm(const Tensor& a, const Tensor& b) {
  BPX_CHECK(a.defined() && b.defined(), ValueError, "mm: got an undefined tensor");
  BPX_CHECK(a.dim() == 2 && b.dim() == 2, ValueError, "mm: expected 2-D matrices, got shapes ", shape_str(a.shape()),
            " and ", shape_str(b.shape()));
  return matmul_impl(a, b, "mm", "MmBackward");
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  BPX_CHECK(a.defined() && b.defined(), ValueError, "bmm: got an undefined tensor");
  BPX_CHECK(a.dim() == 3 && b.dim() == 3, ValueError, "bmm: expected 3-D tensors, got shapes ", shape_str(a.shape()),
            " and ", shape_str(b.shape()));
  BPX_CHECK(a.shape()[0] == b.shape()[0], ValueError, "bmm: batch sizes differ: shapes ", shape_str(a.shape()),
            " and ", shape_str(b.shape()), " (", a.shape()[0], " != ", b.shape()[0], ")");
  return matmul_impl(a, b, "bmm", "BmmBackward");
}

// ---- linear -----------------------------------------------------------------------------------------

namespace {

struct Rows {
  int64_t rows = 0, cols = 0, rs = 0, cs = 0;
};

// x [..., in] as rows [N, in]: x itself when its leading dims fold into one strided dim, else a
// contiguous copy. `r` receives the row layout of the returned tensor.
Tensor as_rows(const Tensor& x, Rows& r) {
  const int64_t nd = x.dim(), in = x.shape()[nd - 1];
  std::vector<std::pair<int64_t, int64_t>> lead;
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < nd; ++d) {
    lead.emplace_back(x.shape()[d], x.strides()[d]);
    rows *= x.shape()[d];
  }
  int64_t rs = 0;
  Tensor base = x;
  if (!collapse(lead, rs)) {
    base = x.detach().contiguous();
    rs = in;
  }
  if (nd == 1) rs = std::max<int64_t>(in, 1);
  r = {rows, in, rs, base.strides()[nd - 1]};
  return base;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  BPX_CHECK(x.defined() && weight.defined(), ValueError, "linear: got an undefined input or weight");
  BPX_CHECK(is_floating(x.dtype()) && x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x.dtype()),
            TypeError, "linear: expected input, weight and bias of the same float dtype, got ", dtype_name(x.dtype()),
            ", ", dtype_name(weight.dtype()), bias.defined() ? cat(" and ", dtype_name(bias.dtype())) : " (no bias)");
  BPX_CHECK(x.dim() >= 1, ValueError, "linear: the input must have at least 1 dimension, got shape ",
            shape_str(x.shape()));
  BPX_CHECK(weight.dim() == 2, ValueError, "linear: the weight must be 2-D [out_features, in_features], got shape ",
            shape_str(weight.shape()));
  const int64_t in = x.shape().back(), outf = weight.shape()[0];
  BPX_CHECK(weight.shape()[1] == in, ValueError, "linear: input shape ", shape_str(x.shape()), " and weight shape ",
            shape_str(weight.shape()), " cannot be multiplied (", in, " != ", weight.shape()[1], ")");
  if (bias.defined())
    BPX_CHECK(bias.dim() <= 1 && (bias.numel() == outf || bias.numel() == 1), ValueError,
              "linear: bias of shape ", shape_str(bias.shape()), " does not match out_features ", outf,
              " (weight shape ", shape_str(weight.shape()), ")");
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(outf);
  Tensor out = Tensor::empty(out_shape, x.dtype());
  Rows xs;
  Tensor xb = as_rows(x, xs);
  const int64_t N = xs.rows;
  dispatch_float(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    T* op = out.data<T>();
    T beta = T(0);
    if (bias.defined() && N > 0 && outf > 0) {  // C = bias in every row, then C += X W^T in the GEMM
      const T* bp = bias.data<T>();
      const int64_t bs = bias.numel() == 1 ? 0 : (bias.dim() ? bias.strides()[0] : 0);
      T* row0 = op;
      for (int64_t j = 0; j < outf; ++j) row0[j] = bp[j * bs];
      for (int64_t r = 1; r < N; ++r) std::memcpy(op + r * outf, row0, sizeof(T) * outf);
      beta = T(1);
    }
    Mat<T> X{const_cast<T*>(xb.data<T>()), N, in, xs.rs, xs.cs};
    Mat<T> W{const_cast<T*>(weight.data<T>()), outf, in, weight.strides()[0], weight.strides()[1]};
    gemm_raw<T>(X, W.t(), Mat<T>{op, N, outf, outf, 1}, T(1), beta);
  });
  TensorList inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (any_requires_grad(inputs)) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool has_bias = bias.defined(), need_b = has_bias && bias.requires_grad();
    Shape x_shape = x.shape(), b_shape = has_bias ? bias.shape() : Shape{};
    auto node = record("LinearBackward", inputs, {out}, [=](const TensorList& grads, FunctionNode& nd) {
      TensorList r(has_bias ? 3 : 2);
      if (!grads[0].defined()) return r;
      int slot = 0;
      Tensor w = need_x ? nd.saved(slot++) : Tensor();
      Tensor xv = need_w ? nd.saved(slot++) : Tensor();
      Rows gs;
      Tensor gb = as_rows(gemm_ready(grads[0]), gs);  // dY as rows [N, out]
      const int64_t rows = gs.rows, inf = x_shape.back(), of = gs.cols;
      dispatch_float(gb.dtype(), "linear", [&](auto tag) {
        using T = decltype(tag);
        Mat<T> G{const_cast<T*>(gb.data<T>()), rows, of, gs.rs, gs.cs};
        if (need_x) {  // dX = dY W
          Tensor dx = Tensor::empty({rows, inf}, gb.dtype());
          Mat<T> W{const_cast<T*>(w.data<T>()), of, inf, w.strides()[0], w.strides()[1]};
          gemm_raw<T>(G, W, Mat<T>{dx.data<T>(), rows, inf, inf, 1}, T(1), T(0));
          r[0] = reshape(dx, x_shape);
        }
        if (need_w) {  // dW = dY^T X
          Rows xs2;
          Tensor xr = as_rows(xv, xs2);
          Tensor dw = Tensor::empty({of, inf}, gb.dtype());
          Mat<T> X{const_cast<T*>(xr.data<T>()), rows, inf, xs2.rs, xs2.cs};
          gemm_raw<T>(G.t(), X, Mat<T>{dw.data<T>(), of, inf, inf, 1}, T(1), T(0));
          r[1] = dw;
        }
        if (need_b) {  // db = dY summed over rows = 1^T dY
          std::vector<T> ones(static_cast<size_t>(std::max<int64_t>(rows, 1)), T(1));
          Tensor db = Tensor::empty({of}, gb.dtype());
          gemm_raw<T>(Mat<T>{ones.data(), 1, rows, rows, 1}, G, Mat<T>{db.data<T>(), 1, of, of, 1}, T(1), T(0));
          r[2] = shape_numel(b_shape) == of ? reshape(db, b_shape) : reshape(sum(db), b_shape);
        }
      });
      return r;
    });
    if (need_x) node->save(weight);
    if (need_w) node->save(x);
  }
  return out;
}

}  // namespace backpropx
