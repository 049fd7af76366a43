"""What every page's input gate shares: the issue and result types, the image-quality measures and
the thresholds the chest and shoulder gates use alike (:mod:`core.chest.gate`, :mod:`core.shoulder.gate`).

An issue's translation key is ``<namespace>.gate.<code>``; each page's gate subclasses
:class:`GateIssue` to name its namespace, and :class:`GateResult` to say how it is decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

Severity = Literal["warn", "refuse"]
Decision = Literal["accept", "warn", "refuse"]

#: DICOM ``Modality`` values of projection radiographs.
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG"})
#: Colourfulness above this: a photograph (every real radiograph in ``../shared/data`` scores <= 0.005,
#: colour photos 0.06-0.39).
COLOUR_REFUSE = 0.04
MIN_SIDE_REFUSE = 128
MIN_SIDE_WARN = 224
CONTRAST_REFUSE = 0.10
CONTRAST_WARN = 0.20


@dataclass(frozen=True)
class GateIssue:
    """One problem found. ``overridable`` says whether the user may proceed anyway after confirming
    what the image is; :attr:`key` is its translation key in the subclass's :attr:`namespace`."""

    namespace: ClassVar[str] = "imaging"

    code: str
    severity: Severity
    overridable: bool = True
    params: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}.gate.{self.code}"

    def message(self, lang: str | None) -> str:
        """The issue in ``lang``. Raises ``KeyError`` when a placeholder of its text has no param."""
        from core.i18n import t

        return t(self.key, lang, **dict(self.params))


@dataclass(frozen=True)
class GateResult:
    """All issues found and the scores behind them (scores as ``(name, value)`` pairs)."""

    issues: tuple[GateIssue, ...] = ()
    scores: tuple[tuple[str, float], ...] = ()

    def decided(self, overridden: bool) -> Decision:
        """``refuse`` when there is a refusal that is not ``overridden``; else ``warn`` when there is
        any issue; else ``accept``."""
        if self.refusals and not overridden:
            return "refuse"
        return "warn" if self.issues else "accept"

    @property
    def refusals(self) -> tuple[GateIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "refuse")

    @property
    def warnings(self) -> tuple[GateIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "warn")

    @property
    def can_override(self) -> bool:
        """True when every refusal may be overridden by the user (and there is at least one)."""
        refusals = self.refusals
        return bool(refusals) and all(i.overridable for i in refusals)

    def score(self, name: str) -> float | None:
        return dict(self.scores).get(name)


# --- image measurements ------------------------------------------------------------------------
def colourfulness(pixels: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness on [0, 1] RGB (0 for greyscale)."""
    if pixels.ndim != 3:
        return 0.0
    step = max(1, int(max(pixels.shape[:2]) // 256))
    p = np.asarray(pixels[::step, ::step, :3], dtype=np.float32)
    rg = p[..., 0] - p[..., 1]
    yb = 0.5 * (p[..., 0] + p[..., 1]) - p[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _small(gray: np.ndarray, side: int = 256) -> np.ndarray:
    import cv2

    h, w = gray.shape
    scale = side / max(h, w)
    if scale >= 1:
        return gray.astype(np.float32)
    return cv2.resize(gray.astype(np.float32), (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def quality(gray: np.ndarray) -> tuple[float, float]:
    """(contrast, sharpness): 1st-99th percentile range, RMS Laplacian of the normalised 256 px image."""
    import cv2

    small = _small(gray)
    lo, hi = np.percentile(small, [1, 99])
    contrast = float(hi - lo)
    norm = ((small - lo) / (contrast + 1e-6)).astype(np.float32)
    lap = cv2.Laplacian(norm, cv2.CV_32F)
    return contrast, float(np.sqrt(np.mean(lap**2)))
