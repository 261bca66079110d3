// nn::Module: the base class of every layer and model. It holds named parameters, buffers and child
// modules in registration order, and gives torch's names to everything: named_parameters() and
// state_dict() say "encoder.layers.0.linear1.weight", so a file written by Python's
// bx.save(model.state_dict()) loads with load() into the C++ model of the same structure.
//
//   struct Net : nn::Module {
//     std::shared_ptr<nn::Linear> fc;
//     Net() : Module("Net") { fc = register_module("fc", std::make_shared<nn::Linear>(4, 2)); }
//     Tensor forward(const Tensor& x) { return fc->forward(x); }
//   };
//
// A registered Tensor and the member that holds it are two handles of one tensor: load_state_dict, to()
// and the optimizers change it in place, so both see every change. Reassigning the member (weight = ...)
// would break that link; copy into it instead (weight.copy_(...) under NoGradGuard).
#pragma once
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backpropx/serialize.h"
#include "backpropx/tensor.h"

namespace backpropx::nn {

// What load_state_dict found missing (in the model, not in the file) and unexpected (in the file only).
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module {
 public:
  // A module named type_name in messages ("Linear", "Net").
  explicit Module(std::string type_name = "Module");
  virtual ~Module() = default;
  Module(const Module&) = delete;             // parameters are shared handles: a copy would alias them
  Module& operator=(const Module&) = delete;

  // The class name used in messages ("Linear", "LSTM", your model's name).
  const std::string& type_name() const { return type_name_; }

  // ---- registration --------------------------------------------------------------------------------
  // Makes t (detached, a leaf) a parameter called name and returns the handle; an undefined t records an
  // absent parameter (bias=false), which state_dict skips as torch does.
  Tensor register_parameter(const std::string& name, const Tensor& t, bool requires_grad = true);
  // Registers state that is not a parameter (persistent buffers are saved in state_dict).
  Tensor register_buffer(const std::string& name, const Tensor& t, bool persistent = true);
  // Adds a child module under name and returns it, so members read `fc = register_module("fc", ...)`.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- traversal ----------------------------------------------------------------------------------
  // (dotted name, parameter) pairs in registration order, each parameter once even when shared.
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  // The parameters of named_parameters(), for an optimizer.
  std::vector<Tensor> parameters(bool recurse = true) const;
  // (dotted name, buffer) pairs, persistent or not.
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  // The direct children in registration order.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // Every module of the tree, this one first (name ""), depth first.
  std::vector<std::pair<std::string, const Module*>> named_modules() const;
  // The parameter or buffer called name ("layers.0.linear1.weight"); raises IndexError if there is none.
  Tensor get(const std::string& name) const;

  // ---- state --------------------------------------------------------------------------------------
  // name -> tensor (detached) for every parameter and persistent buffer, in torch's order and names.
  NamedTensors state_dict() const;
  // Copies values into the parameters and buffers (in place, no gradient). Raises RuntimeError on shape
  // mismatches and, when strict, on missing or unexpected keys (the message lists them all, as torch's).
  LoadResult load_state_dict(const NamedTensors& state, bool strict = true);
  // Writes state_dict() to a safetensors file (what Python's bx.save(model.state_dict(), path) writes).
  void save(const std::string& path) const;
  // Reads a safetensors file (from save(), bx.save or safetensors.torch.save_file) into the model.
  LoadResult load(const std::string& path, bool strict = true);

  // ---- modes --------------------------------------------------------------------------------------
  // Training mode (dropout on) for this module and every descendant; eval() is train(false).
  void train(bool on = true);
  // Evaluation mode: dropout off.
  void eval() { train(false); }
  // True in training mode.
  bool is_training() const { return training_; }
  // Clears every parameter's gradient.
  void zero_grad();
  // Freezes (false) or unfreezes every parameter.
  void requires_grad_(bool requires_grad = true);
  // Converts every floating parameter and buffer to dtype in place (the handles stay valid).
  void to(DType dtype);

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::set<std::string> non_persistent_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Children named "0", "1", ... in order (torch.nn.ModuleList): `layers.0.weight`.
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  // Appends module as child str(size()) and returns it.
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    items_.push_back(module);
    return register_module(std::to_string(items_.size() - 1), std::move(module));
  }
  // The number of modules.
  size_t size() const { return items_.size(); }
  // The i-th module (IndexError when out of range).
  const std::shared_ptr<Module>& at(size_t i) const;

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

}  // namespace backpropx::nn
