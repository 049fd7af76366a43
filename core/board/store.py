"""The community board's front class: posts, comments, likes, reports, search, rate limits
and moderation on one store. No Streamlit here; the page calls these methods.

The parts live in their own modules and :class:`Board` joins them:

* :mod:`core.board.db` / :mod:`core.board.queries`: the SQLite engine (connections, fork
  safety, transactions, migrations, maintenance) and every statement; with
  :mod:`core.board.pg` / :mod:`core.board.pg_queries` (PostgreSQL, ``DRDC_DB_URL``), the only
  SQL. Both implement :mod:`core.board.engine`, the interface the other parts use.
* :mod:`core.board.posts`: posts and comments, with one owner-checked edit/delete path.
* :mod:`core.board.limits`: rate limits (per browser, per network, board-wide) and likes.
* :mod:`core.board.moderation`: reports, the admin-secret lockout and :class:`Moderator`.
* :mod:`core.board.transfer`: JSON-lines export and import.
* :mod:`core.board.records`: what readers get (:class:`Post`, :class:`Comment`, :class:`Page`).

Visitors have no accounts: pages pass a :class:`~core.board.security.Visitor`: a browser
(a random id in a cookie signed with the board's key, :meth:`Board.browser_visitor_id`,
:meth:`Board.issue_browser_token`) plus the client network when the server sees one
(:meth:`Board.client_visitor_id`, a salted scrypt). ``clock`` (seconds since the epoch) is
injectable so tests can move time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.board import security
from core.board.config import BoardConfig
from core.board.db import SqliteEngine
from core.board.engine import BoardEngine
from core.board.errors import RateLimitedError
from core.board.limits import Likes, check_bucket, record_bucket
from core.board.moderation import Moderator, Reports
from core.board.pg import PgEngine
from core.board.posts import Posts
from core.board.records import Comment, Page, Post, Report, ReportResult
from core.board.transfer import Transfer
from core.settings import Settings, get_settings
from core.storage import is_postgres

__all__ = ["Board", "Comment", "Moderator", "Page", "Post", "Report", "ReportResult"]

#: client visitor ids kept in memory per Board (each costs one scrypt to compute)
_CLIENT_CACHE_MAX = 4096


class Board(Posts, Likes, Reports, Transfer):
    """The community board, in one SQLite file or in the PostgreSQL database of ``DRDC_DB_URL``.

    Args:
        path: a SQLite database file (always SQLite); its folder is created if missing.
            Opening applies pending migrations and switches the file to WAL. None: the store
            ``settings`` name (PostgreSQL when ``DRDC_DB_URL`` is set, else ``DRDC_DB_PATH``).
        config: limits (default :class:`BoardConfig`).
        clock: returns the current time in seconds (tests inject a fake one).
        settings: used when ``path`` is None (default :func:`core.settings.get_settings`).

    Raises:
        core.board.schema.SchemaTooNewError: the file was written by a newer app.
        sqlite3.DatabaseError: the file is not a SQLite database.
        StorageConfigError: ``DRDC_DB_URL`` is not a PostgreSQL URL, or the driver is missing.
        StorageUnavailableError: the PostgreSQL server cannot be reached.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        config: BoardConfig | None = None,
        clock: Callable[[], float] = time.time,
        *,
        settings: Settings | None = None,
    ) -> None:
        self.config = config or BoardConfig()
        self.clock = clock
        self._salt: str | None = None
        self._key: bytes | None = None
        self._client_ids: dict[str, str] = {}
        self._client_lock = threading.Lock()
        if path is None:
            settings = settings or get_settings()
            if not is_postgres(settings):
                path = settings.db_path
        #: the SQLite file (None on PostgreSQL)
        self.path: Path | None = None if path is None else Path(path)
        self._engine: BoardEngine
        if self.path is None:
            self._engine = PgEngine(settings or get_settings(), self.config.busy_timeout_ms)
        else:
            self._engine = SqliteEngine(self.path, self.config.busy_timeout_ms)

    @property
    def location(self) -> str:
        """Where the board is stored: its file, or its database URL without the password."""
        return self._engine.location

    def close(self) -> None:
        """Close this thread's connection (those of ended threads close when collected)."""
        self._engine.close()

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ visitors

    def client_visitor_id(self, address: str | None) -> str | None:
        """The visitor id of a client address (an IP address, as the page sees it): the same
        in every session from that client, reloads included, so likes, reports and rate
        limits (failed passwords and admin secrets too) count per client, not per session.

        It is a salted scrypt of the address's network (the IPv4 address, or the IPv6 /64
        prefix) under a random salt kept in this database's ``meta`` table (schema v5);
        the address is never written anywhere, and the board stores only the SHA-256 of the
        id (:func:`core.board.security.visitor_hash`). Ids are cached in memory per network.
        Returns None when ``address`` is missing or not an IP address.
        """
        network = security.client_network(address)
        if network is None:
            return None
        with self._client_lock:
            cached = self._client_ids.get(network)
        if cached is not None:
            return cached
        visitor = security.network_visitor_id(self._visitor_salt(), network)
        with self._client_lock:
            if len(self._client_ids) >= _CLIENT_CACHE_MAX:
                self._client_ids.pop(next(iter(self._client_ids)))
            self._client_ids[network] = visitor
        return visitor

    def _visitor_salt(self) -> str:
        if self._salt is None:
            with self._engine.read() as tx:
                self._salt = tx.meta("visitor_salt")
        return self._salt

    def _cookie_key(self) -> bytes:
        if self._key is None:
            with self._engine.read() as tx:
                self._key = bytes.fromhex(tx.meta("cookie_key"))
        return self._key

    def browser_visitor_id(self, token: object) -> str | None:
        """The visitor id (``browser-<id>``) of a visitor cookie value, or None when the value
        is not a cookie this board signed (tampered, made up, malformed). No database write;
        an HMAC check under the key in the ``meta`` table (schema v7)."""
        return security.browser_id_from_token(self._cookie_key(), token)

    def issue_browser_token(self, fallback_id: str) -> str | None:
        """A new signed visitor cookie value for a session whose browser sent none, or None
        when ``fallback_id`` (the client-address id, or one id standing for every session with
        no address) has had too many issued (``network_rate_rules["visitor"]``): a client that
        drops cookies cannot become a new visitor on every session; past the limit it is its
        fallback visitor.

        Raises:
            BusyError: the database stayed locked.
        """
        token = security.new_browser_token(self._cookie_key())
        bucket = (security.visitor_hash(fallback_id), self.config.network_rate_rules.get("visitor", ()))
        with self._engine.write() as tx:
            now = self.clock()
            try:
                check_bucket(tx, bucket, "visitor", now)
            except RateLimitedError:
                return None
            record_bucket(tx, bucket, "visitor", now)
        return token

    # ------------------------------------------------------------------ maintenance

    def schema_version(self) -> int:
        """The highest applied migration."""
        return self._engine.schema_version()

    def pragmas(self) -> dict[str, Any]:
        """SQLite: journal_mode, busy_timeout (ms), foreign_keys and synchronous of a connection;
        PostgreSQL: the server version, isolation and lock timeout of a write transaction."""
        return self._engine.pragmas()

    def integrity_check(self) -> str:
        """``"ok"`` when the store is sound, otherwise the first problem reported. SQLite: its
        integrity check and both FTS indexes compared with the posts; PostgreSQL: the search
        grams and the comment and like counters compared with the rows."""
        return self._engine.integrity_check()

    def stats(self) -> dict[str, int]:
        """Row counts (posts by status, comments, likes, reports) and the schema version."""
        with self._engine.read() as tx:
            return {"schema_version": tx.schema_version(), **tx.stats()}

    def backup(self, dest: str | Path, *, overwrite: bool = False) -> Path:
        """Copy the live database to ``dest`` (a consistent snapshot even while others
        write), then check the copy.

        Raises:
            FileExistsError: ``dest`` exists and ``overwrite`` is False.
            RuntimeError: the copy fails its integrity check.
            BackupRefusedError: the board is in PostgreSQL (back it up with ``pg_dump``).
        """
        return self._engine.backup(Path(dest), overwrite=overwrite)
