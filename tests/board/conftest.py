"""Fixtures for the board tests: a temporary database, a fake clock, a cheap password hasher.

``board`` (and ``open_db``, ``make_post``) run each test once per storage engine (the
``storage_engine`` fixture of ``tests/conftest.py``): a SQLite file, then a fresh PostgreSQL
schema (skipped, saying why, when no server can be had). ``db_path`` is the SQLite file: a test
that reads or writes it directly is SQLite-specific, so under PostgreSQL it is skipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.board import Board, BoardConfig, cheap_password_hasher, open_board


class FakeClock:
    """A clock tests move by hand (seconds since the epoch)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> BoardConfig:
    """Default limits with a cheap Argon2id (the real cost is tested separately)."""
    return BoardConfig(password_hasher=cheap_password_hasher())


def _engine_of(request: pytest.FixtureRequest) -> str:
    callspec = getattr(request.node, "callspec", None)
    return str(callspec.params.get("storage_engine", "files")) if callspec is not None else "files"


@pytest.fixture
def db_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The SQLite board file (the one ``board`` uses on SQLite)."""
    if _engine_of(request) == "postgresql":
        pytest.skip("SQLite-specific: reads or writes the board's database file directly")
    return tmp_path / "board.sqlite3"


@pytest.fixture
def sqlite_only(request: pytest.FixtureRequest) -> None:
    """Skips the PostgreSQL run of a test about what only SQLite has (its file, FTS5, WAL)."""
    if _engine_of(request) == "postgresql":
        pytest.skip("SQLite-specific (the PostgreSQL equivalent is in test_board_pg.py)")


@pytest.fixture
def open_db(storage_engine: str, tmp_path: Path, config: BoardConfig, clock: FakeClock) -> Callable[..., Board]:
    """Opens another Board on this test's store (as a new process or replica would): the SQLite
    file, or the PostgreSQL schema of ``DRDC_DB_URL``. Keyword arguments: ``config``, ``clock``."""

    def _open(config: BoardConfig = config, clock: Callable[[], float] = clock) -> Board:
        if storage_engine == "files":
            return Board(tmp_path / "board.sqlite3", config=config, clock=clock)
        return open_board(config=config, clock=clock)

    return _open


@pytest.fixture
def board(open_db: Callable[..., Board]) -> Board:
    return open_db()


@pytest.fixture
def make_post(board: Board) -> Callable[..., int]:
    """Create a post with sensible defaults; each call uses a fresh visitor (no rate limit)."""
    counter = {"n": 0}

    def _make(**fields: object) -> int:
        counter["n"] += 1
        values: dict[str, object] = {
            "category": "free",
            "title": f"post {counter['n']}",
            "body": f"body of post {counter['n']}",
            "nickname": "tester",
            "password": "secret-pw",
        }
        values.update(fields)
        visitor = str(values.pop("visitor", f"visitor-{counter['n']}"))
        return board.create_post(visitor, **values)  # type: ignore[arg-type]

    return _make
