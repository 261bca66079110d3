"""Word2Vec: planted synonyms found by skip-gram and CBOW, determinism, threads, the word2vec file format, the
word-pair and analogy evaluations, and clear errors. Runs on synthetic corpora built here (a few seconds)."""
import numpy as np
import pytest

import backpropx as bx
from backpropx.models.word2vec import LineSentence, Word2Vec, spearman

CONTEXTS = [f"c{i}" for i in range(30)]


def synthetic_corpus(n_sentences=3000, n_classes=15, seed=0):
    """Sentences `4 context words + a filler`. Each class of fillers has its own random set of 6 context words;
    class 0's filler is "syna" or "synb" (the planted synonyms: identical contexts), class k's is f"w{k}"."""
    rng = np.random.default_rng(seed)
    sets = [rng.choice(len(CONTEXTS), 6, replace=False) for _ in range(n_classes)]
    out = []
    for _ in range(n_sentences):
        k = int(rng.integers(n_classes))
        filler = ("syna", "synb")[int(rng.integers(2))] if k == 0 else f"w{k}"
        words = [CONTEXTS[i] for i in rng.choice(sets[k], 4, replace=False)]
        words.insert(2, filler)
        out.append(words)
    return out


CORPUS = synthetic_corpus()
FAST = dict(vector_size=24, window=3, min_count=1, negative=5, sample=0, epochs=8, seed=7)


@pytest.mark.parametrize("sg", [1, 0])
def test_planted_synonyms_are_nearest_neighbours(sg):
    m = Word2Vec(CORPUS, sg=sg, workers=1, **dict(FAST, alpha=0.025 if sg else 0.05))
    assert m.most_similar("syna", topn=1)[0][0] == "synb"
    assert m.most_similar("synb", topn=1)[0][0] == "syna"
    assert m.similarity("syna", "synb") > m.similarity("syna", "w3")
    assert m.vectors.dtype == np.float32 and m.vectors.shape == (len(m.index_to_key), 24)
    assert all(m.key_to_index[w] == i for i, w in enumerate(m.index_to_key))


def test_training_stats_and_vocab_order():
    m = Word2Vec(vector_size=8, min_count=1, epochs=3, workers=1).build_vocab(CORPUS)
    assert list(m.counts) == sorted(m.counts, reverse=True)
    assert "syna" in m and "nope" not in m and len(m) == len({w for s in CORPUS for w in s})
    stats = m.train(CORPUS)
    n = sum(len(s) for s in CORPUS)
    assert stats["words"] == 3 * n and 0 < stats["effective_words"] <= stats["words"]  # sample=1e-3 drops some
    assert stats["words_per_sec"] > 0 and stats["final_alpha"] == pytest.approx(1e-4, abs=1e-4)  # linear decay
    assert m.train(CORPUS, epochs=1)["words"] == n


def test_deterministic_with_one_worker_and_a_seed():
    a = Word2Vec(CORPUS[:800], workers=1, **FAST)
    b = Word2Vec(CORPUS[:800], workers=1, **FAST)
    c = Word2Vec(CORPUS[:800], workers=1, **dict(FAST, seed=8))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
    assert not np.array_equal(a.vectors, c.vectors)


def test_multithreaded_training():
    m = Word2Vec(CORPUS, workers=4, **FAST)
    assert np.isfinite(m.vectors).all()
    assert m.last_stats["words"] == FAST["epochs"] * sum(len(s) for s in CORPUS)
    assert m.most_similar("syna", topn=1)[0][0] == "synb"


def test_one_shot_iterator_and_line_sentence(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in CORPUS[:500]) + "\n")
    assert list(LineSentence(path))[:2] == CORPUS[:2]
    assert list(LineSentence(path, max_sentence_length=2))[:3] == [CORPUS[0][:2], CORPUS[0][2:4], CORPUS[0][4:]]
    a = Word2Vec(LineSentence(path), workers=1, **FAST)
    b = Word2Vec(iter(CORPUS[:500]), workers=1, **FAST)  # a generator is read once for vocab and training
    np.testing.assert_array_equal(a.vectors, b.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_round_trip(tmp_path, binary):
    m = Word2Vec(CORPUS[:1000], workers=1, **FAST)
    path = tmp_path / "vectors.txt"
    m.save_word2vec_format(path, binary=binary)
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.txt"]  # no temporary file left behind
    if not binary:
        assert path.read_text().splitlines()[0] == f"{len(m)} 24"
    r = Word2Vec.load_word2vec_format(path, binary=binary)
    assert r.index_to_key == m.index_to_key
    np.testing.assert_allclose(r.vectors, m.vectors, rtol=1e-6, atol=1e-7)
    assert [w for w, _ in r.most_similar("syna")] == [w for w, _ in m.most_similar("syna")]
    assert r.similarity("syna", "c1") == pytest.approx(m.similarity("syna", "c1"), abs=1e-6)
    with pytest.raises(ValueError, match="no vocabulary"):
        r.train(CORPUS)


def write_vectors(path, vecs):
    with open(path, "w") as f:
        f.write(f"{len(vecs)} {len(next(iter(vecs.values())))}\n")
        for w, v in vecs.items():
            f.write(w + " " + " ".join(str(x) for x in v) + "\n")
    return Word2Vec.load_word2vec_format(path)


def test_evaluate_word_pairs_spearman(tmp_path):
    ang = {"w0": 0, "w1": 30, "w2": 60, "w3": 90}  # cosines of known angles
    m = write_vectors(tmp_path / "v.txt", {w: [np.cos(np.radians(a)), np.sin(np.radians(a))] for w, a in ang.items()})
    pairs = [("w0", "w1", 9.0), ("w0", "w2", 5.0), ("w0", "w3", 1.0), ("w1", "w2", 7.0), ("w0", "zzz", 3.0)]
    sp, pe, oov = m.evaluate_word_pairs(pairs)
    # model similarities [.866, .5, 0, .866] rank [3.5, 2, 1, 3.5] (a tie), gold ranks [4, 2, 1, 3]: rho = sqrt(0.9)
    assert sp == pytest.approx(np.sqrt(0.9), abs=1e-9)
    assert pe == pytest.approx(np.corrcoef([np.cos(np.radians(30)), 0.5, 0, np.cos(np.radians(30))],
                                           [9, 5, 1, 7])[0, 1], abs=1e-6)
    assert oov == pytest.approx(0.2)
    try:
        from scipy.stats import spearmanr
        assert sp == pytest.approx(spearmanr([0.866, 0.5, 0, 0.866], [9, 5, 1, 7])[0], abs=1e-9)
        x, y = np.random.default_rng(0).integers(0, 5, (2, 40))
        assert spearman(x, y) == pytest.approx(spearmanr(x, y)[0], abs=1e-12)
    except ImportError:
        pass
    f = tmp_path / "ws.tsv"  # the wordsim353.tsv layout: comment lines, then word1<TAB>word2<TAB>score
    f.write_text("# a comment\n# Word 1\tWord 2\tHuman (mean)\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in pairs))
    assert m.evaluate_word_pairs(str(f)) == (sp, pe, oov)
    f.write_text("Word 1\tWord 2\tHuman (mean)\nW0\tw1\t9\nw0\tw2\t5\n")  # a header line; case-insensitive
    assert m.evaluate_word_pairs(f)[0] == pytest.approx(1.0)
    f.write_text("w0\tw1\t9\nw0\tw2\tlots\n")
    with pytest.raises(ValueError, match=r"ws.tsv: line 2"):
        m.evaluate_word_pairs(f)


def test_evaluate_analogies(tmp_path):
    m = write_vectors(tmp_path / "v.txt", {"man": [1, 0, 0, 0], "woman": [0, 1, 0, 0], "king": [1, 0, 1, 0],
                                           "queen": [0, 1, 1, 0], "apple": [0, 0, 0, 1], "pear": [0, .1, 0, 1]})
    q = tmp_path / "questions.txt"
    q.write_text(": royal\nman woman king queen\n: fruit\napple pear man woman\napple pear man unknown\n")
    assert m.evaluate_analogies(q) == pytest.approx(0.5)  # the second is answered "king"; the third is OOV
    assert m.evaluate_analogies(q, sections=True)[1] == {"royal": (1, 1), "fruit": (0, 1)}
    assert m.evaluate_analogies([("MAN", "Woman", "king", "queen")]) == 1.0
    assert m.most_similar(positive=["woman", "king"], negative="man", topn=1)[0][0] == "queen"
    q.write_text(": royal\nman woman king\n")
    with pytest.raises(ValueError, match=r"questions.txt: line 2"):
        m.evaluate_analogies(q)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        Word2Vec([])
    with pytest.raises(ValueError, match="empty"):
        Word2Vec([[], []])
    with pytest.raises(ValueError, match="min_count=5"):
        Word2Vec([["a", "b", "a"]], min_count=5)
    with pytest.raises(TypeError, match="list of str"):
        Word2Vec(["a sentence as one string"], min_count=1)
    with pytest.raises(ValueError, match="window"):
        Word2Vec(window=0)
    m = Word2Vec(CORPUS[:200], vector_size=8, min_count=1, epochs=1, workers=1)
    with pytest.raises(KeyError, match="'nope'"):
        m.most_similar("nope")
    with pytest.raises(KeyError, match="'nope'"):
        m.most_similar(["syna"], negative=["nope"])
    with pytest.raises(KeyError, match="'nope'"):
        m["nope"]
    with pytest.raises(ValueError, match="vocabulary"):
        m.train([["unseen", "words"]])
    bad = tmp_path / "bad.txt"
    for text, where in [("2 3\na 1 2 3\nb 1 2\n", "line 3"), ("2 3\na 1 2 3\nb 1 x 3\n", "line 3"),
                        ("two three\n", "line 1"), ("3 3\na 1 2 3\nb 1 2 3\n", "3 vectors"),
                        ("2 3\na 1 2 3\na 1 2 3\n", "line 3")]:
        bad.write_text(text)
        with pytest.raises(ValueError, match=f"bad.txt.*{where}"):
            Word2Vec.load_word2vec_format(bad)
    bad.write_bytes(b"2 3\na " + b"\0" * 12 + b"\nb " + b"\0" * 5)
    with pytest.raises(ValueError, match="bad.txt.*entry 2"):
        Word2Vec.load_word2vec_format(bad, binary=True)


def test_kernel_validates_its_inputs():
    V, D = 4, 3
    ids, off, counts = np.array([0, 1, 2, 3], np.int64), np.array([0, 2, 4], np.int64), np.ones(V, np.int64)
    syn0, syn1 = np.zeros((V, D), np.float32), np.zeros((V, D), np.float32)

    def run(ids=ids, off=off, counts=counts, syn0=syn0, syn1=syn1, **kw):
        cfg = dict(sg=True, window=2, negative=2, sample=0.0, alpha=0.025, min_alpha=1e-4, epochs=1, workers=1,
                   seed=1)
        cfg.update(kw)
        return bx._C._word2vec_train(*(bx.from_numpy(a) for a in (ids, off, counts, syn0, syn1)), **cfg)

    assert run()["words"] == 4
    with pytest.raises(IndexError, match=r"word2vec: word id 7 at corpus position 1 .* 4 words"):
        run(ids=np.array([0, 7, 2, 3], np.int64))
    with pytest.raises(IndexError, match="word2vec: word id -1"):
        run(ids=np.array([0, 1, -1, 3], np.int64))
    with pytest.raises(ValueError, match=r"word2vec: offsets must start at 0 and end at the corpus size 4"):
        run(off=np.array([0, 2, 5], np.int64))
    with pytest.raises(ValueError, match=r"word2vec: offsets must not decrease"):
        run(off=np.array([0, 3, 2, 4], np.int64))
    with pytest.raises(ValueError, match=r"word2vec: syn0 must have shape \[V, D\] = \[4, D >= 1\].*\[3, 3\]"):
        run(syn0=np.zeros((3, D), np.float32))
    with pytest.raises(ValueError, match=r"word2vec: syn1neg of shape \[4, 2\] for syn0 of shape \[4, 3\]"):
        run(syn1=np.zeros((V, 2), np.float32))
    with pytest.raises(TypeError, match="word2vec: syn0 must be a contiguous float32"):
        run(syn0=np.zeros((V, D), np.float64))
    with pytest.raises(ValueError, match="word2vec: the 4 vocabulary counts are all 0"):
        run(counts=np.zeros(V, np.int64))
    with pytest.raises(ValueError, match="word2vec: workers"):
        run(workers=0)
    long = np.random.default_rng(0).integers(0, V, 25000)  # one sentence, trained in 10000-word pieces
    assert run(ids=long, off=np.array([0, 25000], np.int64), sample=1e-3)["words"] == 25000
    nan = np.full((V, D), np.nan, np.float32)
    run(syn0=nan, syn1=nan.copy())  # NaN weights stay NaN; the sigmoid lookup never reads out of bounds
