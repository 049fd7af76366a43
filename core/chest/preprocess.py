"""torchxrayvision's input pipeline, exactly, plus the geometry to map model maps back to the image.

torchxrayvision (README and ``xrv.utils.load_image``) prepares an 8-bit image as::

    img = xrv.datasets.normalize(img, 255)     # (2 * img / 255 - 1) * 1024  ->  [-1024, 1024]
    img = img.mean(2)[None, ...]               # colour file: channel mean; grey: add the channel axis
    img = XRayCenterCrop()(img)                # square crop on the long side, centred
    img = XRayResizer(224)(img)                # skimage.transform.resize (anti-aliased, order 1)

``ImageInput.pixels`` are display-ready floats in [0, 1] (``u8 / 255`` for 8-bit files; DICOM after
VOI LUT and MONOCHROME1 inversion), so ``(2 * p - 1) * 1024`` is the same normalisation; the channel
mean commutes with it. Crop and resize are xrv's own classes, so the tensor equals xrv's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass

XRV_SIZE = 224
XRV_RANGE = 1024.0


@dataclass(frozen=True)
class CropBox:
    """The square of the original image the model saw: rows ``top:top+size``, cols ``left:left+size``.

    ``height``/``width`` are the original image's. Model-grid maps cover exactly this square.
    """

    top: int
    left: int
    size: int
    height: int
    width: int

    @classmethod
    def centre(cls, height: int, width: int) -> CropBox:
        """The crop ``xrv.datasets.XRayCenterCrop`` takes (same integer arithmetic)."""
        size = min(height, width)
        return cls(top=height // 2 - size // 2, left=width // 2 - size // 2, size=size, height=height, width=width)

def gray_of(pixels: np.ndarray) -> np.ndarray:
    """Single channel the way xrv makes it: the channel mean of a colour image (float32)."""
    arr = np.asarray(pixels, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr.mean(axis=2, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {arr.shape}")
    return arr


def xrv_normalize(gray: np.ndarray) -> np.ndarray:
    """[0, 1] pixels -> xrv's [-1024, 1024] range (``xrv.utils.normalize(u8, 255)`` for 8-bit data)."""
    return ((2.0 * gray.astype(np.float32) - 1.0) * XRV_RANGE).astype(np.float32)


def xrv_array(pixels: np.ndarray, size: int = XRV_SIZE) -> tuple[np.ndarray, CropBox]:
    """Pixels in [0, 1] -> xrv's ``(1, size, size)`` float32 input and the crop it came from."""
    import torchxrayvision as xrv

    img = xrv_normalize(gray_of(pixels))[None, ...]
    crop = CropBox.centre(img.shape[1], img.shape[2])
    img = xrv.datasets.XRayCenterCrop()(img)
    img = xrv.datasets.XRayResizer(size)(img)
    return np.ascontiguousarray(img, dtype=np.float32), crop


def generic_array(
    pixels: np.ndarray,
    size: int,
    *,
    channels: int = 1,
    value_range: tuple[float, float] = (0.0, 1.0),
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
) -> tuple[np.ndarray, CropBox]:
    """Preprocessing for other chest models (starter models): centre crop, area resize, linear range.

    ``value_range`` maps [0, 1] pixels linearly; ``mean``/``std`` (per channel) are applied after.
    Returns a ``(channels, size, size)`` float32 array and the crop.
    """
    import cv2

    gray = gray_of(pixels)
    crop = CropBox.centre(*gray.shape)
    square = gray[crop.top:crop.top + crop.size, crop.left:crop.left + crop.size]
    interp = cv2.INTER_AREA if crop.size > size else cv2.INTER_LINEAR
    small = cv2.resize(square, (size, size), interpolation=interp).astype(np.float32)
    low, high = value_range
    arr = np.repeat((low + (high - low) * small)[None], channels, axis=0)
    if mean is not None and std is not None:
        arr = (arr - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]
    return np.ascontiguousarray(arr, dtype=np.float32), crop
