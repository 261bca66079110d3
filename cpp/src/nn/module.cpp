// nn::Module: registration, traversal with dotted names, state_dict / load_state_dict, modes.
#include "backpropx/nn/module.h"

#include <unordered_map>
#include <unordered_set>

#include "backpropx/autograd.h"

namespace backpropx::nn {

namespace {

std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

// Replaces what t's handles point at (the Tensor objects stay valid), as Python's Parameter._set_data.
void set_data(const Tensor& t, const Tensor& src) {
  TensorImpl* impl = t.impl();
  if (impl->grad && impl->grad->dtype != src.dtype()) impl->grad.reset();
  impl->storage = src.storage();
  impl->shape = src.shape();
  impl->strides = src.strides();
  impl->offset = src.offset();
  impl->dtype = src.dtype();
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

void Module::check_new_name(const std::string& name) const {
  BPX_CHECK(!name.empty() && name.find('.') == std::string::npos, ValueError, type_name_,
            ": a parameter, buffer or module name must be non-empty and contain no '.', got \"", name, "\"");
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  BPX_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), ValueError, type_name_, ": \"", name,
            "\" is already registered");
}

Tensor Module::register_parameter(const std::string& name, const Tensor& t, bool requires_grad) {
  check_new_name(name);
  Tensor p;
  if (t.defined()) {
    p = t.detach();
    p.set_requires_grad(requires_grad && is_floating(p.dtype()));
  }
  parameters_.emplace_back(name, p);
  return p;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& t, bool persistent) {
  check_new_name(name);
  Tensor b = t.defined() ? t.detach() : Tensor();
  buffers_.emplace_back(name, b);
  if (!persistent) non_persistent_.insert(name);
  return b;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  BPX_CHECK(module != nullptr, ValueError, type_name_, ": register_module(\"", name, "\") got a null module");
  children_.emplace_back(name, std::move(module));
}

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out;
  std::unordered_set<const Module*> seen;
  // Depth first, iteratively (a deep stack of modules must not overflow the C++ stack).
  std::vector<std::pair<std::string, const Module*>> todo{{"", this}};
  while (!todo.empty()) {
    auto [prefix, m] = todo.back();
    todo.pop_back();
    if (!seen.insert(m).second) continue;
    out.emplace_back(prefix, m);
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      todo.emplace_back(join(prefix, it->first), it->second.get());
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  auto modules = recurse ? named_modules() : std::vector<std::pair<std::string, const Module*>>{{"", this}};
  for (const auto& [prefix, m] : modules)
    for (const auto& [name, p] : m->parameters_)
      if (p.defined() && seen.insert(p.impl()).second) out.emplace_back(join(prefix, name), p);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, p] : named_parameters(recurse)) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  auto modules = recurse ? named_modules() : std::vector<std::pair<std::string, const Module*>>{{"", this}};
  for (const auto& [prefix, m] : modules)
    for (const auto& [name, b] : m->buffers_)
      if (b.defined()) out.emplace_back(join(prefix, name), b);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

Tensor Module::get(const std::string& name) const {
  for (const auto& [prefix, m] : named_modules()) {
    for (const auto& list : {&m->parameters_, &m->buffers_})
      for (const auto& [n, t] : *list)
        if (t.defined() && join(prefix, n) == name) return t;
  }
  throw IndexError(cat(type_name_, ": no parameter or buffer called \"", name, "\""));
}

NamedTensors Module::state_dict() const {
  // torch's order: per module (depth first), its parameters then its persistent buffers.
  NamedTensors out;
  for (const auto& [prefix, m] : named_modules()) {
    for (const auto& [name, p] : m->parameters_)
      if (p.defined()) out.emplace_back(join(prefix, name), p.detach());
    for (const auto& [name, b] : m->buffers_)
      if (b.defined() && !m->non_persistent_.count(name)) out.emplace_back(join(prefix, name), b.detach());
  }
  return out;
}

LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  NamedTensors own = state_dict();
  std::unordered_set<std::string> own_names;
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& [name, _] : own) own_names.insert(name);
  LoadResult result;
  std::vector<std::string> errors;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (target, value): copy only when everything checks out
  for (const auto& [name, value] : state) {
    BPX_CHECK(given.emplace(name, &value).second, ValueError, "load_state_dict: the key \"", name, "\" appears twice");
    if (!own_names.count(name)) result.unexpected_keys.push_back(name);
  }
  for (const auto& [name, target] : own) {
    auto found = given.find(name);
    const Tensor* value = found == given.end() ? nullptr : found->second;
    if (!value) {
      result.missing_keys.push_back(name);
      continue;
    }
    if (value->shape() != target.shape()) {
      errors.push_back(cat("size mismatch for ", name, ": copying a param with shape ", shape_str(value->shape()),
                           ", the shape in the current model is ", shape_str(target.shape())));
      continue;
    }
    copies.emplace_back(target, *value);
  }
  if (strict && !result.missing_keys.empty()) {
    std::string keys;
    for (const auto& k : result.missing_keys) keys += (keys.empty() ? "" : ", ") + k;
    errors.push_back("missing keys: " + keys);
  }
  if (strict && !result.unexpected_keys.empty()) {
    std::string keys;
    for (const auto& k : result.unexpected_keys) keys += (keys.empty() ? "" : ", ") + k;
    errors.push_back("unexpected keys: " + keys);
  }
  if (!errors.empty()) {
    std::string msg = "Error(s) in loading state_dict for " + type_name_ + ":";
    for (const auto& e : errors) msg += "\n\t" + e;
    throw RuntimeError(msg);
  }
  NoGradGuard ng;
  for (auto& [target, value] : copies) {
    Tensor t = target;
    t.copy_(value);
  }
  return result;
}

void Module::save(const std::string& path) const { save_safetensors(path, state_dict(), {{"format", "pt"}}); }

LoadResult Module::load(const std::string& path, bool strict) {
  return load_state_dict(load_safetensors(path).tensors, strict);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& p : parameters()) p.set_grad(Tensor());
}

void Module::requires_grad_(bool requires_grad) {
  for (auto& p : parameters()) p.set_requires_grad(requires_grad && is_floating(p.dtype()));
}

void Module::to(DType dtype) {
  BPX_CHECK(is_floating(dtype), TypeError, type_name_, ".to: only float32 and float64 are supported, got ",
            dtype_name(dtype));
  NoGradGuard ng;
  for (auto& p : parameters())
    if (is_floating(p.dtype()) && p.dtype() != dtype) set_data(p, p.detach().to(dtype).contiguous());
  for (auto& [_, b] : named_buffers())
    if (is_floating(b.dtype()) && b.dtype() != dtype) set_data(b, b.detach().to(dtype).contiguous());
}

const std::shared_ptr<Module>& ModuleList::at(size_t i) const {
  BPX_CHECK(i < items_.size(), IndexError, "ModuleList: index ", i, " is out of range for ", items_.size(), " modules");
  return items_[i];
}

}  // namespace backpropx::nn
