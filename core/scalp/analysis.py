"""One scalp check: photo -> quality gate -> measurements -> grades -> adjustments -> care plan.

``analyse`` is the single call the page makes; it returns one immutable :class:`ScalpResult`
that the page renders, the history stores (numbers only) and the share button summarises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.i18n import t
from core.scalp.careplan import CarePlan, build_plan
from core.scalp.history import KEPT_MEASUREMENTS, UNKNOWN_VERSION, HistoryEntry, now_iso
from core.scalp.measure import Analysed, Measurements, downscale, measure
from core.scalp.quality import QualityReport, check_quality, require_quality
from core.scalp.questionnaire import Adjustment, Questionnaire, adjustments
from core.scalp.severity import (
    CONDITIONS,
    THRESHOLDS_VERSION,
    ConditionGrade,
    apply_adjustments,
    heuristic_grades,
    model_grades,
    not_assessed,
)

if TYPE_CHECKING:  # the model module imports torch; keep it out of the heuristic path
    from core.scalp.model import ScalpModel


@dataclass(frozen=True)
class ScalpResult:
    """Everything one check produced. ``source`` is ``"heuristic"`` or ``"model"``."""

    quality: QualityReport
    measurements: Measurements
    grades: tuple[ConditionGrade, ...]
    adjustments: tuple[Adjustment, ...]
    plan: CarePlan
    source: str
    thresholds_version: str
    model_name: str | None = None
    model_version: str | None = None
    input_sha256: str | None = None
    created: str = field(default_factory=now_iso)
    analysed: Analysed | None = field(default=None, repr=False, compare=False)
    cams: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def grade(self, condition: str) -> ConditionGrade:
        for g in self.grades:
            if g.condition == condition:
                return g
        raise KeyError(condition)

    def final_grades(self) -> dict[str, int | None]:
        return {g.condition: g.final_grade for g in self.grades}

    def history_entry(self) -> HistoryEntry:
        """Grades and kept measurements only (no photo, no answers)."""
        m = self.measurements.as_dict()
        model = self.source == "model"
        return HistoryEntry(
            time=self.created,
            source=self.source,
            method=(self.model_name or "model") if model else "heuristic",
            version=(self.model_version or UNKNOWN_VERSION) if model else self.thresholds_version,
            image_grades={g.condition: g.image_grade for g in self.grades},
            final_grades=self.final_grades(),
            measurements={k: m[k] for k in KEPT_MEASUREMENTS if isinstance(m.get(k), int | float | None)},  # type: ignore[misc]
        )

    def not_assessed(self) -> tuple[str, ...]:
        """Conditions the photo could not grade (e.g. hair loss without the field of view)."""
        return not_assessed(self.grades)

    def share_summary(self, lang: str | None) -> dict[str, Any]:
        """A board summary (``core.board`` shape): the graded final grades, no photo, no answers.

        A condition that was not assessed has no finding; the note names it, so a reader does
        not take its absence for "good".
        """
        findings = [
            {"label": t(f"scalp.condition.{g.condition}", lang), "score": float(g.final_grade), "unit": "/3"}
            for g in self.grades if g.final_grade is not None
        ]
        note_key = "scalp.share.note_model" if self.source == "model" else "scalp.share.note_heuristic"
        note = t(note_key, lang)
        missing = self.not_assessed()
        if missing:
            note += " " + t("scalp.share.not_assessed", lang,
                            conditions=", ".join(t(f"scalp.condition.{c}", lang) for c in missing))
        return {
            "task": "scalp",
            "model": self.model_name if self.source == "model" and self.model_name else self.thresholds_version,
            "findings": findings,
            "note": note,
        }


def analyse(rgb: np.ndarray, answers: Questionnaire, *, model: ScalpModel | None = None,
            is_color: bool = True, input_sha256: str | None = None, with_cams: bool = False,
            source_shape: tuple[int, int] | None = None) -> ScalpResult:
    """Run one check on an (H, W, 3) float RGB photo in [0, 1].

    ``source_shape`` is the original (H, W) when ``rgb`` was already downscaled with
    :func:`core.scalp.measure.downscale` (the quality gate's size check uses it).

    With ``model`` (the installed trained model) its grades are used and the measurements are
    kept as evidence; otherwise the heuristic thresholds grade the measurements.

    Raises:
        PhotoQualityError: the photo is too small, too dark, blurred or not a scalp close-up.
    """
    small, _ = downscale(rgb)  # once: the gate and the measurements share the analysis image
    quality = require_quality(check_quality(small, source_shape or rgb.shape[:2], is_color))
    analysed = measure(small, answers.field_of_view_mm, source_shape=source_shape or rgb.shape[:2])
    m = analysed.measurements
    cams = None
    if model is not None:
        from core.scalp.model import predict

        out = predict(model, analysed.image, with_cams=with_cams)
        grades = model_grades(out.probabilities.tolist(), m)
        cams = out.cams
        source, name, version = "model", model.name, model.version
    else:
        grades = heuristic_grades(m)
        source, name, version = "heuristic", None, None
    adjust = adjustments(answers)
    final = apply_adjustments(grades, adjust)
    plan = build_plan(final, answers, pustules=m.pustule_count)
    return ScalpResult(
        quality=quality, measurements=m, grades=final, adjustments=adjust, plan=plan, source=source,
        thresholds_version=THRESHOLDS_VERSION, model_name=name, model_version=version,
        input_sha256=input_sha256, analysed=analysed, cams=cams,
    )


__all__ = ["CONDITIONS", "ScalpResult", "analyse"]
