"""The board on PostgreSQL (``DRDC_DB_URL``): what only that engine has, and the SQLite-only tests'
equivalents. Search gives LIKE's results for terms of every length (Korean 1-2 character terms
too); constraints and locks hold in the database, so two processes (two replicas) on one URL
see each other's posts, count a visitor's like once, share a rate limit and lose no write; a
lock held too long is a BusyError; maintenance checks derived data and refuses file backups.
The rest of the board suite runs on both engines through the ``board`` fixture."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.board import (
    Board,
    BoardConfig,
    BusyError,
    RateLimitedError,
    cheap_password_hasher,
    open_board,
    pg_queries,
)
from core.board.__main__ import main as cli_main
from core.board.engine import BackupRefusedError, BoardTx
from core.board.pg_queries import LOCK_SPACE, PgTx
from core.board.queries import SqliteTx
from core.board.security import visitor_hash
from core.board.text import ascii_lower
from core.storage import postgres
from core.storage.migrations import load_migrations
from tests.board.test_board_search_bigram import TEXTS
from tests.postgres_server import fresh_schema_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_url(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``DRDC_DB_URL`` set to a fresh schema (skips without a server)."""
    url = fresh_schema_url(postgres_url)
    monkeypatch.setenv("DRDC_DB_URL", url)
    try:
        yield url
    finally:
        postgres.close_pools()


def _config(**changes: object) -> BoardConfig:
    from dataclasses import replace

    return replace(BoardConfig(password_hasher=cheap_password_hasher()).without_rate_limits(), **changes)  # type: ignore[arg-type]


def _raw(url: str) -> object:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def test_both_engines_have_every_operation_of_the_interface() -> None:
    wanted = {name for name in vars(BoardTx) if not name.startswith("_")}
    for engine_tx in (SqliteTx, PgTx):
        assert wanted <= {name for name in dir(engine_tx) if not name.startswith("_")}, engine_tx


def test_without_a_url_the_board_is_sqlite_and_psycopg_is_never_imported(tmp_path: Path) -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from core.board import open_board; b = open_board(); "
            "b.create_post('v', category='free', title='t', body='b', nickname='nick', password='pw-12345'); "
            "print(b.location.endswith('board.sqlite3'), sorted(m for m in sys.modules if m.startswith('psycopg')))")
    out = subprocess.run([sys.executable, "-c", code, str(PROJECT_ROOT)], capture_output=True, text=True, timeout=120,
                         check=True, env={"PATH": "/usr/bin:/bin", "DRDC_DATA_DIR": str(tmp_path)})
    assert out.stdout.strip() == "True []"


def test_open_board_follows_the_url_and_an_explicit_file_stays_sqlite(pg_url: str, tmp_path: Path) -> None:
    board = open_board(config=_config())
    assert board.path is None and "search_path" in board.location
    assert board.schema_version() == max(m.version for m in load_migrations())
    pragmas = board.pragmas()
    assert pragmas["engine"] == "postgresql" and pragmas["lock_timeout"] == "10s"
    assert pragmas["isolation"] == "read committed"
    assert Board(tmp_path / "b.sqlite3").pragmas()["journal_mode"] == "wal"


def _reference(terms: list[str], posts: dict[int, tuple[str, str]]) -> list[int]:
    """LIKE '%term%' on the title or the body (ASCII folded) for every term, newest first."""
    return sorted((pid for pid, (title, body) in posts.items()
                   if all(ascii_lower(t) in ascii_lower(title) or ascii_lower(t) in ascii_lower(body) for t in terms)),
                  reverse=True)


def _all_ids(board: Board, query: str) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        got = board.search(query, page=page, per_page=50)
        ids += [p.id for p in got.items]
        if page >= got.pages:
            return ids
        page += 1


@pytest.mark.parametrize("plan", ["chosen", "walk", "pick"])
def test_search_gives_likes_results_for_every_term_length(
    pg_url: str, plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if plan != "chosen":  # each of the two plans alone gives the same results
        monkeypatch.setattr(pg_queries, "_PLAN", pg_queries._PLAN.replace(pg_queries._COMMON, plan == "walk" and "true" or "false"))
    board = open_board(config=_config(per_page_max=50))
    posts: dict[int, tuple[str, str]] = {}
    for title, body in TEXTS * 2:
        pid = board.create_post("v", category="free", title=title, body=body + f" #{len(posts)}", nickname="nick",
                                password="pw-12345")
        posts[pid] = (title, body + f" #{len(posts)}")
    terms = {text[i:i + n] for title, body in TEXTS for text in (title, body) for n in (1, 2, 3, 4)
             for i in range(len(text) - n + 1)}
    terms = {t for t in terms if t.strip() == t and t and not any(c.isspace() for c in t)}
    terms |= {"두피", "두", "피", "ZQ", "x-RAY", "50%", "_", "\\", "없음", "뷁뷁", "😀😀"}
    for term in sorted(terms):
        assert _all_ids(board, term) == _reference([term], posts), term
    for pair in (["두피", "샴푸"], ["골", "결핵"], ["a", "b"], ["탈모", "x"]):
        assert _all_ids(board, " ".join(pair)) == _reference(pair, posts), pair


def test_search_follows_edits_and_deletes_and_uses_the_gram_index(pg_url: str) -> None:
    board = open_board(config=_config())
    pid = board.create_post("v", category="free", title="두피 고민", body="가려워요", nickname="nick", password="pw-12345")
    board.edit_post("v", pid, nickname="nick", password="pw-12345", title="어깨 통증", body="골절", category="bone")
    assert [p.id for p in board.search("두").items] == [] and [p.id for p in board.search("골").items] == [pid]
    with _raw(pg_url) as conn:  # type: ignore[attr-defined]
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT post_id FROM board_post_grams WHERE grams @> ARRAY['골']").fetchall())
        assert "board_post_grams_gin" in plan
    board.moderator("v", "s", "s").delete_post(pid)
    assert board.search("골").total == 0 and board.integrity_check() == "ok"


def test_constraints_hold_in_the_database(pg_url: str) -> None:
    import psycopg

    board = open_board(config=_config())
    pid = board.create_post("v", category="free", title="t", body="b", nickname="nick", password="pw-12345")
    assert board.like(pid, "fan") and not board.like(pid, "fan")
    with _raw(pg_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):  # type: ignore[attr-defined]
        conn.execute("INSERT INTO board_likes (post_id, visitor_hash, created_at) VALUES (%s, %s, 0)",
                     (pid, visitor_hash("fan")))
    with _raw(pg_url) as conn:  # type: ignore[attr-defined]
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM board_posts").fetchall()]
        secrets = conn.execute("SELECT name FROM app_secrets WHERE name LIKE 'board_%' ORDER BY name").fetchall()
    assert hashes[0].startswith("$argon2id$") and "pw-12345" not in hashes[0]
    assert [r[0] for r in secrets] == ["board_cookie_key", "board_visitor_salt"]


def test_a_lock_held_past_the_busy_timeout_is_busy(pg_url: str) -> None:
    board = open_board(config=_config(busy_timeout_ms=200, rate_rules={"like": ((60, 60.0),)}))
    pid = board.create_post("v", category="free", title="t", body="b", nickname="nick", password="pw-12345")
    import psycopg

    with psycopg.connect(pg_url) as other:  # another replica in the middle of a like by the same visitor
        other.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_SPACE, f"rate:{visitor_hash('fan')}:like"))
        with pytest.raises(BusyError):
            board.like(pid, "fan")
        assert board.like(pid, "someone-else")  # other buckets are not held up
        other.rollback()
    assert board.like(pid, "fan") and board.get_post(pid).like_count == 2  # type: ignore[union-attr]


def test_secrets_are_shared_by_every_replica_of_a_database(pg_url: str, postgres_url: str) -> None:
    first, second = open_board(config=_config()), open_board(config=_config())
    assert first.client_visitor_id("10.1.2.3") == second.client_visitor_id("10.1.2.3")
    token = first.issue_browser_token("x")
    assert second.browser_visitor_id(token) == first.browser_visitor_id(token) is not None
    postgres.close_pools()
    elsewhere = Board(config=_config(), settings=_settings(fresh_schema_url(postgres_url)))
    assert elsewhere.browser_visitor_id(token) is None  # another installation's key


def _settings(url: str) -> object:
    from core.settings import get_settings

    return get_settings({"DRDC_DB_URL": url})


def test_integrity_check_finds_counters_that_disagree(pg_url: str) -> None:
    board = open_board(config=_config())
    pid = board.create_post("v", category="free", title="t", body="b", nickname="nick", password="pw-12345")
    board.add_comment("c", pid, nickname="guest", password="pw-12345", body="hi")
    assert board.integrity_check() == "ok"
    with _raw(pg_url) as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE board_posts SET comment_count = 7")
    assert board.integrity_check().startswith("comment_count")


def test_backup_is_refused_with_pg_dump_named_and_the_cli_works(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = open_board(config=_config())
    board.create_post("v", category="free", title="cli post", body="본문", nickname="nick", password="pw-12345")
    with pytest.raises(BackupRefusedError, match="pg_dump"):
        board.backup(tmp_path / "b.sqlite3")
    assert cli_main(["migrate"]) == 0 and "schema v" in capsys.readouterr().out
    assert cli_main(["check"]) == 0 and capsys.readouterr().out.strip() == "ok"
    assert cli_main(["stats"]) == 0 and json.loads(capsys.readouterr().out)["posts_visible"] == 1
    assert cli_main(["backup", str(tmp_path / "b.sqlite3")]) == 1 and "pg_dump" in capsys.readouterr().err
    assert cli_main(["export", str(tmp_path / "e.jsonl")]) == 0
    assert cli_main(["import", str(tmp_path / "e.jsonl")]) == 0  # into the same database: a second copy
    assert [p.title for p in board.list_posts().items] == ["cli post", "cli post"]
    out = io.StringIO()
    assert board.export_jsonl(out)["posts"] == 2
    copy = Board(tmp_path / "copy.sqlite3", _config())  # PostgreSQL -> SQLite through an export
    assert copy.import_jsonl(out.getvalue().splitlines())["posts"] == 2


# ---------------------------------------------------------------------- two processes, one database

_REPLICA = r"""
import json, os, sys, threading, time
sys.path.insert(0, sys.argv[1])
from dataclasses import replace
from core.board import BoardConfig, RateLimitedError, cheap_password_hasher, open_board
role, start, post_id, limit = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
config = replace(BoardConfig(password_hasher=cheap_password_hasher()).without_rate_limits(),
                 rate_rules={"post": ((limit, 3600.0),)})
board = open_board(config=config)
seen = board.get_post(post_id) is not None
out = {"seen": seen, "made": [], "liked": 0, "limited_ok": 0, "refused": 0}
lock = threading.Lock()

def work(thread):
    for n in range(THREAD_ROUNDS):
        try:  # every thread of both replicas posts as one visitor at once: only `limit` may pass
            board.create_post("the-limited-visitor", category="free", title=f"limited {role} {thread} {n}",
                              body="제한", nickname="nick", password="pw-12345")
            with lock: out["limited_ok"] += 1
        except RateLimitedError:
            with lock: out["refused"] += 1
        liked = board.like(post_id, "the-same-fan")
        made = board.create_post(f"writer-{role}-{thread}-{n}", category="free", title=f"{role} {thread} {n}",
                                 body="동시 작성", nickname="nick", password="pw-12345")
        with lock:
            out["liked"] += liked
            out["made"].append(made)

threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
open(start + "-ready-" + role, "w").close()
while not os.path.exists(start):
    time.sleep(0.005)
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(out))
""".replace("THREAD_ROUNDS", "5").replace("THREADS", "4")


def test_two_processes_on_one_database_behave_as_one_board(pg_url: str, tmp_path: Path) -> None:
    limit = 4
    board = open_board(config=_config())
    post_id = board.create_post("v", category="free", title="shared", body="공유", nickname="nick", password="pw-12345")
    start = tmp_path / "start"
    env = {"PATH": "/usr/bin:/bin", "DRDC_DB_URL": pg_url, "DRDC_DATA_DIR": str(tmp_path / "data")}
    procs = [subprocess.Popen([sys.executable, "-c", _REPLICA, str(PROJECT_ROOT), role, str(start), str(post_id),
                               str(limit)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for role in ("a", "b")]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"start-ready-{role}").exists() for role in ("a", "b")):  # both replicas open
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a replica did not start"
        time.sleep(0.02)
    start.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert all(r["seen"] for r in results)  # a post made by another replica is seen
    made = [pid for r in results for pid in r["made"]]
    assert len(set(made)) == 2 * 4 * 5  # concurrent writers lost nothing
    for pid in made:
        assert board.get_post(pid) is not None
    assert sum(r["liked"] for r in results) == 1  # the same visitor from both replicas likes once
    assert board.get_post(post_id).like_count == 1  # type: ignore[union-attr]
    assert sum(r["limited_ok"] for r in results) == limit  # the N+1-th post is refused, whoever makes it
    assert sum(r["refused"] for r in results) == 2 * 4 * 5 - limit
    assert board.search("limited").total == limit
    assert board.list_posts().total == 1 + 2 * 4 * 5 + limit and board.integrity_check() == "ok"
    with pytest.raises(RateLimitedError):
        Board(config=_config(rate_rules={"post": ((limit, 3600.0),)})).create_post(
            "the-limited-visitor", category="free", title="one more", body="x", nickname="nick", password="pw-12345")


def test_common_terms_walk_the_index_and_rare_ones_are_picked(pg_url: str) -> None:
    board = open_board(config=_config())
    board.import_posts([{"category": "free", "title": f"두피 {n}", "body": "뷁" if n == 7 else "보통 글",
                         "nickname": "nick"} for n in range(300)])
    with _raw(pg_url) as conn:  # type: ignore[attr-defined]
        conn.execute("ANALYZE board_post_grams")
        walk = {term: conn.execute(pg_queries._COMMON, {"needed": 10, "grams": [term]}).fetchone()[0]
                for term in ("두피", "뷁")}
    assert walk == {"두피": True, "뷁": False}
    assert board.search("두피").total == 300 and [p.body for p in board.search("뷁").items] == ["뷁"]
    with board._engine.read() as tx:  # the chosen plan's switches hold for its statement only
        setting = "SELECT current_setting('enable_sort'), current_setting('enable_seqscan')"
        assert tx._value(pg_queries._PLAN, {"needed": 10, "grams": ["두피"]}) is True  # type: ignore[attr-defined]
        assert tx.conn.execute(setting).fetchone() == ("off", "on")  # type: ignore[attr-defined]
        tx.conn.execute(pg_queries._PLAN_RESET)  # type: ignore[attr-defined]
        assert tx._value(pg_queries._PLAN, {"needed": 10, "grams": ["뷁"]}) is False  # type: ignore[attr-defined]
        assert tx.conn.execute(setting).fetchone() == ("on", "off")  # type: ignore[attr-defined]
        tx.search("", "newest", {"terms": ("뷁",), "category": None}, 10, 0)  # type: ignore[attr-defined]
        assert tx.conn.execute(setting).fetchone() == ("on", "on")  # type: ignore[attr-defined]
