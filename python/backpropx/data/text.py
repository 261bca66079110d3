"""Tokenizers and vocabularies: words or characters, Unicode NFC so Vietnamese diacritics compare equal.

    >>> vocab = Vocab.build([["xin", "chào"]]); vocab.encode(["xin", "chào"], eos=True)
    [4, 5, 3]
"""
from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import tempfile
import unicodedata
from typing import BinaryIO, Dict, Iterable, Iterator, List, Optional, Sequence

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)

# a word (letters, digits, marks; inner apostrophes as in "don't") or one punctuation character
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]|_")
_NO_SPACE_BEFORE = set(".,!?;:%)]}'’")


def normalize(text: str) -> str:
    """Unicode NFC, so a precomposed "ế" and "e" + combining marks are the same string. `normalize("Cảm ơn")`"""
    return unicodedata.normalize("NFC", text)


class WordTokenizer:
    """Words and punctuation marks as tokens, NFC-normalised, optionally lowercased.

        >>> WordTokenizer().tokenize("How are you?")
        ['how', 'are', 'you', '?']
    """

    kind = "word"

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def tokenize(self, text: str) -> List[str]:
        text = normalize(text)
        if self.lowercase:
            text = text.lower()
        return _TOKEN.findall(text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Joins with spaces, with no space before closing punctuation: `["bạn", "?"]` -> "bạn?"."""
        text = ""
        for tok in tokens:
            text += tok if (not text or tok in _NO_SPACE_BEFORE) else " " + tok
        return text

    def config(self) -> dict:
        return {"kind": self.kind, "lowercase": self.lowercase}


class CharTokenizer:
    """Characters as tokens (after NFC, so a Vietnamese letter with its marks is one token).

        >>> CharTokenizer().tokenize("ơn")
        ['ơ', 'n']
    """

    kind = "char"

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase

    def tokenize(self, text: str) -> List[str]:
        text = normalize(text)
        return list(text.lower() if self.lowercase else text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)

    def config(self) -> dict:
        return {"kind": self.kind, "lowercase": self.lowercase}


def tokenizer_from_config(config: dict):
    """The tokenizer a `config()` dict describes. `tokenizer_from_config({"kind": "word"})`"""
    kinds = {"word": WordTokenizer, "char": CharTokenizer}
    if config.get("kind") not in kinds:
        raise ValueError(f"unknown tokenizer kind {config.get('kind')!r} (expected word or char)")
    return kinds[config["kind"]](lowercase=bool(config.get("lowercase", False)))


class Vocab:
    """Token <-> id. Ids 0..3 are <pad> <unk> <s> </s>; the rest are ordered by frequency, then alphabetically.

        >>> v = Vocab.build([["a", "b", "a"]]); v["a"], v["zzz"], len(v)
        (4, 1, 6)
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        if tuple(tokens[:len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"Vocab: the first tokens must be {list(SPECIALS)}, got {list(tokens[:4])}")
        self.itos: List[str] = list(tokens)
        self.stoi: Dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("Vocab: duplicate tokens")

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1, max_size: Optional[int] = None) -> "Vocab":
        """From tokenised sentences: tokens seen at least min_freq times, at most max_size of them (specials
        included)."""
        if min_freq < 1:
            raise ValueError(f"Vocab.build: min_freq must be >= 1, got {min_freq}")
        counts = collections.Counter(tok for sent in sentences for tok in sent)
        for s in SPECIALS:
            counts.pop(s, None)
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if max_size is not None:
            if max_size < len(SPECIALS):
                raise ValueError(f"Vocab.build: max_size must be >= {len(SPECIALS)} (the specials), got {max_size}")
            words = words[:max_size - len(SPECIALS)]
        return cls(list(SPECIALS) + words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = False) -> List[int]:
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Iterable[int]) -> List[str]:
        """Tokens up to the first </s>, without <pad> and <s>."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def save(self, path: str) -> None:
        """One JSON list of tokens, written atomically."""
        write_text_atomic(path, json.dumps(self.itos, ensure_ascii=False))

    @classmethod
    def load(cls, path: str) -> "Vocab":
        try:
            with open(path, encoding="utf-8") as f:
                tokens = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a vocabulary file ({e})") from None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"{path}: a vocabulary file holds a JSON list of strings")
        return cls(tokens)


@contextlib.contextmanager
def atomic_write(path: str) -> Iterator[BinaryIO]:
    """A binary file that replaces path only once the block finishes: written beside it, fsynced, renamed.

        >>> with atomic_write("out.bin") as f: f.write(b"...")
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str, text: str) -> None:
    """Writes UTF-8 text to path atomically (see atomic_write)."""
    with atomic_write(path) as f:
        f.write(text.encode("utf-8"))
