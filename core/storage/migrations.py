"""A tiny migration runner for the PostgreSQL engine.

Migrations are numbered SQL files in ``core/storage/sql/`` named ``NNNN_what.sql``
(``0001_audit.sql``, ``0002_app_secrets.sql``...). :func:`apply_migrations` runs in ONE
transaction that first takes ``pg_advisory_xact_lock(MIGRATION_LOCK)``, so replicas that start
together queue up and the first applies what is missing while the others then find it applied.
It creates the ``schema_migrations`` table if needed (version, name, sha256 of the file,
applied_at), applies every file whose version is not listed, in order, and records each one.
A file already applied whose content changed is refused (:class:`MigrationError`): a migration
is never edited once released; a change is a new file with the next number.

Every process applies them when it opens its pool (:func:`core.storage.postgres.pool`); an
operator can also run ``python -m core.storage migrate``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIGRATIONS_DIR = Path(__file__).resolve().parent / "sql"
#: the advisory lock every migrating process takes (``'drdc'`` as a number)
MIGRATION_LOCK = 0x64726463
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migration files are inconsistent (bad name, a number used twice) or an applied one
    was edited afterwards."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``folder``, lowest number first.

    Raises:
        MigrationError: a ``.sql`` file not named ``NNNN_name.sql``, or a number used twice.
    """
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migrations are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: migration {version} exists twice")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def apply_migrations(conn: Any, migrations: list[Migration] | None = None) -> list[int]:
    """Bring the database of ``conn`` (a psycopg connection, not in a transaction) up to date;
    return the versions applied now (empty when it already was).

    Raises:
        MigrationError: an applied migration's file changed, or the files are inconsistent.
        psycopg.Error: a migration's SQL failed (nothing of this run is kept).
    """
    todo = load_migrations() if migrations is None else migrations
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(_TABLE)
        applied = dict(conn.execute("SELECT version, sha256 FROM schema_migrations").fetchall())
        for migration in todo:
            if migration.version in applied:
                if applied[migration.version] != migration.sha256:
                    raise MigrationError(
                        f"migration {migration.version} ({migration.name}) changed after it was applied")
                continue
            conn.execute(migration.sql)
            conn.execute("INSERT INTO schema_migrations (version, name, sha256) VALUES (%s, %s, %s)",
                         (migration.version, migration.name, migration.sha256))
            applied_now.append(migration.version)
    return applied_now
