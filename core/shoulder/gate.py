"""Input gate of the shoulder page: is this file a radiograph the measurements can be made on?

Runs before anything is drawn or measured, like the chest page's gate, with the colourfulness and
quality measures and thresholds both share (:mod:`core.imaging.gate`). Its image-level out-of-distribution score is
not used here: it describes frontal *chest* films, and a shoulder or humerus film is not one.

Checks (each issue has the translation key ``shoulder.gate.<code>``):

* **DICOM tags**: ``Modality`` other than CR/DX/DR/RG (CT, MR, ultrasound, a camera photo "XC",
  "OT") -> refuse; ``BodyPartExamined`` that is neither shoulder/arm nor chest (chest films show the
  proximal humerus too) -> warn.
* **Colour**: Hasler-Süsstrunk colourfulness of the RGB pixels > 0.04 -> refuse (colour photos
  score 0.06-0.39, radiographs <= 0.005; see :mod:`core.imaging.gate`).
* **Camera**: a JPEG/PNG/TIFF/WebP/HEIF file whose EXIF names a camera (Make or Model) is a
  photograph -> refuse. Radiograph exports from a PACS or a viewer carry no camera.

The file's facts (:func:`facts_of`) are read from the decoded upload the page keeps (its session
copy, decoded in the worker process under the time and memory limits, with its PHI-free technical
metadata): the raw bytes are never decoded a second time in the app's process.
* **Quality**: short side < 128 px -> refuse, < 224 px -> warn; 1st-99th percentile contrast
  < 0.10 -> refuse, < 0.20 -> warn. Sharpness only warns (< 0.008): a noise-free film of a smooth
  shaft is legitimately soft, and the edge fit says how well each edge was found.

Refusals other than unusable quality may be overridden by the user ("this is a radiograph"); the
demonstration phantom passes every check.

What cannot be told from the pixels: a greyscale photograph without camera details (a scanned
drawing, a screenshot of a photo) may pass. The page says the measurements need a radiograph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.imaging import gate as common
from core.imaging.gate import Decision, colourfulness, quality

if TYPE_CHECKING:
    from core.imaging.types import ImageInput

#: Thresholds other than those shared with the chest page (:mod:`core.imaging.gate`).
SHARPNESS_WARN = 0.008

#: Body parts a shoulder measurement can be made on (DICOM ``BodyPartExamined``, upper case).
SHOULDER_BODY_PARTS = ("SHOULDER", "HUMERUS", "ARM", "CLAVICLE", "SCAPULA", "CHEST", "THORAX", "어깨", "상완", "흉부")


class GateIssue(common.GateIssue):
    """One problem the shoulder gate found (translation key ``shoulder.gate.<code>``); ``overridable``
    says whether the user may go on after confirming the file is a radiograph."""

    namespace = "shoulder"


class GateResult(common.GateResult):
    """All issues found and the scores behind them; the page passes the user's override to :meth:`decision`."""

    def decision(self, overridden: bool = False) -> Decision:
        """``refuse`` unless there is no refusal, or the user ``overridden`` them and every one may be."""
        return self.decided(overridden and self.can_override)


@dataclass(frozen=True)
class FileFacts:
    """What the file itself says, as the decoder reported it: colourfulness of the pixels (None for
    DICOM, whose colour is judged by its tags), DICOM modality and body part, and whether EXIF
    names a camera."""

    colourfulness: float | None = None
    modality: str | None = None
    body_part: str | None = None
    camera: bool = False


def _norm(value: object) -> str:
    return str(value or "").strip().upper()


def facts_of(image: ImageInput) -> FileFacts:
    """:class:`FileFacts` of an upload already decoded in the worker (the page's
    :class:`~core.imaging.ImageInput`, rebuilt from its session copy): the DICOM tags and the
    ``exif_camera`` flag from its metadata, colourfulness from its pixels. Nothing is decoded here."""
    if image.source_format == "DICOM":
        return FileFacts(modality=_norm(image.modality) or None, body_part=_norm(image.body_part) or None)
    colour = colourfulness(image.pixels) if image.is_color else 0.0
    return FileFacts(colourfulness=colour, camera=bool(image.meta.get("exif_camera")))


def check_input(gray: np.ndarray, facts: FileFacts | None = None) -> GateResult:
    """All checks on the loaded greyscale image (float, [0, 1]) and the file's facts."""
    facts = facts or FileFacts()
    issues: list[GateIssue] = []
    scores: dict[str, float] = {}
    modality = _norm(facts.modality)
    body = _norm(facts.body_part)
    if modality and modality not in common.RADIOGRAPH_MODALITIES:
        issues.append(GateIssue("modality", "refuse", params=(("value", modality),)))
    if body and not any(part in body for part in SHOULDER_BODY_PARTS):
        issues.append(GateIssue("body_part", "warn", params=(("value", body),)))
    if facts.colourfulness is not None:
        scores["colourfulness"] = facts.colourfulness
        if facts.colourfulness > common.COLOUR_REFUSE:
            issues.append(GateIssue("colour", "refuse"))
    if facts.camera and not any(i.code == "colour" for i in issues):
        issues.append(GateIssue("camera", "refuse"))
    gray = np.asarray(gray, dtype=np.float32)
    short = int(min(gray.shape[:2]))
    scores["short_side"] = float(short)
    if short < common.MIN_SIDE_REFUSE:
        issues.append(GateIssue("too_small", "refuse", overridable=False, params=(("pixels", str(short)),)))
    elif short < common.MIN_SIDE_WARN:
        issues.append(GateIssue("low_resolution", "warn", params=(("pixels", str(short)),)))
    contrast, sharp = quality(gray)
    scores["contrast"], scores["sharpness"] = contrast, sharp
    if contrast < common.CONTRAST_REFUSE:
        issues.append(GateIssue("low_contrast", "refuse", overridable=False))
    elif contrast < common.CONTRAST_WARN:
        issues.append(GateIssue("low_contrast_warn", "warn"))
    if sharp < SHARPNESS_WARN:
        issues.append(GateIssue("blurry", "warn"))
    return GateResult(tuple(issues), tuple(sorted(scores.items())))
