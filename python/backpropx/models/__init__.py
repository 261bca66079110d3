"""The NLP models: feedforward, bag-of-words and CNN classifiers, RNN language models, word2vec, RNN seq2seq
with attention and the transformer translator.

    >>> from backpropx.models import Seq2Seq, TextCNN
"""
from .simple import SimpleNLPNetwork, SimpleTranslationModel  # noqa: F401
from .classifiers import BowClassifier, TextClassifier, TextCNN  # noqa: F401
from .language_model import RNNLanguageModel, batchify, bptt_chunks, detach_state, perplexity  # noqa: F401
from .decoding import Translator, beam_search, greedy_decode  # noqa: F401
from .seq2seq import Seq2Seq  # noqa: F401
from .transformer_translator import TransformerTranslator  # noqa: F401
from .word2vec import LineSentence, Word2Vec  # noqa: F401
