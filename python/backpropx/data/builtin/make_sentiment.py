"""Generate the built-in sentiment sample, ``sentiment.tsv``.

Short review-like English sentences about films and products, written by us from
templates and word lists, labelled ``positive`` or ``negative``.  Sentiment-bearing
words carry the signal (so a bag-of-words model can learn it), but no single word
decides every label: many words share the work, the same aspects and frames occur in
both classes, and negation ("was not good", "was not boring") flips a word's usual
polarity.

Output: UTF-8, ``label<TAB>text`` a line, no header, the two labels balanced, lines in a
fixed pseudo-random order.  A hash picks the lines, so every run writes the same bytes.

    python python/backpropx/data/builtin/make_sentiment.py [--out PATH]
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Dict, List, Tuple

OUT = Path(__file__).with_name("sentiment.tsv")
PER_LABEL = 260

FILM = ["film", "movie", "acting", "plot", "story", "ending", "soundtrack", "dialogue",
        "cast", "script", "first half", "main character"]
PRODUCT = ["phone", "battery", "screen", "camera", "laptop", "keyboard", "charger", "speaker"]
SERVICE = ["delivery", "service", "staff", "support team", "refund process"]
FILM_ITEMS = ["film", "movie", "show", "documentary"]
PRODUCT_ITEMS = ["phone", "laptop", "camera", "speaker", "product", "charger"]
SERVICE_ITEMS = ["shop", "store", "seller", "company"]

# adjectives that fit every aspect, then film-only and product-only ones
ADJ: Dict[str, Dict[str, List[str]]] = {
    "positive": {
        "any": ["great", "excellent", "wonderful", "fantastic", "superb", "brilliant",
                "impressive", "lovely", "amazing", "solid", "good"],
        "film": ["moving", "funny", "gripping", "charming", "clever", "beautiful"],
        "product": ["reliable", "sturdy", "responsive", "well made"],
        "service": ["fast", "friendly", "helpful", "efficient"],
    },
    "negative": {
        "any": ["terrible", "awful", "horrible", "poor", "disappointing", "weak", "dreadful",
                "bad", "mediocre", "pathetic"],
        "film": ["boring", "dull", "predictable", "silly", "forgettable", "tedious"],
        "product": ["unreliable", "flimsy", "faulty", "overpriced", "clunky", "useless"],
        "service": ["slow", "rude", "unhelpful", "careless"],
    },
}
# "was not X" flips the label; only mild words that read naturally when negated
NEGATABLE = {
    "positive": {"film": ["good", "great", "funny", "impressive", "clever"],
                 "product": ["good", "great", "impressive", "reliable", "sturdy"],
                 "service": ["good", "great", "helpful", "fast", "friendly"]},
    "negative": {"film": ["bad", "boring", "dull", "disappointing", "slow"],
                 "product": ["bad", "disappointing", "flimsy", "overpriced", "faulty"],
                 "service": ["bad", "slow", "rude", "disappointing", "unhelpful"]},
}
INTENSIFIERS = ["", "really ", "very ", "so ", "quite ", "truly "]
VERBS = {"positive": ["loved", "enjoyed", "liked", "adored", "appreciated"],
         "negative": ["hated", "disliked", "could not stand", "was annoyed by"]}
WHOLE = {
    "positive": ["i would recommend this {item}", "i would happily recommend this {item} to a friend",
                 "this {item} is worth every penny", "five stars for this {item}",
                 "{adj} {item}", "what {adj} {item}", "this {item} exceeded my expectations",
                 "i have no complaints about this {item}", "this {item} made me smile",
                 "best {item} i have seen in years"],
    "negative": ["i would not recommend this {item}", "i would never recommend this {item} to a friend",
                 "this {item} is a waste of money", "one star for this {item}",
                 "{adj} {item}", "what {adj} {item}", "this {item} fell short of my expectations",
                 "i have nothing but complaints about this {item}", "this {item} made me angry",
                 "worst {item} i have seen in years"],
}
AGAIN = {"positive": {"film": "i would watch it again", "product": "i would buy it again",
                      "service": "i would order from them again"},
         "negative": {"film": "i would never watch it again", "product": "i would never buy it again",
                      "service": "i would never order from them again"}}
SEEN = {"film": "seen", "product": "owned", "service": "used"}


def digest(*parts: str) -> int:
    return int(hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:12], 16)


def article(word: str) -> str:
    return "an" if word[0] in "aeio" or word.startswith("un") else "a"


def domains() -> List[Tuple[str, List[str], List[str]]]:
    return [("film", FILM, FILM_ITEMS), ("product", PRODUCT, PRODUCT_ITEMS),
            ("service", SERVICE, SERVICE_ITEMS)]


def adjectives(label: str, domain: str) -> List[str]:
    return ADJ[label]["any"] + ADJ[label][domain]


def candidates(label: str) -> Dict[str, List[str]]:
    """Every sentence of one label, grouped by the kind of template that made it."""
    other = "negative" if label == "positive" else "positive"
    groups: Dict[str, List[str]] = {"aspect": [], "negation": [], "verb": [], "whole": [], "pair": []}
    for domain, aspects, items in domains():
        adjs = adjectives(label, domain)
        for aspect in aspects:
            for adj in adjs:
                for inten in INTENSIFIERS:
                    groups["aspect"].append(f"the {aspect} was {inten}{adj}")
                groups["aspect"].append(f"the {aspect} is {adj}")
            for adj in NEGATABLE[other][domain]:
                groups["negation"].append(f"the {aspect} was not {adj} at all")
                groups["negation"].append(f"the {aspect} was not {adj}")
            for verb in VERBS[label]:
                groups["verb"].append(f"i {verb} the {aspect}")
                groups["verb"].append(f"i really {verb} the {aspect}" if verb[0] != "c" and verb[:3] != "was"
                                      else f"honestly i {verb} the {aspect}")
            if label == "negative":
                for verb in ("like", "enjoy"):
                    groups["negation"].append(f"i did not {verb} the {aspect}")
            for second in aspects:
                if second != aspect:
                    a, b = adjs[digest(aspect, second) % len(adjs)], adjs[digest(second, aspect) % len(adjs)]
                    groups["pair"].append(f"the {aspect} was {a} and the {second} was {b}")
            groups["pair"].append(f"the {aspect} was {adjs[digest(label, aspect) % len(adjs)]} "
                                  f"and {AGAIN[label][domain]}")
        for item in items:
            for frame in WHOLE[label]:
                if "{adj}" in frame:
                    groups["whole"] += [frame.format(item=item, adj=f"{article(adj)} {adj}")
                                        for adj in adjs]
                else:
                    groups["whole"].append(frame.format(item=item).replace("seen", SEEN[domain]))
    return groups


QUOTA = {"aspect": 110, "negation": 35, "verb": 45, "whole": 40, "pair": 30}


def build() -> List[Tuple[str, str]]:
    rows = []
    for label in ("positive", "negative"):
        for group, texts in candidates(label).items():
            unique = sorted(set(texts), key=lambda t: digest(group, t))
            rows += [(label, t) for t in unique[:QUOTA[group]]]
    assert sum(QUOTA.values()) == PER_LABEL
    assert len({t for _, t in rows}) == len(rows), "a sentence has both labels"
    return sorted(rows, key=lambda r: digest("order", r[1]))


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the TSV")
    args = parser.parse_args(argv)
    rows = build()
    args.out.write_bytes("".join(f"{label}\t{text}\n" for label, text in rows).encode("utf-8"))
    print(f"wrote {len(rows)} lines to {args.out}")


if __name__ == "__main__":
    main()
