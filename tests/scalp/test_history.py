"""Opt-in history: stored under the data folder, numbers only, keyed by a strong code hashed with a
per-installation secret; every entry records how it was graded, and only same-method checks are compared.
The tests taking ``storage_engine`` run on both engines (local files, PostgreSQL: issue 17)."""

from __future__ import annotations

import hashlib
import json
import math
import stat
from pathlib import Path

import pytest

from core.scalp.analysis import ScalpResult, analyse
from core.scalp.history import (
    CODE_MIN_CHARS,
    CODE_MIN_DISTINCT,
    SECRET_NAME,
    UNKNOWN_VERSION,
    HistoryEntry,
    HistoryError,
    HistoryStore,
    check_code,
    compare,
    new_code,
)
from core.scalp.questionnaire import Questionnaire
from core.scalp.synthetic import Phantom
from core.settings import get_settings

CODE = "violet harbour 47 lantern"
OTHER = "quiet mountain 93 kettle"


@pytest.fixture(scope="module")
def result(phantom: Phantom) -> ScalpResult:
    answers = Questionnaire.from_form({"age_group": "20s", "gender": "other", "shampoo_frequency": "daily",
                                       "perm_cycle": "never", "dye_cycle": "never", "hair_state": ["oily"]})
    return analyse(phantom.rgb, answers)


def entry(grade: int, time: str, source: str = "heuristic", method: str = "heuristic", version: str = "v",
          fov: float | None = None, hair_loss: int | None = 1) -> HistoryEntry:
    return HistoryEntry(time, source, version, {"dandruff": grade}, {"dandruff": grade, "hair_loss": hair_loss},
                        {"hair_count": 20, "field_of_view_mm": fov}, method=method)


def test_entries_are_saved_under_the_data_folder_without_photo_answers_or_code(result: ScalpResult) -> None:
    store = HistoryStore()
    assert store.root == get_settings().data_dir / "scalp" / "history"
    store.add(CODE, result.history_entry())
    store.add(CODE, result.history_entry())
    entries = store.entries(CODE)
    assert len(entries) == 2 and entries[0].final_grades == result.final_grades()
    files = list(store.root.glob("*.jsonl"))
    assert [f.name for f in files] == [f"{store.profile_id(CODE)}.jsonl"]
    raw = files[0].read_text(encoding="utf-8")
    assert CODE not in raw and "lantern" not in raw and "lantern" not in files[0].name
    row = json.loads(raw.splitlines()[0])
    assert set(row) == {"time", "source", "method", "version", "image_grades", "final_grades", "measurements"}
    assert (row["source"], row["method"], row["version"]) == ("heuristic", "heuristic", result.thresholds_version)
    assert all(isinstance(v, int | float | type(None)) for v in row["measurements"].values())
    assert "oily" not in raw and "answers" not in raw


def test_the_file_name_uses_a_per_installation_secret_not_a_fixed_salt(tmp_path: Path) -> None:
    one, two = HistoryStore(tmp_path / "one"), HistoryStore(tmp_path / "two")
    assert one.profile_id(CODE) != two.profile_id(CODE)  # same code, different installations
    assert one.profile_id(CODE) == HistoryStore(tmp_path / "one").profile_id(CODE)  # stable on one server
    secret = tmp_path / "one" / SECRET_NAME
    assert len(bytes.fromhex(secret.read_text().strip())) == 32
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # the old scheme (fixed salt in the source code) no longer names the file
    old = hashlib.pbkdf2_hmac("sha256", CODE.encode(), b"drdeepchest-scalp-history-v1", 20_000).hex()[:32]
    assert one.profile_id(CODE) != old
    # spaces, dashes and letter case do not matter (a generated code may be typed either way)
    code = new_code()
    assert one.profile_id(code) == one.profile_id(code.lower().replace("-", " "))


def test_a_history_under_the_old_fixed_salt_moves_to_the_new_name_once(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    old = hashlib.pbkdf2_hmac("sha256", CODE.encode(), b"drdeepchest-scalp-history-v1", 20_000).hex()[:32]
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / f"{old}.jsonl").write_text(json.dumps(
        {"time": "2025-12-01T10:00:00+00:00", "image_grades": {"dandruff": 2}, "final_grades": {"dandruff": 2},
         "measurements": {"hair_count": 12}}) + "\n", encoding="utf-8")
    entries = store.entries(CODE)
    assert len(entries) == 1 and not (tmp_path / f"{old}.jsonl").exists()
    assert (tmp_path / f"{store.profile_id(CODE)}.jsonl").is_file()


def test_old_entries_read_as_heuristic_with_unknown_version() -> None:
    old = HistoryEntry.from_dict({"time": "t", "image_grades": {"dandruff": 1}, "final_grades": {"dandruff": 1}})
    assert (old.source, old.method, old.version) == ("heuristic", "heuristic", UNKNOWN_VERSION)
    empty = HistoryEntry.from_dict({"time": "t", "source": "heuristic", "version": "", "image_grades": {},
                                    "final_grades": {}})
    assert empty.version == UNKNOWN_VERSION
    model = HistoryEntry.from_dict({"time": "t", "source": "model", "version": "3", "image_grades": {},
                                    "final_grades": {}})
    assert (model.source, model.method, model.version) == ("model", UNKNOWN_VERSION, "3")
    # a later save rewrites the file with the method recorded
    store = HistoryStore()
    store.add(CODE, old)
    row = json.loads((store.root / f"{store.profile_id(CODE)}.jsonl").read_text().splitlines()[0])
    assert (row["source"], row["method"], row["version"]) == ("heuristic", "heuristic", UNKNOWN_VERSION)


def test_codes_keep_histories_apart_and_delete_removes_one(storage_engine: str) -> None:
    store = HistoryStore()
    store.add(CODE, entry(1, "2026-01-01T00:00:00+00:00"))
    store.add(OTHER, entry(2, "2026-01-02T00:00:00+00:00"))
    assert len(store.entries(CODE)) == 1
    assert store.delete(CODE) == 1
    assert store.entries(CODE) == []
    assert len(store.entries(OTHER)) == 1


@pytest.mark.parametrize("weak", [
    "secret", "my-history-code", "1212121212121212", "abababababababababab", "aaaa bbbb cccc dddd",
    "my secret phrase",
])
def test_short_or_repetitive_codes_are_refused_with_a_translated_error(weak: str, storage_engine: str) -> None:
    with pytest.raises(HistoryError) as info:
        HistoryStore().entries(weak)
    assert info.value.key == "scalp.error.history_code_weak"
    assert str(CODE_MIN_CHARS) in info.value.message("ko") and str(CODE_MIN_DISTINCT) in info.value.message("en")
    assert not list(HistoryStore().root.glob("*.jsonl"))


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65])
def test_an_empty_or_overlong_code_is_a_translated_user_error(bad: str, storage_engine: str) -> None:
    with pytest.raises(HistoryError) as info:
        HistoryStore().entries(bad)
    assert info.value.key == "scalp.error.history_code"
    assert "16" in info.value.message("ko") and "64" in info.value.message("en")


def test_entries_round_trip_oldest_first_and_the_oldest_are_dropped_beyond_the_limit(
        storage_engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.scalp.history as history

    store = HistoryStore()
    model = entry(2, "2026-01-01T00:00:00+00:00", source="model", method="scalp-effnetb0-6head", version="1.0",
                  fov=8.5, hair_loss=None)
    assert store.add(CODE, model) == [model]
    assert store.entries(CODE) == [model]  # same grades, None kept, numbers and method as saved
    assert store.entries(code := new_code()) == []
    monkeypatch.setattr(history, "MAX_ENTRIES", 3)
    for n in range(5):
        kept = store.add(CODE, entry(n, f"t{n}"))
    assert [e.time for e in kept] == ["t2", "t3", "t4"] == [e.time for e in store.entries(CODE)]
    assert store.delete(CODE) == 3 and store.entries(CODE) == [] and store.delete(code) == 0
    assert not list(store.root.glob("*.jsonl"))  # the emptied history leaves no file behind


@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_the_postgresql_salt_is_shared_by_replicas_and_the_code_never_stored(storage_engine: str) -> None:
    import subprocess
    import sys

    import psycopg

    from tests.postgres_server import fresh_schema_url

    store = HistoryStore()
    store.add(CODE, entry(1, "a"))
    replica = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from core.scalp.history import "
         "HistoryStore; s = HistoryStore(); print(s.profile_id(sys.argv[2]), len(s.entries(sys.argv[2])))",
         str(Path(__file__).resolve().parents[2]), CODE], capture_output=True, text=True, timeout=120, check=True)
    assert replica.stdout.split() == [store.profile_id(CODE), "1"]  # another process, same salt, same history
    url = str(get_settings().db_url)
    with psycopg.connect(url) as conn:
        (salt,) = conn.execute("SELECT value FROM app_secrets WHERE name = 'scalp_history'").fetchone()
        rows = conn.execute("SELECT profile_id, entry::text FROM scalp_history").fetchall()
        assert len(bytes(salt)) == 32
        assert rows[0][0] == store.profile_id(CODE) and "lantern" not in repr(rows)
        conn.execute("INSERT INTO scalp_history (profile_id, entry) VALUES (%s, '{\"time\": 1}'), (%s, '[1, 2]')",
                     (rows[0][0], rows[0][0]))
    assert len(store.entries(CODE)) == 1  # unreadable rows are skipped, as unreadable lines are
    assert not store.root.exists()  # nothing written to the data folder
    base = url.split("?")[0]
    other = HistoryStore(settings=get_settings({"DRDC_DB_URL": fresh_schema_url(base)}))
    assert other.profile_id(CODE) != store.profile_id(CODE)  # another installation, another salt


def test_generated_codes_are_strong_and_distinct() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 24 and code.count("-") == 4
        assert check_code(code) == code.replace("-", "").casefold()


def test_compare_reports_changes_between_same_method_checks() -> None:
    assert compare([]).latest is None
    single = compare([entry(1, "a")])
    assert single.previous is None and single.changes == ()
    cmp = compare([entry(1, "a"), entry(3, "b")])
    changes = {c.condition: c for c in cmp.changes}
    assert cmp.previous is not None and cmp.previous.time == "a" and cmp.skipped == ()
    assert changes["dandruff"].delta == 2
    assert changes["hair_loss"].delta == 0


def test_compare_never_crosses_grading_methods_or_versions() -> None:
    heuristic = entry(0, "a")
    model = entry(3, "b", source="model", method="scalp-effnetb0-6head", version="1.0")
    cmp = compare([heuristic, model])  # a model installed after a heuristic check: no "worse"
    assert cmp.previous is None and cmp.changes == () and cmp.skipped == (heuristic,)
    # the next model check is compared with the earlier model check, skipping the heuristic one between
    later = entry(2, "d", source="model", method="scalp-effnetb0-6head", version="1.0")
    cmp = compare([model, entry(0, "c"), later])
    assert cmp.previous == model and [e.time for e in cmp.skipped] == ["c"]
    assert {c.condition: c.delta for c in cmp.changes}["dandruff"] == -1
    # another version of the same thresholds, and an old entry of unknown version, are not compared either
    assert compare([entry(0, "a", version="heuristic-2025.9"), entry(2, "b")]).previous is None
    unknown = HistoryEntry.from_dict({"time": "a", "image_grades": {}, "final_grades": {"dandruff": 0}})
    assert compare([unknown, entry(2, "b")]).previous is None


def test_hair_loss_is_not_compared_between_checks_with_and_without_the_field_of_view() -> None:
    cmp = compare([entry(1, "a", fov=None, hair_loss=1), entry(1, "b", fov=8.0, hair_loss=3)])
    hair = next(c for c in cmp.changes if c.condition == "hair_loss")
    assert hair.delta is None and hair.reason_key == "scalp.history.not_compared_fov"
    assert next(c for c in cmp.changes if c.condition == "dandruff").delta == 0
    both = compare([entry(1, "a", fov=8.0, hair_loss=1), entry(1, "b", fov=10.0, hair_loss=3)])
    assert next(c for c in both.changes if c.condition == "hair_loss").delta == 2


def test_a_model_result_records_its_name_and_version(result: ScalpResult) -> None:
    from dataclasses import replace

    model = replace(result, source="model", model_name="scalp-effnetb0-6head", model_version="2.1")
    e = model.history_entry()
    assert (e.source, e.method, e.version) == ("model", "scalp-effnetb0-6head", "2.1")
    assert e.grading != result.history_entry().grading


def test_unreadable_lines_are_skipped() -> None:
    store = HistoryStore()
    store.add(CODE, entry(0, "t0"))
    path = store.root / f"{store.profile_id(CODE)}.jsonl"
    path.write_text(path.read_text() + "not json\n{\"time\": 1}\n[1, 2]\n")
    assert len(store.entries(CODE)) == 1


def test_a_damaged_secret_is_an_error_not_silently_replaced(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.add(CODE, entry(1, "a"))
    (tmp_path / SECRET_NAME).write_text("abcd\n")
    with pytest.raises(OSError):
        store.entries(CODE)
    assert (tmp_path / SECRET_NAME).read_text() == "abcd\n"


# A writer process for the concurrency test: saves ``n`` entries tagged with its number and
# prints how many saves returned (were acknowledged).
_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from core.scalp.history import HistoryEntry, HistoryStore
root, code, who, n = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
store = HistoryStore(None if root == "-" else Path(root))  # "-": the engine DRDC_DB_URL picks
store.profile_id(code)  # derive the file name once, before the race starts
Path(sys.argv[6]).touch()
while not Path(sys.argv[7]).exists():
    pass
acked = 0
for i in range(n):
    store.add(code, HistoryEntry(f"{who}-{i}", "heuristic", "v", {"dandruff": 1}, {"dandruff": 1}, {}))
    acked += 1
print(acked)
"""


@pytest.mark.slow
def test_concurrent_writers_lose_no_acknowledged_save(tmp_path: Path, storage_engine: str) -> None:
    """Issue 16 reproducer: 8 processes x 50 saves on one code kept 30 of 373 before the lock."""
    import subprocess
    import sys
    import time

    root = tmp_path / "history"
    files = storage_engine == "files"
    store = HistoryStore(root) if files else HistoryStore()
    store.profile_id(CODE)  # the secret exists before the writers start
    go = tmp_path / "go"
    procs, ready = [], []
    project = str(Path(__file__).resolve().parents[2])
    for who in range(8):
        flag = tmp_path / f"ready-{who}"
        ready.append(flag)
        procs.append(subprocess.Popen(
            [sys.executable, "-c", _WRITER, project, str(root) if files else "-", CODE, f"w{who}", "50", str(flag),
             str(go)],
            stdout=subprocess.PIPE, text=True,
        ))
    deadline = time.monotonic() + 120
    while not all(f.exists() for f in ready) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # all writers start together
    acked = 0
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        acked += int(out.strip())
    kept = {e.time for e in store.entries(CODE)}
    assert acked == 400
    assert kept == {f"w{who}-{i}" for who in range(8) for i in range(50)}  # 0 lost
    assert not list(root.glob("*.tmp"))  # no temporary file left behind


def test_a_writer_killed_mid_save_leaves_the_previous_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.scalp.history as history

    store = HistoryStore(tmp_path)
    store.add(CODE, entry(1, "first"))

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(history.os, "replace", crash)
    with pytest.raises(OSError):
        store.add(CODE, entry(2, "second"))
    monkeypatch.undo()
    assert [e.time for e in store.entries(CODE)] == ["first"]
    assert not list(tmp_path.glob("*.tmp"))


def test_the_code_marker_is_one_for_every_spelling_and_never_the_code() -> None:
    from core.scalp.history import code_marker

    code = "7K2Q-XM9D-PL4R-ZT8W"
    marker = code_marker(code)
    assert marker == code_marker("7k2q xm9d pl4r zt8w") == code_marker(" 7K2QXM9DPL4RZT8W ")
    assert marker != code_marker("7K2Q-XM9D-PL4R-ZT8X") and code.lower().replace("-", "") not in marker


# --- stored values that once crashed the history page (hardening review of issue 16) ------------
PLANTED = [  # (raw JSON text of one stored entry, what it reads as: final dandruff grade or "skipped")
    ('{"time": "t1", "image_grades": {"dandruff": 1e400}, "final_grades": {"dandruff": 1e400}}', None),
    ('{"time": "t2", "image_grades": {"dandruff": 7}, "final_grades": {"dandruff": 7}}', 3),
    ('{"time": "t3", "image_grades": {"dandruff": -2}, "final_grades": {"dandruff": -2.5}}', 0),
    ('{"time": "t4", "image_grades": {}, "final_grades": {"dandruff": 2}, '
     '"measurements": {"hair_count": 1e400, "hair_coverage": -1e400, "hair_width_px": 3.5}}', 2),
]


def _assert_readable(entries: list[HistoryEntry]) -> None:
    from core.scalp.texts import grade_label

    for e in entries:
        for grades in (e.image_grades, e.final_grades):
            assert all(g is None or (isinstance(g, int) and 0 <= g <= 3) for g in grades.values()), grades
            for g in grades.values():
                grade_label(g, "en")
        assert all(v is None or math.isfinite(v) for v in e.measurements.values()), e.measurements
    compare(entries)


def test_a_hand_corrupted_history_file_reads_and_saves_without_crashing() -> None:
    """Infinity, NaN and out-of-range grades, and bytes that are not UTF-8, in the stored file: the
    history still reads (grades clamped to 0..3, non-finite ones read as not graded, non-finite
    measurements dropped) and the next save writes strict JSON."""
    store = HistoryStore()
    store.add(CODE, entry(1, "t0"))
    path = store.root / f"{store.profile_id(CODE)}.jsonl"
    raw = path.read_bytes() + b"".join(text.encode() + b"\n" for text, _ in PLANTED)
    raw += b'{"time": "t5", "image_grades": {"dandruff": Infinity}, "final_grades": {"dandruff": NaN}}\n'
    raw += b'{"time": "t6 \xff\xfe\xc3", "image_grades": {}, "final_grades": {"dandruff": 1}}\n'  # not UTF-8
    raw += b'\xff\xfe garbage \x80\n'
    path.write_bytes(raw)
    got = store.entries(CODE)
    _assert_readable(got)
    by_time = {e.time[:2]: e for e in got}
    assert [e.time[:2] for e in got] == ["t0", "t1", "t2", "t3", "t4", "t5", "t6"]
    for n, (_, grade) in enumerate(PLANTED, start=1):
        assert by_time[f"t{n}"].final_grades["dandruff"] == grade
    assert by_time["t5"].final_grades["dandruff"] is None and by_time["t5"].image_grades["dandruff"] is None
    assert by_time["t4"].measurements == {"hair_width_px": 3.5}
    kept = store.add(CODE, entry(2, "t7"))
    _assert_readable(kept)
    for line in path.read_text(encoding="utf-8").splitlines():  # strict JSON: no NaN / Infinity tokens
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} written to the history"))


def test_a_result_with_nan_or_infinite_values_saves_on_both_engines(storage_engine: str) -> None:
    """PostgreSQL's ``jsonb`` refuses NaN and Infinity: they are dropped before the entry is written
    (and a non-finite grade is stored as not graded), on both engines alike."""
    store = HistoryStore()
    bad = HistoryEntry("t0", "heuristic", "v", {"dandruff": float("nan"), "redness": 9},
                       {"dandruff": float("inf"), "redness": 2},
                       {"hair_count": float("nan"), "hair_coverage": float("inf"), "hair_width_px": 4.0})
    saved = store.add(CODE, bad)
    assert saved == store.entries(CODE)
    (got,) = store.entries(CODE)
    assert got.image_grades == {"dandruff": None, "redness": 3}
    assert got.final_grades == {"dandruff": None, "redness": 2}
    assert got.measurements == {"hair_width_px": 4.0}
    _assert_readable([got])


@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_a_huge_number_stored_in_postgresql_reads_as_a_clamped_grade(storage_engine: str) -> None:
    """``jsonb`` keeps 1e400 exactly; Python reads it as infinity: the row still reads."""
    from core.storage import postgres

    store = HistoryStore()
    store.add(CODE, entry(1, "t0"))
    with postgres.transaction(get_settings()) as conn:
        for text, _ in PLANTED:
            conn.execute("INSERT INTO scalp_history (profile_id, entry) VALUES (%s, %s::jsonb)",
                         (store.profile_id(CODE), text))
    got = store.entries(CODE)
    _assert_readable(got)
    assert [e.final_grades["dandruff"] for e in got] == [1, *(grade for _, grade in PLANTED)]


def test_a_save_syncs_the_file_and_then_its_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Power-loss durability on POSIX: the new file's bytes, then the rename (the folder's entry)."""
    import os

    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    HistoryStore().add(CODE, entry(1, "t0"))
    assert synced[-2:] == ["file", "folder"], synced
