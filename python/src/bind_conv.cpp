// 1-D convolution and pooling as bx.<op>, with torch.nn.functional's names, arguments, order and
// defaults: conv1d, max_pool1d, avg_pool1d, adaptive_max_pool1d. Sizes may be an int or a 1-tuple.
#include "backpropx/ops/conv.h"
#include "bind_common.h"

namespace backpropx::python {

namespace {

// An int, or a sequence holding one int (torch's _single).
int64_t single(py::handle v, const char* op, const char* name) {
  if (py::isinstance<py::int_>(v)) return v.cast<int64_t>();
  if (py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v)) {
    auto seq = v.cast<py::sequence>();
    BPX_CHECK(seq.size() == 1, ValueError, op, ": ", name, " must be an int or a 1-element tuple, got ",
              py::repr(v).cast<std::string>());
    return seq[0].cast<int64_t>();
  }
  throw TypeError(cat(op, ": ", name, " must be an int or a 1-element tuple, got ", py::repr(v).cast<std::string>()));
}

// padding: an int, a 1-tuple, 'valid' (none) or 'same' (output length = input length; stride 1 only;
// an odd total pads one more on the right, as torch).
std::pair<int64_t, int64_t> conv_padding(py::handle padding, const Tensor& weight, int64_t stride, int64_t dilation) {
  if (py::isinstance<py::str>(padding)) {
    const std::string p = padding.cast<std::string>();
    if (p == "valid") return {0, 0};
    BPX_CHECK(p == "same", ValueError, "conv1d: invalid padding string '", p, "', should be one of {'valid', 'same'}");
    BPX_CHECK(stride == 1, ValueError, "conv1d: padding='same' is not supported for strided convolutions");
    BPX_CHECK(weight.defined() && weight.dim() == 3, ValueError, "conv1d: weight must be 3-D, got ",
              weight.defined() ? shape_str(weight.shape()) : std::string("undefined"));
    const int64_t total = dilation * (weight.shape()[2] - 1);
    return {total / 2, total - total / 2};
  }
  const int64_t p = single(padding, "conv1d", "padding");
  return {p, p};
}

int64_t stride_or_kernel(py::handle stride, int64_t kernel_size, const char* op) {
  if (stride.is_none()) return kernel_size;
  if (py::isinstance<py::sequence>(stride) && py::len(stride) == 0) return kernel_size;  // torch: stride=[]
  return single(stride, op, "stride");
}

py::object values_or_pair(const std::pair<Tensor, Tensor>& r, bool return_indices) {
  if (return_indices) return py::make_tuple(r.first, r.second);
  return py::cast(r.first);
}

}  // namespace

void bind_conv(py::module_& m) {
  using namespace py::literals;

  def_op(m, "conv1d",
         [](const Tensor& input, const Tensor& weight, std::optional<Tensor> bias, py::object stride,
            py::object padding, py::object dilation, int64_t groups) {
           const int64_t s = single(stride, "conv1d", "stride"), d = single(dilation, "conv1d", "dilation");
           return conv1d(input, weight, bias ? *bias : Tensor(), s, conv_padding(padding, weight, s, d), d, groups);
         },
         "input"_a, "weight"_a, "bias"_a = py::none(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
         "groups"_a = 1, "1-D convolution over [N, C_in, L]: im2col, then one GEMM per group.");

  def_op(m, "max_pool1d",
         [](const Tensor& input, py::object kernel_size, py::object stride, py::object padding, py::object dilation,
            bool ceil_mode, bool return_indices) {
           const int64_t k = single(kernel_size, "max_pool1d", "kernel_size");
           auto r = max_pool1d_with_indices(input, k, stride_or_kernel(stride, k, "max_pool1d"),
                                            single(padding, "max_pool1d", "padding"),
                                            single(dilation, "max_pool1d", "dilation"), ceil_mode);
           return values_or_pair(r, return_indices);
         },
         "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "dilation"_a = 1, "ceil_mode"_a = false,
         "return_indices"_a = false);

  def_op(m, "avg_pool1d",
         [](const Tensor& input, py::object kernel_size, py::object stride, py::object padding, bool ceil_mode,
            bool count_include_pad) {
           const int64_t k = single(kernel_size, "avg_pool1d", "kernel_size");
           return avg_pool1d(input, k, stride_or_kernel(stride, k, "avg_pool1d"),
                             single(padding, "avg_pool1d", "padding"), ceil_mode, count_include_pad);
         },
         "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0, "ceil_mode"_a = false,
         "count_include_pad"_a = true);

  def_op(m, "adaptive_max_pool1d",
         [](const Tensor& input, py::object output_size, bool return_indices) {
           auto r = adaptive_max_pool1d_with_indices(input, single(output_size, "adaptive_max_pool1d", "output_size"));
           return values_or_pair(r, return_indices);
         },
         "input"_a, "output_size"_a, "return_indices"_a = false);
}

}  // namespace backpropx::python
