"""Audit trail of analyses: append-only JSON Lines under ``settings.data_dir/audit/``.

Each line records *that* an analysis happened and with what: time (UTC), feature, SHA-256 of the
input bytes, model name / version / file checksum, operating point, gate decision and counts.
Never pixels, file names or patient data: :func:`record` keeps only allow-listed fields with plain
values, so a caller cannot log something else by mistake.

A site exports the trail with ``python -m core.audit export [--format csv|jsonl] [--out FILE]`` or
from the chest page.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import Settings, get_settings

FIELDS: tuple[str, ...] = (
    "time", "feature", "input_sha256", "model_name", "model_version", "model_sha256",
    "test_model", "preset", "operating_point", "gate_decision", "gate_issues", "overridden",
    "n_positive", "n_uncertain", "app_version",
)
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9 ._:+,/()-]{0,200}$")
APP_VERSION = "0.1.0"


class AuditError(ValueError):
    """A record holds a field or value the audit trail does not accept."""


def audit_path(settings: Settings | None = None) -> Path:
    """Where the trail lives: ``<data_dir>/audit/analyses.jsonl``."""
    return (settings or get_settings()).data_dir / "audit" / "analyses.jsonl"


def _clean(name: str, value: Any) -> Any:
    if name in ("input_sha256", "model_sha256"):
        if not isinstance(value, str) or not _SHA.match(value):
            raise AuditError(f"{name} must be a lowercase hex SHA-256")
        return value
    if name in ("n_positive", "n_uncertain"):
        return int(value)
    if name == "operating_point":
        return round(float(value), 4)
    if name in ("test_model", "overridden"):
        return bool(value)
    if name == "gate_issues":
        items = [str(v) for v in value]
        if not all(_TOKEN.match(v) for v in items):
            raise AuditError("gate_issues must be short codes")
        return items
    text = str(value)
    if not _TOKEN.match(text):
        raise AuditError(f"{name} must be a short plain value")
    return text


def record(fields: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Append one analysis to the trail and return the stored record.

    Raises:
        AuditError: an unknown field or a value that is not a plain code/number/checksum.
        OSError: the data folder is not writable.
    """
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise AuditError(f"fields not allowed in the audit trail: {sorted(unknown)}")
    row = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "app_version": APP_VERSION}
    for name in FIELDS:
        if name in fields:
            row[name] = _clean(name, fields[name])
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):  # no flock (Windows): O_APPEND still appends whole lines
            pass
        os.write(fd, line)
    finally:
        os.close(fd)
    return row


def read(settings: Settings | None = None) -> Iterator[dict[str, Any]]:
    """Every stored record, oldest first (unreadable lines are skipped)."""
    path = audit_path(settings)
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row


def export_jsonl(settings: Settings | None = None) -> bytes:
    """The trail as JSON Lines bytes."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in read(settings)).encode("utf-8")


def export_csv(settings: Settings | None = None) -> bytes:
    """The trail as CSV bytes (UTF-8 with BOM so spreadsheet programs read Korean correctly)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FIELDS), extrasaction="ignore")
    writer.writeheader()
    for row in read(settings):
        row = dict(row)
        if isinstance(row.get("gate_issues"), list):
            row["gate_issues"] = ";".join(row["gate_issues"])
        writer.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def count(settings: Settings | None = None) -> int:
    return sum(1 for _ in read(settings))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.audit export [--format csv|jsonl] [--out FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m core.audit", description="Export the analysis audit trail.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    exp = sub.add_parser("export")
    exp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    exp.add_argument("--out", default="-")
    args = parser.parse_args(argv)
    data = export_csv() if args.format == "csv" else export_jsonl()
    if args.out == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.out).write_bytes(data)
        print(f"wrote {count()} records to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
