"""Fixtures for the board tests: a temporary database, a fake clock, a cheap password hasher."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.board import Board, BoardConfig, cheap_password_hasher


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


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "board.sqlite3"


@pytest.fixture
def board(db_path: Path, config: BoardConfig, clock: FakeClock) -> Board:
    return Board(db_path, config=config, clock=clock)


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
