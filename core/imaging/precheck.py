"""Cheap structural checks made *before* a decoder sees the bytes, so that an upload within the
byte limit cannot make a decoder do unbounded work or allocate unbounded memory.

* :func:`jpeg_header` walks a JPEG's markers (no pixel decoding): the frame size from SOF and the
  number of scans (SOS). A progressive JPEG with thousands of scans costs one pass over the whole
  image per scan, so the scan count is refused above :attr:`Limits.max_jpeg_scans`.
* :func:`j2k_header` reads a JPEG 2000 codestream's SIZ marker (size, components, tiles).
* :func:`bounded_inflate` inflates raw deflate data (DICOM Deflated Explicit VR Little Endian)
  through a ``zlib.decompressobj`` with ``max_length``: never more than the limit is produced.
* :class:`CountingReader` stops pydicom's parser after a number of reads (each data element costs
  at least one read), so a file holding millions of tiny elements is refused in well under a
  second instead of building millions of Python objects.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

from core.imaging.types import ImageError

# SOF markers: baseline, extended, progressive, lossless (Huffman and arithmetic), JPEG-LS (F7).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length field
_SOS, _EOI, _SOI = 0xDA, 0xD9, 0xD8


@dataclass(frozen=True)
class JpegHeader:
    """What the markers of a JPEG stream say (``width``/``height`` 0 when no frame header)."""

    width: int
    height: int
    components: int
    scans: int
    progressive: bool


def jpeg_header(data: bytes | memoryview, max_scans: int, fmt: str = "JPEG") -> JpegHeader:
    """Walk the markers of the JPEG (or JPEG-LS) stream ``data`` without decoding it.

    Entropy-coded data is skipped with ``bytes.find``; the walk stops at EOI, at the end of the
    data, or at the first malformed marker (the decoder then reports the damage itself).

    Raises:
        ImageError: ``imaging.error.too_many_scans`` as soon as more than ``max_scans`` scans
            are seen.
    """
    buf = bytes(data) if isinstance(data, memoryview) else data
    size = len(buf)
    width = height = components = scans = 0
    progressive = jpeg_ls = False
    pos = 2 if buf[:2] == b"\xff\xd8" else 0
    while pos + 1 < size:
        if buf[pos] != 0xFF:
            break  # not at a marker: damaged; leave it to the decoder
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        pos += 2
        if marker in _STANDALONE or marker == _SOI:
            continue
        if marker == _EOI:
            break
        if pos + 2 > size:
            break
        length = int.from_bytes(buf[pos : pos + 2], "big")
        if length < 2:
            break
        if marker in _SOF and width == 0 and pos + 8 <= size:
            height = int.from_bytes(buf[pos + 3 : pos + 5], "big")
            width = int.from_bytes(buf[pos + 5 : pos + 7], "big")
            components = buf[pos + 7]
            progressive = marker in (0xC2, 0xC6, 0xCA, 0xCE)
            jpeg_ls = marker == 0xF7
        pos += length
        if marker != _SOS:
            continue
        scans += 1
        if scans > max_scans:
            raise ImageError("imaging.error.too_many_scans", format=fmt, limit=max_scans, reason="scans")
        pos = _skip_entropy(buf, pos, jpeg_ls)
    return JpegHeader(width, height, components, scans, progressive)


def _skip_entropy(buf: bytes, pos: int, jpeg_ls: bool) -> int:
    """Offset of the first marker after entropy-coded data starting at ``pos`` (``len(buf)`` if none).

    In JPEG, 0xFF00 is a stuffed 0xFF and RSTn markers sit inside the data; in JPEG-LS a 0xFF
    followed by a byte below 0x80 is data."""
    size = len(buf)
    while True:
        pos = buf.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= size:
            return size
        nxt = buf[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or (jpeg_ls and nxt < 0x80):
            pos += 2
        elif nxt == 0xFF:
            pos += 1
        else:
            return pos


@dataclass(frozen=True)
class J2kHeader:
    """The image area, component count and tile count declared by a JPEG 2000 SIZ marker."""

    width: int
    height: int
    components: int
    tiles: int


_SOC_SIZ = b"\xff\x4f\xff\x51"


def j2k_header(data: bytes | memoryview, search: int = 65536) -> J2kHeader | None:
    """The SIZ marker of the first JPEG 2000 codestream in ``data`` (a bare codestream, or one
    inside a JP2 file within the first ``search`` bytes), or None when there is none."""
    head = bytes(data[: search + 64])
    at = head.find(_SOC_SIZ)
    if at < 0 or at > search or at + 4 + 38 > len(head):
        return None
    siz = head[at + 4 :]
    x_siz, y_siz, x_off, y_off, xt_siz, yt_siz, xt_off, yt_off = (
        int.from_bytes(siz[4 + 4 * i : 8 + 4 * i], "big") for i in range(8)
    )
    components = int.from_bytes(siz[36:38], "big")
    width, height = x_siz - x_off, y_siz - y_off
    if width <= 0 or height <= 0 or xt_siz == 0 or yt_siz == 0:
        return J2kHeader(max(width, 0), max(height, 0), components, 0)
    tiles = -(-(x_siz - xt_off) // xt_siz) * -(-(y_siz - yt_off) // yt_siz)
    return J2kHeader(width, height, components, max(tiles, 0))


def bounded_inflate(data: bytes | memoryview, limit: int, fmt: str = "DICOM") -> bytes:
    """Inflate raw deflate ``data`` (no zlib header) to at most ``limit`` bytes.

    Raises:
        ImageError: ``imaging.error.inflated_too_large`` when the data inflates to more than
            ``limit`` bytes (found after producing ``limit + 1`` bytes, never more);
            ``imaging.error.corrupt`` when it is not valid deflate data.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise ImageError("imaging.error.corrupt", format=fmt, reason="deflate") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ImageError(
            "imaging.error.inflated_too_large", limit_mb=f"{limit / (1024 * 1024):.3g}", reason="deflate"
        )
    return out


class ReadBudgetExceeded(Exception):
    """Raised by :class:`CountingReader` inside the parser (turned into an ImageError)."""


class CountingReader(io.BytesIO):
    """A ``BytesIO`` that allows at most ``max_reads`` calls to ``read`` (pydicom reads each data
    element's header, then its value: a file of N elements costs at least N reads)."""

    def __init__(self, data: bytes, max_reads: int) -> None:
        super().__init__(data)
        self.reads = 0
        self.max_reads = max_reads

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        if self.reads > self.max_reads:
            raise ReadBudgetExceeded(self.reads)
        return super().read(size)
