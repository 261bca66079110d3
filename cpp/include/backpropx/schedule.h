// Learning-rate schedules (backpropx::optim), with the semantics of Python's bx.optim.lr_scheduler and
// torch.optim.lr_scheduler: a scheduler sets every param group's lr when it is built (step 0) and on each
// step(); last_epoch() counts the step() calls. It keeps a reference to the optimizer, which must outlive it.
//
//   optim::InverseSqrt sched(opt, 4000);
//   for (...) { ...; opt.step(); sched.step(); }
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backpropx/optimizers.h"

namespace backpropx::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;
  // Advances one step and writes the new lrs into the optimizer.
  void step();
  // The lrs set by the last step(), one per param group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  // The number of step() calls since step 0 (the constructor's).
  int64_t last_epoch() const { return last_epoch_; }

 protected:
  // Call start() at the end of the subclass constructor (it runs the first step, as torch).
  explicit LRScheduler(Optimizer& optimizer);
  void start() { step(); }
  // The lrs for last_epoch() (which step() has just advanced).
  virtual std::vector<double> get_lr() const = 0;

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;

 private:
  std::vector<double> last_lr_;
};

// lr = base_lr * lr_lambda(step).
class LambdaLR : public LRScheduler {
 public:
  // One function for every group.
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> lr_lambda);

 protected:
  std::vector<double> get_lr() const override;

 private:
  std::function<double(int64_t)> lr_lambda_;
};

// Multiplies the lr by gamma every step_size steps.
class StepLR : public LRScheduler {
 public:
  // step_size must be positive.
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// Multiplies the lr by gamma every step.
class ExponentialLR : public LRScheduler {
 public:
  // lr_t = lr_(t-1) * gamma.
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> get_lr() const override;

 private:
  double gamma_;
};

// Linear warmup from 0 to the base lr over warmup_steps, then a cosine decay to min_lr at total_steps
// (and min_lr after).
class LinearWarmupCosine : public LRScheduler {
 public:
  // Needs 0 <= warmup_steps <= total_steps and total_steps > 0.
  LinearWarmupCosine(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double min_lr = 0.0);

 protected:
  std::vector<double> get_lr() const override;

 private:
  int64_t warmup_steps_, total_steps_;
  double min_lr_;
};

// The transformer schedule: linear warmup to the base lr over warmup_steps, then base_lr * sqrt(warmup / step).
class InverseSqrt : public LRScheduler {
 public:
  // warmup_steps must be >= 1.
  InverseSqrt(Optimizer& optimizer, int64_t warmup_steps);

 protected:
  std::vector<double> get_lr() const override;

 private:
  int64_t warmup_steps_;
};

// Multiplies the lr by factor when a metric has stopped improving for patience steps (torch semantics:
// threshold_mode "rel" or "abs", cooldown steps after a reduction, lrs never below min_lr, changes smaller
// than eps ignored).
class ReduceLROnPlateau {
 public:
  // mode "min" (lower is better) or "max"; factor < 1.
  explicit ReduceLROnPlateau(Optimizer& optimizer, const std::string& mode = "min", double factor = 0.1,
                             int64_t patience = 10, double threshold = 1e-4, const std::string& threshold_mode = "rel",
                             int64_t cooldown = 0, double min_lr = 0.0, double eps = 1e-8);
  // Feeds one value of the monitored metric.
  void step(double metric);
  // The lrs after the last step(), one per param group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  // The best metric seen so far.
  double best() const { return best_; }
  // The number of step() calls.
  int64_t last_epoch() const { return last_epoch_; }

 private:
  bool is_better(double a, double best) const;

  Optimizer& optimizer_;
  std::string mode_, threshold_mode_;
  double factor_, threshold_, min_lr_, eps_;
  int64_t patience_, cooldown_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace backpropx::optim
