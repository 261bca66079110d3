"""Generate the built-in language-modelling corpus, ``lm_corpus.txt``.

Plain English from a small hand-written grammar: one sentence a line, lower case,
tokens separated by single spaces, no punctuation.  The grammar has structure a model
can learn: subject-verb agreement (the dog runs / the dogs run), tense kept with its
time phrase (yesterday ... walked), verbs that take only fitting objects (eats bread,
reads a letter), adjectives that fit their noun, prepositional phrases, relative
clauses and joined clauses.  The vocabulary is about 300 words.

A seeded Mersenne Twister (only ``random()`` is used, which is stable across Python
versions) draws the sentences, so every run writes the same bytes.

    python python/backpropx/data/builtin/make_lm_corpus.py [--out PATH]
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence, TypeVar

OUT = Path(__file__).with_name("lm_corpus.txt")
LINES = 2400
SEED = 20240601
T = TypeVar("T")


class Noun(NamedTuple):
    one: str
    many: str
    kind: str   # person, animal, food, thing, place


def _nouns(kind: str, words: str) -> List[Noun]:
    out = []
    for w in words.split():
        one, _, many = w.partition("/")
        out.append(Noun(one, many or one + "s", kind))
    return out


NOUNS = (
    _nouns("person", "man/men woman/women boy girl child/children teacher doctor farmer "
                     "student baker king queen friend sister brother mother father sailor")
    + _nouns("animal", "dog cat bird horse cow fox rabbit mouse/mice duck goat")
    + _nouns("food", "apple bread/bread cake soup/soup egg rice/rice meat/meat cheese/cheese "
                     "pie fish/fish")
    + _nouns("thing", "book letter ball box key cup hat chair table door window song story "
                      "picture map boat basket/baskets lamp")
    + _nouns("place", "park garden house school river forest market village city kitchen "
                      "field hill road shop library beach")
)
BY_KIND: Dict[str, List[Noun]] = {}
for _n in NOUNS:
    BY_KIND.setdefault(_n.kind, []).append(_n)
MASS = {"bread", "soup", "rice", "meat", "cheese", "fish"}   # no "a", no plural

ADJ = {
    "person": "happy sad kind brave clever tired hungry busy tall young old quiet",
    "animal": "big small little hungry tired wild gentle old young happy brown white",
    "food": "warm cold fresh sweet hot good",
    "thing": "big small old new red green blue heavy long strange beautiful little",
    "place": "quiet busy dark old big small beautiful cold warm green",
}


class Verb(NamedTuple):
    base: str
    third: str
    past: str
    objects: str   # kinds of object it takes, "" if intransitive
    subjects: str  # kinds of subject


def _verbs(subjects: str, objects: str, forms: str) -> List[Verb]:
    out = []
    for f in forms.split():
        base, third, past = f.split("/")
        out.append(Verb(base, third, past, objects, subjects))
    return out


VERBS = (
    _verbs("person animal", "", "sleep/sleeps/slept run/runs/ran walk/walks/walked "
                                "wait/waits/waited jump/jumps/jumped rest/rests/rested "
                                "play/plays/played swim/swims/swam")
    + _verbs("person", "", "sing/sings/sang laugh/laughs/laughed smile/smiles/smiled "
                           "dance/dances/danced work/works/worked cry/cries/cried")
    + _verbs("person animal", "person animal", "see/sees/saw follow/follows/followed "
                                               "watch/watches/watched find/finds/found "
                                               "like/likes/liked hear/hears/heard")
    + _verbs("person", "person animal", "help/helps/helped call/calls/called "
                                        "visit/visits/visited love/loves/loved")
    + _verbs("person animal", "food", "eat/eats/ate want/wants/wanted")
    + _verbs("person", "food", "cook/cooks/cooked buy/buys/bought sell/sells/sold "
                               "bring/brings/brought")
    + _verbs("person", "thing", "carry/carries/carried "
                                "find/finds/found make/makes/made hold/holds/held")
)
READ = [Verb("read", "reads", "read", "", "person"), Verb("write", "writes", "wrote", "", "person")]
READABLE = {"read": ["book", "letter", "story", "map"], "write": ["letter", "story", "song", "book"]}
KIND = {w: n.kind for n in NOUNS for w in (n.one, n.many)}

PLACE_PREPS = ["in", "near", "behind", "past", "across", "by", "around"]
THING_PREPS = ["under", "on", "beside", "near"]
MANNER = "quickly slowly quietly happily loudly carefully together".split()
FREQ = "often always never sometimes".split()
TIME = {"present": ["every day", "every morning", "at night", "in the summer", "in the winter", "today"],
        "past": ["yesterday", "last night", "last summer", "one morning", "long ago"]}
JOINERS = ["and", "but", "because", "so", "while"]
NAMES = "anna tom mary ben lucy sam kate jack".split()


class Grammar:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.rng.random() * len(seq))]

    def noun_phrase(self, kinds: str, plural: bool, allow_name: bool = True) -> List[str]:
        noun = self.pick([n for k in kinds.split() for n in BY_KIND[k]])
        if noun.one in MASS:
            plural = False
        if allow_name and noun.kind == "person" and not plural and self.chance(0.2):
            return [self.pick(NAMES)]
        words = [self.pick(ADJ[noun.kind].split())] if self.chance(0.35) else []
        words.append(noun.many if plural else noun.one)
        if plural:
            det = self.pick(["the", "the", "some", "two", "three", "many", "these", "those", "my", "our"])
        elif noun.one in MASS:
            det = self.pick(["the", "some", "the", "my", "his", "her"])
        else:
            det = self.pick(["the", "the", "a", "this", "that", "my", "his", "her", "our", "their", "every"])
            if det == "a" and words[0][0] in "aeiou":
                det = "an"
        return [det] + words

    def place(self) -> List[str]:
        noun = self.pick(BY_KIND["place"])
        adj = [self.pick(ADJ["place"].split())] if self.chance(0.3) else []
        return [self.pick(PLACE_PREPS), "the"] + adj + [noun.one]

    def verb_phrase(self, verb: Verb, tense: str, plural: bool) -> List[str]:
        form = verb.past if tense == "past" else verb.base if plural else verb.third
        words = [form]
        if tense == "present" and self.chance(0.15):
            words = [self.pick(FREQ), form]
        if verb in READ:
            obj = self.pick(READABLE[verb.base])
            words += [self.pick(["a", "the", "her", "his", "my"]), obj]
        elif verb.objects:
            words += self.noun_phrase(verb.objects, self.chance(0.3))
        elif self.chance(0.4):
            words.append(self.pick(MANNER))
        if self.chance(0.4):
            words += self.place()
        return words

    def clause(self, tense: str) -> List[str]:
        plural = self.chance(0.35)
        verb = self.pick(VERBS + READ)
        subj = self.noun_phrase(verb.subjects, plural)
        plural = plural and subj[-1] not in MASS and subj[0] not in NAMES and subj[0] != "every"
        if self.chance(0.12) and subj[0] not in NAMES:
            kind = KIND[subj[-1]]
            rel = self.pick([v for v in VERBS if v.objects and kind in v.subjects])
            form = rel.past if tense == "past" else rel.base if plural else rel.third
            subj += ["who" if kind == "person" else "that", form] + self.noun_phrase(rel.objects, False)
        return subj + self.verb_phrase(verb, tense, plural)

    def description(self, tense: str) -> List[str]:
        kind = self.pick(["person", "animal", "thing", "place", "food"])
        noun = self.pick(BY_KIND[kind])
        plural = noun.one not in MASS and self.chance(0.3)
        be = ("were" if plural else "was") if tense == "past" else ("are" if plural else "is")
        det = "the" if plural or noun.one in MASS else self.pick(["the", "this", "that", "my", "our"])
        adj = self.pick(ADJ[kind].split())
        words = [det, noun.many if plural else noun.one, be]
        if self.chance(0.25):
            words.append(self.pick(["very", "so", "not", "quite"]))
        return words + [adj]

    def there_is(self, tense: str) -> List[str]:
        kind = self.pick(["animal", "thing", "person"])
        plural = self.chance(0.4)
        be = ("were" if plural else "was") if tense == "past" else ("are" if plural else "is")
        np = self.noun_phrase(kind, plural, allow_name=False)
        if np[-1] in MASS:
            plural = False
            be = "was" if tense == "past" else "is"
        if np[0] in ("the", "this", "that", "my", "his", "her", "our", "their", "every", "these", "those"):
            if plural or np[-1] in MASS:
                np[0] = "some"
            else:
                np[0] = "an" if np[1][0] in "aeiou" else "a"
        if kind == "thing" and self.chance(0.5):
            where = [self.pick(THING_PREPS), "the", self.pick(["table", "chair", "bed", "door", "window"])]
        else:
            where = self.place()
        return ["there", be] + np + where

    def sentence(self) -> List[str]:
        tense = self.pick(["present", "past"])
        first = self.pick([self.clause, self.clause, self.clause, self.description, self.there_is])(tense)
        if self.chance(0.25):
            first += [self.pick(JOINERS)] + self.pick([self.clause, self.description])(tense)
        elif self.chance(0.3):
            first += self.pick(TIME[tense]).split()
        return first


def build(lines: int = LINES, seed: int = SEED) -> List[str]:
    grammar, seen, out = Grammar(seed), set(), []
    while len(out) < lines:
        text = " ".join(grammar.sentence())
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the corpus")
    args = parser.parse_args(argv)
    out = build()
    args.out.write_bytes("".join(line + "\n" for line in out).encode("utf-8"))
    vocab = {w for line in out for w in line.split()}
    print(f"wrote {len(out)} lines, {len(vocab)} distinct words, to {args.out}")


if __name__ == "__main__":
    main()
