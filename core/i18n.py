"""Translation layer: every user-facing string goes through :func:`t`.

Strings live in ``locales/<lang>/<namespace>.json`` as flat ``{"namespace.key": "text"}``
maps. Every key in a file must start with that file's namespace, so each feature owns
its own files (``board.json``, ``chest.json``...). Korean is the default language,
English the fallback: a key missing in Korean shows the English text, a key missing
everywhere shows the key itself (and the completeness test fails).

Placeholders use ``str.format`` syntax: ``t("imaging.error.too_large", "en", limit_mb=64)``.

Korean particles that depend on the substituted word are written as a format spec naming the
particle: ``"{field:을} 입력해 주세요."`` gives "제목을 입력해 주세요." and "닉네임을…", and
``"{name:이} 없습니다"`` gives "모델이"/"Qwen이"/"B가". Any form of a pair names it (``을``,
``를`` and ``을/를`` are the same), and a number format may come first (``{score:.2f:은}``).
:func:`particle` picks the form by the final sound of the word (see there); never write
"을(를)"-style pairs in a Korean string (a test holds the catalogue free of them).
"""

from __future__ import annotations

import json
import re
import string
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED: tuple[str, ...] = ("ko", "en")
DEFAULT_LANG = "ko"
FALLBACK_LANG = "en"
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


@cache
def catalog(lang: str) -> dict[str, str]:
    """Return the merged key -> text map for ``lang``.

    Raises:
        ValueError: a locale file holds a key outside its namespace, a non-string value,
            or the same key twice across files.
    """
    merged: dict[str, str] = {}
    folder = LOCALES_DIR / lang
    if not folder.is_dir():
        return merged
    for path in sorted(folder.glob("*.json")):
        namespace = path.stem
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, value in data.items():
            if not key.startswith(namespace + "."):
                raise ValueError(f"{path}: key {key!r} must start with {namespace!r}.")
            if not isinstance(value, str):
                raise ValueError(f"{path}: value of {key!r} must be a string.")
            if key in merged:
                raise ValueError(f"{path}: duplicate key {key!r}.")
            merged[key] = value
    return merged


def normalize_lang(lang: str | None) -> str:
    """Map a language or locale tag (``"ko-KR"``, ``"en_US"``, ``None``) to a supported code."""
    if not lang:
        return DEFAULT_LANG
    code = lang.replace("_", "-").split("-")[0].lower()
    return code if code in SUPPORTED else FALLBACK_LANG


def has_key(key: str) -> bool:
    """True when ``key`` exists in the fallback (English) catalogue."""
    return key in catalog(FALLBACK_LANG)


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """Translate ``key`` into ``lang`` and fill ``params``.

    Falls back to English, then to the key itself. Never raises: a missing placeholder
    leaves the template unformatted rather than breaking a page.
    """
    lang = normalize_lang(lang)
    text = catalog(lang).get(key)
    if text is None:
        text = catalog(FALLBACK_LANG).get(key, key)
    if params:
        try:
            return _FORMATTER.vformat(text, (), params)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError):
            return text
    return text


def reload() -> None:
    """Drop cached catalogues (tests and live editing of locale files)."""
    catalog.cache_clear()


# --- Korean particles ---------------------------------------------------------------------------
#: Each particle as (form after a final consonant, form after a vowel). 으로/로 is special: a word
#: ending in ㄹ takes 로 (see :func:`particle`).
PARTICLES: tuple[tuple[str, str], ...] = (
    ("을", "를"), ("이", "가"), ("은", "는"), ("과", "와"), ("으로", "로"), ("으로서", "로서"),
    ("으로써", "로써"), ("이라고", "라고"), ("이라는", "라는"), ("이라서", "라서"), ("이나", "나"),
    ("이나마", "나마"), ("이든", "든"), ("이며", "며"), ("이고", "고"), ("이면", "면"), ("이야", "야"),
    ("이에요", "예요"), ("이었다", "였다"), ("이었어요", "였어요"), ("이랑", "랑"), ("아", "야"),
)
_PAIR_OF: dict[str, tuple[str, str]] = {}
for _pair in PARTICLES:
    _PAIR_OF.setdefault(_pair[0], _pair)
    _PAIR_OF.setdefault(_pair[1], _pair)
    _PAIR_OF.setdefault(f"{_pair[0]}/{_pair[1]}", _pair)
_PAIR_OF["아/야"] = ("아", "야")
del _pair

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # the index of ㄹ among the 28 final-consonant slots (0 = no final consonant)
#: How a digit is read in Korean (일, 이, 삼...), as its final consonant index.
_DIGIT_FINAL = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
#: The place word a round number ends in, by its count of trailing zeros: 십 (ㅂ), 백 (ㄱ), 천 (ㄴ);
#: from four zeros on, the group word: 만 (ㄴ), 억 (ㄱ), 조 (none), 경 (ㅇ) ("100000" is 십만).
_PLACE_FINAL = {1: 17, 2: 1, 3: 4}
_GROUP_FINAL = {1: 4, 2: 1, 3: 0, 4: 21}
#: English letters read by name (an acronym or a lone letter): 엘, 엠, 엔, 알 end in a consonant.
_LETTER_NAME_FINAL = {"l": 8, "m": 16, "n": 4, "r": 8}
#: Symbols read as words: % 퍼센트, ° 도, ℃ 도, + 플러스, # 샵, = 는 (no final consonant); & 앤드.
_SYMBOL_FINAL = {"%": 0, "°": 0, "℃": 0, "+": 0, "#": 0, "=": 0, "&": 0}
_TRAILING = re.compile(r"[\s\]}>\"'’”»」』】〉》.,;:!?…·]+$")
_NUMBER_TAIL = re.compile(r"(\d+)(?:\.(\d+))?$")
_VOWEL_LETTERS = frozenset("aeiou")


def _number_final(integer: str, fraction: str | None) -> int:
    """The final consonant index of a number read in Korean: "0.60" is 영점육영 (ㅇ), "20" 이십
    (ㅂ), "100" 백 (ㄱ), "3" 삼 (ㅁ), "5" 오 (none), "10000" 만 (ㄴ)."""
    if fraction:
        return _DIGIT_FINAL[fraction[-1]]
    digits = integer.lstrip("0") or "0"
    zeros = len(digits) - len(digits.rstrip("0"))
    if digits == "0" or zeros == 0:
        return _DIGIT_FINAL[digits[-1]]
    if zeros < 4:
        return _PLACE_FINAL[zeros]
    return _GROUP_FINAL.get(zeros // 4, 0)


def _latin_final(word: str) -> int:
    """The final consonant of a Latin-script word as Koreans read it, roughly.

    An acronym or a single letter is read letter by letter: L, M, N, R end in a consonant
    ("CNN"은, "GPU"는, "0.5B"는). A word is read as English: -l/-le (ㄹ), -m/-me (ㅁ),
    -n/-ne (ㄴ), -ng (ㅇ), and -k/-ck/-c, -t, -p/-b right after a vowel letter ("Net" 넷, "web"
    웹, "block" 블록) end in a consonant; everything else does not ("Transformer" 트랜스포머,
    "Chest" 체스트, "mode" 모드, "log" 로그)."""
    if len(word) == 1 or word.isupper():
        return _LETTER_NAME_FINAL.get(word[-1].lower(), 0)
    low = word.lower()
    if low.endswith(("l", "le")):
        return _RIEUL
    if low.endswith(("m", "me")):
        return 16
    if low.endswith("ng"):
        return 21
    if low.endswith(("n", "ne")):
        return 4
    if low.endswith("ck"):
        return 1
    if len(low) >= 2 and low[-2] in _VOWEL_LETTERS and low[-1] in "kctpb":
        return {"k": 1, "c": 1, "t": 19, "p": 17, "b": 17}[low[-1]]
    return 0


def final_consonant(text: str) -> int | None:
    """The final-consonant index (0-27, 0 for none, 8 for ㄹ) of the sound ``text`` ends in,
    or None when there is nothing to go by.

    Quotes and punctuation at the end are skipped; a closing bracketed part goes by the word
    before it, as in Korean orthography ("판독 모델(규칙 기반)" goes by 델). Numbers are read as
    Korean numerals ("0.60" ends in 영), Latin words as English (see :func:`_latin_final`).
    """
    text = _TRAILING.sub("", str(text))
    if not text:
        return None
    if text.endswith(")") and "(" in text:
        before = text[: text.rindex("(")]
        if before.strip():
            return final_consonant(before)
    text = text.rstrip(")")
    if not text:
        return None
    last = text[-1]
    code = ord(last)
    if _HANGUL_FIRST <= code <= _HANGUL_LAST:
        return (code - _HANGUL_FIRST) % 28
    number = _NUMBER_TAIL.search(text)
    if number:
        return _number_final(number.group(1), number.group(2))
    if last.isascii() and last.isalpha():
        word = re.search(r"[A-Za-z]+$", text)
        return _latin_final(word.group(0) if word else last)
    if last in _SYMBOL_FINAL:
        return _SYMBOL_FINAL[last]
    if 0x3131 <= code <= 0x314E:  # a lone consonant jamo is read by its name (기역, 리을...)
        return _RIEUL if last == "ㄹ" else 1
    return None


def particle(word: str, which: str) -> str:
    """The form of the particle ``which`` (any form of a pair: "을", "를", "을/를") that follows
    ``word``. An unknown final sound gets the consonant form with the vowel form in brackets
    ("을(를)") only as a last resort; every word the app fills in has a known final sound.

    Raises:
        KeyError: ``which`` is not a known particle.
    """
    after_consonant, after_vowel = _PAIR_OF[which]
    final = final_consonant(word)
    if final is None:
        return f"{after_consonant}({after_vowel})"
    if after_consonant.startswith("으로"):
        return after_vowel if final in (0, _RIEUL) else after_consonant
    return after_consonant if final else after_vowel


def with_particle(word: str, which: str) -> str:
    """``word`` followed by the right form of the particle ``which``: ``("제목", "을")`` gives
    "제목을", ``("0.60", "는")`` "0.60은", ``("서울", "으로")`` "서울로"."""
    return f"{word}{particle(word, which)}"


class _ParticleFormatter(string.Formatter):
    """``str.format`` plus a trailing particle in the format spec (``{name:을}``, ``{x:.2f:은}``)."""

    def format_field(self, value: object, format_spec: str) -> str:
        spec, sep, tail = format_spec.rpartition(":")
        candidate = tail if sep else format_spec
        if candidate in _PAIR_OF:
            text = format(value, spec if sep else "")
            return with_particle(text, candidate)
        return format(value, format_spec)


_FORMATTER = _ParticleFormatter()
