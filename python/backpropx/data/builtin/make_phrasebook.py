"""Generate the built-in English-Vietnamese phrasebook, ``phrasebook_en_vi.tsv``.

The pairs are written by us, not copied from any corpus: a hand-written lexicon is
combined through a small set of sentence templates whose Vietnamese grammar is fixed
(word order, classifiers, ``không`` negation, ``có ... không?`` questions, ``đã`` /
``đang`` / ``sẽ`` for tense).  Each template yields every combination of its slots;
a hash picks a fixed number of them, so the output is byte-for-byte deterministic.

Output: UTF-8 (NFC), one pair a line, ``split<TAB>english<TAB>vietnamese``, no header.
Splits come from a hash of the English sentence (about 85/7.5/7.5); a held-out pair
with any English word or Vietnamese syllable unseen in train is moved to train, so
valid and test hold only new combinations of known words.  Fixed phrases (greetings
and the like) are always in train.

Conventions: questions end in "?", statements have no final period.

    python python/backpropx/data/builtin/make_phrasebook.py [--out PATH]
"""
from __future__ import annotations

import argparse
import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Callable, Dict, Iterable, List, NamedTuple, Set, Tuple

Pair = Tuple[str, str]
OUT = Path(__file__).with_name("phrasebook_en_vi.tsv")

# ----------------------------------------------------------------------------- lexicon

SEED_PAIRS: List[Pair] = [
    ("My name is", "Tên tôi là"),
    ("Hello", "Xin chào"),
    ("Thank you", "Cảm ơn"),
    ("How are you?", "Bạn khỏe không?"),
    ("I love programming", "Tôi yêu lập trình"),
]

FIXED: List[Pair] = [
    ("Good morning", "Chào buổi sáng"),
    ("Good afternoon", "Chào buổi chiều"),
    ("Good evening", "Chào buổi tối"),
    ("Good night", "Chúc ngủ ngon"),
    ("Goodbye", "Tạm biệt"),
    ("See you later", "Hẹn gặp lại"),
    ("See you tomorrow", "Hẹn gặp lại bạn ngày mai"),
    ("I love you", "Tôi yêu bạn"),
    ("I am a student", "Tôi là sinh viên"),
    ("Thank you very much", "Cảm ơn bạn rất nhiều"),
    ("You are welcome", "Không có gì"),
    ("Sorry", "Xin lỗi"),
    ("I am sorry", "Tôi xin lỗi"),
    ("Nice to meet you", "Rất vui được gặp bạn"),
    ("I am fine", "Tôi khỏe"),
    ("I am fine, thank you", "Tôi khỏe, cảm ơn"),
    ("And you?", "Còn bạn thì sao?"),
    ("Yes", "Vâng"),
    ("No", "Không"),
    ("Please", "Làm ơn"),
    ("Of course", "Tất nhiên"),
    ("No problem", "Không sao"),
    ("I don't know", "Tôi không biết"),
    ("I understand", "Tôi hiểu"),
    ("I don't understand", "Tôi không hiểu"),
    ("Please speak slowly", "Làm ơn nói chậm lại"),
    ("Please say that again", "Làm ơn nói lại"),
    ("What is your name?", "Bạn tên là gì?"),
    ("Where do you live?", "Bạn sống ở đâu?"),
    ("How old are you?", "Bạn bao nhiêu tuổi?"),
    ("What time is it?", "Mấy giờ rồi?"),
    ("How much is this?", "Cái này bao nhiêu tiền?"),
    ("What is this?", "Đây là cái gì?"),
    ("Who is that?", "Đó là ai?"),
    ("When is your birthday?", "Sinh nhật của bạn là khi nào?"),
    ("Happy birthday", "Chúc mừng sinh nhật"),
    ("Happy new year", "Chúc mừng năm mới"),
    ("Good luck", "Chúc may mắn"),
    ("Congratulations", "Xin chúc mừng"),
    ("Welcome", "Chào mừng bạn"),
    ("I agree", "Tôi đồng ý"),
    ("Me too", "Tôi cũng vậy"),
    ("Very good", "Rất tốt"),
    ("Wait a moment", "Đợi một chút"),
    ("Let's go", "Đi thôi"),
    ("I am lost", "Tôi bị lạc"),
    ("I am hungry", "Tôi đói"),
    ("It is raining", "Trời đang mưa"),
    ("The bill, please", "Cho tôi tính tiền"),
]


class Subject(NamedTuple):
    en: str
    vi: str
    be: str      # am / are / is
    third: bool  # takes "-s" and "does"


SUBJECTS = [
    Subject("I", "tôi", "am", False),
    Subject("you", "bạn", "are", False),
    Subject("he", "anh ấy", "is", True),
    Subject("she", "cô ấy", "is", True),
    Subject("we", "chúng tôi", "are", False),
    Subject("they", "họ", "are", False),
]
ASKABLE = [s for s in SUBJECTS if s.en not in ("I", "we")]   # natural question subjects
SINGULAR = [s for s in SUBJECTS if s.en in ("I", "you", "he", "she")]

# possessive determiner -> Vietnamese possessor (used after "của")
POSSESSORS = [("my", "tôi"), ("your", "bạn"), ("his", "anh ấy"), ("her", "cô ấy"),
              ("our", "chúng tôi"), ("their", "họ")]
OBJECT_PRONOUNS = {"me": "tôi", "you": "bạn", "him": "anh ấy", "her": "cô ấy",
                   "us": "chúng tôi", "them": "họ"}
SELF = {("I", "me"), ("I", "us"), ("we", "me"), ("we", "us"), ("you", "you"),
        ("he", "him"), ("she", "her"), ("they", "them")}

# verb: (3rd person, past, -ing)
VERBS: Dict[str, Tuple[str, str, str]] = {
    "eat": ("eats", "ate", "eating"), "drink": ("drinks", "drank", "drinking"),
    "read": ("reads", "read", "reading"), "write": ("writes", "wrote", "writing"),
    "learn": ("learns", "learned", "learning"), "speak": ("speaks", "spoke", "speaking"),
    "listen to": ("listens to", "listened to", "listening to"),
    "watch": ("watches", "watched", "watching"), "play": ("plays", "played", "playing"),
    "cook": ("cooks", "cooked", "cooking"), "buy": ("buys", "bought", "buying"),
    "go": ("goes", "went", "going"), "drive": ("drives", "drove", "driving"),
    "ride": ("rides", "rode", "riding"), "take": ("takes", "took", "taking"),
    "visit": ("visits", "visited", "visiting"), "clean": ("cleans", "cleaned", "cleaning"),
    "wash": ("washes", "washed", "washing"), "do": ("does", "did", "doing"),
    "swim": ("swims", "swam", "swimming"), "sing": ("sings", "sang", "singing"),
    "dance": ("dances", "danced", "dancing"), "work": ("works", "worked", "working"),
    "travel": ("travels", "traveled", "traveling"),
}


class VP(NamedTuple):
    verb: str
    obj: str
    vi: str

    def en(self, form: str) -> str:
        """form: base, third, past or ing."""
        third, past, ing = VERBS[self.verb]
        word = {"base": self.verb, "third": third, "past": past, "ing": ing}[form]
        return f"{word} {self.obj}".strip()


VPS = [
    VP("eat", "rice", "ăn cơm"), VP("eat", "pho", "ăn phở"), VP("eat", "bread", "ăn bánh mì"),
    VP("eat", "fish", "ăn cá"), VP("eat", "chicken", "ăn thịt gà"),
    VP("eat", "beef", "ăn thịt bò"), VP("eat", "fruit", "ăn hoa quả"),
    VP("eat", "vegetables", "ăn rau"), VP("eat", "noodles", "ăn mì"),
    VP("drink", "water", "uống nước"), VP("drink", "tea", "uống trà"),
    VP("drink", "coffee", "uống cà phê"), VP("drink", "milk", "uống sữa"),
    VP("drink", "beer", "uống bia"), VP("drink", "juice", "uống nước ép"),
    VP("read", "books", "đọc sách"), VP("read", "newspapers", "đọc báo"),
    VP("read", "magazines", "đọc tạp chí"),
    VP("write", "letters", "viết thư"), VP("write", "poems", "viết thơ"),
    VP("write", "stories", "viết truyện"),
    VP("learn", "Vietnamese", "học tiếng Việt"), VP("learn", "English", "học tiếng Anh"),
    VP("learn", "French", "học tiếng Pháp"), VP("learn", "Chinese", "học tiếng Trung"),
    VP("learn", "Japanese", "học tiếng Nhật"), VP("learn", "math", "học toán"),
    VP("learn", "programming", "học lập trình"), VP("learn", "music", "học nhạc"),
    VP("learn", "history", "học lịch sử"),
    VP("speak", "Vietnamese", "nói tiếng Việt"), VP("speak", "English", "nói tiếng Anh"),
    VP("speak", "French", "nói tiếng Pháp"), VP("speak", "Chinese", "nói tiếng Trung"),
    VP("speak", "Japanese", "nói tiếng Nhật"),
    VP("listen to", "music", "nghe nhạc"), VP("listen to", "the radio", "nghe đài"),
    VP("watch", "movies", "xem phim"), VP("watch", "television", "xem ti vi"),
    VP("watch", "football", "xem bóng đá"),
    VP("play", "football", "chơi bóng đá"), VP("play", "chess", "chơi cờ vua"),
    VP("play", "tennis", "chơi quần vợt"),
    VP("cook", "dinner", "nấu bữa tối"), VP("cook", "rice", "nấu cơm"), VP("cook", "", "nấu ăn"),
    VP("buy", "fruit", "mua hoa quả"), VP("buy", "vegetables", "mua rau"),
    VP("buy", "books", "mua sách"), VP("buy", "flowers", "mua hoa"),
    VP("buy", "bread", "mua bánh mì"),
    VP("go", "to the market", "đi chợ"), VP("go", "to work", "đi làm"),
    VP("go", "to school", "đi học"), VP("go", "home", "về nhà"),
    VP("go", "to the beach", "đi biển"), VP("go", "to the cinema", "đi xem phim"),
    VP("drive", "a car", "lái ô tô"), VP("ride", "a bicycle", "đi xe đạp"),
    VP("ride", "a motorbike", "đi xe máy"), VP("take", "photos", "chụp ảnh"),
    VP("take", "the bus", "đi xe buýt"), VP("visit", "friends", "thăm bạn bè"),
    VP("clean", "the house", "dọn nhà"), VP("wash", "the dishes", "rửa bát"),
    VP("do", "homework", "làm bài tập"),
    VP("swim", "", "bơi"), VP("sing", "", "hát"), VP("dance", "", "nhảy"),
    VP("work", "", "làm việc"), VP("travel", "", "đi du lịch"),
]
HABITUAL = [v for v in VPS if v.verb != "travel"]   # fits "... every day"

LIKE_OBJECTS = [
    ("music", "âm nhạc"), ("tea", "trà"), ("coffee", "cà phê"), ("milk", "sữa"),
    ("fruit", "hoa quả"), ("fish", "cá"), ("chicken", "thịt gà"), ("pho", "phở"),
    ("football", "bóng đá"), ("movies", "phim"), ("cats", "mèo"), ("dogs", "chó"),
    ("flowers", "hoa"), ("books", "sách"), ("programming", "lập trình"),
    ("Vietnamese food", "món ăn Việt Nam"), ("rain", "mưa"), ("summer", "mùa hè"),
    ("winter", "mùa đông"), ("math", "toán"), ("history", "lịch sử"),
    ("Hanoi", "Hà Nội"), ("Vietnam", "Việt Nam"),
]
LOVE_OBJECTS = [("music", "âm nhạc"), ("programming", "lập trình"), ("Vietnam", "Việt Nam"),
                ("Hanoi", "Hà Nội"), ("nature", "thiên nhiên"), ("football", "bóng đá"),
                ("summer", "mùa hè"), ("books", "sách")]

# person adjectives: English, Vietnamese, whether "rất" (very) fits
PERSON_ADJ = [
    ("hungry", "đói", True), ("thirsty", "khát", True), ("tired", "mệt", True),
    ("happy", "vui", True), ("sad", "buồn", True), ("busy", "bận", True),
    ("sleepy", "buồn ngủ", True), ("sick", "bị ốm", False), ("free", "rảnh", False),
    ("bored", "chán", True), ("tall", "cao", True), ("short", "thấp", True),
    ("young", "trẻ", True), ("old", "già", True), ("kind", "tốt bụng", True),
    ("smart", "thông minh", True), ("friendly", "thân thiện", True),
    ("ready", "sẵn sàng", False),
]

# occupations: singular with article, plural, Vietnamese
JOBS = [
    ("a student", "students", "sinh viên"), ("a teacher", "teachers", "giáo viên"),
    ("a doctor", "doctors", "bác sĩ"), ("an engineer", "engineers", "kỹ sư"),
    ("a nurse", "nurses", "y tá"), ("a farmer", "farmers", "nông dân"),
    ("a programmer", "programmers", "lập trình viên"), ("a cook", "cooks", "đầu bếp"),
    ("a singer", "singers", "ca sĩ"), ("a lawyer", "lawyers", "luật sư"),
    ("a journalist", "journalists", "nhà báo"), ("a driver", "drivers", "tài xế"),
]

KIN = [("mother", "mẹ"), ("father", "bố"), ("older brother", "anh trai"),
       ("older sister", "chị gái"), ("younger brother", "em trai"),
       ("younger sister", "em gái"), ("wife", "vợ"), ("husband", "chồng"),
       ("son", "con trai"), ("daughter", "con gái"), ("grandmother", "bà"),
       ("grandfather", "ông"), ("friend", "bạn")]
NOT_KIN = {("your", "friend"), ("his", "husband"), ("her", "wife"), ("our", "wife"),
           ("our", "husband"), ("their", "wife"), ("their", "husband")}

NUMBERS = [("one", "một"), ("two", "hai"), ("three", "ba"), ("four", "bốn"),
           ("five", "năm"), ("six", "sáu"), ("seven", "bảy"), ("eight", "tám"),
           ("nine", "chín"), ("ten", "mười"), ("eleven", "mười một"), ("twelve", "mười hai")]


class Noun(NamedTuple):
    en: str
    plural: str
    cl: str   # classifier
    vi: str

    @property
    def a(self) -> str:
        return ("an " if self.en[0] in "aeiou" else "a ") + self.en

    @property
    def vi_cl(self) -> str:
        return f"{self.cl} {self.vi}"


NOUNS = {n.en: n for n in [
    Noun("cat", "cats", "con", "mèo"), Noun("dog", "dogs", "con", "chó"),
    Noun("bird", "birds", "con", "chim"), Noun("book", "books", "cuốn", "sách"),
    Noun("pen", "pens", "cái", "bút"), Noun("car", "cars", "chiếc", "ô tô"),
    Noun("bicycle", "bicycles", "chiếc", "xe đạp"),
    Noun("motorbike", "motorbikes", "chiếc", "xe máy"),
    Noun("house", "houses", "ngôi", "nhà"), Noun("table", "tables", "cái", "bàn"),
    Noun("chair", "chairs", "cái", "ghế"), Noun("bag", "bags", "cái", "túi"),
    Noun("phone", "phones", "chiếc", "điện thoại"),
    Noun("computer", "computers", "chiếc", "máy tính"),
    Noun("apple", "apples", "quả", "táo"), Noun("banana", "bananas", "quả", "chuối"),
    Noun("egg", "eggs", "quả", "trứng"), Noun("flower", "flowers", "bông", "hoa"),
    Noun("umbrella", "umbrellas", "cái", "ô"), Noun("hat", "hats", "cái", "mũ"),
    Noun("ticket", "tickets", "tấm", "vé"), Noun("shirt", "shirts", "cái", "áo"),
    Noun("friend", "friends", "người", "bạn"), Noun("key", "keys", "chiếc", "chìa khóa"),
    Noun("passport", "passports", "cuốn", "hộ chiếu"), Noun("wallet", "wallets", "cái", "ví"),
]}


def nouns(names: str) -> List[Noun]:
    return [NOUNS[n] for n in names.split()]


BIG = {"car", "bicycle", "motorbike", "house", "computer"}   # counted only up to three
HAVE = nouns("cat dog bird book pen car bicycle motorbike house table chair bag phone "
             "computer apple banana egg flower umbrella hat ticket shirt friend")
SEE = nouns("cat dog bird car bicycle motorbike house flower")
BUY = nouns("book pen car bicycle motorbike house table chair bag phone computer apple "
            "banana egg flower umbrella hat ticket shirt")
THINGS = nouns("book pen car bicycle motorbike house table chair bag phone computer "
               "umbrella hat shirt")   # described by adjectives and colors
OWNED = nouns("book pen car bicycle motorbike bag phone computer umbrella hat ticket shirt "
              "key passport wallet")
SHARED = nouns("car bicycle motorbike computer")   # fits "our" / "their"
HEAVY = {"book", "bag", "table", "chair", "computer", "bicycle", "motorbike"}

# where things are: English, Vietnamese, what fits there
LOCATIONS = [
    ("on the table", "trên bàn", nouns("book pen phone apple banana egg flower hat ticket "
                                       "bag computer cat key wallet")),
    ("on the chair", "trên ghế", nouns("book bag hat cat shirt")),
    ("in the bag", "trong túi", nouns("book pen phone apple banana ticket umbrella key "
                                      "passport wallet")),
    ("in the house", "trong nhà", nouns("cat dog bird table chair computer")),
    ("in the room", "trong phòng", nouns("cat dog table chair computer bag")),
    ("in the garden", "trong vườn", nouns("cat dog bird flower")),
    ("in the park", "trong công viên", nouns("dog bird flower")),
]

OBJ_ADJ = [("big", "lớn"), ("small", "nhỏ"), ("new", "mới"), ("old", "cũ"),
           ("expensive", "đắt"), ("cheap", "rẻ"), ("beautiful", "đẹp"), ("good", "tốt"),
           ("heavy", "nặng")]
COLORS = [("red", "đỏ"), ("blue", "xanh dương"), ("green", "xanh lá"), ("yellow", "vàng"),
           ("white", "trắng"), ("black", "đen"), ("pink", "hồng"), ("brown", "nâu")]


class Place(NamedTuple):
    en: str      # with article
    vi: str
    go: str      # Vietnamese after "đi" ("" if "go to" does not fit)
    at: bool     # fits "is at the ..."
    near: bool   # fits "Is there a ... near here?"


PLACES = [
    Place("the bank", "ngân hàng", "ngân hàng", True, True),
    Place("the station", "nhà ga", "", True, False),
    Place("the airport", "sân bay", "sân bay", True, False),
    Place("the hotel", "khách sạn", "", True, True),
    Place("the hospital", "bệnh viện", "bệnh viện", True, True),
    Place("the market", "chợ", "chợ", True, True),
    Place("the school", "trường học", "", False, True),
    Place("the library", "thư viện", "thư viện", True, True),
    Place("the post office", "bưu điện", "bưu điện", True, True),
    Place("the restaurant", "nhà hàng", "", True, True),
    Place("the park", "công viên", "công viên", True, True),
    Place("the museum", "bảo tàng", "bảo tàng", True, True),
    Place("the toilet", "nhà vệ sinh", "", False, True),
    Place("the beach", "bãi biển", "biển", True, False),
    Place("the supermarket", "siêu thị", "siêu thị", True, True),
    Place("the pharmacy", "hiệu thuốc", "hiệu thuốc", True, True),
    Place("the bus stop", "trạm xe buýt", "", True, True),
    Place("the cinema", "rạp chiếu phim", "xem phim", True, True),
    Place("the police station", "đồn công an", "", True, True),
    Place("the university", "trường đại học", "", True, False),
]
CITIES = [("Hanoi", "Hà Nội"), ("Hue", "Huế"), ("Da Nang", "Đà Nẵng"),
          ("Hai Phong", "Hải Phòng"), ("Ho Chi Minh City", "Thành phố Hồ Chí Minh"),
          ("Can Tho", "Cần Thơ"), ("Nha Trang", "Nha Trang"), ("Sapa", "Sa Pa")]
COUNTRIES = [("Vietnam", "Việt Nam"), ("Japan", "Nhật Bản"), ("France", "Pháp"),
             ("China", "Trung Quốc"), ("Korea", "Hàn Quốc"), ("America", "Mỹ"),
             ("Australia", "Úc"), ("Germany", "Đức"), ("Thailand", "Thái Lan"),
             ("Laos", "Lào")]

DAYS = [("Monday", "thứ Hai"), ("Tuesday", "thứ Ba"), ("Wednesday", "thứ Tư"),
        ("Thursday", "thứ Năm"), ("Friday", "thứ Sáu"), ("Saturday", "thứ Bảy"),
        ("Sunday", "Chủ nhật")]
MONTHS = [("January", "tháng Một"), ("February", "tháng Hai"), ("March", "tháng Ba"),
          ("April", "tháng Tư"), ("May", "tháng Năm"), ("June", "tháng Sáu"),
          ("July", "tháng Bảy"), ("August", "tháng Tám"), ("September", "tháng Chín"),
          ("October", "tháng Mười"), ("November", "tháng Mười một"),
          ("December", "tháng Mười hai")]
WEATHER = [("hot", "nóng"), ("cold", "lạnh"), ("cool", "mát"), ("warm", "ấm"),
           ("sunny", "nắng"), ("beautiful", "đẹp")]
AGES = [("five", "năm"), ("six", "sáu"), ("seven", "bảy"), ("eight", "tám"), ("nine", "chín"),
        ("ten", "mười"), ("eleven", "mười một"), ("twelve", "mười hai"),
        ("fifteen", "mười lăm"), ("eighteen", "mười tám"), ("twenty", "hai mươi"),
        ("thirty", "ba mươi"), ("forty", "bốn mươi"), ("fifty", "năm mươi"),
        ("sixty", "sáu mươi"), ("seventy", "bảy mươi")]
# daily routine: base, 3rd person, Vietnamese, plausible hours (indices into NUMBERS)
ROUTINES = [("get up", "gets up", "thức dậy", (4, 5, 6, 7)),
            ("go to bed", "goes to bed", "đi ngủ", (8, 9, 10, 11)),
            ("go to work", "goes to work", "đi làm", (6, 7, 8)),
            ("have lunch", "has lunch", "ăn trưa", (10, 11, 0)),
            ("have dinner", "has dinner", "ăn tối", (5, 6, 7))]
# food and drink: English, Vietnamese, plural in English
FOODS = [("pho", "phở", False), ("coffee", "cà phê", False), ("tea", "trà", False),
         ("bread", "bánh mì", False), ("fish", "cá", False), ("chicken", "thịt gà", False),
         ("beef", "thịt bò", False), ("fruit", "hoa quả", False), ("beer", "bia", False),
         ("rice", "cơm", False), ("noodles", "mì", True), ("vegetables", "rau", True)]
ORDERS = [("cup", "cups", "tách", ["coffee", "tea"]),
          ("glass", "glasses", "cốc", ["water", "milk", "juice", "beer"]),
          ("bottle", "bottles", "chai", ["water", "beer"]),
          ("bowl", "bowls", "bát", ["pho", "rice", "noodles"])]
DRINK_VI = {"coffee": "cà phê", "tea": "trà", "water": "nước", "milk": "sữa",
            "juice": "nước ép", "beer": "bia", "pho": "phở", "rice": "cơm", "noodles": "mì"}
PERSON_VERBS = [("love", "loves", "yêu"), ("miss", "misses", "nhớ"), ("know", "knows", "biết"),
                ("help", "helps", "giúp"), ("like", "likes", "thích"),
                ("understand", "understands", "hiểu")]
FUTURE_PERSON_VERBS = [("help", "giúp"), ("miss", "nhớ"), ("visit", "thăm")]
WHAT_VERBS = [("eat", "eats", "ăn"), ("drink", "drinks", "uống"), ("read", "reads", "đọc"),
              ("like", "likes", "thích"), ("need", "needs", "cần"), ("want", "wants", "muốn"),
              ("learn", "learns", "học"), ("buy", "buys", "mua"), ("cook", "cooks", "nấu"),
              ("watch", "watches", "xem")]


# ----------------------------------------------------------------------------- helpers

def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def pair(en: str, vi: str) -> Pair:
    return cap(en), cap(vi)


def verb(s: Subject, base: str, third: str) -> str:
    return third if s.third else base


def do(s: Subject) -> str:
    return "does" if s.third else "do"


def dont(s: Subject) -> str:
    return "doesn't" if s.third else "don't"


def owners() -> List[Tuple[str, str, List[Noun]]]:
    """Possessors with the things that fit them ("our passport" does not)."""
    return [(en, vi, SHARED if en in ("our", "their") else OWNED) for en, vi in POSSESSORS]


def counted(n: Noun, limit: int = 10) -> Iterable[Tuple[str, str]]:
    """English and Vietnamese for "a cat", "two cats", ... with the classifier."""
    for i, (en_num, vi_num) in enumerate(NUMBERS[:limit]):
        if i > 2 and n.en in BIG:
            break
        yield (n.a if i == 0 else f"{en_num} {n.plural}"), f"{vi_num} {n.vi_cl}"


# ----------------------------------------------------------------------------- templates

def t_present() -> List[Pair]:
    return [pair(f"{s.en} {v.en('third' if s.third else 'base')}", f"{s.vi} {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_every_day() -> List[Pair]:
    return [pair(f"{s.en} {v.en('third' if s.third else 'base')} every day",
                 f"{s.vi} {v.vi} mỗi ngày") for s in SUBJECTS for v in HABITUAL]


def t_negative() -> List[Pair]:
    return [pair(f"{s.en} {dont(s)} {v.en('base')}", f"{s.vi} không {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_question() -> List[Pair]:
    return [pair(f"{do(s)} {s.en} {v.en('base')}?", f"{s.vi} có {v.vi} không?")
            for s in ASKABLE for v in VPS]


def t_want() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'want', 'wants')} to {v.en('base')}", f"{s.vi} muốn {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_want_not() -> List[Pair]:
    return [pair(f"{s.en} {dont(s)} want to {v.en('base')}", f"{s.vi} không muốn {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_want_question() -> List[Pair]:
    return [pair(f"{do(s)} {s.en} want to {v.en('base')}?", f"{s.vi} có muốn {v.vi} không?")
            for s in ASKABLE for v in VPS]


def t_like_to() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'like', 'likes')} to {v.en('base')}", f"{s.vi} thích {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_need_to() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'need', 'needs')} to {v.en('base')}", f"{s.vi} cần {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_can() -> List[Pair]:
    return [pair(f"{s.en} can {v.en('base')}", f"{s.vi} có thể {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_can_question() -> List[Pair]:
    return [pair(f"can {s.en} {v.en('base')}?", f"{s.vi} có thể {v.vi} không?")
            for s in ASKABLE for v in VPS]


FUTURE_TIMES = [("tomorrow", "ngày mai"), ("tonight", "tối nay"), ("next week", "tuần sau")]
PAST_TIMES = [("yesterday", "hôm qua"), ("this morning", "sáng nay"), ("last week", "tuần trước")]


def t_future() -> List[Pair]:
    out = [pair(f"{s.en} will {v.en('base')}", f"{s.vi} sẽ {v.vi}") for s in SUBJECTS for v in VPS]
    out += [pair(f"{s.en} will {v.en('base')} {t_en}", f"{t_vi} {s.vi} sẽ {v.vi}")
            for t_en, t_vi in FUTURE_TIMES for s in SUBJECTS for v in VPS]
    return out


def t_future_not() -> List[Pair]:
    return [pair(f"{s.en} will not {v.en('base')}", f"{s.vi} sẽ không {v.vi}")
            for s in SUBJECTS for v in VPS]


def t_past() -> List[Pair]:
    out = [pair(f"{s.en} {v.en('past')}", f"{s.vi} đã {v.vi}") for s in SUBJECTS for v in VPS]
    out += [pair(f"{s.en} {v.en('past')} {t_en}", f"{t_vi} {s.vi} đã {v.vi}")
            for t_en, t_vi in PAST_TIMES for s in SUBJECTS for v in VPS]
    return out


def t_progressive() -> List[Pair]:
    out = [pair(f"{s.en} {s.be} {v.en('ing')}", f"{s.vi} đang {v.vi}")
           for s in SUBJECTS for v in VPS]
    out += [pair(f"{s.en} {s.be} {v.en('ing')} now", f"bây giờ {s.vi} đang {v.vi}")
            for s in SUBJECTS for v in VPS]
    return out


def t_like() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'like', 'likes')} {en}", f"{s.vi} thích {vi}")
            for s in SUBJECTS for en, vi in LIKE_OBJECTS]


def t_like_not() -> List[Pair]:
    return [pair(f"{s.en} {dont(s)} like {en}", f"{s.vi} không thích {vi}")
            for s in SUBJECTS for en, vi in LIKE_OBJECTS]


def t_like_question() -> List[Pair]:
    return [pair(f"{do(s)} {s.en} like {en}?", f"{s.vi} có thích {vi} không?")
            for s in ASKABLE for en, vi in LIKE_OBJECTS]


def t_love() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'love', 'loves')} {en}", f"{s.vi} yêu {vi}")
            for s in SUBJECTS for en, vi in LOVE_OBJECTS]


def t_person_verbs() -> List[Pair]:
    out = []
    for s in SUBJECTS:
        for o_en, o_vi in OBJECT_PRONOUNS.items():
            if (s.en, o_en) in SELF:
                continue
            for base, third, vi in PERSON_VERBS:
                out.append(pair(f"{s.en} {verb(s, base, third)} {o_en}", f"{s.vi} {vi} {o_vi}"))
                if s in ASKABLE:
                    out.append(pair(f"{do(s)} {s.en} {base} {o_en}?", f"{s.vi} có {vi} {o_vi} không?"))
            for base, vi in FUTURE_PERSON_VERBS:
                out.append(pair(f"{s.en} will {base} {o_en}", f"{s.vi} sẽ {vi} {o_vi}"))
            out.append(pair(f"{s.en} {s.be} waiting for {o_en}", f"{s.vi} đang đợi {o_vi}"))
            if s in ASKABLE:
                out.append(pair(f"can {s.en} help {o_en}?", f"{s.vi} có thể giúp {o_vi} không?"))
    return out


def t_adjective() -> List[Pair]:
    return [pair(f"{s.en} {s.be} {en}", f"{s.vi} {vi}") for s in SUBJECTS for en, vi, _ in PERSON_ADJ]


def t_adjective_not() -> List[Pair]:
    return [pair(f"{s.en} {s.be} not {en}", f"{s.vi} không {vi}")
            for s in SUBJECTS for en, vi, _ in PERSON_ADJ]


def t_adjective_very() -> List[Pair]:
    return [pair(f"{s.en} {s.be} very {en}", f"{s.vi} rất {vi}")
            for s in SUBJECTS for en, vi, very in PERSON_ADJ if very]


def t_adjective_question() -> List[Pair]:
    return [pair(f"{s.be} {s.en} {en}?", f"{s.vi} có {vi} không?")
            for s in ASKABLE for en, vi, _ in PERSON_ADJ]


def job_en(s: Subject, job: Tuple[str, str, str]) -> str:
    return job[1] if s.en in ("we", "they") else job[0]


def t_job() -> List[Pair]:
    out = []
    for s in SUBJECTS:
        for job in JOBS:
            out.append(pair(f"{s.en} {s.be} {job_en(s, job)}", f"{s.vi} là {job[2]}"))
            out.append(pair(f"{s.en} {s.be} not {job_en(s, job)}", f"{s.vi} không phải là {job[2]}"))
            if s in ASKABLE:
                out.append(pair(f"{s.be} {s.en} {job_en(s, job)}?", f"{s.vi} có phải là {job[2]} không?"))
    return out


def t_family() -> List[Pair]:
    return [pair(f"this is {p_en} {k_en}", f"đây là {k_vi} của {p_vi}")
            for p_en, p_vi in POSSESSORS for k_en, k_vi in KIN
            if (p_en, k_en) not in NOT_KIN]


def t_have() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'have', 'has')} {en}", f"{s.vi} có {vi}")
            for s in SUBJECTS for n in HAVE for en, vi in counted(n)]


def t_see() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'see', 'sees')} {en}", f"{s.vi} thấy {vi}")
            for s in SUBJECTS for n in SEE for en, vi in counted(n, 5)]


def t_buy() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'want', 'wants')} to buy {en}", f"{s.vi} muốn mua {vi}")
            for s in SUBJECTS for n in BUY for en, vi in counted(n, 1 if n.en in BIG else 5)]


def t_there_is() -> List[Pair]:
    out = []
    for loc_en, loc_vi, fits in LOCATIONS:
        for n in fits:
            for i, (en, vi) in enumerate(counted(n, 5)):
                out.append(pair(f"there {'is' if i == 0 else 'are'} {en} {loc_en}", f"có {vi} {loc_vi}"))
            out.append(pair(f"the {n.en} is {loc_en}", f"{n.vi_cl} ở {loc_vi}"))
    return out


def t_where() -> List[Pair]:
    out = [pair(f"where is {p.en}?", f"{p.vi} ở đâu?") for p in PLACES]
    out += [pair(f"where is {p_en} {n.en}?", f"{n.vi_cl} của {p_vi} ở đâu?")
            for p_en, p_vi, owned in owners() for n in owned]
    out += [pair(f"where is the {n.en}?", f"{n.vi_cl} ở đâu?") for n in OWNED + SEE]
    return out


def t_near() -> List[Pair]:
    out = [pair(f"is there {p.en.replace('the ', 'a ', 1)} near here?", f"gần đây có {p.vi} không?")
           for p in PLACES if p.near]
    out += [pair(f"{p.en} is near here", f"{p.vi} ở gần đây") for p in PLACES if p.near]
    return out


def t_go() -> List[Pair]:
    targets = [(p.en, p.go) for p in PLACES if p.go] + CITIES + COUNTRIES
    out = [pair(f"{s.en} {verb(s, 'want', 'wants')} to go to {en}", f"{s.vi} muốn đi {vi}")
           for s in SUBJECTS for en, vi in targets]
    out += [pair(f"{s.en} will go to {en} tomorrow", f"ngày mai {s.vi} sẽ đi {vi}")
            for s in SUBJECTS for en, vi in targets]
    return out


def t_at() -> List[Pair]:
    return [pair(f"{s.en} {s.be} at {p.en}", f"{s.vi} đang ở {p.vi}")
            for s in SUBJECTS for p in PLACES if p.at]


def t_live() -> List[Pair]:
    return [pair(f"{s.en} {verb(s, 'live', 'lives')} in {en}", f"{s.vi} sống ở {vi}")
            for s in SUBJECTS for en, vi in CITIES + COUNTRIES]


def t_from() -> List[Pair]:
    return [pair(f"{s.en} {s.be} from {en}", f"{s.vi} đến từ {vi}")
            for s in SUBJECTS for en, vi in COUNTRIES]


def t_days() -> List[Pair]:
    out = []
    for en, vi in DAYS:
        out += [pair(f"today is {en}", f"hôm nay là {vi}"),
                pair(f"tomorrow is {en}", f"ngày mai là {vi}"),
                pair(f"yesterday was {en}", f"hôm qua là {vi}")]
    out += [pair(f"today is {p_en} birthday", f"hôm nay là sinh nhật của {p_vi}")
            for p_en, p_vi in POSSESSORS[:4]]
    return out


def t_birthday() -> List[Pair]:
    return [pair(f"{p_en} birthday is in {m_en}", f"sinh nhật của {p_vi} vào {m_vi}")
            for p_en, p_vi in POSSESSORS[:4] for m_en, m_vi in MONTHS]


def t_weather() -> List[Pair]:
    out = []
    for en, vi in WEATHER:
        out += [pair(f"it is {en} today", f"hôm nay trời {vi}"),
                pair(f"it is very {en} today", f"hôm nay trời rất {vi}"),
                pair(f"it is not {en} today", f"hôm nay trời không {vi}"),
                pair(f"is it {en} today?", f"hôm nay trời có {vi} không?"),
                pair(f"it was {en} yesterday", f"hôm qua trời {vi}"),
                pair(f"it will be {en} tomorrow", f"ngày mai trời sẽ {vi}")]
    return out


def t_clock() -> List[Pair]:
    out = [pair(f"it is {en} o'clock", f"bây giờ là {vi} giờ") for en, vi in NUMBERS]
    for base, third, vi, hours in ROUTINES:
        for h in hours:
            n_en, n_vi = NUMBERS[h]
            out += [pair(f"{s.en} {verb(s, base, third)} at {n_en} o'clock", f"{s.vi} {vi} lúc {n_vi} giờ")
                    for s in SUBJECTS]
    return out


def t_age() -> List[Pair]:
    out = [pair(f"{s.en} {s.be} {en} years old", f"{s.vi} {vi} tuổi") for s in SINGULAR for en, vi in AGES]
    out += [pair(f"how old {s.be} {s.en}?", f"{s.vi} bao nhiêu tuổi?") for s in ASKABLE]
    return out


def t_describe() -> List[Pair]:
    out = []
    for n in THINGS:
        for (d_en, d_vi) in (("this", "này"), ("that", "đó")):
            for a_en, a_vi in OBJ_ADJ:
                if a_en == "heavy" and n.en not in HEAVY:
                    continue
                out += [pair(f"{d_en} {n.en} is {a_en}", f"{n.vi_cl} {d_vi} {a_vi}"),
                        pair(f"{d_en} {n.en} is very {a_en}", f"{n.vi_cl} {d_vi} rất {a_vi}"),
                        pair(f"{d_en} {n.en} is not {a_en}", f"{n.vi_cl} {d_vi} không {a_vi}")]
    return out


def t_color() -> List[Pair]:
    out = [pair(f"{d_en} {n.en} is {c_en}", f"{n.vi_cl} {d_vi} màu {c_vi}")
           for n in THINGS for d_en, d_vi in (("this", "này"), ("that", "đó")) for c_en, c_vi in COLORS]
    out += [pair(f"what color is {p_en} {n.en}?", f"{n.vi_cl} của {p_vi} màu gì?")
            for p_en, p_vi, owned in owners()[1:] for n in owned if n in THINGS]
    return out


def t_this_is() -> List[Pair]:
    out = [pair(f"this is {n.a}", f"đây là một {n.vi_cl}") for n in HAVE if n.en != "friend"]
    out += [pair(f"this is {p_en} {n.en}", f"đây là {n.vi_cl} của {p_vi}")
            for p_en, p_vi, owned in owners() for n in owned]
    out += [pair(f"this is not {p_en} {n.en}", f"đây không phải là {n.vi_cl} của {p_vi}")
            for p_en, p_vi, owned in owners() for n in owned]
    out += [pair(f"is this your {n.en}?", f"đây có phải là {n.vi_cl} của bạn không?") for n in OWNED]
    out += [pair(f"{s.en} {verb(s, 'like', 'likes')} this {n.en}", f"{s.vi} thích {n.vi_cl} này")
            for s in SUBJECTS for n in THINGS]
    return out


def t_food_here() -> List[Pair]:
    out = []
    for en, vi, plural in FOODS:
        be = "are" if plural else "is"
        out += [pair(f"the {en} here {be} delicious", f"{vi} ở đây ngon"),
                pair(f"the {en} here {be} not good", f"{vi} ở đây không ngon"),
                pair(f"the {en} here {be} cheap", f"{vi} ở đây rẻ"),
                pair(f"the {en} here {be} expensive", f"{vi} ở đây đắt")]
    return out


def t_order() -> List[Pair]:
    out = []
    for one, many, cl, items in ORDERS:
        for item in items:
            for i, (n_en, n_vi) in enumerate(NUMBERS[:3]):
                en = f"a {one}" if i == 0 else f"{n_en} {many}"
                out.append(pair(f"{en} of {item}, please", f"cho tôi {n_vi} {cl} {DRINK_VI[item]}"))
    return out


def t_what() -> List[Pair]:
    out = [pair(f"what {do(s)} {s.en} {base}?", f"{s.vi} {vi} gì?")
           for s in ASKABLE for base, _, vi in WHAT_VERBS]
    out += [pair(f"what {do(s)} {s.en} want to {base}?", f"{s.vi} muốn {vi} gì?")
            for s in ASKABLE for base, _, vi in WHAT_VERBS if base not in ("like", "need", "want")]
    return out


# name -> (generator, how many of its combinations to keep)
TEMPLATES: Dict[str, Tuple[Callable[[], List[Pair]], int]] = {
    "present": (t_present, 45), "every_day": (t_every_day, 30), "negative": (t_negative, 40),
    "question": (t_question, 40), "want": (t_want, 35), "want_not": (t_want_not, 20),
    "want_question": (t_want_question, 25), "like_to": (t_like_to, 25),
    "need_to": (t_need_to, 20), "can": (t_can, 20), "can_question": (t_can_question, 20),
    "future": (t_future, 40), "future_not": (t_future_not, 15), "past": (t_past, 40),
    "progressive": (t_progressive, 35), "like": (t_like, 40), "like_not": (t_like_not, 20),
    "like_question": (t_like_question, 25), "love": (t_love, 15),
    "person_verbs": (t_person_verbs, 45), "adjective": (t_adjective, 35),
    "adjective_not": (t_adjective_not, 20), "adjective_very": (t_adjective_very, 20),
    "adjective_question": (t_adjective_question, 20), "job": (t_job, 40),
    "family": (t_family, 25), "have": (t_have, 40), "see": (t_see, 20), "buy": (t_buy, 20),
    "there_is": (t_there_is, 35), "where": (t_where, 35), "near": (t_near, 20),
    "go": (t_go, 40), "at": (t_at, 20), "live": (t_live, 20), "from": (t_from, 20),
    "days": (t_days, 25), "birthday": (t_birthday, 15), "weather": (t_weather, 25),
    "clock": (t_clock, 30), "age": (t_age, 25), "describe": (t_describe, 30),
    "color": (t_color, 20), "this_is": (t_this_is, 35), "food_here": (t_food_here, 25),
    "order": (t_order, 20), "what": (t_what, 25),
}


# ----------------------------------------------------------------------------- assembly

def tokens(text: str) -> List[str]:
    """Lower-cased words (English) or syllables (Vietnamese), punctuation dropped."""
    return re.findall(r"[\w']+", text.lower())


def digest(*parts: str) -> int:
    return int(hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:12], 16)


def pick(name: str, candidates: List[Pair], k: int) -> List[Pair]:
    """The k candidates with the smallest hash, kept in generation order."""
    chosen = set(sorted(candidates, key=lambda p: digest(name, p[0]))[:k])
    return [p for p in candidates if p in chosen]


def split_of(en: str) -> str:
    bucket = digest("split", en) % 1000
    return "train" if bucket < 850 else "valid" if bucket < 925 else "test"


def build() -> List[Tuple[str, str, str]]:
    rows: List[Tuple[str, str, str]] = []
    seen: Dict[str, str] = {}

    def add(split: str, en: str, vi: str) -> None:
        vi = unicodedata.normalize("NFC", vi)
        if en in seen:
            if seen[en] != vi:
                raise ValueError(f"{en!r} has two translations: {seen[en]!r} and {vi!r}")
            return
        seen[en] = vi
        rows.append((split, en, vi))

    for en, vi in SEED_PAIRS + FIXED:
        add("train", en, vi)
    for name, (make, k) in TEMPLATES.items():
        for en, vi in pick(name, make(), k):
            add(split_of(en), en, vi)

    known: Set[str] = set()
    for split, en, vi in rows:
        if split == "train":
            known.update(tokens(en), tokens(vi))
    # held-out pairs must be new combinations of known words: move the others to train
    final = []
    for split, en, vi in rows:
        if split != "train" and not set(tokens(en) + tokens(vi)) <= known:
            split = "train"
            known.update(tokens(en), tokens(vi))
        final.append((split, en, vi))
    return final


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the TSV")
    args = parser.parse_args(argv)
    rows = build()
    text = "".join(f"{s}\t{en}\t{vi}\n" for s, en, vi in rows)
    args.out.write_bytes(text.encode("utf-8"))
    counts = {s: sum(r[0] == s for r in rows) for s in ("train", "valid", "test")}
    print(f"wrote {len(rows)} pairs to {args.out} ({counts})")


if __name__ == "__main__":
    main()
