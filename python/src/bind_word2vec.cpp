// Word2Vec training kernel behind backpropx.models.Word2Vec (python/backpropx/models/word2vec.py).
#include "backpropx/word2vec.h"

#include "bind_common.h"

namespace backpropx::python {

void bind_word2vec(py::module_& m) {
  using namespace py::literals;
  m.def("_word2vec_train", [](const Tensor& corpus, const Tensor& offsets, const Tensor& counts, Tensor syn0,
                              Tensor syn1neg, bool sg, int64_t window, int64_t negative, double sample, double alpha,
                              double min_alpha, int64_t epochs, int workers, uint64_t seed) {
    Word2VecConfig cfg;
    cfg.sg = sg;
    cfg.window = window;
    cfg.negative = negative;
    cfg.sample = sample;
    cfg.alpha = alpha;
    cfg.min_alpha = min_alpha;
    cfg.epochs = epochs;
    cfg.workers = workers;
    cfg.seed = seed;
    Word2VecStats st;
    {
      py::gil_scoped_release release;
      st = word2vec_train(corpus, offsets, counts, syn0, syn1neg, cfg);
    }
    return py::dict("words"_a = st.words, "effective_words"_a = st.effective_words, "seconds"_a = st.seconds,
                    "words_per_sec"_a = st.words_per_sec, "final_alpha"_a = st.final_alpha);
  }, "corpus"_a, "offsets"_a, "counts"_a, "syn0"_a, "syn1neg"_a, "sg"_a, "window"_a, "negative"_a, "sample"_a,
     "alpha"_a, "min_alpha"_a, "epochs"_a, "workers"_a, "seed"_a,
     "Trains word vectors in place with negative sampling (word2vec.c); returns {words, effective_words, seconds, "
     "words_per_sec, final_alpha}.");
}

}  // namespace backpropx::python
