// The C++ nn layers on parameters and inputs written by Python, for the test suite
// (tests/test_cpp_embed.py) to check that C++ and Python layers compute the same numbers, and that a
// layer built after manual_seed(s) starts from the same parameters as Python's.
//
//   layers_check IN_DIR OUT_DIR
//
// For each case: OUT_DIR/<case>.init.safetensors is the state_dict of a layer built after manual_seed;
// then IN_DIR/<case>.params.safetensors (Python's bx.save(layer.state_dict())) is loaded and the layer runs
// on IN_DIR/<case>.inputs.safetensors ("in.*" inputs require grad, "const.*" do not); the outputs, and the
// gradients of sum(output * const.r.<output>) w.r.t. every parameter ("grad.<name>") and input
// ("grad.in.<name>"), go to OUT_DIR/<case>.out.safetensors.
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <tuple>

#include "backpropx/backpropx.h"

using namespace backpropx;

namespace {

using Inputs = std::map<std::string, Tensor>;

template <typename M>
void run_case(const std::string& in_dir, const std::string& out_dir, const std::string& name, uint64_t seed,
              const std::function<std::shared_ptr<M>()>& make,
              const std::function<NamedTensors(M&, Inputs&)>& forward) {
  manual_seed(seed);
  std::shared_ptr<M> layer = make();
  layer->save(out_dir + "/" + name + ".init.safetensors");
  layer->load(in_dir + "/" + name + ".params.safetensors");  // strict
  Inputs in;
  for (auto& [key, t] : load_safetensors(in_dir + "/" + name + ".inputs.safetensors").tensors) {
    if (key.rfind("in.", 0) == 0) t.set_requires_grad(true);
    in[key] = t;
  }
  NamedTensors outputs = forward(*layer, in);
  Tensor loss;
  for (const auto& [out_name, out] : outputs) {
    auto r = in.find("const.r." + out_name);
    if (r == in.end()) continue;
    Tensor term = sum(out * r->second);
    loss = loss.defined() ? loss + term : term;
  }
  NamedTensors result = outputs;
  if (loss.defined()) {
    loss.backward();
    for (const auto& [p_name, p] : layer->named_parameters())
      if (p.grad().defined()) result.emplace_back("grad." + p_name, p.grad());
    for (const auto& [key, t] : in)
      if (key.rfind("in.", 0) == 0 && t.grad().defined()) result.emplace_back("grad." + key, t.grad());
  }
  for (auto& [_, t] : result) t = t.detach().contiguous();
  save_safetensors(out_dir + "/" + name + ".out.safetensors", result);
  std::printf("%-14s %zu parameters, %zu outputs and gradients\n", name.c_str(), layer->parameters().size(),
              result.size());
}

// Four training steps of Linear(5, 3) (the "linear" case's parameters and inputs) with each optimizer and a
// schedule, clipping the gradient norm to 1 each step: OUT_DIR/optim_<name>.out.safetensors holds the
// parameters after each step ("step{k}.weight"), the lr used ("lr{k}") and the total norm ("norm{k}").
void run_optimizers(const std::string& in_dir, const std::string& out_dir) {
  using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(const std::vector<Tensor>&)>;
  using MakeSched = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;
  using P = std::vector<Tensor>;
  using O = optim::Optimizer;
  const std::vector<std::tuple<std::string, MakeOpt, MakeSched>> cases = {
      {"sgd",
       [](const P& p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
       },
       [](O& o) { return std::make_unique<optim::StepLR>(o, 2, 0.5); }},
      {"adam",
       [](const P& p) {
         return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.01).amsgrad(true).weight_decay(0.1));
       },
       [](O& o) { return std::make_unique<optim::InverseSqrt>(o, 2); }},
      {"adamw", [](const P& p) { return std::make_unique<optim::AdamW>(p, optim::AdamOptions(0.01).weight_decay(0.1)); },
       [](O& o) { return std::make_unique<optim::LinearWarmupCosine>(o, 2, 5, 1e-4); }},
      {"rmsprop",
       [](const P& p) {
         return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions(0.01).momentum(0.5).centered(true));
       },
       [](O& o) { return std::make_unique<optim::ExponentialLR>(o, 0.9); }},
      {"adagrad",
       [](const P& p) {
         return std::make_unique<optim::Adagrad>(
             p, optim::AdagradOptions(0.1).lr_decay(0.01).initial_accumulator_value(0.1));
       },
       [](O& o) { return std::make_unique<optim::LambdaLR>(o, [](int64_t s) { return 1.0 / (1.0 + s); }); }},
  };
  NamedTensors inputs = load_safetensors(in_dir + "/linear.inputs.safetensors").tensors;
  Tensor x, r;
  for (const auto& [k, t] : inputs) {
    if (k == "in.x") x = t;
    if (k == "const.r.out") r = t;
  }
  for (const auto& [name, make_opt, make_sched] : cases) {
    nn::Linear layer(5, 3);
    layer.load(in_dir + "/linear.params.safetensors");
    std::unique_ptr<optim::Optimizer> opt = make_opt(layer.parameters());
    std::unique_ptr<optim::LRScheduler> schedule = make_sched(*opt);
    NamedTensors result;
    for (int k = 1; k <= 4; ++k) {
      Tensor loss = sum(layer.forward(x) * r);
      opt->zero_grad();
      loss.backward();
      const double norm = nn::utils::clip_grad_norm_(layer.parameters(), 1.0);
      result.emplace_back("lr" + std::to_string(k), full({}, opt->lr(), DType::Float64));
      result.emplace_back("norm" + std::to_string(k), full({}, norm, DType::Float64));
      opt->step();
      schedule->step();
      result.emplace_back("step" + std::to_string(k) + ".weight", layer.weight.detach().clone());
      result.emplace_back("step" + std::to_string(k) + ".bias", layer.bias.detach().clone());
    }
    save_safetensors(out_dir + "/optim_" + name + ".out.safetensors", result);
    std::printf("optim_%-8s 4 steps\n", name.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string in = argv[1], out = argv[2];
  try {
    run_case<nn::Linear>(in, out, "linear", 1, [] { return std::make_shared<nn::Linear>(5, 3); },
                         [](nn::Linear& m, Inputs& x) { return NamedTensors{{"out", m.forward(x["in.x"])}}; });
    run_case<nn::Embedding>(
        in, out, "embedding", 2,
        [] { return std::make_shared<nn::Embedding>(nn::EmbeddingOptions(10, 4).padding_idx(0)); },
        [](nn::Embedding& m, Inputs& x) { return NamedTensors{{"out", m.forward(x["const.ids"])}}; });
    run_case<nn::LSTM>(
        in, out, "lstm", 3,
        [] {
          return std::make_shared<nn::LSTM>(nn::RNNOptions(4, 6).num_layers(2).bidirectional(true).batch_first(true));
        },
        [](nn::LSTM& m, Inputs& x) {
          nn::RNNOutput r = m.forward(x["in.x"], x["in.h0"], x["in.c0"], x["const.lengths"]);
          return NamedTensors{{"out", r.output}, {"h_n", r.h_n}, {"c_n", r.c_n}};
        });
    run_case<nn::GRU>(
        in, out, "gru", 4, [] { return std::make_shared<nn::GRU>(nn::RNNOptions(4, 5)); },
        [](nn::GRU& m, Inputs& x) {
          nn::RNNOutput r = m.forward(x["in.x"], x["in.h0"]);
          return NamedTensors{{"out", r.output}, {"h_n", r.h_n}};
        });
    run_case<nn::MultiheadAttention>(
        in, out, "mha", 5,
        [] { return std::make_shared<nn::MultiheadAttention>(nn::MultiheadAttentionOptions(8, 2).batch_first(true)); },
        [](nn::MultiheadAttention& m, Inputs& x) {
          nn::AttentionOutput r = m.forward(x["in.q"], x["in.k"], x["in.v"], x["const.key_padding_mask"]);
          return NamedTensors{{"out", r.output}, {"weights", r.weights}};
        });
    run_case<nn::MultiheadAttention>(
        in, out, "mha_kv", 6,
        [] {
          return std::make_shared<nn::MultiheadAttention>(
              nn::MultiheadAttentionOptions(8, 2).kdim(6).vdim(5).add_bias_kv(true).add_zero_attn(true));
        },
        [](nn::MultiheadAttention& m, Inputs& x) {
          nn::AttentionOutput r =
              m.forward(x["in.q"], x["in.k"], x["in.v"], Tensor(), true, x["const.attn_mask"], false);
          return NamedTensors{{"out", r.output}, {"weights", r.weights}};
        });
    const auto layer_options = nn::TransformerLayerOptions(8, 2).dim_feedforward(16).dropout(0.0);
    run_case<nn::TransformerEncoderLayer>(
        in, out, "encoder_layer", 7, [&] { return std::make_shared<nn::TransformerEncoderLayer>(layer_options); },
        [](nn::TransformerEncoderLayer& m, Inputs& x) {
          return NamedTensors{{"out", m.forward(x["in.src"], x["const.src_mask"], x["const.src_key_padding_mask"])}};
        });
    run_case<nn::TransformerDecoderLayer>(
        in, out, "decoder_layer", 8,
        [&] {
          auto o = layer_options;
          return std::make_shared<nn::TransformerDecoderLayer>(o.norm_first(true).activation("gelu").batch_first(true));
        },
        [](nn::TransformerDecoderLayer& m, Inputs& x) {
          return NamedTensors{{"out", m.forward(x["in.tgt"], x["in.memory"], x["const.tgt_mask"])}};
        });
    run_case<nn::TransformerEncoder>(
        in, out, "encoder", 9, [&] { return std::make_shared<nn::TransformerEncoder>(layer_options, 2, true); },
        [](nn::TransformerEncoder& m, Inputs& x) { return NamedTensors{{"out", m.forward(x["in.src"])}}; });
    run_optimizers(in, out);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
