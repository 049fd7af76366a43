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


def clean_nickname(value: object, config: BoardConfig) -> str:
    """A nickname: one line, length limits, not a reserved name (admin, 관리자...).

    Raises:
        InvalidInputError: see :func:`clean_line`, or ``board.error.reserved_nickname``.
    """
    nick = clean_line(value, "nickname", config.nickname_min, config.nickname_max)
    folded = _SPACE.sub("", unicodedata.normalize("NFKC", nick)).casefold()
    if folded in {_SPACE.sub("", r).casefold() for r in config.reserved_nicknames}:
        raise InvalidInputError("board.error.reserved_nickname")
    return nick


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


def escape_markdown(text: str) -> str:
    """Make one line of user text display verbatim through Streamlit's Markdown renderer.

    Every ASCII punctuation character is backslash-escaped (CommonMark renders an escaped
    punctuation character literally), which also disarms raw HTML, links, images, emphasis,
    emoji shortcodes (``:x:``), colour directives (``:red[...]``), math (``$``), entities
    (``&``) and autolinks (``www.``, ``http://``). Line breaks become spaces and outer
    whitespace is dropped (so no indented code block): use this for one-line fields (titles,
    nicknames) and show multi-line text with ``st.text``.
    """
    one_line = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").strip()
    return _MD_PUNCT.sub(r"\\\1", one_line)


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
