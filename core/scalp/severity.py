"""Six conditions, graded 0 (good) to 3 (severe), as in AI Hub "유형별 두피 이미지" (value_1..value_6).

Without trained weights the grade comes from the measurements through the **heuristic**
thresholds below (reasoning in ``docs/scalp.md``). They are not fitted to labelled data: the UI
says so next to every heuristic grade. With the trained model installed, its grades replace the
heuristic ones (the measurements are still shown as evidence).

The questionnaire may raise a grade by one (never above 3) with its reason stated; the image
grade and the adjusted grade are both kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.scalp.measure import Measurements
from core.scalp.questionnaire import Adjustment

CONDITIONS: tuple[str, ...] = (
    "fine_scale",  # value_1 미세각질
    "excess_sebum",  # value_2 피지과다
    "interfollicular_erythema",  # value_3 모낭사이홍반
    "follicular_erythema_pustules",  # value_4 모낭홍반농포
    "dandruff",  # value_5 비듬
    "hair_loss",  # value_6 탈모
)
GRADES = (0, 1, 2, 3)
THRESHOLDS_VERSION = "heuristic-2026.1"
MODEL_CARD = "scalp-effnetb0-6head"  # the trained model's registry name (weights/cards/)
NOTE_NO_SCALE = "scalp.note.hair_loss_no_scale"  # hair loss not assessed: the photo has no scale


@dataclass(frozen=True)
class Rule:
    """One indicator of a condition: grade k when the value passes ``cuts[k-1]``.

    ``higher_is_worse=False`` reverses the comparison (hair density: fewer is worse).
    ``unit`` is ``share`` (0-1, shown as %), ``count``, ``a*`` or a physical unit.
    """

    condition: str
    key: str
    cuts: tuple[float, float, float]
    unit: str
    higher_is_worse: bool = True

    def grade(self, value: float) -> int:
        if self.higher_is_worse:
            return sum(1 for cut in self.cuts if value >= cut)
        return sum(1 for cut in self.cuts if value < cut)


# The heuristic thresholds. Keep in sync with the table in docs/scalp.md (a test checks it).
RULES: tuple[Rule, ...] = (
    Rule("fine_scale", "fine_scale_share", (0.002, 0.008, 0.02), "share"),
    Rule("excess_sebum", "shine_share", (0.004, 0.015, 0.04), "share"),
    Rule("interfollicular_erythema", "erythema_share", (0.05, 0.15, 0.35), "share"),
    Rule("interfollicular_erythema", "a_star_between", (19.0, 23.0, 27.0), "a*"),
    Rule("follicular_erythema_pustules", "red_end_share", (0.10, 0.25, 0.40), "share"),
    Rule("follicular_erythema_pustules", "pustule_count", (1, 2, 4), "count"),
    Rule("dandruff", "dandruff_share", (0.003, 0.012, 0.04), "share"),
    Rule("hair_loss", "thin_hair_share", (0.10, 0.20, 0.35), "share"),
    Rule("hair_loss", "hair_density_per_cm2", (140.0, 100.0, 70.0), "per_cm2", higher_is_worse=False),
    Rule("hair_loss", "hair_width_um", (70.0, 60.0, 50.0), "um", higher_is_worse=False),
)


@dataclass(frozen=True)
class Evidence:
    """One measured indicator behind a grade."""

    key: str
    value: float
    grade: int
    cuts: tuple[float, float, float]
    unit: str
    higher_is_worse: bool


@dataclass(frozen=True)
class ConditionGrade:
    """The grade of one condition.

    Attributes:
        condition: id from :data:`CONDITIONS`.
        image_grade: grade from the photo (heuristic or model); None when not assessable.
        source: ``"heuristic"`` or ``"model"``.
        evidence: the measured indicators (always filled when measurements exist).
        probabilities: the model's four class probabilities (model source only).
        adjustment: the questionnaire rule that raised the grade, if any.
        final_grade: ``image_grade`` plus the adjustment, capped at 3.
        note_key: translation key explaining a missing grade.
    """

    condition: str
    image_grade: int | None
    source: str
    evidence: tuple[Evidence, ...] = ()
    probabilities: tuple[float, ...] | None = None
    adjustment: Adjustment | None = None
    final_grade: int | None = None
    note_key: str | None = None


def heuristic_evidence(m: Measurements) -> dict[str, tuple[Evidence, ...]]:
    """Evidence per condition from the measurements (indicators without a value are skipped)."""
    out: dict[str, list[Evidence]] = {c: [] for c in CONDITIONS}
    for rule in RULES:
        value = getattr(m, rule.key)
        if value is None:
            continue
        out[rule.condition].append(
            Evidence(rule.key, float(value), rule.grade(float(value)), rule.cuts, rule.unit, rule.higher_is_worse)
        )
    return {c: tuple(v) for c, v in out.items()}


def has_scale(m: Measurements) -> bool:
    """True when the photo's field of view was given, so hair density and width in µm exist."""
    return bool(m.field_of_view_mm) and m.hair_density_per_cm2 is not None


def _hair_loss(m: Measurements, ev: tuple[Evidence, ...]) -> ConditionGrade:
    """Hair loss needs hair density, and density needs the photo's scale.

    * No hair shaft found: not assessable (a bald patch and a photo of something else look
      alike to the measurement).
    * No field of view: how many hairs a photo shows depends on the unknown magnification
      (3 hairs in a close-up may be a normal scalp, 40 hairs in a wide shot a thin one), so
      density is not assessed. The thin-hair share is a share of the person's own shafts and
      does not depend on scale: when it passes a cut-off the grade is given from it alone,
      with a note that density was not assessed (the grade may be higher). Below its first
      cut-off nothing supports "good": hair loss is *not assessed* (no grade), never 0.
    * With a field of view: the worst of thin-hair share, density and width.
    """
    if m.hair_count == 0:
        return ConditionGrade("hair_loss", None, "heuristic", ev, note_key="scalp.note.no_hair")
    if has_scale(m):
        return ConditionGrade("hair_loss", max((e.grade for e in ev), default=0), "heuristic", ev)
    thin = max((e.grade for e in ev if e.key == "thin_hair_share"), default=0)
    if thin >= 1:
        return ConditionGrade("hair_loss", thin, "heuristic", ev, note_key="scalp.note.hair_loss_thin_only")
    return ConditionGrade("hair_loss", None, "heuristic", ev, note_key=NOTE_NO_SCALE)


def heuristic_grades(m: Measurements) -> dict[str, ConditionGrade]:
    """Grade each condition as the worst of its indicators (hair loss: see :func:`_hair_loss`).

    A condition without a grade (``image_grade`` None) carries a ``note_key`` saying why.
    """
    evidence = heuristic_evidence(m)
    grades: dict[str, ConditionGrade] = {}
    for condition in CONDITIONS:
        ev = evidence[condition]
        if condition == "hair_loss":
            grades[condition] = _hair_loss(m, ev)
            continue
        grade = max((e.grade for e in ev), default=0)
        grades[condition] = ConditionGrade(condition, grade, "heuristic", ev)
    return grades


def not_assessed(grades: Sequence[ConditionGrade]) -> tuple[str, ...]:
    """Conditions the photo could not grade (no image grade), in :data:`CONDITIONS` order."""
    return tuple(g.condition for g in grades if g.image_grade is None)


def model_grades(probabilities: Sequence[Sequence[float]], m: Measurements | None) -> dict[str, ConditionGrade]:
    """Grades from the trained model's per-condition class probabilities (argmax)."""
    if len(probabilities) != len(CONDITIONS):
        raise ValueError(f"expected {len(CONDITIONS)} probability rows, got {len(probabilities)}")
    evidence = heuristic_evidence(m) if m is not None else {c: () for c in CONDITIONS}
    out: dict[str, ConditionGrade] = {}
    for condition, probs in zip(CONDITIONS, probabilities, strict=True):
        p = tuple(float(v) for v in probs)
        out[condition] = ConditionGrade(condition, int(max(range(len(p)), key=p.__getitem__)), "model",
                                        evidence[condition], probabilities=p)
    return out


def apply_adjustments(grades: dict[str, ConditionGrade], adjustments: Sequence[Adjustment]
                      ) -> tuple[ConditionGrade, ...]:
    """Final grades in :data:`CONDITIONS` order, each raised by its adjustment (<= 3)."""
    by_condition = {a.condition: a for a in adjustments}
    out = []
    for condition in CONDITIONS:
        g = grades[condition]
        adj = by_condition.get(condition)
        final = g.image_grade
        if final is not None and adj is not None:
            final = min(3, final + adj.delta)
            if final == g.image_grade:
                adj = None  # already at the top: the answer changes nothing
        elif final is None:
            adj = None
        out.append(ConditionGrade(g.condition, g.image_grade, g.source, g.evidence, g.probabilities,
                                  adj, final, g.note_key))
    return tuple(out)
