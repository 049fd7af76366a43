"""PNG, JPEG, BMP, TIFF, WebP and HEIC/HEIF through Pillow (and pillow-heif)."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from core.imaging.pixels import is_color, luma, robust_window
from core.imaging.precheck import jpeg_header
from core.imaging.quiet import ignored_warnings
from core.imaging.types import ImageError, Limits

try:  # HEIC/HEIF support is optional at import time; without it HEIF files are "corrupt".
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HAVE_HEIF = True
except Exception:  # pragma: no cover - pillow-heif is a runtime requirement
    HAVE_HEIF = False

# Pillow format names for each sniffed format: only that decoder may open the bytes.
_PIL_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "BMP": "BMP", "TIFF": "TIFF", "WEBP": "WEBP", "HEIF": "HEIF"}
_HIGH_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I;16S", "I", "F"}
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
#: EXIF tags naming the camera that took a photograph: Make, Model (only their presence is kept).
CAMERA_TAGS = (0x010F, 0x0110)


def decode_raster(data: bytes, fmt: str, limits: Limits) -> dict[str, Any]:
    """Decode ``data`` (already sniffed as ``fmt``) into the fields of an ImageInput.

    Raises:
        ImageError: ``too_many_scans`` (JPEG, from its markers), ``too_many_pixels`` /
            ``too_small`` from the header before decoding, ``truncated`` / ``corrupt`` when
            decoding fails, ``unsupported_pixels`` for pixel modes that cannot be shown.
    """
    if fmt == "JPEG":
        jpeg_header(data, limits.max_jpeg_scans, fmt)
    im = _open_lazily(data, fmt, limits)
    try:
        width, height = im.size
        check_dimensions(width, height, 1, limits, samples=_bands(im))
        multi_frame = bool(getattr(im, "is_animated", False))
        try:
            im.seek(0)
            im.load()
        except ImageError:
            raise
        except Exception as exc:
            raise decode_error(exc, fmt, data) from None
        if fmt == "WEBP" and getattr(im, "_decoder", None) is not None:
            im._decoder = None  # libwebp's own copy of the frame (200 MB at 50 MP): no longer needed
        camera = _names_camera(im)
        im, orientation = _apply_orientation(im)
        # pillow-heif applies the orientation while decoding and reports the original one
        applied = im.info.get("original_orientation")
        if isinstance(applied, int) and 1 < applied <= 8 and orientation in (None, 1):
            orientation = applied
        source_mode = im.mode
        pixels, color, extra = _to_pixels(im)
    finally:
        im.close()
    meta: dict[str, Any] = {
        "format": fmt,
        "mode": source_mode,
        "stored_width": int(width),
        "stored_height": int(height),
        **extra,
    }
    if multi_frame:
        meta["multi_frame"] = True
        meta["frame_index"] = 0
    if orientation is not None:
        meta["exif_orientation"] = orientation
    if camera:
        meta["exif_camera"] = True  # that a camera is named, never which (the gates' photo check)
    return {
        "pixels": pixels,
        "is_color": color,
        "bit_depth": _bit_depth(source_mode, fmt),
        "photometric": source_mode,
        "meta": meta,
    }


def check_dimensions(width: int, height: int, frames: int, limits: Limits, samples: int = 1) -> None:
    """Refuse images whose declared size is outside ``limits``: ``width x height x frames`` pixels
    at most ``max_pixels``, times ``samples`` (channels) at most ``max_elements``.

    Raises:
        ImageError: ``imaging.error.too_many_pixels`` or ``imaging.error.too_small``.
    """
    total = int(width) * int(height) * max(1, int(frames))
    channels = max(1, int(samples))
    # a multi-channel image may have fewer pixels: max_elements counts every decoded sample
    limit = min(limits.max_pixels, limits.max_elements // channels)
    if total > limit:
        raise ImageError(
            "imaging.error.too_many_pixels",
            megapixels=_megapixels(total),
            limit_mp=_megapixels(limit),
            width=int(width),
            height=int(height),
            frames=int(frames),
            samples=channels,
        )
    if min(width, height) < limits.min_side:
        raise ImageError(
            "imaging.error.too_small", width=int(width), height=int(height), min_side=limits.min_side
        )


def decode_error(exc: BaseException, fmt: str, data: bytes | None = None) -> ImageError:
    """The ImageError for a decoder failure: ``truncated`` when the data ends early, else
    ``corrupt`` (``out_of_memory`` for MemoryError). Never quotes the library's message."""
    reason = type(exc).__name__
    if isinstance(exc, MemoryError):
        return ImageError("imaging.error.out_of_memory", reason=reason)
    text = str(exc).lower()
    ended_early = isinstance(exc, EOFError) or any(
        marker in text for marker in ("truncated", "premature end", "end of file", "not enough data")
    )
    if ended_early or (data is not None and _missing_end(data, fmt)):
        return ImageError("imaging.error.truncated", format=fmt, reason=reason)
    return ImageError("imaging.error.corrupt", format=fmt, reason=reason)


def _missing_end(data: bytes, fmt: str) -> bool:
    """True when a file's own structure says it is cut short (RIFF size larger than the
    data, PNG without IEND)."""
    if fmt == "WEBP" and len(data) >= 8:
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if fmt == "PNG":
        return b"IEND" not in data[-16:]
    return False


def _bands(im: Image.Image) -> int:
    try:
        return max(1, len(im.getbands()))
    except Exception:
        return 1


def _megapixels(count: int) -> str:
    value = count / 1_000_000
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _open_lazily(data: bytes, fmt: str, limits: Limits) -> Image.Image:
    """Open the header only. Pillow's decompression-bomb warning is silenced (our own pixel
    limit is checked right after); its DecompressionBombError becomes our error. Pillow's
    notes about damaged metadata are silenced too (they are not actionable by a user)."""
    try:
        with ignored_warnings(Image.DecompressionBombWarning, UserWarning):  # + damaged-metadata notes
            return Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    except Image.DecompressionBombError as exc:
        match = _BOMB_PIXELS.search(str(exc))
        pil_limit = 2 * int(Image.MAX_IMAGE_PIXELS or 0)
        total = int(match.group(1)) if match else pil_limit + 1
        raise ImageError(
            "imaging.error.too_many_pixels",
            megapixels=_megapixels(total),
            limit_mp=_megapixels(min(limits.max_pixels, pil_limit)),
            reason="DecompressionBombError",
        ) from None
    except Exception as exc:
        raise decode_error(exc, fmt, data) from None


def _names_camera(im: Image.Image) -> bool:
    """True when the EXIF block names a camera (Make or Model); a broken block counts as none."""
    try:
        with ignored_warnings(UserWarning):  # "Corrupt EXIF data" from damaged photos
            exif = im.getexif()
            return any(str(exif.get(tag) or "").strip() for tag in CAMERA_TAGS)
    except Exception:
        return False


def _apply_orientation(im: Image.Image) -> tuple[Image.Image, int | None]:
    """Apply the EXIF orientation; returns the image and the orientation tag (None if absent
    or unreadable: a broken EXIF block is ignored rather than refusing the picture)."""
    try:
        with ignored_warnings(UserWarning):  # "Corrupt EXIF data" from damaged photos
            orientation = im.getexif().get(0x0112)
    except Exception:
        return im, None
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        return im, None
    if orientation == 1:
        return im, 1
    try:
        rotated = ImageOps.exif_transpose(im)
    except Exception:
        return im, None
    if rotated is None or rotated is im:
        return im, orientation
    im.close()
    return rotated, orientation


def _to_pixels(im: Image.Image) -> tuple[np.ndarray, bool, dict[str, Any]]:
    """Convert a loaded PIL image to (float32 pixels, is_color, meta extras).

    Memory: each PIL image is closed as soon as its pixels are copied out, and the float32
    result is written in one pass (no float64 or full-size temporaries), so a 50-megapixel
    colour photo peaks near its uint8 copy plus the float32 result."""
    mode = im.mode
    extra: dict[str, Any] = {}
    if mode in _HIGH_BIT_MODES:
        arr = _take(im)
        if arr.ndim != 2:
            raise ImageError("imaging.error.unsupported_pixels", detail=f"mode {mode}")
        pixels, low, high = robust_window(arr)
        extra.update(window="percentile", window_low=low, window_high=high)
        return pixels, False, extra
    if mode == "1":
        im = _swap(im, im.convert("L"))
        mode = "L"
    if mode == "L":
        return _unit8(_take(im)), False, extra
    if mode in ("LA", "La", "PA") or (mode == "P" and "transparency" in im.info):
        im = _swap(im, im.convert("RGBA") if mode in ("PA", "P") else im.convert("LA"))
        mode = im.mode
    elif mode == "P":
        im = _swap(im, im.convert("RGB"))
        mode = "RGB"
    if mode == "LA":
        arr = _take(im)
        extra.update(_alpha_note(arr[:, :, 1]))
        return _premultiplied(arr[:, :, :1], arr[:, :, 1:2])[:, :, 0], False, extra
    if mode == "RGBA":
        arr = _take(im)
        extra.update(_alpha_note(arr[:, :, 3]))
        if extra["alpha"] == "opaque":  # the usual case: no compositing, one pass
            if is_color(arr[:, :, :3], 255.0):
                return _unit8(arr[:, :, :3]), True, extra
            return _luma8(arr[:, :, :3]), False, extra
        rgb = _premultiplied(arr[:, :, :3], arr[:, :, 3:4])
        del arr
        if is_color(rgb, 1.0):
            return rgb, True, extra
        gray = luma(rgb)
        del rgb
        return np.clip(gray, 0.0, 1.0, out=gray), False, extra
    if mode != "RGB":
        try:
            im = _swap(im, im.convert("RGB"))
        except Exception:
            raise ImageError("imaging.error.unsupported_pixels", detail=f"mode {mode}") from None
        extra["converted_from"] = mode
    if is_color(_color_probe(im), 255.0):
        return _unit8(_take(im)), True, extra
    return _unit8(_take(_swap(im, im.convert("L")))), False, extra


def _take(im: Image.Image) -> np.ndarray:
    """The pixels of ``im`` as a numpy array; ``im`` is closed (its buffer freed) right after."""
    try:
        return np.asarray(im)
    finally:
        im.close()


def _swap(old: Image.Image, new: Image.Image) -> Image.Image:
    """Close ``old`` (a converted-from image) and return ``new``."""
    if new is not old:
        old.close()
    return new


def _premultiplied(values: np.ndarray, alpha: np.ndarray, rows: int = 512) -> np.ndarray:
    """uint8 ``values`` (H, W, C) times uint8 ``alpha`` (H, W, 1), scaled to float32 [0, 1],
    computed in row blocks (no full-size float temporaries)."""
    out = np.empty(values.shape, dtype=np.float32)
    scale = np.float32(1.0 / (255.0 * 255.0))
    for r0 in range(0, values.shape[0], rows):
        block = out[r0 : r0 + rows]
        np.multiply(values[r0 : r0 + rows], alpha[r0 : r0 + rows], out=block, dtype=np.float32)
        block *= scale
    return np.clip(out, 0.0, 1.0, out=out)


def _luma8(rgb: np.ndarray, rows: int = 512) -> np.ndarray:
    """BT.601 luma of uint8 RGB as float32 [0, 1], in row blocks."""
    out = np.empty(rgb.shape[:2], dtype=np.float32)
    for r0 in range(0, rgb.shape[0], rows):
        out[r0 : r0 + rows] = luma(rgb[r0 : r0 + rows]) / np.float32(255.0)
    return np.clip(out, 0.0, 1.0, out=out)


def _color_probe(im: Image.Image) -> np.ndarray:
    """A box-filtered copy of an RGB image about 512 px wide, for colour detection without
    converting the full image to an array (block averages keep a coloured mark's chroma)."""
    factor = max(1, -(-max(im.size) // 512))
    small = im.reduce(factor) if factor > 1 else im
    return np.asarray(small)


def _alpha_note(alpha: np.ndarray) -> dict[str, Any]:
    if float(alpha.min()) >= 255.0:
        return {"alpha": "opaque"}
    return {"alpha": "composited_on_black"}


def _unit8(arr: np.ndarray) -> np.ndarray:
    """0-255 values (uint8, or float from compositing) to float32 [0, 1]."""
    if arr.dtype == np.uint8:
        return np.divide(arr, np.float32(255.0), dtype=np.float32)
    out = np.asarray(arr, dtype=np.float32) / np.float32(255.0)
    return np.clip(out, 0.0, 1.0, out=out)


def _bit_depth(mode: str, fmt: str) -> int:
    if mode.startswith("I;16"):
        return 16
    if mode == "I":
        return 16 if fmt == "PNG" else 32
    if mode == "F":
        return 32
    if mode == "1":
        return 1
    return 8
