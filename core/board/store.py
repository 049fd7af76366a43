"""The community board on SQLite (through sqlite-utils): posts, comments, likes, reports,
search, rate limits and moderation. No Streamlit here; the page calls these methods.

Design notes:

* One connection per thread, reused (so a :class:`Board` is safe to share between Streamlit
  sessions and threads, and fork-safe), WAL journaling, ``synchronous=NORMAL`` (durable
  against process crashes; a power cut may lose the last commits, never the file), foreign
  keys on, and a busy timeout. Every write runs in ``BEGIN IMMEDIATE`` so concurrent writers queue on
  the busy handler instead of failing on a read-to-write upgrade.
* Every SQL statement is a constant string with ``?``/``:name`` parameters.
* Passwords are hashed with Argon2id before the write transaction starts (hashing is slow
  on purpose; the database lock is not held meanwhile).
* Visitors have no accounts: pages pass a :class:`~core.board.security.Visitor`: a browser
  (a random id in a cookie signed with the board's key, :meth:`Board.browser_visitor_id`,
  :meth:`Board.issue_browser_token`) plus the client network when the server sees one
  (:meth:`Board.client_visitor_id`, a salted scrypt). Likes and reports follow the browser;
  rate limits hold per browser and per network; failed admin secrets also board-wide. Only
  SHA-256 hashes of ids are stored (likes, reports, rate-limit events).
* ``clock`` (seconds since the epoch) is injectable so tests can move time.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from sqlite_utils import Database

from core.board import privacy, security, text
from core.board.config import CATEGORIES, SORTS, BoardConfig
from core.board.errors import (
    BoardError,
    BusyError,
    DuplicateError,
    ImportRecordError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from core.board.schema import current_version, enable_wal, migrate
from core.board.security import Visitor, as_visitor
from core.board.summary import summary_from_json, summary_to_json, validate_summary

T = TypeVar("T")


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


# Lists use the (status, ...) indexes; one constant statement per (sort, category filter).
_LIST_SQL = {
    ("newest", False): "SELECT id, created_at, updated_at, category, nickname, title, body, summary_json, "
    "view_count, like_count, comment_count, report_count, status FROM posts "
    "WHERE status = 'visible' ORDER BY id DESC LIMIT ? OFFSET ?",
    ("newest", True): "SELECT id, created_at, updated_at, category, nickname, title, body, summary_json, "
    "view_count, like_count, comment_count, report_count, status FROM posts "
    "WHERE status = 'visible' AND category = ? ORDER BY id DESC LIMIT ? OFFSET ?",
    ("popular", False): "SELECT id, created_at, updated_at, category, nickname, title, body, summary_json, "
    "view_count, like_count, comment_count, report_count, status FROM posts "
    "WHERE status = 'visible' ORDER BY like_count DESC, id DESC LIMIT ? OFFSET ?",
    ("popular", True): "SELECT id, created_at, updated_at, category, nickname, title, body, summary_json, "
    "view_count, like_count, comment_count, report_count, status FROM posts "
    "WHERE status = 'visible' AND category = ? ORDER BY like_count DESC, id DESC LIMIT ? OFFSET ?",
}
_COUNT_SQL = {
    False: "SELECT COUNT(*) FROM posts WHERE status = 'visible'",
    True: "SELECT COUNT(*) FROM posts WHERE status = 'visible' AND category = ?",
}

# Search: terms of 3+ characters go through the trigram FTS5 index (:fts). Shorter terms are
# matched with LIKE (:likes is a JSON array of patterns; every one must match the title or the
# body); when a query has only short terms, the bigram FTS5 index (:bigrams, schema v6) picks
# the candidates first, so a rare short term no longer scans every post. Either index only
# narrows the candidates: the LIKE patterns decide, so results are exactly LIKE's. Constant
# statements keyed by (index, sort). CROSS JOIN pins the join order (FTS first, then posts
# by rowid; otherwise the planner may re-run the full-text query for every post), and
# "newest" orders by the FTS rowid, which FTS5 walks backwards natively, so a page stops
# after LIMIT matches instead of sorting them all. Counts stop at :cap.
_SEARCH_INDEXES = ("trigram", "bigram")
_SEARCH_FROM = {
    ("trigram", "newest"): "posts_fts CROSS JOIN posts AS p ON p.id = posts_fts.rowid\n"
    "WHERE posts_fts MATCH :fts\n  AND",
    ("trigram", "popular"): "posts AS p\nWHERE +p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH :fts)\n  AND",
    ("bigram", "newest"): "posts_bigram CROSS JOIN posts AS p ON p.id = posts_bigram.rowid\n"
    "WHERE posts_bigram MATCH :bigrams\n  AND",
    ("bigram", "popular"): "posts AS p\n"
    "WHERE +p.id IN (SELECT rowid FROM posts_bigram WHERE posts_bigram MATCH :bigrams)\n  AND",
}
_SEARCH_ORDER = {
    ("trigram", "newest"): "posts_fts.rowid DESC",
    ("bigram", "newest"): "posts_bigram.rowid DESC",
    ("trigram", "popular"): "p.like_count DESC, p.id DESC",
    ("bigram", "popular"): "p.like_count DESC, p.id DESC",
}
_SEARCH_COLS = """p.id, p.created_at, p.updated_at, p.category, p.nickname, p.title, p.body, p.summary_json,
       p.view_count, p.like_count, p.comment_count, p.report_count, p.status"""
_SEARCH_FILTER = """p.status = 'visible'
  AND (:category IS NULL OR p.category = :category)
  AND (:likes = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:likes) AS j
                  WHERE NOT (p.title LIKE j.value ESCAPE '\\' OR p.body LIKE j.value ESCAPE '\\')))"""


# Composed once at import from the constant fragments above (no user value ever reaches the text;
# every user value is a bound parameter).
_SEARCH_SQL = {
    (index, sort): f"""
SELECT {_SEARCH_COLS}
FROM {_SEARCH_FROM[(index, sort)]} {_SEARCH_FILTER}
ORDER BY {_SEARCH_ORDER[(index, sort)]}
LIMIT :limit OFFSET :offset"""  # noqa: S608
    for index in _SEARCH_INDEXES for sort in SORTS
}
_SEARCH_COUNT_SQL = {
    index: f"""
SELECT COUNT(*) FROM (
    SELECT 1
    FROM {_SEARCH_FROM[(index, "newest")]} {_SEARCH_FILTER}
    LIMIT :cap)"""  # noqa: S608
    for index in _SEARCH_INDEXES
}

# FTS5 'integrity-check' compares each index with its content (the posts table, the bigram view).
_FTS_CHECKS = (
    ("fts", "INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)"),
    ("bigram", "INSERT INTO posts_bigram (posts_bigram, rank) VALUES ('integrity-check', 1)"),
)

_GET_POST_SQL = (
    "SELECT id, created_at, updated_at, category, nickname, title, body, summary_json, "
    "view_count, like_count, comment_count, report_count, status FROM posts WHERE id = ?"
)
_MOD_QUEUE_SQL = (
    "SELECT id, created_at, updated_at, category, nickname, title, body, summary_json, "
    "view_count, like_count, comment_count, report_count, status FROM posts "
    "WHERE status = 'hidden' OR report_count > 0 "
    "ORDER BY status = 'hidden' DESC, report_count DESC, id DESC LIMIT ? OFFSET ?"
)
_MOD_QUEUE_COUNT_SQL = "SELECT COUNT(*) FROM posts WHERE status = 'hidden' OR report_count > 0"


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


def _post(row: tuple[Any, ...]) -> Post:
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


def _comment(row: tuple[Any, ...]) -> Comment:
    """A comment from ``id, post_id, created_at, nickname, body, updated_at``, coerced like :func:`_post`."""
    return Comment(int(row[0]), int(row[1]), _time(row[2]), _str(row[3]), _str(row[4]), _opt_time(row[5]))


class _Handle:
    """Owns one thread's connection and closes it when dropped (thread ended, Board gone).

    Python's sqlite3.Connection sits in a reference cycle (its statement cache), so without
    an explicit close it would stay open until a garbage collection.
    """

    __slots__ = ("__weakref__", "closed", "db", "owner")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.owner = (os.getpid(), _FORK_GENERATION[0])
        self.closed = False
        _LIVE_HANDLES.add(self)

    def current(self) -> bool:
        return not self.closed and self.owner == (os.getpid(), _FORK_GENERATION[0])

    def close(self) -> None:
        if not self.closed and self.owner[0] == os.getpid():
            self.closed = True
            try:
                self.db.conn.close()
            except Exception:  # closing during interpreter shutdown or from the fork hook
                pass

    def __del__(self) -> None:
        self.close()


# fork() safety. SQLite keeps per-file lock state in process memory; a child forked while
# the parent has the file open inherits that state without the locks themselves, and its
# commits can then be lost or the file corrupted (sqlite.org/howtocorrupt.html, 2.6). So
# before a fork every idle board connection is closed (threads reopen lazily: the
# generation changes), and the child keeps whatever it still inherited in _INHERITED,
# never using or closing it.
_LIVE_HANDLES: weakref.WeakSet[_Handle] = weakref.WeakSet()
_INHERITED: list[_Handle] = []
_FORK_GENERATION = [0]


def _close_before_fork() -> None:
    _FORK_GENERATION[0] += 1
    for handle in list(_LIVE_HANDLES):
        if not handle.closed and not handle.db.conn.in_transaction:
            handle.close()


def _park_inherited_connections() -> None:
    _INHERITED.extend(h for h in _LIVE_HANDLES if not h.closed)
    _LIVE_HANDLES.clear()


os.register_at_fork(before=_close_before_fork, after_in_child=_park_inherited_connections)


@dataclass(frozen=True)
class _Who:
    """A visitor as stored: the hashes of its id and network, and whether it is confirmed."""

    vhash: str
    nhash: str | None
    confirmed: bool


def _who(visitor: Visitor | str) -> _Who:
    v = as_visitor(visitor)
    return _Who(
        security.visitor_hash(v.id),
        security.visitor_hash(v.network) if v.network else None,
        bool(v.confirmed),
    )


#: client visitor ids kept in memory per Board (each costs one scrypt to compute)
_CLIENT_CACHE_MAX = 4096


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class Board:
    """The community board stored in one SQLite file.

    Args:
        path: database file; its folder is created if missing. Opening applies pending
            migrations and switches the file to WAL.
        config: limits (default :class:`BoardConfig`).
        clock: returns the current time in seconds (tests inject a fake one).

    Raises:
        core.board.schema.SchemaTooNewError: the file was written by a newer app.
        sqlite3.DatabaseError: the file is not a SQLite database.
    """

    def __init__(
        self,
        path: str | Path,
        config: BoardConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.config = config or BoardConfig()
        self.clock = clock
        self._local = threading.local()
        self._salt: str | None = None
        self._key: bytes | None = None
        self._client_ids: dict[str, str] = {}
        self._client_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            enable_wal(db.conn)
            migrate(db)

    # ------------------------------------------------------------------ connections

    def _connect(self) -> Database:
        conn = sqlite3.connect(
            self.path,
            timeout=self.config.busy_timeout_ms / 1000.0,  # sets sqlite3_busy_timeout
            isolation_level=None,  # autocommit: transactions are explicit below
            check_same_thread=False,  # used by one thread only; closed by the fork hook above
        )
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        return Database(conn, execute_plugins=False, recursive_triggers=False)

    @contextmanager
    def _connection(self) -> Iterator[Database]:
        """This thread's connection (opened on first use, reused after: opening and closing
        a WAL database per call costs a checkpoint). Never shared between threads, never
        used or closed in a forked child (see ``_park_inherited_connections``)."""
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is None or not handle.current():
            handle = self._local.handle = _Handle(self._connect())
        db = handle.db
        if db.conn.in_transaction:  # defensive: never reuse a half-finished transaction
            db.conn.execute("ROLLBACK")
        yield db

    def close(self) -> None:
        """Close this thread's connection (those of ended threads close when collected)."""
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is not None:
            handle.close()
        self._local.handle = None

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Database]:
        """A read transaction (one consistent snapshot)."""
        with self._connection() as db:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                if db.conn.in_transaction:
                    db.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """A write transaction taken with BEGIN IMMEDIATE (waits up to the busy timeout).

        Raises:
            BusyError: the database stayed locked past the busy timeout.
        """
        with self._connection() as db:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    raise BusyError("board.error.busy") from exc
                raise
            try:
                yield db
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
                if _is_busy(exc):
                    raise BusyError("board.error.busy") from exc
                raise
            except BaseException:
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
                raise

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
            with self._read() as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'visitor_salt'").fetchone()
            self._salt = str(row[0])
        return self._salt

    def _cookie_key(self) -> bytes:
        if self._key is None:
            with self._read() as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'cookie_key'").fetchone()
            self._key = bytes.fromhex(str(row[0]))
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
        with self._write() as db:
            now = self.clock()
            try:
                self._check_bucket(db, bucket, "visitor", now)
            except RateLimitedError:
                return None
            self._record_bucket(db, bucket, "visitor", now)
        return token

    # ------------------------------------------------------------------ rate limits

    def _buckets(self, who: _Who, action: str) -> list[tuple[str, tuple[tuple[int, float], ...]]]:
        """(hash, rules) of every limit an action counts against: the visitor's, its network's
        (when known and not the visitor itself), and for failed admin secrets the whole board's."""
        cfg = self.config
        out = [(who.vhash, cfg.rate_rules.get(action, ()))]
        if who.nhash is not None and who.nhash != who.vhash:
            out.append((who.nhash, cfg.network_rate_rules.get(action, ())))
        if action == "admin":
            out.append((security.GLOBAL_BUCKET, cfg.global_rate_rules.get("admin", ())))
        return [(h, rules) for h, rules in out if rules]

    @staticmethod
    def _check_bucket(db: Database, bucket: tuple[str, tuple[tuple[int, float], ...]], action: str, now: float) -> None:
        vhash, rules = bucket
        for limit, window in rules:
            count, oldest = db.execute(
                "SELECT COUNT(*), MIN(at) FROM rate_events WHERE visitor_hash = ? AND action = ? AND at > ?",
                (vhash, action, now - window),
            ).fetchone()
            if count >= limit:
                wait = max(1, math.ceil(oldest + window - now))
                raise RateLimitedError("board.error.rate_limited", seconds=wait)

    @staticmethod
    def _record_bucket(db: Database, bucket: tuple[str, tuple[tuple[int, float], ...]], action: str, now: float) -> None:
        vhash, rules = bucket
        if not rules:
            return
        db.execute("INSERT INTO rate_events (visitor_hash, action, at) VALUES (?, ?, ?)", (vhash, action, now))
        longest = max(window for _, window in rules)
        db.execute(
            "DELETE FROM rate_events WHERE visitor_hash = ? AND action = ? AND at <= ?",
            (vhash, action, now - longest),
        )

    def _rate_check(self, db: Database, who: _Who, action: str, now: float) -> None:
        for bucket in self._buckets(who, action):
            self._check_bucket(db, bucket, action, now)

    def _rate_record(self, db: Database, who: _Who, action: str, now: float) -> None:
        for bucket in self._buckets(who, action):
            self._record_bucket(db, bucket, action, now)

    def _rate_precheck(self, who: _Who, action: str) -> None:
        """Fail fast (before slow password hashing); the write transaction checks again."""
        if self._buckets(who, action):
            with self._read() as db:
                self._rate_check(db, who, action, self.clock())

    def _record_failure(self, who: _Who, action: str) -> None:
        with self._write() as db:
            self._rate_record(db, who, action, self.clock())

    def _verify_owner(
        self, who: _Who, stored_nick: str, stored_hash: str | None, nickname: str, password: str
    ) -> None:
        """Raises PermissionDeniedError (and counts the failure) unless both match."""
        self._rate_precheck(who, "auth")
        hasher = self.config.password_hasher
        nick_ok = text.same_nickname(nickname, stored_nick)
        if nick_ok and isinstance(password, str):
            ok = security.verify_password(hasher, stored_hash, password)
        else:
            security.burn_password_check(hasher)
            ok = False
        if not ok:
            self._record_failure(who, "auth")
            raise PermissionDeniedError("board.error.wrong_password")

    # ------------------------------------------------------------------ posts

    def _validate_post(self, category: object, title: object, body: object) -> tuple[str, str, str]:
        cfg = self.config
        category = text.clean_category(category)
        title = text.clean_line(title, "title", 1, cfg.title_max)
        body = text.clean_body(body, "body", cfg.body_max, cfg.body_max_lines)
        text.check_links(cfg.max_links_post, title, body)
        in_title, in_body = privacy.find_personal_data(title), privacy.find_personal_data(body)
        if in_title or in_body:
            kinds = tuple(k for k in privacy.KINDS if k in in_title or k in in_body)
            field = "post" if in_title and in_body else "title" if in_title else "body"
            raise privacy.PersonalDataError(field, kinds)
        return category, title, body

    def create_post(
        self,
        visitor_id: Visitor | str,
        *,
        category: str,
        title: str,
        body: str,
        nickname: str,
        password: str,
        summary: Mapping[str, Any] | None = None,
    ) -> int:
        """Publish a post and return its id.

        Raises:
            InvalidInputError: a field is empty/too long/has control characters, unknown category.
            SpamError: too many links.
            PersonalDataError: the title or text holds a resident registration number, a phone
                number or an e-mail address (:mod:`core.board.privacy`).
            SummaryError: the shared summary is not allowed (see :mod:`core.board.summary`).
            RateLimitedError: this visitor posted too often.
            DuplicateError: the same title and body were posted within the duplicate window.
            BusyError: the database stayed locked.
        """
        cfg = self.config
        category, title, body = self._validate_post(category, title, body)
        nickname = text.clean_nickname(nickname, cfg)
        password = text.check_password(password, cfg)
        summary_json = summary_to_json(validate_summary(summary)) if summary is not None else None
        fingerprint = _post_fingerprint(title, body, summary_json)
        who = _who(visitor_id)
        self._rate_precheck(who, "post")
        password_hash = security.hash_password(cfg.password_hasher, password)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "post", now)
            duplicate = db.execute(
                "SELECT 1 FROM posts WHERE fingerprint = ? AND created_at > ? LIMIT 1",
                (fingerprint, now - cfg.duplicate_window_s),
            ).fetchone()
            if duplicate:
                raise DuplicateError("board.error.duplicate_post")
            cursor = db.execute(
                "INSERT INTO posts (created_at, category, nickname, title, body, summary_json, "
                "password_hash, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (now, category, nickname, title, body, summary_json, password_hash, fingerprint),
            )
            self._rate_record(db, who, "post", now)
            return int(cursor.lastrowid or 0)

    def get_post(self, post_id: int) -> Post | None:
        """The visible post with this id, or None (missing, deleted or hidden)."""
        with self._read() as db:
            row = db.execute(_GET_POST_SQL, (int(post_id),)).fetchone()
        if row is None or row[12] != "visible":
            return None
        return _post(row)

    def _page_args(self, page: int, per_page: int | None) -> tuple[int, int]:
        per_page = min(max(1, int(per_page or self.config.per_page)), self.config.per_page_max)
        return max(1, int(page)), per_page

    @staticmethod
    def _check_filters(category: str | None, sort: str) -> None:
        if category is not None and category not in CATEGORIES:
            raise InvalidInputError("board.error.bad_category")
        if sort not in SORTS:
            raise InvalidInputError("board.error.bad_sort")

    def list_posts(
        self, *, category: str | None = None, sort: str = "newest", page: int = 1, per_page: int | None = None
    ) -> Page[Post]:
        """Visible posts, newest first or most liked first, one page at a time.

        Raises:
            InvalidInputError: unknown category or sort.
        """
        self._check_filters(category, sort)
        page, per_page = self._page_args(page, per_page)
        filtered = category is not None
        with self._read() as db:
            total = db.execute(_COUNT_SQL[filtered], (category,) if filtered else ()).fetchone()[0]
            page = min(page, max(1, math.ceil(total / per_page)))
            args: tuple[Any, ...] = (per_page, (page - 1) * per_page)
            if filtered:
                args = (category, *args)
            rows = db.execute(_LIST_SQL[(sort, filtered)], args).fetchall()
        return Page(tuple(_post(r) for r in rows), total, page, per_page)

    def search(
        self,
        query: str,
        *,
        category: str | None = None,
        sort: str = "newest",
        page: int = 1,
        per_page: int | None = None,
    ) -> Page[Post]:
        """Visible posts whose title or body contains every term of ``query`` (substring
        match, case-insensitive for Latin letters; Korean works because the index is trigram).
        Terms shorter than 3 characters are matched with LIKE (candidates from the bigram
        index when the query has no longer term). An empty query lists posts.

        Raises:
            InvalidInputError: the query is too long or has control characters; unknown
                category or sort.
        """
        self._check_filters(category, sort)
        parsed = text.parse_query(query, self.config)
        if parsed.empty:
            return self.list_posts(category=category, sort=sort, page=page, per_page=per_page)
        page, per_page = self._page_args(page, per_page)
        index = "trigram" if parsed.fts else "bigram"
        params: dict[str, Any] = {
            "category": category,
            "likes": json.dumps(list(parsed.like_patterns)),
            "fts": parsed.fts,
            "bigrams": parsed.bigrams,
        }
        cap = self.config.search_count_max
        page = min(page, math.ceil(cap / per_page))
        with self._read() as db:
            rows = db.execute(
                _SEARCH_SQL[(index, sort)], {**params, "limit": per_page, "offset": (page - 1) * per_page}
            ).fetchall()
            if (rows and len(rows) < per_page) or (page == 1 and not rows):
                # the last page: the total is known without a second pass (rare terms scan once)
                total, more = (page - 1) * per_page + len(rows), False
            else:
                counted = db.execute(_SEARCH_COUNT_SQL[index], {**params, "cap": cap + 1}).fetchone()[0]
                total, more = min(counted, cap), counted > cap
                last = max(1, math.ceil(total / per_page))
                if page > last:  # asked past the end: show the last page
                    page = last
                    rows = db.execute(
                        _SEARCH_SQL[(index, sort)], {**params, "limit": per_page, "offset": (page - 1) * per_page}
                    ).fetchall()
        return Page(tuple(_post(r) for r in rows), total, page, per_page, more=more)

    def record_view(self, post_id: int) -> None:
        """Count one view of a visible post (pages call it once per visitor session)."""
        with self._write() as db:
            db.execute(
                "UPDATE posts SET view_count = view_count + 1 WHERE id = ? AND status = 'visible'",
                (int(post_id),),
            )

    def _owner_row(self, post_id: int) -> tuple[str, str | None]:
        with self._read() as db:
            row = db.execute(
                "SELECT nickname, password_hash, status FROM posts WHERE id = ?", (int(post_id),)
            ).fetchone()
        if row is None or row[2] != "visible":
            raise NotFoundError("board.error.not_found")
        return row[0], row[1]

    def check_owner(self, visitor_id: Visitor | str, post_id: int, *, nickname: str, password: str) -> None:
        """Check nickname+password for a post without changing it (the page uses it to
        unlock the edit form).

        Raises:
            NotFoundError, PermissionDeniedError, RateLimitedError (too many failures).
        """
        who = _who(visitor_id)
        stored_nick, stored_hash = self._owner_row(post_id)
        self._verify_owner(who, stored_nick, stored_hash, nickname, password)

    def edit_post(
        self,
        visitor_id: Visitor | str,
        post_id: int,
        *,
        nickname: str,
        password: str,
        title: str,
        body: str,
        category: str,
    ) -> None:
        """Change a post's title, body and category (its author's nickname+password).

        Raises:
            InvalidInputError, SpamError: as for :meth:`create_post`.
            NotFoundError: no such visible post.
            PermissionDeniedError: wrong nickname or password.
            RateLimitedError: too many edits or failed password attempts.
        """
        category, title, body = self._validate_post(category, title, body)
        who = _who(visitor_id)
        stored_nick, stored_hash = self._owner_row(post_id)
        self._rate_precheck(who, "edit")
        self._verify_owner(who, stored_nick, stored_hash, nickname, password)
        rehash = None
        if stored_hash and security.needs_rehash(self.config.password_hasher, stored_hash):
            rehash = security.hash_password(self.config.password_hasher, password)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "edit", now)
            summary = db.execute("SELECT summary_json FROM posts WHERE id = ?", (int(post_id),)).fetchone()
            fingerprint = _post_fingerprint(title, body, summary[0] if summary else None)
            cursor = db.execute(
                "UPDATE posts SET title = ?, body = ?, category = ?, fingerprint = ?, updated_at = ?, "
                "password_hash = COALESCE(?, password_hash) "
                "WHERE id = ? AND status = 'visible' AND password_hash IS ?",
                (title, body, category, fingerprint, now, rehash, int(post_id), stored_hash),
            )
            if cursor.rowcount != 1:
                raise NotFoundError("board.error.not_found")
            self._rate_record(db, who, "edit", now)

    def delete_post(self, visitor_id: Visitor | str, post_id: int, *, nickname: str, password: str) -> None:
        """Delete a post with its comments, likes and reports (author's nickname+password).

        Raises:
            NotFoundError, PermissionDeniedError, RateLimitedError.
        """
        who = _who(visitor_id)
        stored_nick, stored_hash = self._owner_row(post_id)
        self._verify_owner(who, stored_nick, stored_hash, nickname, password)
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM posts WHERE id = ? AND password_hash IS ?", (int(post_id), stored_hash)
            )
            if cursor.rowcount != 1:
                raise NotFoundError("board.error.not_found")

    # ------------------------------------------------------------------ comments

    def add_comment(
        self, visitor_id: Visitor | str, post_id: int, *, nickname: str, password: str, body: str
    ) -> int:
        """Add a comment to a visible post and return its id.

        Raises:
            InvalidInputError, SpamError, RateLimitedError, NotFoundError,
            PersonalDataError (personal data in the text, :mod:`core.board.privacy`),
            DuplicateError (same text on the same post within the comment duplicate window).
        """
        cfg = self.config
        body = text.clean_body(body, "comment", cfg.comment_max, cfg.body_max_lines)
        nickname = text.clean_nickname(nickname, cfg)
        password = text.check_password(password, cfg)
        text.check_links(cfg.max_links_comment, body)
        privacy.check_personal_data("comment", body)
        fingerprint = text.fingerprint(body)
        who = _who(visitor_id)
        self._rate_precheck(who, "comment")
        self._owner_row(post_id)  # fail fast if the post is gone
        password_hash = security.hash_password(cfg.password_hasher, password)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "comment", now)
            status = db.execute("SELECT status FROM posts WHERE id = ?", (int(post_id),)).fetchone()
            if status is None or status[0] != "visible":
                raise NotFoundError("board.error.not_found")
            duplicate = db.execute(
                "SELECT 1 FROM comments WHERE post_id = ? AND fingerprint = ? AND created_at > ? LIMIT 1",
                (int(post_id), fingerprint, now - cfg.duplicate_comment_window_s),
            ).fetchone()
            if duplicate:
                raise DuplicateError("board.error.duplicate_comment")
            cursor = db.execute(
                "INSERT INTO comments (post_id, created_at, nickname, body, password_hash, fingerprint) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (int(post_id), now, nickname, body, password_hash, fingerprint),
            )
            db.execute("UPDATE posts SET comment_count = comment_count + 1 WHERE id = ?", (int(post_id),))
            self._rate_record(db, who, "comment", now)
            return int(cursor.lastrowid or 0)

    def list_comments(self, post_id: int) -> list[Comment]:
        """Comments of a visible post, oldest first (at most ``config.comments_max_listed``)."""
        with self._read() as db:
            status = db.execute("SELECT status FROM posts WHERE id = ?", (int(post_id),)).fetchone()
            if status is None or status[0] != "visible":
                return []
            rows = db.execute(
                "SELECT id, post_id, created_at, nickname, body, updated_at FROM comments WHERE post_id = ? "
                "ORDER BY id LIMIT ?",
                (int(post_id), self.config.comments_max_listed),
            ).fetchall()
        return [_comment(row) for row in rows]

    def _comment_owner(self, comment_id: int) -> tuple[str, str | None]:
        """(nickname, password hash) of a comment on a visible post. Raises NotFoundError."""
        with self._read() as db:
            row = db.execute(
                "SELECT c.nickname, c.password_hash, p.status FROM comments AS c "
                "JOIN posts AS p ON p.id = c.post_id WHERE c.id = ?",
                (int(comment_id),),
            ).fetchone()
        if row is None or row[2] != "visible":
            raise NotFoundError("board.error.not_found")
        return row[0], row[1]

    def delete_comment(self, visitor_id: Visitor | str, comment_id: int, *, nickname: str, password: str) -> None:
        """Delete a comment (its author's nickname+password).

        Raises:
            NotFoundError, PermissionDeniedError, RateLimitedError.
        """
        who = _who(visitor_id)
        stored_nick, stored_hash = self._comment_owner(comment_id)
        self._verify_owner(who, stored_nick, stored_hash, nickname, password)
        with self._write() as db:
            _delete_comment(db, int(comment_id))

    def edit_comment(
        self, visitor_id: Visitor | str, comment_id: int, *, nickname: str, password: str, body: str
    ) -> None:
        """Change a comment's text (its author's nickname+password). The new text goes
        through the same checks as a new comment (length, lines, control characters, links,
        the same text on the same post within the duplicate window); ``updated_at`` is set.

        Raises:
            InvalidInputError, SpamError: as for :meth:`add_comment`.
            DuplicateError: another comment on the post has this text (duplicate window).
            NotFoundError: no such comment, or its post is gone or hidden.
            PermissionDeniedError: wrong nickname or password.
            RateLimitedError: too many edits or failed password attempts.
            BusyError: the database stayed locked.
        """
        cfg = self.config
        body = text.clean_body(body, "comment", cfg.comment_max, cfg.body_max_lines)
        text.check_links(cfg.max_links_comment, body)
        privacy.check_personal_data("comment", body)
        fingerprint = text.fingerprint(body)
        who = _who(visitor_id)
        stored_nick, stored_hash = self._comment_owner(comment_id)
        self._rate_precheck(who, "edit")
        self._verify_owner(who, stored_nick, stored_hash, nickname, password)
        rehash = None
        if stored_hash and security.needs_rehash(cfg.password_hasher, stored_hash):
            rehash = security.hash_password(cfg.password_hasher, password)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "edit", now)
            current = db.execute(
                "SELECT c.post_id, p.status FROM comments AS c JOIN posts AS p ON p.id = c.post_id "
                "WHERE c.id = ? AND c.password_hash IS ?",
                (int(comment_id), stored_hash),
            ).fetchone()
            if current is None or current[1] != "visible":
                raise NotFoundError("board.error.not_found")
            duplicate = db.execute(
                "SELECT 1 FROM comments WHERE post_id = ? AND fingerprint = ? AND created_at > ? AND id != ? LIMIT 1",
                (current[0], fingerprint, now - cfg.duplicate_comment_window_s, int(comment_id)),
            ).fetchone()
            if duplicate:
                raise DuplicateError("board.error.duplicate_comment")
            db.execute(
                "UPDATE comments SET body = ?, fingerprint = ?, updated_at = ?, "
                "password_hash = COALESCE(?, password_hash) WHERE id = ?",
                (body, fingerprint, now, rehash, int(comment_id)),
            )
            self._rate_record(db, who, "edit", now)

    # ------------------------------------------------------------------ likes and reports

    def like(self, post_id: int, visitor_id: Visitor | str) -> bool:
        """Like a visible post; returns False when this visitor already liked it
        (one like per visitor per post, enforced by a UNIQUE constraint).

        Raises:
            NotFoundError, RateLimitedError.
        """
        who = _who(visitor_id)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "like", now)
            _require_visible(db, post_id)
            cursor = db.execute(
                "INSERT OR IGNORE INTO likes (post_id, visitor_hash, created_at) VALUES (?, ?, ?)",
                (int(post_id), who.vhash, now),
            )
            if cursor.rowcount != 1:
                return False
            db.execute("UPDATE posts SET like_count = like_count + 1 WHERE id = ?", (int(post_id),))
            self._rate_record(db, who, "like", now)
            return True

    def unlike(self, post_id: int, visitor_id: Visitor | str) -> bool:
        """Take back this visitor's like; returns False when there was none.

        Raises:
            RateLimitedError.
        """
        who = _who(visitor_id)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "like", now)
            cursor = db.execute(
                "DELETE FROM likes WHERE post_id = ? AND visitor_hash = ?", (int(post_id), who.vhash)
            )
            if cursor.rowcount != 1:
                return False
            db.execute(
                "UPDATE posts SET like_count = MAX(0, like_count - 1) WHERE id = ?", (int(post_id),)
            )
            self._rate_record(db, who, "like", now)
            return True

    def has_liked(self, post_id: int, visitor_id: Visitor | str) -> bool:
        who = _who(visitor_id)
        with self._read() as db:
            row = db.execute(
                "SELECT 1 FROM likes WHERE post_id = ? AND visitor_hash = ?", (int(post_id), who.vhash)
            ).fetchone()
        return row is not None

    def report_post(self, post_id: int, visitor_id: Visitor | str, reason: str = "") -> ReportResult:
        """Report a visible post (once per visitor). When ``config.report_threshold``
        different reporters have reported it, it is hidden until a moderator reviews it.
        Reporters on one known client network count once (a person cannot hide a post by
        clearing cookies), and a visitor whose browser has not returned its cookie
        (``Visitor.confirmed`` False) is recorded but does not count.

        Raises:
            NotFoundError, RateLimitedError, InvalidInputError (reason too long).
        """
        cfg = self.config
        reason = reason.strip() if isinstance(reason, str) else ""
        if reason:
            reason = text.clean_line(reason, "reason", 1, cfg.report_reason_max)
        who = _who(visitor_id)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "report", now)
            _require_visible(db, post_id)
            cursor = db.execute(
                "INSERT OR IGNORE INTO reports (post_id, visitor_hash, reason, created_at, network_hash, counted) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (int(post_id), who.vhash, reason, now, who.nhash, int(who.confirmed)),
            )
            if cursor.rowcount != 1:
                return ReportResult(new=False, hidden=False)
            db.execute("UPDATE posts SET report_count = report_count + 1 WHERE id = ?", (int(post_id),))
            self._rate_record(db, who, "report", now)
            reporters = db.execute(
                "SELECT COUNT(DISTINCT COALESCE(network_hash, visitor_hash)) FROM reports "
                "WHERE post_id = ? AND counted = 1",
                (int(post_id),),
            ).fetchone()[0]
            hidden = 0
            if reporters >= cfg.report_threshold:
                hidden = db.execute(
                    "UPDATE posts SET status = 'hidden' WHERE id = ? AND status = 'visible'", (int(post_id),)
                ).rowcount
            if hidden:
                _log(db, now, "auto_hide", post_id=int(post_id), detail=f"reporters>={cfg.report_threshold}")
            return ReportResult(new=True, hidden=bool(hidden))

    # ------------------------------------------------------------------ moderation

    def moderator(self, visitor_id: Visitor | str, secret: str, expected: str | None) -> Moderator:
        """A handle for moderation when ``secret`` equals the configured admin secret
        (compared with :func:`hmac.compare_digest`).

        Failed secrets are counted in the database per visitor (a browser), per client network
        and for the whole board (``rate_rules`` / ``network_rate_rules`` / ``global_rate_rules``
        ``"admin"``: 5, 5 and 20 an hour by default); while any of them is full every attempt is
        refused, the right secret too, so a fresh session, a new browser or many browsers get
        no more guesses. The check, the comparison and the count happen in one write
        transaction, so parallel guesses cannot slip past the limit.

        Raises:
            PermissionDeniedError: wrong secret, or moderation off (no secret configured).
            RateLimitedError: too many failed attempts.
            BusyError: the database stayed locked.
        """
        who = _who(visitor_id)
        with self._write() as db:
            now = self.clock()
            self._rate_check(db, who, "admin", now)
            ok = security.admin_secret_matches(secret, expected)
            if not ok:
                self._rate_record(db, who, "admin", now)
        if not ok:
            raise PermissionDeniedError("board.error.wrong_secret")
        return Moderator(self)

    def unlock_admin(self) -> int:
        """Forget every failed admin secret (all visitors, networks and the board-wide count):
        the way back in after a lock-out (``python -m core.board unlock-admin``). Returns how
        many failures were forgotten."""
        with self._write() as db:
            return int(db.execute("DELETE FROM rate_events WHERE action = 'admin'").rowcount)

    # ------------------------------------------------------------------ maintenance

    def schema_version(self) -> int:
        with self._read() as db:
            return current_version(db)

    def pragmas(self) -> dict[str, Any]:
        """journal_mode, busy_timeout (ms), foreign_keys and synchronous of a connection."""
        with self._connection() as db:
            return {
                name: db.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }

    def integrity_check(self) -> str:
        """``"ok"`` when SQLite's integrity check and the checks of both FTS indexes (trigram
        and bigram, each compared with the posts) pass, otherwise the first problem reported."""
        with self._connection() as db:
            result = str(db.execute("PRAGMA integrity_check").fetchone()[0])
            if result != "ok":
                return result
            for name, statement in _FTS_CHECKS:
                try:
                    db.execute(statement)
                except sqlite3.DatabaseError as exc:
                    return f"{name}: {exc}"
        return "ok"

    def stats(self) -> dict[str, int]:
        """Row counts (posts by status, comments, likes, reports) and the schema version."""
        with self._read() as db:
            out = {
                "schema_version": current_version(db),
                "posts_visible": db.execute("SELECT COUNT(*) FROM posts WHERE status = 'visible'").fetchone()[0],
                "posts_hidden": db.execute("SELECT COUNT(*) FROM posts WHERE status = 'hidden'").fetchone()[0],
                "comments": db.execute("SELECT COUNT(*) FROM comments").fetchone()[0],
                "likes": db.execute("SELECT COUNT(*) FROM likes").fetchone()[0],
                "reports": db.execute("SELECT COUNT(*) FROM reports").fetchone()[0],
            }
        return out

    def backup(self, dest: str | Path, *, overwrite: bool = False) -> Path:
        """Copy the live database to ``dest`` with SQLite's online backup API (a consistent
        snapshot even while others write), then check the copy.

        Raises:
            FileExistsError: ``dest`` exists and ``overwrite`` is False.
            RuntimeError: the copy fails its integrity check.
        """
        dest = Path(dest)
        if dest.exists() and not overwrite:
            raise FileExistsError(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".partial")
        tmp.unlink(missing_ok=True)
        with self._connection() as db:
            target = sqlite3.connect(tmp)
            try:
                db.conn.backup(target)
                result = target.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                target.close()
        if result != "ok":
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"backup failed its integrity check: {result}")
        tmp.replace(dest)
        return dest

    def export_jsonl(self, out: IO[str]) -> dict[str, int]:
        """Write every post and comment as JSON lines (one snapshot). Password hashes,
        fingerprints and visitor hashes are left out, so an export holds only what readers
        of the board could see plus moderation status. Returns counts.
        """
        counts = {"posts": 0, "comments": 0}
        with self._read() as db:
            out.write(
                json.dumps({"type": "meta", "schema_version": current_version(db), "exported_at": self.clock()})
                + "\n"
            )
            for row in db.execute(
                "SELECT id, created_at, updated_at, category, nickname, title, body, summary_json, "
                "view_count, like_count, comment_count, report_count, status FROM posts ORDER BY id"
            ):
                record = {"type": "post", **_post(row).__dict__}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                counts["posts"] += 1
            for row in db.execute(
                "SELECT id, post_id, created_at, nickname, body, updated_at FROM comments ORDER BY id"
            ):
                record = {"type": "comment", **_comment(row).__dict__}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                counts["comments"] += 1
        return counts

    def import_jsonl(self, lines: Iterable[str], *, batch_size: int | None = None) -> dict[str, int]:
        """Load an export (from :meth:`export_jsonl`) in one transaction: all of it or, when a
        record is refused or the process dies midway, none of it. Posts get new ids (comments
        follow them); imported posts have no password, so only a moderator can edit or delete
        them. Every field of every record is validated first (see :meth:`_clean_import`).
        ``batch_size`` is ignored (kept for old callers).

        Raises:
            ImportRecordError: a line is not a JSON object or a record is not acceptable (the
                message names the line and the field).
            BusyError: the database stayed locked.
        """
        return self._import(_json_records(lines))

    def import_posts(self, posts: Iterable[Mapping[str, Any]], *, batch_size: int | None = None) -> dict[str, int]:
        """Bulk-load posts (dicts with category, title, body, nickname, optional summary,
        created_at) in one transaction, with no password. For imports and benchmarks."""
        return self._import(enumerate(({"type": "post", **p} for p in posts), start=1))

    def _import(self, records: Iterable[tuple[int, object]]) -> dict[str, int]:
        # Validate everything first, so a bad record refuses the whole import; then write it all
        # in one transaction, so a crash or kill midway leaves nothing of it.
        now = self.clock()
        seen: set[int] = set()
        clean: list[dict[str, Any]] = []
        for line, rec in records:
            try:
                item = self._clean_import(rec, now, seen)
            except BoardError as err:
                raise ImportRecordError(line, err) from err
            if item is not None:
                clean.append(item)
        id_map: dict[int, int] = {}
        counts = {"posts": 0, "comments": 0}
        with self._write() as db:
            for rec in clean:
                self._import_one(db, rec, id_map, counts)
        return counts

    def _clean_import(self, rec: object, now: float, seen_ids: set[int]) -> dict[str, Any] | None:
        """One import record checked field by field (None for the export's meta line).

        Times are seconds since the epoch between 0 and now + 1 day (missing: now / no edit);
        counts are integers from 0 to 10^12 (booleans, NaN, text refused); ids are positive
        integers, unique per import; status is visible or hidden; text fields follow the rules
        of new input (lengths, characters, links, nicknames, no personal data) and summaries the
        summary rules.
        """
        cfg = self.config
        if not isinstance(rec, Mapping):
            raise InvalidInputError("board.error.import_json")
        kind = rec.get("type")
        if kind == "meta":
            return None
        if kind not in ("post", "comment"):
            raise InvalidInputError("board.error.import_value", field="type")
        created = _import_time(rec, "created_at", now)
        updated = _import_time(rec, "updated_at", now)
        nickname = text.clean_nickname(rec.get("nickname"), cfg, min_len=1)
        if kind == "comment":
            body = text.clean_body(rec.get("body"), "comment", cfg.comment_max, cfg.body_max_lines)
            privacy.check_personal_data("comment", body)
            post_ref = _import_int(rec, "post_id", low=1)
            if post_ref is None:
                raise InvalidInputError("board.error.import_value", field="post_id")
            return {"type": "comment", "post_id": post_ref, "created_at": created if created is not None else now,
                    "updated_at": updated, "nickname": nickname, "body": body}
        category, title, body = self._validate_post(rec.get("category"), rec.get("title"), rec.get("body"))
        status = rec.get("status", "visible")
        if status not in ("visible", "hidden"):
            raise InvalidInputError("board.error.import_value", field="status")
        view_count = _import_int(rec, "view_count") or 0
        for name in ("like_count", "comment_count", "report_count"):  # recomputed here, but must be sane
            _import_int(rec, name)
        post_id = _import_int(rec, "id", low=1)
        if post_id is not None:
            if post_id in seen_ids:
                raise InvalidInputError("board.error.import_value", field="id")
            seen_ids.add(post_id)
        summary = rec.get("summary")
        return {
            "type": "post",
            "id": post_id,
            "created_at": created if created is not None else now,
            "updated_at": updated,
            "category": category,
            "title": title,
            "body": body,
            "nickname": nickname,
            "summary_json": summary_to_json(validate_summary(summary)) if summary is not None else None,
            "view_count": view_count,
            "status": status,
        }

    def _import_one(
        self, db: Database, rec: Mapping[str, Any], id_map: dict[int, int], counts: dict[str, int]
    ) -> None:
        if rec["type"] == "post":
            cursor = db.execute(
                "INSERT INTO posts (created_at, updated_at, category, nickname, title, body, summary_json, "
                "fingerprint, view_count, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec["created_at"],
                    rec["updated_at"],
                    rec["category"],
                    rec["nickname"],
                    rec["title"],
                    rec["body"],
                    rec["summary_json"],
                    _post_fingerprint(rec["title"], rec["body"], rec["summary_json"]),
                    rec["view_count"],
                    rec["status"],
                ),
            )
            if rec["id"] is not None:
                id_map[rec["id"]] = int(cursor.lastrowid or 0)
            counts["posts"] += 1
        else:
            post_id = id_map.get(rec["post_id"])
            if post_id is None:
                return  # its post was not in this import
            db.execute(
                "INSERT INTO comments (post_id, created_at, updated_at, nickname, body, fingerprint) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    post_id,
                    rec["created_at"],
                    rec["updated_at"],
                    rec["nickname"],
                    rec["body"],
                    text.fingerprint(rec["body"]),
                ),
            )
            db.execute("UPDATE posts SET comment_count = comment_count + 1 WHERE id = ?", (post_id,))
            counts["comments"] += 1


class Moderator:
    """Moderation actions; obtained only through :meth:`Board.moderator` with the admin secret."""

    def __init__(self, board: Board) -> None:
        self._board = board

    def queue(self, *, page: int = 1, per_page: int | None = None) -> Page[Post]:
        """Hidden posts first, then visible posts with reports (most reported first)."""
        board = self._board
        page, per_page = board._page_args(page, per_page)
        with board._read() as db:
            total = db.execute(_MOD_QUEUE_COUNT_SQL).fetchone()[0]
            page = min(page, max(1, math.ceil(total / per_page)))
            rows = db.execute(_MOD_QUEUE_SQL, (per_page, (page - 1) * per_page)).fetchall()
        return Page(tuple(_post(r) for r in rows), total, page, per_page)

    def get_post(self, post_id: int) -> Post | None:
        """Any post, hidden ones included."""
        with self._board._read() as db:
            row = db.execute(_GET_POST_SQL, (int(post_id),)).fetchone()
        return _post(row) if row else None

    def reports(self, post_id: int) -> list[Report]:
        with self._board._read() as db:
            rows = db.execute(
                "SELECT post_id, reason, created_at FROM reports WHERE post_id = ? ORDER BY created_at",
                (int(post_id),),
            ).fetchall()
        return [Report(int(row[0]), _str(row[1]), _time(row[2])) for row in rows]

    def restore(self, post_id: int) -> None:
        """Make a post visible again and clear its reports. Raises NotFoundError."""
        with self._board._write() as db:
            cursor = db.execute(
                "UPDATE posts SET status = 'visible', report_count = 0 WHERE id = ?", (int(post_id),)
            )
            if cursor.rowcount != 1:
                raise NotFoundError("board.error.not_found")
            db.execute("DELETE FROM reports WHERE post_id = ?", (int(post_id),))
            _log(db, self._board.clock(), "restore", post_id=int(post_id))

    def hide(self, post_id: int) -> None:
        """Hide a post pending review. Raises NotFoundError."""
        with self._board._write() as db:
            cursor = db.execute("UPDATE posts SET status = 'hidden' WHERE id = ?", (int(post_id),))
            if cursor.rowcount != 1:
                raise NotFoundError("board.error.not_found")
            _log(db, self._board.clock(), "hide", post_id=int(post_id))

    def delete_post(self, post_id: int) -> None:
        """Delete a post with its comments, likes and reports. Raises NotFoundError."""
        with self._board._write() as db:
            if db.execute("DELETE FROM posts WHERE id = ?", (int(post_id),)).rowcount != 1:
                raise NotFoundError("board.error.not_found")
            _log(db, self._board.clock(), "delete_post", post_id=int(post_id))

    def delete_comment(self, comment_id: int) -> None:
        """Delete a comment. Raises NotFoundError."""
        with self._board._write() as db:
            post_id = _delete_comment(db, int(comment_id))
            _log(db, self._board.clock(), "delete_comment", post_id=post_id, comment_id=int(comment_id))

    def comments(self, post_id: int) -> list[Comment]:
        """Comments of any post, hidden ones included."""
        with self._board._read() as db:
            rows = db.execute(
                "SELECT id, post_id, created_at, nickname, body, updated_at FROM comments WHERE post_id = ? "
                "ORDER BY id LIMIT ?",
                (int(post_id), self._board.config.comments_max_listed),
            ).fetchall()
        return [_comment(row) for row in rows]

    def log(self, limit: int = 50) -> list[dict[str, Any]]:
        """Latest moderation actions (no user text is kept in the log)."""
        with self._board._read() as db:
            rows = db.execute(
                "SELECT at, action, post_id, comment_id, detail FROM moderation_log ORDER BY id DESC LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [dict(zip(("at", "action", "post_id", "comment_id", "detail"), row, strict=True)) for row in rows]


#: an import line longer than this is refused before parsing (a post is at most ~30 KB of JSON)
IMPORT_LINE_MAX = 1_000_000
#: imported counts above this are refused
IMPORT_COUNT_MAX = 10**12
#: clock skew allowed for imported times
IMPORT_FUTURE_S = 86_400.0


def _json_records(lines: Iterable[str]) -> Iterator[tuple[int, object]]:
    """(line number, parsed record) for each non-blank line.

    Raises:
        ImportRecordError: a line is too long or not JSON (too deeply nested included).
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > IMPORT_LINE_MAX:
            raise ImportRecordError(number, InvalidInputError("board.error.import_json"))
        try:
            yield number, json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise ImportRecordError(number, InvalidInputError("board.error.import_json")) from exc


def _import_time(rec: Mapping[str, Any], name: str, now: float) -> float | None:
    """An imported time: None when missing or null; otherwise a finite number of seconds
    between 0 and ``now`` + one day.

    Raises:
        InvalidInputError: anything else (text, booleans, NaN, 1e20, negative times).
    """
    value = rec.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= now + IMPORT_FUTURE_S
    ):
        raise InvalidInputError("board.error.import_value", field=name)
    return float(value)


def _import_int(rec: Mapping[str, Any], name: str, *, low: int = 0) -> int | None:
    """An imported count or id: None when missing or null, else an int in [low, 10^12].

    Raises:
        InvalidInputError: a float, text, boolean or a number out of range.
    """
    value = rec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= IMPORT_COUNT_MAX:
        raise InvalidInputError("board.error.import_value", field=name)
    return value


def _require_visible(db: Database, post_id: int) -> None:
    row = db.execute("SELECT status FROM posts WHERE id = ?", (int(post_id),)).fetchone()
    if row is None or row[0] != "visible":
        raise NotFoundError("board.error.not_found")


def _delete_comment(db: Database, comment_id: int) -> int:
    row = db.execute("SELECT post_id FROM comments WHERE id = ?", (comment_id,)).fetchone()
    if row is None:
        raise NotFoundError("board.error.not_found")
    db.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
    db.execute("UPDATE posts SET comment_count = MAX(0, comment_count - 1) WHERE id = ?", (row[0],))
    return int(row[0])


def _log(
    db: Database, now: float, action: str, *, post_id: int | None = None, comment_id: int | None = None, detail: str = ""
) -> None:
    db.execute(
        "INSERT INTO moderation_log (at, action, post_id, comment_id, detail) VALUES (?, ?, ?, ?, ?)",
        (now, action, post_id, comment_id, detail),
    )


def _post_fingerprint(title: str, body: str, summary_json: str | None) -> str:
    """A post's duplicate fingerprint. A shared result's summary is part of it: two people sharing
    different results under a page's default title and body are not duplicates."""
    return text.fingerprint(title, body, summary_json) if summary_json else text.fingerprint(title, body)
