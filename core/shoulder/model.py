"""The learned path as the page sees it: install status of the fine-tuned model, and
predictions only when verified weights are installed (never from random weights).

No weights ship with the app: a site that has DXA-labelled shoulder radiographs trains its own
with ``python -m core.shoulder.train`` and installs the file under the card's name.

torch is imported (through :mod:`core.shoulder.inference`) only when a model is loaded, so a page
that only shows the install status never pays for it. Nothing here imports the training code.
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
    """(model, thresholds) from a verified checkpoint.

    Raises:
        ValueError: not a shoulder classifier checkpoint.
        OSError: the file cannot be read.
    """
    from core.shoulder.inference import load_classifier  # torch: only once a model is installed

    return load_classifier(path)


def predict(model: Any, gray: np.ndarray, with_cam: bool = True) -> dict[str, Any]:
    """Class probabilities (``normal``, ``osteopenia``, ``osteoporosis``) and a Grad-CAM map.

    Raises:
        RuntimeError: the network failed on this image (torch).
    """
    from core.shoulder.inference import predict as run  # torch: only once a model is installed

    return run(model, gray, with_cam=with_cam)


def cam_picture(gray: np.ndarray, cam_map: np.ndarray) -> np.ndarray:
    """The Grad-CAM map of :func:`predict` over the radiograph as uint8 RGB."""
    from core.shoulder.inference import cam_picture as picture  # torch: only once a model is installed

    return picture(gray, cam_map)
