"""The scalp page's sequence without Streamlit: the kept photo -> quality check -> analysis, and the
audit record of each check (once per photo and result).

    photo = check_photo(compact)             # the analysis-size copy and its quality report
    result = run(photo, answers, model)      # raises PhotoQualityError
    record_audit(result, photo.sha256, [i.code for i in result.quality.issues], seen)
"""

from __future__ import annotations

from collections.abc import MutableSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import audit
from core.imaging.compact import CompactImage
from core.scalp.analysis import ScalpResult, analyse
from core.scalp.quality import QualityReport, check_quality
from core.scalp.questionnaire import Questionnaire


@dataclass(frozen=True)
class PhotoCheck:
    """A photo ready for analysis.

    Attributes:
        rgb: the analysis-size float32 (H, W, 3) copy in [0, 1].
        report: the quality gate's report on it.
        original_size: (height, width) of the upload.
        is_color: the upload had colour.
        sha256: the upload's checksum.
    """

    rgb: np.ndarray
    report: QualityReport
    original_size: tuple[int, int]
    is_color: bool
    sha256: str

    def preview(self) -> np.ndarray:
        """The photo as uint8 RGB for display."""
        return np.clip(self.rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def check_photo(image: CompactImage) -> PhotoCheck:
    """The analysis-size copy of the kept photo (rebuilt each run) and its quality report."""
    rgb = image.to_input().rgb()
    size = (int(image.original_size[0]), int(image.original_size[1]))
    return PhotoCheck(rgb=rgb, report=check_quality(rgb, size, image.is_color), original_size=size,
                      is_color=bool(image.is_color), sha256=image.sha256)


def run(photo: PhotoCheck, answers: Questionnaire, model: Any = None) -> ScalpResult:
    """One check: the six severities (the installed ``model``'s grades and maps when given, the
    measurement thresholds otherwise), the questionnaire's adjustments and the care plan.

    Raises:
        PhotoQualityError: the photo is too small, too dark, blurred or not a scalp close-up.
    """
    return analyse(photo.rgb, answers, model=model, is_color=photo.is_color, input_sha256=photo.sha256,
                   with_cams=model is not None, source_shape=photo.original_size)


def audit_fields(result: ScalpResult | None, sha256: str, issues: list[str]) -> dict[str, Any]:
    """The audit record of one check: the gate's decision and issues, and for a result the grading
    method and how many signs were graded 2 or worse. No photo, no answers."""
    fields: dict[str, Any] = {"feature": "scalp", "input_sha256": sha256,
                              "gate_decision": "ok" if result else "blocked", "gate_issues": list(issues)}
    if result is not None:
        fields["model_name"] = result.model_name or result.thresholds_version
        fields["model_version"] = result.model_version or result.thresholds_version
        fields["n_positive"] = sum(1 for g in result.grades if (g.final_grade or 0) >= 2)
    return fields


def record_audit(result: ScalpResult | None, sha256: str, issues: list[str], seen: MutableSet[Any]) -> bool:
    """Append the check to the audit trail unless ``seen`` (this session's records) has it.
    A trail that cannot be written never stops the check. True when a record was written."""
    key = (sha256, result.created if result else "blocked")
    if key in seen:
        return False
    try:
        audit.record(audit_fields(result, sha256, issues))
    except (OSError, audit.AuditError):
        return False
    seen.add(key)
    return True
