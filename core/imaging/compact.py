"""What a page keeps of a decoded upload between reruns: a downscaled uint8 / float16 copy.

A decoded :class:`ImageInput` holds float32 pixels at full resolution (a 60-megapixel upload is
240 MB). Pages keep a :class:`CompactImage` instead: the long side area-averaged down to at most
``max_side`` pixels, stored as uint8 for 8-bit sources and float16 for deeper ones (a 50-megapixel
radiograph becomes 2048 x 1365 x 2 bytes = 5.6 MB), with the metadata and the original size. The
float32 :class:`ImageInput` the analyses need is rebuilt from it on demand (:meth:`to_input`), at
the reduced size, and the pixel spacing is scaled to match.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from core.imaging.types import ImageInput

#: Longest side kept by default: more than any screen shows, and every analysis downsamples further.
MAX_SIDE = 2048


@dataclass(frozen=True, eq=False)
class CompactImage:
    """A decoded upload as kept in a session (see the module docstring).

    Attributes:
        pixels: uint8 (0-255) or float16 ([0, 1]) pixels, (h, w) or (h, w, 3); read-only.
        values: the other :class:`ImageInput` fields (sha256, format, tags, meta...), with
            ``spacing_mm`` scaled to the stored size.
        original_size: (height, width) of the decoded upload.
    """

    pixels: np.ndarray
    values: dict[str, Any] = field(repr=False)
    original_size: tuple[int, int]

    @classmethod
    def of(cls, image: ImageInput, max_side: int = MAX_SIDE, precise: bool = False) -> CompactImage:
        """The session copy of ``image``: area-downscaled to ``max_side``, uint8 when the source
        has 8 bits or fewer per sample (and not ``precise``), else float16."""
        import cv2

        px = np.asarray(image.pixels)
        height, width = px.shape[:2]
        scale = min(1.0, max_side / float(max(height, width)))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            px = cv2.resize(px, size, interpolation=cv2.INTER_AREA)
        if image.bit_depth <= 8 and not precise:
            stored = np.rint(np.clip(px, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8, order="C")
        else:
            stored = px.astype(np.float16, order="C")  # C order: a planar decoder's layout is not kept
        stored.setflags(write=False)
        values = {f.name: getattr(image, f.name) for f in fields(image) if f.name != "pixels"}
        if values.get("spacing_mm") is not None and stored.shape[:2] != (height, width):
            row, col = values["spacing_mm"]
            values["spacing_mm"] = (row * height / stored.shape[0], col * width / stored.shape[1])
        meta = dict(values.get("meta") or {})
        meta.update(original_width=int(width), original_height=int(height))
        values["meta"] = meta
        return cls(stored, values, (int(height), int(width)))

    @property
    def nbytes(self) -> int:
        """Bytes held (the pixels; the metadata is a few hundred bytes)."""
        return int(self.pixels.nbytes) + 1024

    @property
    def reduced(self) -> bool:
        """True when the stored copy is smaller than the decoded upload."""
        return self.pixels.shape[:2] != self.original_size

    @property
    def sha256(self) -> str:
        return str(self.values["sha256"])

    @property
    def is_color(self) -> bool:
        return bool(self.values["is_color"])

    def to_uint8(self) -> np.ndarray:
        """The stored pixels as uint8 (0-255), for display."""
        if self.pixels.dtype == np.uint8:
            return self.pixels
        return np.rint(np.clip(self.pixels.astype(np.float32), 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)

    def to_input(self) -> ImageInput:
        """A float32 :class:`ImageInput` at the stored size (a new array each call)."""
        if self.pixels.dtype == np.uint8:
            px = np.divide(self.pixels, np.float32(255.0), dtype=np.float32)
        else:
            px = self.pixels.astype(np.float32)
        return ImageInput(pixels=px, **self.values)


def load_compact(data: bytes, filename: str | None = None, max_side: int = MAX_SIDE, precise: bool = False) -> CompactImage:
    """Decode an upload as pages do (:func:`core.imaging.load_upload`: a worker with a time and
    memory limit) and keep only its session copy, made in the worker: the full-resolution float32
    pixels never reach the app's process.

    Raises:
        ImageError: see :func:`core.imaging.load_upload`.
    """
    from core.imaging.worker import decode_isolated

    result, _stats = decode_isolated(data, filename, compact=(max_side, precise))
    if isinstance(result, Exception):
        raise result
    return result
