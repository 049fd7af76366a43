"""One chest analysis, start to finish: bytes -> image -> gate -> model -> zones -> facts.

The result is one immutable :class:`ChestAnalysis`. Changing the operating point does not rerun
anything: :meth:`ChestAnalysis.facts` re-reads the same probabilities with another preset, and
heatmaps are rendered from the CAMs the forward pass already produced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from core.chest import labels as chest_labels
from core.chest.facts import ChestReportFacts, FindingFact
from core.chest.gate import GateResult, check_features, check_input, feature_reference_or_issue
from core.chest.reading import OperatingPoint
from core.chest.zones import Location, LungFields, estimate_lung_fields, locate
from core.imaging import ImageInput, load_image

if TYPE_CHECKING:
    from core.chest.gate import PcaReference
    from core.chest.model import ChestModel, ChestPrediction
    from core.chest.view import ViewNet

SIDED_REGIONS = ("lung", "pleura", "bone")


@dataclass(frozen=True)
class ChestFinding:
    """One model output with its heatmap location (``index`` = position in the model's outputs)."""

    index: int
    label: str
    slug: str
    probability: float
    region: str
    location: Location | None
    reported: bool = True  # False: not reliable with this model (held-out AUC interval includes 0.5)
    band: float | None = None  # the finding's own uncertain half-width (None: the preset's)


@dataclass(frozen=True, eq=False)
class ChestAnalysis:
    """The result of analysing one image (kept in memory only).

    ``prediction`` is None when the gate refused the image (no result may be shown then).
    ``findings`` are sorted by probability, highest first. ``inverted_applied`` is True when the
    user asked to analyse the negative of an image the gate found inverted; ``rotation_applied`` is
    the clockwise turn (degrees) the user asked for on an image the gate found rotated (0: none).
    """

    image: ImageInput
    gate: GateResult
    prediction: ChestPrediction | None
    lungs: LungFields | None
    findings: tuple[ChestFinding, ...]
    created_at: str
    timings: tuple[tuple[str, float], ...]
    inverted_applied: bool = False
    rotation_applied: int = 0

    @property
    def analysed(self) -> bool:
        return self.prediction is not None

    @property
    def overridden(self) -> bool:
        """True when the user overrode a refusal of the input check: such a result is never shared."""
        return self.gate.overridden

    @property
    def model(self) -> Any:
        return None if self.prediction is None else self.prediction.model

    def status(self, finding: ChestFinding, op: OperatingPoint) -> str:
        """``positive`` / ``uncertain`` / ``negative``, or ``unreliable`` for a finding never reported."""
        if not finding.reported:
            return "unreliable"
        return op.status(finding.probability, finding.band)

    def counts(self, op: OperatingPoint) -> dict[str, int]:
        out = {"positive": 0, "uncertain": 0, "negative": 0, "unreliable": 0}
        for f in self.findings:
            out[self.status(f, op)] += 1
        return out

    def peak_outside(self, finding: ChestFinding) -> bool:
        """True when the finding's heatmap peak lies outside the area where it can be (see
        :meth:`core.chest.zones.LungFields.in_region`): its location is then low-confidence."""
        loc = finding.location
        if loc is None or self.lungs is None or self.prediction is None or self.prediction.cam_peak[finding.index] <= 0:
            return False
        return not self.lungs.in_region(finding.region, *loc.peak)

    def peak_at_edge(self, finding: ChestFinding) -> bool:
        """True when a lung, pleura or bone finding's heatmap peak is where it can be but not deeper
        inside a lung box than the box estimate's typical error (:data:`core.chest.zones.EDGE_MARGIN`):
        its side and zone are then approximate."""
        loc = finding.location
        if (finding.region not in SIDED_REGIONS or loc is None or self.lungs is None or self.prediction is None
                or self.prediction.cam_peak[finding.index] <= 0 or self.peak_outside(finding)):
            return False
        return not self.lungs.in_core(*loc.peak)

    @property
    def reported_findings(self) -> tuple[ChestFinding, ...]:
        """The findings a report, PDF or share may state (reliable ones only)."""
        return tuple(f for f in self.findings if f.reported)

    def facts(self, op: OperatingPoint) -> ChestReportFacts:
        """Report facts at operating point ``op``.

        Raises:
            ValueError: the image was not analysed (gate refusal).
        """
        if self.prediction is None:
            raise ValueError("no prediction: the input gate refused this image")
        facts = []
        for f in self.reported_findings:
            loc = f.location
            outside = self.peak_outside(f)
            sided = f.region in SIDED_REGIONS and loc is not None and not outside
            facts.append(
                FindingFact(
                    label=f.label,
                    slug=f.slug,
                    probability=round(f.probability, 4),
                    status=op.status(f.probability, f.band),
                    certainty=op.certainty(f.probability, f.band),
                    region=f.region,  # type: ignore[arg-type]
                    side=loc.side if sided and loc else None,
                    level=loc.level if sided and loc and f.region != "bone" else None,
                    outside=outside,
                    edge=self.peak_at_edge(f),
                )
            )
        notes = tuple(i.key for i in self.gate.issues if i.severity == "warn" or self.gate.overridden)
        if self.inverted_applied:
            notes = ("chest.gate.inverted_applied", *notes)
        if self.rotation_applied:
            notes = ("chest.gate.rotated_applied", *notes)
        model = self.prediction.model
        return ChestReportFacts(
            findings=tuple(facts),
            preset=op.preset,
            operating_point=op.threshold,
            band=op.band,
            model_title=model.title,
            model_titles=model.titles,
            model_version=model.version,
            n_assessed=len(facts),
            gate_notes=notes,
            test_model=model.is_test_model,
            image_embedding=self.prediction.features,  # read-only (K,) pooled features, same forward pass
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def inverted(image: ImageInput) -> ImageInput:
    """The negative of ``image`` (same metadata and input hash)."""
    return replace(image, pixels=np.ascontiguousarray(1.0 - np.asarray(image.pixels), dtype=np.float32))


def rotated(image: ImageInput, degrees_clockwise: int) -> ImageInput:
    """``image`` turned clockwise by a multiple of 90 degrees (same metadata and input hash).

    Raises:
        ValueError: ``degrees_clockwise`` is not a multiple of 90.
    """
    if degrees_clockwise % 90:
        raise ValueError(f"can only turn by multiples of 90 degrees, not {degrees_clockwise}")
    turns = -(degrees_clockwise // 90) % 4  # np.rot90 turns counter-clockwise
    return replace(image, pixels=np.ascontiguousarray(np.rot90(np.asarray(image.pixels), turns, axes=(0, 1)), dtype=np.float32))


def _lateral_or_not_chest(gate: GateResult, feature_gate: GateResult) -> GateResult:
    """A film refused only as "lateral" (one lung field), seen by the model's own feature check: when
    that refuses it too, it is not a chest film at all (a shoulder or a knee reads as one field as
    well), and it is named so; otherwise it stays a lateral chest view. No result is shown either way."""
    if feature_gate.decision != "refuse":
        return GateResult(gate.issues, gate.scores + feature_gate.scores, gate.overridden)
    issues = tuple(i for i in gate.issues if i.code != "lateral") + feature_gate.issues
    return GateResult(issues, gate.scores + feature_gate.scores, gate.overridden)


def analyse(
    image: ImageInput,
    model: ChestModel,
    *,
    override: bool = False,
    invert: bool = False,
    rotate: int = 0,
    image_ref: PcaReference | None | Literal["default"] = "default",
    feature_ref: PcaReference | None | Literal["default"] = "default",
    view: ViewNet | None | Literal["default"] = "default",
) -> ChestAnalysis:
    """Gate, classify, locate. Never raises for a decodable image.

    Args:
        image: the decoded upload.
        model: the chest model (the page passes the cached best installed model).
        override: the user confirmed a frontal chest film; overridable refusals become warnings.
        invert: analyse the negative (offered when the gate finds the image inverted).
        rotate: turn the image clockwise by this many degrees first (offered, with the gate's
            :attr:`~core.chest.gate.GateResult.rotation`, when the gate finds it rotated).
        image_ref / feature_ref / view: reference statistics and view network for the gate
            (``"default"``: registry).
    """
    timings: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    rotate = int(rotate) % 360
    if rotate:
        image = rotated(image, rotate)
    if invert:
        image = inverted(image)
    gate = check_input(image, image_ref, view)
    if override and gate.can_override:
        gate = gate.override()
    t1 = time.perf_counter()
    timings.append(("gate", t1 - t0))
    if feature_ref == "default":
        ref, problem = feature_reference_or_issue(model)
    else:
        ref, problem = feature_ref, None
    if gate.decision == "refuse":
        if ref is not None and {i.code for i in gate.refusals} == {"lateral"}:
            gate = _lateral_or_not_chest(gate, check_features(model.predict(image), ref))
        return ChestAnalysis(image, gate, None, None, (), _now(), tuple(timings), invert, rotate)
    prediction = model.predict(image)
    t2 = time.perf_counter()
    timings.append(("classify_and_cams", t2 - t1))
    feature_gate = check_features(prediction, ref, problem)
    if feature_gate.issues and gate.overridden and feature_gate.can_override:
        feature_gate = feature_gate.override()
    gate = GateResult(gate.issues + feature_gate.issues, gate.scores + feature_gate.scores, gate.overridden)
    if any(i.severity == "refuse" for i in feature_gate.issues) and not feature_gate.overridden:
        return ChestAnalysis(image, gate, None, None, (), _now(), tuple(timings), invert, rotate)
    lungs = estimate_lung_fields(np.asarray(image.gray()))
    findings = []
    for i, label in enumerate(prediction.labels):
        loc = locate(prediction.cams[i], prediction.crop, lungs) if prediction.cam_peak[i] > 0 else None
        ident = prediction.model
        findings.append(
            ChestFinding(i, label, chest_labels.slug(label), float(prediction.probabilities[i]), chest_labels.region(label),
                         loc, ident.reports(i), ident.band_of(i))
        )
    findings.sort(key=lambda f: (-f.probability, f.index))
    timings.append(("zones", time.perf_counter() - t2))
    return ChestAnalysis(image, gate, prediction, lungs, tuple(findings), _now(), tuple(timings), invert, rotate)


def analyse_bytes(data: bytes, filename: str | None, model: ChestModel, **kwargs: Any) -> ChestAnalysis:
    """Load and analyse. Raises :class:`core.imaging.ImageError` for unusable files."""
    t0 = time.perf_counter()
    image = load_image(data, filename)
    load_s = time.perf_counter() - t0
    result = analyse(image, model, **kwargs)
    return replace(result, timings=(("load", load_s), *result.timings))


# --- heatmaps ----------------------------------------------------------------------------------
def heatmap(prediction: ChestPrediction, index: int, height: int, width: int) -> np.ndarray:
    """Heatmap of output ``index`` on the full-resolution ``height x width`` image grid, in [0, 1].

    The model-grid map covers the model's centre crop; it is resized (bilinear, as pytorch-grad-cam
    does) onto that crop, and the rest of the image is 0.
    """
    from core.chest.model import upsample_cam  # imports torch: only once a result is drawn

    crop = prediction.crop
    out = np.zeros((height, width), dtype=np.float32)
    if prediction.cam_peak[index] <= 0:
        return out
    sx, sy = width / crop.width, height / crop.height  # 1.0 unless a scaled copy is drawn
    size_x, size_y = max(1, round(crop.size * sx)), max(1, round(crop.size * sy))
    top, left = round(crop.top * sy), round(crop.left * sx)
    big = upsample_cam(prediction.cams[index], size_x, size_y)
    out[top:top + size_y, left:left + size_x] = big[: height - top, : width - left]
    return out


def overlay(base: np.ndarray, heat: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """Blend a [0, 1] heatmap (JET colours) onto a [0, 1] image; returns uint8 RGB.

    Each pixel's blend weight is ``opacity * heat``, so cold areas keep the original film and the
    opacity control fades the whole heatmap.
    """
    import cv2

    opacity = float(np.clip(opacity, 0.0, 1.0))
    rgb = np.asarray(base, dtype=np.float32)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    colours = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)[:, :, ::-1].astype(np.float32) / 255.0
    weight = (opacity * np.clip(heat, 0, 1))[:, :, None]
    return np.uint8(np.clip((rgb * (1 - weight) + colours * weight) * 255 + 0.5, 0, 255))


def thumbnail(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Area-downscaled copy for display/export (no upscaling)."""
    import cv2

    h, w = pixels.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return np.asarray(pixels)
    return cv2.resize(np.asarray(pixels, dtype=np.float32), (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
