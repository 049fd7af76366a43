"""Runtime side of the shoulder model: loading a fine-tuned checkpoint, class probabilities and
Grad-CAM maps. This is all the app needs at run time; fitting, data and the command line live in
:mod:`core.shoulder.train`, which builds on these functions (never the other way round).

Imports torch: runtime callers reach it through :mod:`core.shoulder.model`, which imports it only
once a model is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.shoulder.net import LABELS, MEAN, STD, EncoderConfig, ShoulderClassifier


def resize_square(gray: np.ndarray, size: int) -> np.ndarray:
    """Resize to ``size`` x ``size`` (area interpolation)."""
    import cv2

    return cv2.resize(gray.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)


def load_classifier(path: Path) -> tuple[ShoulderClassifier, dict[str, float]]:
    """(model in eval mode, thresholds) from a fine-tuned checkpoint.

    Raises:
        ValueError: the file is not a shoulder classifier checkpoint.
    """
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "shoulder-classifier":
        raise ValueError(f"{path} is not a shoulder classifier checkpoint")
    model = ShoulderClassifier(EncoderConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, dict(ckpt.get("thresholds", {}))


@torch.no_grad()
def predict_probs(model: ShoulderClassifier, images: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """Softmax probabilities for a (N, 1, S, S) tensor in [0, 1]."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = (images[i:i + batch_size] - MEAN) / STD
        out.append(torch.softmax(model(x), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS)))


def gradcam_overlays(model: ShoulderClassifier, images: torch.Tensor, target: int = 2) -> np.ndarray:
    """Grad-CAM maps (N, S, S) in [0, 1] for class ``target`` on the last encoder block.

    Hooks are removed on exit (the context manager), so repeated calls do not stack them.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from core.shoulder.net import vit_reshape_transform

    model.eval()
    x = (images - MEAN) / STD
    with GradCAM(model=model, target_layers=[model.encoder.blocks[-1].norm1],
                 reshape_transform=vit_reshape_transform(model.cfg)) as cam:
        maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)] * len(x))
    return np.asarray(maps, dtype=np.float32)


def overlay_rgb(gray: np.ndarray, cam_map: np.ndarray) -> np.ndarray:
    """Heat map over the grayscale radiograph as uint8 RGB (jet, 40% opacity)."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    rgb = np.repeat(np.clip(gray, 0, 1)[..., None], 3, axis=2).astype(np.float32)
    return show_cam_on_image(rgb, cam_map, use_rgb=True, image_weight=0.6)


def predict(model: ShoulderClassifier, gray: np.ndarray, with_cam: bool = True) -> dict[str, Any]:
    """Class probabilities (``normal``, ``osteopenia``, ``osteoporosis``) of one grayscale image in
    [0, 1], and (``with_cam``) its Grad-CAM map for the osteoporosis class at the model's input size.

    Raises:
        RuntimeError: the network failed on this image (torch).
    """
    size = model.cfg.img_size
    img = torch.from_numpy(resize_square(gray, size))[None, None]
    probs = predict_probs(model, img)[0]
    out: dict[str, Any] = {"probs": {k: float(p) for k, p in zip(LABELS, probs, strict=True)}}
    if with_cam:
        out["cam"] = gradcam_overlays(model, img)[0]
    return out


def cam_picture(gray: np.ndarray, cam_map: np.ndarray) -> np.ndarray:
    """The Grad-CAM map over the radiograph, resized to the map's size, as uint8 RGB."""
    return overlay_rgb(resize_square(gray, cam_map.shape[0]), cam_map)
