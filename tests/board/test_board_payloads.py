"""A corpus of XSS and SQL-injection payloads goes through every text field and comes back
byte-for-byte; the schema survives; searching for the payloads works and never errors.
(The browser test shows the same payloads render as inert text.) Both storage engines."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from core.board import Board, BoardConfig, escape_markdown
from core.settings import get_settings

PAYLOADS_FILE = Path(__file__).with_name("payloads.txt")
PAYLOADS = [line for line in PAYLOADS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
TABLES = {"posts", "comments", "likes", "reports", "rate_events", "moderation_log", "schema_version", "posts_fts"}


def _schema(path: Path, engine: str) -> tuple[set[str], str]:
    if engine == "postgresql":
        import psycopg

        with psycopg.connect(str(get_settings().db_url)) as pg:
            rows = pg.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                              "WHERE table_schema = current_schema() ORDER BY 1, 2").fetchall()
        return {r[0] for r in rows}, repr(rows)
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        sql = "\n".join(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master ORDER BY name"))
    return names, sql


def test_corpus_is_large_and_varied() -> None:
    assert len(PAYLOADS) >= 100 and len(set(PAYLOADS)) == len(PAYLOADS)
    lowered = [p.lower() for p in PAYLOADS]
    for marker in ("<script", "onerror", "javascript:", "<svg", "](javascript:", "![", "drop table", "union select"):
        assert any(marker in p for p in lowered), marker


@pytest.fixture
def open_board(open_db: Callable[..., Board], config: BoardConfig) -> Board:
    # no rate, link or duplicate limits: the point is storage and display, not spam rules
    relaxed = replace(config, max_links_post=99, max_links_comment=99, duplicate_window_s=0, duplicate_comment_window_s=0)
    return open_db(config=relaxed.without_rate_limits())


def test_payloads_round_trip_byte_for_byte(open_board: Board, storage_engine: str, tmp_path: Path) -> None:
    board = open_board
    db_path = tmp_path / "board.sqlite3"
    names_before, schema_before = _schema(db_path, storage_engine)
    created: list[tuple[int, str]] = []
    for n, payload in enumerate(PAYLOADS):
        title = payload if len(payload) <= board.config.title_max else payload[: board.config.title_max].strip()
        post_id = board.create_post(
            f"visitor-{n}", category="free", title=title, body=payload, nickname=f"n{n:03d}", password=payload + "-pw"
        )
        board.add_comment(f"visitor-{n}", post_id, nickname="guest", password="pw-1234", body=payload)
        board.report_post(post_id, f"visitor-{n}", payload[: board.config.report_reason_max])
        created.append((post_id, title))
    for (post_id, title), payload in zip(created, PAYLOADS, strict=True):
        post = board.get_post(post_id)
        assert post is not None
        assert post.title.encode() == title.encode()
        assert post.body.encode() == payload.encode()
        [comment] = board.list_comments(post_id)
        assert comment.body.encode() == payload.encode()
    names_after, schema_after = _schema(db_path, storage_engine)
    tables = TABLES if storage_engine == "files" else {"board_" + t for t in ("posts", "comments", "likes", "reports")}
    assert tables <= names_after and names_after == names_before and schema_after == schema_before
    assert board.list_posts().total == len(PAYLOADS)
    assert board.integrity_check() == "ok"
    # the owner password may itself be a payload: it still works, and is never stored
    assert board.check_owner("owner", created[0][0], nickname="n000", password=PAYLOADS[0] + "-pw") is None
    if storage_engine == "files":
        raw = db_path.read_bytes() + (db_path.with_name(db_path.name + "-wal").read_bytes()
                                      if db_path.with_name(db_path.name + "-wal").exists() else b"")
        assert (PAYLOADS[0] + "-pw").encode() not in raw


def test_search_with_payloads_never_fails(open_board: Board) -> None:
    board = open_board
    ids = {}
    for n, payload in enumerate(PAYLOADS):
        ids[payload] = board.create_post(
            f"v{n}", category="free", title=f"payload {n}", body=payload, nickname="tester", password="pw-1234"
        )
    for payload in PAYLOADS:
        query = payload[: board.config.query_max]
        result = board.search(query, per_page=50)  # FTS syntax and LIKE wildcards stay literal
        if len(payload) <= board.config.query_max:
            found = {p.id for p in result.items}
            # every whitespace-separated term occurs in the payload's own body, so it must be found
            assert ids[payload] in found or result.total > 50, payload


def test_escaped_titles_keep_their_text() -> None:
    for payload in PAYLOADS:
        escaped = escape_markdown(payload).replace("\u2060", "")  # word joiners only cut autolinks
        assert not re.search(r"(?<!\\)[<>\[\]()!*_`#:&$]", re.sub(r"\\.", "", escaped)), escaped
        assert re.sub(r"\\(.)", r"\1", escaped) == payload.strip()
