"""Screening categories from the measurements, with their published thresholds and references.

The thresholds are the published ones; the app shows them next to every figure so a clinician
can check the reasoning. These are screening aids: a low value is a reason to measure bone
mineral density by DXA, not a diagnosis of osteoporosis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["low", "borderline", "not_low", "unavailable"]

DTI_THRESHOLD = 1.4
"""Spross et al. 2015: DTI < 1.4 on an AP shoulder radiograph indicates poor local bone quality."""
DTI_CXR_CUTOFF = 1.377
"""DTI measured on chest radiographs: cut-off 1.377 (sensitivity 84.6%, specificity 86.7%, AUC 0.903)."""
DTI_BORDERLINE_FRACTION = 0.03
"""Values up to 3% above the threshold (the verified accuracy of the automatic edges) are borderline."""
CCT_LOW_MM = 4.0
"""Tingart et al. 2003: mean combined cortical thickness < 4 mm suggests low bone mineral density."""
CCT_HIGH_MM = 6.0
"""Mather et al. 2013: cortical thickness >= 6 mm makes osteoporosis unlikely."""
TINGART_LEVEL2_MM = 20.0
"""Tingart's second level lies 20 mm distal to the first."""

REFERENCES: dict[str, str] = {
    "spross2015": (
        "Spross C, Kaestle N, Benninger E, et al. Deltoid tuberosity index: a simple radiographic tool "
        "to assess local bone quality in proximal humerus fractures. Clin Orthop Relat Res. "
        "2015;473(9):3038-3045."
    ),
    "tingart2003": (
        "Tingart MJ, Apreleva M, von Stechow D, Zurakowski D, Warner JJP. The cortical thickness of the "
        "proximal humeral diaphysis predicts bone mineral density of the proximal humerus. "
        "J Bone Joint Surg Br. 2003;85(4):611-617."
    ),
    "mather2013": (
        "Mather J, MacDermid JC, Faber KJ, Athwal GS. Proximal humerus cortical bone thickness correlates "
        "with bone mineral density and can clinically rule out osteoporosis. J Shoulder Elbow Surg. "
        "2013;22(6):732-738."
    ),
}


@dataclass(frozen=True)
class Finding:
    """One measured index against its threshold.

    Attributes:
        index: ``"dti"`` or ``"cct"``.
        value: measured value (ratio, or mm), ``None`` when it could not be measured.
        category: screening category of this index.
        threshold: the threshold it was compared with.
        reference: key into :data:`REFERENCES`.
    """

    index: str
    value: float | None
    category: Category
    threshold: float
    reference: str


def classify_dti(dti: float | None) -> Finding:
    """DTI < 1.4 is low; 1.4 to 3% above it is borderline; above that not low."""
    if dti is None:
        return Finding("dti", None, "unavailable", DTI_THRESHOLD, "spross2015")
    if dti < DTI_THRESHOLD:
        cat: Category = "low"
    elif dti < DTI_THRESHOLD * (1.0 + DTI_BORDERLINE_FRACTION):
        cat = "borderline"
    else:
        cat = "not_low"
    return Finding("dti", float(dti), cat, DTI_THRESHOLD, "spross2015")


def classify_cct(cct_mm: float | None) -> Finding:
    """Mean combined cortical thickness: < 4 mm low, 4 to 6 mm borderline, >= 6 mm not low."""
    if cct_mm is None:
        return Finding("cct", None, "unavailable", CCT_LOW_MM, "tingart2003")
    if cct_mm < CCT_LOW_MM:
        return Finding("cct", float(cct_mm), "low", CCT_LOW_MM, "tingart2003")
    if cct_mm < CCT_HIGH_MM:
        return Finding("cct", float(cct_mm), "borderline", CCT_HIGH_MM, "mather2013")
    return Finding("cct", float(cct_mm), "not_low", CCT_HIGH_MM, "mather2013")


@dataclass(frozen=True)
class Screening:
    """Overall result: the worst category over the measured indices."""

    category: Category
    findings: tuple[Finding, ...]

    @property
    def advise_dxa(self) -> bool:
        """True when a DXA scan should be suggested (low or borderline)."""
        return self.category in ("low", "borderline")


_ORDER: dict[str, int] = {"low": 0, "borderline": 1, "not_low": 2, "unavailable": 3}


def screen(dti: float | None, cct_mm: float | None) -> Screening:
    """Combine the indices: any low -> low; else any borderline -> borderline; else not low."""
    findings = (classify_dti(dti), classify_cct(cct_mm))
    measured = [f for f in findings if f.category != "unavailable"]
    if not measured:
        return Screening("unavailable", findings)
    worst = min(measured, key=lambda f: _ORDER[f.category])
    return Screening(worst.category, findings)


def mean_cct(values: list[float | None]) -> float | None:
    """Mean of the combined cortical thickness over the levels measured (``None`` if none)."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
