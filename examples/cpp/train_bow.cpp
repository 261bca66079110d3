// Example 1: train the seed's bag-of-words sentiment classifier in C++ alone and save a checkpoint.
//
//   train_bow DATA.tsv OUT_DIR [EPOCHS]
//
// DATA.tsv holds "label<TAB>text" lines (the built-in sample is python/backpropx/data/builtin/sentiment.tsv);
// every tenth line is held out for validation, as `backpropx train classify` does. OUT_DIR gets
// model.safetensors (loads in Python: model.load_state_dict(bx.load(...))), vocab.txt and labels.txt.
#include <cstdio>
#include <numeric>
#include <set>

#include "bow_classifier.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DATA.tsv OUT_DIR [EPOCHS]\n", argv[0]);
    return 2;
  }
  const std::string data = argv[1], out_dir = argv[2];
  const int epochs = argc > 3 ? std::atoi(argv[3]) : 20;
  try {
    // ---- data: (label, tokens), every tenth example to validation ---------------------------------
    std::vector<std::pair<std::string, std::string>> train, valid;
    int64_t n = 0;
    for (const auto& line : read_lines(data)) {
      size_t tab = line.find('\t');
      if (line.empty() || tab == std::string::npos) continue;
      auto example = std::make_pair(line.substr(0, tab), line.substr(tab + 1));
      (n++ % 10 == 9 ? valid : train).push_back(example);
    }
    if (train.empty()) throw bx::ValueError("no 'label<TAB>text' lines in " + data);
    std::vector<std::vector<std::string>> tokenized;
    std::set<std::string> label_set;
    for (const auto& [label, text] : train) {
      tokenized.push_back(tokenize(text));
      label_set.insert(label);
    }
    Vocab vocab = Vocab::build(tokenized);
    std::vector<std::string> labels(label_set.begin(), label_set.end());
    auto label_id = [&](const std::string& l) {
      return static_cast<int64_t>(std::find(labels.begin(), labels.end(), l) - labels.begin());
    };
    std::printf("%zu training and %zu validation sentences, %zu words, %zu labels\n", train.size(), valid.size(),
                vocab.itos.size(), labels.size());

    // ---- model, optimizer, schedule ---------------------------------------------------------------
    bx::manual_seed(0);
    BowClassifier model(static_cast<int64_t>(vocab.itos.size()), static_cast<int64_t>(labels.size()));
    bx::optim::Adam opt(model.parameters(), bx::optim::AdamOptions(1e-2));
    const int64_t batch_size = 32;
    const int64_t steps_per_epoch = (static_cast<int64_t>(train.size()) + batch_size - 1) / batch_size;
    bx::optim::LinearWarmupCosine schedule(opt, steps_per_epoch, steps_per_epoch * epochs);

    auto accuracy = [&](const std::vector<std::pair<std::string, std::string>>& examples) {
      bx::NoGradGuard no_grad;
      model.eval();
      std::vector<std::string> texts;
      for (const auto& e : examples) texts.push_back(e.second);
      std::vector<int64_t> predicted = bx::to_vector<int64_t>(bx::argmax(model.forward(encode_batch(vocab, texts)), 1));
      int64_t correct = 0;
      for (size_t i = 0; i < examples.size(); ++i) correct += predicted[i] == label_id(examples[i].first);
      model.train();
      return examples.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(examples.size());
    };

    std::vector<int64_t> order(train.size());
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      // a seeded shuffle (Fisher-Yates on the library's generator)
      std::iota(order.begin(), order.end(), 0);
      for (size_t i = order.size() - 1; i > 0; --i)
        std::swap(order[i], order[static_cast<size_t>(bx::default_generator().uniform() * static_cast<double>(i + 1))]);
      double total = 0;
      for (size_t start = 0; start < order.size(); start += batch_size) {
        std::vector<std::string> texts;
        std::vector<int64_t> targets;
        for (size_t i = start; i < std::min(order.size(), start + batch_size); ++i) {
          texts.push_back(train[order[i]].second);
          targets.push_back(label_id(train[order[i]].first));
        }
        bx::Tensor loss = bx::cross_entropy(model.forward(encode_batch(vocab, texts)), bx::from_vector<int64_t>(targets));
        opt.zero_grad();
        loss.backward();
        bx::nn::utils::clip_grad_norm_(model.parameters(), 5.0);
        opt.step();
        schedule.step();
        total += loss.item() * static_cast<double>(texts.size());
      }
      std::printf("epoch %2d  loss %.4f  lr %.5f  train acc %.3f  valid acc %.3f\n", epoch,
                  total / static_cast<double>(train.size()), schedule.get_last_lr()[0], accuracy(train), accuracy(valid));
    }

    model.eval();
    model.save(out_dir + "/model.safetensors");
    vocab.save(out_dir + "/vocab.txt");
    {
      std::ofstream f(out_dir + "/labels.txt");
      for (const auto& l : labels) f << l << "\n";
    }
    std::printf("valid accuracy %.6f\n", accuracy(valid));
    std::printf("saved %s/model.safetensors, vocab.txt, labels.txt\n", out_dir.c_str());
  } catch (const bx::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
