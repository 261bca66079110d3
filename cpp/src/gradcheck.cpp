// Gradient check: the Jacobian from autograd (one backward per output element) against central
// finite differences in float64 (two forwards per input element), compared element by element.
#include "backpropx/gradcheck.h"

#include "backpropx/sparse.h"

#include <cmath>
#include <sstream>

#include "backpropx/ops.h"

namespace backpropx {

namespace {

// Multi-index of flat element j of shape, as "[i, j, k]".
std::string index_str(const Shape& shape, int64_t j) {
  Shape idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = shape[d] ? j % shape[d] : 0;
    j = shape[d] ? j / shape[d] : 0;
  }
  return shape_str(idx);
}

// Pointer to flat element j of t (any strides).
double* element_ptr(const Tensor& t, int64_t j) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (j % t.shape()[d]) * t.strides()[d];
    j /= t.shape()[d];
  }
  return t.data<double>() + off;
}

// All float outputs flattened into one vector of doubles.
std::vector<double> flat_outputs(const TensorList& outs) {
  std::vector<double> v;
  for (const Tensor& o : outs) {
    if (!o.defined() || !is_floating(o.dtype())) continue;
    Tensor c = o.to(DType::Float64).contiguous();
    const double* p = c.data<double>();
    v.insert(v.end(), p, p + c.numel());
  }
  return v;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const TensorList& inputs, double eps, double atol, double rtol) {
  GradcheckResult result;
  std::vector<size_t> diff_inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    BPX_CHECK(inputs[i].dtype() == DType::Float64, TypeError, "gradcheck: input ", i, " is ",
              dtype_name(inputs[i].dtype()), "; gradcheck needs float64 inputs (finite differences in float32 are "
              "too coarse)");
    diff_inputs.push_back(i);
  }
  BPX_CHECK(!diff_inputs.empty(), ValueError, "gradcheck: no input requires grad; nothing to check");

  // Analytic Jacobian: row r = d(output element r) / d(inputs), one backward per output element.
  TensorList outs;
  {
    outs = fn(inputs);
  }
  std::vector<std::pair<size_t, int64_t>> out_elems;  // (output tensor, element)
  for (size_t k = 0; k < outs.size(); ++k)
    if (outs[k].defined() && is_floating(outs[k].dtype()))
      for (int64_t m = 0; m < outs[k].numel(); ++m) out_elems.emplace_back(k, m);
  const size_t M = out_elems.size();
  TensorList wrt;
  for (size_t i : diff_inputs) wrt.push_back(inputs[i]);
  TensorList roots;
  std::vector<size_t> root_of(outs.size(), SIZE_MAX);
  for (size_t k = 0; k < outs.size(); ++k)
    if (outs[k].defined() && is_floating(outs[k].dtype()) && outs[k].requires_grad()) {
      root_of[k] = roots.size();
      roots.push_back(outs[k]);
    }
  // analytic[i][j * M + r]
  std::vector<std::vector<double>> analytic(diff_inputs.size());
  for (size_t a = 0; a < diff_inputs.size(); ++a) analytic[a].assign(wrt[a].numel() * M, 0.0);
  for (size_t r = 0; r < M && !roots.empty(); ++r) {
    auto [k, m] = out_elems[r];
    if (root_of[k] == SIZE_MAX) continue;
    TensorList seeds;
    for (const Tensor& root : roots) seeds.push_back(zeros(root.shape(), root.dtype()));
    Tensor& seed = seeds[root_of[k]];
    dispatch_float(seed.dtype(), "gradcheck", [&](auto tag) {
      using T = decltype(tag);
      seed.data<T>()[m] = T(1);
    });
    TensorList gs = grad(roots, wrt, seeds, /*retain_graph=*/true, /*allow_unused=*/true);
    for (Tensor& g : gs) g = to_dense(g);  // a sparse embedding's row-sparse gradient, compared densely
    for (size_t a = 0; a < wrt.size(); ++a) {
      if (!gs[a].defined()) continue;
      BPX_CHECK(gs[a].shape() == wrt[a].shape(), RuntimeError, "gradcheck: gradient for input ", diff_inputs[a],
                " has shape ", shape_str(gs[a].shape()), " but the input has shape ", shape_str(wrt[a].shape()));
      Tensor gc = gs[a].to(DType::Float64).contiguous();
      const double* p = gc.data<double>();
      for (int64_t j = 0; j < gc.numel(); ++j) analytic[a][j * M + r] = p[j];
    }
  }

  // Numerical Jacobian by central differences, and the comparison.
  NoGradGuard ng;
  double worst_excess = -1;
  std::string worst;
  for (size_t a = 0; a < wrt.size(); ++a) {
    const Tensor& x = wrt[a];
    for (int64_t j = 0; j < x.numel(); ++j) {
      double* p = element_ptr(x, j);
      double orig = *p;
      *p = orig + eps;
      std::vector<double> plus = flat_outputs(fn(inputs));
      *p = orig - eps;
      std::vector<double> minus = flat_outputs(fn(inputs));
      *p = orig;
      BPX_CHECK(plus.size() == M && minus.size() == M, RuntimeError,
                "gradcheck: the function returned a different number of output elements when an input changed");
      for (size_t r = 0; r < M; ++r) {
        double numeric = (plus[r] - minus[r]) / (2 * eps);
        double an = analytic[a][j * M + r];
        double err = std::fabs(an - numeric);
        double tol = atol + rtol * std::fabs(numeric);
        result.max_abs_error = std::max(result.max_abs_error, std::isnan(err) ? INFINITY : err);
        bool bad = !(err <= tol) && !(std::isnan(an) && std::isnan(numeric));
        double excess = std::isnan(err) ? INFINITY : err - tol;
        if (bad && excess > worst_excess) {
          worst_excess = excess;
          auto [k, m] = out_elems[r];
          std::ostringstream os;
          os.precision(10);
          os << "gradcheck: Jacobian mismatch for output " << k << " with respect to input " << diff_inputs[a]
             << ": worst element d output[" << k << "]" << index_str(outs[k].shape(), m) << " / d input["
             << diff_inputs[a] << "]" << index_str(x.shape(), j) << ": analytic " << an << " vs numeric " << numeric
             << " (|diff| " << err << " > atol + rtol*|numeric| = " << tol << ")";
          worst = os.str();
        }
      }
    }
  }
  if (worst_excess >= 0) {
    result.ok = false;
    result.message = worst;
  }
  return result;
}

}  // namespace backpropx
