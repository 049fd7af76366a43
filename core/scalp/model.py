"""The trained scalp model: EfficientNet-B0 (timm) with six 4-class heads, one per condition.

Not shipped (the AI Hub data it needs cannot be redistributed): ``python -m core.scalp.train fit
--data <AI Hub folder> --install`` trains it and installs it into the weights registry under
:data:`CARD_NAME`; the page then uses it automatically (:func:`load_installed`).

Checkpoints are plain ``{"state_dict": ..., "meta": {...}}`` dicts loaded with
``torch.load(weights_only=True)``: no pickled code runs on load.

Heat maps: each head is linear on globally average-pooled features ``A`` (the output of the
backbone's last conv block), so Grad-CAM for "grade c rather than grade 0" of head h is exactly
``ReLU(sum_k (W[h,c,k] - W[h,0,k]) A_k)`` (the gradient of the logit difference with respect to
``A_k(i, j)`` is ``(W[h,c,k] - W[h,0,k]) / HW`` everywhere). One forward pass gives all six maps;
a test checks them against pytorch-grad-cam's ``GradCAM``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from core.scalp.severity import CONDITIONS, MODEL_CARD

CARD_NAME = MODEL_CARD
ARCH = "efficientnet_b0"
NUM_GRADES = 4
DEFAULT_IMAGE_SIZE = 320
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


class ScalpNet(nn.Module):
    """EfficientNet-B0 features -> global average pool -> dropout -> six linear 4-way heads.

    ``forward`` returns logits of shape (B, 6, 4); ``features`` the last conv activations.
    """

    def __init__(self, pretrained: bool = False, dropout: float = 0.2) -> None:
        super().__init__()
        import timm

        self.backbone = timm.create_model(ARCH, pretrained=pretrained, num_classes=0, global_pool="")
        n = int(self.backbone.num_features)
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.Linear(n, len(CONDITIONS) * NUM_GRADES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)  # (B, C, h, w): global_pool="" keeps the map

    def head_logits(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.heads(self.dropout(pooled)).view(-1, len(CONDITIONS), NUM_GRADES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head_logits(self.features(x).mean(dim=(2, 3)))

    def head_weights(self) -> torch.Tensor:
        """(6, 4, C) weights of the heads."""
        return self.heads.weight.view(len(CONDITIONS), NUM_GRADES, -1)


@dataclass
class ScalpModel:
    """A loaded network plus what it needs at inference."""

    net: ScalpNet
    image_size: int = DEFAULT_IMAGE_SIZE
    meta: dict[str, Any] = field(default_factory=dict)
    name: str = CARD_NAME
    path: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "local"))


def preprocess(rgb: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) float [0, 1] -> (3, size, size) float32, ImageNet-normalised (aspect squashed,
    as in training: the AI Hub frames all share one aspect ratio)."""
    small = cv2.resize(np.asarray(rgb, np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return ((small - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1).astype(np.float32)


def save_checkpoint(model: ScalpModel, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**model.meta, "arch": ARCH, "image_size": int(model.image_size), "conditions": list(CONDITIONS),
            "num_grades": NUM_GRADES}
    state = {k: v.detach().cpu() for k, v in model.net.state_dict().items()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"state_dict": state, "meta": meta}, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: Path, device: str | torch.device = "cpu") -> ScalpModel:
    """Load a checkpoint written by :func:`save_checkpoint` (weights only, no code).

    Raises:
        ValueError: the file is not a six-head scalp checkpoint.
    """
    blob = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(blob, dict) or "state_dict" not in blob:
        raise ValueError(f"{path} is not a scalp model checkpoint")
    meta = dict(blob.get("meta") or {})
    if tuple(meta.get("conditions", CONDITIONS)) != CONDITIONS or meta.get("arch", ARCH) != ARCH:
        raise ValueError(f"{path}: checkpoint was made for other conditions or another architecture")
    net = ScalpNet(pretrained=False)
    net.load_state_dict(blob["state_dict"])
    net.to(device).eval()
    return ScalpModel(net=net, image_size=int(meta.get("image_size", DEFAULT_IMAGE_SIZE)), meta=meta, path=path)


def load_installed() -> ScalpModel | None:
    """The installed and verified model, or None when it is not installed (the usual case)."""
    from core.models.registry import installed_path

    path = installed_path(CARD_NAME)
    if path is None:
        return None
    model = load_checkpoint(path)
    model.meta.setdefault("version", model.meta.get("version", "local"))
    return model


@dataclass(frozen=True)
class ModelOutput:
    """Per-condition class probabilities (6 x 4) and, on request, heat maps in [0, 1]."""

    probabilities: np.ndarray
    cams: dict[str, np.ndarray] | None = None

    @property
    def grades(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.probabilities.argmax(axis=1))


def contrast_cams(net: ScalpNet, feats: torch.Tensor, grades: tuple[int, ...]) -> np.ndarray:
    """(6, h, w) maps of the evidence for each head's grade against grade 0 (zeros for grade 0)."""
    weights = net.head_weights()  # (6, 4, C)
    maps = []
    for head, grade in enumerate(grades):
        if grade == 0:
            maps.append(torch.zeros(feats.shape[-2:], device=feats.device))
            continue
        w = weights[head, grade] - weights[head, 0]  # (C,)
        maps.append(torch.relu(torch.einsum("c,chw->hw", w, feats[0])))
    return torch.stack(maps).detach().cpu().numpy()


def _normalise(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    up = cv2.resize(cam.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    top = float(up.max())
    return up / top if top > 0 else up


@torch.no_grad()
def predict(model: ScalpModel, rgb: np.ndarray, with_cams: bool = False) -> ModelOutput:
    """Probabilities for one photo; with ``with_cams`` the six contrast maps at the photo's size."""
    model.net.eval()
    x = torch.from_numpy(preprocess(rgb, model.image_size))[None].to(model.device)
    feats = model.net.features(x)
    logits = model.net.head_logits(feats.mean(dim=(2, 3)))
    probs = torch.softmax(logits.float(), dim=-1)[0].cpu().numpy()
    cams = None
    if with_cams:
        grades = tuple(int(v) for v in probs.argmax(axis=1))
        raw = contrast_cams(model.net, feats.float(), grades)
        cams = {c: _normalise(raw[i], rgb.shape[:2]) for i, c in enumerate(CONDITIONS)}
    return ModelOutput(probabilities=probs, cams=cams)
