"""Pure text helpers: link counting, fingerprints, query parsing, Markdown escaping."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.board import BoardConfig
from core.board.text import count_links, escape_markdown, fingerprint, parse_query

CORE_BOARD = Path(__file__).resolve().parents[2] / "core" / "board"


def test_core_board_never_imports_streamlit() -> None:
    for path in CORE_BOARD.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("no links here", 0),
        ("https://a.example/x and http://b.example", 2),
        ("visit www.example.com", 1),
        ("[x](javascript:alert(1))", 1),
        ("JavaScript : alert(1)", 1),
        ("data:text/html,<b>", 1),
        ("ftp://files.example", 1),
        ("email me at a@b.example", 0),
    ],
)
def test_count_links(text: str, links: int) -> None:
    assert count_links(text) == links


def test_fingerprint_ignores_case_width_and_spacing() -> None:
    assert fingerprint("Hello  World", "Body\ntext") == fingerprint("hello world", "body text")
    assert fingerprint("ＡＢＣ", "x") == fingerprint("abc", "x")  # full-width folds (NFKC)
    assert fingerprint("title", "body") != fingerprint("title", "other body")
    assert fingerprint("ab", "c") != fingerprint("a", "bc")  # parts stay separate


def test_parse_query_splits_long_and_short_terms() -> None:
    parsed = parse_query('  두피  가려워요 "dry" 두피 x%_ ', BoardConfig())
    assert parsed.terms == ("두피", "가려워요", '"dry"', "x%_")
    assert parsed.fts == '"가려워요" AND """dry""" AND "x%_"'
    assert parsed.like_patterns == ("%두피%",)
    short = parse_query("a% b_", BoardConfig())
    assert short.fts == "" and short.like_patterns == ("%a\\%%", "%b\\_%")
    assert parse_query("   ", BoardConfig()).empty


def test_parse_query_caps_terms() -> None:
    parsed = parse_query(" ".join(f"t{i}" for i in range(20)), BoardConfig())
    assert len(parsed.terms) == BoardConfig().query_max_terms


@pytest.mark.parametrize(
    "text",
    [
        "**bold** _it_ `code` ~~s~~",
        "[x](javascript:alert(1))",
        "![x](http://evil/)",
        "<img src=x onerror=alert(1)>",
        "# heading",
        ":red[colour] :smile: :material/home:",
        "$x^2$ &amp; &#60;",
        "www.example.com http://x.example",
        "1. list",
        "back\\slash",
    ],
)
def test_escape_markdown_escapes_every_ascii_punctuation(text: str) -> None:
    escaped = escape_markdown(text).replace("\u2060", "")  # word joiners cut autolinks (next test)
    # every punctuation character is preceded by a backslash; removing them gives the input
    out, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            assert escaped[i + 1] in r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"""
            out.append(escaped[i + 1])
            i += 2
        else:
            assert escaped[i] not in r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"""
            out.append(escaped[i])
            i += 1
    assert "".join(out) == text


@pytest.mark.parametrize(
    "text", ["https://evil.example/x", "http://a.b", "www.evil.example", "WWW.EVIL.EXAMPLE", "me@evil.example",
             "mailto:me@evil.example", "xmpp:me@evil.example", "ftp://evil.example"],
)
def test_escape_markdown_cuts_autolinks(text: str) -> None:
    """Issue 16: GFM finds www., scheme: and e-mail links in the text after escapes are resolved;
    an invisible word joiner before : and @ and after www stops it."""
    import re

    shown = re.sub(r"\\(.)", r"\1", escape_markdown(text))  # the text the renderer sees
    assert shown.replace("\u2060", "") == text
    assert not re.search(r"(?i)(https?|ftp|mailto|xmpp)://|www\.|\w@\w|(mailto|xmpp):", shown)


def test_escape_markdown_makes_one_line() -> None:
    assert escape_markdown("a\nb\r\nc") == "a b c"
    assert escape_markdown("두피 가려워요") == "두피 가려워요"
