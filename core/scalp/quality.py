"""Photo quality gate for scalp close-ups: too small, too dark, blurred, not skin/hair, glare.

Blocking problems raise :class:`PhotoQualityError` from :func:`require_quality`; the others are
warnings shown next to the result. All thresholds work on the analysis image (long side
<= 1024 px) and are documented in ``docs/scalp.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import UserError
from core.i18n import t

MIN_SIDE = 256  # px, of the original photo
DARK_MEAN_L = 22.0  # mean CIELAB L* (0-100)
DARK_P95_L = 40.0
BLUR_BLOCK = 15.0  # variance of the Laplacian on a 512-px grey image (0-255 scale)
BLUR_WARN = 40.0
SKIN_MIN_SHARE = 0.30  # skin-tone pixels
SCALP_MIN_SHARE = 0.65  # skin-tone + hair-dark + flake-white pixels
GLARE_SHARE = 0.25  # share of near-clipped pixels


@dataclass(frozen=True)
class QualityIssue:
    code: str  # too_small | too_dark | blurred | not_scalp | grayscale | soft | glare
    blocking: bool

    @property
    def key(self) -> str:
        return f"scalp.quality.{self.code}"


@dataclass(frozen=True)
class QualityReport:
    """What the gate measured and what it found."""

    width: int
    height: int
    mean_lightness: float
    sharpness: float
    skin_share: float
    scalp_share: float
    glare_share: float
    issues: tuple[QualityIssue, ...]

    @property
    def ok(self) -> bool:
        return not any(i.blocking for i in self.issues)

    @property
    def blocking(self) -> tuple[QualityIssue, ...]:
        return tuple(i for i in self.issues if i.blocking)

    @property
    def warnings(self) -> tuple[QualityIssue, ...]:
        return tuple(i for i in self.issues if not i.blocking)


class PhotoQualityError(UserError):
    """The photo cannot be analysed; the message lists every blocking problem with advice."""

    def __init__(self, report: QualityReport) -> None:
        self.report = report
        super().__init__(report.blocking[0].key if report.blocking else "scalp.quality.not_scalp")

    def message(self, lang: str | None = None) -> str:
        lines = [t(i.key, lang) for i in self.report.blocking]
        return "\n\n".join(lines) if lines else super().message(lang)


def _skin_tone(rgb8: np.ndarray) -> np.ndarray:
    """Classic YCrCb skin-tone box (Chai & Ngan 1999), widened slightly for pink scalp."""
    ycrcb = cv2.cvtColor(rgb8, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    return (cr >= 133) & (cr <= 180) & (cb >= 70) & (cb <= 130)


def check_quality(rgb: np.ndarray, original_size: tuple[int, int] | None = None,
                  is_color: bool = True) -> QualityReport:
    """Assess a photo. ``rgb`` is float32 (H, W, 3) in [0, 1]; ``original_size`` = (h, w) before
    any downscaling (defaults to ``rgb``'s own size)."""
    h0, w0 = original_size or rgb.shape[:2]
    small_side = 512
    scale = min(1.0, small_side / float(max(rgb.shape[:2])))
    if scale < 1.0:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        small = cv2.resize(rgb.astype(np.float32, copy=False), size, interpolation=cv2.INTER_AREA)
    else:
        small = rgb.astype(np.float32, copy=False)
    rgb8 = np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)
    lightness = lab[..., 0]
    mean_l = float(lightness.mean())
    p95_l = float(np.percentile(lightness, 95))
    grey = cv2.cvtColor(rgb8, cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey, (3, 3), 0)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    skin = _skin_tone(rgb8)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    dark = lightness < 35
    white = (lightness > 70) & (chroma < 12)
    skin_share = float(skin.mean())
    scalp_share = float((skin | dark | white).mean())
    glare = float((small.max(axis=2) >= 0.98).mean())

    issues: list[QualityIssue] = []
    if min(h0, w0) < MIN_SIDE:
        issues.append(QualityIssue("too_small", True))
    if mean_l < DARK_MEAN_L or p95_l < DARK_P95_L:
        issues.append(QualityIssue("too_dark", True))
    else:
        if not is_color:
            issues.append(QualityIssue("grayscale", True))
        elif skin_share < SKIN_MIN_SHARE or scalp_share < SCALP_MIN_SHARE:
            issues.append(QualityIssue("not_scalp", True))
        if sharpness < BLUR_BLOCK:
            issues.append(QualityIssue("blurred", True))
        elif sharpness < BLUR_WARN:
            issues.append(QualityIssue("soft", False))
        if glare >= GLARE_SHARE:
            issues.append(QualityIssue("glare", False))
    return QualityReport(w0, h0, mean_l, sharpness, skin_share, scalp_share, glare, tuple(issues))


def require_quality(report: QualityReport) -> QualityReport:
    """Return ``report`` when the photo can be analysed.

    Raises:
        PhotoQualityError: a blocking problem (too small, too dark, blurred, not a scalp photo).
    """
    if not report.ok:
        raise PhotoQualityError(report)
    return report
