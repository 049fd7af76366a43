"""The loader's data types: :class:`ImageInput` (what every feature receives), :class:`Limits`
(what the loader refuses before decoding) and :class:`ImageError` (what it raises)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import UserError

# ITU-R BT.601 luma weights (the same ones PIL's "L" conversion uses).
LUMA_601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)

MIB = 1024 * 1024


class ImageError(UserError):
    """An uploaded file cannot be used as an image.

    Always built with an ``imaging.error.*`` translation key; its message never contains
    patient data or the file name. ``params`` may hold extra diagnostic values (such as
    ``reason``, the name of the underlying exception type) that the message does not show.
    """


@dataclass(frozen=True)
class Limits:
    """What :func:`core.imaging.load_image` refuses before decoding anything.

    Every limit is checked on the bytes or on the header before the expensive step it guards,
    so an upload within the byte limit cannot make a decoder run long or allocate much.

    Attributes:
        max_bytes: largest accepted file size in bytes (default 64 MiB).
        max_pixels: largest accepted pixel count declared by the header (for DICOM:
            rows x columns x frames; for a compressed DICOM frame also the size its
            codestream declares).
        min_side: smallest accepted width and height in pixels.
        max_elements: largest accepted number of decoded samples (pixels x channels; for DICOM
            rows x columns x frames x samples per pixel).
        max_dicom_elements: most DICOM data elements parsed (a radiograph has a few hundred; a
            66 MB file of 8-byte elements holds 8.3 million, which took pydicom 35 s and 2.7 GB);
            counted while parsing, so refusing costs well under a second.
        max_inflated_bytes: largest size a deflated DICOM data set may inflate to (inflated in
            bounded steps: never more than this is produced).
        max_jpeg_scans: most scans (SOS markers) in a JPEG stream, counted before decoding
            (a progressive JPEG has about 10; each scan is one more pass over the whole image).
        max_seconds: wall-clock limit of one decode in the isolated worker
            (:func:`core.imaging.load_upload`); :func:`load_image` itself does not time out.
        max_memory_bytes: memory one decode may add in the isolated worker (``RLIMIT_DATA``).

    Raises:
        ValueError: a limit is not a positive number.
    """

    max_bytes: int = 64 * MIB
    max_pixels: int = 50_000_000
    min_side: int = 32
    max_elements: int = 150_000_000
    max_dicom_elements: int = 50_000
    max_inflated_bytes: int = 64 * MIB
    max_jpeg_scans: int = 32
    max_seconds: float = 10.0
    max_memory_bytes: int = 1024 * MIB

    def __post_init__(self) -> None:
        for name in (
            "max_bytes", "max_pixels", "min_side", "max_elements", "max_dicom_elements",
            "max_inflated_bytes", "max_jpeg_scans", "max_memory_bytes",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")
        seconds = self.max_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
            raise ValueError(f"Limits.max_seconds must be a positive number, got {seconds!r}")


@dataclass(frozen=True, eq=False, repr=False)
class ImageInput:
    """A decoded, display-ready image.

    Attributes:
        pixels: float32 in [0, 1], shape (H, W) for grayscale or (H, W, 3) for RGB; read-only.
            VOI LUT / windowing applied, MONOCHROME1 inverted, EXIF orientation applied.
        source_format: "PNG", "JPEG", "BMP", "TIFF", "WEBP", "HEIF" or "DICOM".
        is_color: True only when the channels differ meaningfully (then ``pixels`` is RGB).
        bit_depth: bits per sample of the stored data (DICOM: Bits Stored).
        spacing_mm: (row_mm, col_mm) from DICOM Pixel Spacing or Imager Pixel Spacing, else None.
        modality: DICOM Modality (e.g. "CR", "DX"), None for other formats.
        body_part: DICOM Body Part Examined, or None.
        view_position: DICOM View Position (e.g. "PA"), or None.
        photometric: DICOM Photometric Interpretation as stored; for other formats the PIL
            mode of the source (e.g. "L", "I;16", "RGB", "CMYK").
        sha256: hex SHA-256 of the input bytes.
        meta: PHI-free technical details (allow-listed; JSON-serialisable values).
    """

    pixels: np.ndarray
    source_format: str
    is_color: bool
    bit_depth: int
    spacing_mm: tuple[float, float] | None
    modality: str | None
    body_part: str | None
    view_position: str | None
    photometric: str | None
    sha256: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        px = self.pixels
        if not isinstance(px, np.ndarray) or px.dtype != np.float32:
            raise TypeError("ImageInput.pixels must be a float32 numpy array")
        if not (px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3)):
            raise ValueError(f"ImageInput.pixels must be (H, W) or (H, W, 3), got {px.shape}")
        view = px.view()
        view.setflags(write=False)
        object.__setattr__(self, "pixels", view)

    @property
    def height(self) -> int:
        """Number of rows."""
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(self.pixels.shape[1])

    def gray(self) -> np.ndarray:
        """(H, W) float32 in [0, 1]: the pixels themselves (read-only) for grayscale images,
        ITU-R BT.601 luma for colour ones."""
        if self.pixels.ndim == 2:
            return self.pixels
        luma = self.pixels @ LUMA_601
        return np.clip(luma, 0.0, 1.0, out=luma).astype(np.float32, copy=False)

    def rgb(self) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1]: grayscale repeated on three channels, or the colour pixels."""
        if self.pixels.ndim == 3:
            return self.pixels
        return np.repeat(self.pixels[:, :, None], 3, axis=2)

    def to_uint8(self) -> np.ndarray:
        """The pixels as uint8 (0-255), same shape as ``pixels``."""
        return np.rint(self.pixels * np.float32(255.0)).astype(np.uint8)

    def __repr__(self) -> str:
        spacing = None if self.spacing_mm is None else tuple(round(v, 6) for v in self.spacing_mm)
        return (
            f"ImageInput(source_format={self.source_format!r}, shape={tuple(self.pixels.shape)}, "
            f"is_color={self.is_color}, bit_depth={self.bit_depth}, spacing_mm={spacing}, "
            f"modality={self.modality!r}, body_part={self.body_part!r}, "
            f"view_position={self.view_position!r}, photometric={self.photometric!r}, "
            f"sha256={self.sha256[:12]!r}..., meta={self.meta!r})"
        )

    __str__ = __repr__
