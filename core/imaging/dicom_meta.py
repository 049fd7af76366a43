"""What the app keeps of a DICOM data set: the allow-listed, PHI-free technical description
(:data:`DICOM_META_KEYS`), the pixel spacing in the patient plane, and tolerant readers of element
values (they never raise and never return arbitrary text). Used by :mod:`core.imaging.dicom`.

Privacy: only the technical elements named here are read; Modality, Body Part Examined and View
Position keep only enumerated terms (:mod:`core.imaging.tags`; anything else becomes ``"OTHER"``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID

from core.imaging import tags

DICOM_FORMAT = "DICOM"
# Code String values (Modality, View Position...) are at most 16 upper-case letters, digits,
# spaces or underscores; anything else is not shown.
CODE_STRING = re.compile(r"^[A-Z0-9 _]{1,16}$")

#: meta keys a DICOM result may carry (the PHI-free allow-list; tests check against it).
DICOM_META_KEYS = frozenset(
    {
        "format", "transfer_syntax", "sop_class", "modality", "body_part_examined", "view_position",
        "rows", "columns", "number_of_frames", "frame_index", "samples_per_pixel", "bits_allocated",
        "bits_stored", "pixel_representation", "photometric_interpretation", "decoded_photometric",
        "pixel_spacing", "imager_pixel_spacing", "spacing_source", "spacing_plane", "magnification_factor",
        "lossy_compression", "burned_in_annotation",
        "modality_lut", "rescale_slope", "rescale_intercept", "voi", "window_center", "window_width",
        "voi_lut_function", "window_low", "window_high", "voi_note", "inverted", "palette_bits",
    }
)


def technical_meta(ds: Dataset, header: dict[str, Any]) -> dict[str, Any]:
    """The allow-listed, PHI-free description of the file."""
    meta: dict[str, Any] = {"format": DICOM_FORMAT}
    tsyntax = getattr(ds, "file_meta", {}).get("TransferSyntaxUID")
    meta["transfer_syntax"] = header.get("stored_syntax") or (uid_name(tsyntax) if tsyntax else None) or "unknown"
    sop = sop_class(ds)
    if sop:
        meta["sop_class"] = sop
    # enumerated terms only: anything else a person typed there becomes "OTHER" (core.imaging.tags)
    for key, keyword, allowed in (
        ("modality", "Modality", tags.modality),
        ("body_part_examined", "BodyPartExamined", tags.body_part),
        ("view_position", "ViewPosition", tags.view_position),
    ):
        value = allowed(safe_get(ds, keyword))
        if value:
            meta[key] = value
    burned_in = tags.yes_no(safe_get(ds, "BurnedInAnnotation"))
    if burned_in is not None:
        meta["burned_in_annotation"] = burned_in
    meta.update(
        rows=header["rows"],
        columns=header["columns"],
        number_of_frames=header["number_of_frames"],
        frame_index=0,
        samples_per_pixel=header["samples_per_pixel"],
        bits_allocated=header["bits_allocated"],
        bits_stored=header["bits_stored"],
        pixel_representation="signed" if header["pixel_representation"] == 1 else "unsigned",
        photometric_interpretation=tags.photometric(header["photometric"]),
    )
    lossy = code_string(safe_get(ds, "LossyImageCompression"))
    if lossy in ("00", "01"):
        meta["lossy_compression"] = lossy == "01"
    return meta


def patient_spacing(ds: Dataset, meta: dict[str, Any]) -> tuple[float, float] | None:
    """(row_mm, col_mm) in the patient plane when the file says so; records the source in ``meta``.

    Pixel Spacing (calibrated to the patient) is used as it is. Imager Pixel Spacing is measured at
    the detector, where a projection radiograph is magnified (typically 1.1-1.2x), so it is divided
    by Estimated Radiographic Magnification Factor when the file gives a plausible one (1-2);
    without it the spacing is kept and ``meta["spacing_plane"]`` says ``"detector"``, so pages can
    say that lengths are magnified (DICOM PS3.3 C.8.11.7 / 10.7.1).
    """
    chosen: tuple[float, float] | None = None
    for key, keyword in (("pixel_spacing", "PixelSpacing"), ("imager_pixel_spacing", "ImagerPixelSpacing")):
        pair = _spacing_pair(safe_get(ds, keyword))
        if pair is None:
            continue
        meta[key] = list(pair)
        if chosen is None:
            chosen = pair
            meta["spacing_source"] = keyword
            meta["spacing_plane"] = "patient"
            if keyword == "ImagerPixelSpacing":
                factor = _magnification(ds)
                if factor is None:
                    meta["spacing_plane"] = "detector"
                else:
                    meta["magnification_factor"] = factor
                    chosen = (pair[0] / factor, pair[1] / factor)
    return chosen


def _magnification(ds: Dataset) -> float | None:
    """Estimated Radiographic Magnification Factor when present and plausible (1 to 2), else None."""
    value = safe_get(ds, "EstimatedRadiographicMagnificationFactor")
    try:
        factor = float(value) if value is not None and not isinstance(value, (bytes, list)) else None
    except (TypeError, ValueError):
        return None
    if factor is None or not np.isfinite(factor) or not 1.0 <= factor <= 2.0:
        return None
    return factor


def _spacing_pair(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        items = list(value) if not isinstance(value, (str, bytes)) else []
        if len(items) != 2:
            return None
        row, col = float(items[0]), float(items[1])
    except Exception:
        return None
    if not all(math.isfinite(v) and 0 < v < 100 for v in (row, col)):
        return None
    return row, col


def sop_class(ds: Dataset) -> str | None:
    """The SOP Class name when it is a standard (registered) UID, else None."""
    for source, keyword in ((ds, "SOPClassUID"), (getattr(ds, "file_meta", None), "MediaStorageSOPClassUID")):
        try:
            value = source.get(keyword) if source is not None else None
        except Exception:
            value = None
        if value:
            name = uid_name(value)
            if name:
                return name
    return None


def uid_name(value: object) -> str | None:
    try:
        uid = UID(str(value))
        name = uid.name
    except Exception:
        return None
    return name if name and name != str(uid) else None


def safe_get(ds: Dataset, keyword: str) -> Any:
    try:
        return ds.get(keyword)
    except Exception:
        return None


def code_string(value: Any) -> str | None:
    """A Code String value when it looks like one (else None, never arbitrary text)."""
    if value is None:
        return None
    text = str(first_value(value)).strip().upper()
    return text if CODE_STRING.match(text) else None


def finite_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def first_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return value[0]
    return value


def is_present(value: Any) -> bool:
    if value is None:
        return False
    if hasattr(value, "__len__") and not isinstance(value, (int, float)):
        return len(value) > 0
    return True
