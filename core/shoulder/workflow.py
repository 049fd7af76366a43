"""The shoulder page's sequence without Streamlit: the image as the page uses it, where its pixel
spacing comes from, measuring every placed line (memoised), placing Tingart's second level, and
the result the page shows (indices, screening, captions).

The page keeps the widgets and their state; everything it decides about the measurements is here.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import UserError
from core.i18n import t
from core.imaging import ImageInput
from core.shoulder.gate import FileFacts, facts_of
from core.shoulder.measure import (
    LevelMeasurement,
    distal_line,
    measure_level,
    spacing_from_calibration,
)
from core.shoulder.phantom import DEMO_SPEC, demo_case
from core.shoulder.profile import Line, MeasurementError
from core.shoulder.screening import TINGART_LEVEL2_MM, Screening, mean_cct, screen

LINES = ("dti", "cct1", "cct2", "calib")
"""Every line a user places: the three measured levels and the calibration object."""
LEVELS = ("dti", "cct1", "cct2")
"""The lines that are measured."""
MAX_SIDE = 4096
"""Cortical thickness needs the detail: only larger films are reduced."""
DEMO_ID = "demo-phantom"
MEMO_SIZE = 32

Spacing = tuple[float, float]


@dataclass(frozen=True)
class ShoulderImage:
    """The radiograph as the page measures it.

    Attributes:
        gray: float32 grayscale pixels in [0, 1].
        spacing: (row_mm, col_mm) from the file, ``None`` when unknown.
        id: the input's SHA-256 (``DEMO_ID`` for the phantom).
        format: source format (``"PHANTOM"`` for the built demo).
        view: the DICOM view position, when given.
        body_part: the DICOM body part, when given.
        spacing_plane: ``"detector"`` when the spacing is the detector's, not the patient's.
        magnification: the DICOM magnification factor, when given.
        burned_in: the file says patient details are burned into the pixels.
        facts: what the decoded file says for the input gate (colour, camera, DICOM tags), read
            from the upload decoded in the worker; empty for the phantom.
        truth: (DTI, CCT in mm) of the phantom; ``None`` for real images.
    """

    gray: np.ndarray
    spacing: Spacing | None
    id: str
    format: str
    view: str | None = None
    body_part: str | None = None
    spacing_plane: str | None = None
    magnification: float | None = None
    burned_in: bool = False
    truth: tuple[float, float] | None = None
    facts: FileFacts = FileFacts()

    @property
    def is_demo(self) -> bool:
        return self.format == "PHANTOM"

    @property
    def odd_view(self) -> bool:
        """The file names a view other than AP/PA (the indices are defined on an AP film)."""
        return bool(self.view) and str(self.view).upper() not in ("AP", "PA", "")


def from_input(img: ImageInput) -> ShoulderImage:
    """The page's view of a decoded upload."""
    return ShoulderImage(
        gray=np.asarray(img.gray(), dtype=np.float32), spacing=img.spacing_mm, id=img.sha256,
        format=img.source_format, view=img.view_position, body_part=img.body_part,
        spacing_plane=img.meta.get("spacing_plane"), magnification=img.meta.get("magnification_factor"),
        burned_in=img.meta.get("burned_in_annotation") is True, facts=facts_of(img))


def demo_image() -> tuple[ShoulderImage, dict[str, Line]]:
    """The built phantom with known DTI and cortical thickness, and its preset lines."""
    ph, lines = demo_case()
    sp = DEMO_SPEC.spacing_mm
    image = ShoulderImage(gray=np.asarray(ph.image, dtype=np.float32), spacing=(sp, sp), id=DEMO_ID,
                          format="PHANTOM", truth=(DEMO_SPEC.true_dti, DEMO_SPEC.true_cct_mm))
    return image, dict(lines)


# --- spacing -------------------------------------------------------------------------------------
def spacing_modes(image: ShoulderImage) -> list[str]:
    """Where the pixel spacing may come from, the image's own first (``phantom`` or ``dicom``)."""
    known = "phantom" if image.is_demo else "dicom"
    return ([known] if image.spacing else []) + ["none", "object"]


def resolve_spacing(mode: str, image: ShoulderImage, calib: Line | None, known_mm: float) -> tuple[Spacing | None, str]:
    """(spacing, its source) for ``mode``; (None, ``"none"``) when it cannot be had.

    Raises:
        MeasurementError: ``mode`` is ``object`` and the calibration line is unusable.
    """
    if mode in ("phantom", "dicom") and image.spacing:
        return (float(image.spacing[0]), float(image.spacing[1])), mode
    if mode == "object" and calib is not None and known_mm > 0:
        return spacing_from_calibration(calib, float(known_mm)), "object"
    return None, "none"


# --- measuring -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeasureOptions:
    """The advanced settings: band width in pixels, edge method, shaft-tilt correction."""

    band_px: float = 5.0
    method: str = "model"
    correct_tilt: bool = True


def measure_lines(gray: np.ndarray, lines: Mapping[str, Line], spacing: Spacing | None, options: MeasureOptions,
                  memo: MutableMapping[Any, LevelMeasurement], image_id: str) -> tuple[dict[str, LevelMeasurement], dict[str, UserError]]:
    """Measure every placed level (``dti``, ``cct1``, ``cct2``); ``memo`` keeps up to 32 earlier
    results so a rerun with the same lines does not fit the edges again.

    Returns (levels, errors): a level that cannot be measured has its error instead.
    """
    levels: dict[str, LevelMeasurement] = {}
    errors: dict[str, UserError] = {}
    for name in LEVELS:
        line = lines.get(name)
        if line is None:
            continue
        key = (image_id, line.as_tuple(), spacing, options.band_px, options.method, options.correct_tilt)
        try:
            if key not in memo:
                if len(memo) > MEMO_SIZE:
                    memo.clear()
                memo[key] = measure_level(gray, line, spacing, band_px=options.band_px, method=options.method,
                                          correct_tilt=options.correct_tilt)
            levels[name] = memo[key]
        except MeasurementError as err:
            errors[name] = err
    return levels, errors


def level2_line(gray: np.ndarray, cct1: Line | None, spacing: Spacing | None, band_px: float) -> Line:
    """Tingart's second level: the first level's line moved 20 mm down the shaft.

    Raises:
        MeasurementError: no first level or no spacing (``shoulder.error.needs_spacing``), or the
            first level cannot be measured.
    """
    if cct1 is None or spacing is None:
        raise MeasurementError("shoulder.error.needs_spacing")
    lvl = measure_level(gray, cct1, spacing, band_px=band_px)
    return distal_line(lvl, TINGART_LEVEL2_MM, spacing).clipped_to(gray.shape[:2])


# --- result --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShoulderSummary:
    """What the results section shows: DTI, mean CCT (mm) over the measured levels, the screening."""

    dti: float | None
    cct: float | None
    cct_levels: int
    cct_placed: bool
    screening: Screening

    @property
    def cct_needs_spacing(self) -> bool:
        """A thickness line is placed but no millimetres: the spacing is missing."""
        return self.cct is None and self.cct_placed

    @property
    def provisional(self) -> bool:
        """Only one of Tingart's two levels was measured."""
        return self.cct is not None and self.cct_levels == 1


def summarise(levels: Mapping[str, LevelMeasurement]) -> ShoulderSummary:
    """Indices and screening of the measured levels."""
    dti = levels["dti"].dti if "dti" in levels else None
    ccts = [levels[n].cct_mm for n in ("cct1", "cct2") if n in levels]
    cct = mean_cct(ccts)
    return ShoulderSummary(dti=dti, cct=cct, cct_levels=sum(v is not None for v in ccts),
                           cct_placed=bool(ccts), screening=screen(dti, cct))


def level_caption(lvl: LevelMeasurement, lang: str) -> str:
    """One line under a level's profile: edge method, fit quality, shaft tilt (and whether corrected)."""
    parts = [t("shoulder.edges.method", lang, method=t(f"shoulder.method.{lvl.edges.method}", lang))]
    if lvl.edges.r2 is not None:
        parts.append(t("shoulder.edges.fit", lang, r2=f"{lvl.edges.r2:.3f}", sigma=f"{lvl.edges.sigma_px:.2f}"))
    if lvl.tilt is not None:
        key = "shoulder.edges.tilt_corrected" if lvl.corrected else "shoulder.edges.tilt"
        parts.append(t(key, lang, deg=f"{lvl.tilt.degrees:+.1f}"))
        if not lvl.tilt.reliable:
            parts.append(t("shoulder.edges.tilt_unreliable", lang))
    return " · ".join(parts)


def poor_fit(lvl: LevelMeasurement) -> bool:
    """The edge model fits the profile poorly (R² below 0.9): the edges deserve a look."""
    return lvl.edges.r2 is not None and lvl.edges.r2 < 0.9
