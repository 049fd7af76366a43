"""The board's storage engine on PostgreSQL (``DRDC_DB_URL=postgresql://...``): the same
transactions as :class:`core.board.db.SqliteEngine`, over the pool of :mod:`core.storage.postgres`
(tables from ``core/storage/sql/0004_board.sql``, applied when the pool opens).

* A read is a ``REPEATABLE READ, READ ONLY`` transaction: one snapshot, like SQLite's.
* A write is a ``READ COMMITTED`` transaction with ``lock_timeout`` set to the board's busy
  timeout; its check-then-write steps are serialised by advisory locks and constraints (see
  :mod:`core.board.pg_queries`), so rate limits, likes and duplicates hold across replicas. A
  lock wait past the timeout, a deadlock or a serialization failure raises
  :class:`~core.board.errors.BusyError`, as SQLite's busy timeout does.
* The visitor salt and the cookie key are ``app_secrets`` rows shared by every replica.
* Maintenance: ``integrity_check`` checks what the board derives from its rows (search grams,
  comment and like counters; PostgreSQL checks its own pages); ``backup`` is refused: back the
  database up with ``pg_dump``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.board.engine import BackupRefusedError
from core.board.errors import BusyError
from core.board.pg_queries import PgTx
from core.settings import Settings
from core.storage import postgres

#: what ``integrity_check`` compares: (name, rows that disagree with what they derive from)
_CHECKS = (
    ("grams", "SELECT COUNT(*) FROM board_posts AS p LEFT JOIN board_post_grams AS g ON g.post_id = p.id "
              "WHERE g.grams IS DISTINCT FROM board_grams(p.title, p.body)"),
    ("comment_count", "SELECT COUNT(*) FROM board_posts AS p WHERE p.comment_count <> "
                      "(SELECT COUNT(*) FROM board_comments AS c WHERE c.post_id = p.id)"),
    ("like_count", "SELECT COUNT(*) FROM board_posts AS p WHERE p.like_count <> "
                   "(SELECT COUNT(*) FROM board_likes AS l WHERE l.post_id = p.id)"),
)
BACKUP_HINT = ("the board is stored in PostgreSQL: back it up with pg_dump, e.g. "
               "pg_dump --format=custom --file=board.dump \"$DRDC_DB_URL\" (python -m core.board export "
               "writes a portable JSON-lines copy of what readers see)")


def redacted(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc[-1]}"))


class PgEngine:
    """The board in the PostgreSQL database of ``settings.db_url``.

    Args:
        settings: names the database (``DRDC_DB_URL``).
        busy_timeout_ms: how long a write waits for a lock before :class:`BusyError`.

    Raises:
        StorageConfigError: the URL is not PostgreSQL's, or the driver is missing.
        StorageUnavailableError: the server cannot be reached, or a migration failed.
    """

    def __init__(self, settings: Settings, busy_timeout_ms: int) -> None:
        self.settings = settings
        self.busy_timeout_ms = busy_timeout_ms
        self.location = redacted(str(settings.db_url))
        with self.write() as tx:
            tx.ensure_meta(lambda: secrets.token_bytes(32))

    def close(self) -> None:
        """Nothing to do: connections belong to the process's pool (closed at exit)."""

    @contextmanager
    def read(self) -> Iterator[PgTx]:
        """A read-only snapshot.

        Raises:
            StorageUnavailableError: the database cannot be reached.
        """
        with postgres.transaction(self.settings) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PgTx(conn, writable=False)

    @contextmanager
    def write(self) -> Iterator[PgTx]:
        """A write transaction (committed when the block ends, rolled back when it raises).

        Raises:
            BusyError: a lock stayed taken past the busy timeout, or a deadlock.
            StorageUnavailableError: the database cannot be reached or the connection broke.
        """
        errors = postgres.driver()[0].errors
        busy = (errors.LockNotAvailable, errors.TransactionRollback)
        timeout = f"{max(1, int(self.busy_timeout_ms))}ms"  # 0 would mean "wait forever"
        with postgres.transaction(self.settings) as conn:
            try:
                conn.execute("SELECT set_config('lock_timeout', %s, true)", (timeout,))
                yield PgTx(conn, writable=True)
            except busy as exc:
                raise BusyError("board.error.busy") from exc

    # ------------------------------------------------------------------ maintenance

    def schema_version(self) -> int:
        """The highest applied storage migration."""
        with self.read() as tx:
            return tx.schema_version()

    def pragmas(self) -> dict[str, Any]:
        """The settings a board transaction runs with (server version, isolation, lock timeout)."""
        with self.write() as tx:
            row = tx.conn.execute("SELECT current_setting('server_version'), current_setting('transaction_isolation'), "
                                  "current_setting('lock_timeout')").fetchone()
        return {"engine": "postgresql", "server_version": row[0], "isolation": row[1], "lock_timeout": row[2]}

    def integrity_check(self) -> str:
        """``"ok"`` when every post's search grams and its comment and like counters agree with
        the rows, otherwise the first disagreement. (PostgreSQL checks its own pages: data
        checksums, ``amcheck``.)"""
        with self.read() as tx:
            for name, sql in _CHECKS:
                bad = int(tx.conn.execute(sql).fetchone()[0])
                if bad:
                    return f"{name}: {bad} post(s) disagree with their rows"
        return "ok"

    def backup(self, dest: Path, *, overwrite: bool = False) -> Path:
        """Refused: a PostgreSQL board is backed up with ``pg_dump``.

        Raises:
            BackupRefusedError: always (the message says how).
        """
        raise BackupRefusedError(BACKUP_HINT)
