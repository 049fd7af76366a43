"""The learned path as the page sees it: install status of the fine-tuned model, and
predictions only when verified weights are installed (never from random weights).

No weights ship with the app: a site that has DXA-labelled shoulder radiographs trains its own
with ``python -m core.shoulder.train`` and installs the file under the card's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CLASSIFIER_CARD = "shoulder-osteoporosis-vit"
ENCODER_CARD = "shoulder-mae-vit-encoder"


@dataclass(frozen=True)
class ModelInfo:
    """State of the learned model: ``installed``, ``missing``, ``corrupt``, ``unpinned`` or ``unknown``."""

    name: str
    state: str
    path: Path | None
    command: str


def model_info(name: str = CLASSIFIER_CARD) -> ModelInfo:
    """Install state of the shoulder model from the weights registry (no side effects)."""
    from core.models.registry import get_card, install_command, status, trust_command

    try:
        card = get_card(name)
        st = status(name)
    except (KeyError, ValueError):
        return ModelInfo(name, "unknown", None, "")
    command = trust_command(name) if st.state == "unpinned" else install_command(card)
    return ModelInfo(name, st.state, st.path if st.installed else None, command)


def load(path: Path) -> tuple[Any, dict[str, float]]:
    """(model, thresholds) from a verified checkpoint (torch imported only here).

    Raises:
        ValueError: not a shoulder classifier checkpoint.
    """
    from core.shoulder.train import load_classifier

    return load_classifier(path)


def predict(model: Any, gray: np.ndarray, with_cam: bool = True) -> dict[str, Any]:
    """Class probabilities (``normal``, ``osteopenia``, ``osteoporosis``) and a Grad-CAM map."""
    import torch

    from core.shoulder.net import LABELS
    from core.shoulder.train import gradcam_overlays, predict_probs, resize_square

    size = model.cfg.img_size
    img = torch.from_numpy(resize_square(gray, size))[None, None]
    probs = predict_probs(model, img)[0]
    out: dict[str, Any] = {"probs": {k: float(p) for k, p in zip(LABELS, probs, strict=True)}}
    if with_cam:
        out["cam"] = gradcam_overlays(model, img)[0]
    return out
