"""Find a file's type from its bytes (never from its name, except for preamble-less DICOM)."""

from __future__ import annotations

from typing import Literal

from core.imaging.types import ImageError

Format = Literal["PNG", "JPEG", "BMP", "TIFF", "WEBP", "HEIF", "DICOM"]

#: Formats the loader decodes, in the order shown to users.
SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "HEIF", "DICOM")

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
# BITMAPCOREHEADER, BITMAPINFOHEADER, V2, V3, OS/2 v2, V4, V5 header sizes.
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}

# Known non-image containers: (prefix, offset, label shown to the user).
_OTHER_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "PDF"),
    (b"PK\x03\x04", 0, "ZIP"),
    (b"PK\x05\x06", 0, "ZIP"),
    (b"PK\x07\x08", 0, "ZIP"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"\x1f\x8b", 0, "GZIP"),
    (b"Rar!\x1a\x07", 0, "RAR"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7Z"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "MS Office"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", 0, "JPEG 2000"),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000"),
    (b"8BPS", 0, "PSD"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
    (b"{\\rtf", 0, "RTF"),
    (b"\x1a\x45\xdf\xa3", 0, "WebM/MKV"),
    (b"OggS", 0, "OGG"),
    (b"ID3", 0, "MP3"),
    (b"\x7fELF", 0, "ELF"),
    (b"MZ", 0, "EXE"),
)


def is_dicom_preamble(data: bytes) -> bool:
    """True when ``data`` carries the DICOM Part 10 'DICM' marker at offset 128."""
    return len(data) >= 132 and data[128:132] == b"DICM"


def sniff(data: bytes, filename: str | None = None) -> tuple[Format, bool]:
    """Return ``(format, forced)`` for ``data``; ``forced`` is True for a DICOM file without
    the Part 10 preamble, accepted only because ``filename`` ends in ``.dcm``.

    Raises:
        ImageError: ``imaging.error.unsupported_type`` for a recognised non-image or
            unsupported file (``kind`` names it), ``imaging.error.unknown_type`` otherwise.
    """
    if is_dicom_preamble(data):
        return "DICOM", False
    raster = _raster_format(data)
    if raster is not None:
        return raster, False
    if filename and filename.strip().lower().endswith(".dcm"):
        return "DICOM", True
    kind = _other_kind(data)
    if kind is not None:
        raise ImageError("imaging.error.unsupported_type", kind=kind)
    raise ImageError("imaging.error.unknown_type")


def _raster_format(data: bytes) -> Format | None:
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"BM") and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES:
        return "BMP"
    if head[4:8] == b"ftyp" and _ftyp_brands(data) & _HEIF_BRANDS:
        return "HEIF"
    return None


def _ftyp_brands(data: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF 'ftyp' box (empty when malformed)."""
    size = int.from_bytes(data[0:4], "big")
    if size < 16 or size > min(len(data), 4096):
        return {data[8:12]} if len(data) >= 12 else set()
    brands = {data[8:12]}
    brands.update(data[i : i + 4] for i in range(16, size - 3, 4))
    return brands


def _other_kind(data: bytes) -> str | None:
    for prefix, offset, label in _OTHER_SIGNATURES:
        if data[offset : offset + len(prefix)] == prefix:
            return label
    if data[4:8] == b"ftyp":
        return "AVIF" if _ftyp_brands(data) & _AVIF_BRANDS else "MP4/MOV"
    if data.startswith(b"RIFF"):
        return {b"AVI ": "AVI", b"WAVE": "WAV"}.get(data[8:12], "RIFF")
    return _text_kind(data)


def _text_kind(data: bytes) -> str | None:
    """A label for text files (SVG, HTML, XML, TXT), or None for binary data."""
    sample = data[:2048]
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if sample.startswith(bom):
            sample = sample[len(bom) :]
            break
    if not sample:
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return None
        text = sample[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    if not text or printable < 0.95 * len(text):
        return None
    lowered = text.lstrip().lower()
    if "<svg" in lowered[:1024]:
        return "SVG"
    if lowered.startswith(("<!doctype html", "<html")):
        return "HTML"
    if lowered.startswith("<?xml"):
        return "XML"
    return "TXT"
