"""The chest model interface: calibrated probabilities, pooled features and a heatmap for every
finding, all from one forward pass.

* :class:`ChestModel` is what the page and the pipeline use; any installed chest model (the
  torchxrayvision DenseNet, the project's starter models) is wrapped as one.
* :class:`ChestPrediction` is the frozen result of one image.
* :class:`PooledLinearNet` splits a network whose head is *global average pooling + one linear
  layer* (DenseNet, EfficientNet, ResNet) into ``feature_map -> pool -> linear``. For such a head the
  class activation map ``CAM_c = relu(sum_k w_ck A_k)`` of every class comes from the feature map
  the forward pass already computed: one ``einsum``, no backward pass. It equals pytorch-grad-cam's
  GradCAM on the activation that feeds the pooling layer (the gradient of logit ``c`` with respect
  to ``A_k(i, j)`` is ``w_ck / HW`` everywhere, so GradCAM's channel weights are ``w_ck / HW``),
  and GradCAM on the *calibrated* output gives the same normalised map too, because xrv's
  ``op_norm(sigmoid(.))`` is strictly increasing per class: its derivative only rescales the map
  by a positive number, which per-map min-max normalisation removes. ``tests/chest/test_chest_cam.py``
  checks both against ``pytorch_grad_cam.GradCAM`` with ``ClassifierOutputTarget``.
* Networks without such a head use pytorch-grad-cam's GradCAM (one batched backward pass for all
  findings): :class:`GradCamChestModel`.
"""

from __future__ import annotations

import hashlib
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from core.chest.frozen import FrozenTrunk, torchscript_enabled
from core.chest.preprocess import CropBox, xrv_array

if TYPE_CHECKING:
    from core.imaging import ImageInput

Preprocess = Callable[[np.ndarray], tuple[np.ndarray, CropBox]]


def _frozen(arr: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    out = np.ascontiguousarray(arr, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class ModelIdentity:
    """Which model produced a result: shown on the page, in the PDF/JSON and in the audit trail."""

    name: str
    title: str
    version: str
    sha256: str
    is_test_model: bool = False
    #: per-label half-width of the uncertain band on the calibrated scale (None: the default 0.10)
    bands: tuple[float, ...] | None = None
    #: per-label: False when held-out AUC cannot be told from chance (shown greyed, never reported)
    reported: tuple[bool, ...] | None = None
    #: SHA-256 of the tensors that make ``ChestPrediction.features`` (core.chest.starter.features_digest):
    #: a gate reference or report writer fitted on these features stays valid when only the head,
    #: the operating points or further ensemble members change ("" when unknown)
    features_sha256: str = ""
    #: the card's title in other languages, ``(("ko", "..."),)``: shown on the page, the report and
    #: the PDF; ``title`` stays the canonical name the JSON, the audit and report writers bind to
    titles: tuple[tuple[str, str], ...] = ()

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` when the card translates it, else :attr:`title`."""
        return dict(self.titles).get(lang, self.title)

    def band_of(self, index: int) -> float | None:
        return None if self.bands is None else float(self.bands[index])

    def reports(self, index: int) -> bool:
        return True if self.reported is None else bool(self.reported[index])


@dataclass(frozen=True)
class ChestPrediction:
    """Everything one forward pass gives for one image (arrays are read-only).

    Attributes:
        labels: model output names, in order.
        probabilities: ``(L,)`` calibrated probabilities; 0.5 is each finding's operating point.
        logits: ``(L,)`` raw outputs of the linear head.
        features: ``(K,)`` globally pooled features (used by the input gate's OOD check).
        cams: ``(L, h, w)`` heatmaps in the model-input grid (the crop), each min-max scaled to [0, 1];
            an all-zero map means the class has no positive evidence anywhere.
        cam_peak: ``(L,)`` maximum of each un-normalised map (0: empty map).
        cam_method: ``"cam-linear-head"`` (exact shortcut) or ``"gradcam"`` (pytorch-grad-cam).
        crop: where the model-input square lies in the original image.
        model: identity of the model that produced it.
    """

    labels: tuple[str, ...]
    probabilities: np.ndarray
    logits: np.ndarray
    features: np.ndarray
    cams: np.ndarray
    cam_peak: np.ndarray
    cam_method: str
    crop: CropBox
    model: ModelIdentity

    def probability(self, label: str) -> float:
        """Calibrated probability of ``label``. Raises ``KeyError`` for an unknown label."""
        try:
            return float(self.probabilities[self.labels.index(label)])
        except ValueError:
            raise KeyError(label) from None


class ChestModel(ABC):
    """A chest X-ray multi-label classifier the app can run.

    Implementations give calibrated probabilities (0.5 = operating point), pooled features and a
    heatmap for every label from one call. ``is_test_model`` is True only for random-weight models
    built for tests and benchmarks; the page labels those and never presents them as results.
    """

    identity: ModelIdentity
    labels: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.identity.name

    @property
    def title(self) -> str:
        return self.identity.title

    @property
    def version(self) -> str:
        return self.identity.version

    @property
    def sha256(self) -> str:
        return self.identity.sha256

    @property
    def is_test_model(self) -> bool:
        return self.identity.is_test_model

    @abstractmethod
    def predict(self, image: ImageInput) -> ChestPrediction:
        """Run the model on one image. Raises ``ValueError`` for pixel arrays of the wrong shape."""

    def predict_pixels(self, pixels: np.ndarray) -> ChestPrediction:
        """Same as :meth:`predict` on a bare ``[0, 1]`` pixel array (benchmarks, tests)."""
        raise NotImplementedError

    def predict_batch(self, images: Sequence[ImageInput]) -> list[ChestPrediction]:
        """Predict several images (default: one by one)."""
        return [self.predict(img) for img in images]


# --- networks ----------------------------------------------------------------------------------
class PooledLinearNet(nn.Module):
    """``features -> activation -> global average pool -> linear`` with the activation as a module.

    ``activation`` is the layer GradCAM must target for the shortcut to be exact (its output is
    what the pooling averages). ``forward`` returns logits.
    """

    def __init__(self, features: nn.Module, activation: nn.Module, classifier: nn.Linear) -> None:
        super().__init__()
        self.features = features
        self.activation = activation
        self.classifier = classifier
        #: pooled channels that make up :attr:`ChestPrediction.features` (None: all; an ensemble: its
        #: first member's, so gate references and the report writer fitted on it stay valid)
        self.features_width: int | None = None

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.features(x))

    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(fmap, (1, 1)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.feature_map(x)))


class Calibration(nn.Module):
    """Logits -> calibrated probabilities.

    With ``op_threshs`` this is torchxrayvision's ``op_norm(sigmoid(logits), op_threshs)`` (the
    library's own function): each finding's operating point maps to 0.5, piecewise linearly on
    each side; NaN thresholds give 0.5 as in xrv. Without thresholds it is a plain sigmoid.
    """

    def __init__(self, op_threshs: Sequence[float] | None = None) -> None:
        super().__init__()
        self.register_buffer(
            "op_threshs", None if op_threshs is None else torch.tensor(list(op_threshs), dtype=torch.float32)
        )

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        probs = torch.sigmoid(logits)
        if self.op_threshs is None:
            return probs
        import torchxrayvision as xrv

        return xrv.models.op_norm(probs, self.op_threshs)


def xrv_pooled_linear(model: nn.Module) -> PooledLinearNet:
    """Split an ``xrv.models.DenseNet`` into :class:`PooledLinearNet` (shares its parameters).

    xrv's forward is ``features -> F.relu -> adaptive_avg_pool2d -> classifier``; the functional
    ReLU becomes an ``nn.ReLU`` module so it can be hooked.
    """
    return PooledLinearNet(model.features, nn.ReLU(inplace=False), model.classifier)


# --- test-time views ------------------------------------------------------------------------------
IDENTITY_VIEW = (1.0, 0.0, 0.0)


def check_views(views: Sequence[Sequence[float]] | None) -> tuple[tuple[float, float, float], ...]:
    """Validated test-time views: ``(scale, dx, dy)`` triples, the film itself first.

    ``dx``/``dy`` are shifts in ``F.affine_grid`` units (1.0 = half the width). Mirrors are not
    allowed (findings are sided): the scale must be positive, and there is no flip term.

    Raises:
        ValueError: a view is not three finite numbers, a scale is outside [0.5, 2], a shift is
            larger than 0.25, or the first view is not the identity.
    """
    if not views:
        return (IDENTITY_VIEW,)
    out = []
    for v in views:
        t = tuple(float(a) for a in v)
        if len(t) != 3 or not all(math.isfinite(a) for a in t):
            raise ValueError(f"a test-time view is (scale, dx, dy), got {v!r}")
        if not 0.5 <= t[0] <= 2.0 or abs(t[1]) > 0.25 or abs(t[2]) > 0.25:
            raise ValueError(f"test-time view {t} is outside scale [0.5, 2] / shift 0.25")
        out.append(t)
    if out[0] != IDENTITY_VIEW:
        raise ValueError("the first test-time view must be the film itself (1, 0, 0)")
    return tuple(out)


def shifted(x: torch.Tensor, view: Sequence[float]) -> torch.Tensor:
    """``x`` (B, C, H, W) magnified by ``scale`` and shifted by ``(dx, dy)``, borders repeated."""
    scale, dx, dy = (float(a) for a in view)
    if (scale, dx, dy) == IDENTITY_VIEW:
        return x
    theta = torch.tensor([[1.0 / scale, 0.0, dx], [0.0, 1.0 / scale, dy]], dtype=x.dtype).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def forward_views(net: PooledLinearNet, x: torch.Tensor,
                  views: Sequence[Sequence[float]] = (IDENTITY_VIEW,),
                  feature_map: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One batched pass over every view of ``x``: the film's own feature map and pooled features,
    and the logits averaged over the views (test-time augmentation, the same in training's scoring
    and in the app). ``views[0]`` must be the identity (:func:`check_views`). ``feature_map``: what
    computes ``net.feature_map`` (the app passes a frozen copy, :class:`FrozenTrunk`)."""
    n = x.shape[0]
    xs = torch.cat([shifted(x, v) for v in views]) if len(views) > 1 else x
    fmap = (feature_map or net.feature_map)(xs.contiguous(memory_format=torch.channels_last))
    pooled = net.pool(fmap)
    logits = net.classifier(pooled)
    if len(views) > 1:
        logits = logits.view(len(views), n, -1).mean(0)
    return fmap[:n], pooled[:n], logits


# --- CAM maths ---------------------------------------------------------------------------------
def linear_head_cams(fmap: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``relu(sum_k w_ck A_k)`` for every class: ``(B, K, h, w), (L, K) -> (B, L, h, w)``.

    The bias is left out: it shifts a map by a constant, which min-max scaling removes anyway, and
    GradCAM (which never sees the bias) does the same.
    """
    return torch.relu(torch.einsum("lk,bkhw->blhw", weight, fmap))


def minmax(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each ``(h, w)`` map of ``(N, h, w)`` to [0, 1] as pytorch-grad-cam does.

    Returns ``(scaled, peak)`` where ``peak`` is each map's maximum before scaling.
    """
    flat = maps.reshape(maps.shape[0], -1)
    low = flat.min(axis=1)[:, None, None]
    shifted = maps - low
    peak = flat.max(axis=1)
    scaled = shifted / (1e-7 + shifted.reshape(maps.shape[0], -1).max(axis=1)[:, None, None])
    return scaled.astype(np.float32), peak.astype(np.float32)


def upsample_cam(cam: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize one ``(h, w)`` map like pytorch-grad-cam (``cv2.resize`` bilinear) and rescale to [0, 1]."""
    import cv2

    big = cv2.resize(np.float32(cam), (int(width), int(height)), interpolation=cv2.INTER_LINEAR)
    big = big - big.min()
    return (big / (1e-7 + big.max())).astype(np.float32)


def inference_threads() -> int:
    """Intra-op threads for one image (``DRDC_TORCH_THREADS``, default 1).

    One thread is the robust choice on a small shared machine: a 2-thread OpenMP forward pass of
    DenseNet-121 took 1.6 s instead of 0.19 s while other processes kept both cores busy, and on an
    idle machine two threads gain little for a single 224 px image. Batches and sessions run in
    parallel instead.
    """
    import os

    try:
        return max(1, int(os.environ.get("DRDC_TORCH_THREADS", "1")))
    except ValueError:
        return 1


class _Threads:
    """Set torch's intra-op thread count for a block and restore it when the last of the blocks that
    overlap in time (several analysis slots) ends: the count is process-wide, so a block that ended
    first must not restore it under one still running."""

    _lock = threading.Lock()
    _inside = 0
    _saved = 0

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        with _Threads._lock:
            if _Threads._inside == 0:
                _Threads._saved = torch.get_num_threads()
            _Threads._inside += 1
            if torch.get_num_threads() != self.n:
                torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        with _Threads._lock:
            _Threads._inside -= 1
            if _Threads._inside == 0 and torch.get_num_threads() != _Threads._saved:
                torch.set_num_threads(_Threads._saved)


def _hash_state_dict(module: nn.Module) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


# --- models ------------------------------------------------------------------------------------
class PooledLinearChestModel(ChestModel):
    """A chest model with a pooled-linear head: probabilities, features and all CAMs in one pass."""

    cam_method = "cam-linear-head"

    def __init__(
        self,
        net: PooledLinearNet,
        calibration: Calibration,
        labels: Sequence[str],
        identity: ModelIdentity,
        preprocess: Preprocess = xrv_array,
        views: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """``views``: test-time views ``(scale, dx, dy)`` whose logits are averaged (see
        :func:`forward_views`); the first must be the film itself ``(1, 0, 0)``.

        Raises:
            ValueError: outputs and labels differ in number, or the views are malformed.
        """
        if net.classifier.out_features != len(labels):
            raise ValueError(f"model has {net.classifier.out_features} outputs but {len(labels)} labels")
        self.views = check_views(views)
        self.net = net.eval().to(memory_format=torch.channels_last)  # ~10 % faster convolutions on CPU
        self.trunk = FrozenTrunk(self.net) if torchscript_enabled() else None
        self.calibration = calibration.eval()
        self.labels = tuple(labels)
        self.identity = identity
        self.preprocess = preprocess
        self.threads = inference_threads()

    def warm(self) -> PooledLinearChestModel:
        """Make the frozen trunk for this model's input size now (about 0.3-1 s), so that the first
        person's first film does not wait for it; returns the model (a no-op when eager)."""
        if self.trunk is not None:
            arr, _ = self.preprocess(np.zeros((256, 256), dtype=np.float32))
            with _Threads(self.threads), torch.inference_mode():
                self.trunk(torch.zeros((len(self.views), *arr.shape)).contiguous(memory_format=torch.channels_last))
        return self

    def predict(self, image: ImageInput) -> ChestPrediction:
        return self.predict_pixels(image.pixels)

    def predict_pixels(self, pixels: np.ndarray) -> ChestPrediction:
        arr, crop = self.preprocess(pixels)
        return self._run(torch.from_numpy(arr[None]), [crop])[0]

    def predict_batch(self, images: Sequence[ImageInput]) -> list[ChestPrediction]:
        arrays, crops = zip(*(self.preprocess(img.pixels) for img in images), strict=True) if images else ((), ())
        if not arrays:
            return []
        return self._run(torch.from_numpy(np.stack(arrays)), list(crops))

    def _run(self, x: torch.Tensor, crops: list[CropBox]) -> list[ChestPrediction]:
        """One pass; several threads may run it at once (the process's analysis slots bound how many):
        nothing here changes the model, and :class:`_Threads` keeps the process-wide intra-op thread
        count until the last overlapping pass ends."""
        x = x.contiguous(memory_format=torch.channels_last)
        with _Threads(self.threads), torch.inference_mode():
            fmap, pooled, logits = forward_views(self.net, x, self.views, self.trunk)
            probs = self.calibration(logits)
            cams = linear_head_cams(fmap, self.net.classifier.weight)
            if self.net.features_width is not None:
                pooled = pooled[:, :self.net.features_width]
        out = []
        for i, crop in enumerate(crops):
            scaled, peak = minmax(cams[i].numpy())
            out.append(
                ChestPrediction(
                    labels=self.labels,
                    probabilities=_frozen(probs[i].numpy()),
                    logits=_frozen(logits[i].numpy()),
                    features=_frozen(pooled[i].numpy()),
                    cams=_frozen(scaled),
                    cam_peak=_frozen(peak),
                    cam_method=self.cam_method,
                    crop=crop,
                    model=self.identity,
                )
            )
        return out


class GradCamChestModel(ChestModel):
    """Any classifier whose head is not pooled-linear: heatmaps from pytorch-grad-cam's GradCAM.

    The image is repeated once per label in one batch, with one ``ClassifierOutputTarget`` per copy,
    so all heatmaps cost one batched forward and one backward pass. Probabilities and pooled features
    come from a separate no-grad pass over the single image.
    """

    cam_method = "gradcam"

    def __init__(
        self,
        net: nn.Module,
        target_layer: nn.Module,
        calibration: Calibration,
        labels: Sequence[str],
        identity: ModelIdentity,
        preprocess: Preprocess,
        features_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.net = net.eval()
        self.target_layer = target_layer
        self.calibration = calibration.eval()
        self.labels = tuple(labels)
        self.identity = identity
        self.preprocess = preprocess
        self.features_fn = features_fn
        self.threads = inference_threads()
        self._lock = threading.Lock()

    def predict(self, image: ImageInput) -> ChestPrediction:
        return self.predict_pixels(image.pixels)

    def predict_pixels(self, pixels: np.ndarray) -> ChestPrediction:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        arr, crop = self.preprocess(pixels)
        x = torch.from_numpy(arr[None])
        with self._lock, _Threads(self.threads):
            with torch.inference_mode():
                logits = self.net(x)
                probs = self.calibration(logits)
                feats = self.features_fn(x) if self.features_fn else logits
            n = len(self.labels)
            with GradCAM(model=self.net, target_layers=[self.target_layer]) as cam:
                maps = cam(input_tensor=x.repeat(n, 1, 1, 1), targets=[ClassifierOutputTarget(c) for c in range(n)])
        peak = maps.reshape(n, -1).max(axis=1)
        return ChestPrediction(
            labels=self.labels,
            probabilities=_frozen(probs[0].numpy()),
            logits=_frozen(logits[0].numpy()),
            features=_frozen(feats[0].reshape(-1).numpy()),
            cams=_frozen(maps),
            cam_peak=_frozen(peak),
            cam_method=self.cam_method,
            crop=crop,
            model=self.identity,
        )


# --- the torchxrayvision DenseNet ----------------------------------------------------------------
XRV_WEIGHTS = "densenet121-res224-all"


def xrv_op_threshs(weights: str = XRV_WEIGHTS) -> list[float]:
    """The operating points torchxrayvision ships for ``weights`` (its ``model_urls`` table)."""
    import torchxrayvision as xrv

    return [float(v) for v in xrv.models.model_urls[weights]["op_threshs"]]


def wrap_xrv_densenet(model: nn.Module, identity: ModelIdentity, op_threshs: Sequence[float] | None = None) -> PooledLinearChestModel:
    """Wrap an ``xrv.models.DenseNet`` (weights loaded) with xrv's preprocessing and calibration."""
    labels = tuple(getattr(model, "targets", None) or getattr(model, "pathologies", ()))
    thr = list(op_threshs) if op_threshs is not None else xrv_op_threshs()
    return PooledLinearChestModel(
        xrv_pooled_linear(model.eval()), Calibration(thr), labels, identity, preprocess=xrv_array
    )


def build_test_model(seed: int = 0) -> PooledLinearChestModel:
    """A **random-weight** xrv DenseNet-121 for tests and benchmarks (never a real result).

    Built with ``xrv.models.DenseNet(weights=None)`` under a fixed seed, with xrv's real
    ``op_threshs`` so the calibration path is the real one. ``is_test_model`` is True; the loader
    never returns it, and the page labels it as a test model if one is injected.
    """
    import torchxrayvision as xrv

    torch.manual_seed(seed)
    model = xrv.models.DenseNet(weights=None).eval()
    # With random convolutions the pooled features are large, so a random head saturates the
    # sigmoid (every probability 0 or 1). Rescale the head on a fixed synthetic image so logits
    # spread around each finding's operating point (still random weights, still a test model).
    thr = torch.tensor(xrv_op_threshs())
    with torch.inference_mode():
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, 224), torch.linspace(-1, 1, 224), indexing="ij")
        probe = (torch.cos(3 * xx) * torch.cos(2 * yy) * 800.0)[None, None]
        feats = F.adaptive_avg_pool2d(F.relu(model.features(probe)), (1, 1)).flatten(1)[0]
    with torch.no_grad():
        gen = torch.Generator().manual_seed(seed + 1)
        weight = torch.randn(model.classifier.weight.shape, generator=gen)
        weight *= 2.0 / (feats.norm() + 1e-6)
        model.classifier.weight.copy_(weight)
        model.classifier.bias.copy_(torch.log(thr / (1 - thr)) - weight @ feats)
    identity = ModelIdentity(
        name="test-random-densenet121",
        title="TEST MODEL: random-weight DenseNet-121 (not a real result)",
        version=f"random-seed-{seed}",
        sha256=_hash_state_dict(model),
        is_test_model=True,
    )
    return wrap_xrv_densenet(model, identity)
