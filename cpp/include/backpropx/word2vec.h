// Word2Vec training with negative sampling (skip-gram and CBOW), the algorithm of Mikolov's word2vec.c:
// lock-free (Hogwild) updates from several threads, frequent-word subsampling, a unigram^0.75 noise
// distribution (drawn from an alias table), a dynamic window and a learning rate decaying linearly over
// all epochs' words (cpp/src/word2vec.cpp).
#pragma once
#include <cstdint>

#include "backpropx/tensor.h"

namespace backpropx {

struct Word2VecConfig {
  bool sg = true;          // skip-gram; false = CBOW (mean of the context vectors)
  int64_t window = 5;      // max distance; each centre word draws its own b in [0, window) and uses window - b
  int64_t negative = 5;    // noise words per positive pair
  double sample = 1e-3;    // subsampling threshold (0 = keep every word)
  double alpha = 0.025;    // learning rate at the start...
  double min_alpha = 1e-4; // ...and at the end of the last epoch
  int64_t epochs = 1;
  int workers = 1;         // threads; each owns a contiguous share of the sentences
  uint64_t seed = 1;       // thread t starts its LCG at seed + t, so workers=1 is deterministic
};

struct Word2VecStats {
  int64_t words = 0;            // corpus words walked over all epochs (before subsampling)
  int64_t effective_words = 0;  // words kept by subsampling and trained on
  double seconds = 0;
  double words_per_sec = 0;     // words / seconds
  double final_alpha = 0;
};

// Trains in place.
//   corpus   int64 [N]      word ids, every sentence after the other
//   offsets  int64 [S + 1]  sentence s is corpus[offsets[s] : offsets[s + 1]]
//   counts   int64 [V]      corpus frequency of each word (subsampling and noise distribution)
//   syn0     float32 [V, D] input (word) vectors
//   syn1neg  float32 [V, D] output (context) vectors
Word2VecStats word2vec_train(const Tensor& corpus, const Tensor& offsets, const Tensor& counts, Tensor& syn0,
                             Tensor& syn1neg, const Word2VecConfig& cfg);

}  // namespace backpropx
