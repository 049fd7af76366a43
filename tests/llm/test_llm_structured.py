"""The report-writer interface and the structured (template) chest writer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.chest.facts import ChestReportFacts, FindingFact
from core.llm import (
    ReportWriter,
    StructuredWriter,
    get_writer,
    register_writer,
    write_text,
    writer_names,
)


def _facts(findings: tuple[FindingFact, ...], **kw) -> ChestReportFacts:
    base = dict(preset="balanced", operating_point=0.5, band=0.1, model_title="TorchXRayVision DenseNet-121",
                model_version="v1", n_assessed=18)
    base.update(kw)
    return ChestReportFacts(findings=findings, **base)


EFFUSION = FindingFact("Effusion", "effusion", 0.86, "positive", "high", "pleura", "left", "lower")
CARDIO = FindingFact("Cardiomegaly", "cardiomegaly", 0.55, "uncertain", "low", "heart")
PNEUMONIA = FindingFact("Pneumonia", "pneumonia", 0.64, "positive", "moderate", "lung", "bilateral", "middle")
NEG = FindingFact("Mass", "mass", 0.1, "negative", "high", "lung", "right", "upper")


def test_structured_writer_satisfies_the_protocol() -> None:
    writer = get_writer("structured")
    assert isinstance(writer, ReportWriter) and isinstance(writer, StructuredWriter)
    assert writer.available() and writer.kind == "template"
    assert writer_names()[0] == "structured"


def test_english_report_names_location_and_certainty_and_streams_in_chunks() -> None:
    chunks = list(StructuredWriter().write(_facts((EFFUSION, PNEUMONIA, CARDIO, NEG)), "en"))
    assert len(chunks) > 5
    text = "".join(chunks)
    assert text.index("FINDINGS") < text.index("IMPRESSION")
    assert "Pleural effusion: likely present (score 0.86, high certainty), left lower zone." in text
    assert "Pneumonia: probably present (score 0.64, moderate certainty), both lungs, mainly the middle zones." in text
    assert "Cardiomegaly: uncertain" in text and ", heart." in text
    assert "Mass" not in text  # negatives are summarised, not listed
    assert "The other 15 assessed findings" in text
    assert "1. Pleural effusion: likely present, left lower zone." in text
    assert "Uncertain, worth a second look: Cardiomegaly." in text
    assert "TorchXRayVision DenseNet-121 (v1)" in text


def test_korean_report() -> None:
    text = write_text(StructuredWriter(), _facts((EFFUSION, CARDIO)), "ko")
    assert "소견 (FINDINGS)" in text and "결론 (IMPRESSION)" in text
    assert "흉수: 있을 가능성이 높음 (점수 0.86, 확실도 높음), 위치: 좌측 하폐야." in text
    assert "심비대" in text and "심장" in text
    assert "1. 흉수 소견: 있을 가능성이 높음, 위치: 좌측 하폐야." in text


def test_when_every_finding_is_flagged_there_is_no_other_zero_line() -> None:
    for lang, phrase in (("en", "The other"), ("ko", "나머지")):
        assert phrase not in write_text(StructuredWriter(), _facts((EFFUSION, CARDIO), n_assessed=2), lang)
        assert phrase in write_text(StructuredWriter(), _facts((EFFUSION, CARDIO), n_assessed=3), lang)


def test_nothing_flagged_says_so_without_ruling_out_disease() -> None:
    for lang, phrase in (("en", "does not rule out disease"), ("ko", "질환이 없다는 뜻은 아닙니다")):
        text = write_text(StructuredWriter(), _facts((NEG,)), lang)
        assert phrase in text


def test_gate_notes_and_test_model_banner_are_written() -> None:
    text = write_text(StructuredWriter(), _facts((EFFUSION,), gate_notes=("chest.gate.unusual",), test_model=True), "en")
    assert text.startswith("TEST MODEL (random weights)")
    assert "Input note: The image looks unusual" in text


def test_unknown_facts_are_refused_and_unknown_writers_named() -> None:
    with pytest.raises(TypeError):
        list(StructuredWriter().write(object(), "en"))  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        get_writer("gpt-nonexistent")


def test_another_backend_plugs_into_the_same_interface() -> None:
    class EchoWriter:
        name = "echo-test"
        kind = "llm"

        def available(self) -> bool:
            return True

        def write(self, facts: ChestReportFacts, lang: str) -> Iterator[str]:
            for f in facts.positives:
                yield f.label + "\n"

    register_writer("echo-test", EchoWriter)
    try:
        writer = get_writer("echo-test")
        assert isinstance(writer, ReportWriter)
        assert write_text(writer, _facts((EFFUSION, NEG)), "en") == "Effusion\n"
        assert "echo-test" in writer_names()
    finally:
        from core.llm import writer as writer_module

        writer_module._FACTORIES.pop("echo-test", None)


@pytest.mark.parametrize(("lang", "side_words", "hedge", "outside_words"), [
    ("en", "left lower zone", "location approximate", "outside the lung fields"),
    ("ko", "좌", "위치 대략적", "폐야 밖"),
])
def test_a_peak_at_the_lung_edge_keeps_its_place_with_a_hedge_and_one_outside_names_no_side(
        lang: str, side_words: str, hedge: str, outside_words: str) -> None:
    from dataclasses import replace

    from core.llm.structured import location_phrase

    plain = location_phrase(EFFUSION, lang)
    edge = location_phrase(replace(EFFUSION, edge=True), lang)
    assert side_words in plain and hedge not in plain
    assert edge.startswith(plain) and hedge in edge
    out = location_phrase(replace(EFFUSION, outside=True, side=None, level=None), lang)
    assert outside_words in out and side_words not in out and hedge not in out
    text = write_text(StructuredWriter(), _facts((replace(EFFUSION, edge=True),)), lang)
    assert hedge in text and side_words in text


def test_the_report_names_the_model_in_the_readers_language() -> None:
    facts = _facts((EFFUSION,), model_title="Chest model v9", model_titles=(("ko", "흉부 모델 v9"),))
    ko, en = (write_text(StructuredWriter(), facts, lang) for lang in ("ko", "en"))
    assert "흉부 모델 v9" in ko and "Chest model v9" not in ko
    assert "Chest model v9" in en and "흉부 모델 v9" not in en
    untranslated = _facts((EFFUSION,), model_title="Chest model v9")
    assert "Chest model v9" in write_text(StructuredWriter(), untranslated, "ko")  # no translation: the card's title
