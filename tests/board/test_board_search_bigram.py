"""Search terms of 1-2 characters through the bigram index (schema v6): results identical to
the LIKE semantics (substring of the title or the body, ASCII-only case folding) on built
data full of edge cases, the index kept in sync on edit/delete/import, used by the query
plan, and correct for texts longer than the position table."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from core.board import Board, BoardConfig, cheap_password_hasher
from core.board.queries import SEARCH_SQL
from core.board.text import bigram_token, parse_query

# Titles and bodies with Korean (particles attached), Latin letters in both cases, non-ASCII
# letters whose case LIKE does not fold (É/é, Σ/σ), 4-byte characters (emoji, rare Hanja),
# combining marks, LIKE wildcards and the escape character, line breaks, tabs and runs of
# one character.
TEXTS = [
    ("두피가 가려워요", "샴푸를 바꿨어요\n각질이 많아요"),
    ("골절 후기", "어깨 골절, 결핵 검사도 받았어요"),
    ("X-Ray result", "Chest x-ray was CLEAR. ct scan next"),
    ("Café crème", "ÉCOLE école Σίσυφος σ"),
    ("emoji 😀 test", "🦴 bone 😀😀 𠀀 rare"),
    ("100% sure_", "a\\b 50%_off __init__"),
    ("tabs and spaces", "line one\r\nline two\ttab"),
    ("e\u0301 combining", "cafe\u0301 vs café"),
    ("뷁", "x"),
    ("zq", "ZQ zq Zq"),
    ("aaaa", "bbbb"),
    ("탈모 고민", "탈모가 걱정돼요 두피"),
    ("결핵", "결\n핵 (split by a line break)"),
    ("title ends with é", "É starts the body"),
    ("ab", "c"),
]

RAW = [("tab\there", "bell\x07 and \x1b escape"), ("", "empty title"), ("x", "")]


def _reference(db_path: Path, terms: list[str]) -> list[int]:
    """Visible posts matching every term with the pre-v6 semantics: LIKE on title or body."""
    sql = "SELECT id FROM posts WHERE status = 'visible'"
    params: list[str] = []
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql += " AND (title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')"
        params += [pattern, pattern]
    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute(sql + " ORDER BY id DESC", params)]


def _all_ids(board: Board, query: str, sort: str = "newest") -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        result = board.search(query, sort=sort, page=page, per_page=50)
        ids += [p.id for p in result.items]
        if page >= result.pages:
            return ids
        page += 1


@pytest.fixture
def filled(db_path: Path) -> Board:
    board = Board(db_path, BoardConfig(password_hasher=cheap_password_hasher()).without_rate_limits())
    board.import_posts(
        {"category": "free", "title": title, "body": body, "nickname": "n"} for title, body in TEXTS
    )
    with sqlite3.connect(db_path) as conn:  # rows written around the board's checks (old data)
        for title, body in RAW:
            conn.execute(
                "INSERT INTO posts (created_at, category, nickname, title, body, fingerprint) "
                "VALUES (1.0, 'free', 'raw', ?, ?, 'fp')",
                (title, body),
            )
    return board


def _short_terms(rng: random.Random) -> list[str]:
    """Every 1- and 2-character substring of the data (whitespace-free), their ASCII case
    swaps, and characters that occur nowhere."""
    terms: set[str] = set()
    for title, body in TEXTS + RAW:
        for text in (title, body, title + "\n" + body):
            for i in range(len(text)):
                for size in (1, 2):
                    piece = text[i : i + size]
                    if len(piece) == size and piece.isprintable() and not any(c.isspace() for c in piece):
                        terms.update({piece, piece.swapcase()})
    terms.update({"뷀", "qz", "%%", "\\\\", "_%", "é", "É", "😀", "😁", "ß"})
    return sorted(terms)


def test_short_terms_match_exactly_like_like(filled: Board, db_path: Path) -> None:
    rng = random.Random(7)
    terms = _short_terms(rng)
    assert len(terms) > 300
    for term in terms:
        expected = _reference(db_path, [term])
        assert _all_ids(filled, term) == expected, term
        assert sorted(_all_ids(filled, term, sort="popular")) == sorted(expected), term
        assert filled.search(term).total == len(expected), term
    for _ in range(150):  # two short terms: both must match
        pair = rng.sample(terms, 2)
        assert _all_ids(filled, " ".join(pair)) == _reference(db_path, pair), pair


def test_known_cases(filled: Board) -> None:
    def titles(query: str) -> list[str]:
        return [p.title for p in filled.search(query, per_page=50).items]

    assert titles("골절") == ["골절 후기"]
    assert titles("결핵") == ["결핵", "골절 후기"]  # "결\n핵" is not "결핵"
    assert titles("ZQ") == ["zq"] and titles("zQ") == ["zq"]  # ASCII folds
    assert titles("é") == ["title ends with é", "e\u0301 combining", "Café crème"]
    assert titles("É") == ["title ends with é", "Café crème"]  # non-ASCII does not fold (as LIKE)
    assert titles("😀") == ["emoji 😀 test"]
    assert titles("%") == ["100% sure_"] and titles("_") == ["100% sure_"]
    assert "ab" in titles("c")  # the very last character of a body
    assert titles("1") == ["100% sure_"] and titles("cL") == ["X-Ray result"]


def test_index_follows_edits_deletes_and_moderation(db_path: Path, config: BoardConfig) -> None:
    board = Board(db_path, config.without_rate_limits())
    post_id = board.create_post("v", category="free", title="처음 제목", body="골절 이야기", nickname="nick", password="pw-1234")
    other = board.create_post("v", category="free", title="다른 글", body="골절", nickname="nick", password="pw-1234")
    assert [p.id for p in board.search("골절").items] == [other, post_id]
    board.edit_post("v", post_id, nickname="nick", password="pw-1234", title="새 제목", body="결핵 이야기", category="free")
    assert [p.id for p in board.search("골절").items] == [other]
    assert [p.id for p in board.search("결핵").items] == [post_id]
    board.delete_post("v", other, nickname="nick", password="pw-1234")
    assert board.search("골절").total == 0
    board.moderator("v", "s", "s").delete_post(post_id)
    assert board.search("결핵").total == 0 and board.search("이").total == 0
    assert board.integrity_check() == "ok"


def test_rare_short_term_uses_the_bigram_index(filled: Board, db_path: Path) -> None:
    params = {"category": None, "likes": '["%뷁%"]', "fts": "", "bigrams": bigram_token("뷁"), "limit": 10, "offset": 0}
    plans = {}
    for sort in ("newest", "popular"):
        with sqlite3.connect(db_path) as conn:
            rows = conn.execute("EXPLAIN QUERY PLAN " + SEARCH_SQL[("bigram", sort)], params)
            plans[sort] = [r[3] for r in rows]
    # newest: walk the index backwards, then each candidate post by its id (no scan of the posts)
    assert plans["newest"][:2] == ["SCAN posts_bigram VIRTUAL TABLE INDEX 192:M1", "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"]
    # popular: walk the like-count index, testing membership in the index's match set
    assert any("posts_bigram VIRTUAL TABLE" in step for step in plans["popular"]), plans["popular"]
    assert "idx_posts_status_likes" in plans["popular"][0], plans["popular"]
    assert parse_query("뷁 zq", filled.config).bigrams == '"ebb781"* AND "7a71"'
    assert parse_query("두피 가려워요", filled.config).fts == '"가려워요"'  # a long term drives the trigram index


def test_long_texts_across_block_and_chunk_boundaries(db_path: Path) -> None:
    """The view cuts texts into 4,097-character blocks and 65-character chunks: every window
    across those cuts is indexed. Unique characters sit on both sides of each cut, so a
    window lost at a cut cannot be found elsewhere in the text."""
    config = replace(BoardConfig(password_hasher=cheap_password_hasher()), body_max=20_000)
    board = Board(db_path, config.without_rate_limits())
    rng = random.Random(3)
    chars = [rng.choice("가나다라마바사아자차") for _ in range(12_310)]  # title + LF + body, 1-based below
    cuts = [63, 64, 65, 128, 4095, 4096, 4097, 4160, 8192, 8193, 12_288]
    markers = iter("一二三四五六七八九十百千万亿兆京垓秭穰沟涧正载极")
    for cut in cuts:
        chars[cut - 1] = next(markers)  # the character at position `cut`
        chars[cut] = next(markers)  # and the next one
    chars[4] = "\n"
    text = "".join(chars)
    title, body = text[:4], text[5:]
    board.import_posts([{"category": "free", "title": title, "body": body, "nickname": "n"}])
    board.import_posts([{"category": "free", "title": "short", "body": "가나 q", "nickname": "n"}])
    terms = set()
    for cut in cuts:
        i = cut - 1  # 0-based index of the first marker
        terms |= {text[i - 1 : i + 1], text[i : i + 2], text[i + 1 : i + 3], text[i], text[i + 1]}
    terms |= {text[-2:], text[-1]}
    for term in sorted(terms):
        assert _all_ids(board, term) == _reference(db_path, [term]), term
        assert _all_ids(board, term), term
    assert board.integrity_check() == "ok"
