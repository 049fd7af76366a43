"""Opt-in local history: stored under the data folder, numbers only, keyed by a hashed code."""

from __future__ import annotations

import json

import pytest

from core.scalp.analysis import ScalpResult, analyse
from core.scalp.history import HistoryEntry, HistoryError, HistoryStore, compare, profile_id
from core.scalp.questionnaire import Questionnaire
from core.scalp.synthetic import Phantom
from core.settings import get_settings

CODE = "my secret phrase"


@pytest.fixture(scope="module")
def result(phantom: Phantom) -> ScalpResult:
    answers = Questionnaire.from_form({"age_group": "20s", "gender": "other", "shampoo_frequency": "daily",
                                       "perm_cycle": "never", "dye_cycle": "never", "hair_state": ["oily"]})
    return analyse(phantom.rgb, answers)


def entry(grade: int, time: str) -> HistoryEntry:
    return HistoryEntry(time, "heuristic", "v", {"dandruff": grade}, {"dandruff": grade, "hair_loss": 1},
                        {"hair_count": 20})


def test_entries_are_saved_under_the_data_folder_without_photo_answers_or_code(result: ScalpResult) -> None:
    store = HistoryStore()
    assert store.root == get_settings().data_dir / "scalp" / "history"
    store.add(CODE, result.history_entry())
    store.add(CODE, result.history_entry())
    entries = store.entries(CODE)
    assert len(entries) == 2 and entries[0].final_grades == result.final_grades()
    files = list(store.root.glob("*.jsonl"))
    assert [f.name for f in files] == [f"{profile_id(CODE)}.jsonl"]
    raw = files[0].read_text(encoding="utf-8")
    assert CODE not in raw and CODE.replace(" ", "") not in files[0].name
    row = json.loads(raw.splitlines()[0])
    assert set(row) == {"time", "source", "version", "image_grades", "final_grades", "measurements"}
    assert all(isinstance(v, int | float | type(None)) for v in row["measurements"].values())
    assert "oily" not in raw and "answers" not in raw


def test_codes_keep_histories_apart_and_delete_removes_one() -> None:
    store = HistoryStore()
    store.add("first-code", entry(1, "2026-01-01T00:00:00+00:00"))
    store.add("second-code", entry(2, "2026-01-02T00:00:00+00:00"))
    assert len(store.entries("first-code")) == 1
    assert store.delete("first-code") == 1
    assert store.entries("first-code") == []
    assert len(store.entries("second-code")) == 1


@pytest.mark.parametrize("bad", ["", "short", "x" * 65])
def test_a_bad_code_is_a_translated_user_error(bad: str) -> None:
    with pytest.raises(HistoryError) as info:
        HistoryStore().entries(bad)
    assert "6" in info.value.message("ko") and "64" in info.value.message("en")


def test_compare_reports_changes_between_the_last_two() -> None:
    assert compare([entry(1, "a")]) == []
    changes = {c.condition: c for c in compare([entry(1, "a"), entry(3, "b")])}
    assert changes["dandruff"].delta == 2
    assert changes["hair_loss"].delta == 0


def test_unreadable_lines_are_skipped() -> None:
    store = HistoryStore()
    store.add(CODE, entry(0, "t0"))
    path = store.root / f"{profile_id(CODE)}.jsonl"
    path.write_text(path.read_text() + "not json\n{\"time\": 1}\n")
    assert len(store.entries(CODE)) == 1
