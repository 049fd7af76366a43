"""The structured (template) report writer: deterministic, no model, always available.

Every sentence comes from a translated template (``locales/*/llm.json``) filled with the facts,
so the text can never state a finding, a side or a certainty the classifier did not give.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.chest.facts import ChestReportFacts, FindingFact
from core.i18n import has_key, t
from core.llm.careplan import CarePlanFacts
from core.llm.writer import ReportFacts, register_writer
from core.scalp.careplan import SECTIONS, render_item


def finding_name(fact: FindingFact, lang: str) -> str:
    """Medical name in ``lang`` (the model's label when no translation exists)."""
    key = f"chest.finding.{fact.slug}"
    return t(key, lang) if has_key(key) else fact.label.replace("_", " ")


def location_phrase(fact: FindingFact, lang: str) -> str:
    """Where the finding is, in words (empty when the facts give no location).

    A heatmap that points outside the finding's area says so and names no side, zone or organ; one
    that points at the edge of the estimated lung fields names them with "location approximate".
    """
    if fact.outside:
        return t("llm.report.outside_lungs" if fact.region in ("lung", "pleura", "bone") else "llm.report.outside_area", lang)
    if fact.region in ("heart", "mediastinum", "diaphragm"):
        return t(f"llm.report.region.{fact.region}", lang)
    where = _side_phrase(fact, lang)
    return t("llm.report.at_edge", lang, where=where) if where and fact.edge else where


def _side_phrase(fact: FindingFact, lang: str) -> str:
    if fact.side is None:
        return ""
    side = t(f"llm.report.side.{fact.side}", lang)
    if fact.region == "bone":
        return t("llm.report.bone_side", lang, side=side)
    if fact.side == "bilateral":
        if fact.level is None:
            return side
        return t("llm.report.zone_bilateral", lang, level=t(f"llm.report.level.{fact.level}", lang))
    if fact.level is None:
        return t("llm.report.lung_side", lang, side=side)
    return t("llm.report.zone", lang, side=side, level=t(f"llm.report.level.{fact.level}", lang))


def status_phrase(fact: FindingFact, lang: str) -> str:
    if fact.status == "positive":
        return t(f"llm.report.status.positive_{'high' if fact.certainty == 'high' else 'moderate'}", lang)
    if fact.status == "uncertain":
        return t("llm.report.status.uncertain", lang)
    return t("llm.report.status.negative", lang)


def _with_location(fact: FindingFact, lang: str) -> str:
    where = location_phrase(fact, lang)
    return t("llm.report.location", lang, where=where) if where else ""


def grade_phrase(condition: str, grade: int | None, lang: str) -> str:
    """``"Excess sebum: 2 (moderate)"`` for one of the six scalp conditions."""
    name = t(f"scalp.condition.{condition}", lang)
    if grade is None:
        return t("llm.careplan.grade_none", lang, name=name)
    return t("llm.careplan.grade", lang, name=name, grade=grade, word=t(f"scalp.grade.{grade}", lang))


def care_plan_lines(facts: CarePlanFacts, lang: str) -> Iterator[str]:
    """The knowledge-base plan as text: grades, then each section's advice with its reason."""
    yield t("llm.careplan.grades_header", lang) + "\n"
    for condition, grade in facts.grades:
        yield "- " + grade_phrase(condition, grade, lang) + "\n"
    for section in SECTIONS:
        items = facts.plan.section(section)
        if not items:
            continue
        yield "\n" + t(f"scalp.plan.section.{section}", lang) + "\n"
        for item in items:
            text, reason = render_item(item, lang)
            yield t("llm.careplan.item", lang, text=text, reason=reason) + "\n"
    yield "\n" + t("llm.careplan.caveat", lang, version=facts.plan.version) + "\n"


class StructuredWriter:
    """Template writer: chest reports (FINDINGS then IMPRESSION) and knowledge-base care plans,
    one line per chunk."""

    name = "structured"
    kind = "template"

    def available(self) -> bool:
        return True

    def write(self, facts: ReportFacts, lang: str) -> Iterator[str]:
        if isinstance(facts, CarePlanFacts):
            yield from care_plan_lines(facts, lang)
            return
        if not isinstance(facts, ChestReportFacts):
            raise TypeError(f"StructuredWriter cannot write {type(facts).__name__}")
        yield from self._chest(facts, lang)

    def _chest(self, facts: ChestReportFacts, lang: str) -> Iterator[str]:
        preset = t(f"chest.preset.{facts.preset}", lang)
        if facts.test_model:
            yield t("llm.report.test_model", lang) + "\n\n"
        yield t("llm.report.findings_header", lang) + "\n"
        for key in facts.gate_notes:
            yield t("llm.report.gate_note", lang, note=t(key, lang)) + "\n"
        flagged = facts.positives + facts.uncertain
        for fact in flagged:
            yield t(
                "llm.report.finding_line", lang,
                name=finding_name(fact, lang),
                status=status_phrase(fact, lang),
                score=f"{fact.probability:.2f}",
                certainty=t(f"llm.report.certainty.{fact.certainty}", lang),
                location=_with_location(fact, lang),
            ) + "\n"
        if flagged:
            if facts.n_assessed > len(flagged):  # no "the other 0 findings" line when every one is flagged
                yield t("llm.report.others_negative", lang, n=facts.n_assessed - len(flagged)) + "\n"
        else:
            yield t("llm.report.none_flagged", lang, n=facts.n_assessed, preset=preset) + "\n"
        yield "\n" + t("llm.report.impression_header", lang) + "\n"
        if not facts.positives:
            yield t("llm.report.impression_none", lang, preset=preset) + "\n"
        for index, fact in enumerate(facts.positives, start=1):
            yield t(
                "llm.report.impression_item", lang,
                index=index, name=finding_name(fact, lang), status=status_phrase(fact, lang),
                location=_with_location(fact, lang),
            ) + "\n"
        if facts.uncertain:
            names = t("llm.report.list_separator", lang).join(finding_name(f, lang) for f in facts.uncertain)
            yield t("llm.report.impression_uncertain", lang, names=names) + "\n"
        yield t("llm.report.caveat", lang, model=facts.title_in(lang), version=facts.model_version, preset=preset) + "\n"


register_writer("structured", StructuredWriter)
