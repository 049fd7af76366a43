"""Writing a chest report (core.llm.report): a template's text streams and is the report; an LLM's text
is the report only when the guard passed it, and the outcome says whose text it is (the exports print
it) with the notes a page shows. Fake LLM writers, no language model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.chest.reading import OperatingPoint
from core.errors import MissingModelError
from core.i18n import t
from core.llm import StructuredWriter, report, report_guard, write_text, writer
from tests.llm.test_guarded_writer import FACTS, FakeLLM, Verdict

OP = OperatingPoint.of("balanced")


@dataclass(frozen=True)
class _Analysed:
    """Stands in for an analysed film: its report facts are :data:`FACTS` at any operating point."""

    def facts(self, op: OperatingPoint):  # noqa: ANN201
        return FACTS


def _llm(monkeypatch: pytest.MonkeyPatch, llm: FakeLLM, ok: bool) -> list[str]:
    """Register ``llm`` as the ``fake`` writer and a guard that passes (``ok``) or fails every text;
    returns the texts the guard was asked about."""
    checked: list[str] = []

    def check(text, facts, lang):  # noqa: ANN001, ANN202
        checked.append(text)
        return Verdict(ok)

    monkeypatch.setitem(writer._FACTORIES, "fake", lambda: llm)
    monkeypatch.setattr(report_guard, "check_chest_report", check)
    return checked


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_template_writer_streams_its_text_and_is_the_writer_used(lang: str) -> None:
    streamed: list[str] = []
    drafts: list[str] = []
    out = report.write(_Analysed(), OP, lang, "structured", on_text=streamed.append, on_draft=drafts.append)
    assert out.text == write_text(StructuredWriter(), FACTS, lang) and t("llm.report.findings_header", lang) in out.text
    assert "".join(streamed) == out.text and drafts == []
    assert out.writer_used == "structured" and out.notes == ()


def test_a_checked_llm_text_is_the_report_with_the_machine_written_and_time_limit_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    checked = _llm(monkeypatch, FakeLLM("FINDINGS\nLLM-LINE about the film\n", stop="time"), ok=True)
    streamed: list[str] = []
    drafts: list[str] = []
    out = report.write(_Analysed(), OP, "en", "fake", on_text=streamed.append, on_draft=drafts.append)
    assert out.text == "FINDINGS\nLLM-LINE about the film\n" and out.writer_used == "fake"
    assert checked == [out.text] and "".join(drafts) == out.text and streamed == []  # a draft is never the report stream
    assert [n.kind for n in out.notes] == ["machine_written", "time_limit"]
    assert out.notes[0].text == t("llm.ui.machine_written", "en", title=t("llm.writer.fake", "en"))
    assert out.notes[0].level == "info" and out.notes[1].level == "warning"
    assert out.notes[1].text == t("llm.ui.time_limit", "en", seconds="42")


def test_a_checked_llm_text_cut_at_its_length_limit_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _llm(monkeypatch, FakeLLM("FINDINGS\ncut mid-", stop="length"), ok=True)
    out = report.write(_Analysed(), OP, "ko", "fake")
    assert [n.kind for n in out.notes] == ["machine_written", "length_limit"]
    assert out.notes[1].text == t("llm.ui.length_limit", "ko")


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_failed_check_gives_the_structured_text_and_says_why(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _llm(monkeypatch, FakeLLM("FINDINGS\nHALLUCINATED pneumothorax\n", stop="length"), ok=False)
    out = report.write(_Analysed(), OP, lang, "fake")
    assert out.text == write_text(StructuredWriter(), FACTS, lang) and "HALLUCINATED" not in out.text
    assert out.writer_used == "structured"  # what the PDF and JSON print: not the LLM's name
    assert [(n.kind, n.text, n.level) for n in out.notes] == [("replaced", f"NOTE-{lang}", "warning")]  # no length note: not shown


def test_an_llm_that_cannot_run_never_raises_and_gives_the_structured_text(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = MissingModelError("llm.error.not_configured", name="fake", command="export DRDC_LLM_PATH=...")
    checked = _llm(monkeypatch, FakeLLM("FINDINGS\nnever finished\n", fail=missing), ok=True)
    out = report.write(_Analysed(), OP, "en", "fake")
    assert checked == [] and out.writer_used == "structured"
    assert out.notes[0].kind == "replaced" and missing.message("en") in out.notes[0].text


def test_an_unknown_writer_raises_key_error() -> None:
    with pytest.raises(KeyError):
        report.write(_Analysed(), OP, "en", "no-such-writer")


class _PlanOnly:
    kind, name, handles = "llm", "plan-only", ("careplan",)

    def available(self) -> bool:
        return True

    def write(self, facts: object, lang: str) -> Iterator[str]:
        yield "plan"


def test_chest_writers_lists_the_chest_writers_structured_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(writer._FACTORIES, "plan-only", _PlanOnly)
    monkeypatch.setitem(writer._FACTORIES, "fake", lambda: FakeLLM("x"))
    statuses = report.chest_writers()
    assert next(iter(statuses)) == "structured" and statuses["structured"].available
    assert "plan-only" not in statuses and statuses["fake"].kind == "llm"
    assert all("chest" in s.handles for s in statuses.values())


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_findings_table_words_each_reported_finding_as_the_report_does(lang: str, shared_data: Path) -> None:
    from core.chest.analysis import analyse_bytes
    from core.chest.labels import localized_name
    from core.chest.model import build_test_model

    data = (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes()
    result = analyse_bytes(data, "x.png", build_test_model(seed=0), feature_ref=None)
    rows = report.findings_table(result, OperatingPoint.of("sensitive"), lang)
    assert len(rows) == len(result.reported_findings) > 0
    col = {c: t(f"chest.col.{c}", lang) for c in report.TABLE_COLUMNS}
    assert list(rows[0]) == list(col.values())
    assert [r[col["finding"]] for r in rows] == [localized_name(f.label, lang) for f in result.reported_findings]
    assert [r[col["probability"]] for r in rows] == sorted((r[col["probability"]] for r in rows), reverse=True)
    statuses = {t(f"chest.status.{s}", lang) for s in ("positive", "uncertain", "negative")}
    assert {r[col["status"]] for r in rows} <= statuses
    assert all(r[col["location"]] for r in rows)  # a phrase, or "–" when the facts give no location
