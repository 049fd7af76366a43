"""Durability: concurrent writer processes lose nothing, a writer killed mid-write leaves an
intact database with every committed row, and backup/export/import work (also from the CLI)."""

from __future__ import annotations

import dataclasses
import io
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.board import Board, BoardConfig, PermissionDeniedError, cheap_password_hasher, open_board
from core.board.__main__ import main as cli_main

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKERS, POSTS_EACH = 8, 500


def _bulk_config() -> BoardConfig:
    return BoardConfig(password_hasher=cheap_password_hasher()).without_rate_limits()


def _writer(path: str, worker: int) -> None:
    board = Board(path, _bulk_config())
    for i in range(POSTS_EACH):
        board.create_post(
            f"worker-{worker}",
            category=("chest", "bone", "scalp", "free")[i % 4],
            title=f"worker {worker} post {i}",
            body=f"동시 쓰기 시험 {worker}-{i} " + "x" * (i % 50),
            nickname=f"writer{worker}",
            password="pw-1234",
        )


def test_concurrent_writers_lose_nothing(db_path: Path) -> None:
    # The parent keeps its own board open across the forks (the fork hook closes its idle
    # connection first) and reads while the children write: WAL readers never block writers.
    board = Board(db_path, _bulk_config())
    assert board.list_posts().total == 0
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(db_path), w)) for w in range(WORKERS)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    reads = 0
    while any(p.is_alive() for p in procs) and time.perf_counter() - started < 120:
        board.search("동시 쓰기", page=2)
        reads += 1
    for p in procs:
        p.join(120)
    elapsed = time.perf_counter() - started
    assert [p.exitcode for p in procs] == [0] * WORKERS, "a writer failed (see its traceback above)"
    with sqlite3.connect(db_path) as conn:
        titles = {r[0] for r in conn.execute("SELECT title FROM posts")}
    expected = {f"worker {w} post {i}" for w in range(WORKERS) for i in range(POSTS_EACH)}
    assert sorted(expected - titles) == []
    assert titles == expected
    assert board.list_posts().total == WORKERS * POSTS_EACH
    assert board.integrity_check() == "ok"  # SQLite pages and the FTS index agree with the rows
    with sqlite3.connect(db_path) as conn:  # every post reached the full-text index
        indexed = conn.execute("SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH ?", ('"동시 쓰기"',)).fetchone()[0]
    assert indexed == WORKERS * POSTS_EACH
    assert [p.title for p in board.search("동시 쓰기 7-499").items] == ["worker 7 post 499"]
    print(f"{WORKERS * POSTS_EACH} posts from {WORKERS} processes in {elapsed:.1f} s, {reads} searches meanwhile")


_KILL_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[2])
from core.board import Board, BoardConfig, cheap_password_hasher
board = Board(sys.argv[1], BoardConfig(password_hasher=cheap_password_hasher()).without_rate_limits())
start = int(sys.argv[3])
for batch in range(start, start + 100000):
    posts = [
        {"category": "free", "title": f"batch {batch} post {j}", "body": f"{batch}:{j} " + "본문" * 1500,
         "nickname": "writer"}
        for j in range(25)
    ]
    board.import_posts(posts, batch_size=25)  # one transaction per batch
    print(batch, flush=True)  # only after COMMIT returned
"""


def _run_and_kill(db_path: Path, start: int, batches_before_kill: int) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(db_path), str(PROJECT_ROOT), str(start)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    last = start - 1
    try:
        while last < start + batches_before_kill - 1:
            line = proc.stdout.readline()
            assert line, f"writer exited early with {proc.wait()}"
            last = int(line)
        time.sleep(0.003 * (start % 7))  # land somewhere inside the next transaction
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        for line in proc.stdout:  # batches committed between our last read and the kill
            last = int(line)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    return last


@pytest.mark.slow
def test_writer_killed_mid_write_leaves_database_intact(db_path: Path) -> None:
    Board(db_path, _bulk_config())
    committed = 0
    for round_no in range(3):
        start = round_no * 1000
        last = _run_and_kill(db_path, start, batches_before_kill=8)
        committed += last - start + 1
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = conn.execute("SELECT title FROM posts WHERE title LIKE ?", (f"batch {start}%",)).fetchall()
            titles = {r[0] for r in conn.execute("SELECT title FROM posts")}
        for batch in range(start, last + 1):  # every committed batch is fully readable
            assert {f"batch {batch} post {j}" for j in range(25)} <= titles
        assert len(titles) % 25 == 0 and len(rows) >= 25  # no half-written batch survived
    board = Board(db_path, _bulk_config())
    assert board.integrity_check() == "ok"
    total = board.list_posts().total
    assert committed * 25 <= total <= (committed + 3) * 25
    assert board.search("batch 1000 post").total >= 25


_HOLD_SCRIPT = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
conn.execute("BEGIN IMMEDIATE")
for j in range(200):
    conn.execute(
        "INSERT INTO posts (created_at, category, nickname, title, body, fingerprint) VALUES (?, ?, ?, ?, ?, ?)",
        (0.0, "free", "ghost", f"uncommitted {j}", "유령 " * 500, f"fp{j}"),
    )
print("inside", flush=True)
time.sleep(60)
"""


def test_writer_killed_inside_a_transaction(db_path: Path) -> None:
    board = Board(db_path, _bulk_config())
    keep = board.create_post("v", category="free", title="committed", body="before", nickname="nick", password="pw-1234")
    board.close()
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_SCRIPT, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    board = Board(db_path, _bulk_config())
    assert board.integrity_check() == "ok"
    assert [p.id for p in board.list_posts().items] == [keep]  # nothing of the open transaction
    assert board.search("uncommitted").total == 0
    # the lock died with the writer: with no busy wait allowed at all, the next write still goes through
    impatient = Board(db_path, dataclasses.replace(_bulk_config(), busy_timeout_ms=0))
    impatient.create_post("v2", category="free", title="after", body="the kill", nickname="nick", password="pw-1234")
    assert [p.title for p in board.list_posts().items][0] == "after"


def test_backup_is_a_consistent_copy(board: Board, make_post, tmp_path: Path, sqlite_only: None) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        make_post(title=f"backup me {n}")
    dest = board.backup(tmp_path / "backups" / "board-copy.sqlite3")
    copy = Board(dest)
    assert copy.list_posts().total == 5 and copy.integrity_check() == "ok"
    with pytest.raises(FileExistsError):
        board.backup(dest)
    make_post(title="later")
    assert Board(board.backup(dest, overwrite=True)).list_posts().total == 6


def test_export_has_no_secrets_and_imports_back(board: Board, make_post, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary = {"task": "scalp", "findings": [{"label": "dandruff", "score": 0.7}]}
    post_id = make_post(title="두피 결과", body="공유합니다", summary=summary, password="Owner-Pass-1")
    board.add_comment("c", post_id, nickname="guest", password="Guest-Pass-2", body="좋은 정보네요")
    board.like(post_id, "fan")
    out = io.StringIO()
    assert board.export_jsonl(out) == {"posts": 1, "comments": 1}
    text = out.getvalue()
    assert "$argon2" not in text and "Owner-Pass-1" not in text and "visitor" not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["type"] for r in records] == ["meta", "post", "comment"]
    target = Board(tmp_path / "imported.sqlite3", board.config)
    assert target.import_jsonl(io.StringIO(text)) == {"posts": 1, "comments": 1}
    [imported] = target.list_posts().items
    assert (imported.title, imported.body, imported.summary) == ("두피 결과", "공유합니다", board.get_post(post_id).summary)  # type: ignore[union-attr]
    assert [c.body for c in target.list_comments(imported.id)] == ["좋은 정보네요"]
    with pytest.raises(PermissionDeniedError):  # imported posts have no password: moderators only
        target.delete_post("v", imported.id, nickname="tester", password="Owner-Pass-1")


def test_import_refuses_bad_records_whole(board: Board, tmp_path: Path) -> None:
    lines = [
        json.dumps({"type": "post", "id": 1, "category": "free", "title": "ok", "body": "fine", "nickname": "a"}),
        json.dumps({"type": "post", "id": 2, "category": "free", "title": "", "body": "no title", "nickname": "b"}),
    ]
    with pytest.raises(Exception, match="required"):
        board.import_jsonl(lines)
    assert board.list_posts().total == 0


def test_cli(board: Board, make_post, tmp_path: Path, capsys: pytest.CaptureFixture[str], sqlite_only: None) -> None:  # type: ignore[no-untyped-def]
    make_post(title="cli post")
    db = str(board.path)
    assert cli_main(["--db", db, "migrate"]) == 0
    assert cli_main(["--db", db, "check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ok"
    assert cli_main(["--db", db, "stats"]) == 0
    assert json.loads(capsys.readouterr().out)["posts_visible"] == 1
    assert cli_main(["--db", db, "backup", str(tmp_path / "b.sqlite3")]) == 0
    assert cli_main(["--db", db, "backup", str(tmp_path / "b.sqlite3")]) == 1
    assert cli_main(["--db", db, "export", str(tmp_path / "e.jsonl")]) == 0
    assert cli_main(["--db", str(tmp_path / "new.sqlite3"), "import", str(tmp_path / "e.jsonl")]) == 0
    assert Board(tmp_path / "new.sqlite3").list_posts().items[0].title == "cli post"
    # the module entry point runs too (default database from the settings)
    done = subprocess.run(
        [sys.executable, "-m", "core.board", "--db", db, "check"], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok"


def test_an_imported_edit_time_may_be_missing_or_null(board: Board) -> None:
    post = {"type": "post", "category": "free", "title": "imported", "body": "body", "nickname": "nick",
            "id": 1, "created_at": 1000.0, "updated_at": None}
    comment = {"type": "comment", "post_id": 1, "body": "reply", "nickname": "nick", "created_at": 1001.0}
    assert board.import_jsonl([json.dumps(post), json.dumps(comment)]) == {"posts": 1, "comments": 1}
    [imported] = board.list_posts().items
    assert imported.updated_at is None and board.list_comments(imported.id)[0].updated_at is None
    good = {**post, "title": "imported 2", "updated_at": 12.5}
    board.import_jsonl([json.dumps(good)])
    assert {p.title: p.updated_at for p in board.list_posts().items}["imported 2"] == 12.5


GOOD_POST = {"type": "post", "id": 1, "category": "free", "title": "fine", "body": "fine body", "nickname": "nick",
             "created_at": 1_700_000_000.0, "view_count": 3, "like_count": 1, "comment_count": 0, "report_count": 0,
             "status": "visible"}
GOOD_COMMENT = {"type": "comment", "post_id": 1, "body": "reply", "nickname": "nick", "created_at": 1_700_000_100.0}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({**GOOD_POST, "created_at": 1e20}, "created_at"),  # issue 16: took the community page down
        ({**GOOD_POST, "created_at": -5}, "created_at"),
        ({**GOOD_POST, "created_at": "2024-01-01"}, "created_at"),
        ({**GOOD_POST, "created_at": True}, "created_at"),
        ({**GOOD_POST, "updated_at": float("nan")}, "updated_at"),
        ({**GOOD_POST, "updated_at": "x"}, "updated_at"),
        ({**GOOD_POST, "updated_at": 1e300}, "updated_at"),
        ({**GOOD_POST, "view_count": float("nan")}, "view_count"),  # issue 16: gave a traceback
        ({**GOOD_POST, "view_count": "many"}, "view_count"),
        ({**GOOD_POST, "view_count": -1}, "view_count"),
        ({**GOOD_POST, "view_count": 2.5}, "view_count"),
        ({**GOOD_POST, "view_count": 10**13}, "view_count"),
        ({**GOOD_POST, "like_count": -3}, "like_count"),
        ({**GOOD_POST, "comment_count": "7"}, "comment_count"),
        ({**GOOD_POST, "report_count": False}, "report_count"),
        ({**GOOD_POST, "status": "deleted"}, "status"),
        ({**GOOD_POST, "id": "1"}, "id"),
        ({**GOOD_POST, "id": 0}, "id"),
        ({**GOOD_POST, "type": "user"}, "type"),
        ({**GOOD_COMMENT, "post_id": None}, "post_id"),
        ({**GOOD_COMMENT, "created_at": float("inf")}, "created_at"),
    ],
)
def test_import_refuses_a_bad_field_and_names_it(board: Board, record: dict[str, object], field: str) -> None:
    from core.board.errors import ImportRecordError
    from core.i18n import t

    lines = [json.dumps(GOOD_POST), json.dumps({**GOOD_POST, "id": 2, "title": "two"}), json.dumps(record)]
    with pytest.raises(ImportRecordError) as caught:
        board.import_jsonl(lines)
    assert caught.value.line == 3
    assert t(f"board.fieldname.{field}", "en") in str(caught.value)
    assert t(f"board.fieldname.{field}", "ko") in caught.value.message("ko")
    assert board.stats()["posts_visible"] == 0  # all or nothing


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("not json", "board.error.import_json"),
        ("[1, 2]", "board.error.import_json"),
        ("[" * 100_000 + "]" * 100_000, "board.error.import_json"),  # too deep for the parser
        ('{"type": "post", "title": "' + "x" * 1_000_001 + '"}', "board.error.import_json"),  # over the line cap
        (json.dumps({**GOOD_POST, "title": "t" * 101}), "board.error.too_long"),
        (json.dumps({**GOOD_POST, "body": "b" * 5001}), "board.error.too_long"),
        (json.dumps({**GOOD_POST, "nickname": "n" * 21}), "board.error.too_long"),
        (json.dumps({**GOOD_POST, "nickname": "аdmin"}), "board.error.nickname_script"),
        (json.dumps({**GOOD_POST, "nickname": "ad\u200bmin"}), "board.error.nickname_invisible"),
        (json.dumps({**GOOD_POST, "nickname": "관리자"}), "board.error.reserved_nickname"),
        (json.dumps({**GOOD_POST, "body": "bad \u0000 char"}), "board.error.bad_chars"),
        (json.dumps({**GOOD_POST, "category": "nope"}), "board.error.bad_category"),
        (json.dumps({**GOOD_POST, "summary": {"task": "chest", "image": "AAAA"}}), "board.error.summary_field"),
        (json.dumps({**GOOD_COMMENT, "body": "c" * 1001}), "board.error.too_long"),
    ],
)
def test_import_refuses_bad_lines_and_lengths(board: Board, line: str, key: str) -> None:
    from core.board.errors import ImportRecordError

    with pytest.raises(ImportRecordError) as caught:
        board.import_jsonl([json.dumps({**GOOD_POST, "id": 99}), line])
    assert caught.value.line == 2 and caught.value.cause.key == key
    assert board.stats()["posts_visible"] == 0


def test_duplicate_post_ids_in_one_import_are_refused(board: Board) -> None:
    from core.board.errors import ImportRecordError

    with pytest.raises(ImportRecordError, match="Post id"):
        board.import_jsonl([json.dumps(GOOD_POST), json.dumps({**GOOD_POST, "title": "again"})])


def test_the_cli_reports_a_refused_import_without_a_traceback(board: Board, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(json.dumps(GOOD_POST) + "\n" + json.dumps({**GOOD_POST, "id": 2, "view_count": "NaN"}) + "\n",
                   encoding="utf-8")
    where = ["--db", str(board.path)] if board.path else []  # PostgreSQL: DRDC_DB_URL, as the app
    assert cli_main([*where, "import", str(src)]) == 1
    assert "line 2" in capsys.readouterr().err
    assert board.stats()["posts_visible"] == 0


_BIG_IMPORT = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from core.board import Board, BoardConfig, cheap_password_hasher, open_board
config = BoardConfig(password_hasher=cheap_password_hasher()).without_rate_limits()
board = open_board(config=config) if sys.argv[1] == "-" else Board(sys.argv[1], config)  # "-": DRDC_DB_URL
print("ready", flush=True)
def lines():
    for i in range(int(sys.argv[3])):
        yield json.dumps({"type": "post", "id": i + 1, "category": "free", "title": f"bulk {i}",
                          "body": f"bulk body {i} " + "본문" * 200, "nickname": "loader"})
        if i == 0:
            print("importing", flush=True)
print(json.dumps(board.import_jsonl(lines())), flush=True)
"""


def _run_import(where: str, n: int, delay: float) -> None:
    """Import ``n`` posts in a child process (``where``: the SQLite file, or "-" for DRDC_DB_URL) and
    kill -9 it ``delay`` seconds after its first record was read (60: let it finish)."""
    proc = subprocess.Popen([sys.executable, "-c", _BIG_IMPORT, where, str(PROJECT_ROOT), str(n)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        assert proc.stdout.readline().strip() == "importing"
        if delay < 60:
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_an_import_killed_midway_leaves_all_or_nothing(db_path: Path) -> None:
    """Issue 16 reproducer: a killed import left a partial batch. Now it is one transaction.

    The writer is killed at several points (while validating, while writing, after the commit);
    whatever the moment, the board holds either none of the import or all of it."""
    Board(db_path, _bulk_config()).create_post("v", category="free", title="before", body="kept", nickname="nick",
                                               password="pw-1234")
    n = 3000
    outcomes = set()
    for delay in (0.0, 0.3, 0.8, 1.5, 3.0, 60.0):
        _run_import(str(db_path), n, delay)
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            bulk = conn.execute("SELECT COUNT(*) FROM posts WHERE title LIKE 'bulk %'").fetchone()[0]
            conn.execute("DELETE FROM posts WHERE title LIKE 'bulk %'")
        assert bulk in (0, n), f"a partial import survived ({bulk} of {n} posts, kill after {delay} s)"
        outcomes.add(bulk)
    assert n in outcomes  # the run left alone completed
    board = Board(db_path, _bulk_config())
    assert [p.title for p in board.list_posts().items] == ["before"]
    assert board.integrity_check() == "ok"


@pytest.mark.slow
@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_an_import_killed_midway_on_postgresql_leaves_all_or_nothing(storage_engine: str) -> None:
    """The same on PostgreSQL (``DRDC_DB_URL``): the child is killed -9 while its import transaction
    is open; the server rolls it back when the connection drops, so the board holds none of the
    import or all of it, and the next import runs."""
    from core.settings import get_settings
    from core.storage import postgres

    open_board(config=_bulk_config()).create_post("v", category="free", title="before", body="kept",
                                                   nickname="nick", password="pw-1234")
    n = 3000
    outcomes = set()
    for delay in (0.0, 0.3, 0.8, 1.5, 3.0, 60.0):
        _run_import("-", n, delay)
        with postgres.transaction(get_settings()) as conn:
            bulk = conn.execute("SELECT count(*) FROM board_posts WHERE title LIKE 'bulk %'").fetchone()[0]
            conn.execute("DELETE FROM board_posts WHERE title LIKE 'bulk %'")
        assert bulk in (0, n), f"a partial import survived ({bulk} of {n} posts, kill after {delay} s)"
        outcomes.add(bulk)
    assert n in outcomes and 0 in outcomes  # the run left alone completed; an early kill left nothing
    board = open_board(config=_bulk_config())
    assert [p.title for p in board.list_posts().items] == ["before"]
