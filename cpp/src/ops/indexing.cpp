// Gathering ops with int64 index tensors: index_select, gather, advanced indexing (index), nonzero.
// Forward kernels read the input through its strides (no copy); each backward scatters (adds) the
// gradient into zeros of the input's shape, so repeated indices sum. The scatter runs in parallel
// only over output dims that map to distinct input positions (never over the indexed dims).
//
// index / index_select share one plan: the defined index tensors broadcast to a shape B; an int64
// tensor `off` of shape B holds, for each index position, the summed element offset of the indexed
// dims (sum_k idx_k * stride[dim_k]); the output is [x dims before, B, x dims after] when the indexed
// dims are adjacent, else [B, the other x dims] (NumPy / torch rules).
#include <algorithm>
#include <cstring>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

void check_index_dtype(const Tensor& idx, const char* op) {
  BPX_CHECK(idx.defined(), ValueError, op, ": got an undefined index tensor");
  BPX_CHECK(idx.dtype() == DType::Int64, TypeError, op, ": expected an int64 index tensor, got ",
            dtype_name(idx.dtype()), " (shape ", shape_str(idx.shape()), ")");
}

// for_each_row over `shape`, split over dim 0 across threads when `parallel` (the caller guarantees
// that different positions along dim 0 never write the same element).
template <size_t K, typename F>
void for_each_row_par(const Shape& shape, const std::array<const Shape*, K>& strides, bool parallel, F&& f) {
  const int64_t numel = shape_numel(shape);
  if (!parallel || shape.size() < 2 || shape[0] < 2 || numel <= kParallelGrain) {
    for_each_row<K>(shape, strides, f);
    return;
  }
  const int64_t per = std::max<int64_t>(1, numel / shape[0]);
  parallel_for(shape[0], std::max<int64_t>(1, kParallelGrain / per), [&](int64_t b, int64_t e) {
    Shape sub = shape;
    sub[0] = e - b;
    std::array<int64_t, K> base{};
    for (size_t k = 0; k < K; ++k) base[k] = b * (*strides[k])[0];
    for_each_row<K>(sub, strides, [&](std::array<int64_t, K> off, int64_t n, const std::array<int64_t, K>& inner) {
      for (size_t k = 0; k < K; ++k) off[k] += base[k];
      f(off, n, inner);
    });
  });
}

struct IndexPlan {
  std::vector<int64_t> dims;  // the indexed dims of x, increasing
  TensorList idx;             // their int64 index tensors
  Shape bshape;               // the broadcast index shape
  Shape out_shape;
  std::vector<int64_t> out_src;  // per output dim: x dim (>= 0) or -1 - (dim of bshape)
  bool first_is_x = false;       // output dim 0 comes from an x dim (safe to scatter in parallel)
};

IndexPlan plan_index(const Shape& xshape, const std::vector<Tensor>& indices, const char* op) {
  IndexPlan p;
  const int64_t nd = static_cast<int64_t>(xshape.size());
  for (int64_t d = 0; d < static_cast<int64_t>(indices.size()); ++d) {
    if (!indices[d].defined()) continue;
    check_index_dtype(indices[d], op);
    p.dims.push_back(d);
    p.idx.push_back(indices[d]);
  }
  for (size_t i = 0; i < p.idx.size(); ++i) {
    const Shape& s = p.idx[i].shape();
    const size_t n = std::max(p.bshape.size(), s.size());
    Shape r(n);
    for (size_t j = 0; j < n; ++j) {
      int64_t a = j < n - p.bshape.size() ? 1 : p.bshape[j - (n - p.bshape.size())];
      int64_t b = j < n - s.size() ? 1 : s[j - (n - s.size())];
      if (a != b && a != 1 && b != 1) {
        std::string shapes;
        for (size_t q = 0; q < p.idx.size(); ++q) shapes += (q ? ", " : "") + shape_str(p.idx[q].shape());
        throw IndexError(cat(op, ": shape mismatch: indexing tensors could not be broadcast together with shapes ",
                             shapes));
      }
      r[j] = a == 1 ? b : a;
    }
    p.bshape = r;
  }
  const int64_t nb = static_cast<int64_t>(p.bshape.size());
  const bool adjacent = p.dims.empty() || p.dims.back() - p.dims.front() + 1 == static_cast<int64_t>(p.dims.size());
  auto push_x = [&](int64_t d) {
    p.out_shape.push_back(xshape[d]);
    p.out_src.push_back(d);
  };
  auto push_b = [&]() {
    for (int64_t j = 0; j < nb; ++j) {
      p.out_shape.push_back(p.bshape[j]);
      p.out_src.push_back(-1 - j);
    }
  };
  std::vector<bool> indexed(nd, false);
  for (int64_t d : p.dims) indexed[d] = true;
  if (adjacent && !p.dims.empty()) {
    for (int64_t d = 0; d < p.dims.front(); ++d) push_x(d);
    push_b();
    for (int64_t d = p.dims.back() + 1; d < nd; ++d) push_x(d);
  } else {
    push_b();
    for (int64_t d = 0; d < nd; ++d)
      if (!indexed[d]) push_x(d);
  }
  p.first_is_x = !p.out_src.empty() && p.out_src[0] >= 0;
  return p;
}

// off[b] = sum_k wrap(idx_k[b]) * strides[dims[k]] over the broadcast index shape (checks the range).
Tensor index_offsets(const IndexPlan& p, const Shape& xshape, const Shape& xstrides, const char* op) {
  Tensor off = zeros(p.bshape, DType::Int64);
  int64_t* o = off.data<int64_t>();
  for (size_t k = 0; k < p.idx.size(); ++k) {
    const int64_t d = p.dims[k], n = xshape[d], st = xstrides[d];
    const Tensor& ix = p.idx[k];
    const int64_t* ip = ix.data<int64_t>();
    Shape is = broadcast_strides(ix, p.bshape);
    for_each_row<2>(p.bshape, {&off.strides(), &is}, [&](auto of, int64_t len, auto inner) {
      for (int64_t i = 0; i < len; ++i) {
        int64_t v = ip[of[1] + i * inner[1]];
        BPX_CHECK(v >= -n && v < n, IndexError, op, ": index ", v, " is out of bounds for dimension ", d,
                  " with size ", n);
        o[of[0] + i * inner[0]] += (v < 0 ? v + n : v) * st;
      }
    });
  }
  return off;
}

// Per output dim: the stride into x (x dims) and into off (index dims), 0 for the other kind.
void split_strides(const IndexPlan& p, const Shape& xstrides, const Tensor& off, Shape& xs, Shape& os) {
  xs.assign(p.out_shape.size(), 0);
  os.assign(p.out_shape.size(), 0);
  for (size_t i = 0; i < p.out_shape.size(); ++i) {
    int64_t s = p.out_src[i];
    if (s >= 0) xs[i] = xstrides[s];
    else os[i] = p.out_shape[i] == 1 ? 0 : off.strides()[-1 - s];
  }
}

// out = x[plan] (any dtype).
Tensor index_forward(const Tensor& x, const IndexPlan& p, const char* op) {
  Tensor off = index_offsets(p, x.shape(), x.strides(), op);
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  Shape xs, os;
  split_strides(p, x.strides(), off, xs, os);
  const int64_t* q = off.data<int64_t>();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* op_ = out.data<T>();
    for_each_row_par<3>(p.out_shape, {&out.strides(), &xs, &os}, true, [&](auto of, int64_t n, auto in) {
      T* o = op_ + of[0];
      if (in[2] == 0) {  // the whole row shares one index position
        const T* src = xp + of[1] + q[of[2]];
        if (in[1] == 1 && in[0] == 1) std::memcpy(o, src, sizeof(T) * n);
        else for (int64_t i = 0; i < n; ++i) o[i * in[0]] = src[i * in[1]];
      } else {
        const T* src = xp + of[1];
        const int64_t* qq = q + of[2];
        for (int64_t i = 0; i < n; ++i) o[i * in[0]] = src[i * in[1] + qq[i * in[2]]];
      }
    });
  });
  return out;
}

// gx = zeros(xshape); gx[plan] += g.
Tensor index_backward(const Tensor& g, const Shape& xshape, const IndexPlan& p, const char* op) {
  Tensor gx = zeros(xshape, g.dtype());
  Tensor off = index_offsets(p, xshape, gx.strides(), op);
  Shape xs, os;
  split_strides(p, gx.strides(), off, xs, os);
  const int64_t* q = off.data<int64_t>();
  dispatch_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* gp = g.data<T>();
    T* xp = gx.data<T>();
    for_each_row_par<3>(p.out_shape, {&g.strides(), &xs, &os}, p.first_is_x, [&](auto of, int64_t n, auto in) {
      const T* gr = gp + of[0];
      T* dst = xp + of[1];
      const int64_t* qq = q + of[2];
      if (in[2] == 0) {
        dst += qq[0];
        for (int64_t i = 0; i < n; ++i) dst[i * in[1]] += gr[i * in[0]];
      } else {
        for (int64_t i = 0; i < n; ++i) dst[i * in[1] + qq[i * in[2]]] += gr[i * in[0]];
      }
    });
  });
  return gx;
}

// Records the backward of an index plan: scatter-add into zeros of x's shape.
void record_index(const char* name, const char* op, const Tensor& x, const Tensor& out, const IndexPlan& p) {
  Shape xshape = x.shape();
  const size_t nidx = p.idx.size();
  IndexPlan plan = p;
  for (Tensor& t : plan.idx) t = Tensor();  // the backward reads them through the saved tensors
  auto node = record(name, {x}, {out}, [xshape, nidx, op, plan](const TensorList& grads, FunctionNode& nd) {
    if (!grads[0].defined()) return TensorList(1);
    IndexPlan q = plan;
    for (size_t k = 0; k < nidx; ++k) q.idx[k] = nd.saved(k);
    return TensorList{index_backward(grads[0], xshape, q, op)};
  });
  for (const Tensor& t : p.idx) node->save(t);
}

}  // namespace

// ---- index_select -----------------------------------------------------------------------------------

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  BPX_CHECK(x.defined(), ValueError, "index_select: got an undefined input");
  check_index_dtype(index, "index_select");
  BPX_CHECK(index.dim() <= 1, IndexError, "index_select: the index must be a vector (1-D), got shape ",
            shape_str(index.shape()));
  const int64_t d = wrap_dim(dim, x.dim(), "index_select");
  // A 0-d input is indexed as a vector of one element.
  Tensor xv = x.dim() == 0 ? make_view(x, {1}, {1}, x.offset()) : x;
  Tensor iv = index.dim() == 0 ? make_view(index, {1}, {1}, index.offset()) : index;
  std::vector<Tensor> indices(d + 1);
  indices[d] = iv;
  IndexPlan p = plan_index(xv.shape(), indices, "index_select");
  Tensor out = index_forward(xv, p, "index_select");
  if (x.dim() == 0) out = make_view(out, index.shape(), contiguous_strides(index.shape()), 0);
  if (any_requires_grad({&x})) {
    Shape xshape = x.shape();
    const bool scalar = x.dim() == 0;
    Shape vshape = xv.shape(), oshape = p.out_shape;
    p.idx[0] = Tensor();
    auto node = record("IndexSelectBackward", {x}, {out}, [=](const TensorList& grads, FunctionNode& nd) {
      if (!grads[0].defined()) return TensorList(1);
      IndexPlan q = p;
      Tensor ix = nd.saved(0);
      q.idx[0] = ix.dim() == 0 ? make_view(ix, {1}, {1}, ix.offset()) : ix;
      Tensor g = scalar ? reshape(grads[0], oshape) : grads[0];
      Tensor gx = index_backward(g, vshape, q, "index_select");
      return TensorList{scalar ? reshape(gx, xshape) : gx};
    });
    node->save(index);
  }
  return out;
}

// ---- index (advanced indexing) ----------------------------------------------------------------------

Tensor index(const Tensor& x, const std::vector<Tensor>& indices_in) {
  BPX_CHECK(x.defined(), ValueError, "index: got an undefined input");
  BPX_CHECK(static_cast<int64_t>(indices_in.size()) <= std::max<int64_t>(x.dim(), 0), IndexError,
            "index: too many indices for tensor of dimension ", x.dim(), " (got ", indices_in.size(),
            "; shape ", shape_str(x.shape()), ")");
  // A bool mask over k dims becomes k int64 index tensors (its nonzero positions), as torch.
  std::vector<Tensor> indices;
  bool any = false;
  for (size_t i = 0; i < indices_in.size(); ++i) {
    const Tensor& t = indices_in[i];
    if (t.defined() && t.dtype() == DType::Bool) {
      const int64_t at = static_cast<int64_t>(indices.size());
      BPX_CHECK(at + t.dim() <= x.dim(), IndexError, "index: too many indices for tensor of dimension ", x.dim(),
                " (a mask of shape ", shape_str(t.shape()), " at dim ", at, ")");
      for (int64_t j = 0; j < t.dim(); ++j)
        BPX_CHECK(t.shape()[j] == x.shape()[at + j], IndexError, "index: the shape of the mask ",
                  shape_str(t.shape()), " at index ", j, " does not match the shape of the indexed tensor ",
                  shape_str(x.shape()), " at index ", at + j);
      BPX_CHECK(t.dim() > 0, IndexError, "index: indexing with a 0-d bool mask is not supported");
      Tensor nz = nonzero(t);
      for (int64_t j = 0; j < t.dim(); ++j) indices.push_back(select(nz, 1, j));
      any = true;
      continue;
    }
    if (t.defined()) {
      BPX_CHECK(t.dtype() == DType::Int64, TypeError,
                "index: tensors used as indices must be int64 or bool tensors, got ", dtype_name(t.dtype()),
                " at position ", i);
      any = true;
    }
    indices.push_back(t);
  }
  BPX_CHECK(static_cast<int64_t>(indices.size()) <= x.dim(), IndexError,
            "index: too many indices for tensor of dimension ", x.dim(), " (got ", indices.size(), ")");
  if (!any) return x;
  IndexPlan p = plan_index(x.shape(), indices, "index");
  Tensor out = index_forward(x, p, "index");
  if (any_requires_grad({&x})) record_index("IndexBackward", "index", x, out, p);
  return out;
}

// ---- gather -----------------------------------------------------------------------------------------

namespace {

// Strides of x with the gathered dim zeroed, and the range check of every index value.
void gather_check(const Tensor& x, int64_t d, const Tensor& index) {
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
  const int64_t* ip = index.data<int64_t>();
  for_each_row<1>(index.shape(), {&index.strides()}, [&](auto of, int64_t len, auto in) {
    for (int64_t i = 0; i < len; ++i) {
      int64_t v = ip[of[0] + i * in[0]];
      BPX_CHECK(v >= -n && v < n, IndexError, "gather: index ", v, " is out of bounds for dimension ", d,
                " with size ", n);
    }
  });
}

template <typename T, typename F>
void gather_rows(const Tensor& index, const Shape& xs_zeroed, int64_t sd, int64_t n, const Shape& other_strides,
                 bool parallel, F&& body) {
  const int64_t* ip = index.data<int64_t>();
  for_each_row_par<3>(index.shape(), {&other_strides, &xs_zeroed, &index.strides()}, parallel,
                      [&](auto of, int64_t len, auto in) {
                        const int64_t* q = ip + of[2];
                        for (int64_t i = 0; i < len; ++i) {
                          int64_t v = q[i * in[2]];
                          if (v < 0) v += n;
                          body(of[0] + i * in[0], of[1] + i * in[1] + v * sd);
                        }
                      });
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  BPX_CHECK(x.defined(), ValueError, "gather: got an undefined input");
  check_index_dtype(index, "gather");
  const int64_t d = wrap_dim(dim, x.dim(), "gather");
  BPX_CHECK(index.dim() == x.dim(), ValueError, "gather: index shape ", shape_str(index.shape()),
            " must have the same number of dimensions as the input shape ", shape_str(x.shape()));
  for (int64_t k = 0; k < x.dim(); ++k)
    BPX_CHECK(k == d || index.shape()[k] <= x.shape()[k], ValueError, "gather: index shape ",
              shape_str(index.shape()), " is larger than the input shape ", shape_str(x.shape()),
              " at dimension ", k, " (only dimension ", d, " may be larger)");
  gather_check(x, d, index);
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
  const int64_t sd = x.dim() == 0 ? 0 : x.strides()[d];
  Shape xz = x.strides();
  if (x.dim()) xz[d] = 0;
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* o = out.data<T>();
    gather_rows<T>(index, xz, sd, n, out.strides(), true, [&](int64_t oi, int64_t xi) { o[oi] = xp[xi]; });
  });
  if (any_requires_grad({&x})) {
    Shape xshape = x.shape();
    auto node = record("GatherBackward", {x}, {out}, [xshape, d, n](const TensorList& grads, FunctionNode& nd) {
      if (!grads[0].defined()) return TensorList(1);
      Tensor ix = nd.saved(0);
      const Tensor& g = grads[0];
      Tensor gx = zeros(xshape, g.dtype());
      Shape gz = gx.strides();
      const int64_t gsd = gx.dim() == 0 ? 0 : gz[d];
      if (gx.dim()) gz[d] = 0;
      // Scatter-add: positions along the gathered dim collide, so only split dim 0 when it is not it.
      const bool par = gx.dim() > 1 && d != 0;
      dispatch_float(g.dtype(), "gather", [&](auto tag) {
        using T = decltype(tag);
        const T* gp = g.data<T>();
        T* xp = gx.data<T>();
        gather_rows<T>(ix, gz, gsd, n, g.strides(), par, [&](int64_t oi, int64_t xi) { xp[xi] += gp[oi]; });
      });
      return TensorList{gx};
    });
    node->save(index);
  }
  return out;
}

// ---- nonzero ----------------------------------------------------------------------------------------

Tensor nonzero(const Tensor& x) {
  BPX_CHECK(x.defined(), ValueError, "nonzero: got an undefined input");
  const int64_t nd = x.dim();
  std::vector<int64_t> pos;
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    const int64_t total = x.numel();
    std::vector<int64_t> idx(nd, 0);
    int64_t off = 0;
    for (int64_t i = 0; i < total; ++i) {
      if (xp[off] != T(0)) pos.insert(pos.end(), idx.begin(), idx.end());
      for (int64_t k = nd - 1; k >= 0; --k) {  // odometer over x's shape
        ++idx[k];
        off += x.strides()[k];
        if (idx[k] < x.shape()[k]) break;
        off -= x.strides()[k] * x.shape()[k];
        idx[k] = 0;
      }
    }
  });
  int64_t count = nd == 0 ? 0 : static_cast<int64_t>(pos.size()) / nd;
  if (nd == 0) {
    bool nzv = dispatch_all(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return *x.data<T>() != T(0);
    });
    count = nzv ? 1 : 0;
  }
  Tensor out = Tensor::empty({count, nd}, DType::Int64);
  if (!pos.empty()) std::memcpy(out.data<int64_t>(), pos.data(), sizeof(int64_t) * pos.size());
  return out;
}

}  // namespace backpropx
