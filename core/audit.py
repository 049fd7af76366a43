"""Audit trail of analyses: append-only JSON Lines under ``settings.data_dir/audit/``.

Each line records *that* an analysis happened and with what: time (UTC), feature, SHA-256 of the
input bytes, model name / version / file checksum, operating point, gate decision and counts.
Never pixels, file names or patient data: :func:`record` keeps only allow-listed fields with plain
values, so a caller cannot log something else by mistake.

A site exports the trail with ``python -m core.audit export [--format csv|jsonl] [--out FILE]`` or
from the chest page.

Two engines (:mod:`core.storage`): with ``DRDC_DB_URL`` unset, the local files described below;
with a PostgreSQL URL, an append-only table shared by every replica (:mod:`core.audit_pg`).
Validation, the allow-list and the exports are the same for both.

File engine: the current file ``analyses.jsonl`` rotates by size: once appending a line would take it
past :data:`MAX_BYTES` (10 MB, about 25,000 records), it becomes ``analyses.jsonl.1`` (older ones
move up to ``.2`` ... ``.{KEEP}``; the oldest beyond :data:`KEEP` is removed) and a new current file
starts. Readers and exports read every kept file, oldest first.

Every line parses: a record is appended with one ``O_APPEND`` write under an exclusive ``flock``
(which also serialises rotation), and a writer first cuts off any unterminated fragment a crashed
writer left (truncating back to the last newline: that record was never acknowledged), so a new
record is never glued to a broken one and no broken line stays in the file; readers still skip a
line that does not parse (a fragment a reader meets before the next append).

:func:`count` does not scan the trail. A small state file (``analyses.count.json``, rewritten
atomically under the lock) holds the records per kept file and how many bytes of the current file
are counted; :func:`count` adds only lines appended past that offset (none, unless a writer died
between its append and the state update), so it costs a stat and a tiny read: about 0.05 ms at
500,000 records, where the full scan took 1.8 s (``python -m bench audit``). A missing or damaged
state file is rebuilt by one full scan.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import secrets
import sys
from collections.abc import Hashable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import audit_pg
from core.settings import Settings, get_settings
from core.storage import is_postgres

FIELDS: tuple[str, ...] = (
    "time", "feature", "input_sha256", "model_name", "model_version", "model_sha256",
    "test_model", "preset", "operating_point", "gate_decision", "gate_issues", "overridden",
    "n_positive", "n_uncertain", "app_version",
)
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9 ._:+,/()-]{0,200}$")
APP_VERSION = "0.1.0"
#: the current file rotates once appending would take it past this size
MAX_BYTES = 10 * 1024 * 1024
#: rotated files kept (``analyses.jsonl.1`` newest ... ``analyses.jsonl.{KEEP}`` oldest)
KEEP = 20
_SCAN_CHUNK = 1 << 20

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: O_APPEND still appends whole lines
    fcntl = None  # type: ignore[assignment]


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
        OSError: the data folder is not writable, or the database cannot be reached
            (``core.storage.StorageUnavailableError``).
        core.storage.StorageConfigError: ``DRDC_DB_URL`` is not usable (bad URL, no driver).
    """
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise AuditError(f"fields not allowed in the audit trail: {sorted(unknown)}")
    row = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "app_version": APP_VERSION}
    for name in FIELDS:
        if name in fields:
            row[name] = _clean(name, fields[name])
    if is_postgres(settings):
        audit_pg.append(row, settings)
        return row
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    with _locked(path):
        state = _synced_state(path)
        _cut_torn_tail(path)
        size = _size(path)
        if size and size + len(line) > MAX_BYTES:
            _rotate(path, state)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            _write_all(fd, line)
            end = os.fstat(fd).st_size
        finally:
            os.close(fd)
        state["size"], state["count"] = end, state["count"] + 1
        _save_state(path, state)
    return row


def record_once(fields: dict[str, Any], key: Hashable, recorded: set[Any], settings: Settings | None = None) -> bool:
    """Append ``fields`` unless ``key`` is in ``recorded`` (the keys this session already wrote: a page
    reruns on every click, an analysis is recorded once); add ``key`` once written. Returns whether a
    record was written.

    Never raises for an unwritable trail or a refused field (returns False, ``key`` stays unrecorded so
    a later run tries again): the analysis is still shown, and a site notices an unwritable data
    folder in its logs.
    """
    if key in recorded:
        return False
    try:
        record(fields, settings)
    except (OSError, AuditError):
        return False
    recorded.add(key)
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _cut_torn_tail(path: Path) -> None:
    """Cut the current file back to just after its last newline (caller holds the lock).

    A writer killed mid-write leaves a fragment without its newline; that record was never
    acknowledged (``record`` had not returned), so it is dropped rather than kept as an
    unparseable line: every line of the trail parses.

    Raises:
        OSError: the file cannot be read or truncated.
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        end = os.fstat(fd).st_size
        cut = end
        while cut > 0:
            start = max(0, cut - _SCAN_CHUNK)
            newline = os.pread(fd, cut - start, start).rfind(b"\n")
            if newline >= 0:
                cut = start + newline + 1
                break
            cut = start
        if cut < end:
            os.ftruncate(fd, cut)
    finally:
        os.close(fd)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the trail (``analyses.jsonl.lock``) for appends, rotation and the state."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _rotated(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.{n}")


def _state_path(path: Path) -> Path:
    return path.with_name(path.stem + ".count.json")


def _rotate(path: Path, state: dict[str, Any]) -> None:
    """current -> .1, .1 -> .2, ...; the file beyond KEEP is removed (caller holds the lock)."""
    _rotated(path, KEEP).unlink(missing_ok=True)
    for n in range(KEEP - 1, 0, -1):
        if _rotated(path, n).exists():
            os.replace(_rotated(path, n), _rotated(path, n + 1))
    os.replace(path, _rotated(path, 1))
    state["rotated"] = [state["count"], *state["rotated"]][:KEEP]
    state["size"], state["count"] = 0, 0
    _save_state(path, state)


def _count_lines(path: Path, start: int = 0) -> tuple[int, int]:
    """(records, end): records parsed in complete lines from byte ``start``, and the offset just
    after the last complete line (a trailing fragment without its newline is left out)."""
    records, offset, carry = 0, start, b""
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return 0, 0
    with fh:
        fh.seek(start)
        while chunk := fh.read(_SCAN_CHUNK):
            lines = (carry + chunk).split(b"\n")
            carry = lines.pop()
            for raw in lines:
                offset += len(raw) + 1
                records += _parses(raw)
    return records, offset


def _parses(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def _load_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(_state_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = (
        isinstance(data, dict)
        and all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool) and data[k] >= 0
                for k in ("size", "count"))
        and isinstance(data.get("rotated"), list)
        and all(isinstance(n, int) and n >= 0 for n in data["rotated"])
    )
    return data if ok else None


def _save_state(path: Path, state: dict[str, Any]) -> None:
    target = _state_path(path)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _rebuild_state(path: Path) -> dict[str, Any]:
    """Count every kept file once (a missing or damaged state file)."""
    rotated = [_count_lines(_rotated(path, n))[0] for n in range(1, KEEP + 1)]  # 0 for a missing file
    count, size = _count_lines(path)
    return {"size": size, "count": count, "rotated": rotated}


def _synced_state(path: Path) -> dict[str, Any]:
    """The state brought up to date with the current file: lines appended past the counted
    offset are counted; a shorter file (replaced by hand) or no state means a full recount."""
    state = _load_state(path)
    size = _size(path)
    if state is None or size < state["size"]:
        state = _rebuild_state(path)
    elif size > state["size"]:
        extra, end = _count_lines(path, state["size"])
        state["count"] += extra
        state["size"] = end
    return state


def read(settings: Settings | None = None) -> Iterator[dict[str, Any]]:
    """Every stored record, oldest first, rotated files included (lines that do not parse,
    such as a truncated last line, are skipped)."""
    if is_postgres(settings):
        yield from audit_pg.read(settings)
        return
    path = audit_path(settings)
    files = [_rotated(path, n) for n in range(KEEP, 0, -1)] + [path]
    for file in files:
        try:
            fh = file.open("rb")
        except FileNotFoundError:
            continue
        with fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except ValueError:  # UnicodeDecodeError included
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
    """How many records the trail holds (every kept file), without scanning it: see the module
    notes (PostgreSQL: one counter row). Equal to ``len(list(read()))``."""
    if is_postgres(settings):
        return audit_pg.count(settings)
    path = audit_path(settings)
    state = _load_state(path)
    size = _size(path)
    if state is None or size < state["size"]:
        if not path.parent.is_dir():
            return 0
        with _locked(path):  # rebuild once and keep it
            state = _synced_state(path)
            _save_state(path, state)
    elif size > state["size"]:  # a writer died between its append and the state update
        state = _synced_state(path)
    return int(state["count"]) + sum(state["rotated"])


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
