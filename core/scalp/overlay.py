"""Overlays that show the pixels each measurement counted (uint8 RGB images for display)."""

from __future__ import annotations

import cv2
import numpy as np

from core.scalp.measure import Analysed

OVERLAYS: tuple[str, ...] = ("hair", "redness", "shine", "flakes", "pustules")


def _base(image: np.ndarray, dim: float = 0.75) -> np.ndarray:
    return np.clip(image * 255.0 * dim, 0, 255).astype(np.uint8)


def _tint(img: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], alpha: float = 0.6) -> np.ndarray:
    out = img.copy()
    if mask.any():
        out[mask] = (out[mask] * (1 - alpha) + np.array(colour, np.float32) * alpha).astype(np.uint8)
    return out


def _outline(img: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = img.copy()
    cv2.drawContours(out, contours, -1, colour, 1, lineType=cv2.LINE_AA)
    return out


def overlay(analysed: Analysed, kind: str) -> np.ndarray:
    """The overlay ``kind`` (one of :data:`OVERLAYS`) on the analysis image.

    Raises:
        ValueError: unknown ``kind``.
    """
    masks, img = analysed.masks, analysed.image
    if kind == "hair":
        out = _tint(_base(img), masks.hair, (40, 120, 255), 0.55)
        out[masks.skeleton] = (255, 230, 0)
        for r, c in masks.hair_ends:
            cv2.circle(out, (int(c), int(r)), 5, (0, 255, 120), 1, lineType=cv2.LINE_AA)
        return out
    if kind == "redness":
        a = masks.a_star
        lo, hi = np.percentile(a, 2), max(np.percentile(a, 99.5), np.percentile(a, 2) + 1)
        heat = np.clip((a - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
        coloured = cv2.applyColorMap(heat, cv2.COLORMAP_INFERNO)[..., ::-1]
        out = (0.45 * _base(img, 1.0) + 0.55 * coloured).astype(np.uint8)
        out = _outline(out, masks.erythema, (0, 255, 255))
        return _outline(out, masks.follicle_zone, (120, 255, 120))
    if kind == "shine":
        out = _tint(_base(img, 0.6), cv2.dilate(masks.shine.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0,
                    (255, 0, 255), 0.8)
        return out
    if kind == "flakes":
        out = _tint(_base(img, 0.7), masks.fine_flakes, (0, 220, 255), 0.75)
        return _tint(out, masks.large_flakes, (255, 200, 0), 0.75)
    if kind == "pustules":
        out = _base(img, 0.85)
        for r, c, rad in masks.pustules:
            cv2.circle(out, (round(c), round(r)), int(rad * 2.4) + 3, (255, 255, 0), 2, lineType=cv2.LINE_AA)
        return out
    raise ValueError(f"unknown overlay {kind!r}; expected one of {OVERLAYS}")


def cam_overlay(image: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """A model heat map (values in [0, 1], same size as ``image``) over the photo."""
    heat = cv2.applyColorMap(np.uint8(np.clip(cam, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    return (0.55 * _base(image, 1.0) + 0.45 * heat).astype(np.uint8)
