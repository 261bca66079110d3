"""Tokenizers, vocabularies, corpus readers and batching (bx.data)."""
import unicodedata

import numpy as np
import pytest

from backpropx.data import (CharTokenizer, DataError, Vocab, WordTokenizer, batch_indices, normalize, pad_sequences,
                            read_labelled, read_parallel_files, read_parallel_tsv, read_text, tokenizer_from_config)


def test_word_tokenizer_splits_punctuation_and_lowercases():
    tok = WordTokenizer()
    assert tok.tokenize("How are you?") == ["how", "are", "you", "?"]
    assert tok.tokenize("I don't know, sir.") == ["i", "don't", "know", ",", "sir", "."]
    assert WordTokenizer(lowercase=False).tokenize("Xin chào") == ["Xin", "chào"]
    assert tok.detokenize(["bạn", "khỏe", "không", "?"]) == "bạn khỏe không?"


def test_vietnamese_diacritics_compare_equal_after_nfc():
    decomposed = unicodedata.normalize("NFD", "Cảm ơn")
    assert decomposed != "Cảm ơn"
    assert normalize(decomposed) == "Cảm ơn"
    assert WordTokenizer().tokenize(decomposed) == ["cảm", "ơn"]
    assert CharTokenizer().tokenize(decomposed) == list("Cảm ơn")  # each letter with its marks is one token


def test_tokenizer_config_round_trip():
    for tok in (WordTokenizer(lowercase=False), CharTokenizer(lowercase=True)):
        again = tokenizer_from_config(tok.config())
        assert type(again) is type(tok) and again.lowercase == tok.lowercase
    with pytest.raises(ValueError, match="unknown tokenizer"):
        tokenizer_from_config({"kind": "bpe"})


def test_vocab_orders_by_frequency_and_respects_min_freq_and_max_size():
    sents = [["b", "a", "a"], ["c", "a", "b"], ["d"]]
    v = Vocab.build(sents)
    assert v.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert v.itos[4:] == ["a", "b", "c", "d"]
    assert Vocab.build(sents, min_freq=2).itos[4:] == ["a", "b"]
    assert Vocab.build(sents, max_size=5).itos[4:] == ["a"]
    assert v["zzz"] == v.unk_id
    ids = v.encode(["a", "zzz"], bos=True, eos=True)
    assert ids == [2, 4, 1, 3]
    assert v.decode(ids + [5, 6]) == ["a", "<unk>"]  # stops at </s>
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(sents, min_freq=0)


def test_vocab_save_load(tmp_path):
    v = Vocab.build([["xin", "chào", "bạn"]])
    path = tmp_path / "vocab.json"
    v.save(str(path))
    assert Vocab.load(str(path)).itos == v.itos
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a vocabulary"):
        Vocab.load(str(path))
    path.write_text('["a", "b"]')
    with pytest.raises(ValueError, match="first tokens"):
        Vocab.load(str(path))


def test_readers(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("Hello\tXin chào\n\nThank you\tCảm ơn\textra\n", encoding="utf-8")
    assert read_parallel_tsv(str(tsv)) == [("Hello", "Xin chào"), ("Thank you", "Cảm ơn")]
    en, vi = tmp_path / "a.en", tmp_path / "a.vi"
    en.write_text("Hello\nThank you\n")
    vi.write_text("Xin chào\nCảm ơn\n", encoding="utf-8")
    assert read_parallel_files(str(en), str(vi)) == [("Hello", "Xin chào"), ("Thank you", "Cảm ơn")]
    lab = tmp_path / "sst.txt"
    lab.write_text("1 a gripping film\n0 dull\n")
    assert read_labelled(str(lab)) == [("1", "a gripping film"), ("0", "dull")]
    trec = tmp_path / "trec.txt"
    trec.write_bytes("DESC:manner How did serfdom develop in caf\xe9s ?\nNUM:date When ?\n".encode("latin-1"))
    assert read_labelled(str(trec), coarse=True) == [("DESC", "How did serfdom develop in cafés ?"), ("NUM", "When ?")]
    txt = tmp_path / "corpus.txt"
    txt.write_text("the cat\n\n  sat  \n")
    assert read_text(str(txt)) == ["the cat", "sat"]


def test_reader_errors_name_file_and_line(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_parallel_tsv(str(tmp_path / "missing.tsv"))
    bad = tmp_path / "bad.tsv"
    bad.write_text("Hello\tXin chào\nno tab here\n")
    with pytest.raises(DataError, match=r"bad.tsv:2: expected source<TAB>target"):
        read_parallel_tsv(str(bad))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="empty"):
        read_text(str(empty))
    with pytest.raises(DataError, match="empty"):
        read_labelled(str(empty))
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("x\ny\n")
    b.write_text("x\n")
    with pytest.raises(DataError, match="not line-aligned"):
        read_parallel_files(str(a), str(b))
    one = tmp_path / "one.txt"
    one.write_text("positive\n")
    with pytest.raises(DataError, match="one.txt:1"):
        read_labelled(str(one))
    with pytest.raises(DataError, match="is a directory"):
        read_text(str(tmp_path))


def test_pad_sequences():
    ids, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    ids, lengths = pad_sequences([[5, 6, 7], [8]], max_len=2)
    assert ids.tolist() == [[5, 6], [8, 0]] and lengths.tolist() == [2, 1]
    with pytest.raises(ValueError):
        pad_sequences([])


def test_batch_indices_cover_everything_once_bucket_and_follow_the_seed():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, 1000)
    batches = list(batch_indices(lengths, 32, seed=3))
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert all(len(b) <= 32 for b in batches)
    assert batches == list(batch_indices(lengths, 32, seed=3))
    assert batches != list(batch_indices(lengths, 32, seed=4))

    def padding(bs):
        return sum(max(lengths[b]) * len(b) - sum(lengths[b]) for b in bs)
    assert padding(batches) < 0.2 * padding(list(batch_indices(lengths, 32, seed=3, bucket=False)))
    assert [i for b in batch_indices(lengths, 10, shuffle=False, bucket=False) for i in b] == list(range(1000))
