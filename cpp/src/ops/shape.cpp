// Shape ops. Views (reshape/view, transpose, permute, squeeze, unsqueeze, expand, narrow, select,
// slice) share the input's storage; their backward maps the gradient back through the inverse
// shape change. cat/stack copy; split/chunk return narrow views.
#include <algorithm>
#include <numeric>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

Shape infer_shape(Shape shape, int64_t numel, const char* op, const Shape& from) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      BPX_CHECK(infer < 0, ValueError, op, ": only one dimension can be inferred (-1) in shape ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      BPX_CHECK(shape[i] >= 0, ValueError, op, ": invalid shape dimension ", shape[i], " in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    BPX_CHECK(known != 0 && numel % known == 0, ValueError, op, ": shape ", shape_str(shape),
              " is invalid for input of shape ", shape_str(from), " (", numel, " elements)");
    shape[infer] = numel / known;
  }
  BPX_CHECK(shape_numel(shape) == numel, ValueError, op, ": shape ", shape_str(shape), " is invalid for input of shape ",
            shape_str(from), " (", numel, " elements)");
  return shape;
}

// Strides that let `shape` view memory laid out as (old_shape, old_strides), or false (as torch's
// computeStride: split the old dims into chunks of contiguous memory and map the new dims onto them).
bool view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape, Shape& out) {
  out.assign(shape.size(), 0);
  if (shape_numel(old_shape) == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

// Backward of a view that picks a region of x: scatter g into zeros of x's shape through the same view.
template <typename MakeView>
void record_region_view(const char* name, const Tensor& x, const Tensor& out, MakeView make) {
  Shape xs = x.shape();
  record(name, {x}, {out}, [xs, make](const TensorList& g, FunctionNode&) {
    Tensor gx = zeros(xs, g[0].dtype());
    copy_strided(g[0], make(gx));
    return TensorList{gx};
  });
}

}  // namespace

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  copy_strided(x, out);
  if (any_requires_grad({&x}))
    record("ContiguousBackward", {x}, {out}, [](const TensorList& g, FunctionNode&) { return TensorList{g[0]}; });
  return out;
}

static Tensor reshape_impl(const Tensor& x, Shape shape_in, bool must_view, const char* op) {
  Shape shape = infer_shape(std::move(shape_in), x.numel(), op, x.shape());
  Shape st;
  Tensor out;
  if (view_strides(x.shape(), x.strides(), shape, st)) {
    out = make_view(x, shape, st, x.offset());
  } else {
    BPX_CHECK(!must_view, RuntimeError, op, ": view size is not compatible with input tensor's size and stride "
              "(shape ", shape_str(x.shape()), "); use .reshape(...) instead");
    Tensor c = Tensor::empty(x.shape(), x.dtype());
    copy_strided(x, c);
    out = make_view(c, shape, contiguous_strides(shape), 0);
  }
  if (any_requires_grad({&x})) {
    Shape xs = x.shape();
    record(must_view ? "ViewBackward" : "ReshapeBackward", {x}, {out},
           [xs](const TensorList& g, FunctionNode&) { return TensorList{reshape(g[0], xs)}; });
  }
  return out;
}

Tensor reshape(const Tensor& x, Shape shape) { return reshape_impl(x, std::move(shape), false, "reshape"); }
Tensor view(const Tensor& x, Shape shape) { return reshape_impl(x, std::move(shape), true, "view"); }

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  BPX_CHECK(s <= e, ValueError, "flatten: start_dim (", start_dim, ") cannot come after end_dim (", end_dim, ")");
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t m = 1;
  for (int64_t d = s; d <= e; ++d) m *= x.shape()[d];
  shape.push_back(m);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const int64_t nd = x.dim();
  BPX_CHECK(static_cast<int64_t>(dims.size()) == nd, ValueError, "permute: number of dims (", dims.size(),
            ") doesn't match the tensor's ", nd, " dims (shape ", shape_str(x.shape()), ")");
  std::vector<int64_t> perm(nd), inverse(nd);
  std::vector<bool> used(nd, false);
  Shape shape(nd), strides(nd);
  for (int64_t i = 0; i < nd; ++i) {
    int64_t d = wrap_dim(dims[i], nd, "permute");
    BPX_CHECK(!used[d], ValueError, "permute: repeated dim ", d, " in the permutation");
    used[d] = true;
    perm[i] = d;
    inverse[d] = i;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  if (any_requires_grad({&x}))
    record("PermuteBackward", {x}, {out},
           [inverse](const TensorList& g, FunctionNode&) { return TensorList{permute(g[0], inverse)}; });
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  if (x.dim() == 0) return x;
  int64_t a = wrap_dim(dim0, x.dim(), "transpose"), b = wrap_dim(dim1, x.dim(), "transpose");
  std::vector<int64_t> perm(x.dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[a], perm[b]);
  return permute(x, perm);
}

Tensor t(const Tensor& x) {
  BPX_CHECK(x.dim() <= 2, ValueError, "t: expects a tensor with <= 2 dimensions, but got shape ", shape_str(x.shape()));
  return x.dim() < 2 ? x : transpose(x, 0, 1);
}

Tensor squeeze(const Tensor& x, std::optional<int64_t> dim) {
  Shape shape, strides;
  int64_t only = dim ? wrap_dim(*dim, x.dim(), "squeeze") : -1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool drop = x.shape()[d] == 1 && (only < 0 || d == only);
    if (!drop) {
      shape.push_back(x.shape()[d]);
      strides.push_back(x.strides()[d]);
    }
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  if (any_requires_grad({&x})) {
    Shape xs = x.shape();
    record("SqueezeBackward", {x}, {out}, [xs](const TensorList& g, FunctionNode&) { return TensorList{reshape(g[0], xs)}; });
  }
  return out;
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  int64_t st = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, st);
  Tensor out = make_view(x, shape, strides, x.offset());
  if (any_requires_grad({&x})) {
    Shape xs = x.shape();
    record("UnsqueezeBackward", {x}, {out}, [xs](const TensorList& g, FunctionNode&) { return TensorList{reshape(g[0], xs)}; });
  }
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape_in) {
  BPX_CHECK(shape_in.size() >= static_cast<size_t>(x.dim()), ValueError, "expand: the number of sizes provided (",
            shape_in.size(), ") must be greater or equal to the number of dimensions in the tensor (", x.dim(), ")");
  const int64_t nd = static_cast<int64_t>(shape_in.size()), lead = nd - x.dim();
  Shape shape(nd), strides(nd, 0);
  for (int64_t i = 0; i < nd; ++i) {
    int64_t want = shape_in[i];
    if (i < lead) {
      BPX_CHECK(want >= 0, ValueError, "expand: -1 is not allowed for a new leading dimension");
      shape[i] = want;
      continue;
    }
    int64_t have = x.shape()[i - lead];
    if (want == -1) want = have;
    BPX_CHECK(have == want || have == 1, ValueError, "expand: the expanded size of the tensor (", want,
              ") must match the existing size (", have, ") at non-singleton dimension ", i, ". Target sizes: ",
              shape_str(shape_in), ". Tensor sizes: ", shape_str(x.shape()));
    shape[i] = want;
    strides[i] = have == want ? x.strides()[i - lead] : 0;
  }
  if (shape == x.shape()) return x;
  Tensor out = make_view(x, shape, strides, x.offset());
  if (any_requires_grad({&x})) {
    Shape xs = x.shape();
    record("ExpandBackward", {x}, {out}, [xs](const TensorList& g, FunctionNode&) { return TensorList{sum_to(g[0], xs)}; });
  }
  return out;
}

Tensor slice(const Tensor& x, int64_t dim, std::optional<int64_t> start_in, std::optional<int64_t> stop_in, int64_t step) {
  BPX_CHECK(x.dim() > 0, IndexError, "slice: cannot slice a 0-d tensor");
  BPX_CHECK(step > 0, ValueError, "slice: step must be greater than zero, got ", step);
  int64_t d = wrap_dim(dim, x.dim(), "slice"), n = x.shape()[d];
  auto clampi = [n](int64_t v) { return std::min<int64_t>(std::max<int64_t>(v < 0 ? v + n : v, 0), n); };
  int64_t start = start_in ? clampi(*start_in) : 0;
  int64_t stop = stop_in ? clampi(*stop_in) : n;
  int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  auto make = [d, start, len, step](const Tensor& base) {
    Shape shape = base.shape(), strides = base.strides();
    shape[d] = len;
    strides[d] *= step;
    return make_view(base, shape, strides, base.offset() + start * base.strides()[d]);
  };
  Tensor out = make(x);
  if (any_requires_grad({&x})) record_region_view("SliceBackward", x, out, make);
  return out;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  BPX_CHECK(x.dim() > 0, IndexError, "narrow: cannot narrow a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "narrow"), n = x.shape()[d];
  if (start < 0) start += n;
  BPX_CHECK(start >= 0 && length >= 0 && start + length <= n, IndexError, "narrow: start (", start, ") + length (",
            length, ") exceeds dimension size (", n, ") of dim ", d, " in shape ", shape_str(x.shape()));
  return slice(x, d, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  BPX_CHECK(x.dim() > 0, IndexError, "select: invalid index of a 0-dim tensor");
  int64_t d = wrap_dim(dim, x.dim(), "select"), n = x.shape()[d];
  BPX_CHECK(index >= -n && index < n, IndexError, "select: index ", index, " is out of bounds for dimension ", d,
            " with size ", n, " (shape ", shape_str(x.shape()), ")");
  if (index < 0) index += n;
  auto make = [d, index](const Tensor& base) {
    Shape shape = base.shape(), strides = base.strides();
    int64_t off = base.offset() + index * strides[d];
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
    return make_view(base, shape, strides, off);
  };
  Tensor out = make(x);
  if (any_requires_grad({&x})) record_region_view("SelectBackward", x, out, make);
  return out;
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  BPX_CHECK(!tensors.empty(), ValueError, "cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  BPX_CHECK(first.dim() > 0, ValueError, "cat: zero-dimensional tensor (at position 0) cannot be concatenated");
  int64_t d = wrap_dim(dim, first.dim(), "cat");
  DType dt = first.dtype();
  Shape shape = first.shape();
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    BPX_CHECK(t.dim() == first.dim(), ValueError, "cat: tensors must have the same number of dimensions: got ",
              shape_str(first.shape()), " and ", shape_str(t.shape()), " (at position ", i, ")");
    for (int64_t k = 0; k < t.dim(); ++k)
      BPX_CHECK(k == d || t.shape()[k] == shape[k], ValueError, "cat: sizes of tensors must match except in dimension ",
                d, "; expected ", shape_str(shape), " but got ", shape_str(t.shape()), " at position ", i);
    dt = promote_types(dt, t.dtype());
    total += t.shape()[d];
  }
  shape[d] = total;
  Tensor out = Tensor::empty(shape, dt);
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    int64_t len = t.shape()[d];
    Shape st = out.strides(), sh = shape;
    sh[d] = len;
    copy_strided(t, make_view(out, sh, st, at * st[d]));
    sizes.push_back(len);
    at += len;
  }
  if (any_requires_grad(tensors)) {
    std::vector<DType> dtypes;
    for (const Tensor& t : tensors) dtypes.push_back(t.dtype());
    record("CatBackward", tensors, {out}, [d, sizes, dtypes](const TensorList& g, FunctionNode&) {
      TensorList r;
      int64_t pos = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        r.push_back(narrow(g[0], d, pos, sizes[i]).to(dtypes[i]));
        pos += sizes[i];
      }
      return r;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  BPX_CHECK(!tensors.empty(), ValueError, "stack: expected a non-empty list of tensors");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    BPX_CHECK(tensors[i].shape() == tensors[0].shape(), ValueError, "stack: expects each tensor to be equal size, but got ",
              shape_str(tensors[0].shape()), " at entry 0 and ", shape_str(tensors[i].shape()), " at entry ", i);
    parts.push_back(unsqueeze(tensors[i], d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sections, int64_t dim) {
  BPX_CHECK(x.dim() > 0, ValueError, "split: cannot split a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sections) {
    BPX_CHECK(s >= 0, ValueError, "split: split sizes must be non-negative, got ", s);
    total += s;
  }
  BPX_CHECK(total == x.shape()[d], ValueError, "split: split sizes sum to ", total, " but dimension ", d,
            " of shape ", shape_str(x.shape()), " has size ", x.shape()[d]);
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sections) {
    out.push_back(narrow(x, d, at, s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  BPX_CHECK(x.dim() > 0, ValueError, "split: cannot split a 0-d tensor");
  BPX_CHECK(split_size > 0, ValueError, "split: split_size must be positive, got ", split_size);
  int64_t n = x.shape()[wrap_dim(dim, x.dim(), "split")];
  std::vector<int64_t> sections;
  for (int64_t at = 0; at < n; at += split_size) sections.push_back(std::min(split_size, n - at));
  if (sections.empty()) sections.push_back(0);
  return split(x, sections, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  BPX_CHECK(chunks > 0, ValueError, "chunk: chunks must be positive, got ", chunks);
  BPX_CHECK(x.dim() > 0, ValueError, "chunk: cannot chunk a 0-d tensor");
  int64_t n = x.shape()[wrap_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), dim);
}

}  // namespace backpropx
