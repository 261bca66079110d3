// Example 2: load a bag-of-words classifier saved from Python (bx.save(model.state_dict(), path)) or by
// train_bow, and classify sentences: one line each, "label<TAB>logit logit ...<TAB>sentence".
//
//   predict_bow MODEL_DIR [SENTENCE...]        (no sentences: one per line on stdin)
//
// MODEL_DIR holds model.safetensors, vocab.txt (one token per line, line i = id i: Python's Vocab.itos)
// and labels.txt. The layer sizes come from the checkpoint's shapes. Errors are backpropx::Error
// subclasses: a corrupt file is an IOError, a checkpoint that does not fit the model a RuntimeError.
#include <cstdio>
#include <iostream>

#include "bow_classifier.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [SENTENCE...]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    bx::SafetensorsContents file = bx::load_safetensors(dir + "/model.safetensors");
    auto shape_of = [&](const std::string& name) {
      for (const auto& [n, t] : file.tensors)
        if (n == name) return t.shape();
      throw bx::RuntimeError("the checkpoint has no tensor " + name);
    };
    const bx::Shape emb = shape_of("embedding.weight"), hid = shape_of("hidden.weight"), out = shape_of("out.weight");
    BowClassifier model(emb[0], out[0], emb[1], hid[0]);
    model.load_state_dict(file.tensors);  // strict: missing or unexpected keys raise
    model.eval();

    Vocab vocab = Vocab::load(dir + "/vocab.txt");
    std::vector<std::string> labels = read_lines(dir + "/labels.txt");
    std::vector<std::string> sentences(argv + 2, argv + argc);
    if (sentences.empty())
      for (std::string line; std::getline(std::cin, line);) sentences.push_back(line);
    if (sentences.empty()) return 0;

    bx::NoGradGuard no_grad;
    bx::Tensor logits = model.forward(encode_batch(vocab, sentences));  // [B, C]
    std::vector<float> values = bx::to_vector<float>(logits.to(bx::DType::Float32));
    std::vector<int64_t> best = bx::to_vector<int64_t>(bx::argmax(logits, 1));
    const size_t classes = static_cast<size_t>(logits.size(1));
    for (size_t i = 0; i < sentences.size(); ++i) {
      const size_t b = static_cast<size_t>(best[i]);
      std::printf("%s\t", b < labels.size() ? labels[b].c_str() : std::to_string(b).c_str());
      for (size_t c = 0; c < classes; ++c) std::printf("%s%.9g", c ? " " : "", values[i * classes + c]);
      std::printf("\t%s\n", sentences[i].c_str());
    }
  } catch (const bx::IOError& e) {
    std::fprintf(stderr, "IOError: %s\n", e.what());
    return 1;
  } catch (const bx::RuntimeError& e) {
    std::fprintf(stderr, "RuntimeError: %s\n", e.what());
    return 1;
  } catch (const bx::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
