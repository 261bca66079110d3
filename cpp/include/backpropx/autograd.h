// Reverse-mode autograd: the tape is a graph of Nodes built during the forward pass.
// Each op that needs a gradient creates one Node holding what its backward needs (SavedTensor,
// version-checked) and a backward function written by hand next to the op's forward kernel.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx {

// Grad mode: a thread-local switch; NoGradGuard turns recording off for its scope.
bool grad_enabled();
void set_grad_enabled(bool enabled);
struct NoGradGuard {
  bool prev;
  NoGradGuard() : prev(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev); }
};

struct Edge {
  std::shared_ptr<Node> fn;  // null: this input needs no gradient
  int input_nr = 0;          // which output of fn the gradient belongs to
};

// A tensor saved for backward: data without history, and the storage version at save time.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor unpack(const std::string& op) const;  // raises if the storage was modified in place since
  void reset() { data_ = Tensor(); }

 private:
  Tensor data_;
  uint64_t version_ = 0;
  bool was_defined_ = false;  // saving an undefined tensor (an absent optional input) is allowed
};

using TensorList = std::vector<Tensor>;

class Node {
 public:
  explicit Node(std::string name, int num_outputs = 1);
  virtual ~Node();  // iterative: destroying a long chain does not recurse
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  int num_outputs() const { return num_outputs_; }
  uint64_t sequence_nr() const { return sequence_nr_; }

  // Gradients w.r.t. this node's inputs (one per next edge; undefined = zero), given the gradients
  // w.r.t. its outputs (undefined = zero).
  virtual TensorList apply(TensorList grad_outputs) = 0;
  // Frees what backward needed (after a backward without retain_graph).
  virtual void release() { released_ = true; }
  bool released() const { return released_; }

  std::vector<Edge> next_edges;
  std::vector<std::vector<std::pair<int, TensorHook>>> pre_hooks;  // per output: hooks on that tensor
  std::vector<std::weak_ptr<TensorImpl>> retained;                // per output: retain_grad() targets
  std::vector<Shape> output_shapes;                                 // per output, for zero-filling
  std::vector<DType> output_dtypes;

 protected:
  bool released_ = false;

 private:
  std::string name_;
  int num_outputs_;
  uint64_t sequence_nr_;
};

// The node that ends every path to a leaf: adds the gradient into leaf.grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  TensorList apply(TensorList grad_outputs) override;
  void release() override {}  // a leaf accumulator can be reused by any later graph
  const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }

 private:
  void accumulate_sparse(const Tensor& g);

  std::shared_ptr<TensorImpl> leaf_;
};

// The usual node: the backward is a function (written beside the op's forward) that reads the
// saved tensors through node.saved(i).
class FunctionNode : public Node {
 public:
  using BackwardFn = std::function<TensorList(const TensorList& grads, FunctionNode& node)>;
  FunctionNode(std::string name, int num_outputs, BackwardFn fn) : Node(std::move(name), num_outputs), fn_(std::move(fn)) {}
  TensorList apply(TensorList grad_outputs) override;
  void release() override;
  void save(const Tensor& t) { saved_.emplace_back(t); }
  Tensor saved(size_t i) const;  // raises a clear error if freed or modified in place

 private:
  BackwardFn fn_;
  std::vector<SavedTensor> saved_;
};

// True when grad mode is on and any of the tensors requires grad.
bool any_requires_grad(std::initializer_list<const Tensor*> tensors);
bool any_requires_grad(const TensorList& tensors);

// The edge a gradient for t flows into (grad_fn of a non-leaf, the accumulator of a leaf).
Edge gradient_edge(const Tensor& t);

// Records an op: creates a FunctionNode with edges to the inputs and makes it the grad_fn of the
// outputs. Returns the node so the caller can save tensors. Call only when any_requires_grad().
std::shared_ptr<FunctionNode> record(const std::string& name, const TensorList& inputs,
                                     const TensorList& outputs, FunctionNode::BackwardFn fn);

// Backward from roots (seeded with grad_roots; undefined = ones for one-element roots).
void backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph);

// Gradients of roots w.r.t. inputs, without touching any .grad. allow_unused: an input that roots do
// not depend on gives an undefined tensor instead of an error.
TensorList grad(const TensorList& roots, const TensorList& inputs, const TensorList& grad_roots,
                bool retain_graph, bool allow_unused);

}  // namespace backpropx
