"""A cache of preprocessed training images (the input spec itself is :class:`core.chest.nets.InputSpec`).

Training, evaluation and the app prepare an image the same way: the display-ready pixels from
:func:`core.imaging.load_image` (VOI LUT, MONOCHROME1, EXIF applied) -> channel mean -> centred
square crop -> area resize (``core.chest.preprocess.generic_array``). The cache stores that square
as uint8 once per image, so epochs only pay for augmentation and the network; the linear range
and per-channel normalisation of :class:`~core.chest.nets.InputSpec` are applied on the fly (to batches, on the
device), identical to ``generic_array`` up to the uint8 rounding (at most 1/510 of the range).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.chest.preprocess import generic_array
from core.imaging import load_image
from core.training.data import LabelledSet, Sample


def square_u8(pixels: np.ndarray, size: int) -> np.ndarray:
    """Display-ready ``[0, 1]`` pixels -> the ``(size, size)`` uint8 square the models see."""
    arr, _ = generic_array(pixels, size, channels=1)
    return np.clip(np.rint(arr[0] * 255.0), 0, 255).astype(np.uint8)


def read_pixels(sample: Sample) -> np.ndarray:
    """A sample's display-ready ``[0, 1]`` pixels.

    Raises:
        core.imaging.ImageError: the file is not a readable image.
    """
    if sample.pixels is not None:
        return sample.pixels.astype(np.float32) / 255.0
    assert sample.path is not None
    return load_image(Path(sample.path).read_bytes(), Path(sample.path).name).pixels


def _cache_key(samples: Sequence[Sample], size: int) -> str:
    digest = hashlib.sha256(f"v1|{size}".encode())
    for s in samples:
        if s.path is not None:
            st = Path(s.path).stat()
            digest.update(f"{s.path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        else:
            digest.update(s.key.encode())
            digest.update(hashlib.sha256(np.ascontiguousarray(s.pixels).tobytes()).digest())
    return digest.hexdigest()[:24]


def load_squares(data: LabelledSet, size: int, cache_dir: Path | None = None, progress: bool = False) -> np.ndarray:
    """``(N, size, size)`` uint8 squares of every sample, cached in ``cache_dir`` when given.

    The cache file name is a hash of the files' paths, sizes and modification times and of
    ``size``, so a changed image is re-read. Raises ``core.imaging.ImageError`` for unreadable files.
    """
    path = None
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        path = cache_dir / f"{data.name}-{size}-{_cache_key(data.samples, size)}.npy"
        if path.is_file():
            return np.load(path)
    out = np.zeros((len(data), size, size), dtype=np.uint8)
    iterator: Any = data.samples
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=f"preprocess {data.name} @{size}px", unit="img")
    for i, s in enumerate(iterator):
        out[i] = square_u8(read_pixels(s), size)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(path)
        (path.with_suffix(".json")).write_text(json.dumps([s.key for s in data.samples]), encoding="utf-8")
    return out
