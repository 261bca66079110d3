// The seed's bag-of-words text classifier (Python: bx.models.BowClassifier) in C++, and the small text
// utilities the examples share: tokenising as Python's WordTokenizer (exact for ASCII text), the
// vocabulary (ids 0..3 are <pad> <unk> <s> </s>, then by frequency, then alphabetically) and padding.
#pragma once
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "backpropx/backpropx.h"

namespace bx = backpropx;

// embedding [V, E] -> mean over the real (non-pad) tokens -> hidden Linear(E, H) -> ReLU -> dropout ->
// out Linear(H, C). Submodule names are Python's, so `bx.save(model.state_dict())` files load here.
struct BowClassifier : bx::nn::Module {
  BowClassifier(int64_t vocab_size, int64_t num_classes, int64_t embed_dim = 64, int64_t hidden_size = 64,
                double dropout_p = 0.3, int64_t pad = 0)
      : Module("BowClassifier"), pad_id(pad) {
    embedding = register_module(
        "embedding", std::make_shared<bx::nn::Embedding>(bx::nn::EmbeddingOptions(vocab_size, embed_dim).padding_idx(pad)));
    hidden = register_module("hidden", std::make_shared<bx::nn::Linear>(embed_dim, hidden_size));
    dropout = register_module("dropout", std::make_shared<bx::nn::Dropout>(dropout_p));
    out = register_module("out", std::make_shared<bx::nn::Linear>(hidden_size, num_classes));
  }

  // ids int64 [B, T] (pad_id = padding) -> logits [B, num_classes].
  bx::Tensor forward(const bx::Tensor& ids) const {
    bx::Tensor embedded = embedding->forward(ids);                                      // [B, T, E]
    bx::Tensor weights = bx::ne(ids, bx::scalar_tensor(pad_id, bx::DType::Int64)).to(embedded.dtype());  // [B, T]
    bx::Tensor counts = bx::clamp(bx::sum(weights, {1}, true), 1.0, std::nullopt);      // [B, 1]
    bx::Tensor pooled = bx::sum(embedded * bx::unsqueeze(weights, 2), {1}) / counts;    // [B, E]
    return out->forward(dropout->forward(bx::relu(hidden->forward(pooled))));
  }

  int64_t pad_id;
  std::shared_ptr<bx::nn::Embedding> embedding;
  std::shared_ptr<bx::nn::Linear> hidden, out;
  std::shared_ptr<bx::nn::Dropout> dropout;
};

// Lowercased words (letters and digits, with inner apostrophes: "don't") and single punctuation marks,
// as Python's WordTokenizer; bytes of multi-byte UTF-8 characters count as letters.
inline std::vector<std::string> tokenize(const std::string& text) {
  auto is_word = [](unsigned char c) { return std::isalnum(c) || c >= 0x80; };
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (is_word(c)) {
      std::string word;
      while (i < text.size()) {
        unsigned char d = static_cast<unsigned char>(text[i]);
        if (is_word(d)) {
          word += static_cast<char>(std::tolower(d));
          ++i;
        } else if (d == '\'' && i + 1 < text.size() && is_word(static_cast<unsigned char>(text[i + 1]))) {
          word += '\'';
          ++i;
        } else {
          break;
        }
      }
      tokens.push_back(word);
    } else {
      tokens.emplace_back(1, static_cast<char>(c));
      ++i;
    }
  }
  return tokens;
}

struct Vocab {
  std::vector<std::string> itos;
  std::unordered_map<std::string, int64_t> stoi;

  // From tokenised sentences: the specials, then every token by frequency, then alphabetically.
  static Vocab build(const std::vector<std::vector<std::string>>& sentences) {
    std::map<std::string, int64_t> counts;
    for (const auto& s : sentences)
      for (const auto& t : s) ++counts[t];
    std::vector<std::string> words;
    for (const auto& [w, n] : counts)
      if (w != "<pad>" && w != "<unk>" && w != "<s>" && w != "</s>") words.push_back(w);
    std::stable_sort(words.begin(), words.end(), [&](const auto& a, const auto& b) { return counts[a] > counts[b]; });
    Vocab v;
    for (const char* s : {"<pad>", "<unk>", "<s>", "</s>"}) v.add(s);
    for (const auto& w : words) v.add(w);
    return v;
  }
  // One token per line (line i = id i), as Python's Vocab.itos.
  static Vocab load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw bx::IOError("cannot read the vocabulary " + path);
    Vocab v;
    for (std::string line; std::getline(in, line);) v.add(line);
    return v;
  }
  void save(const std::string& path) const {
    std::ofstream out(path);
    for (const auto& t : itos) out << t << "\n";
    if (!out) throw bx::IOError("cannot write the vocabulary " + path);
  }
  void add(const std::string& token) {
    stoi.emplace(token, static_cast<int64_t>(itos.size()));
    itos.push_back(token);
  }
  int64_t id(const std::string& token) const {
    auto it = stoi.find(token);
    return it == stoi.end() ? 1 : it->second;  // <unk>
  }
};

// Lines of a file (no trailing newline characters).
inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw bx::IOError("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

// The sentences as ids [B, T] (T = the longest, at least 1), padded with 0.
inline bx::Tensor encode_batch(const Vocab& vocab, const std::vector<std::string>& sentences) {
  std::vector<std::vector<int64_t>> rows;
  size_t longest = 1;
  for (const auto& s : sentences) {
    std::vector<int64_t> ids;
    for (const auto& t : tokenize(s)) ids.push_back(vocab.id(t));
    longest = std::max(longest, ids.size());
    rows.push_back(ids);
  }
  std::vector<int64_t> flat(rows.size() * longest, 0);
  for (size_t i = 0; i < rows.size(); ++i) std::copy(rows[i].begin(), rows[i].end(), flat.begin() + i * longest);
  return bx::from_vector<int64_t>(flat, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest)});
}
