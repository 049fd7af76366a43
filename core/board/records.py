"""What the board hands to readers: posts, comments, reports and pages of results, built from
stored rows whatever they hold (no password hashes, no fingerprints). Engine-neutral: any
storage engine returns rows in the column orders named here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core.board.config import CATEGORIES
from core.board.summary import summary_from_json

T = TypeVar("T")

#: the columns of a post row, in this order (``post_from_row``)
POST_COLUMNS = (
    "id", "created_at", "updated_at", "category", "nickname", "title", "body", "summary_json",
    "view_count", "like_count", "comment_count", "report_count", "status",
)
#: the columns of a comment row, in this order (``comment_from_row``)
COMMENT_COLUMNS = ("id", "post_id", "created_at", "nickname", "body", "updated_at")


@dataclass(frozen=True)
class Post:
    """A post as readers see it (no password hash, no fingerprint)."""

    id: int
    created_at: float
    updated_at: float | None
    category: str
    nickname: str
    title: str
    body: str
    summary: dict[str, Any] | None
    view_count: int
    like_count: int
    comment_count: int
    report_count: int
    status: str


@dataclass(frozen=True)
class Comment:
    """A comment as readers see it; ``updated_at`` is set once its author edited it."""

    id: int
    post_id: int
    created_at: float
    nickname: str
    body: str
    updated_at: float | None = None


@dataclass(frozen=True)
class Report:
    post_id: int
    reason: str
    created_at: float


@dataclass(frozen=True)
class ReportResult:
    """``new``: this visitor had not reported the post before; ``hidden``: the post is now
    hidden pending review."""

    new: bool
    hidden: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results. ``page`` is 1-based and clamped to the existing pages. A search
    counts at most ``config.search_count_max`` matches: ``more`` is True when there are
    more (only that many can be paged through; narrow the search to see the others)."""

    items: tuple[T, ...]
    total: int
    page: int
    per_page: int
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


#: stored times outside [0, this] (2100-01-01) read as 0.0, "unknown"
_TIME_MAX = 4_102_444_800.0


def _time(value: object) -> float:
    """A stored time as seconds since the epoch, or 0.0 ("unknown") for anything a calendar
    cannot show: text, NULL, NaN, negative, or past 2100 (1e20 took the page down before)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= _TIME_MAX:
        return 0.0
    return float(value)


def _opt_time(value: object) -> float | None:
    return None if value is None else _time(value)


def _count(value: object) -> int:
    """A stored counter as an int >= 0 (0 for text, NULL, NaN or negative values)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(0, int(value))


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def post_from_row(row: tuple[Any, ...]) -> Post:
    """A post from a row, whatever the row holds: every value is coerced to what readers and
    pages expect (rows written by hand or by an old import may hold 1e20, text or NULL)."""
    return Post(
        id=int(row[0]),
        created_at=_time(row[1]),
        updated_at=_opt_time(row[2]),
        category=row[3] if row[3] in CATEGORIES else "free",
        nickname=_str(row[4]),
        title=_str(row[5]),
        body=_str(row[6]),
        summary=summary_from_json(row[7]) if isinstance(row[7], str) else None,
        view_count=_count(row[8]),
        like_count=_count(row[9]),
        comment_count=_count(row[10]),
        report_count=_count(row[11]),
        status=_str(row[12]),
    )


def comment_from_row(row: tuple[Any, ...]) -> Comment:
    """A comment from ``id, post_id, created_at, nickname, body, updated_at``, coerced like :func:`post_from_row`."""
    return Comment(int(row[0]), int(row[1]), _time(row[2]), _str(row[3]), _str(row[4]), _opt_time(row[5]))


def report_from_row(row: tuple[Any, ...]) -> Report:
    """A report from ``post_id, reason, created_at``."""
    return Report(int(row[0]), _str(row[1]), _time(row[2]))
