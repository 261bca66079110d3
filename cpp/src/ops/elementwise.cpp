// Elementwise arithmetic, math functions, comparisons and selection: forward kernels and their
// backward passes side by side. Binary ops broadcast as NumPy does; their backward sums the
// gradient back to each input's shape (sum_to) and dtype.
#include <cmath>

#include "backpropx/autograd.h"
#include "backpropx/ops.h"
#include "kernel_utils.h"

namespace backpropx {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    BPX_CHECK(da == db || da == 1 || db == 1, ValueError, op, ": shapes ", shape_str(a), " and ", shape_str(b),
              " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor scalar_tensor(double value, DType dtype) {
  Tensor t = Tensor::empty({}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    *t.data<T>() = convert_value<T>(value);
  });
  return t;
}

namespace {

// out = f(a, b) with broadcasting; a and b already have dtype T; out has dtype R.
template <typename T, typename R, typename F>
Tensor broadcast_map(const Tensor& a, const Tensor& b, const Shape& shape, F&& f) {
  Tensor out = Tensor::empty(shape, dtype_of<R>::value);
  R* op = out.data<R>();
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  const int64_t n = out.numel();
  bool a_full = a.shape() == shape && a.is_contiguous();
  bool b_full = b.shape() == shape && b.is_contiguous();
  if (a_full && b_full) {
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) op[i] = f(ap[i], bp[i]);
    });
  } else if (a_full && b.numel() == 1) {
    const T bv = *bp;
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) op[i] = f(ap[i], bv);
    });
  } else if (b_full && a.numel() == 1) {
    const T av = *ap;
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) op[i] = f(av, bp[i]);
    });
  } else {
    Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
    const Shape& so = out.strides();
    for_each_row<3>(shape, {&so, &sa, &sb}, [&](auto off, int64_t len, auto inner) {
      R* o = op + off[0];
      const T* x = ap + off[1];
      const T* y = bp + off[2];
      for (int64_t i = 0; i < len; ++i) o[i] = f(x[i * inner[1]], y[i * inner[2]]);
    });
  }
  return out;
}

// The gradient for an input of shape/dtype (shape, dtype), from the gradient of the broadcast result.
Tensor grad_for(const Tensor& g, const Shape& shape, DType dtype) {
  Tensor r = sum_to(g, shape);
  return r.dtype() == dtype ? r : r.to(dtype);
}

struct BinaryInputs {
  Tensor a, b;  // converted to the common dtype
  Shape shape;  // broadcast result shape
  DType dtype;
};

BinaryInputs prepare_binary(const Tensor& a, const Tensor& b, const char* op, bool to_float = false) {
  BPX_CHECK(a.defined() && b.defined(), ValueError, op, ": got an undefined tensor");
  DType dt = promote_types(a.dtype(), b.dtype());
  if (to_float && !is_floating(dt)) dt = DType::Float32;
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  return {a.dtype() == dt ? a : a.detach().to(dt), b.dtype() == dt ? b : b.detach().to(dt), shape, dt};
}

}  // namespace

// ---- add / sub / mul / div ------------------------------------------------------------------------

Tensor add(const Tensor& a_in, const Tensor& b_in, double alpha) {
  auto in = prepare_binary(a_in, b_in, "add");
  Tensor out = dispatch_numeric(in.dtype, "add", [&](auto tag) {
    using T = decltype(tag);
    T al = static_cast<T>(alpha);
    if (alpha == 1.0) return broadcast_map<T, T>(in.a, in.b, in.shape, [](T x, T y) { return x + y; });
    return broadcast_map<T, T>(in.a, in.b, in.shape, [al](T x, T y) { return x + al * y; });
  });
  if (any_requires_grad({&a_in, &b_in})) {
    Shape sa = a_in.shape(), sb = b_in.shape();
    DType da = a_in.dtype(), db = b_in.dtype();
    record("AddBackward", {a_in, b_in}, {out}, [=](const TensorList& g, FunctionNode&) {
      Tensor gb = alpha == 1.0 ? g[0] : mul(g[0], scalar_tensor(alpha, g[0].dtype()));
      return TensorList{grad_for(g[0], sa, da), grad_for(gb, sb, db)};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  auto in = prepare_binary(a, b, "sub");
  Tensor out = dispatch_numeric(in.dtype, "sub", [&](auto tag) {
    using T = decltype(tag);
    T al = static_cast<T>(alpha);
    return broadcast_map<T, T>(in.a, in.b, in.shape, [al](T x, T y) { return x - al * y; });
  });
  if (any_requires_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    DType da = a.dtype(), db = b.dtype();
    record("SubBackward", {a, b}, {out}, [=](const TensorList& g, FunctionNode&) {
      return TensorList{grad_for(g[0], sa, da), grad_for(mul(g[0], scalar_tensor(-alpha, g[0].dtype())), sb, db)};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  auto in = prepare_binary(a, b, "mul");
  Tensor out = dispatch_numeric(in.dtype, "mul", [&](auto tag) {
    using T = decltype(tag);
    return broadcast_map<T, T>(in.a, in.b, in.shape, [](T x, T y) { return x * y; });
  });
  if (any_requires_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    DType da = a.dtype(), db = b.dtype();
    bool need_a = b.requires_grad(), need_b = a.requires_grad();  // d/db needs a, d/da needs b
    auto node = record("MulBackward", {a, b}, {out}, [=](const TensorList& g, FunctionNode& n) {
      TensorList r(2);
      int k = 0;
      Tensor sa_t = need_a ? n.saved(k++) : Tensor();
      Tensor sb_t = need_b ? n.saved(k++) : Tensor();
      if (need_b) r[0] = grad_for(mul(g[0], sb_t), sa, da);
      if (need_a) r[1] = grad_for(mul(g[0], sa_t), sb, db);
      return r;
    });
    if (need_a) node->save(in.a);
    if (need_b) node->save(in.b);
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  auto in = prepare_binary(a, b, "div", /*to_float=*/true);
  Tensor out = dispatch_float(in.dtype, "div", [&](auto tag) {
    using T = decltype(tag);
    return broadcast_map<T, T>(in.a, in.b, in.shape, [](T x, T y) { return x / y; });
  });
  if (any_requires_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    DType da = a.dtype(), db = b.dtype();
    auto node = record("DivBackward", {a, b}, {out}, [=](const TensorList& g, FunctionNode& n) {
      Tensor bt = n.saved(0), outt = n.saved(1);
      Tensor ga = div(g[0], bt);                         // d(a/b)/da = 1/b
      Tensor gb = neg(mul(ga, outt));                    // d(a/b)/db = -a/b^2 = -(1/b)(a/b)
      return TensorList{grad_for(ga, sa, da), grad_for(gb, sb, db)};
    });
    node->save(in.b);
    node->save(out);
  }
  return out;
}

// ---- pow ------------------------------------------------------------------------------------------

Tensor pow(const Tensor& a, double e) {
  Tensor x = is_floating(a.dtype()) ? a : a.to(DType::Float32);
  Tensor out = dispatch_float(x.dtype(), "pow", [&](auto tag) {
    using T = decltype(tag);
    T et = static_cast<T>(e);
    if (e == 2.0) return map1<T>(x, [](T v) { return v * v; });
    if (e == 0.5) return map1<T>(x, [](T v) { return std::sqrt(v); });
    return map1<T>(x, [et](T v) { return std::pow(v, et); });
  });
  if (any_requires_grad({&a})) {
    auto node = record("PowBackward0", {a}, {out}, [e](const TensorList& g, FunctionNode& n) {
      Tensor x = n.saved(0);
      return TensorList{dispatch_float(x.dtype(), "pow", [&](auto tag) {
        using T = decltype(tag);
        T et = static_cast<T>(e);
        if (e == 0.0) return map2<T>(g[0], x, [](T, T) { return T(0); });
        return map2<T>(g[0], x, [et](T gv, T xv) { return gv * et * std::pow(xv, et - T(1)); });
      })};
    });
    node->save(x);
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  auto in = prepare_binary(a, b, "pow", /*to_float=*/true);
  Tensor out = dispatch_float(in.dtype, "pow", [&](auto tag) {
    using T = decltype(tag);
    return broadcast_map<T, T>(in.a, in.b, in.shape, [](T x, T y) { return std::pow(x, y); });
  });
  if (any_requires_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    DType da = a.dtype(), db = b.dtype();
    auto node = record("PowBackward1", {a, b}, {out}, [=](const TensorList& g, FunctionNode& n) {
      Tensor x = n.saved(0), y = n.saved(1), o = n.saved(2);
      Tensor ga, gb;
      dispatch_float(x.dtype(), "pow", [&](auto tag) {
        using T = decltype(tag);
        // d/dx x^y = y x^(y-1);  d/dy x^y = x^y log x (0 where x == 0 and y >= 0, as torch)
        Tensor gx = broadcast_map<T, T>(x, y, g[0].shape(), [](T xv, T yv) {
          return yv == T(0) ? T(0) : yv * std::pow(xv, yv - T(1));
        });
        Tensor lx = broadcast_map<T, T>(o, x, g[0].shape(), [](T ov, T xv) {
          return xv == T(0) ? T(0) : ov * std::log(xv);
        });
        ga = mul(g[0], gx);
        gb = mul(g[0], lx);
      });
      return TensorList{grad_for(ga, sa, da), grad_for(gb, sb, db)};
    });
    node->save(in.a);
    node->save(in.b);
    node->save(out);
  }
  return out;
}

// ---- maximum / minimum ----------------------------------------------------------------------------

static Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
  const char* op = is_max ? "maximum" : "minimum";
  auto in = prepare_binary(a, b, op);
  Tensor out = dispatch_numeric(in.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    if (is_max) return broadcast_map<T, T>(in.a, in.b, in.shape, [](T x, T y) { return x >= y ? x : y; });
    return broadcast_map<T, T>(in.a, in.b, in.shape, [](T x, T y) { return x <= y ? x : y; });
  });
  if (any_requires_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    DType da = a.dtype(), db = b.dtype();
    auto node = record(is_max ? "MaximumBackward" : "MinimumBackward", {a, b}, {out},
                       [=](const TensorList& g, FunctionNode& n) {
      Tensor x = n.saved(0), y = n.saved(1);
      Tensor wa = dispatch_float(x.dtype(), "maximum", [&](auto tag) {
        using T = decltype(tag);  // weight of a: 1 where a wins, 1/2 on ties (as torch)
        return broadcast_map<T, T>(x, y, g[0].shape(), [is_max](T xv, T yv) {
          return xv == yv ? T(0.5) : ((xv > yv) == is_max ? T(1) : T(0));
        });
      });
      Tensor ga = mul(g[0], wa);
      return TensorList{grad_for(ga, sa, da), grad_for(sub(g[0], ga), sb, db)};
    });
    node->save(in.a);
    node->save(in.b);
  }
  return out;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(a, b, false); }

// ---- unary math -----------------------------------------------------------------------------------

namespace {

Tensor as_float(const Tensor& x) { return is_floating(x.dtype()) ? x : x.to(DType::Float32); }

// Records a unary op whose backward is g * local(saved) computed in one fused pass.
template <typename Local>
void record_unary(const char* name, const Tensor& input, const Tensor& out, const Tensor& to_save, Local local) {
  auto node = record(name, {input}, {out}, [local, name](const TensorList& g, FunctionNode& n) {
    Tensor s = n.saved(0);
    return TensorList{dispatch_float(s.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      return map2<T>(g[0], s, [&](T gv, T sv) { return gv * local(sv); });
    })};
  });
  node->save(to_save);
}

}  // namespace

Tensor neg(const Tensor& x) {
  Tensor out = dispatch_numeric(x.dtype(), "neg", [&](auto tag) {
    using T = decltype(tag);
    return map1<T>(x, [](T v) { return -v; });
  });
  if (any_requires_grad({&x}))
    record("NegBackward", {x}, {out}, [](const TensorList& g, FunctionNode&) { return TensorList{neg(g[0])}; });
  return out;
}

Tensor exp(const Tensor& x_in) {
  Tensor x = as_float(x_in);
  Tensor out = dispatch_float(x.dtype(), "exp", [&](auto tag) {
    using T = decltype(tag);
    return map1_array<T>(x, [](const auto& a) { return a.exp(); });  // Eigen's SIMD exp
  });
  if (any_requires_grad({&x_in})) record_unary("ExpBackward", x_in, out, out, [](auto y) { return y; });
  return out;
}

Tensor log(const Tensor& x_in) {
  Tensor x = as_float(x_in);
  Tensor out = dispatch_float(x.dtype(), "log", [&](auto tag) {
    using T = decltype(tag);
    return map1<T>(x, [](T v) { return std::log(v); });
  });
  if (any_requires_grad({&x_in})) record_unary("LogBackward", x_in, out, x, [](auto v) { return 1 / v; });
  return out;
}

Tensor sqrt(const Tensor& x_in) {
  Tensor x = as_float(x_in);
  Tensor out = dispatch_float(x.dtype(), "sqrt", [&](auto tag) {
    using T = decltype(tag);
    return map1<T>(x, [](T v) { return std::sqrt(v); });
  });
  if (any_requires_grad({&x_in})) record_unary("SqrtBackward", x_in, out, out, [](auto y) { return 1 / (2 * y); });
  return out;
}

Tensor abs(const Tensor& x) {
  Tensor out = dispatch_numeric(x.dtype(), "abs", [&](auto tag) {
    using T = decltype(tag);
    return map1<T>(x, [](T v) { return v < 0 ? -v : v; });
  });
  if (any_requires_grad({&x}))
    record_unary("AbsBackward", x, out, x, [](auto v) { return decltype(v)(v > 0 ? 1 : (v < 0 ? -1 : 0)); });
  return out;
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  BPX_CHECK(lo || hi, ValueError, "clamp: at least one of min or max must be given");
  double l = lo ? *lo : -INFINITY, h = hi ? *hi : INFINITY;
  Tensor out = dispatch_numeric(x.dtype(), "clamp", [&](auto tag) {
    using T = decltype(tag);
    return map1<T>(x, [l, h](T v) {
      double d = static_cast<double>(v);
      return static_cast<T>(d < l ? l : (d > h ? h : d));
    });
  });
  if (any_requires_grad({&x}))  // gradient passes where min <= x <= max
    record_unary("ClampBackward", x, out, x, [l, h](auto v) { return decltype(v)(v >= l && v <= h ? 1 : 0); });
  return out;
}

// ---- selection ------------------------------------------------------------------------------------

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  BPX_CHECK(cond.dtype() == DType::Bool, TypeError, "where: condition must be a bool tensor, got ",
            dtype_name(cond.dtype()));
  auto in = prepare_binary(a, b, "where");
  Shape shape = broadcast_shapes(cond.shape(), in.shape, "where");
  Tensor out = Tensor::empty(shape, in.dtype);
  dispatch_all(in.dtype, [&](auto tag) {
    using T = decltype(tag);
    Shape sc = broadcast_strides(cond, shape), sa = broadcast_strides(in.a, shape), sb = broadcast_strides(in.b, shape);
    const bool* cp = cond.data<bool>();
    const T* ap = in.a.data<T>();
    const T* bp = in.b.data<T>();
    T* op = out.data<T>();
    for_each_row<4>(shape, {&out.strides(), &sc, &sa, &sb}, [&](auto off, int64_t n, auto s) {
      for (int64_t i = 0; i < n; ++i)
        op[off[0] + i] = cp[off[1] + i * s[1]] ? ap[off[2] + i * s[2]] : bp[off[3] + i * s[3]];
    });
  });
  if (any_requires_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    DType da = a.dtype(), db = b.dtype();
    auto node = record("WhereBackward", {a, b}, {out}, [=](const TensorList& g, FunctionNode& n) {
      Tensor c = n.saved(0);
      Tensor zero = zeros({}, g[0].dtype());
      return TensorList{grad_for(where(c, g[0], zero), sa, da), grad_for(where(c, zero, g[0]), sb, db)};
    });
    node->save(cond);
  }
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  BPX_CHECK(mask.dtype() == DType::Bool, TypeError, "masked_fill: mask must be a bool tensor, got ",
            dtype_name(mask.dtype()));
  BPX_CHECK(broadcast_shapes(mask.shape(), x.shape(), "masked_fill") == x.shape(), ValueError,
            "masked_fill: mask of shape ", shape_str(mask.shape()), " does not broadcast to the input shape ",
            shape_str(x.shape()));
  Tensor out;
  {
    NoGradGuard ng;
    out = where(mask, scalar_tensor(value, x.dtype()), x);
  }
  if (any_requires_grad({&x})) {
    auto node = record("MaskedFillBackward", {x}, {out}, [](const TensorList& g, FunctionNode& n) {
      return TensorList{where(n.saved(0), zeros({}, g[0].dtype()), g[0])};
    });
    node->save(mask);
  }
  return out;
}

// ---- comparisons and logic (no gradient) ----------------------------------------------------------

#define BPX_COMPARISON(NAME, OPER)                                                         \
  Tensor NAME(const Tensor& a, const Tensor& b) {                                          \
    auto in = prepare_binary(a, b, #NAME);                                                 \
    return dispatch_all(in.dtype, [&](auto tag) {                                          \
      using T = decltype(tag);                                                             \
      return broadcast_map<T, bool>(in.a, in.b, in.shape, [](T x, T y) { return x OPER y; }); \
    });                                                                                    \
  }
BPX_COMPARISON(eq, ==)
BPX_COMPARISON(ne, !=)
BPX_COMPARISON(lt, <)
BPX_COMPARISON(le, <=)
BPX_COMPARISON(gt, >)
BPX_COMPARISON(ge, >=)
#undef BPX_COMPARISON

Tensor logical_not(const Tensor& x) {
  return dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return map1<T, bool>(x, [](T v) { return v == T(0); });
  });
}

Tensor logical_and(const Tensor& a, const Tensor& b) {
  Tensor x = a.to(DType::Bool), y = b.to(DType::Bool);
  return broadcast_map<bool, bool>(x, y, broadcast_shapes(a.shape(), b.shape(), "logical_and"),
                                   [](bool p, bool q) { return p && q; });
}

Tensor logical_or(const Tensor& a, const Tensor& b) {
  Tensor x = a.to(DType::Bool), y = b.to(DType::Bool);
  return broadcast_map<bool, bool>(x, y, broadcast_shapes(a.shape(), b.shape(), "logical_or"),
                                   [](bool p, bool q) { return p || q; });
}

}  // namespace backpropx
