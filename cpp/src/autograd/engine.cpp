// The autograd engine: nodes, saved tensors, and the backward pass.
//
// backward() walks the graph twice, both times with explicit stacks (no recursion, so a 20,000-node
// chain is fine): first to count, for every node, how many edges lead into it; then it runs nodes
// in dependency order (a node runs once all gradients for its outputs have arrived), highest
// sequence number first, summing gradients that reach the same output from several paths.
#include <algorithm>
#include <atomic>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "backpropx/sparse.h"
#include "kernel_utils.h"

namespace backpropx {

// ---- grad mode ------------------------------------------------------------------------------------

static thread_local bool t_grad_enabled = true;
bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

// ---- saved tensors --------------------------------------------------------------------------------

SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  BPX_CHECK(!t.is_sparse(), RuntimeError, "autograd: a row-sparse tensor of shape ", shape_str(t.shape()),
            " cannot be saved for backward; call to_dense() first");
  was_defined_ = true;
  data_ = t.detach();
  version_ = t.storage()->version();
}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (!was_defined_) return Tensor();
  BPX_CHECK(data_.defined(), RuntimeError, op,
            ": trying to backward through the graph a second time (or to read saved tensors after "
            "they were freed). Saved tensors are freed after backward(); pass retain_graph=True to the "
            "first backward() to keep them.");
  BPX_CHECK(data_.storage()->version() == version_, RuntimeError,
            "one of the tensors needed for gradient computation has been modified by an in-place "
            "operation: a tensor of shape ", shape_str(data_.shape()), " saved by ", op, " is at version ",
            data_.storage()->version(), "; expected version ", version_, ".");
  return data_;
}

// ---- nodes ----------------------------------------------------------------------------------------

static std::atomic<uint64_t> g_sequence_nr{0};

Node::Node(std::string name, int num_outputs)
    : pre_hooks(num_outputs), retained(num_outputs), output_shapes(num_outputs),
      output_dtypes(num_outputs, DType::Float32), name_(std::move(name)), num_outputs_(num_outputs),
      sequence_nr_(g_sequence_nr++) {}

// Frees the graph below this node iteratively: a node whose last owner is this edge is unhooked
// from its own edges before it dies, so a chain of a million nodes does not recurse a million deep.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> doomed;
  auto collect = [&doomed](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.fn && e.fn.use_count() == 1) doomed.push_back(std::move(e.fn));
    edges.clear();
  };
  collect(next_edges);
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    collect(n->next_edges);
  }  // n dies here with no edges left
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : Node("AccumulateGrad", 1), leaf_(std::move(leaf)) {
  output_shapes[0] = leaf_->shape;
  output_dtypes[0] = leaf_->dtype;
}

TensorList AccumulateGrad::apply(TensorList grads) {
  Tensor g = std::move(grads[0]);
  for (auto& [id, hook] : leaf_->leaf_hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = r;
  }
  if (!g.defined()) return {};
  BPX_CHECK(g.shape() == leaf_->shape, RuntimeError, "AccumulateGrad: gradient of shape ", shape_str(g.shape()),
            " for a leaf of shape ", shape_str(leaf_->shape));
  if (g.is_sparse()) {
    accumulate_sparse(g);
    return {};
  }
  if (g.dtype() != leaf_->dtype) g = g.to(leaf_->dtype);
  Tensor leaf_grad(leaf_->grad);
  if (leaf_grad.defined() && leaf_grad.is_sparse()) {  // sparse .grad + a dense gradient: .grad turns dense
    leaf_->grad = sparse_add(leaf_grad, g).impl_ptr();
    return {};
  }
  if (!leaf_grad.defined()) {
    // Adopt g when nothing else can see its memory; otherwise copy (g may alias a tensor the graph
    // still uses, e.g. an expand's gradient).
    bool sole_owner = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 && g.is_contiguous() &&
                      g.offset() == 0;
    if (sole_owner) {
      leaf_->grad = g.impl_ptr();
    } else {
      Tensor fresh = Tensor::empty(g.shape(), g.dtype());
      copy_strided(g, fresh);
      leaf_->grad = fresh.impl_ptr();
    }
  } else {
    NoGradGuard ng;
    leaf_grad.add_(g);
  }
  return {};
}

// A row-sparse gradient stays sparse in .grad (rows appended) until a dense one joins it.
void AccumulateGrad::accumulate_sparse(const Tensor& g_in) {
  Tensor g = g_in;
  if (g.dtype() != leaf_->dtype)
    g = make_row_sparse(g.sparse_indices(), g.sparse_values().to(leaf_->dtype), g.shape());
  Tensor leaf_grad(leaf_->grad);
  if (!leaf_grad.defined()) {
    // A fresh handle: later accumulations replace its rows, never the caller's.
    leaf_->grad = make_row_sparse(g.sparse_indices(), g.sparse_values(), g.shape()).impl_ptr();
  } else if (leaf_grad.is_sparse()) {
    leaf_->grad = sparse_add(leaf_grad, g).impl_ptr();
  } else {
    add_sparse_into_(leaf_grad, g);
  }
}

TensorList FunctionNode::apply(TensorList grads) {
  BPX_CHECK(!released_, RuntimeError, name(),
            ": trying to backward through the graph a second time (or to read saved tensors after "
            "they were freed). Saved tensors are freed after backward(); pass retain_graph=True to the "
            "first backward() to keep them.");
  return fn_(grads, *this);
}

void FunctionNode::release() {
  released_ = true;
  saved_.clear();
}

Tensor FunctionNode::saved(size_t i) const {
  BPX_CHECK(i < saved_.size(), RuntimeError, name(),
            ": trying to backward through the graph a second time (saved tensors were freed); pass "
            "retain_graph=True to the first backward()");
  return saved_[i].unpack(name());
}

// ---- recording ------------------------------------------------------------------------------------

bool any_requires_grad(std::initializer_list<const Tensor*> tensors) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : tensors)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool any_requires_grad(const TensorList& tensors) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : tensors)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  auto acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = acc;
  }
  return {acc, 0};
}

std::shared_ptr<FunctionNode> record(const std::string& name, const TensorList& inputs, const TensorList& outputs,
                                     FunctionNode::BackwardFn fn) {
  auto node = std::make_shared<FunctionNode>(name, static_cast<int>(outputs.size()), std::move(fn));
  node->next_edges.reserve(inputs.size());
  for (const Tensor& in : inputs) node->next_edges.push_back(gradient_edge(in));
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined()) continue;
    TensorImpl* o = outputs[i].impl();
    o->grad_fn = node;
    o->output_nr = static_cast<int>(i);
    node->output_shapes[i] = o->shape;
    node->output_dtypes[i] = o->dtype;
  }
  return node;
}

// ---- the backward pass ----------------------------------------------------------------------------

namespace {

// True when t's elements fill [offset, offset + numel) exactly once: its strides, sorted, are those of a
// contiguous tensor of the permuted shape (a transposed view of a contiguous buffer, say).
bool is_dense(const Tensor& t) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size)
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.shape()[d] != 1) dims.emplace_back(t.strides()[d], t.shape()[d]);
  std::sort(dims.begin(), dims.end());
  int64_t expected = 1;
  for (const auto& [stride, size] : dims) {
    if (stride != expected) return false;
    expected *= size;
  }
  return true;
}

// a + b for two gradients laid out alike but not contiguously (conv1d's gradient of a transposed
// embedding, say): one flat pass, and the sum keeps their layout instead of a strided walk.
Tensor add_same_layout(const Tensor& a, const Tensor& b) {
  const int64_t n = a.numel();
  Tensor flat = Tensor::empty({n}, a.dtype());
  dispatch_float(a.dtype(), "backward", [&](auto tag) {
    using T = decltype(tag);
    const T *ap = a.data<T>(), *bp = b.data<T>();
    T* op = flat.data<T>();
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) op[i] = ap[i] + bp[i];
    });
  });
  return make_view(flat, a.shape(), a.strides(), 0);
}

void accumulate(Tensor& slot, const Tensor& g) {
  if (!g.defined()) return;
  if (!slot.defined()) {
    slot = g;
  } else if (slot.is_sparse() || g.is_sparse()) {
    slot = sparse_add(slot, g);
  } else if (!slot.is_contiguous() && slot.shape() == g.shape() && slot.strides() == g.strides() &&
             slot.dtype() == g.dtype() && is_floating(slot.dtype()) && is_dense(slot)) {
    slot = add_same_layout(slot, g);
  } else {
    slot = add(slot, g);
  }
}

struct ByNewestFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

// Runs the graph below `roots`. With capture != null, gradients arriving at the captured edges are
// stored there and no leaf .grad is touched (autograd.grad); otherwise AccumulateGrad nodes run.
void run_backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph,
                  std::unordered_map<const Node*, std::vector<std::pair<int, size_t>>>* capture,
                  TensorList* captured) {
  BPX_CHECK(roots.size() == grad_roots.size(), ValueError, "backward: got ", roots.size(), " tensors but ",
            grad_roots.size(), " gradients");
  std::vector<std::pair<Edge, Tensor>> seeds;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    BPX_CHECK(r.defined(), ValueError, "backward: tensor ", i, " is undefined");
    BPX_CHECK(r.requires_grad(), RuntimeError, "backward: element ", i,
              " of tensors does not require grad and does not have a grad_fn");
    Tensor g = grad_roots[i];
    if (!g.defined()) {
      BPX_CHECK(r.numel() == 1, RuntimeError, "backward: grad can be implicitly created only for scalar "
                "outputs; this tensor has shape ", shape_str(r.shape()), ": pass gradient= of that shape");
      g = ones(r.shape(), r.dtype());
    } else {
      BPX_CHECK(g.shape() == r.shape(), ValueError, "backward: gradient has shape ", shape_str(g.shape()),
                " but the tensor has shape ", shape_str(r.shape()));
      if (g.dtype() != r.dtype()) g = g.to(r.dtype());
    }
    seeds.emplace_back(gradient_edge(r), g);
  }

  // Pass 1: count incoming edges of every reachable node (explicit stack).
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (auto& s : seeds)
    if (seen.insert(s.first.fn.get()).second) stack.push_back(s.first.fn.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.fn) continue;
      Node* m = e.fn.get();
      ++deps[m];
      if (seen.insert(m).second) stack.push_back(m);
    }
  }

  // Pass 2: run nodes whose inputs are all in, newest first.
  std::unordered_map<Node*, TensorList> buffers;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep;  // owners while queued
  std::priority_queue<Node*, std::vector<Node*>, ByNewestFirst> ready;
  for (auto& [e, g] : seeds) {
    Node* n = e.fn.get();
    auto& buf = buffers[n];
    if (buf.empty()) buf.resize(n->num_outputs());
    accumulate(buf[e.input_nr], g);
    keep[n] = e.fn;
  }
  for (auto& [n, owner] : keep)
    if (deps[n] == 0) ready.push(n);

  NoGradGuard no_grad;
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    std::shared_ptr<Node> owner = keep[n];
    keep.erase(n);
    TensorList grads = std::move(buffers[n]);
    buffers.erase(n);
    grads.resize(n->num_outputs());

    for (int o = 0; o < n->num_outputs(); ++o) {  // hooks on the node's output tensors
      for (auto& [id, hook] : n->pre_hooks[o]) {
        if (!grads[o].defined()) continue;
        Tensor r = hook(grads[o]);
        if (r.defined()) grads[o] = r;
      }
      auto target = n->retained[o].lock();
      if (target && grads[o].defined()) {
        Tensor copy = to_dense(grads[o]).clone();
        Tensor prev(target->grad);
        target->grad = prev.defined() ? add(prev, copy).impl_ptr() : copy.impl_ptr();
      }
    }

    bool is_accumulator = dynamic_cast<AccumulateGrad*>(n) != nullptr;
    if (capture) {
      auto it = capture->find(n);
      if (it != capture->end())
        for (auto& [out_nr, slot] : it->second) accumulate((*captured)[slot], grads[out_nr]);
    }

    TensorList input_grads;
    bool any = false;
    for (auto& g : grads) any = any || g.defined();
    if (is_accumulator) {
      if (!capture && any) n->apply(std::move(grads));
    } else if (any) {
      for (int o = 0; o < n->num_outputs(); ++o) {
        if (!grads[o].defined() && n->num_outputs() > 1)  // undefined = zeros, for nodes with several outputs
          grads[o] = zeros(n->output_shapes[o], n->output_dtypes[o]);
        if (grads[o].defined() && grads[o].is_sparse()) grads[o] = to_dense(grads[o]);  // kernels read dense data
      }
      input_grads = n->apply(std::move(grads));
      BPX_CHECK(input_grads.size() == n->next_edges.size(), RuntimeError, n->name(), ": backward returned ",
                input_grads.size(), " gradients for ", n->next_edges.size(), " inputs");
      if (!retain_graph) n->release();
    } else if (!retain_graph) {
      n->release();
    }

    for (size_t i = 0; i < n->next_edges.size(); ++i) {
      const Edge& e = n->next_edges[i];
      if (!e.fn) continue;
      Node* m = e.fn.get();
      if (i < input_grads.size() && input_grads[i].defined()) {
        auto& buf = buffers[m];
        if (buf.empty()) buf.resize(m->num_outputs());
        accumulate(buf[e.input_nr], input_grads[i]);
      }
      if (--deps[m] == 0) {
        keep[m] = e.fn;
        ready.push(m);
      }
    }
  }
}

}  // namespace

void backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph) {
  TensorList g = grad_roots;
  g.resize(roots.size());
  run_backward(roots, g, retain_graph, nullptr, nullptr);
}

TensorList grad(const TensorList& roots, const TensorList& inputs, const TensorList& grad_roots, bool retain_graph,
                bool allow_unused) {
  std::unordered_map<const Node*, std::vector<std::pair<int, size_t>>> capture;
  std::vector<std::shared_ptr<Node>> owners;
  for (size_t i = 0; i < inputs.size(); ++i) {
    BPX_CHECK(inputs[i].defined() && inputs[i].requires_grad(), RuntimeError, "grad: input ", i,
              " does not require grad");
    Edge e = gradient_edge(inputs[i]);
    owners.push_back(e.fn);
    capture[e.fn.get()].emplace_back(e.input_nr, i);
  }
  TensorList captured(inputs.size());
  TensorList g = grad_roots;
  g.resize(roots.size());
  run_backward(roots, g, retain_graph, &capture, &captured);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!captured[i].defined()) {
      BPX_CHECK(allow_unused, RuntimeError, "grad: one of the differentiated tensors (input ", i, ", shape ",
                shape_str(inputs[i].shape()), ") appears to not have been used in the graph; pass "
                "allow_unused=True if this is the desired behavior");
    }
  }
  return captured;
}

}  // namespace backpropx
