"""A batch of chest films in one session (core.chest.batch): every file becomes a case (a bad one gets its
translated error), everything of a removed file is forgotten, the memory budget drops and revives
files, a refused film offers one fix at a time, the summary rows, and each analysis is audited once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core import audit
from core.chest import batch
from core.chest.gate import GateIssue, GateResult
from core.chest.reading import OperatingPoint
from core.errors import UserError
from core.i18n import t
from core.session_memory import UploadStore

OP = OperatingPoint.of("balanced")
FILM = "cxr/samples/00000001_000.png"


@pytest.fixture(scope="module")
def film(shared_data: Path) -> tuple[str, bytes]:
    return "a.png", (shared_data / FILM).read_bytes()


def test_every_file_is_a_case_and_a_bad_file_gets_its_error(film: tuple[str, bytes]) -> None:
    import hashlib

    cases = batch.load_cases([film, ("bad.pdf", b"%PDF-1.4 not an image")], UploadStore(), opened=None)
    assert [c.name for c in cases] == ["a.png", "bad.pdf"]
    assert cases[0].digest == hashlib.sha256(film[1]).hexdigest()
    assert cases[0].compact is not None and cases[0].error is None and cases[0].image is not None
    assert cases[1].compact is None and isinstance(cases[1].error, UserError) and cases[1].error.message("en")


def test_everything_of_a_removed_file_is_forgotten(film: tuple[str, bytes], shared_data: Path) -> None:
    session = batch.ChestSession()
    other = ("b.png", (shared_data / "cxr" / "samples" / "00027426_000.png").read_bytes())
    a, b = session.open([film, other], opened=None)
    for case in (a, b):
        session.choice(case)["override"] = True
        session.reports[(case.digest, "report")] = "text"
        session.exports[(case.digest, "pdf")] = b"%PDF"
    session.open([film], opened=0)
    assert set(session.choices) == {a.digest}
    assert list(session.reports) == [(a.digest, "report")] and list(session.exports) == [(a.digest, "pdf")]
    assert session.store.pinned == a.digest


def test_the_budget_drops_the_oldest_films_and_an_opened_one_is_decoded_again_once(shared_data: Path) -> None:
    paths = sorted((shared_data / "cxr" / "nih14" / "images").glob("*.png"))[:3]
    files = [(p.name, p.read_bytes()) for p in paths]
    session = batch.ChestSession(store=UploadStore(limit=600 * 1024))  # two 512 x 512 films (257 KiB each) fit
    cases = session.open(files, opened=None)
    results = session.analyse(cases, None, OP)  # no model: the input check only
    dropped = [i for i, c in enumerate(cases) if c.dropped]
    assert 1 <= len(dropped) < 3 and all(results[i] is None for i in dropped)
    assert all(isinstance(results[i], GateResult) for i in range(3) if i not in dropped)
    first = cases[dropped[0]]
    assert session.revive(first) is True and session.revived == first.digest
    assert session.revive(first) is False  # never a rerun loop
    again = session.open(files, opened=dropped[0])
    assert not again[dropped[0]].dropped and again[dropped[0]].compact is not None
    assert session.revive(again[dropped[0]]) is False and session.revived is None


def _gate(*issues: GateIssue, overridden: bool = False) -> GateResult:
    return GateResult(issues=issues, overridden=overridden)


ROTATED = GateIssue("rotated", "refuse", overridable=False, params=(("angle", "90"), ("correction", "270")))
INVERTED = GateIssue("inverted", "refuse")
LATERAL = GateIssue("lateral", "refuse")
NOT_CHEST = GateIssue("not_chest", "refuse", overridable=False)


def test_a_refused_film_offers_one_fix_at_a_time() -> None:
    gate, choice = _gate(ROTATED), {}
    assert batch.next_fix(gate, choice) == "rotate"
    batch.apply_fix("rotate", gate, choice)
    assert choice == {"rotate": 270} and batch.next_fix(gate, choice) == "unavailable"
    gate, choice = _gate(INVERTED), {}
    assert batch.next_fix(gate, choice) == "invert"
    batch.apply_fix("invert", gate, choice)
    assert batch.next_fix(gate, choice) == "override"  # still refused after inversion: analyse anyway
    batch.apply_fix("override", gate, choice)
    assert choice == {"invert": True, "override": True} and batch.next_fix(gate, choice) is None
    assert batch.next_fix(_gate(NOT_CHEST), {}) == "unavailable"
    with pytest.raises(ValueError):
        batch.apply_fix("unavailable", _gate(NOT_CHEST), {})


@pytest.fixture(scope="module")
def analysed(film: tuple[str, bytes], test_model):
    session = batch.ChestSession()
    cases = session.open([film], opened=0)
    return cases[0], session.analyse(cases, test_model, OP)[0]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_summary_row_of_each_kind_of_file(analysed, lang: str) -> None:
    case, result = analysed
    col = {c: t(f"chest.col.{c}", lang) for c in ("index", "file", "gate", "top", "positive", "uncertain")}
    row = batch.summary_row(0, case, result, OP, lang)
    assert row[col["index"]] == 1 and row[col["file"]] == "a.png"
    assert row[col["gate"]] == t(f"chest.gate.decision.{result.gate.decision}", lang)
    counts = result.counts(OP)
    assert (row[col["positive"]], row[col["uncertain"]]) == (str(counts["positive"]), str(counts["uncertain"]))
    assert row[col["top"]].endswith(f"({result.reported_findings[0].probability:.2f})")
    refused = batch.summary_row(1, case, _gate(NOT_CHEST), OP, lang)  # no model: the gate only
    assert refused[col["gate"]] == t("chest.gate.decision.refuse", lang) and refused[col["top"]] == t("chest.summary.not_analysed", lang)
    bad = batch.summary_row(2, replace(case, error=UserError("imaging.error.corrupt", format="PNG")), None, OP, lang)
    assert bad[col["gate"]] == t("chest.summary.error", lang) and col["top"] not in bad
    gone = batch.summary_row(3, replace(case, compact=None, dropped=True), None, OP, lang)
    assert gone[col["gate"]] == t("chest.summary.dropped", lang)


def test_each_analysis_is_audited_once_per_operating_point(film: tuple[str, bytes], test_model) -> None:
    session = batch.ChestSession()
    for op in (OP, OP, OperatingPoint.of("specific")):  # the page reruns on every click
        session.analyse(session.open([film], opened=0), test_model, op)
    assert [r["preset"] for r in audit.read()] == ["balanced", "specific"]


def test_notes_of_what_was_done_and_the_heatmap_views(analysed) -> None:
    case, result = analysed
    assert batch.applied_notes(result) == []
    done = replace(result, inverted_applied=True, rotation_applied=90, gate=replace(result.gate, overridden=True))
    assert batch.applied_notes(done) == ["chest.gate.inverted_applied", "chest.gate.rotated_applied", "chest.gate.override_note"]
    assert batch.applied_notes(_gate(LATERAL, overridden=True)) == ["chest.gate.override_note"]
    film, blended = batch.heatmap_views(result, result.findings[0].index, 0.5, max_px=4096)
    assert film.dtype == np.uint8 and film.shape[:2] == blended.shape[:2] == result.image.pixels.shape[:2]
    small, small_blend = batch.heatmap_views(result, result.findings[0].index, 0.5, max_px=256)
    assert max(small.shape[:2]) == 256 and small_blend.shape[:2] == small.shape[:2]
    with pytest.raises(ValueError):
        batch.heatmap_views(replace(result, prediction=None), 0, 0.5, 4096)


def test_a_report_key_changes_with_each_choice_that_changes_the_text(analysed) -> None:
    case, result = analysed
    key = batch.report_key(case, result, OP, "ko", "structured")
    assert key[0] == case.digest and key[1] == result.model.sha256
    others = [batch.report_key(case, result, OperatingPoint.of("specific"), "ko", "structured"),
              batch.report_key(case, result, OP, "en", "structured"), batch.report_key(case, result, OP, "ko", "gemma"),
              batch.report_key(case, replace(result, rotation_applied=90), OP, "ko", "structured")]
    assert len({key, *others}) == 5


class _ScreeningModel:
    """Stands in for the pneumonia screening model: a fixed score, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, image):  # noqa: ANN001, ANN201
        from types import SimpleNamespace

        from core.chest.screening import SCREENING_NAME

        self.calls += 1
        return SimpleNamespace(probabilities=np.array([0.7]),
                               model=SimpleNamespace(name=SCREENING_NAME, title="T", version="v", sha256="b" * 64))


def test_the_screening_is_kept_per_choice_and_operating_point(analysed) -> None:
    case, result = analysed
    session, model = batch.ChestSession(), _ScreeningModel()
    assert session.screening(case, result, None, OP) is None  # no screening model installed
    first = session.screening(case, result, model, OP)
    assert first is not None and first.probability == 0.7 and first.status == OP.status(0.7)
    assert session.screening(case, result, model, OP) is first and model.calls == 1  # a rerun reuses it
    specific = session.screening(case, result, model, OperatingPoint.of("specific"))
    # another operating point reads the kept score again: no second pass
    assert model.calls == 1 and specific is not None and specific.status == OperatingPoint.of("specific").status(0.7)
    sensitive = session.screening(case, result, model, OperatingPoint.of("sensitive"))
    assert model.calls == 1 and sensitive is not None and sensitive.status == OperatingPoint.of("sensitive").status(0.7)
    assert session.screening(case, replace(result, rotation_applied=90), model, OP) is not first  # another choice
    assert model.calls == 2


def test_a_new_film_is_screened_in_its_analysis_slot_and_queues_once(
    film: tuple[str, bytes], test_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load every film waits in the one first-come queue: the screening pass runs inside the
    analysis's own slot, so a film takes one slot, not two (the second wait was behind everyone else)."""
    from core import slots

    pool = slots.FairSlots(1)
    monkeypatch.setattr(slots, "_POOL", pool)
    session, model = batch.ChestSession(), _ScreeningModel()
    cases = session.open([film], opened=0)
    result = session.analyse(cases, test_model, OP, screening_model=model)[0]
    assert pool.stats().served == 1 and model.calls == 1
    screened = session.screening(cases[0], result, model, OP)
    assert screened is not None and screened.probability == 0.7 and screened.status == OP.status(0.7)
    assert pool.stats().served == 1 and model.calls == 1  # read from the store: no slot, no pass
    session.analyse(cases, test_model, OP, screening_model=model)  # a rerun: nothing runs again
    assert pool.stats().served == 1 and model.calls == 1


class _BrokenScreening(_ScreeningModel):
    def predict(self, image):  # noqa: ANN001, ANN201
        self.calls += 1
        raise RuntimeError("damaged screening weights")


def test_a_failing_screening_pass_does_not_cost_the_films_findings(film: tuple[str, bytes], test_model) -> None:
    """The screening runs in the analysis's slot for speed only: if it fails there, the findings are
    kept and the screening is tried again where the page asks for it (and fails there, visibly)."""
    session, broken = batch.ChestSession(), _BrokenScreening()
    cases = session.open([film], opened=0)
    result = session.analyse(cases, test_model, OP, screening_model=broken)[0]
    assert result.analysed and broken.calls == 1
    with pytest.raises(RuntimeError, match="damaged"):
        session.screening(cases[0], result, broken, OP)
    assert broken.calls == 2


def test_a_film_waits_for_a_free_analysis_slot_and_is_told_its_place(
    film: tuple[str, bytes], test_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the process's one slot held by someone else's analysis, this session's film waits (told it
    is next), runs as soon as the slot is free, and a kept result never waits again."""
    import threading

    from core import slots

    pool = slots.FairSlots(1)
    monkeypatch.setattr(slots, "_POOL", pool)
    session = batch.ChestSession()
    cases = session.open([film], opened=None)
    held, release, told = threading.Event(), threading.Event(), []

    def someone_else() -> None:
        with pool.acquire():
            held.set()
            release.wait(10)

    other = threading.Thread(target=someone_else)
    other.start()
    held.wait(10)

    def on_wait(ahead: int) -> None:
        told.append(ahead)
        release.set()  # the other analysis ends once this one is queued

    results = session.analyse(cases, test_model, OP, on_wait=on_wait)
    other.join(10)
    assert told == [0] and results[0].analysed
    assert pool.stats().served == 2 and pool.stats().busy == 0
    with pool.acquire():  # the slot is busy again, but the kept result needs none
        assert session.analyse(cases, test_model, OP, on_wait=told.append)[0] is results[0]
    assert told == [0]
