"""Personal data that must never reach the board: Korean resident registration numbers
(주민등록번호), phone numbers and e-mail addresses.

One rule for every way text gets onto the board: posts and comments (title, body, comment,
new and edited) and the analysis summaries other pages share (:mod:`core.board.summary`).

:func:`find_personal_data` says which kinds a text holds, never the matched text itself, so a
refusal can name what was found without repeating the number on screen or in a log.

The text is read as NFKC with invisible characters dropped, so fullwidth digits
("０１０-…"), a fullwidth "＠" or zero-width spaces inside a number do not hide it. The patterns
aim at what people actually type and keep clear of what the board is for (scores such as
"0.82", dates such as "2024-01-15", measurements, model versions):

* **rrn** 6 digits that read as a date of birth (YYMMDD), a hyphen or spaces or nothing, then 7
  digits whose first is 1-8 (the sex/century digit; 5-8 for registered foreigners). The check
  digit is not verified: a mistyped number is still one.
* **phone** Korean mobile numbers (010/011/016-019, also written +82 10 … or +82-(0)10 …),
  Korean landlines (02, 031-064, 070, with or without a bracketed area code), 15xx/16xx/18xx
  service numbers written with a hyphen, other numbers written 2-3 / 3-4 / 4 digits with hyphens,
  and international numbers starting with "+" and a country code (8 to 15 digits in all).
* **email** ``name@domain.tld``.
"""

from __future__ import annotations

import re
import unicodedata

from core.board.errors import InvalidInputError
from core.i18n import t

#: The kinds :func:`find_personal_data` reports, in the order messages name them.
KINDS: tuple[str, ...] = ("rrn", "phone", "email")

_SEP = r"[\s.\-]?"
_RRN = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s*[-–]?\s*[1-8]\d{6}(?!\d)")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z\w]{2,}")
_PHONES = (
    # Korean mobile: 010-1234-5678, 01012345678, 010 1234 5678, +82 10-1234-5678, +82 (0)10 …
    re.compile(rf"(?<![\d+])(?:\+\s?82{_SEP}(?:\(0\)\s?|0)?|0)1[016789]{_SEP}\d{{3,4}}{_SEP}\d{{4}}(?!\d)"),
    # Korean landline: 02-123-4567, (031) 123-4567, 0311234567, 070-1234-5678, +82 2 123 4567
    re.compile(
        rf"(?<![\d+])(?:\+\s?82{_SEP}(?:\(0\)\s?)?|0|\(0)(?:2|[3-6][1-5]|70)\)?{_SEP}\d{{3,4}}{_SEP}\d{{4}}(?!\d)"
    ),
    # service numbers: 1588-1234
    re.compile(r"(?<!\d)1[5689]\d{2}-\d{4}(?!\d)"),
    # other hyphenated numbers: 12-345-6789, 123-4567-8901
    re.compile(r"(?<![\d\-])\d{2,3}-\d{3,4}-\d{4}(?![\d\-])"),
)
#: International: "+" and a country code, then digits in groups (8 to 15 digits in all).
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\s?[1-9][\d\s().\-]{6,22}\d(?!\d)")

#: Characters that render as nothing (zero-width spaces and joiners, word joiner, BOM, soft
#: hyphen, bidi controls): dropped before matching.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")


def _normalise(text: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def _is_international(match: str) -> bool:
    digits = sum(ch.isdigit() for ch in match)
    return 8 <= digits <= 15


def find_personal_data(*texts: str) -> tuple[str, ...]:
    """The kinds of personal data (``"rrn"``, ``"phone"``, ``"email"``, in that order) the
    texts hold; empty when none. Never returns the matched text."""
    found: set[str] = set()
    for raw in texts:
        if not isinstance(raw, str) or not raw:
            continue
        text = _normalise(raw)
        if _RRN.search(text):
            found.add("rrn")
        if _EMAIL.search(text):
            found.add("email")
        # an RRN's digits can read as a phone number too; look for phones with RRNs blanked out
        rest = _RRN.sub(" ", text)
        if any(p.search(rest) for p in _PHONES) or any(
            _is_international(m.group(0)) for m in _INTERNATIONAL.finditer(rest)
        ):
            found.add("phone")
    return tuple(kind for kind in KINDS if kind in found)


class PersonalDataError(InvalidInputError):
    """A post, comment or title holds personal data (``kinds``: what was found, never the
    data itself); the message names the field and the kinds and asks to remove them."""

    def __init__(self, field: str, kinds: tuple[str, ...]) -> None:
        self.kinds = tuple(kinds)
        super().__init__("board.error.personal_data", field=field, kinds=",".join(self.kinds))

    def message(self, lang: str | None = None) -> str:
        names = t("board.personal.joiner", lang).join(t(f"board.personal.{kind}", lang) for kind in self.kinds)
        return t(self.key, lang, field=t(f"board.fieldname.{self.params['field']}", lang), kinds=names)


def check_personal_data(field: str, *texts: str) -> None:
    """Refuse texts that hold personal data (see :func:`find_personal_data`).

    Raises:
        PersonalDataError: naming ``field`` (a ``board.fieldname.*`` key) and what was found.
    """
    kinds = find_personal_data(*texts)
    if kinds:
        raise PersonalDataError(field, kinds)
