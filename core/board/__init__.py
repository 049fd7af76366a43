"""Community board: posts, comments, likes, search, reports and moderation, on SQLite (a file,
the default) or PostgreSQL (``DRDC_DB_URL``: shared by every replica).

No Streamlit here. Typical use from a page::

    board = open_board()     # DRDC_DB_URL (PostgreSQL) or DRDC_DB_PATH (SQLite), from core.settings
    post_id = board.create_post(visitor_id, category="scalp", title=..., body=...,
                                nickname=..., password=...)
    page = board.search("두피", sort="newest", page=1)

See ``docs/board.md`` for the data model, limits and operations (backup/export CLI:
``python -m core.board --help``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.board.config import CATEGORIES, SORTS, BoardConfig, cheap_password_hasher
from core.board.errors import (
    BoardError,
    BusyError,
    DuplicateError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SpamError,
    SummaryError,
)
from core.board.privacy import PersonalDataError, find_personal_data
from core.board.schema import LATEST_VERSION, SchemaTooNewError
from core.board.security import COOKIE_NAME, Visitor, admin_secret_matches, new_visitor_id
from core.board.store import Board, Comment, Moderator, Page, Post, Report, ReportResult
from core.board.summary import summary_lines, task_label, validate_summary
from core.board.text import escape_markdown
from core.settings import Settings, get_settings

__all__ = [
    "CATEGORIES",
    "COOKIE_NAME",
    "LATEST_VERSION",
    "SORTS",
    "Board",
    "BoardConfig",
    "BoardError",
    "BusyError",
    "Comment",
    "DuplicateError",
    "InvalidInputError",
    "Moderator",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "PersonalDataError",
    "Post",
    "RateLimitedError",
    "Report",
    "ReportResult",
    "SchemaTooNewError",
    "SpamError",
    "SummaryError",
    "Visitor",
    "admin_secret_matches",
    "cheap_password_hasher",
    "escape_markdown",
    "find_personal_data",
    "new_visitor_id",
    "open_board",
    "summary_lines",
    "task_label",
    "validate_summary",
]


def open_board(
    settings: Settings | None = None,
    config: BoardConfig | None = None,
    clock: Callable[[], float] = time.time,
) -> Board:
    """Open (creating on first use) the board the settings name: the PostgreSQL database of
    ``DRDC_DB_URL`` when it is set, else the SQLite file ``DRDC_DB_PATH`` (default
    ``<DRDC_DATA_DIR>/board.sqlite3``).

    Raises:
        SchemaTooNewError: the database was written by a newer app version.
        sqlite3.DatabaseError: the file is not a SQLite database.
        StorageConfigError: ``DRDC_DB_URL`` is not a PostgreSQL URL, or the driver is missing.
        StorageUnavailableError: the PostgreSQL server cannot be reached.
    """
    return Board(None, config=config, clock=clock, settings=settings or get_settings())
