// Optimizer classes over the fused update kernels of optim.cpp, with torch.optim's semantics.
#include "backpropx/optimizers.h"

#include <unordered_map>
#include <unordered_set>

#include "backpropx/autograd.h"
#include "backpropx/ops/factory.h"
#include "backpropx/optim.h"

namespace backpropx::optim {

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr)
    : name_(std::move(name)), default_lr_(default_lr) {
  BPX_CHECK(default_lr >= 0, ValueError, name_, ": invalid learning rate ", default_lr);
  BPX_CHECK(!groups.empty(), ValueError, name_, ": got an empty parameter list");
  for (auto& g : groups) add_param_group(std::move(g));
}

void Optimizer::add_param_group(ParamGroup group) {
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.impl());
  for (const auto& p : group.params) {
    BPX_CHECK(p.defined(), ValueError, name_, ": a parameter is an undefined tensor");
    BPX_CHECK(p.is_leaf(), ValueError, name_, ": can't optimize a non-leaf tensor");
    BPX_CHECK(seen.insert(p.impl()).second, ValueError, name_,
              ": some parameters appear in more than one parameter group (or twice in one)");
  }
  if (!group.lr) group.lr = default_lr_;
  groups_.push_back(std::move(group));
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& g : groups_)
    for (auto& p : g.params) {
      if (!p.grad().defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
      } else {
        NoGradGuard ng;
        Tensor grad = p.grad();
        grad.zero_();
      }
    }
}

double Optimizer::lr(size_t group) const {
  BPX_CHECK(group < groups_.size(), IndexError, name_, ": no parameter group ", group, " (there are ", groups_.size(), ")");
  return *groups_[group].lr;
}

void Optimizer::set_lr(double lr) {
  for (auto& g : groups_) g.lr = lr;
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  std::vector<std::string> names = buffer_names();
  int64_t index = 0;
  for (const auto& g : groups_)
    for (const auto& p : g.params) {
      auto it = state_.find(p.impl());
      if (it != state_.end()) {
        const ParamState& s = it->second;
        const std::string prefix = "state." + std::to_string(index) + ".";
        out.emplace_back(prefix + "step", full({}, static_cast<double>(s.step), DType::Int64));
        const Tensor* bufs[] = {&s.buf0, &s.buf1, &s.buf2};
        for (size_t i = 0; i < names.size() && i < 3; ++i)
          if (bufs[i]->defined()) out.emplace_back(prefix + names[i], bufs[i]->detach());
      }
      ++index;
    }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  std::unordered_map<std::string, Tensor> by_name(state.begin(), state.end());
  std::vector<std::string> names = buffer_names();
  int64_t index = 0;
  std::unordered_map<const TensorImpl*, ParamState> loaded;
  for (const auto& g : groups_)
    for (const auto& p : g.params) {
      const std::string prefix = "state." + std::to_string(index++) + ".";
      auto step = by_name.find(prefix + "step");
      if (step == by_name.end()) continue;
      ParamState s;
      s.step = static_cast<int64_t>(step->second.item());
      Tensor* bufs[] = {&s.buf0, &s.buf1, &s.buf2};
      for (size_t i = 0; i < names.size() && i < 3; ++i) {
        auto it = by_name.find(prefix + names[i]);
        if (it == by_name.end()) continue;
        BPX_CHECK(it->second.shape() == p.shape(), RuntimeError, name_, ".load_state_dict: state ", prefix, names[i],
                  " has shape ", shape_str(it->second.shape()), " but its parameter has shape ", shape_str(p.shape()));
        Tensor copy = Tensor::empty(p.shape(), p.dtype());
        NoGradGuard ng;
        copy.copy_(it->second);
        *bufs[i] = copy;
      }
      loaded[p.impl()] = s;
    }
  state_ = std::move(loaded);
}

// ---- SGD --------------------------------------------------------------------------------------------

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& o) : Optimizer("SGD", std::move(groups), o.lr()), options(o) {
  BPX_CHECK(o.momentum() >= 0 && o.weight_decay() >= 0, ValueError, "SGD: invalid momentum=", o.momentum(),
            " or weight_decay=", o.weight_decay());
  BPX_CHECK(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0), ValueError,
            "SGD: nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  NoGradGuard ng;
  for (auto& g : param_groups())
    for (auto& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& s = state(p);
      const bool first = !s.buf0.defined();
      if (options.momentum() != 0 && first) s.buf0 = zeros(p.shape(), p.dtype());
      Tensor param = p;
      sgd_step(param, grad, s.buf0, *g.lr, options.momentum(), options.dampening(), options.weight_decay(),
               options.nesterov(), options.maximize(), first);
      ++s.step;
    }
}

// ---- Adam / AdamW -----------------------------------------------------------------------------------

static void check_adam(const std::string& name, const AdamOptions& o) {
  BPX_CHECK(o.eps() >= 0 && o.weight_decay() >= 0 && 0 <= o.beta1() && o.beta1() < 1 && 0 <= o.beta2() && o.beta2() < 1,
            ValueError, name, ": invalid eps=", o.eps(), ", weight_decay=", o.weight_decay(), " or betas=(", o.beta1(),
            ", ", o.beta2(), ")");
}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& o) : Adam("Adam", std::move(groups), o, false) {}

Adam::Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& o, bool decoupled)
    : Optimizer(name, std::move(groups), o.lr()), options(o), decoupled_(decoupled) {
  check_adam(name, o);
}

void Adam::step() {
  NoGradGuard ng;
  for (auto& g : param_groups()) {  // each group in one call: one parallel loop over all its parameters
    std::vector<Tensor> params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq;
    std::vector<int64_t> steps;
    std::vector<ParamState*> states;
    for (auto& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& s = state(p);
      if (!s.buf0.defined()) {
        s.buf0 = zeros(p.shape(), p.dtype());
        s.buf1 = zeros(p.shape(), p.dtype());
      }
      if (options.amsgrad() && !s.buf2.defined()) s.buf2 = zeros(p.shape(), p.dtype());
      params.push_back(p);
      grads.push_back(grad);
      exp_avg.push_back(s.buf0);
      exp_avg_sq.push_back(s.buf1);
      if (options.amsgrad()) max_exp_avg_sq.push_back(s.buf2);
      steps.push_back(s.step + 1);
      states.push_back(&s);
    }
    if (params.empty()) continue;
    adam_step_multi(params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq, steps, *g.lr, options.beta1(),
                    options.beta2(), options.eps(), options.weight_decay(), decoupled_, options.amsgrad(),
                    options.maximize());
    for (ParamState* s : states) ++s->step;  // counted once the update went through
  }
}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamOptions& o) : Adam("AdamW", std::move(groups), o, true) {}

// ---- RMSprop ----------------------------------------------------------------------------------------

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& o)
    : Optimizer("RMSprop", std::move(groups), o.lr()), options(o) {
  BPX_CHECK(o.eps() >= 0 && o.momentum() >= 0 && o.weight_decay() >= 0 && o.alpha() >= 0, ValueError,
            "RMSprop: invalid alpha=", o.alpha(), ", eps=", o.eps(), ", momentum=", o.momentum(), " or weight_decay=",
            o.weight_decay());
}

void RMSprop::step() {
  NoGradGuard ng;
  for (auto& g : param_groups())
    for (auto& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& s = state(p);
      if (!s.buf0.defined()) s.buf0 = zeros(p.shape(), p.dtype());
      if (options.momentum() > 0 && !s.buf1.defined()) s.buf1 = zeros(p.shape(), p.dtype());
      if (options.centered() && !s.buf2.defined()) s.buf2 = zeros(p.shape(), p.dtype());
      ++s.step;
      Tensor param = p, none_mom, none_avg;
      rmsprop_step(param, grad, s.buf0, options.momentum() > 0 ? s.buf1 : none_mom,
                   options.centered() ? s.buf2 : none_avg, *g.lr, options.alpha(), options.eps(),
                   options.weight_decay(), options.momentum(), options.centered(), options.maximize());
    }
}

// ---- Adagrad ----------------------------------------------------------------------------------------

Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& o)
    : Optimizer("Adagrad", std::move(groups), o.lr()), options(o) {
  BPX_CHECK(o.lr_decay() >= 0 && o.weight_decay() >= 0 && o.initial_accumulator_value() >= 0 && o.eps() >= 0, ValueError,
            "Adagrad: invalid lr_decay=", o.lr_decay(), ", weight_decay=", o.weight_decay(),
            ", initial_accumulator_value=", o.initial_accumulator_value(), " or eps=", o.eps());
  for (auto& g : param_groups())  // torch creates Adagrad's state eagerly
    for (auto& p : g.params) state(p).buf0 = full(p.shape(), o.initial_accumulator_value(), p.dtype());
}

void Adagrad::step() {
  NoGradGuard ng;
  for (auto& g : param_groups())
    for (auto& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& s = state(p);
      if (!s.buf0.defined()) s.buf0 = full(p.shape(), options.initial_accumulator_value(), p.dtype());
      ++s.step;
      Tensor param = p;
      adagrad_step(param, grad, s.buf0, s.step, *g.lr, options.lr_decay(), options.weight_decay(), options.eps(),
                   options.maximize());
    }
}

// ---- SparseAdam -------------------------------------------------------------------------------------

SparseAdam::SparseAdam(std::vector<ParamGroup> groups, const AdamOptions& o)
    : Optimizer("SparseAdam", std::move(groups), o.lr()), options(o) {
  check_adam("SparseAdam", o);
}

void SparseAdam::step() {
  NoGradGuard ng;
  for (auto& g : param_groups())
    for (auto& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ParamState& s = state(p);
      if (!s.buf0.defined()) {
        s.buf0 = zeros(p.shape(), p.dtype());
        s.buf1 = zeros(p.shape(), p.dtype());
      }
      ++s.step;
      Tensor param = p;
      sparse_adam_step(param, grad, s.buf0, s.buf1, s.step, *g.lr, options.beta1(), options.beta2(), options.eps(),
                       options.maximize());
    }
}

}  // namespace backpropx::optim
