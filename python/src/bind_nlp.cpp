// NLP ops as bx.<op> (torch.nn.functional's names, argument names, order and defaults) and the
// Tensor methods softmax / log_softmax: embedding, softmax, log_softmax, cross_entropy, nll_loss,
// mse_loss, binary_cross_entropy_with_logits, dropout, layer_norm.
#include "bind_common.h"

namespace backpropx::python {

namespace {

void warn(const std::string& msg, const char* category = "UserWarning") {
  py::module_::import("warnings").attr("warn")(msg, py::module_::import("builtins").attr(category), 3);
}

// torch's legacy size_average / reduce arguments, when given, decide the reduction.
Reduction reduction_of(py::object size_average, py::object reduce, const std::string& reduction, const char* op) {
  if (size_average.is_none() && reduce.is_none()) return parse_reduction(reduction, op);
  bool sa = size_average.is_none() ? true : size_average.cast<bool>();
  bool rd = reduce.is_none() ? true : reduce.cast<bool>();
  const char* r = sa && rd ? "mean" : rd ? "sum" : "none";
  warn(cat(op, ": size_average and reduce args are deprecated, please use reduction='", r, "' instead."));
  return parse_reduction(r, op);
}

Tensor opt(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

int64_t require_dim(py::object dim, const char* op) {
  BPX_CHECK(!dim.is_none(), TypeError, op, "(): dim is required (the implicit choice of dim is deprecated in "
            "torch and not supported here); pass dim=-1 for the last dim");
  return dim.cast<int64_t>();
}

Tensor with_dtype(const Tensor& x, py::object dtype) {
  if (dtype.is_none()) return x;
  return x.to(dtype_from_py(dtype, x.dtype()));
}

Shape as_normalized_shape(py::object s) {
  if (py::isinstance<py::int_>(s)) return {s.cast<int64_t>()};
  return s.cast<Shape>();
}

}  // namespace

void bind_nlp(py::module_& m) {
  using namespace py::literals;
  auto& cls = tensor_class();

  def_op(m, "embedding",
         [](const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx, py::object max_norm,
            double norm_type, bool scale_grad_by_freq, bool sparse) {
           BPX_CHECK(max_norm.is_none(), NotImplementedError, "embedding: max_norm is not supported");
           BPX_CHECK(!scale_grad_by_freq, NotImplementedError, "embedding: scale_grad_by_freq is not supported");
           return embedding(input, weight, padding_idx, sparse);
         },
         "input"_a, "weight"_a, "padding_idx"_a = py::none(), "max_norm"_a = py::none(), "norm_type"_a = 2.0,
         "scale_grad_by_freq"_a = false, "sparse"_a = false);

  def_op(m, "embedding_bag",
         [](const Tensor& input, const Tensor& weight, std::optional<Tensor> offsets, py::object max_norm,
            double norm_type, bool scale_grad_by_freq, const std::string& mode, bool sparse,
            std::optional<Tensor> per_sample_weights, bool include_last_offset, std::optional<int64_t> padding_idx) {
           BPX_CHECK(max_norm.is_none() && !scale_grad_by_freq && !sparse, NotImplementedError,
                     "embedding_bag: max_norm, scale_grad_by_freq and sparse are not supported");
           return embedding_bag(input, weight, offsets.value_or(Tensor()), mode, per_sample_weights.value_or(Tensor()),
                                include_last_offset, padding_idx);
         },
         "input"_a, "weight"_a, "offsets"_a = py::none(), "max_norm"_a = py::none(), "norm_type"_a = 2.0,
         "scale_grad_by_freq"_a = false, "mode"_a = "mean", "sparse"_a = false, "per_sample_weights"_a = py::none(),
         "include_last_offset"_a = false, "padding_idx"_a = py::none());

  auto softmax_fn = [](const Tensor& x, py::object dim, py::object stacklevel, py::object dtype) {
    return softmax(with_dtype(x, dtype), require_dim(dim, "softmax"));
  };
  auto log_softmax_fn = [](const Tensor& x, py::object dim, py::object stacklevel, py::object dtype) {
    return log_softmax(with_dtype(x, dtype), require_dim(dim, "log_softmax"));
  };
  def_op(m, "softmax", softmax_fn, "input"_a, "dim"_a = py::none(), "_stacklevel"_a = 3, "dtype"_a = py::none());
  def_op(m, "log_softmax", log_softmax_fn, "input"_a, "dim"_a = py::none(), "_stacklevel"_a = 3, "dtype"_a = py::none());
  cls.def("softmax", [](const Tensor& x, int64_t dim, py::object dtype) { return softmax(with_dtype(x, dtype), dim); },
          "dim"_a, "dtype"_a = py::none())
      .def("log_softmax", [](const Tensor& x, int64_t dim, py::object dtype) {
        return log_softmax(with_dtype(x, dtype), dim);
      }, "dim"_a, "dtype"_a = py::none());

  def_op(m, "cross_entropy",
         [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, py::object size_average,
            int64_t ignore_index, py::object reduce, const std::string& reduction, double label_smoothing) {
           Reduction r = reduction_of(size_average, reduce, reduction, "cross_entropy");
           return cross_entropy(input, target, opt(weight), ignore_index, r, label_smoothing);
         },
         "input"_a, "target"_a, "weight"_a = py::none(), "size_average"_a = py::none(), "ignore_index"_a = -100,
         "reduce"_a = py::none(), "reduction"_a = "mean", "label_smoothing"_a = 0.0);

  def_op(m, "nll_loss",
         [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, py::object size_average,
            int64_t ignore_index, py::object reduce, const std::string& reduction) {
           Reduction r = reduction_of(size_average, reduce, reduction, "nll_loss");
           return nll_loss(input, target, opt(weight), ignore_index, r);
         },
         "input"_a, "target"_a, "weight"_a = py::none(), "size_average"_a = py::none(), "ignore_index"_a = -100,
         "reduce"_a = py::none(), "reduction"_a = "mean");

  def_op(m, "mse_loss",
         [](const Tensor& input, const Tensor& target, py::object size_average, py::object reduce,
            const std::string& reduction) {
           Reduction r = reduction_of(size_average, reduce, reduction, "mse_loss");
           Tensor out = mse_loss(input, target, r);  // raises first when the shapes do not broadcast
           if (input.shape() != target.shape())
             warn(cat("mse_loss: using a target size (", shape_str(target.shape()),
                      ") that is different to the input size (", shape_str(input.shape()),
                      "). This will likely lead to incorrect results due to broadcasting. Please ensure they have "
                      "the same size."));
           return out;
         },
         "input"_a, "target"_a, "size_average"_a = py::none(), "reduce"_a = py::none(), "reduction"_a = "mean");

  def_op(m, "binary_cross_entropy_with_logits",
         [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, py::object size_average,
            py::object reduce, const std::string& reduction, std::optional<Tensor> pos_weight) {
           Reduction r = reduction_of(size_average, reduce, reduction, "binary_cross_entropy_with_logits");
           return binary_cross_entropy_with_logits(input, target, opt(weight), r, opt(pos_weight));
         },
         "input"_a, "target"_a, "weight"_a = py::none(), "size_average"_a = py::none(), "reduce"_a = py::none(),
         "reduction"_a = "mean", "pos_weight"_a = py::none());

  def_op(m, "dropout",
         [](const Tensor& input, double p, bool training, bool inplace) {
           BPX_CHECK(!inplace, NotImplementedError, "dropout: inplace=True is not supported; use x = dropout(x, p)");
           return dropout(input, p, training);
         },
         "input"_a, "p"_a = 0.5, "training"_a = true, "inplace"_a = false);

  def_op(m, "layer_norm",
         [](const Tensor& input, py::object normalized_shape, std::optional<Tensor> weight, std::optional<Tensor> bias,
            double eps) { return layer_norm(input, as_normalized_shape(normalized_shape), opt(weight), opt(bias), eps); },
         "input"_a, "normalized_shape"_a, "weight"_a = py::none(), "bias"_a = py::none(), "eps"_a = 1e-5);
}

}  // namespace backpropx::python
