// Word2Vec with negative sampling, after word2vec.c (Mikolov et al. 2013): every thread walks its own
// share of the sentences for all epochs and updates the shared weights without locks (Hogwild).
#include "backpropx/word2vec.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <system_error>
#include <thread>
#include <vector>

#include "backpropx/error.h"

#ifdef BACKPROPX_OPENMP
#define BPX_SIMD_SUM _Pragma("omp simd reduction(+ : s)")
#else
#define BPX_SIMD_SUM
#endif

namespace backpropx {

namespace {

constexpr int kExpTableSize = 1000;
constexpr float kMaxExp = 6;
constexpr int64_t kMaxSentence = 10000;  // longer sentences are cut into pieces (windows stay inside)
constexpr int kMaxWorkers = 1024;
constexpr uint32_t kKeepAll = 1u << 24;

// word2vec.c's generator; its low bits are weak (bit k has period 2^(k+1)), so draws use the high ones.
inline uint64_t lcg(uint64_t& r) { return r = r * 25214903917ULL + 11; }

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
  BPX_SIMD_SUM
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline void axpy(float g, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += g * x[i];
}

struct Shared {
  const int64_t* corpus;
  const int64_t* offsets;
  float* syn0;
  float* syn1;
  int64_t V, D;
  int64_t total_words;                // epochs * N, the denominator of the learning-rate decay
  std::vector<uint32_t> keep;         // [V] subsampling: an occurrence stays with probability keep / 2^24
  std::vector<uint32_t> noise_keep;   // [V] alias table of unigram^0.75 (Vose): bucket i gives i with
  std::vector<int64_t> noise_alias;   //     probability noise_keep[i] / 2^16, else noise_alias[i]
  std::vector<float> sigmoid;         // [kExpTableSize] sigmoid on [-kMaxExp, kMaxExp)
  std::atomic<int64_t> words_done{0};
};

// Vose's alias method: O(1) draws from count^0.75 / total. Each of the V buckets holds mass 1/V, split between
// its own word and one alias.
void build_alias_table(const int64_t* cnt, int64_t V, double total, std::vector<uint32_t>& keep,
                       std::vector<int64_t>& alias) {
  std::vector<double> mass(V);
  std::vector<int64_t> small, large;
  for (int64_t w = 0; w < V; ++w) {
    mass[w] = std::pow(static_cast<double>(cnt[w]), 0.75) / total * V;
    if (mass[w] > 0) (mass[w] < 1 ? small : large).push_back(w);
  }
  // Words never seen go last in `small`, so they are paired first, while `large` cannot be empty yet.
  for (int64_t w = 0; w < V; ++w)
    if (mass[w] <= 0) small.push_back(w);
  keep.assign(V, 65536);
  alias.resize(V);
  for (int64_t w = 0; w < V; ++w) alias[w] = w;
  while (!small.empty() && !large.empty()) {
    const int64_t s = small.back(), l = large.back();
    small.pop_back();
    keep[s] = static_cast<uint32_t>(std::llround(mass[s] * 65536));
    alias[s] = l;
    mass[l] -= 1 - mass[s];
    if (mass[l] < 1) {
      large.pop_back();
      small.push_back(l);
    }
  }
}

struct ThreadResult {
  int64_t effective = 0;
  float alpha = 0;  // the rate of its last sentence
};

inline float gradient_scale(const Shared& sh, float f, float label, float alpha) {
  if (f >= kMaxExp) return (label - 1) * alpha;
  if (f > -kMaxExp) {
    int i = std::min(kExpTableSize - 1, static_cast<int>((f + kMaxExp) * (kExpTableSize / kMaxExp / 2)));
    return (label - sh.sigmoid[i]) * alpha;
  }
  return label * alpha;  // f <= -kMaxExp, or NaN
}

// One positive target and cfg.negative noise targets against the input vector h [D]; the gradient for h
// is accumulated into e [D] and the output vectors are updated in place.
inline void negative_sampling(Shared& sh, const Word2VecConfig& cfg, int64_t word, const float* h, float* e,
                              float alpha, uint64_t& rnd) {
  const int64_t D = sh.D;
  for (int64_t k = 0; k <= cfg.negative; ++k) {
    int64_t target = word;
    float label = 1;
    if (k > 0) {
      const uint64_t r = lcg(rnd);
      const int64_t bucket = static_cast<int64_t>(((r >> 32) * static_cast<uint64_t>(sh.V)) >> 32);
      target = ((r >> 16) & 0xFFFF) < sh.noise_keep[bucket] ? bucket : sh.noise_alias[bucket];
      if (target == word) continue;
      label = 0;
    }
    float* out = sh.syn1 + target * D;
    const float g = gradient_scale(sh, dot(h, out, D), label, alpha);
    axpy(g, out, e, D);
    axpy(g, h, out, D);
  }
}

// Trains on one sentence (or a kMaxSentence-word piece of a longer one) after subsampling: sen [n] ids.
void train_sentence(Shared& sh, const Word2VecConfig& cfg, const int64_t* sen, int64_t n, float alpha,
                    uint64_t& rnd, float* neu1, float* neu1e) {
  const int64_t D = sh.D, W = cfg.window;
  for (int64_t pos = 0; pos < n; ++pos) {
    const int64_t word = sen[pos];
    const int64_t b = static_cast<int64_t>((lcg(rnd) >> 32) % static_cast<uint64_t>(W));  // window W - b
    const int64_t lo = std::max<int64_t>(0, pos - W + b), hi = std::min<int64_t>(n - 1, pos + W - b);
    if (cfg.sg) {  // each context word's vector predicts the centre word, as word2vec.c
      for (int64_t c = lo; c <= hi; ++c) {
        if (c == pos) continue;
        float* h = sh.syn0 + sen[c] * D;
        std::fill(neu1e, neu1e + D, 0.0f);
        negative_sampling(sh, cfg, word, h, neu1e, alpha, rnd);
        axpy(1.0f, neu1e, h, D);
      }
    } else {  // the mean of the context vectors predicts the centre word; its gradient goes to each of them
      std::fill(neu1, neu1 + D, 0.0f);
      int64_t cw = 0;
      for (int64_t c = lo; c <= hi; ++c) {
        if (c == pos) continue;
        axpy(1.0f, sh.syn0 + sen[c] * D, neu1, D);
        ++cw;
      }
      if (cw == 0) continue;
      for (int64_t d = 0; d < D; ++d) neu1[d] /= static_cast<float>(cw);
      std::fill(neu1e, neu1e + D, 0.0f);
      negative_sampling(sh, cfg, word, neu1, neu1e, alpha, rnd);
      for (int64_t c = lo; c <= hi; ++c)
        if (c != pos) axpy(1.0f, neu1e, sh.syn0 + sen[c] * D, D);
    }
  }
}

void train_thread(Shared& sh, const Word2VecConfig& cfg, int64_t s0, int64_t s1, uint64_t seed,
                  std::vector<int64_t>& sen, std::vector<float>& neu1, std::vector<float>& neu1e, ThreadResult& res) {
  const float alpha0 = static_cast<float>(cfg.alpha), min_alpha = static_cast<float>(cfg.min_alpha);
  uint64_t rnd = seed;
  res.alpha = alpha0;
  for (int64_t epoch = 0; epoch < cfg.epochs; ++epoch) {
    for (int64_t s = s0; s < s1; ++s) {
      for (int64_t begin = sh.offsets[s]; begin < sh.offsets[s + 1]; begin += kMaxSentence) {
        const int64_t end = std::min(begin + kMaxSentence, sh.offsets[s + 1]);
        // the rate follows the words all threads have walked so far
        const int64_t done = sh.words_done.fetch_add(end - begin);
        res.alpha = std::max(min_alpha, alpha0 - (alpha0 - min_alpha) * static_cast<float>(done) /
                                                     static_cast<float>(sh.total_words));
        sen.clear();
        for (int64_t i = begin; i < end; ++i) {
          const int64_t w = sh.corpus[i];
          if (cfg.sample > 0 && (lcg(rnd) >> 40) >= sh.keep[w]) continue;
          sen.push_back(w);  // capacity reserved for kMaxSentence words: never reallocates
        }
        res.effective += static_cast<int64_t>(sen.size());
        train_sentence(sh, cfg, sen.data(), static_cast<int64_t>(sen.size()), res.alpha, rnd, neu1.data(),
                       neu1e.data());
      }
    }
  }
}

void check_vector(const char* name, const Tensor& t) {
  BPX_CHECK(t.defined() && t.dtype() == DType::Int64 && t.dim() == 1 && t.is_contiguous(), TypeError, "word2vec: ",
            name, " must be a contiguous 1-D int64 tensor, got ",
            t.defined() ? cat(dtype_name(t.dtype()), " of shape ", shape_str(t.shape())) : std::string("undefined"));
}

void check_matrix(const char* name, const Tensor& t, int64_t V) {
  BPX_CHECK(t.defined() && t.dtype() == DType::Float32 && t.is_contiguous(), TypeError, "word2vec: ", name,
            " must be a contiguous float32 tensor, got ",
            t.defined() ? cat(dtype_name(t.dtype()), " of shape ", shape_str(t.shape())) : std::string("undefined"));
  BPX_CHECK(t.dim() == 2 && t.shape()[0] == V && t.shape()[1] >= 1, ValueError, "word2vec: ", name,
            " must have shape [V, D] = [", V, ", D >= 1] for ", V, " vocabulary counts, got ", shape_str(t.shape()));
}

void check_config(const Word2VecConfig& c) {
  BPX_CHECK(c.window >= 1, ValueError, "word2vec: window must be >= 1, got ", c.window);
  BPX_CHECK(c.negative >= 1, ValueError, "word2vec: negative must be >= 1, got ", c.negative);
  BPX_CHECK(c.sample >= 0 && std::isfinite(c.sample), ValueError, "word2vec: sample must be >= 0, got ", c.sample);
  BPX_CHECK(c.alpha > 0 && std::isfinite(c.alpha), ValueError, "word2vec: alpha must be > 0, got ", c.alpha);
  BPX_CHECK(c.min_alpha >= 0 && c.min_alpha <= c.alpha, ValueError, "word2vec: min_alpha must be in [0, alpha = ",
            c.alpha, "], got ", c.min_alpha);
  BPX_CHECK(c.epochs >= 1, ValueError, "word2vec: epochs must be >= 1, got ", c.epochs);
  BPX_CHECK(c.workers >= 1 && c.workers <= kMaxWorkers, ValueError, "word2vec: workers must be in [1, ", kMaxWorkers,
            "], got ", c.workers);
}

}  // namespace

Word2VecStats word2vec_train(const Tensor& corpus, const Tensor& offsets, const Tensor& counts, Tensor& syn0,
                             Tensor& syn1neg, const Word2VecConfig& cfg) {
  check_config(cfg);
  check_vector("corpus", corpus);
  check_vector("offsets", offsets);
  check_vector("counts", counts);
  const int64_t N = corpus.numel(), S = offsets.numel() - 1, V = counts.numel();
  BPX_CHECK(V >= 1, ValueError, "word2vec: the vocabulary is empty (counts has 0 entries)");
  check_matrix("syn0", syn0, V);
  check_matrix("syn1neg", syn1neg, V);
  BPX_CHECK(syn1neg.shape() == syn0.shape(), ValueError, "word2vec: syn1neg of shape ", shape_str(syn1neg.shape()),
            " for syn0 of shape ", shape_str(syn0.shape()));
  BPX_CHECK(S >= 0, ValueError, "word2vec: offsets must hold S + 1 >= 1 entries (0 first, ", N, " last), got 0");
  const int64_t* off = offsets.data<int64_t>();
  BPX_CHECK(off[0] == 0 && off[S] == N, ValueError, "word2vec: offsets must start at 0 and end at the corpus size ",
            N, ", got ", off[0], " and ", off[S], " (", S + 1, " offsets)");
  int64_t longest = 0;
  for (int64_t s = 0; s < S; ++s) {
    BPX_CHECK(off[s + 1] >= off[s], ValueError, "word2vec: offsets must not decrease, got offsets[", s, "] = ", off[s],
              " > offsets[", s + 1, "] = ", off[s + 1]);
    longest = std::max(longest, std::min(off[s + 1] - off[s], kMaxSentence));
  }
  const int64_t* ids = corpus.data<int64_t>();
  for (int64_t i = 0; i < N; ++i)
    BPX_CHECK(ids[i] >= 0 && ids[i] < V, IndexError, "word2vec: word id ", ids[i], " at corpus position ", i,
              " is out of range for a vocabulary of ", V, " words");
  const int64_t* cnt = counts.data<int64_t>();
  double train_words = 0, noise_total = 0;
  for (int64_t w = 0; w < V; ++w) {
    BPX_CHECK(cnt[w] >= 0, ValueError, "word2vec: counts[", w, "] = ", cnt[w], " is negative");
    train_words += static_cast<double>(cnt[w]);
    noise_total += std::pow(static_cast<double>(cnt[w]), 0.75);
  }
  BPX_CHECK(train_words > 0, ValueError, "word2vec: the ", V, " vocabulary counts are all 0");

  BPX_CHECK(N == 0 || cfg.epochs <= std::numeric_limits<int64_t>::max() / N, ValueError, "word2vec: ", cfg.epochs,
            " epochs of ", N, " words overflow the word count");
  Word2VecStats st;
  st.final_alpha = cfg.alpha;
  if (N == 0) return st;

  Shared sh;
  sh.corpus = ids;
  sh.offsets = off;
  sh.syn0 = syn0.data<float>();
  sh.syn1 = syn1neg.data<float>();
  sh.V = V;
  sh.D = syn0.shape()[1];
  sh.total_words = cfg.epochs * N;
  // keep = (sqrt(c / t) + 1) * t / c with t = sample * train_words, as word2vec.c and gensim.
  sh.keep.assign(V, kKeepAll);
  if (cfg.sample > 0) {
    const double t = cfg.sample * train_words;
    for (int64_t w = 0; w < V; ++w) {
      const double p = cnt[w] > 0 ? (std::sqrt(cnt[w] / t) + 1) * t / cnt[w] : 1.0;
      sh.keep[w] = static_cast<uint32_t>(std::llround(std::min(p, 1.0) * kKeepAll));
    }
  }
  build_alias_table(cnt, V, noise_total, sh.noise_keep, sh.noise_alias);
  sh.sigmoid.resize(kExpTableSize);
  for (int i = 0; i < kExpTableSize; ++i) {
    const double e = std::exp((i / static_cast<double>(kExpTableSize) * 2 - 1) * kMaxExp);
    sh.sigmoid[i] = static_cast<float>(e / (e + 1));
  }

  // Threads own contiguous sentence ranges holding about N / T words each.
  const int T = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(cfg.workers, S)));
  std::vector<int64_t> first(T + 1, S);
  for (int t = 0; t < T; ++t) first[t] = std::lower_bound(off, off + S, N / T * t + std::min<int64_t>(t, N % T)) - off;
  std::vector<std::vector<int64_t>> sen(T);
  std::vector<std::vector<float>> neu1(T, std::vector<float>(sh.D)), neu1e(T, std::vector<float>(sh.D));
  for (auto& v : sen) v.reserve(longest);
  std::vector<ThreadResult> res(T);

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  pool.reserve(T);
  try {
    for (int t = 0; t < T; ++t)
      pool.emplace_back(train_thread, std::ref(sh), std::cref(cfg), first[t], first[t + 1], cfg.seed + t,
                        std::ref(sen[t]), std::ref(neu1[t]), std::ref(neu1e[t]), std::ref(res[t]));
  } catch (const std::system_error& e) {
    for (auto& th : pool) th.join();
    throw RuntimeError(cat("word2vec: could not start ", T, " worker threads (", e.what(), "); ", pool.size(),
                           " ran"));
  }
  for (auto& th : pool) th.join();
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  st.words = sh.total_words;
  for (const auto& r : res) {
    st.effective_words += r.effective;
    st.final_alpha = std::min(st.final_alpha, static_cast<double>(r.alpha));
  }
  st.words_per_sec = st.seconds > 0 ? st.words / st.seconds : 0;
  syn0.bump_version();
  syn1neg.bump_version();
  return st;
}

}  // namespace backpropx
