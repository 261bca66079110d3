// embedding_bag: the sum, mean or max of each bag's embedding rows, without materialising the
// [words, D] lookups; backward scatters each bag's gradient back to its rows (repeated ids sum).
#include <algorithm>
#include <limits>
#include <vector>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

namespace {

enum class BagMode { Sum, Mean, Max };

BagMode parse_mode(const std::string& mode) {
  if (mode == "sum") return BagMode::Sum;
  if (mode == "mean") return BagMode::Mean;
  if (mode == "max") return BagMode::Max;
  throw ValueError(cat("embedding_bag: mode must be 'sum', 'mean' or 'max', got '", mode, "'"));
}

// Bag b covers flat ids [start[b], start[b + 1]).
struct Bags {
  Tensor ids;                  // 1-D int64, contiguous
  std::vector<int64_t> start;  // size bags + 1
  int64_t count() const { return static_cast<int64_t>(start.size()) - 1; }
};

Bags make_bags(const Tensor& ids, const Tensor& offsets, bool include_last_offset) {
  BPX_CHECK(ids.dtype() == DType::Int64, TypeError, "embedding_bag: input must be an int64 tensor of ids, got ",
            dtype_name(ids.dtype()));
  Bags bags;
  if (ids.dim() == 2) {
    BPX_CHECK(!offsets.defined(), ValueError, "embedding_bag: offsets must be None when input is 2-D (shape ",
              shape_str(ids.shape()), ")");
    bags.ids = reshape(ids.detach(), {ids.numel()}).contiguous();
    int64_t n = ids.shape()[1];
    for (int64_t b = 0; b <= ids.shape()[0]; ++b) bags.start.push_back(b * n);
    return bags;
  }
  BPX_CHECK(ids.dim() == 1, ValueError, "embedding_bag: input must be 1-D (with offsets) or 2-D, got shape ",
            shape_str(ids.shape()));
  BPX_CHECK(offsets.defined() && offsets.dim() == 1 && offsets.dtype() == DType::Int64, ValueError,
            "embedding_bag: a 1-D input needs 1-D int64 offsets");
  bags.ids = ids.contiguous();
  Tensor off = offsets.contiguous();
  const int64_t* o = off.data<int64_t>();
  int64_t n = off.numel(), total = ids.numel();
  for (int64_t b = 0; b < n; ++b) {
    BPX_CHECK(o[b] >= 0 && o[b] <= total && (b == 0 || o[b] >= o[b - 1]), ValueError,
              "embedding_bag: offsets must be non-decreasing and within [0, ", total, "], got ", o[b], " at ", b);
    bags.start.push_back(o[b]);
  }
  if (!include_last_offset) bags.start.push_back(total);
  BPX_CHECK(!bags.start.empty() && bags.start[0] == 0, ValueError, "embedding_bag: offsets[0] must be 0");
  return bags;
}

}  // namespace

Tensor embedding_bag(const Tensor& ids_in, const Tensor& weight, const Tensor& offsets, const std::string& mode_name,
                     const Tensor& per_sample_weights, bool include_last_offset, std::optional<int64_t> padding_idx) {
  BagMode mode = parse_mode(mode_name);
  BPX_CHECK(weight.dim() == 2, ValueError, "embedding_bag: weight must be 2-D [num_embeddings, dim], got shape ",
            shape_str(weight.shape()));
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  Bags bags = make_bags(ids_in, offsets, include_last_offset);
  const int64_t B = bags.count(), N = bags.ids.numel();
  const int64_t* ids = bags.ids.data<int64_t>();
  for (int64_t i = 0; i < N; ++i)
    BPX_CHECK(ids[i] >= 0 && ids[i] < V, IndexError, "embedding_bag: index ", ids[i],
              " is out of range for a weight of shape ", shape_str(weight.shape()));
  int64_t pad = -1;
  if (padding_idx) pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  Tensor psw;
  if (per_sample_weights.defined()) {
    BPX_CHECK(mode == BagMode::Sum, ValueError, "embedding_bag: per_sample_weights only work with mode='sum'");
    BPX_CHECK(per_sample_weights.numel() == N && per_sample_weights.dtype() == weight.dtype(), ValueError,
              "embedding_bag: per_sample_weights of shape ", shape_str(per_sample_weights.shape()),
              " must match the input's ", N, " ids and the weight's dtype");
    psw = per_sample_weights.contiguous();
  }

  Tensor w = weight.contiguous();
  Tensor out = zeros({B, D}, weight.dtype());
  Tensor argmax = mode == BagMode::Max ? full({B, D}, -1.0, DType::Int64) : Tensor();
  dispatch_float(weight.dtype(), "embedding_bag", [&](auto tag) {
    using T = decltype(tag);
    const T* wp = w.data<T>();
    const T* sp = psw.defined() ? psw.data<T>() : nullptr;
    T* op = out.data<T>();
    int64_t* am = argmax.defined() ? argmax.data<int64_t>() : nullptr;
    parallel_for(B, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(D * 8, 1)), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        T* row = op + b * D;  // row is (D,)
        int64_t count = 0;
        for (int64_t i = bags.start[b]; i < bags.start[b + 1]; ++i) {
          if (ids[i] == pad) continue;
          const T* src = wp + ids[i] * D;
          if (mode == BagMode::Max) {
            for (int64_t d = 0; d < D; ++d)
              if (count == 0 || src[d] > row[d]) {
                row[d] = src[d];
                am[b * D + d] = ids[i];
              }
          } else {
            T s = sp ? sp[i] : T(1);
            for (int64_t d = 0; d < D; ++d) row[d] += s * src[d];
          }
          ++count;
        }
        if (mode == BagMode::Mean && count > 0)
          for (int64_t d = 0; d < D; ++d) row[d] /= static_cast<T>(count);
      }
    });
  });

  if (any_requires_grad({&weight, &per_sample_weights})) {
    std::vector<int64_t> start = bags.start;
    auto node = record("EmbeddingBagBackward", {weight, per_sample_weights}, {out},
                       [start, mode, pad, V, D](const TensorList& g, FunctionNode& n) {
      Tensor ids_t = n.saved(0), w = n.saved(1), psw = n.saved(2), am = n.saved(3);
      Tensor gc = g[0].contiguous();
      Tensor gw = zeros({V, D}, gc.dtype());
      Tensor gpsw = psw.defined() ? zeros(psw.shape(), gc.dtype()) : Tensor();
      dispatch_float(gc.dtype(), "embedding_bag", [&](auto tag) {
        using T = decltype(tag);
        const int64_t* ids = ids_t.data<int64_t>();
        const T* gp = gc.data<T>();
        T* gwp = gw.data<T>();
        const int64_t B = static_cast<int64_t>(start.size()) - 1;
        for (int64_t b = 0; b < B; ++b) {
          const T* grow = gp + b * D;  // dL/d out[b]
          if (mode == BagMode::Max) {
            const int64_t* a = am.data<int64_t>() + b * D;
            for (int64_t d = 0; d < D; ++d)
              if (a[d] >= 0) gwp[a[d] * D + d] += grow[d];
            continue;
          }
          int64_t count = 0;
          for (int64_t i = start[b]; i < start[b + 1]; ++i) count += ids[i] != pad;
          T scale = mode == BagMode::Mean && count > 0 ? T(1) / static_cast<T>(count) : T(1);
          for (int64_t i = start[b]; i < start[b + 1]; ++i) {
            if (ids[i] == pad) continue;
            T s = psw.defined() ? psw.data<T>()[i] * scale : scale;
            T* dst = gwp + ids[i] * D;
            for (int64_t d = 0; d < D; ++d) dst[d] += s * grow[d];
            if (gpsw.defined()) {  // d out[b] / d psw[i] = weight[ids[i]]
              const T* wr = w.data<T>() + ids[i] * D;
              T dot = 0;
              for (int64_t d = 0; d < D; ++d) dot += grow[d] * wr[d];
              gpsw.data<T>()[i] = dot;
            }
          }
        }
      });
      return TensorList{gw, gpsw.defined() ? reshape(gpsw, psw.shape()) : Tensor()};
    });
    node->save(bags.ids);
    node->save(psw.defined() ? w : Tensor());
    node->save(psw);
    node->save(argmax);
  }
  return out;
}

}  // namespace backpropx
