"""Word2Vec (skip-gram and CBOW with negative sampling) trained by a multi-threaded C++ kernel, as word2vec.c.

    >>> model = Word2Vec([["the", "cat", "sat"], ["the", "dog", "sat"]] * 200, vector_size=16, min_count=1, sample=0)
    >>> model.most_similar("cat", topn=1)
    [('dog', 0.99...)]

Python builds the vocabulary and turns the corpus into one int64 array; the training itself (subsampling,
dynamic windows, noise sampling, the learning-rate decay and the Hogwild updates) runs in
cpp/src/word2vec.cpp without the GIL.
"""
from __future__ import annotations

import collections
import itertools
import math
import os
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _C, from_numpy, get_num_threads
from ..data.text import atomic_write

PathLike = Union[str, "os.PathLike[str]"]
Sentences = Iterable[Sequence[str]]


class LineSentence:
    """The sentences of a text file, one per line, as whitespace-separated tokens; iterable many times.

        >>> model = Word2Vec(LineSentence("ptb.train.txt"))

    Lines longer than max_sentence_length tokens are cut into several sentences (as gensim's)."""

    def __init__(self, path: PathLike, max_sentence_length: int = 10000, limit: Optional[int] = None):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"LineSentence: {self.path}: no such file")
        if max_sentence_length < 1:
            raise ValueError(f"LineSentence: max_sentence_length must be >= 1, got {max_sentence_length}")
        self.max_sentence_length = max_sentence_length
        self.limit = limit

    def __iter__(self) -> Iterator[List[str]]:
        n = self.max_sentence_length
        with open(self.path, encoding="utf-8") as f:
            lines = itertools.islice(f, self.limit)
            lineno = 0
            try:
                for lineno, line in enumerate(lines, 1):
                    tokens = line.split()
                    for i in range(0, len(tokens), n):
                        yield tokens[i:i + n]
            except UnicodeDecodeError as e:
                raise ValueError(f"LineSentence: {self.path}: line {lineno + 1} is not UTF-8 ({e})") from None


def _flatten(sentences: Sentences, where: str) -> Tuple[List[str], np.ndarray]:
    """All tokens one after the other, and the [S] int64 sentence lengths."""
    if sentences is None:
        raise TypeError(f"{where}: expected an iterable of sentences (lists of str tokens), got None")
    if isinstance(sentences, (str, bytes)):
        raise TypeError(f"{where}: expected an iterable of sentences (lists of str tokens), got a single "
                        f"{type(sentences).__name__}; use LineSentence(path) to read a file")
    tokens: List[str] = []
    lengths: List[int] = []
    for i, s in enumerate(sentences):
        if isinstance(s, (str, bytes)):
            raise TypeError(f"{where}: sentence {i} is a {type(s).__name__}, expected a list of str tokens "
                            f"(split it, e.g. line.split())")
        before = len(tokens)
        tokens.extend(s)
        lengths.append(len(tokens) - before)
    return tokens, np.asarray(lengths, dtype=np.int64)


def _unit_rows(m: np.ndarray) -> np.ndarray:
    """m's rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, np.finfo(np.float32).tiny)


def _rankdata(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given the average of their ranks (scipy.stats.rankdata's 'average')."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    avg = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    den = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / den if den > 0 else float("nan")


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation with average ranks for ties (nan if either side is constant).

        >>> spearman([1, 2, 3], [1, 3, 2])
        0.5
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"spearman: expected two 1-D sequences of the same length, got {x.shape} and {y.shape}")
    if len(x) < 2:
        return float("nan")
    return _pearson(_rankdata(x), _rankdata(y))


def _check_int(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"Word2Vec: {name} must be an int, got {type(v).__name__}")
    v = int(v.__index__())
    if v < lo:
        raise ValueError(f"Word2Vec: {name} must be >= {lo}, got {v}")
    return v


def _check_float(name: str, v, lo: float, strict: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise TypeError(f"Word2Vec: {name} must be a number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v) or v < lo or (strict and v == lo):
        raise ValueError(f"Word2Vec: {name} must be {'>' if strict else '>='} {lo}, got {v}")
    return v


class Word2Vec:
    """Word vectors trained with negative sampling, skip-gram (sg=1) or CBOW (sg=0), gensim's API.

        >>> model = Word2Vec(LineSentence("corpus.txt"), vector_size=100, window=5, min_count=5, workers=2)

    vectors [V, D] float32 are the input vectors (the kernel updates this array in place), row i is the word
    index_to_key[i]; words are ordered by decreasing count. workers=None uses bx.get_num_threads() threads;
    workers=1 with a fixed seed is deterministic. The learning rate falls linearly from alpha to min_alpha over
    all the epochs of one train() call. max_vocab_size keeps the most frequent words only."""

    def __init__(self, sentences: Optional[Sentences] = None, vector_size: int = 100, window: int = 5,
                 min_count: int = 5, sg: int = 1, negative: int = 5, sample: float = 1e-3, alpha: float = 0.025,
                 min_alpha: float = 1e-4, epochs: int = 5, workers: Optional[int] = None, seed: int = 1,
                 max_vocab_size: Optional[int] = None):
        self.vector_size = _check_int("vector_size", vector_size, 1)
        self.window = _check_int("window", window, 1)
        self.min_count = _check_int("min_count", min_count, 0)
        if sg not in (0, 1):
            raise ValueError(f"Word2Vec: sg must be 1 (skip-gram) or 0 (CBOW), got {sg!r}")
        self.sg = int(sg)
        self.negative = _check_int("negative", negative, 1)
        self.sample = _check_float("sample", sample, 0.0)
        self.alpha = _check_float("alpha", alpha, 0.0, strict=True)
        self.min_alpha = _check_float("min_alpha", min_alpha, 0.0)
        if self.min_alpha > self.alpha:
            raise ValueError(f"Word2Vec: min_alpha ({self.min_alpha}) must not exceed alpha ({self.alpha})")
        self.epochs = _check_int("epochs", epochs, 1)
        self.workers = get_num_threads() if workers is None else _check_int("workers", workers, 1)
        self.seed = _check_int("seed", seed, -(2 ** 63)) % 2 ** 64
        self.max_vocab_size = None if max_vocab_size is None else _check_int("max_vocab_size", max_vocab_size, 1)
        self.index_to_key: List[str] = []
        self.key_to_index: Dict[str, int] = {}
        self.counts: Optional[np.ndarray] = None     # [V] int64
        self.vectors = np.zeros((0, self.vector_size), np.float32)
        self.syn1neg: Optional[np.ndarray] = None    # [V, D] float32 output vectors
        self.corpus_count = 0
        self.corpus_total_words = 0
        self.last_stats: Optional[dict] = None
        self._train_calls = 0
        if sentences is not None:  # read once for both steps, so a one-shot generator is fine
            tokens, lengths = _flatten(sentences, "Word2Vec")
            self._build_vocab_from(tokens, lengths)
            self._train_arrays(*self._encode(tokens, lengths, "Word2Vec"), self.epochs)

    # ---- vocabulary and training ---------------------------------------------------------------------------

    def build_vocab(self, sentences: Sentences) -> "Word2Vec":
        """Counts the words, keeps those seen min_count times or more and initialises the weights.

            >>> model = Word2Vec(min_count=1).build_vocab([["a", "b"], ["b", "c"]])
        """
        self._build_vocab_from(*_flatten(sentences, "Word2Vec.build_vocab"))
        return self

    def _build_vocab_from(self, tokens: List[str], lengths: np.ndarray) -> None:
        if not tokens:
            raise ValueError(f"Word2Vec: the corpus is empty ({len(lengths)} sentences, no tokens)")
        counter = collections.Counter(tokens)
        bad = next((w for w in counter if not isinstance(w, str)), None)
        if bad is not None:
            raise TypeError(f"Word2Vec: tokens must be str, got {type(bad).__name__} {bad!r}")
        # most frequent first; ties keep the order of first appearance (Counter keeps insertion order)
        kept = sorted(((w, c) for w, c in counter.items() if c >= self.min_count), key=lambda wc: -wc[1])
        if not kept:
            raise ValueError(f"Word2Vec: the vocabulary is empty after min_count={self.min_count}: none of the "
                             f"{len(counter)} distinct words occurs that often (the most frequent, "
                             f"{counter.most_common(1)[0][0]!r}, occurs {counter.most_common(1)[0][1]} times)")
        if self.max_vocab_size is not None:
            kept = kept[:self.max_vocab_size]
        self.index_to_key = [w for w, _ in kept]
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        self.counts = np.array([c for _, c in kept], dtype=np.int64)
        V, D = len(kept), self.vector_size
        rng = np.random.default_rng(self.seed)
        self.vectors = ((rng.random((V, D), dtype=np.float32) - 0.5) / D).astype(np.float32)
        self.syn1neg = np.zeros((V, D), np.float32)
        self._train_calls = 0

    def _encode(self, tokens: List[str], lengths: np.ndarray, where: str) -> Tuple[np.ndarray, np.ndarray]:
        """[N] int64 ids of the in-vocabulary tokens and [S + 1] sentence offsets (out-of-vocabulary words are
        dropped before windows are taken, as word2vec.c)."""
        get = self.key_to_index.get
        ids = np.fromiter(map(get, tokens, itertools.repeat(-1)), dtype=np.int64, count=len(tokens))
        known = ids >= 0
        sentence_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        kept_per_sentence = np.bincount(sentence_of[known], minlength=len(lengths))
        offsets = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(kept_per_sentence, out=offsets[1:])
        ids = np.ascontiguousarray(ids[known])
        if len(ids) == 0:
            raise ValueError(f"{where}: none of the corpus's {len(tokens)} tokens is in the vocabulary of "
                             f"{len(self.index_to_key)} words")
        self.corpus_count, self.corpus_total_words = len(lengths), len(tokens)
        return ids, offsets

    def train(self, sentences: Sentences, epochs: Optional[int] = None) -> dict:
        """Trains on the sentences (words outside the vocabulary are skipped) for `epochs` (default: the
        model's) and returns {"words", "effective_words", "seconds", "words_per_sec", "final_alpha"}.

            >>> stats = model.train(LineSentence("corpus.txt"), epochs=1); stats["words_per_sec"]
        """
        if self.syn1neg is None or self.counts is None:
            raise ValueError("Word2Vec.train: no vocabulary (call build_vocab first; a model loaded from the "
                             "word2vec format has no output weights and cannot be trained further)")
        epochs = self.epochs if epochs is None else _check_int("epochs", epochs, 1)
        tokens, lengths = _flatten(sentences, "Word2Vec.train")
        if not tokens:
            raise ValueError(f"Word2Vec.train: the corpus is empty ({len(lengths)} sentences, no tokens)")
        return self._train_arrays(*self._encode(tokens, lengths, "Word2Vec.train"), epochs)

    def _train_arrays(self, ids: np.ndarray, offsets: np.ndarray, epochs: int) -> dict:
        # thread t of call k seeds its generator with seed * 2**20 + k * 1024 + t: reproducible, and a second
        # train() call does not replay the first one's random draws
        seed = (self.seed * 2 ** 20 + self._train_calls * 1024) % 2 ** 64
        self._train_calls += 1
        stats = _C._word2vec_train(from_numpy(ids), from_numpy(offsets), from_numpy(self.counts),
                                   from_numpy(self.vectors), from_numpy(self.syn1neg), bool(self.sg), self.window,
                                   self.negative, self.sample, self.alpha, self.min_alpha, epochs, self.workers, seed)
        self.last_stats = stats
        return stats

    # ---- lookups and similarities --------------------------------------------------------------------------

    @property
    def wv(self) -> "Word2Vec":
        """The model itself (gensim keeps the vectors in model.wv; here they are on the model)."""
        return self

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def _index(self, word: str) -> int:
        try:
            return self.key_to_index[word]
        except (KeyError, TypeError):
            raise KeyError(f"word {word!r} not in vocabulary ({len(self.index_to_key)} words)") from None

    def __getitem__(self, word: Union[str, Sequence[str]]) -> np.ndarray:
        """The word's [D] vector (a view), or [n, D] for a list of words. `model["cat"]`"""
        if isinstance(word, str):
            return self.vectors[self._index(word)]
        return self.vectors[[self._index(w) for w in word]]

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The word's vector, scaled to unit length if norm. `model.get_vector("cat", norm=True)`"""
        v = self[word]
        return v / max(float(np.linalg.norm(v)), np.finfo(np.float32).tiny) if norm else v

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words. `model.similarity("cat", "dog")`"""
        a, b = self.get_vector(w1, norm=True), self.get_vector(w2, norm=True)
        return float(np.dot(a, b))

    def most_similar(self, positive: Union[str, Sequence[str], None] = None,
                     negative: Union[str, Sequence[str], None] = None, topn: int = 10,
                     restrict_vocab: Optional[int] = None) -> List[Tuple[str, float]]:
        """The topn words closest (cosine) to the mean of the unit vectors of `positive` minus those of
        `negative`, the query words themselves left out. `model.most_similar(["king", "woman"], ["man"])`"""
        positive = [positive] if isinstance(positive, str) else list(positive or [])
        negative = [negative] if isinstance(negative, str) else list(negative or [])
        if not positive and not negative:
            raise ValueError("most_similar: give at least one word in positive or negative")
        topn = _check_int("topn", topn, 1)
        idx = [self._index(w) for w in positive + negative]
        unit = _unit_rows(self.vectors if restrict_vocab is None else self.vectors[:restrict_vocab])
        signs = np.array([1.0] * len(positive) + [-1.0] * len(negative), np.float32)
        query = signs @ _unit_rows(self.vectors[idx])
        query /= max(float(np.linalg.norm(query)), np.finfo(np.float32).tiny)
        sims = unit @ query
        sims[[i for i in idx if i < len(sims)]] = -np.inf
        k = min(topn, len(sims) - len(set(i for i in idx if i < len(sims))))
        if k <= 0:
            return []
        best = np.argpartition(-sims, k - 1)[:k]
        best = best[np.argsort(-sims[best], kind="stable")]
        return [(self.index_to_key[i], float(sims[i])) for i in best]

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others' unit vectors (words outside the vocabulary are
        ignored). `model.doesnt_match(["cat", "dog", "car"])`"""
        known = [w for w in words if w in self.key_to_index]
        if not known:
            raise ValueError(f"doesnt_match: none of {list(words)!r} is in the vocabulary")
        unit = _unit_rows(self.vectors[[self.key_to_index[w] for w in known]])
        mean = unit.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), np.finfo(np.float32).tiny)
        return known[int(np.argmin(unit @ mean))]

    # ---- evaluation ----------------------------------------------------------------------------------------

    def _lookup(self, restrict_vocab: int, case_insensitive: bool) -> Dict[str, int]:
        """key -> index over the restrict_vocab most frequent words; case-insensitive keys are lowercased and
        map to the most frequent of their spellings (as gensim's evaluations)."""
        words = self.index_to_key[:restrict_vocab]
        if not case_insensitive:
            return {w: i for i, w in enumerate(words)}
        out: Dict[str, int] = {}
        for i, w in enumerate(words):
            out.setdefault(w.lower(), i)
        return out

    def evaluate_word_pairs(self, pairs: Union[PathLike, Iterable[Tuple[str, str, float]]],
                            restrict_vocab: int = 300000,
                            case_insensitive: bool = True) -> Tuple[float, float, float]:
        """(Spearman, Pearson, oov_ratio) of the model's cosine similarities against human scores.

            >>> spearman, pearson, oov = model.evaluate_word_pairs("wordsim353.tsv")

        pairs: a file of `word1<TAB>word2<TAB>score` lines ('#' comments, blank lines and a header line are
        skipped) or (word1, word2, score) tuples. Pairs with a word outside the vocabulary are left out;
        oov_ratio is their fraction (0..1). The correlations are nan with fewer than 2 usable pairs."""
        triples = _read_pairs(pairs)
        lookup = self._lookup(restrict_vocab, case_insensitive)
        key = str.lower if case_insensitive else (lambda s: s)
        a, b, gold = [], [], []
        for w1, w2, score in triples:
            i, j = lookup.get(key(w1)), lookup.get(key(w2))
            if i is not None and j is not None:
                a.append(i)
                b.append(j)
                gold.append(score)
        oov = (len(triples) - len(gold)) / len(triples) if triples else 0.0
        if len(gold) < 2:
            return float("nan"), float("nan"), oov
        unit = _unit_rows(self.vectors)
        sims = np.einsum("ij,ij->i", unit[a].astype(np.float64), unit[b].astype(np.float64))
        gold = np.asarray(gold, np.float64)
        return spearman(sims, gold), _pearson(sims, gold), oov

    def evaluate_analogies(self, questions: Union[PathLike, Iterable], restrict_vocab: int = 300000,
                           case_insensitive: bool = True, sections: bool = False):
        """Accuracy of 3CosAdd (d = argmax cos(x, b - a + c) over the vocabulary less a, b, c, with unit
        vectors) on the questions whose four words are all in the restrict_vocab most frequent words.

            >>> acc = model.evaluate_analogies("questions-words.txt")

        questions: a file in the Google analogy format (`: section` lines, then `a b c d` lines), or such lines,
        or (a, b, c, d) tuples. sections=True also returns {section: (correct, total)}. The accuracy is nan
        when no question is in the vocabulary."""
        parsed = _read_analogies(questions)
        lookup = self._lookup(restrict_vocab, case_insensitive)
        key = str.lower if case_insensitive else (lambda s: s)
        rows, names = [], []
        for section, words in parsed:
            ids = [lookup.get(key(w)) for w in words]
            if all(i is not None for i in ids):
                rows.append(ids)
                names.append(section)
        per_section: Dict[str, List[int]] = {}
        for section, _ in parsed:
            per_section.setdefault(section, [0, 0])
        correct = np.zeros(len(rows), bool)
        if rows:
            q = np.asarray(rows, np.int64)
            unit = _unit_rows(self.vectors[:restrict_vocab])
            chunk = max(1, min(512, 2 ** 24 // len(unit)))  # [chunk, V] scores at a time
            for s in range(0, len(q), chunk):
                qa, qb, qc, qd = q[s:s + chunk].T
                scores = (unit[qb] - unit[qa] + unit[qc]) @ unit.T
                r = np.arange(len(qa))
                scores[r, qa] = scores[r, qb] = scores[r, qc] = -np.inf
                correct[s:s + chunk] = scores.argmax(axis=1) == qd
        for name, ok in zip(names, correct):
            per_section[name][0] += int(ok)
            per_section[name][1] += 1
        acc = float(correct.mean()) if rows else float("nan")
        if sections:
            return acc, {k: (v[0], v[1]) for k, v in per_section.items()}
        return acc

    # ---- the word2vec file format --------------------------------------------------------------------------

    def save_word2vec_format(self, path: PathLike, binary: bool = False) -> None:
        """Writes the vectors in word2vec.c's format: a `V D` header, then `word v1 ... vD` lines (binary: the
        word, a space and D little-endian float32). The write is atomic. `model.save_word2vec_format("v.txt")`"""
        path = os.fspath(path)
        for w in self.index_to_key:
            if not w or any(ch.isspace() for ch in w):
                raise ValueError(f"save_word2vec_format: the word {w!r} is empty or holds whitespace, which the "
                                 f"word2vec format cannot store")
        V, D = self.vectors.shape
        with atomic_write(path) as f:
            f.write(f"{V} {D}\n".encode())
            if binary:
                rows = self.vectors.astype("<f4")
                for w, row in zip(self.index_to_key, rows):
                    f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                fmt = " ".join(["%.9g"] * D)  # 9 significant digits round-trip float32 exactly
                for w, row in zip(self.index_to_key, self.vectors.tolist()):
                    f.write((w + " " + fmt % tuple(row) + "\n").encode("utf-8"))

    @classmethod
    def load_word2vec_format(cls, path: PathLike, binary: bool = False) -> "Word2Vec":
        """A model holding the vectors of a word2vec-format file (text, or binary=True); it answers
        most_similar, similarity and the evaluations but has no output weights to train on.

            >>> model = Word2Vec.load_word2vec_format("vectors.txt"); model.most_similar("cat")
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load_word2vec_format: {path}: no such file")
        with open(path, "rb") as f:
            words, vectors = (_read_binary if binary else _read_text)(f, path)
        model = cls(vector_size=vectors.shape[1], min_count=1, workers=1)
        model.index_to_key = words
        model.key_to_index = {w: i for i, w in enumerate(words)}
        model.vectors = vectors
        return model


# ---- readers ---------------------------------------------------------------------------------------------------

def _header(line: bytes, path: str) -> Tuple[int, int]:
    parts = line.split()
    try:
        V, D = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"{path}: line 1: expected a header `vocab_size vector_size`, got {line[:80]!r}") from None
    if V < 1 or D < 1:
        raise ValueError(f"{path}: line 1: the header says {V} words of {D} dimensions, expected both >= 1")
    return V, D


def _decode(raw: bytes, path: str, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: line {lineno}: not UTF-8") from None


def _add_word(words: List[str], seen: set, w: str, path: str, lineno: int) -> None:
    if w in seen:
        raise ValueError(f"{path}: line {lineno}: the word {w!r} appears twice")
    seen.add(w)
    words.append(w)


def _read_text(f, path: str) -> Tuple[List[str], np.ndarray]:
    V, D = _header(f.readline(), path)
    words: List[str] = []
    seen: set = set()
    vectors = np.empty((V, D), np.float32)
    lineno = 1
    for raw in f:
        lineno += 1
        parts = _decode(raw, path, lineno).split()
        if not parts:
            continue
        if len(words) == V:
            raise ValueError(f"{path}: line {lineno}: more vectors than the {V} of the header")
        if len(parts) != D + 1:
            raise ValueError(f"{path}: line {lineno}: expected a word and {D} numbers, got {len(parts)} fields")
        try:
            vectors[len(words)] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            raise ValueError(f"{path}: line {lineno}: a value of {parts[0]!r} is not a number") from None
        _add_word(words, seen, parts[0], path, lineno)
    if len(words) != V:
        raise ValueError(f"{path}: line {lineno}: the file ends after {len(words)} of the header's {V} vectors")
    return words, vectors


def _read_binary(f, path: str) -> Tuple[List[str], np.ndarray]:
    V, D = _header(f.readline(), path)
    words: List[str] = []
    seen: set = set()
    vectors = np.empty((V, D), np.float32)
    for i in range(V):
        raw = bytearray()
        while True:
            ch = f.read(1)
            if not ch:
                raise ValueError(f"{path}: entry {i + 1}: the file ends inside a word ({len(words)} of {V} read)")
            if ch == b" ":
                break
            if ch != b"\n" or raw:
                raw += ch
        data = f.read(4 * D)
        if len(data) != 4 * D:
            raise ValueError(f"{path}: entry {i + 1}: the file ends inside the vector of {bytes(raw)!r}")
        vectors[i] = np.frombuffer(data, dtype="<f4")
        _add_word(words, seen, _decode(bytes(raw).strip(), path, i + 2), path, i + 2)
    return words, vectors


def _lines(source, what: str) -> Tuple[str, List[str]]:
    if isinstance(source, (str, bytes, os.PathLike)):
        path = os.fsdecode(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{what}: {path}: no such file")
        with open(path, encoding="utf-8") as f:
            return path, f.read().splitlines()
    return "", list(source)


def _read_pairs(source) -> List[Tuple[str, str, float]]:
    path, items = _lines(source, "evaluate_word_pairs")
    out: List[Tuple[str, str, float]] = []
    for lineno, item in enumerate(items, 1):
        where = f"{path}: line {lineno}" if path else f"evaluate_word_pairs: pair {lineno - 1}"
        if isinstance(item, str):
            line = item.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t") if "\t" in line else line.split()
        else:
            fields = list(item)
        if len(fields) != 3:
            raise ValueError(f"{where}: expected `word1<TAB>word2<TAB>score`, got {item!r}")
        try:
            score = float(fields[2])
        except (TypeError, ValueError):
            if path and not out:  # a header line such as `Word 1<TAB>Word 2<TAB>Human (mean)`
                continue
            raise ValueError(f"{where}: the score {fields[2]!r} is not a number") from None
        out.append((str(fields[0]).strip(), str(fields[1]).strip(), score))
    return out


def _read_analogies(source) -> List[Tuple[str, Tuple[str, str, str, str]]]:
    path, items = _lines(source, "evaluate_analogies")
    out: List[Tuple[str, Tuple[str, str, str, str]]] = []
    section = ""
    for lineno, item in enumerate(items, 1):
        where = f"{path}: line {lineno}" if path else f"evaluate_analogies: question {lineno - 1}"
        if isinstance(item, str):
            line = item.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(":"):
                section = line[1:].strip()
                continue
            words = line.split()
        else:
            words = list(item)
        if len(words) != 4 or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{where}: expected four words `a b c d`, got {item!r}")
        out.append((section, tuple(words)))
    return out
