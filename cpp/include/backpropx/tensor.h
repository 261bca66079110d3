// Tensor: an N-d strided view of a Storage, plus the autograd fields (requires_grad, grad, grad_fn).
// A Tensor is a cheap handle (shared_ptr to TensorImpl); copies of a Tensor share everything.
// Views (reshape of contiguous data, transpose, permute, slicing, expand) share the Storage, and so
// its version counter: an in-place op on any view is seen by every saved tensor of that storage.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backpropx/dtype.h"
#include "backpropx/error.h"

namespace backpropx {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2, 3]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

// Raw bytes on a device. Owns them, or keeps an external owner alive (zero-copy from NumPy).
class Storage {
 public:
  Storage(size_t nbytes, Device device);                                     // allocate (64-byte aligned)
  Storage(void* data, size_t nbytes, std::shared_ptr<void> owner, Device d);  // wrap external memory
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_.get(); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  std::shared_ptr<void> data_;
  size_t nbytes_;
  Device device_;
  uint64_t version_ = 0;
};

class Node;
class Tensor;
using TensorHook = std::function<Tensor(const Tensor&)>;  // returns an undefined Tensor to keep the gradient

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;
  DType dtype = DType::Float32;

  // autograd
  bool requires_grad = false;            // leaves only; non-leaves require grad through grad_fn
  std::shared_ptr<Node> grad_fn;         // the node that produced this tensor (null for leaves)
  int output_nr = 0;                     // which output of grad_fn this tensor is
  std::shared_ptr<TensorImpl> grad;      // accumulated gradient (leaves, or non-leaves with retain_grad)
  std::weak_ptr<Node> grad_accumulator;  // leaves: the AccumulateGrad node shared by all uses
  std::vector<std::pair<int, TensorHook>> leaf_hooks;  // leaves: hooks run before accumulation
  bool retains_grad = false;

  // Row-sparse tensors (the gradient of a sparse embedding): `shape` is the dense shape [V, ...],
  // storage is null, and the values live in sparse_values [nnz, ...] at the rows sparse_indices
  // [nnz] (int64; repeated rows add up until coalesced). See backpropx/sparse.h.
  std::shared_ptr<TensorImpl> sparse_indices, sparse_values;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // A new contiguous tensor with uninitialised values.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = {});

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  Device device() const;
  bool is_sparse() const { return impl_->sparse_values != nullptr; }
  Tensor sparse_indices() const { return Tensor(impl_->sparse_indices); }  // [nnz] int64
  Tensor sparse_values() const { return Tensor(impl_->sparse_values); }    // [nnz, ...]
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  bool is_contiguous() const;

  // Pointer to the first element (offset applied). T must match dtype.
  template <typename T>
  T* data() const {
    if (!impl_->storage) throw_no_dense_data();
    BPX_CHECK(dtype_of<T>::value == impl_->dtype, TypeError, "tensor data requested as ",
              dtype_name(dtype_of<T>::value), " but the tensor is ", dtype_name(impl_->dtype));
    return static_cast<T*>(impl_->storage->data()) + impl_->offset;
  }
  void* raw_data() const {
    if (!impl_->storage) throw_no_dense_data();
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * element_size(impl_->dtype);
  }

  // Values
  double item() const;                       // a one-element tensor's value
  Tensor contiguous() const;                 // self if contiguous, else a copy (no history: see ops contiguous())
  Tensor clone() const;                      // a differentiable copy
  Tensor to(DType dtype) const;              // differentiable dtype conversion (self if same dtype)

  // Autograd
  bool requires_grad() const;
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor& set_requires_grad(bool r);
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g);
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  Tensor detach() const;  // shares storage, no history
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  int register_hook(TensorHook hook) const;  // returns an id for remove_hook
  void remove_hook(int id) const;
  void retain_grad() const;

  // In-place updates (bump the storage version; refused on tensors that need grad while grad mode is on)
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // broadcasts src to self's shape, converts dtype
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double s);
  void bump_version() const;

  std::string str() const;  // short description: tensor(shape=[2, 3], dtype=float32)

 private:
  [[noreturn]] void throw_no_dense_data() const;  // a kernel asked a row-sparse tensor for its data
  std::shared_ptr<TensorImpl> impl_;
};

// A view that shares t's storage (and version counter) with new shape/strides/offset.
Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset);

}  // namespace backpropx
