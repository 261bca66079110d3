"""Text data: tokenizers, vocabularies, corpus readers, batching and the built-in samples.

    >>> from backpropx.data import WordTokenizer, Vocab, phrasebook
"""
from .text import (BOS, EOS, PAD, SPECIALS, UNK, CharTokenizer, Vocab, WordTokenizer, normalize,  # noqa: F401
                   tokenizer_from_config)
from .readers import DataError, read_labelled, read_lines, read_parallel_files, read_parallel_tsv, read_text  # noqa: F401
from .batching import batch_indices, pad_sequences  # noqa: F401
from .builtin import SEED_PAIRS, lm_corpus, phrasebook, sentiment  # noqa: F401
