"""``load_image``: one entry point from uploaded bytes to a display-ready :class:`ImageInput`."""

from __future__ import annotations

import hashlib
import logging

from core.imaging.dicom import decode_dicom
from core.imaging.raster import decode_raster
from core.imaging.sniff import sniff
from core.imaging.types import MIB, ImageError, ImageInput, Limits

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = Limits()
#: BaseExceptions that stop the program or a generator, never a decoder's failure: not caught.
PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)


def load_image(data: bytes, filename: str | None = None, limits: Limits | None = None) -> ImageInput:
    """Decode an uploaded PNG, JPEG, BMP, TIFF, WebP, HEIC/HEIF or DICOM file.

    The type is sniffed from the bytes; ``filename`` is used only to allow parsing a DICOM
    file without the Part 10 preamble when it ends in ``.dcm``, and is never stored or shown.
    Size limits are checked before decoding: the byte count first, then the pixel count
    and smallest side declared by the header. Only the first frame of multi-frame files is
    decoded. No resizing.

    Args:
        data: the file's bytes (``bytes``, ``bytearray`` or ``memoryview``).
        filename: the uploaded file's name, optional.
        limits: what to refuse; :class:`Limits` defaults when None.

    Returns:
        The image: float32 pixels in [0, 1], (H, W) grayscale or (H, W, 3) colour.

    Raises:
        ImageError: for every problem with the input (empty, too large, too many pixels,
            scans or DICOM elements, inflating too far, too small, unsupported or unknown
            type, corrupt, truncated, DICOM without pixel data or with an undecodable
            compression, unsupported pixel layout, out of memory). No other exception escapes
            for any bytes: a decoder's panic (``pyo3_runtime.PanicException``, a
            ``BaseException``) or any other ``BaseException`` except ``KeyboardInterrupt``,
            ``SystemExit`` and ``GeneratorExit`` becomes ``imaging.error.corrupt``. The error
            carries no patient data, no file name and no chained cause or traceback from the
            decoders.
        TypeError: ``data`` is not bytes-like (a programming error, not a user error).
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"load_image expects bytes, got {type(data).__name__}")
    limits = DEFAULT_LIMITS if limits is None else limits
    error: ImageError
    sniffed: list[str] = []
    try:
        return _load(data, filename if isinstance(filename, str) else None, limits, sniffed)
    except ImageError as exc:
        error = exc
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - any decoder failure, a Rust panic included
        error = _unexpected(exc, sniffed[0] if sniffed else "?")
    # Raised outside the except blocks: no chained cause/context (library messages may quote
    # element values) and no traceback frames holding the parsed dataset.
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    raise error.with_traceback(None)


def _load(data: bytes, filename: str | None, limits: Limits, sniffed: list[str]) -> ImageInput:
    if not data:
        raise ImageError("imaging.error.empty")
    if len(data) > limits.max_bytes:
        size_mb, limit_mb = _mb_pair(len(data), limits.max_bytes)
        raise ImageError("imaging.error.too_large", size_mb=size_mb, limit_mb=limit_mb)
    fmt, forced = sniff(data, filename)
    sniffed.append(fmt)
    if fmt == "DICOM":
        fields = decode_dicom(data, forced, limits)
    else:
        fields = decode_raster(data, fmt, limits)
        fields.setdefault("spacing_mm", None)
        fields.update(modality=None, body_part=None, view_position=None)
    return ImageInput(source_format=fmt, sha256=hashlib.sha256(data).hexdigest(), **fields)


def _unexpected(exc: BaseException, fmt: str) -> ImageError:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    # the type and place only: a decoder's message may quote element values (patient data)
    level = logging.DEBUG if isinstance(exc, Exception) else logging.WARNING  # a panic is worth a look
    logger.log(level, "load_image: decoder failure %s at %s", type(exc).__name__, where)
    if isinstance(exc, MemoryError):
        return ImageError("imaging.error.out_of_memory", reason="MemoryError")
    return ImageError("imaging.error.corrupt", format=fmt, reason=type(exc).__name__)


def _mb_pair(size: int, limit: int) -> tuple[str, str]:
    """Size and limit in MiB with three significant digits, or more when needed to show the
    difference (a file one byte over 64 MB is not shown as "64 MB")."""
    for digits in range(3, 10):
        size_mb, limit_mb = f"{size / MIB:.{digits}g}", f"{limit / MIB:.{digits}g}"
        if size_mb != limit_mb:
            break
    return size_mb, limit_mb
