"""Input gate: is this a frontal chest radiograph good enough to analyse? Runs before any result.

Checks, in order (each issue is a warning or a refusal, with a translation key ``chest.gate.<code>``):

* **DICOM tags** (when present): ``Modality`` not CR/DX/DR/RG -> refuse; ``BodyPartExamined`` given
  and not chest -> refuse; ``ViewPosition`` LL/RL/LATERAL -> refuse (lateral view); decubitus -> warn.
* **Colour**: Hasler-Süsstrunk colourfulness of the RGB pixels > 0.04 -> refuse, not overridable
  (photographs; every real radiograph in ``../shared/data`` scores <= 0.005, colour photos 0.06-0.39).
* **Size / contrast / blur**: short side < 128 px -> refuse, < 224 px -> warn; 1st-99th percentile
  contrast < 0.10 -> refuse, < 0.20 -> warn (real films >= 0.27); sharpness (RMS Laplacian of the
  contrast-normalised 256 px image) < 0.008 -> refuse, < 0.02 -> warn (real films >= 0.03).
  The measures and the thresholds shared with the shoulder page are in :mod:`core.imaging.gate`.
* **Image-level out-of-distribution score** (model-free, works for PNG/JPEG/DICOM alike): the
  centre-cropped image as a 32x32 contrast-standardised thumbnail, scored against reference statistics
  of real frontal radiographs (PCA, 8 components: ``max(T^2/k, Q/median Q)``; :class:`PcaReference`).
  Score >= threshold -> refuse (``not_chest``); within 80 % of it -> warn (``unusual``).
* **Inverted**: when the image is out of distribution but its negative is not, it is a negative
  (white lungs) -> refuse with the offer to invert.
* **View and orientation** (:func:`check_view`, the view network of :mod:`core.chest.view`, card
  ``chest-gate-view``): a narrow crop through the chest -> warn (``cropped``); turned by 90/180/270
  degrees -> refuse with the angle and the offer to turn it upright (``rotated``); one lung field ->
  refuse (``lateral``); left-right mirrored -> warn (``mirrored``).
* **Feature out-of-distribution score** (only with reference statistics fitted on the *loaded*
  model's pooled features, ``python -m core.training.gate_fit fit`` = ``fit-features``): same scorer on the features
  of the forward pass already made -> refuse (``not_chest_features``) / warn (``unusual_features``).
  :func:`feature_reference` picks the statistics of the loaded model by name (card ``<model>-gate``),
  verified by the registry, and only when they were computed with the same weights file (SHA-256).
  The committed starter model's statistics are committed too (``weights/starter-nih14-efficientnet-lite0
  .gate-features.npz``): without them a radiograph of another body part (the shoulder page's phantom,
  hand- or knee-like films) passes the image-level check and gets chest findings.

Refusals other than a colour photo, unusable quality, an inverted or rotated film and a missing
reference can be overridden by the user ("this is a frontal chest film"): the analysis then runs, the
report carries the warning, the result is never shared and its exports say it was overridden. Figures: ``bench/bench_chest.py gate``
and ``docs/chest.md``.

This module holds the runtime checks only (numpy, OpenCV, the registry); the data splits, the fitting
of the reference statistics and their CLI are in :mod:`core.training.gate_fit`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from core.imaging.gate import (
    COLOUR_REFUSE,
    CONTRAST_REFUSE,
    CONTRAST_WARN,
    MIN_SIDE_REFUSE,
    MIN_SIDE_WARN,
    RADIOGRAPH_MODALITIES,
    Decision,
    Severity,
    colourfulness,
    quality,
)
from core.imaging.gate import GateIssue as _Issue
from core.imaging.gate import GateResult as _Result

if TYPE_CHECKING:
    from core.chest.model import ChestModel, ChestPrediction
    from core.chest.view import ViewNet
    from core.imaging import ImageInput

__all__ = [
    "COLOUR_REFUSE", "CONTRAST_REFUSE", "CONTRAST_WARN", "MIN_SIDE_REFUSE", "MIN_SIDE_WARN", "RADIOGRAPH_MODALITIES",
    "Decision", "GateIssue", "GateResult", "PcaReference", "Severity", "check_features", "check_input", "check_pixels",
    "check_tags", "check_view", "colourfulness", "descriptor", "feature_card_name", "feature_reference",
    "feature_reference_or_issue", "image_reference", "image_reference_or_issue", "quality", "view_net_or_issue",
]

CHEST_BODY_PARTS = ("CHEST", "THORAX", "LUNG", "흉부")
LATERAL_VIEWS = {"LL", "RL", "LAT", "LATERAL", "LLO", "RLO"}
DECUBITUS_VIEWS = {"LLD", "RLD", "DECUBITUS"}

CROP_ASPECT = 0.62  # width / height below this: a film cut through the chest (real films >= 0.75)
VIEW_SHARPNESS_MAX = 0.30  # real films in ../shared/data <= 0.25, text pages >= 0.36: sharper is not read for rotation/lateral
ROTATION_SURE = 3.0  # rotation log-odds at which the network alone names the turn (turned choose films: median 5)
SHARPNESS_REFUSE = 0.008
SHARPNESS_WARN = 0.02
UNUSUAL_FRACTION = 0.8

IMAGE_STATS_CARD = "chest-gate-image-stats"
VIEW_CARD = "chest-gate-view"
THUMB = 32
TUNE_QUANTILE = 99.5
TUNE_MARGIN = 1.1


class GateIssue(_Issue):
    """One problem the chest gate found (translation key ``chest.gate.<code>``); ``overridable`` says
    whether the user may proceed anyway after confirming the image is a frontal chest radiograph."""

    namespace = "chest"


@dataclass(frozen=True)
class GateResult(_Result):
    """All issues, the scores behind them, and whether the user overrode the refusals."""

    overridden: bool = False

    @property
    def decision(self) -> Decision:
        return self.decided(self.overridden)

    @property
    def inverted(self) -> bool:
        return any(i.code == "inverted" for i in self.issues)

    @property
    def rotation(self) -> int | None:
        """Degrees to turn the image clockwise to make it upright, when the gate found it rotated."""
        for issue in self.issues:
            if issue.code == "rotated":
                return int(dict(issue.params)["correction"])
        return None

    @property
    def overridden_refusals(self) -> tuple[_Issue, ...]:
        """The refusals the user overrode (empty unless :attr:`overridden`)."""
        return self.refusals if self.overridden else ()

    def merge(self, other: _Result) -> GateResult:
        return GateResult(self.issues + other.issues, self.scores + other.scores, self.overridden)

    def override(self) -> GateResult:
        """The same result with the user's override recorded (refuses to override hard failures).

        Raises:
            ValueError: a refusal is not overridable (unusable image quality).
        """
        if not self.can_override:
            raise ValueError("this gate result cannot be overridden")
        return replace(self, overridden=True)


# --- reference statistics ----------------------------------------------------------------------
@dataclass(frozen=True)
class PcaReference:
    """One-class reference: PCA of descriptors of real frontal radiographs.

    ``score(d) = max(T^2 / k, Q / Q_median)``: the mean squared standardised distance within the
    ``k`` principal components, or the residual energy outside them relative to the fit set's
    median, whichever is larger. ``threshold`` is 1.1 x the 99.5th percentile of fit-set scores.
    """

    mean: np.ndarray
    components: np.ndarray
    variances: np.ndarray
    q_median: float
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, X: np.ndarray, k: int = 8, meta: dict[str, Any] | None = None) -> PcaReference:
        """Fit on ``(n, d)`` descriptors. Raises ``ValueError`` with fewer than ``k + 2`` rows."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < k + 2:
            raise ValueError(f"need at least {k + 2} descriptors, got {X.shape}")
        mean = X.mean(axis=0)
        _, sv, vt = np.linalg.svd(X - mean, full_matrices=False)
        comps = vt[:k]
        var = sv[:k] ** 2 / (len(X) - 1)
        proto = cls(mean, comps, var, 1.0, np.inf, dict(meta or {}))
        t2, q = proto.parts(X)
        q_median = float(np.median(q))
        scored = np.maximum(t2, q / q_median)
        threshold = float(np.percentile(scored, 99.5) * 1.1)
        m = dict(meta or {})
        m.update(n_fit=int(len(X)), k=int(k), fit_score_p50=float(np.median(scored)), fit_score_p995=float(np.percentile(scored, 99.5)),
                 threshold_rule="1.1 x 99.5th percentile of fit-set scores")
        return cls(mean.astype(np.float32), comps.astype(np.float32), var.astype(np.float32), q_median, threshold, m)

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Scores of the ``(n, d)`` descriptors ``X`` (one per row)."""
        t2, q = self.parts(X)
        return np.maximum(t2, q / self.q_median)

    def tuned(self, X_tune: np.ndarray, quantile: float = TUNE_QUANTILE, margin: float = TUNE_MARGIN,
              note: str = "") -> PcaReference:
        """The same statistics with the threshold chosen on descriptors of real films *not* used to fit:
        ``margin x`` the ``quantile``-th percentile of their scores (in-sample scores are optimistic:
        held-out films score higher than the fit set).

        Raises:
            ValueError: ``X_tune`` is empty.
        """
        X_tune = np.atleast_2d(np.asarray(X_tune, dtype=np.float64))
        if X_tune.size == 0:
            raise ValueError("no tuning descriptors")
        scored = self.scores(X_tune)
        threshold = float(np.percentile(scored, quantile) * margin)
        m = dict(self.meta)
        m.update(n_tune=int(len(X_tune)), tune_score_p50=float(np.median(scored)),
                 tune_score_p99=float(np.percentile(scored, 99)), tune_score_max=float(scored.max()),
                 threshold_rule=f"{margin:g} x {quantile:g}th percentile of tuning-set scores (real films not used to fit)"
                 + (f": {note}" if note else ""))
        return replace(self, threshold=threshold, meta=m)

    def parts(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        centred = X - self.mean.astype(np.float64)
        z = centred @ self.components.T.astype(np.float64)
        t2 = (z**2 / self.variances.astype(np.float64)).sum(axis=1) / len(self.variances)
        resid = centred - z @ self.components.astype(np.float64)
        return t2, (resid**2).sum(axis=1)

    def score(self, d: np.ndarray) -> float:
        t2, q = self.parts(d)
        return float(max(t2[0], q[0] / self.q_median))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh, mean=self.mean, components=self.components, variances=self.variances,
                q_median=np.float64(self.q_median), threshold=np.float64(self.threshold),
                meta=np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: Path) -> PcaReference:
        """Read a reference saved by :meth:`save`. Raises ``OSError``/``ValueError``/``KeyError``."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                z["mean"], z["components"], z["variances"], float(z["q_median"]), float(z["threshold"]),
                json.loads(bytes(z["meta"]).decode()),
            )


def descriptor(gray: np.ndarray, n: int = THUMB) -> np.ndarray:
    """Model-free descriptor: xrv's centre square as an ``n x n`` area-resized, standardised thumbnail."""
    import cv2

    h, w = gray.shape
    s = min(h, w)
    top, left = h // 2 - s // 2, w // 2 - s // 2
    thumb = cv2.resize(np.ascontiguousarray(gray[top:top + s, left:left + s], dtype=np.float32), (n, n), interpolation=cv2.INTER_AREA)
    thumb = thumb.astype(np.float64)
    return ((thumb - thumb.mean()) / (thumb.std() + 1e-6)).ravel()


def _gray(image: ImageInput) -> np.ndarray:
    from core.chest.preprocess import gray_of

    return gray_of(image.pixels)


# --- checks ------------------------------------------------------------------------------------
def _norm(value: object) -> str:
    return str(value or "").strip().upper()


def check_tags(image: ImageInput) -> list[GateIssue]:
    """DICOM tag checks (no issue for files without tags)."""
    issues: list[GateIssue] = []
    modality = _norm(getattr(image, "modality", None))
    body = _norm(getattr(image, "body_part", None))
    view = _norm(getattr(image, "view_position", None)).replace(" ", "")
    if modality and modality not in RADIOGRAPH_MODALITIES:
        issues.append(GateIssue("dicom_modality", "refuse", params=(("value", modality),)))
    if body and not any(part in body for part in CHEST_BODY_PARTS):
        issues.append(GateIssue("dicom_body_part", "refuse", params=(("value", body),)))
    if view in LATERAL_VIEWS:
        issues.append(GateIssue("dicom_lateral", "refuse", params=(("value", view),)))
    elif view in DECUBITUS_VIEWS:
        issues.append(GateIssue("dicom_decubitus", "warn", params=(("value", view),)))
    return issues


def check_pixels(gray: np.ndarray, pixels: np.ndarray, reference: PcaReference | None,
                 view: ViewNet | None = None) -> tuple[list[GateIssue], dict[str, float]]:
    """Image-level checks on any format. Returns issues and the scores they were based on.

    With ``view`` (the view/orientation network, :mod:`core.chest.view`) and ``reference``, a grey image
    is also read for its geometry (:func:`check_view`): cropped, rotated, inverted, lateral, mirrored.
    """
    issues: list[GateIssue] = []
    scores: dict[str, float] = {}
    colour = colourfulness(pixels)
    scores["colourfulness"] = colour
    is_colour = colour > COLOUR_REFUSE
    if is_colour:  # a photograph: no "analyse anyway" (a dog photo got "hernia possible")
        issues.append(GateIssue("colour", "refuse", overridable=False))
    short = int(min(gray.shape))
    scores["short_side"] = float(short)
    if short < MIN_SIDE_REFUSE:
        issues.append(GateIssue("too_small", "refuse", overridable=False, params=(("pixels", str(short)),)))
    elif short < MIN_SIDE_WARN:
        issues.append(GateIssue("low_resolution", "warn", params=(("pixels", str(short)),)))
    contrast, sharp = quality(gray)
    scores["contrast"] = contrast
    scores["sharpness"] = sharp
    if contrast < CONTRAST_REFUSE:
        issues.append(GateIssue("low_contrast", "refuse", overridable=False))
    elif contrast < CONTRAST_WARN:
        issues.append(GateIssue("low_contrast", "warn"))
    if sharp < SHARPNESS_REFUSE:
        issues.append(GateIssue("blurry", "refuse", overridable=False))
    elif sharp < SHARPNESS_WARN:
        issues.append(GateIssue("blurry", "warn"))
    if reference is not None and contrast >= CONTRAST_REFUSE:
        score = reference.score(descriptor(gray))
        inv_score = reference.score(descriptor(1.0 - gray))
        scores["ood_image"] = score
        scores["ood_image_inverted"] = inv_score
        scores["ood_image_threshold"] = reference.threshold
        if view is not None and not is_colour:  # a photo's geometry means nothing; it is refused for its colour
            view_issues, view_scores = check_view(gray, reference, view, score, inv_score, sharp)
            scores.update(view_scores)
            issues += view_issues
        elif score >= reference.threshold and inv_score < reference.threshold and inv_score < score and not is_colour:
            issues.append(GateIssue("inverted", "refuse", overridable=False))  # a photo's negative may look "more chest-like"
        elif score >= reference.threshold:
            issues.append(GateIssue("not_chest", "refuse"))
        elif score >= UNUSUAL_FRACTION * reference.threshold:
            issues.append(GateIssue("unusual", "warn"))
    return issues, scores


def _completion_score(gray: np.ndarray, reference: PcaReference) -> float:
    """Out-of-distribution score of a narrow image completed with its own mirror image, on the better
    side: a film cut down the middle, completed so, looks like a whole frontal film again."""
    mirror = gray[:, ::-1]
    return min(reference.score(descriptor(np.hstack([gray, mirror]))), reference.score(descriptor(np.hstack([mirror, gray]))))


def check_view(gray: np.ndarray, reference: PcaReference, view: ViewNet, score: float,
               inv_score: float, sharpness: float = 0.0) -> tuple[list[GateIssue], dict[str, float]]:
    """What is wrong with a grey film's geometry, named in this order (the first that applies):

    1. **cropped** (warn): narrower than :data:`CROP_ASPECT`, and completed with its own mirror
       image it is in distribution (a narrow whole-body scan is not);
    2. **rotated** (refuse, not overridable; the page offers to turn it): the network reads a turn
       of 90/180/270 degrees with log-odds >= its threshold (at least 2.0), the image turned back is
       in distribution, and more so than as given unless the network is sure (log-odds >=
       :data:`ROTATION_SURE`: a film turned 180 degrees can score like an upright one);
    3. **inverted** (refuse, not overridable; the page offers to invert it): out of distribution,
       its negative is not;
    4. **lateral** (refuse): the network reads one lung field (``one_field`` >= its threshold) and
       either the image statistics find the film unusual too, or the network alone is sure
       (``one_field_alone``: frontal films that look usual rarely read as one field). Other
       radiographs (a shoulder, a knee) can read so too: :func:`core.chest.analysis.analyse` then asks
       the model's own feature check, and names them ``not_chest_features`` when it refuses them;
    5. **not_chest** (refuse) / **unusual** (warn): the image-level out-of-distribution score;
    6. **mirrored** (warn, only for an upright film that 1-5 let through): mirror log-odds >= threshold.

    Rotated and lateral are named only for film-like texture (sharpness < :data:`VIEW_SHARPNESS_MAX`):
    the network never saw a text page or a sharp photo, and may read them as a turned film.
    """
    from core.chest.view import read_view, turned

    threshold = reference.threshold
    reading = read_view(gray, view)
    scores = {"view_turns": float(reading.turns), "view_rotation": reading.rotation_score,
              "view_mirror": reading.mirror_score, "view_one_field": reading.one_field}
    h, w = gray.shape
    if w / h < CROP_ASPECT:
        completed = _completion_score(gray, reference)
        scores["crop_completion"] = completed
        if completed < threshold:
            return [GateIssue("cropped", "warn")], scores
    film_like = sharpness < VIEW_SHARPNESS_MAX  # text pages and sharp photos are outside the network's domain
    if film_like and reading.turns and reading.rotation_score >= view.threshold("rotation", 2.0):
        upright = reference.score(descriptor(turned(gray, reading.correction)))
        scores["ood_image_upright"] = upright
        if upright < threshold and (upright < score or reading.rotation_score >= ROTATION_SURE):
            params = (("angle", str(reading.clockwise)), ("correction", str(reading.correction)))
            return [GateIssue("rotated", "refuse", overridable=False, params=params)], scores
    if score >= threshold and inv_score < threshold and inv_score < score:
        return [GateIssue("inverted", "refuse", overridable=False)], scores
    one_field = reading.one_field >= view.threshold("one_field", 0.5)
    sure = reading.one_field >= view.threshold("one_field_alone", 0.5) or score >= UNUSUAL_FRACTION * threshold
    if film_like and one_field and sure:
        return [GateIssue("lateral", "refuse")], scores
    if score >= threshold:
        return [GateIssue("not_chest", "refuse")], scores
    issues = [GateIssue("unusual", "warn")] if score >= UNUSUAL_FRACTION * threshold else []
    if reading.turns == 0 and reading.mirror_score >= view.threshold("mirror", 0.0):
        issues.append(GateIssue("mirrored", "warn"))
    return issues, scores


def check_input(image: ImageInput, reference: PcaReference | None | Literal["default"] = "default",
                view: ViewNet | None | Literal["default"] = "default") -> GateResult:
    """Everything that needs no model: tags and image-level checks.

    ``reference="default"`` / ``view="default"`` use the committed image statistics and view network;
    when a file is missing, damaged or unverified the result is a refusal that names the fix (fail
    closed), after the other checks. ``None`` (tests and benches only) runs the checks without it.
    """
    problems: list[GateIssue] = []
    if reference == "default":
        ref, problem = image_reference_or_issue()
        problems += [problem] if problem is not None else []
    else:
        ref = reference
    if view == "default":
        net, problem = view_net_or_issue()
        problems += [problem] if problem is not None else []
    else:
        net = view
    gray = _gray(image)
    issues = check_tags(image)
    pix_issues, scores = check_pixels(gray, np.asarray(image.pixels), ref, net)
    if any(i.code == "dicom_lateral" for i in issues):  # the tags already say it
        pix_issues = [i for i in pix_issues if i.code != "lateral"]
    return GateResult(tuple(issues + pix_issues + problems), tuple(sorted(scores.items())))


def check_features(prediction: ChestPrediction, reference: PcaReference | None,
                   problem: GateIssue | None = None) -> GateResult:
    """Out-of-distribution score of the model's pooled features.

    Without a reference, ``problem`` (from :func:`feature_reference_or_issue`) is the result: a
    refusal for a missing or damaged reference, a warning when none was fitted for this model.
    """
    if reference is None:
        return GateResult((problem,) if problem is not None else ())
    score = reference.score(prediction.features)
    scores = (("ood_features", score), ("ood_features_threshold", reference.threshold))
    if score >= reference.threshold:
        return GateResult((GateIssue("not_chest_features", "refuse"),), scores)
    if score >= UNUSUAL_FRACTION * reference.threshold:
        return GateResult((GateIssue("unusual_features", "warn"),), scores)
    return GateResult((), scores)


# --- reference files through the registry --------------------------------------------------------
# Fail closed: a reference that should be there but is missing, damaged or unverified never makes
# the gate skip its check silently. It becomes a refusal that names the fix (not overridable: the
# user cannot vouch for a file they never see).
@lru_cache(maxsize=4)
def _image_reference_cached(path: str, sha: str) -> PcaReference:
    return PcaReference.load(Path(path))


@lru_cache(maxsize=4)
def _view_net_cached(path: str, sha: str) -> ViewNet:
    from core.chest.view import ViewNet

    return ViewNet.load(Path(path))


def _reference_issue(code: str, name: str, state: str, command: str) -> GateIssue:
    return GateIssue(code, "refuse", overridable=False,
                     params=(("name", name), ("state", state), ("command", command)))


def _registry_reference(card_name: str, loader: Any = None) -> tuple[Any, str, str]:
    """(reference, state, command) for a reference card: the reference only when verified and readable
    (read by ``loader(path, sha256)``, :class:`PcaReference` by default).

    Never raises: a card that cannot be read, a file that is missing or unverified, or verified bytes
    that fail to load in any way (a zip cut short: ``zipfile.BadZipFile``; a garbled deflate stream;
    ``EOFError`` ...) give ``None`` and a state for the refusal (fail closed).
    """
    from core.models import registry

    try:
        card = registry.get_card(card_name)
        st = registry.status(card_name)
    except KeyError:
        return None, "no-card", ""
    except (ValueError, OSError):
        return None, "unreadable", ""
    if card.bundled:  # ships with the app: restore it from the release
        command = f"git checkout -- weights/{card.file}"
    elif st.state == "unpinned":
        command = registry.trust_command(card_name)
    else:
        command = registry.install_command(card)
    if not st.installed or st.path is None:
        return None, st.state, command
    try:
        return (loader or _image_reference_cached)(str(st.path), st.sha256 or ""), "installed", command
    except Exception as exc:  # noqa: BLE001 - verified bytes that still do not parse: refuse, never crash
        return None, f"unreadable ({type(exc).__name__})", command


def image_reference_or_issue() -> tuple[PcaReference | None, GateIssue | None]:
    """The committed image-level reference, or the refusal to give when it is not usable."""
    ref, state, command = _registry_reference(IMAGE_STATS_CARD)
    if ref is not None:
        return ref, None
    return None, _reference_issue("reference_unavailable", IMAGE_STATS_CARD, state, command)


def view_net_or_issue() -> tuple[ViewNet | None, GateIssue | None]:
    """The committed view/orientation network, or the refusal to give when it is not usable."""
    net, state, command = _registry_reference(VIEW_CARD, _view_net_cached)
    if net is not None:
        return net, None
    return None, _reference_issue("reference_unavailable", VIEW_CARD, state, command)


def image_reference() -> PcaReference | None:
    """The committed image-level reference, verified by the registry (None when unavailable).

    Analysis never uses this ``None`` to skip the check: :func:`check_input` refuses instead.
    """
    return image_reference_or_issue()[0]


def feature_card_name(model_name: str) -> str:
    return f"{model_name}-gate"


def feature_reference_or_issue(model: ChestModel) -> tuple[PcaReference | None, GateIssue | None]:
    """Feature statistics fitted on ``model``'s installed weights, or the issue to report instead.

    * verified statistics of exactly this model file (same SHA-256): ``(reference, None)``;
    * a model with a ``<model>-gate`` card whose reference is missing, damaged, unverified, unreadable
      or fitted for other weights: a refusal naming the fix (fail closed: the model's own check
      cannot run, so it never silently accepts);
    * a model with no ``<model>-gate`` card at all: a warning that only the image-statistics check
      ran (and how to fit one), never a silent pass;
    * a random-weight test model: ``(None, None)``.

    Never raises (see :func:`_registry_reference`).
    """
    if model.is_test_model:
        return None, None
    name = feature_card_name(model.name)
    ref, state, command = _registry_reference(name)
    if ref is not None:
        if isinstance(ref.meta, dict) and (ref.meta.get("model_sha256") == model.sha256 or _same_features(ref.meta, model)):
            return ref, None
        state = "fitted for other weights"
    if state == "no-card":
        fit = f"python -m core.training.gate_fit fit-features --model {model.name} --data ../shared/data"
        return None, GateIssue("feature_check_unavailable", "warn", params=(("name", name), ("command", fit)))
    return None, _reference_issue("feature_reference_unavailable", name, state, command)


def _same_features(meta: dict[str, Any], model: ChestModel) -> bool:
    """True when the reference was fitted on the very trunk whose features ``model`` gives (same
    ``features_sha256``), although the weights file differs (new head, operating points, members)."""
    want = str(meta.get("features_sha256") or "")
    have = getattr(getattr(model, "identity", None), "features_sha256", "")
    return bool(want) and want == have


def feature_reference(model: ChestModel) -> PcaReference | None:
    """Feature statistics fitted on ``model``'s installed weights, or None (see
    :func:`feature_reference_or_issue`, which analysis uses so that ``None`` never means "pass")."""
    return feature_reference_or_issue(model)[0]


