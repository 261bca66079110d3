// Learning-rate schedules with the formulas of python/backpropx/optim/lr_scheduler.py.
#include "backpropx/schedule.h"

#include <algorithm>
#include <cmath>

namespace backpropx::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (auto& g : optimizer_.param_groups()) {
    if (!g.initial_lr) g.initial_lr = g.lr;
    base_lrs_.push_back(*g.initial_lr);
  }
}

void LRScheduler::step() {
  ++last_epoch_;
  std::vector<double> lrs = get_lr();
  auto& groups = optimizer_.param_groups();
  last_lr_.clear();
  for (size_t i = 0; i < groups.size() && i < lrs.size(); ++i) {
    groups[i].lr = lrs[i];
    last_lr_.push_back(lrs[i]);
  }
}

// ---- LambdaLR ---------------------------------------------------------------------------------------

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> lr_lambda)
    : LRScheduler(optimizer), lr_lambda_(std::move(lr_lambda)) {
  BPX_CHECK(static_cast<bool>(lr_lambda_), ValueError, "LambdaLR: lr_lambda is empty");
  start();
}

std::vector<double> LambdaLR::get_lr() const {
  std::vector<double> out;
  for (double base : base_lrs_) out.push_back(base * lr_lambda_(last_epoch_));
  return out;
}

// ---- StepLR / ExponentialLR -------------------------------------------------------------------------

static std::vector<double> current_lrs(const Optimizer& optimizer) {
  std::vector<double> out;
  for (const auto& g : optimizer.param_groups()) out.push_back(*g.lr);
  return out;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  BPX_CHECK(step_size > 0, ValueError, "StepLR: step_size must be a positive integer, got ", step_size);
  start();
}

std::vector<double> StepLR::get_lr() const {
  std::vector<double> lrs = current_lrs(optimizer_);
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) { start(); }

std::vector<double> ExponentialLR::get_lr() const {
  std::vector<double> lrs = current_lrs(optimizer_);
  if (last_epoch_ == 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

// ---- LinearWarmupCosine / InverseSqrt ---------------------------------------------------------------

LinearWarmupCosine::LinearWarmupCosine(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double min_lr)
    : LRScheduler(optimizer), warmup_steps_(warmup_steps), total_steps_(total_steps), min_lr_(min_lr) {
  BPX_CHECK(warmup_steps >= 0 && total_steps > 0 && warmup_steps <= total_steps, ValueError,
            "LinearWarmupCosine: need 0 <= warmup_steps <= total_steps and total_steps > 0, got warmup_steps=",
            warmup_steps, ", total_steps=", total_steps);
  start();
}

std::vector<double> LinearWarmupCosine::get_lr() const {
  const int64_t s = last_epoch_;
  std::vector<double> out;
  if (s < warmup_steps_) {
    for (double base : base_lrs_) out.push_back(base * static_cast<double>(s) / static_cast<double>(warmup_steps_));
    return out;
  }
  const double progress = std::min(1.0, static_cast<double>(s - warmup_steps_) /
                                            static_cast<double>(std::max<int64_t>(1, total_steps_ - warmup_steps_)));
  const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
  for (double base : base_lrs_) out.push_back(min_lr_ + (base - min_lr_) * cosine);
  return out;
}

InverseSqrt::InverseSqrt(Optimizer& optimizer, int64_t warmup_steps)
    : LRScheduler(optimizer), warmup_steps_(warmup_steps) {
  BPX_CHECK(warmup_steps >= 1, ValueError, "InverseSqrt: warmup_steps must be >= 1, got ", warmup_steps);
  start();
}

std::vector<double> InverseSqrt::get_lr() const {
  const int64_t s = last_epoch_;
  std::vector<double> out;
  for (double base : base_lrs_) {
    if (s < warmup_steps_)
      out.push_back(base * static_cast<double>(s) / static_cast<double>(warmup_steps_));
    else
      out.push_back(base * std::sqrt(static_cast<double>(warmup_steps_) / static_cast<double>(s)));
  }
  return out;
}

// ---- ReduceLROnPlateau ------------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const std::string& mode, double factor, int64_t patience,
                                     double threshold, const std::string& threshold_mode, int64_t cooldown,
                                     double min_lr, double eps)
    : optimizer_(optimizer), mode_(mode), threshold_mode_(threshold_mode), factor_(factor), threshold_(threshold),
      min_lr_(min_lr), eps_(eps), patience_(patience), cooldown_(cooldown) {
  BPX_CHECK(factor < 1.0, ValueError, "ReduceLROnPlateau: factor should be < 1.0, got ", factor);
  BPX_CHECK(mode == "min" || mode == "max", ValueError, "ReduceLROnPlateau: mode \"", mode,
            "\" is unknown (use \"min\" or \"max\")");
  BPX_CHECK(threshold_mode == "rel" || threshold_mode == "abs", ValueError, "ReduceLROnPlateau: threshold_mode \"",
            threshold_mode, "\" is unknown (use \"rel\" or \"abs\")");
  best_ = mode == "min" ? INFINITY : -INFINITY;
  last_lr_ = current_lrs(optimizer_);
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  if (mode_ == "min" && threshold_mode_ == "rel") return a < best * (1.0 - threshold_);
  if (mode_ == "min") return a < best - threshold_;
  if (threshold_mode_ == "rel") return a > best * (threshold_ + 1.0);
  return a > best + threshold_;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > patience_) {
    for (auto& g : optimizer_.param_groups()) {
      const double old_lr = *g.lr, new_lr = std::max(old_lr * factor_, min_lr_);
      if (old_lr - new_lr > eps_) g.lr = new_lr;
    }
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
  last_lr_ = current_lrs(optimizer_);
}

}  // namespace backpropx::optim
