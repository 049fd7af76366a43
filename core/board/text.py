"""Pure text checks for board input: lengths, control characters, link spam, duplicate
fingerprints, search-query parsing, and Markdown escaping for display.

User text is stored exactly as typed (titles and nicknames lose outer whitespace only);
it is never rewritten to "clean" it. Safety comes from parameterised SQL and from showing it
as plain text, not from mangling it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from core.board.config import CATEGORIES, BoardConfig
from core.board.errors import InvalidInputError, SpamError

# C0 controls except TAB, LF, CR; DEL; C1 controls.
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LINK = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.|\b(?:javascript|vbscript|data)\s*:)",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
#: ASCII punctuation: CommonMark lets every one of these be backslash-escaped.
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def _check_encodable(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        raise InvalidInputError("board.error.bad_chars", field=field) from exc


def clean_line(value: object, field: str, min_len: int, max_len: int) -> str:
    """Validate a one-line field (title, nickname): strip outer whitespace, check length
    and characters. Returns the stripped text.

    Raises:
        InvalidInputError: not a string, too short/long, or has control characters.
    """
    if not isinstance(value, str):
        raise InvalidInputError("board.error.required", field=field)
    text = value.strip()
    _check_encodable(text, field)
    if len(text) < max(min_len, 1):
        if not text:
            raise InvalidInputError("board.error.required", field=field)
        raise InvalidInputError("board.error.too_short", field=field, min=min_len)
    if len(text) > max_len:
        raise InvalidInputError("board.error.too_long", field=field, max=max_len)
    if _LINE_CONTROL.search(text):
        raise InvalidInputError("board.error.bad_chars", field=field)
    return text


def clean_body(value: object, field: str, max_len: int, max_lines: int | None = None) -> str:
    """Validate a multi-line field (post body, comment). The text is returned unchanged
    (not stripped), so what a visitor typed is what others read.

    Raises:
        InvalidInputError: not a string, blank, too long, too many lines, control characters.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("board.error.required", field=field)
    _check_encodable(value, field)
    if len(value) > max_len:
        raise InvalidInputError("board.error.too_long", field=field, max=max_len)
    if max_lines is not None and value.count("\n") + 1 > max_lines:
        raise InvalidInputError("board.error.too_many_lines", field=field, max=max_lines)
    if _BODY_CONTROL.search(value):
        raise InvalidInputError("board.error.bad_chars", field=field)
    return value


def clean_category(value: object) -> str:
    """Raises InvalidInputError unless ``value`` is one of :data:`CATEGORIES`."""
    if value not in CATEGORIES:
        raise InvalidInputError("board.error.bad_category")
    return str(value)


#: Default_Ignorable_Code_Point ranges (Unicode DerivedCoreProperties) and other blanks that
#: look like nothing: zero-width spaces and joiners, bidi controls, variation selectors, the
#: Hangul fillers (ㅤ, a well-known invisible "nickname"), the Braille blank, tags.
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)

#: Scripts a nickname may use, and the sets that may be mixed in one nickname (UTS #39
#: "highly restrictive"): one script alone, or Latin with the CJK scripts. Latin, Cyrillic and
#: Greek never mix, so "аdmin" (Cyrillic а) or "pаypal" cannot pass for a Latin name.
_SCRIPT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("LATIN ", "Latin"), ("CYRILLIC ", "Cyrillic"), ("GREEK ", "Greek"), ("HANGUL ", "Hangul"),
    ("CJK UNIFIED IDEOGRAPH", "Han"), ("CJK COMPATIBILITY IDEOGRAPH", "Han"), ("IDEOGRAPHIC ", "Han"),
    ("HIRAGANA ", "Hiragana"), ("KATAKANA", "Katakana"),
)
#: The blocks each script's letters must come from (hardening review: "ɑdmin" with U+0251, small
#: capitals "ᴀᴅᴍɪɴ" and "adɱin" were Latin by name). Latin: Basic Latin, Latin-1 Supplement and
#: Latin Extended-A (IPA, phonetic, small-capital and other extended Latin letters are refused, and
#: so are precomposed Vietnamese letters); Greek and Cyrillic: their basic blocks (plus the
#: Cyrillic Supplement); Hangul: syllables, jamo and compatibility jamo. A letter of a script
#: outside its blocks counts as "Other" (refused).
_SCRIPT_BLOCKS: dict[str, tuple[tuple[int, int], ...]] = {
    "Latin": ((0x0041, 0x007A), (0x00C0, 0x00FF), (0x0100, 0x017F)),
    "Greek": ((0x0370, 0x03FF),),
    "Cyrillic": ((0x0400, 0x052F),),
    "Hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF)),
}
_SCRIPT_SETS: tuple[frozenset[str], ...] = (
    frozenset({"Latin", "Han", "Hangul"}),
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Cyrillic"}),
    frozenset({"Greek"}),
)

#: Look-alikes folded to the Latin letter they imitate before comparing with reserved names
#: (a small part of the Unicode confusables table: Cyrillic, Greek, digits and marks that pass
#: for Latin letters). Only used for that comparison; the nickname is stored as NFKC.
_SKELETON = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "н": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d",
    "ԝ": "w", "с": "c", "ɡ": "g", "ӏ": "i", "п": "n", "и": "n", "л": "n", "д": "d",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "m", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ς": "s", "σ": "o",
    # digits and marks read as letters
    "0": "o", "1": "i", "l": "i", "|": "i", "!": "i", "ı": "i", "3": "e", "4": "a", "5": "s", "@": "a",
    "$": "s", "7": "t",
})
_NOT_ALNUM = re.compile(r"[\W_]+")


def _invisible(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def _script(ch: str) -> str | None:
    """The script of a letter (or non-ASCII digit): one of the names in :data:`_SCRIPT_PREFIXES`,
    ``"Other"``, or None for a character that belongs to no script (ASCII digits, punctuation,
    symbols, the space)."""
    category = unicodedata.category(ch)
    if not (category.startswith("L") or (category == "Nd" and not ch.isascii())):
        return None
    name = unicodedata.name(ch, "")
    if ch == "\u30fc":  # the long-vowel mark: Hiragana and Katakana both use it
        return "Katakana"
    for prefix, script in _SCRIPT_PREFIXES:
        if name.startswith(prefix):
            blocks = _SCRIPT_BLOCKS.get(script)
            if blocks is not None and not any(low <= ord(ch) <= high for low, high in blocks):
                return "Other"
            return script
    return "Other"


def nickname_skeleton(nickname: str) -> str:
    """What a nickname looks like: NFKC, case folded, accents and other combining marks dropped,
    look-alikes folded to Latin, everything but letters and digits dropped ("ΑDM1N", "a.d.m.i.n",
    "àdmin" and "аdmin" all give "admin")."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", nickname).casefold())
    folded = "".join(ch for ch in folded if unicodedata.category(ch)[0] != "M")
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFC", folded).translate(_SKELETON))


def check_nickname_chars(nick: str) -> None:
    """Refuse invisible characters and look-alike script mixes in an NFKC nickname.

    Raises:
        InvalidInputError: ``board.error.nickname_invisible`` (zero-width, format, bidi,
            filler or other invisible characters, spaces other than U+0020, stacked marks),
            ``board.error.nickname_script`` (letters of a script outside the allowed ones, or
            mixed scripts such as Latin with Cyrillic).
    """
    scripts: set[str] = set()
    previous = ""
    for ch in nick:
        category = unicodedata.category(ch)
        if (
            _invisible(ch)
            or category[0] in "CZ" and ch != " "  # controls, format characters, unassigned, odd spaces
            or category[0] == "M" and (not previous or unicodedata.category(previous)[0] in "MZ")
        ):
            raise InvalidInputError("board.error.nickname_invisible")
        script = _script(ch)
        if script is not None:
            scripts.add(script)
        previous = ch
    if scripts and ("Other" in scripts or not any(scripts <= allowed for allowed in _SCRIPT_SETS)):
        raise InvalidInputError("board.error.nickname_script")


def clean_nickname(value: object, config: BoardConfig, *, min_len: int | None = None) -> str:
    """A nickname, NFKC-normalised (fullwidth and compatibility forms folded: "ｔｅｓｔ" is
    "test"): one line, length limits (``min_len`` overrides ``config.nickname_min``), no invisible
    characters, no look-alike script mixes, and not a reserved name (admin, 관리자...) nor
    anything that looks like one (compared by :func:`nickname_skeleton`). Returns the NFKC form,
    which is what is stored and shown.

    Raises:
        InvalidInputError: see :func:`clean_line` and :func:`check_nickname_chars`, or
            ``board.error.reserved_nickname``.
    """
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value)
    low = config.nickname_min if min_len is None else min_len
    nick = clean_line(value, "nickname", low, config.nickname_max)
    check_nickname_chars(nick)
    if nickname_skeleton(nick) in {nickname_skeleton(r) for r in config.reserved_nicknames}:
        raise InvalidInputError("board.error.reserved_nickname")
    return nick


def same_nickname(typed: object, stored: str) -> bool:
    """Whether a typed nickname names the stored one (both compared as NFKC, outer spaces off)."""
    if not isinstance(typed, str):
        return False
    return unicodedata.normalize("NFKC", typed).strip() == unicodedata.normalize("NFKC", stored).strip()


def check_password(value: object, config: BoardConfig) -> str:
    """A password's length (it is never stored; only its Argon2id hash is).

    Raises:
        InvalidInputError: not a string or outside the length limits.
    """
    if not isinstance(value, str) or not value:
        raise InvalidInputError("board.error.required", field="password")
    _check_encodable(value, "password")
    if len(value) < config.password_min:
        raise InvalidInputError("board.error.too_short", field="password", min=config.password_min)
    if len(value) > config.password_max:
        raise InvalidInputError("board.error.too_long", field="password", max=config.password_max)
    return value


def count_links(*texts: str) -> int:
    """How many URLs (http(s)/ftp, www., javascript:/vbscript:/data:) the texts contain."""
    return sum(len(_LINK.findall(text)) for text in texts)


def check_links(max_links: int, *texts: str) -> None:
    """Raises SpamError when the texts hold more than ``max_links`` links."""
    found = count_links(*texts)
    if found > max_links:
        raise SpamError("board.error.too_many_links", max=max_links, found=found)


def fingerprint(*parts: str) -> str:
    """A hash of the texts with case, Unicode width and whitespace differences removed:
    two posts with the same fingerprint are duplicates."""
    norm = "\x1f".join(_SPACE.sub(" ", unicodedata.normalize("NFKC", p)).strip().casefold() for p in parts)
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


#: U+2060 WORD JOINER: invisible, and breaks the text patterns GitHub-flavoured Markdown turns
#: into links by itself (``www.``, ``scheme:``, ``name@host``): Streamlit's renderer finds them
#: in the text *after* backslash escapes are resolved, so escaping alone leaves them clickable.
WORD_JOINER = "\u2060"
_AUTOLINK_CUT = re.compile(r"(?<=www)(?=\.)|(?=[:@])", re.IGNORECASE)


def escape_markdown(text: str) -> str:
    """Make one line of user text display verbatim through Streamlit's Markdown renderer.

    Every ASCII punctuation character is backslash-escaped (CommonMark renders an escaped
    punctuation character literally), which also disarms raw HTML, links, images, emphasis,
    emoji shortcodes (``:x:``), colour directives (``:red[...]``), math (``$``) and entities
    (``&``). Autolinks need more (issue 16: a URL title rendered as a clickable link): a
    :data:`WORD_JOINER` goes before every ``:`` and ``@`` and between ``www`` and ``.``, so
    ``https://``, ``www.`` and e-mail addresses never become links. Line breaks become spaces
    and outer whitespace is dropped (so no indented code block): use this for one-line fields
    in Markdown (nicknames in captions); show titles and multi-line text with ``st.text``.
    """
    one_line = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").strip()
    return _MD_PUNCT.sub(r"\\\1", _AUTOLINK_CUT.sub(WORD_JOINER, one_line))


@dataclass(frozen=True)
class SearchQuery:
    """A visitor's search split for SQLite: ``fts`` is an FTS5 MATCH expression over the
    terms of 3+ characters (each a quoted string, so FTS syntax in the input is inert; empty
    when there are none) and ``like_patterns`` are LIKE patterns (``\\`` escapes) for the
    shorter terms, which the trigram index cannot match. ``bigrams`` is the MATCH expression
    of those shorter terms for the bigram index (schema v6: see
    :data:`core.board.schema.BIGRAM_VIEW`): a 2-character term is one hex token, a
    1-character term a token prefix. The index only narrows the candidates; the LIKE
    patterns decide, so results are exactly those of LIKE."""

    terms: tuple[str, ...]
    fts: str
    like_patterns: tuple[str, ...]
    bigrams: str = ""

    @property
    def empty(self) -> bool:
        return not self.terms


#: SQLite's lower() and LIKE (no ICU) fold ASCII letters only; so does the bigram index.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def bigram_token(term: str) -> str:
    """The bigram-index MATCH phrase of a 1-2 character term: the hex UTF-8 of the
    ASCII-lowercased term, quoted; a prefix query (``*``) for one character."""
    token = '"' + term.translate(_ASCII_LOWER).encode("utf-8").hex() + '"'
    return token + "*" if len(term) == 1 else token


def _like_escape(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def ascii_lower(value: str) -> str:
    """``value`` with ASCII letters lower-cased and nothing else changed (how LIKE folds case)."""
    return value.translate(_ASCII_LOWER)


def like_pattern(term: str) -> str:
    """The LIKE pattern (``\\`` escapes) matching any text that contains ``term``."""
    return _like_escape(term)


def parse_query(query: object, config: BoardConfig) -> SearchQuery:
    """Split a search box value into terms (whitespace-separated, duplicates dropped, at
    most ``config.query_max_terms``).

    Raises:
        InvalidInputError: longer than ``config.query_max`` or has control characters.
    """
    if not isinstance(query, str):
        raise InvalidInputError("board.error.required", field="query")
    text = query.strip()
    _check_encodable(text, "query")
    if len(text) > config.query_max:
        raise InvalidInputError("board.error.too_long", field="query", max=config.query_max)
    if _BODY_CONTROL.search(text):
        raise InvalidInputError("board.error.bad_chars", field="query")
    terms: list[str] = []
    for term in text.split():
        if term not in terms:
            terms.append(term)
    terms = terms[: config.query_max_terms]
    long_terms = [term for term in terms if len(term) >= 3]
    short_terms = [term for term in terms if len(term) < 3]
    fts = " AND ".join('"' + term.replace('"', '""') + '"' for term in long_terms)
    bigrams = " AND ".join(bigram_token(term) for term in short_terms)
    return SearchQuery(tuple(terms), fts, tuple(_like_escape(term) for term in short_terms), bigrams)
