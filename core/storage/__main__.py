"""``python -m core.storage migrate``: bring the PostgreSQL schema of ``DRDC_DB_URL`` up to date
(each process also does it when it first connects); ``status`` lists the applied migrations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.settings import get_settings
from core.storage import POSTGRESQL, StorageConfigError, engine
from core.storage.migrations import apply_migrations, load_migrations
from core.storage.postgres import driver


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (2 when ``DRDC_DB_URL`` does not name PostgreSQL).

    Raises:
        StorageConfigError: the driver is not installed.
        psycopg.Error: the server cannot be reached or a migration failed.
    """
    parser = argparse.ArgumentParser(prog="python -m core.storage", description=__doc__)
    parser.add_argument("command", choices=("migrate", "status"))
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        chosen = engine(settings)
    except StorageConfigError as err:
        print(err, file=sys.stderr)
        return 2
    if chosen != POSTGRESQL:
        print("DRDC_DB_URL is not set: the app keeps its records in local files (nothing to migrate).",
              file=sys.stderr)
        return 2
    psycopg, _ = driver()
    with psycopg.connect(str(settings.db_url)) as conn:
        if args.command == "migrate":
            done = apply_migrations(conn)
            print(f"applied {len(done)} migration(s): {done}" if done else "schema is up to date")
        else:
            applied = dict(conn.execute(
                "SELECT version, applied_at FROM schema_migrations ORDER BY version").fetchall()) \
                if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] else {}
            for m in load_migrations():
                print(f"{m.version:04d} {m.name}: {applied.get(m.version, 'not applied')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
