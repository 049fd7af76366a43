"""The audit trail's PostgreSQL engine (``DRDC_DB_URL=postgresql://...``; see :mod:`core.audit`).

Table ``audit_analyses`` (``core/storage/sql/0001_audit.sql``): one column per allow-listed field,
append-only (triggers refuse UPDATE, DELETE and TRUNCATE), read oldest first by its identity
column; ``audit_count`` holds the number of rows, kept by a trigger in the inserting transaction,
so :func:`count` reads one row. Records are validated by :func:`core.audit.record` before they get
here; the time is stored as ``timestamptz`` and read back in the file engine's form
(``2026-01-01T09:00:00+00:00``), so both engines export the same lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from core.settings import Settings
from core.storage import postgres

#: the table's columns, in core.audit.FIELDS order (a test holds them equal)
COLUMNS: tuple[str, ...] = (
    "time", "feature", "input_sha256", "model_name", "model_version", "model_sha256",
    "test_model", "preset", "operating_point", "gate_decision", "gate_issues", "overridden",
    "n_positive", "n_uncertain", "app_version",
)
_INSERT = (
    'INSERT INTO audit_analyses ("time", feature, input_sha256, model_name, model_version, model_sha256, '
    "test_model, preset, operating_point, gate_decision, gate_issues, overridden, n_positive, n_uncertain, "
    "app_version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_SELECT = (
    'SELECT "time", feature, input_sha256, model_name, model_version, model_sha256, test_model, preset, '
    "operating_point, gate_decision, gate_issues, overridden, n_positive, n_uncertain, app_version "
    "FROM audit_analyses ORDER BY id"
)
_BATCH = 2000


def append(row: dict[str, Any], settings: Settings | None = None) -> None:
    """Insert one validated record (fields not in ``row`` are stored as NULL).

    Raises:
        StorageUnavailableError: the database cannot be reached.
        StorageConfigError: the driver is missing.
    """
    with postgres.transaction(settings) as conn:
        conn.execute(_INSERT, tuple(row.get(name) for name in COLUMNS))


def read(settings: Settings | None = None) -> Iterator[dict[str, Any]]:
    """Every record, oldest first, as the file engine stores it (absent fields left out).

    Raises:
        StorageUnavailableError: the database cannot be reached.
    """
    with postgres.transaction(settings) as conn, conn.cursor(name="audit_export") as cursor:
        cursor.itersize = _BATCH  # server-side cursor: a large trail is read in batches
        cursor.execute(_SELECT)
        for values in cursor:
            yield _record(values)


def _record(values: tuple[Any, ...]) -> dict[str, Any]:
    row = {name: value for name, value in zip(COLUMNS, values, strict=True) if value is not None}
    when = row["time"]
    if isinstance(when, datetime):
        row["time"] = when.astimezone(UTC).isoformat(timespec="seconds")
    return row


def count(settings: Settings | None = None) -> int:
    """How many records the trail holds (one counter row, not a scan).

    Raises:
        StorageUnavailableError: the database cannot be reached.
    """
    with postgres.transaction(settings) as conn:
        return int(conn.execute("SELECT n FROM audit_count").fetchone()[0])
