"""The guarded writer: LLM text is shown only when the guard passes it; otherwise the structured text
and the guard's note. Fake LLM writers, no model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from core.chest.facts import ChestReportFacts, FindingFact
from core.errors import MissingModelError
from core.i18n import t
from core.llm import StructuredWriter, write_text
from core.llm.guarded_writer import GuardedWriter, default_check

EFFUSION = FindingFact("Effusion", "effusion", 0.86, "positive", "high", "pleura", "left", "lower")
CARDIO = FindingFact("Cardiomegaly", "cardiomegaly", 0.55, "uncertain", "low", "heart")
MASS = FindingFact("Mass", "mass", 0.08, "negative", "high", "lung", "right", "upper")
FACTS = ChestReportFacts(findings=(EFFUSION, CARDIO, MASS), preset="balanced", operating_point=0.5, band=0.1,
                         model_title="Test", model_version="v0", n_assessed=18)

HALLUCINATED = {
    "en": "FINDINGS\n- Large right pneumothorax with a mass in the right upper zone.\n\nIMPRESSION\n"
          "1. Pneumothorax: likely present, right upper zone.\n2. Mass: likely present.\n",
    "ko": "소견 (FINDINGS)\n- 우측 상부 영역에 큰 기흉과 종괴가 있습니다.\n\n결론 (IMPRESSION)\n"
          "1. 기흉: 있을 가능성이 높음, 우측 상부 영역.\n2. 종괴: 있을 가능성이 높음.\n",
}


class FakeLLM:
    """Yields ``text`` in a few chunks, like a streaming LLM writer."""

    kind = "llm"

    def __init__(self, text: str | dict[str, str], name: str = "fake", stop: str = "eos", fail: Exception | None = None):
        self.text, self.name, self.last_stop, self.fail, self.max_time = text, name, stop, fail, 42.0

    def available(self) -> bool:
        return True

    def write(self, facts: object, lang: str) -> Iterator[str]:
        text = self.text[lang] if isinstance(self.text, dict) else self.text
        for i in range(0, len(text), 7):
            if self.fail is not None and i > 10:
                raise self.fail
            yield text[i:i + 7]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    asserted_not_found: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def note(self, lang: str | None) -> str:
        return "NOTE-" + str(lang)


def test_a_passing_check_shows_the_llm_text_and_the_draft_streams() -> None:
    seen: list[str] = []
    out = GuardedWriter(FakeLLM("FINDINGS\nall good\n"), check=lambda *_: Verdict(True)).run(FACTS, "en", seen.append)
    assert out.checked and out.source == "llm" and out.text == "FINDINGS\nall good\n"
    assert len(seen) > 1 and "".join(seen) == out.text
    assert out.note("en") is None and not out.time_limited and out.max_time == 42.0


def test_a_failing_check_shows_the_structured_text_and_the_guard_note() -> None:
    calls = []

    def check(text, facts, lang):  # noqa: ANN001, ANN202
        calls.append((text, facts, lang))
        return Verdict(False, asserted_not_found=("Pneumothorax",))

    out = GuardedWriter(FakeLLM(HALLUCINATED), check=check).run(FACTS, "ko")
    assert calls == [(HALLUCINATED["ko"], FACTS, "ko")]  # the whole draft was checked
    assert out.source == "structured" and not out.checked
    assert out.text == write_text(StructuredWriter(), FACTS, "ko")
    assert out.draft == HALLUCINATED["ko"] and "기흉" not in out.text
    assert out.note("ko") == "NOTE-ko"  # the guard's own note says what it found


def test_a_missing_model_or_a_crash_falls_back_with_a_translated_error() -> None:
    missing = MissingModelError("llm.error.missing_model", name="m", command="pip install x")
    out = GuardedWriter(FakeLLM("FINDINGS long enough text", fail=missing), check=lambda *_: Verdict(True)).run(FACTS, "en")
    assert out.source == "structured" and out.error is missing
    assert "pip install x" in out.note("en") and out.text.startswith("FINDINGS\n")
    boom = GuardedWriter(FakeLLM("FINDINGS long enough text", fail=RuntimeError("oom")), check=lambda *_: Verdict(True))
    out = boom.run(FACTS, "ko")
    assert out.source == "structured" and out.error is not None and out.error.key == "llm.error.generation_failed"
    assert "RuntimeError" in out.note("ko")
    empty = GuardedWriter(FakeLLM("   "), check=lambda *_: Verdict(True)).run(FACTS, "en")
    assert empty.source == "structured" and empty.error.key == "llm.error.empty"
    wrong_kind = GuardedWriter(FakeLLM("FINDINGS long enough text", fail=TypeError("chest only")),
                               check=lambda *_: Verdict(True)).run(FACTS, "en")
    assert wrong_kind.source == "structured" and wrong_kind.error.key == "llm.error.generation_failed"
    assert wrong_kind.text == write_text(StructuredWriter(), FACTS, "en")


def test_writers_say_which_facts_they_write() -> None:
    from core.llm.prefix_writer import PrefixLoRAWriter
    from core.llm.writer import FACT_KINDS, writer_status

    assert writer_status("structured").handles == FACT_KINDS
    assert PrefixLoRAWriter.handles == ("chest",)  # the image-prefix adapter only writes chest reports
    assert writer_status("gemma-lora").handles == ("chest",)


def test_a_time_limited_draft_is_flagged() -> None:
    out = GuardedWriter(FakeLLM("FINDINGS\ncut", stop="time"), check=lambda *_: Verdict(True)).run(FACTS, "en")
    assert out.checked and out.time_limited


def test_without_a_guard_module_nothing_unchecked_is_shown() -> None:
    def no_guard(*_):  # noqa: ANN002, ANN202
        raise ImportError("core.llm.report_guard")

    out = GuardedWriter(FakeLLM("FINDINGS\nanything"), check=no_guard).run(FACTS, "en")
    assert out.source == "structured" and out.note("en") == t("llm.guarded.no_guard", "en")


@pytest.mark.parametrize("exc", [KeyError("cue"), RuntimeError("regex"), ZeroDivisionError()])
def test_a_guard_that_crashes_fails_closed(exc: Exception) -> None:
    def broken(*_):  # noqa: ANN002, ANN202
        raise exc

    out = GuardedWriter(FakeLLM("FINDINGS\nanything"), check=broken).run(FACTS, "en")
    assert out.source == "structured" and out.text == write_text(StructuredWriter(), FACTS, "en")
    assert out.error is not None and type(exc).__name__ in out.error.message("ko")


# --- with the real guard ---------------------------------------------------------------------------
def _real_guard_or_skip(text: str, lang: str):  # noqa: ANN202
    result = default_check(text, FACTS, lang)
    if "guard.problem.not_checked" in tuple(getattr(result, "problems", ())):
        pytest.skip("core.llm.report_guard is still a stub (it checks nothing yet)")
    return result


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_real_guard_replaces_a_hallucinated_report(lang: str) -> None:
    out = GuardedWriter(FakeLLM(HALLUCINATED)).run(FACTS, lang)
    assert out.source == "structured" and out.text == write_text(StructuredWriter(), FACTS, lang)
    assert out.guard is not None and out.guard.ok is False
    assert out.note(lang) == out.guard.note(lang) and out.note(lang)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_real_guard_passes_a_faithful_report(lang: str) -> None:
    faithful = write_text(StructuredWriter(), FACTS, lang)  # states exactly the facts
    _real_guard_or_skip(faithful, lang)
    out = GuardedWriter(FakeLLM(faithful)).run(FACTS, lang)
    assert out.checked and out.text == faithful and out.guard.ok
