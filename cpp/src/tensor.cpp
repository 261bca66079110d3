// Storage, Tensor handle methods, strided copy.
#include "backpropx/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/sparse.h"
#include "allocator.h"
#include "kernel_utils.h"

namespace backpropx {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    BPX_CHECK(d >= 0, ValueError, "shape ", shape_str(s), " has a negative dimension");
    BPX_CHECK(!__builtin_mul_overflow(n, d, &n), ValueError, "shape ", shape_str(s),
              " has more elements than fit in 64 bits");
  }
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

// ---- Storage --------------------------------------------------------------------------------------

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  BPX_CHECK(device.type == DeviceType::CPU, NotImplementedError,
            "backpropx was built without a backend for device ", device.str());
  size_t capacity = 0;
  void* p = allocate_block(nbytes, &capacity);
  if (!p) throw RuntimeError(cat("out of memory: could not allocate ", nbytes, " bytes for a tensor"));
  data_ = std::shared_ptr<void>(p, [capacity](void* q) { free_block(q, capacity); });
}

Storage::Storage(void* data, size_t nbytes, std::shared_ptr<void> owner, Device d)
    : data_(std::move(owner), data), nbytes_(nbytes), device_(d) {}

// ---- Tensor ---------------------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    BPX_CHECK(d >= 0, ValueError, "empty: negative dimension in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  size_t nbytes = 0;
  BPX_CHECK(!__builtin_mul_overflow(static_cast<size_t>(shape_numel(shape)), element_size(dtype), &nbytes) &&
                nbytes <= (size_t(1) << 62),
            RuntimeError, "out of memory: a tensor of shape ", shape_str(shape), " and dtype ", dtype_name(dtype),
            " is too large to allocate");
  impl->storage = std::make_shared<Storage>(nbytes, device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

Device Tensor::device() const {
  return is_sparse() ? sparse_values().device() : impl_->storage->device();
}

void Tensor::bump_version() const {
  if (is_sparse()) {
    sparse_values().bump_version();
  } else {
    impl_->storage->bump_version();
  }
}

void Tensor::throw_no_dense_data() const {
  throw RuntimeError(cat("this op needs a dense tensor, but got a row-sparse tensor of shape ", shape_str(shape()),
                         " (the gradient of a sparse embedding): call to_dense() first"));
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

double Tensor::item() const {
  BPX_CHECK(numel() == 1, RuntimeError, "item: a tensor with ", numel(), " elements (shape ",
            shape_str(shape()), ") cannot be converted to a Python number");
  return dispatch_all(dtype(), [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(*data<T>());
  });
}

void copy_strided(const Tensor& src, const Tensor& dst) {
  Shape sst = broadcast_strides(src, dst.shape());
  dispatch_all(dst.dtype(), [&](auto dtag) {
    using D = decltype(dtag);
    dispatch_all(src.dtype(), [&](auto stag) {
      using S = decltype(stag);
      const S* s = src.data<S>();
      D* d = dst.data<D>();
      if (src.is_contiguous() && dst.is_contiguous() && src.shape() == dst.shape()) {
        int64_t n = dst.numel();
        if constexpr (std::is_same_v<D, S>) {
          std::memcpy(d, s, n * sizeof(D));
        } else {
          parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) d[i] = convert_value<D>(s[i]);
          });
        }
        return;
      }
      for_each_row<2>(dst.shape(), {&dst.strides(), &sst}, [&](auto off, int64_t n, auto inner) {
        D* dp = d + off[0];
        const S* sp = s + off[1];
        for (int64_t i = 0; i < n; ++i) dp[i * inner[0]] = convert_value<D>(sp[i * inner[1]]);
      });
    });
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = Tensor::empty(shape(), dtype());  // a raw copy: kernels use it, it records no history
  copy_strided(*this, out);
  return out;
}

bool Tensor::requires_grad() const {
  return impl_->requires_grad || impl_->grad_fn != nullptr;
}

Tensor& Tensor::set_requires_grad(bool r) {
  BPX_CHECK(is_leaf(), RuntimeError,
            "requires_grad_: you can only change requires_grad flags of leaf tensors; this tensor "
            "was made by ", impl_->grad_fn->name(), ". Use detach() to get a leaf.");
  BPX_CHECK(!r || is_floating(dtype()), RuntimeError,
            "requires_grad_: only float32/float64 tensors can require gradients, got ", dtype_name(dtype()));
  impl_->requires_grad = r;
  return *this;
}

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    BPX_CHECK(g.shape() == shape(), ValueError, "grad: assigned gradient has shape ", shape_str(g.shape()),
              " but the tensor has shape ", shape_str(shape()));
    BPX_CHECK(g.dtype() == dtype(), TypeError, "grad: assigned gradient is ", dtype_name(g.dtype()),
              " but the tensor is ", dtype_name(dtype()));
  }
  impl_->grad = g.impl_ptr();
}

Tensor Tensor::detach() const {
  if (is_sparse()) return make_row_sparse(sparse_indices().detach(), sparse_values().detach(), shape());
  return make_view(*this, shape(), strides(), offset());
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  backpropx::backward({*this}, {gradient}, retain_graph);
}

static int next_hook_id() {
  static int id = 0;
  return ++id;
}

int Tensor::register_hook(TensorHook hook) const {
  BPX_CHECK(requires_grad(), RuntimeError, "register_hook: cannot register a hook on a tensor that doesn't require gradient");
  int id = next_hook_id();
  if (is_leaf()) {
    impl_->leaf_hooks.emplace_back(id, std::move(hook));
  } else {
    auto& node = *impl_->grad_fn;
    node.pre_hooks[impl_->output_nr].emplace_back(id, std::move(hook));
  }
  return id;
}

void Tensor::remove_hook(int id) const {
  auto drop = [id](std::vector<std::pair<int, TensorHook>>& v) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it->first == id) { v.erase(it); return; }
  };
  drop(impl_->leaf_hooks);
  if (impl_->grad_fn) drop(impl_->grad_fn->pre_hooks[impl_->output_nr]);
}

void Tensor::retain_grad() const {
  BPX_CHECK(requires_grad(), RuntimeError, "retain_grad: can't retain_grad on a tensor that doesn't require gradient");
  if (is_leaf() || impl_->retains_grad) return;
  impl_->retains_grad = true;
  impl_->grad_fn->retained[impl_->output_nr] = impl_;
}

// ---- in-place ops ---------------------------------------------------------------------------------

static void check_inplace(const Tensor& t, const char* op) {
  if (!grad_enabled()) return;
  BPX_CHECK(!(t.is_leaf() && t.requires_grad()), RuntimeError, op,
            ": a leaf tensor that requires grad is being used in an in-place operation; "
            "wrap it in `with bx.no_grad():` (as optimizers do) or work on a copy");
  BPX_CHECK(t.is_leaf(), RuntimeError, op, ": in-place operations on tensors that are part of an autograd "
            "graph (made by ", t.grad_fn()->name(), ") are not supported; use the out-of-place op");
}

Tensor& Tensor::zero_() {
  if (is_sparse()) {  // no rows left: a row-sparse zero
    Shape vshape = shape();
    vshape[0] = 0;
    impl_->sparse_indices = Tensor::empty({0}, DType::Int64).impl_ptr();
    impl_->sparse_values = Tensor::empty(vshape, dtype()).impl_ptr();
    return *this;
  }
  return fill_(0.0);
}

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    T v = convert_value<T>(value);
    T* d = data<T>();
    if (is_contiguous()) {
      std::fill(d, d + numel(), v);
    } else {
      for_each_row<1>(shape(), {&strides()}, [&](auto off, int64_t n, auto inner) {
        for (int64_t i = 0; i < n; ++i) d[off[0] + i * inner[0]] = v;
      });
    }
  });
  bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  broadcast_shapes(src.shape(), shape(), "copy_");
  BPX_CHECK(broadcast_shapes(src.shape(), shape(), "copy_") == shape(), ValueError, "copy_: source of shape ",
            shape_str(src.shape()), " does not broadcast to destination shape ", shape_str(shape()));
  if (src.storage() == storage()) {
    copy_strided(src.clone().detach(), *this);  // overlapping memory: copy through a temporary
  } else {
    copy_strided(src, *this);
  }
  bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, "add_");
  Tensor r;
  {
    NoGradGuard g;
    r = add(*this, other, alpha);
  }
  BPX_CHECK(r.shape() == shape(), ValueError, "add_: the result shape ", shape_str(r.shape()),
            " differs from the tensor's shape ", shape_str(shape()));
  copy_strided(r, *this);
  bump_version();
  return *this;
}

Tensor& Tensor::mul_(const Tensor& other) {
  check_inplace(*this, "mul_");
  Tensor r;
  {
    NoGradGuard g;
    r = mul(*this, other);
  }
  BPX_CHECK(r.shape() == shape(), ValueError, "mul_: the result shape ", shape_str(r.shape()),
            " differs from the tensor's shape ", shape_str(shape()));
  copy_strided(r, *this);
  bump_version();
  return *this;
}

Tensor& Tensor::mul_(double s) { return mul_(scalar_tensor(s, dtype())); }

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  return cat("tensor(shape=", shape_str(shape()), ", dtype=", dtype_name(dtype()), ")");
}

// ---- differentiable copies -----------------------------------------------------------------------

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype());
  copy_strided(*this, out);
  if (any_requires_grad({this}))
    record("CloneBackward", {*this}, {out}, [](const TensorList& g, FunctionNode&) { return TensorList{g[0]}; });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), target);
  copy_strided(*this, out);
  if (any_requires_grad({this}) && is_floating(target)) {
    DType src = dtype();
    record("ToCopyBackward", {*this}, {out},
           [src](const TensorList& g, FunctionNode&) { return TensorList{g[0].to(src)}; });
  }
  return out;
}

}  // namespace backpropx
