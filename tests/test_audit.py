"""The audit trail's storage: size rotation, every line parseable after a crashed writer, and a
count that does not scan the trail (issue 16). Field rules are tested in tests/chest. The tests
taking ``storage_engine`` run on both engines (local files, PostgreSQL: issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import audit, audit_pg
from core.settings import get_settings

SHA = "a" * 64


def _rec(n: int) -> dict[str, object]:
    return {"feature": "chest", "input_sha256": SHA, "preset": f"p{n}", "n_positive": n}


def _presets() -> list[str]:
    return [r["preset"] for r in audit.read()]


def test_the_log_rotates_by_size_and_reads_every_kept_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "MAX_BYTES", 1000)
    monkeypatch.setattr(audit, "KEEP", 3)
    path = audit.audit_path()
    for n in range(6):
        audit.record(_rec(n))
    assert path.stat().st_size <= 1000
    assert audit._rotated(path, 1).is_file()
    assert _presets() == [f"p{n}" for n in range(6)]  # oldest first, across files
    assert audit.count() == 6
    for n in range(6, 40):
        audit.record(_rec(n))
    files = [path, *(audit._rotated(path, n) for n in range(1, 4))]
    assert all(f.is_file() and f.stat().st_size <= 1000 for f in files)
    assert not audit._rotated(path, 4).exists()  # beyond KEEP: removed
    kept = _presets()
    assert kept == [f"p{n}" for n in range(40 - len(kept), 40)]  # the newest, in order
    assert audit.count() == len(kept) < 40


def test_a_fragment_left_by_a_crashed_writer_never_breaks_a_line() -> None:
    audit.record(_rec(0))
    path = audit.audit_path()
    with path.open("ab") as fh:  # a writer killed mid-write: half a record, no newline
        fh.write(b'{"feature": "chest", "input_sha2')
    assert _presets() == ["p0"]  # readers skip the truncated last line
    assert audit.count() == 1
    audit.record(_rec(1))
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.splitlines()
    assert len(lines) == 2  # the torn record (never acknowledged) was cut off, not kept as a line
    assert [json.loads(line)["preset"] for line in lines] == ["p0", "p1"]  # every line parses
    assert _presets() == ["p0", "p1"]
    assert audit.count() == 2
    assert len(audit.export_jsonl().splitlines()) == 2


def test_a_trail_that_is_only_a_torn_fragment_is_cut_to_nothing_before_the_append() -> None:
    path = audit.audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"feature": "chest", "pre' * 20000)  # one long torn write, no newline at all
    audit.record(_rec(7))
    lines = path.read_bytes().splitlines()
    assert [json.loads(line)["preset"] for line in lines] == ["p7"]
    assert audit.count() == 1


def test_count_reads_a_small_state_not_the_trail(monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(5):
        audit.record(_rec(n))

    def no_scan(*_args: object) -> None:
        raise AssertionError("count() scanned the trail")

    monkeypatch.setattr(audit, "_count_lines", no_scan)
    monkeypatch.setattr(audit, "read", no_scan)
    assert audit.count() == 5


def test_count_recovers_a_lost_state_and_lines_appended_behind_its_back() -> None:
    for n in range(3):
        audit.record(_rec(n))
    path = audit.audit_path()
    with path.open("a", encoding="utf-8") as fh:  # a writer died between its append and the state update
        fh.write(json.dumps({"feature": "chest", "preset": "x"}) + "\n")
    assert audit.count() == 4
    audit._state_path(path).write_text("{not json", encoding="utf-8")
    assert audit.count() == 4
    audit._state_path(path).unlink()
    assert audit.count() == 4
    audit.record(_rec(9))
    assert audit.count() == 5 == len(list(audit.read()))


def test_no_trail_counts_zero_and_creates_nothing(storage_engine: str) -> None:
    assert audit.count() == 0 and list(audit.read()) == []
    assert not audit.audit_path().parent.exists()


def test_records_read_back_oldest_first_and_export_alike_on_either_engine(storage_engine: str) -> None:
    stored = [
        audit.record({"feature": "chest", "input_sha256": SHA, "model_name": "densenet121-res224-all",
                      "model_version": "1.0", "model_sha256": "c" * 64, "test_model": 0, "preset": "balanced",
                      "operating_point": 0.123456, "gate_decision": "accepted", "gate_issues": ["rotated", "dark"],
                      "overridden": 1, "n_positive": "2", "n_uncertain": 1}),
        audit.record({"feature": "scalp", "input_sha256": "d" * 64, "gate_decision": "blocked", "gate_issues": []}),
        audit.record(_rec(3)),
    ]
    assert stored[0]["operating_point"] == 0.1235 and stored[0]["overridden"] is True
    assert list(audit.read()) == stored  # same values and types, oldest first, absent fields left out
    assert audit.count() == 3
    assert audit.export_jsonl().decode().splitlines() == [json.dumps(r, ensure_ascii=False, sort_keys=True)
                                                         for r in stored]
    lines = audit.export_csv().decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(audit.FIELDS) and len(lines) == 4 and "rotated;dark" in lines[1]


def test_fields_outside_the_allow_list_store_nothing_on_either_engine(storage_engine: str) -> None:
    with pytest.raises(audit.AuditError):
        audit.record({"feature": "chest", "patient_name": "Hong Gildong"})
    with pytest.raises(audit.AuditError):
        audit.record({"feature": "chest", "input_sha256": "not-a-checksum"})
    with pytest.raises(audit.AuditError):
        audit.record({"feature": "chest", "preset": "x; DROP TABLE audit_analyses"})
    assert audit.count() == 0 and list(audit.read()) == []


def test_the_postgresql_columns_are_the_allow_listed_fields() -> None:
    assert audit_pg.COLUMNS == audit.FIELDS


@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_the_postgresql_trail_is_append_only_and_counted_without_a_scan(storage_engine: str) -> None:
    import psycopg

    for n in range(3):
        audit.record(_rec(n))
    url = str(get_settings().db_url)
    for statement in ("UPDATE audit_analyses SET preset = 'x'", "DELETE FROM audit_analyses",
                      "TRUNCATE audit_analyses"):
        with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(statement)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM audit_analyses").fetchone()[0] == 3
        conn.execute("UPDATE audit_count SET n = 41")  # the count reads this row, it does not scan the table
    assert audit.count() == 41
    audit.record(_rec(3))  # the trigger keeps counting from there
    assert audit.count() == 42
    assert _presets() == ["p0", "p1", "p2", "p3"]


_WRITER = """
import sys
sys.path.insert(0, sys.argv[1])
from core import audit, audit_pg
from core.settings import get_settings
audit.MAX_BYTES = 4000
for i in range(int(sys.argv[3])):
    audit.record({"feature": "chest", "input_sha256": "b" * 64, "preset": f"{sys.argv[2]}-{i}"})
"""


def test_concurrent_writers_with_rotation_lose_no_record(storage_engine: str) -> None:
    project = str(Path(__file__).resolve().parents[1])
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, project, f"w{w}", "60"]) for w in range(4)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    expected = {f"w{w}-{i}" for w in range(4) for i in range(60)}
    assert set(_presets()) == expected and len(_presets()) == 240  # 4000-byte files, KEEP 20 hold them all
    assert audit.count() == 240
    if storage_engine != "files":
        return
    path = audit.audit_path()
    assert audit._rotated(path, 5).is_file()  # it did rotate under contention
    for file in [path, *path.parent.glob("analyses.jsonl.*[0-9]")]:
        for line in file.read_bytes().splitlines():
            json.loads(line)  # every line parses


def test_record_once_writes_a_key_once_and_tries_again_after_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: set = set()
    assert audit.record_once(_rec(1), ("img", "balanced"), recorded) is True
    assert audit.record_once(_rec(1), ("img", "balanced"), recorded) is False  # a rerun of the page
    assert audit.record_once(_rec(2), ("img", "sensitive"), recorded) is True
    assert _presets() == ["p1", "p2"] and recorded == {("img", "balanced"), ("img", "sensitive")}
    assert audit.record_once({"file_name": "x.png"}, "bad", recorded) is False  # refused field: never raises
    with monkeypatch.context() as m:  # an unwritable data folder
        m.setattr(audit, "record", lambda fields, settings=None: (_ for _ in ()).throw(PermissionError("ro")))
        assert audit.record_once(_rec(3), "later", recorded) is False and "later" not in recorded
    assert audit.record_once(_rec(3), "later", recorded) is True and _presets() == ["p1", "p2", "p3"]
