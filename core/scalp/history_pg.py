"""The scalp history's PostgreSQL engine (``DRDC_DB_URL=postgresql://...``; see :mod:`core.scalp.history`).

Table ``scalp_history`` (``core/storage/sql/0003_scalp_history.sql``): one row per saved check,
keyed by the same id the file engine uses as a file name, PBKDF2(code, per-installation salt). The
salt is shared by every replica: it is the ``app_secrets`` row ``scalp_history``, made once by
whichever process needs it first (``INSERT ... ON CONFLICT DO NOTHING``, then read back, so two
first uses at once agree). Every change of one history runs in one transaction holding
``pg_advisory_xact_lock`` on that id, as the file engine holds its ``flock``: concurrent saves
lose nothing and the :data:`~core.scalp.history.MAX_ENTRIES` trim sees every row.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from core.settings import Settings
from core.storage import postgres

SECRET_NAME = "scalp_history"
#: first key of the per-history advisory locks (the second is ``hashtext(profile_id)``)
LOCK_SPACE = 0x5C41

_SECRETS: dict[str, bytes] = {}  # database URL -> salt (made once, never changed)
_SECRETS_LOCK = threading.Lock()


class PostgresHistory:
    """Histories in the database of ``settings.db_url``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def secret(self) -> bytes:
        """The installation's salt (made on first use and shared by every replica).

        Raises:
            StorageUnavailableError: the database cannot be reached.
        """
        url = str(self.settings.db_url)
        with _SECRETS_LOCK:
            if url not in _SECRETS:
                with postgres.transaction(self.settings) as conn:
                    conn.execute("INSERT INTO app_secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                                 (SECRET_NAME, secrets.token_bytes(32)))
                    row = conn.execute("SELECT value FROM app_secrets WHERE name = %s", (SECRET_NAME,)).fetchone()
                _SECRETS[url] = bytes(row[0])
            return _SECRETS[url]

    def add(self, profile: str, entry_json: str, keep: int) -> list[Any]:
        """Append one entry (JSON text), drop the oldest beyond ``keep``; return the stored entries
        (decoded JSON), oldest first.

        Raises:
            StorageUnavailableError: the database cannot be reached.
        """
        with postgres.transaction(self.settings) as conn:
            _lock(conn, profile)
            conn.execute("INSERT INTO scalp_history (profile_id, entry) VALUES (%s, %s::jsonb)", (profile, entry_json))
            conn.execute(
                "DELETE FROM scalp_history WHERE profile_id = %s AND id <= (SELECT id FROM scalp_history "
                "WHERE profile_id = %s ORDER BY id DESC OFFSET %s LIMIT 1)", (profile, profile, keep))
            return _entries(conn, profile)

    def entries(self, profile: str) -> list[Any]:
        """The stored entries (decoded JSON), oldest first.

        Raises:
            StorageUnavailableError: the database cannot be reached.
        """
        with postgres.transaction(self.settings) as conn:
            return _entries(conn, profile)

    def delete(self, profile: str) -> int:
        """Delete every entry of ``profile``; returns how many there were.

        Raises:
            StorageUnavailableError: the database cannot be reached.
        """
        with postgres.transaction(self.settings) as conn:
            _lock(conn, profile)
            return int(conn.execute("DELETE FROM scalp_history WHERE profile_id = %s", (profile,)).rowcount)


def _lock(conn: Any, profile: str) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_SPACE, profile))


def _entries(conn: Any, profile: str) -> list[Any]:
    rows = conn.execute("SELECT entry FROM scalp_history WHERE profile_id = %s ORDER BY id", (profile,)).fetchall()
    return [row[0] for row in rows]
