"""The board's storage engine on SQLite (through sqlite-utils): connections, transactions,
migrations and maintenance. Every statement the board runs lives here and in
:mod:`core.board.queries` (the SQLite dialect of each operation); the rest of the board
(posts, likes, moderation, import/export) calls :meth:`SqliteEngine.read` /
:meth:`SqliteEngine.write` and the named operations of the :class:`~core.board.queries.SqliteTx`
they yield, never SQL. A second engine (PostgreSQL) is one more module with the same two
classes.

Design notes:

* One connection per thread, reused (so a board is safe to share between Streamlit
  sessions and threads, and fork-safe), WAL journaling, ``synchronous=NORMAL`` (durable
  against process crashes; a power cut may lose the last commits, never the file), foreign
  keys on, and a busy timeout. Every write runs in ``BEGIN IMMEDIATE`` so concurrent writers
  queue on the busy handler instead of failing on a read-to-write upgrade.
* Every SQL statement is a constant string with ``?``/``:name`` parameters.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from core.board.errors import BusyError
from core.board.queries import SqliteTx
from core.board.schema import enable_wal, migrate

# FTS5 'integrity-check' compares each index with its content (the posts table, the bigram view).
_FTS_CHECKS = (
    ("fts", "INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)"),
    ("bigram", "INSERT INTO posts_bigram (posts_bigram, rank) VALUES ('integrity-check', 1)"),
)


class _Handle:
    """Owns one thread's connection and closes it when dropped (thread ended, engine gone).

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


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class SqliteEngine:
    """One SQLite board file: opens it (creating its folder, applying pending migrations,
    switching to WAL) and hands out transactions.

    Args:
        path: the database file.
        busy_timeout_ms: how long a statement waits for a lock before failing.

    Raises:
        core.board.schema.SchemaTooNewError: the file was written by a newer app.
        sqlite3.DatabaseError: the file is not a SQLite database.
    """

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self.location = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            enable_wal(db.conn)
            migrate(db)

    # ------------------------------------------------------------------ connections

    def _connect(self) -> Database:
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_ms / 1000.0,  # sets sqlite3_busy_timeout
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

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def read(self) -> Iterator[SqliteTx]:
        """A read transaction (one consistent snapshot)."""
        with self._connection() as db:
            db.execute("BEGIN")
            try:
                yield SqliteTx(db)
            finally:
                if db.conn.in_transaction:
                    db.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[SqliteTx]:
        """A write transaction taken with BEGIN IMMEDIATE (waits up to the busy timeout);
        committed when the block ends, rolled back when it raises.

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
                yield SqliteTx(db)
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

    # ------------------------------------------------------------------ maintenance

    def schema_version(self) -> int:
        """The highest applied migration."""
        with self.read() as tx:
            return tx.schema_version()

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

    def backup(self, dest: Path, *, overwrite: bool = False) -> Path:
        """Copy the live database to ``dest`` with SQLite's online backup API (a consistent
        snapshot even while others write), then check the copy.

        Raises:
            FileExistsError: ``dest`` exists and ``overwrite`` is False.
            RuntimeError: the copy fails its integrity check.
        """
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
