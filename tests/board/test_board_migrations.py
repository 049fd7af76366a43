"""Schema versioning: migrations from an empty database and from older versions, refusal of
newer schemas, rollback of a failing migration, WAL and busy timeout, settings path."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlite_utils import Database

from core.board import (
    LATEST_VERSION,
    Board,
    BoardConfig,
    SchemaTooNewError,
    cheap_password_hasher,
    open_board,
)
from core.board import schema as schema_mod
from core.board.schema import current_version, migrate
from core.settings import get_settings


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}


def _raw_db(path: Path) -> Database:
    return Database(sqlite3.connect(path, isolation_level=None), execute_plugins=False)


NAMES = [
    (1, "initial"), (2, "fts_trigram"), (3, "moderation"), (4, "comment_edits"), (5, "visitor_salt"),
    (6, "fts_bigram"), (7, "visitor_cookie"),
]


def test_migrate_from_empty(db_path: Path) -> None:
    board = Board(db_path)
    assert board.schema_version() == LATEST_VERSION == 7
    tables = _tables(db_path)
    assert {"posts", "comments", "likes", "reports", "rate_events", "moderation_log", "posts_fts"} <= tables
    assert {"posts_fts_ai", "posts_fts_ad", "posts_fts_au"} <= tables
    assert {"meta", "posts_bigram", "posts_bigram_seq"} <= tables
    assert {"posts_bigram_ai", "posts_bigram_bd", "posts_bigram_bu", "posts_bigram_au"} <= tables
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
        fts_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()[0]
        salt = conn.execute("SELECT value FROM meta WHERE key = 'visitor_salt'").fetchone()[0]
        comment_columns = [r[1] for r in conn.execute("PRAGMA table_info(comments)")]
    assert rows == NAMES
    assert "trigram" in fts_sql
    assert len(salt) == 64 and int(salt, 16)  # 256 random bits
    assert "updated_at" in comment_columns
    with sqlite3.connect(db_path) as conn:
        key = conn.execute("SELECT value FROM meta WHERE key = 'cookie_key'").fetchone()[0]
        report_columns = [r[1] for r in conn.execute("PRAGMA table_info(reports)")]
    assert len(key) == 64 and key != salt
    assert {"network_hash", "counted"} <= set(report_columns)
    Board(db_path)  # reopening is a no-op
    assert board.schema_version() == LATEST_VERSION
    with sqlite3.connect(db_path) as conn:  # the salt is made once
        assert conn.execute("SELECT value FROM meta WHERE key = 'visitor_salt'").fetchone()[0] == salt


@pytest.mark.parametrize("start", [1, 2, 3, 4, 5, 6])
def test_migrate_from_older_version_keeps_data(db_path: Path, start: int) -> None:
    db = _raw_db(db_path)
    assert migrate(db, target=start) == start
    db.execute(
        "INSERT INTO posts (id, created_at, category, nickname, title, body, password_hash, fingerprint) "
        "VALUES (7, 1.0, 'scalp', '옛날사람', '두피가 가려워요', '오래된 글입니다', NULL, 'fp')"
    )
    db.execute("INSERT INTO comments (post_id, created_at, nickname, body, fingerprint) VALUES (7, 2.0, 'a', 'b', 'f')")
    db.execute("INSERT INTO likes (post_id, visitor_hash, created_at) VALUES (7, 'h', 3.0)")
    db.close()
    board = Board(db_path)
    assert board.schema_version() == LATEST_VERSION
    post = board.get_post(7)
    assert post is not None and post.title == "두피가 가려워요" and post.status == "visible"
    assert [p.id for p in board.search("두피").items] == [7]
    assert [p.id for p in board.search("오래된").items] == [7]  # FTS filled from existing rows
    assert [p.id for p in board.search("글").items] == [7]
    with sqlite3.connect(db_path) as conn:  # the bigram index was filled from existing rows too
        matched = conn.execute("SELECT rowid FROM posts_bigram WHERE posts_bigram MATCH ?", ('"eb9190ed94bc"',))
        assert [r[0] for r in matched] == [7]
    assert board.report_post(7, "reporter").new
    [comment] = board.list_comments(7)
    assert comment.body == "b" and comment.updated_at is None
    assert board.client_visitor_id("203.0.113.9") is not None  # the salt exists
    token = board.issue_browser_token("fallback")  # the cookie key exists
    assert token is not None and board.browser_visitor_id(token) is not None
    assert board.integrity_check() == "ok"


def test_newer_schema_is_refused(db_path: Path) -> None:
    Board(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
    with pytest.raises(SchemaTooNewError):
        Board(db_path)


def test_failing_migration_rolls_back(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Board(db_path)

    def broken(db: Database) -> None:
        db.execute("CREATE TABLE half_done (x)")
        db.execute("ALTER TABLE posts ADD COLUMN oops TEXT")
        raise RuntimeError("migration bug")

    broken_version = LATEST_VERSION + 1
    monkeypatch.setattr(schema_mod, "MIGRATIONS", (*schema_mod.MIGRATIONS, (broken_version, "broken", broken)))
    monkeypatch.setattr(schema_mod, "LATEST_VERSION", broken_version)
    db = _raw_db(db_path)
    with pytest.raises(RuntimeError, match="migration bug"):
        migrate(db)
    assert current_version(db) == LATEST_VERSION
    assert not db["half_done"].exists()
    assert "oops" not in db["posts"].columns_dict
    db.close()


def _open_board(path: str) -> None:
    board = Board(path, BoardConfig(password_hasher=cheap_password_hasher()))
    board.create_post(
        f"v-{os.getpid()}", category="free", title="hi", body=f"from {os.getpid()}", nickname="nick", password="pw-1234"
    )


def test_concurrent_first_open_migrates_once(db_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_open_board, args=(str(db_path),)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 4


def test_wal_busy_timeout_and_foreign_keys(board: Board, sqlite_only: None) -> None:
    pragmas = board.pragmas()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["busy_timeout"] == board.config.busy_timeout_ms > 0
    assert pragmas["foreign_keys"] == 1
    assert pragmas["synchronous"] == 1  # NORMAL


def test_default_database_lives_in_the_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    settings = get_settings({"DRDC_DATA_DIR": str(data_dir)})
    assert not data_dir.exists()
    board = open_board(settings)
    assert board.path == data_dir / "board.sqlite3" and board.path.is_file()
    explicit = get_settings({"DRDC_DATA_DIR": str(data_dir), "DRDC_DB_PATH": str(tmp_path / "x" / "b.db")})
    assert open_board(explicit).path == tmp_path / "x" / "b.db"


def test_repository_holds_no_board_data() -> None:
    root = Path(__file__).resolve().parents[2]
    assert "/data/" in (root / ".gitignore").read_text(encoding="utf-8").split()
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, text=True, check=True, timeout=30,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git is not available")
    suffixes = (".sqlite3", ".sqlite", ".db", ".sqlite3-wal", ".sqlite3-shm")
    assert [f for f in listed if f.endswith(suffixes)] == []
