// Optimizers (backpropx::optim) with torch.optim's names, defaults and update rules: SGD, Adam, AdamW,
// RMSprop, Adagrad, SparseAdam. Each step() runs the core's fused update kernel on every parameter that
// has a gradient (backpropx/optim.h: the same kernels Python's bx.optim calls), so C++ and Python
// training trajectories agree.
//
//   optim::Adam opt(model.parameters(), optim::AdamOptions(1e-3).weight_decay(0.01));
//   loss.backward(); opt.step(); opt.zero_grad();
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backpropx/nn/options.h"
#include "backpropx/serialize.h"
#include "backpropx/tensor.h"

namespace backpropx::optim {

// A group of parameters with its own learning rate (the other hyper-parameters are the optimizer's).
struct ParamGroup {
  // params, with their own lr or (unset) the optimizer's.
  ParamGroup(std::vector<Tensor> params, std::optional<double> lr = std::nullopt)
      : params(std::move(params)), lr(lr) {}
  std::vector<Tensor> params;
  std::optional<double> lr;          // unset: the optimizer's lr (set by the constructor)
  std::optional<double> initial_lr;  // set by the first LR scheduler, as torch's "initial_lr"
};

// Per-parameter state: the step count and up to three buffers (their meaning depends on the optimizer).
struct ParamState {
  int64_t step = 0;
  Tensor buf0, buf1, buf2;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (parameters without one are skipped).
  virtual void step() = 0;
  // Clears the gradients (drops them, or zeroes them in place when set_to_none is false).
  void zero_grad(bool set_to_none = true);
  // The parameter groups (a scheduler changes their lr).
  std::vector<ParamGroup>& param_groups() { return groups_; }
  // The parameter groups, read-only.
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Adds a group; an unset lr takes the optimizer's.
  void add_param_group(ParamGroup group);
  // The learning rate of group i.
  double lr(size_t group = 0) const;
  // Sets the learning rate of every group.
  void set_lr(double lr);
  // The optimizer's name ("SGD", "Adam", ...).
  const std::string& name() const { return name_; }
  // The state tensors and step counts, named "state.{index}.{name}" with parameters indexed in group
  // order (the tensor names Python's bx.save(opt.state_dict()) writes; steps are 0-d int64 tensors here).
  NamedTensors state_dict() const;
  // Restores what state_dict() returned (shapes must match the parameters; RuntimeError otherwise).
  void load_state_dict(const NamedTensors& state);

 protected:
  Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr);
  // The state of parameter p (created empty on first use).
  ParamState& state(const Tensor& p) { return state_[p.impl()]; }
  // The names of the buffers buf0..buf2 in state_dict (empty: unused).
  virtual std::vector<std::string> buffer_names() const = 0;

 private:
  std::string name_;
  double default_lr_;
  std::vector<ParamGroup> groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;  // keyed by the parameters that groups_ keep alive
};

struct SGDOptions {
  // Options with learning rate lr.
  explicit SGDOptions(double lr = 1e-3) : lr_(lr) {}
  BACKPROPX_ARG(double, lr);
  BACKPROPX_ARG(double, momentum) = 0.0;
  BACKPROPX_ARG(double, dampening) = 0.0;
  BACKPROPX_ARG(double, weight_decay) = 0.0;
  BACKPROPX_ARG(bool, nesterov) = false;
  BACKPROPX_ARG(bool, maximize) = false;
};

// Stochastic gradient descent with optional momentum, dampening, nesterov and weight decay (torch.optim.SGD).
class SGD : public Optimizer {
 public:
  // SGD over params (or param groups).
  SGD(std::vector<ParamGroup> groups, const SGDOptions& options);
  // SGD over one group of parameters.
  SGD(const std::vector<Tensor>& params, const SGDOptions& options) : SGD(std::vector<ParamGroup>{{params}}, options) {}
  // One update.
  void step() override;
  SGDOptions options;

 protected:
  std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }
};

struct AdamOptions {
  // Options with learning rate lr.
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  BACKPROPX_ARG(double, lr);
  BACKPROPX_ARG(double, beta1) = 0.9;
  BACKPROPX_ARG(double, beta2) = 0.999;
  BACKPROPX_ARG(double, eps) = 1e-8;
  BACKPROPX_ARG(double, weight_decay) = 0.0;  // AdamW: decoupled, default 1e-2
  BACKPROPX_ARG(bool, amsgrad) = false;
  BACKPROPX_ARG(bool, maximize) = false;
};

// Adam (torch.optim.Adam): L2 weight decay added to the gradient.
class Adam : public Optimizer {
 public:
  // Adam over param groups.
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options);
  // Adam over one group of parameters.
  Adam(const std::vector<Tensor>& params, const AdamOptions& options) : Adam(std::vector<ParamGroup>{{params}}, options) {}
  // One update.
  void step() override;
  AdamOptions options;

 protected:
  Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled);
  std::vector<std::string> buffer_names() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

 private:
  bool decoupled_ = false;
};

// AdamW (torch.optim.AdamW): decoupled weight decay, param *= 1 - lr * weight_decay.
class AdamW : public Adam {
 public:
  // AdamW over param groups; note torch's default weight_decay 1e-2 (AdamW::default_options()).
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& options);
  // AdamW over one group of parameters.
  AdamW(const std::vector<Tensor>& params, const AdamOptions& options)
      : AdamW(std::vector<ParamGroup>{{params}}, options) {}
  // AdamOptions(lr) with torch's AdamW default weight_decay = 1e-2.
  static AdamOptions default_options(double lr = 1e-3) { return AdamOptions(lr).weight_decay(1e-2); }
};

struct RMSpropOptions {
  // Options with learning rate lr.
  explicit RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
  BACKPROPX_ARG(double, lr);
  BACKPROPX_ARG(double, alpha) = 0.99;
  BACKPROPX_ARG(double, eps) = 1e-8;
  BACKPROPX_ARG(double, weight_decay) = 0.0;
  BACKPROPX_ARG(double, momentum) = 0.0;
  BACKPROPX_ARG(bool, centered) = false;
  BACKPROPX_ARG(bool, maximize) = false;
};

// RMSprop (torch.optim.RMSprop): optional momentum, centered variance and L2 weight decay.
class RMSprop : public Optimizer {
 public:
  // RMSprop over param groups.
  RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options);
  // RMSprop over one group of parameters.
  RMSprop(const std::vector<Tensor>& params, const RMSpropOptions& options)
      : RMSprop(std::vector<ParamGroup>{{params}}, options) {}
  // One update.
  void step() override;
  RMSpropOptions options;

 protected:
  std::vector<std::string> buffer_names() const override { return {"square_avg", "momentum_buffer", "grad_avg"}; }
};

struct AdagradOptions {
  // Options with learning rate lr.
  explicit AdagradOptions(double lr = 1e-2) : lr_(lr) {}
  BACKPROPX_ARG(double, lr);
  BACKPROPX_ARG(double, lr_decay) = 0.0;
  BACKPROPX_ARG(double, weight_decay) = 0.0;
  BACKPROPX_ARG(double, initial_accumulator_value) = 0.0;
  BACKPROPX_ARG(double, eps) = 1e-10;
  BACKPROPX_ARG(bool, maximize) = false;
};

// Adagrad (torch.optim.Adagrad): per-element rates lr / (1 + (step - 1) lr_decay) / sqrt(sum g^2).
class Adagrad : public Optimizer {
 public:
  // Adagrad over param groups.
  Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options);
  // Adagrad over one group of parameters.
  Adagrad(const std::vector<Tensor>& params, const AdagradOptions& options)
      : Adagrad(std::vector<ParamGroup>{{params}}, options) {}
  // One update.
  void step() override;
  AdagradOptions options;

 protected:
  std::vector<std::string> buffer_names() const override { return {"sum"}; }
};

// SparseAdam (torch.optim.SparseAdam): lazy Adam on the rows of row-sparse gradients (Embedding with
// sparse(true)); a dense gradient raises. Uses AdamOptions' lr, betas, eps and maximize.
class SparseAdam : public Optimizer {
 public:
  // SparseAdam over param groups.
  SparseAdam(std::vector<ParamGroup> groups, const AdamOptions& options);
  // SparseAdam over one group of parameters.
  SparseAdam(const std::vector<Tensor>& params, const AdamOptions& options)
      : SparseAdam(std::vector<ParamGroup>{{params}}, options) {}
  // One update.
  void step() override;
  AdamOptions options;

 protected:
  std::vector<std::string> buffer_names() const override { return {"exp_avg", "exp_avg_sq"}; }
};

}  // namespace backpropx::optim
