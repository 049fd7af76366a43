"""Generated uploads for the reproducer tests and the fuzz bench (``bench/bench_fuzz.py``).

Everything is built in memory, deterministically, from small synthetic images: no file is
committed. Three groups:

* :func:`seeds`: small valid files of every supported format (PNG, JPEG baseline and
  progressive, BMP, TIFF, WebP, HEIF, and DICOM uncompressed, RLE, JPEG 2000, JPEG baseline and
  deflated), which the fuzz bench mutates.
* attacks: the hostile uploads of issue 16 (:func:`many_elements_dicom`, :func:`deflate_bomb_dicom`,
  :func:`many_scans_jpeg`, :func:`pixel_bomb_png`, :func:`codestream_bomb_dicom`,
  :func:`panic_rle_dicom`) and a DICOM with patient text typed into technical tags
  (:func:`phi_dicom`).
* :func:`worst_cases`: the largest valid upload per decoder within the default limits, to
  measure each decoder's worst time and memory.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    SecondaryCaptureImageStorage,
)

#: Patient data planted in the built DICOMs (see :func:`phi_dicom`); none of it may leave the loader.
PATIENT = {
    "PatientName": "Hong^Gildong^Secret",
    "PatientID": "PID-778-SECRET",
    "PatientBirthDate": "19450817",
    "InstitutionName": "Seoul Hidden Hospital",
}


# ----------------------------------------------------------------------------- pixels and containers


def smooth(height: int, width: int, seed: int = 0, channels: int = 1, dtype: Any = np.uint8, scale: float = 255.0) -> np.ndarray:
    """A deterministic smooth image (structure in both directions) with a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(yy / 9.0) * np.cos(xx / 13.0) + 0.15 * (xx / max(width, 1)) - 0.1 * (yy / max(height, 1))
    base += rng.normal(0, 0.02, size=base.shape).astype(np.float32)
    base = np.clip(base, 0, 1)
    if channels == 3:
        base = np.stack([base, base[::-1], base[:, ::-1]], axis=2)
    return np.rint(base * scale).astype(dtype)


def gradient(height: int, width: int, channels: int = 1, dtype: Any = np.uint8, scale: float = 255.0) -> np.ndarray:
    """A large noise-free image (compresses well: for the worst-case inputs), built row-block-wise."""
    out = np.empty((height, width, channels) if channels > 1 else (height, width), dtype=dtype)
    xx = np.arange(width, dtype=np.float32)
    for r0 in range(0, height, 1024):
        yy = np.arange(r0, min(height, r0 + 1024), dtype=np.float32)[:, None]
        block = 0.5 + 0.3 * np.sin(yy / 97.0) * np.cos(xx / 131.0)
        block = np.rint(block * scale).astype(dtype)
        if channels > 1:
            planes = [block, block[::-1], block[:, ::-1], (block // 2 + int(scale) // 2).astype(dtype)]  # alpha < 1
            out[r0 : r0 + len(yy)] = np.stack(planes[:channels], axis=2)
        else:
            out[r0 : r0 + len(yy)] = block
    return out


def pil_bytes(arr: np.ndarray | Image.Image, fmt: str, **save: Any) -> bytes:
    im = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


def dicom_dataset(arr: np.ndarray | None, photometric: str = "MONOCHROME2", bits_stored: int | None = None, **elements: Any) -> Dataset:
    """A Part-10-ready dataset (with :data:`PATIENT` data) holding ``arr`` plus ``elements``."""
    from pydicom.uid import generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SecondaryCaptureImageStorage)
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["drdc-corpus", photometric])
    ds.SOPClassUID = UID(SecondaryCaptureImageStorage)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    for keyword, value in PATIENT.items():
        setattr(ds, keyword, value)
    if arr is not None:
        ds.set_pixel_data(arr, photometric, bits_stored or arr.dtype.itemsize * 8, generate_instance_uid=False)
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return ds


def dicom_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def encapsulated(ds: Dataset, frame: bytes, syntax: UID) -> bytes:
    """``ds`` with ``frame`` as its single encapsulated frame in transfer syntax ``syntax``."""
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = syntax
    return dicom_bytes(ds)


def compressed_dicom(arr: np.ndarray, syntax: UID, photometric: str = "MONOCHROME2", bits_stored: int | None = None, **kwargs: Any) -> bytes:
    """``arr`` encoded by pydicom's encoders (RLE: pydicom's own; JPEG 2000: pylibjpeg-openjpeg)."""
    ds = dicom_dataset(arr, photometric, bits_stored)
    plugin = "pydicom" if syntax == RLELossless else "pylibjpeg"
    ds.compress(syntax, encoding_plugin=plugin, generate_instance_uid=False, **kwargs)
    return dicom_bytes(ds)


def jpeg_dicom(arr: np.ndarray, **save: Any) -> bytes:
    """An 8-bit grayscale DICOM whose frame is a baseline JPEG written by Pillow."""
    ds = dicom_dataset(arr)
    return encapsulated(ds, pil_bytes(arr, "JPEG", quality=90, **save), JPEGBaseline8Bit)


def deflated_dicom(ds: Dataset, trailing_zeros: int = 0) -> bytes:
    """``ds`` saved as Deflated Explicit VR Little Endian. ``trailing_zeros``: an extra
    (7FE1,1010) OB element of that many zero bytes, streamed into the compressor (a bomb of a few
    gigabytes costs a few MB and no more memory than one chunk to build)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info

    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    packer = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [packer.compress(body.getvalue())]
    if trailing_zeros:
        parts.append(packer.compress(struct.pack("<HH2sHI", 0x7FE1, 0x1010, b"OB", 0, trailing_zeros)))
        chunk = bytes(1 << 24)
        left = trailing_zeros
        while left:
            step = min(left, len(chunk))
            parts.append(packer.compress(chunk[:step]))
            left -= step
    parts.append(packer.flush())
    meta = FileMetaDataset(ds.file_meta)
    meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    out = DicomBytesIO()
    out.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)
    return out.getvalue() + b"".join(parts)


def jpeg_scans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every scan (SOS header + entropy-coded data) in a JPEG."""
    scans = []
    pos = 2
    while pos + 4 <= len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if marker == 0xDA:
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
            scans.append((pos, end))
        pos = end
    return scans


# ----------------------------------------------------------------------------- seeds


def seeds() -> dict[str, bytes]:
    """Small valid uploads of every supported format and DICOM transfer syntax (name -> bytes)."""
    gray = smooth(96, 80)
    rgb = smooth(96, 80, seed=1, channels=3)
    gray16 = smooth(96, 80, seed=2, dtype=np.uint16, scale=4000.0)
    out = {
        "png-gray": pil_bytes(gray, "PNG"),
        "png-rgb": pil_bytes(rgb, "PNG"),
        "png-16bit": pil_bytes(Image.fromarray(gray16.astype(np.int32), "I").convert("I;16"), "PNG"),
        "jpeg-baseline": pil_bytes(rgb, "JPEG", quality=85),
        "jpeg-gray": pil_bytes(gray, "JPEG", quality=85),
        "jpeg-progressive": pil_bytes(rgb, "JPEG", quality=85, progressive=True),
        "bmp": pil_bytes(rgb, "BMP"),
        "tiff": pil_bytes(gray, "TIFF"),
        "tiff-deflate": pil_bytes(gray16.astype(np.int32), "TIFF", compression="tiff_adobe_deflate"),
        "webp": pil_bytes(rgb, "WEBP", quality=80),
        "dicom-native": dicom_bytes(dicom_dataset(gray, WindowCenter=128, WindowWidth=200, PixelSpacing=[0.2, 0.2])),
        "dicom-mono1-16bit": dicom_bytes(dicom_dataset(gray16, "MONOCHROME1", 12, RescaleSlope=1, RescaleIntercept=-24)),
        "dicom-rgb": dicom_bytes(dicom_dataset(rgb, "RGB")),
        "dicom-rle": compressed_dicom(gray16, RLELossless, bits_stored=12),
        "dicom-rle-rgb": compressed_dicom(rgb, RLELossless, "RGB"),
        "dicom-j2k-lossless": compressed_dicom(gray16, JPEG2000Lossless, bits_stored=12),
        "dicom-j2k": compressed_dicom(gray, JPEG2000, j2k_cr=[10]),
        "dicom-jpeg-baseline": jpeg_dicom(gray),
        "dicom-deflate": deflated_dicom(dicom_dataset(gray16, bits_stored=12, WindowCenter=2000, WindowWidth=3000)),
    }
    try:
        out["heif"] = pil_bytes(rgb, "HEIF", quality=80)
    except (KeyError, OSError, ValueError):  # pillow-heif without an encoder
        pass
    return out


# ----------------------------------------------------------------------------- attacks


def many_elements_dicom(count: int = 8_300_000) -> bytes:
    """A small valid DICOM plus ``count`` empty private elements (8 bytes each: 8.3 million of
    them make 66 MB, under the byte limit)."""
    base = dicom_bytes(dicom_dataset(smooth(64, 64)))
    at = base.index(b"\xe0\x7f\x10\x00")  # PixelData: the private elements go before it
    index = np.arange(count, dtype=np.uint32)
    elements = np.zeros((count, 4), dtype="<u2")
    elements[:, 0] = 0x0029 + 2 * (index // 0xFF00)  # private groups 0029, 002B, ...
    elements[:, 1] = 0x1000 + index % 0xFF00
    raw = elements.view(np.uint8).reshape(count, 8)
    raw[:, 4:6] = np.frombuffer(b"LO", dtype=np.uint8)
    return base[:at] + raw.tobytes() + base[at:]


def deflate_bomb_dicom(inflated: int = 2 << 30) -> bytes:
    """A deflated DICOM whose data set inflates to about ``inflated`` bytes (2 GiB: a 2 MB file)."""
    return deflated_dicom(dicom_dataset(smooth(64, 64)), trailing_zeros=inflated)


def many_scans_jpeg(scans: int = 20_000, side: int = 2048) -> bytes:
    """A progressive JPEG whose smallest scan is repeated until it has ``scans`` scans (each one
    is another pass over the whole ``side`` x ``side`` image)."""
    return many_scans_jpeg_image(gradient(side, side), scans)


def pixel_bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG declaring ``width`` x ``height`` 8-bit pixels with a tiny IDAT."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def pixel_bomb_jpeg(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small JPEG whose frame header (SOF0) is patched to declare ``width`` x ``height``."""
    data = bytearray(pil_bytes(smooth(64, 64), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def pixel_bomb_dicom(rows: int = 30_000, columns: int = 30_000, frames: int = 1) -> bytes:
    """A DICOM declaring ``rows`` x ``columns`` x ``frames`` pixels over a tiny pixel data element."""
    ds = dicom_dataset(smooth(64, 64))
    ds.Rows, ds.Columns = rows, columns
    if frames > 1:
        ds.NumberOfFrames = frames
    return dicom_bytes(ds)


def codestream_bomb_dicom(kind: str = "j2k", side: int = 4096) -> bytes:
    """A 64 x 64 DICOM whose compressed frame declares (and holds) a ``side`` x ``side`` image:
    decoders allocate what the codestream says, not what Rows and Columns say."""
    ds = dicom_dataset(smooth(64, 64))
    big = np.full((side, side), 100, dtype=np.uint8)
    if kind == "jpeg":
        return encapsulated(ds, pil_bytes(big, "JPEG"), JPEGBaseline8Bit)
    from openjpeg import encode

    return encapsulated(ds, bytes(encode(big, photometric_interpretation=2, use_mct=False)), JPEG2000Lossless)


def panic_rle_dicom() -> bytes:
    """A 16-bit RLE Lossless DICOM with bits flipped in its RLE header until decoding it through
    pydicom (the pure-Python RLE decoder first, then pylibjpeg-rle) raises a Rust panic
    (``pyo3_runtime.PanicException``, a BaseException). Deterministic: the candidates are tried
    in a fixed order (header byte, then bit).

    Raises:
        LookupError: no flip in the header panics (a fixed decoder).
    """
    from pydicom import dcmread

    good = compressed_dicom(smooth(48, 40, seed=3, dtype=np.uint16, scale=4000.0), RLELossless, bits_stored=12)
    pixel = good.index(b"\xe0\x7f\x10\x00")
    header = good.index(b"\xfe\xff\x00\xe0", pixel + 12 + 8) + 8  # after the empty offset table and the item tag
    for byte in range(header + 4, header + 64):
        for bit in range(8):
            candidate = bytearray(good)
            candidate[byte] ^= 1 << bit
            try:
                dcmread(io.BytesIO(bytes(candidate))).pixel_array  # noqa: B018 - decode only
            except Exception:  # noqa: BLE001, S112 - an ordinary decode error: not what we look for
                continue
            except BaseException as exc:  # noqa: BLE001 - the panic
                if type(exc).__name__ == "PanicException":
                    return bytes(candidate)
                raise
    raise LookupError("no single bit flip in the RLE header makes the decoder panic")


def phi_dicom(body_part: str = "HONG GILDONG", view_position: str = "KIM MINSU", burned_in: str | None = None,
              **elements: Any) -> bytes:
    """A valid chest-like DICOM with free text typed into BodyPartExamined and ViewPosition
    (and BurnedInAnnotation set when ``burned_in`` is given)."""
    extra: dict[str, Any] = {"BodyPartExamined": body_part, "ViewPosition": view_position, **elements}
    if burned_in is not None:
        extra["BurnedInAnnotation"] = burned_in
    return dicom_bytes(dicom_dataset(smooth(256, 256, seed=4), **extra))


# ----------------------------------------------------------------------------- worst cases


def worst_cases() -> dict[str, Callable[[], bytes]]:
    """The largest valid upload per decoder within the default limits (name -> builder; each
    builds in seconds). Sizes: 50 MP (the pixel limit), 37.5 MP for 4-channel images (the
    sample limit), the byte limit for uncompressed DICOM, the scan limit for progressive JPEG."""
    from core.imaging.types import Limits

    limits = Limits()
    w, h = 8660, 5770  # 49.97 MP
    gw, gh = 7070, 7070  # 49.98 MP

    def native16() -> bytes:
        side = int((limits.max_bytes // 2 - 4096) ** 0.5)
        return dicom_bytes(dicom_dataset(gradient(side, side, dtype=np.uint16, scale=4000.0), bits_stored=12,
                                         RescaleSlope=1, RescaleIntercept=-1024, WindowCenter=900, WindowWidth=1800))

    def double_float() -> bytes:
        side = int((limits.max_bytes // 8 - 4096) ** 0.5)
        ds = dicom_dataset(None)
        ds.Rows = ds.Columns = side
        ds.SamplesPerPixel, ds.BitsAllocated, ds.PhotometricInterpretation = 1, 64, "MONOCHROME2"
        ds.DoubleFloatPixelData = gradient(side, side, dtype=np.float64, scale=1.0).tobytes()
        return dicom_bytes(ds)

    def rle16() -> bytes:
        ds = dicom_dataset(gradient(gh, gw, dtype=np.uint16, scale=4000.0), bits_stored=12,
                           RescaleSlope=1, RescaleIntercept=-1024, WindowCenter=900, WindowWidth=1800)
        ds.compress(RLELossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
        return dicom_bytes(ds)

    def deflated() -> bytes:
        side = int((limits.max_inflated_bytes // 2 - 4096) ** 0.5)
        return deflated_dicom(dicom_dataset(gradient(side, side, dtype=np.uint16, scale=4000.0), bits_stored=12))

    cases: dict[str, Callable[[], bytes]] = {
        "PNG 50 MP gray 16-bit": lambda: pil_bytes(Image.fromarray(gradient(gh, gw, dtype=np.uint16, scale=60000.0)), "PNG", compress_level=1),
        "PNG 37.5 MP RGBA, translucent": lambda: pil_bytes(Image.fromarray(gradient(6120, 6120, channels=4), "RGBA"), "PNG"),
        "JPEG 50 MP colour baseline": lambda: pil_bytes(gradient(h, w, channels=3), "JPEG", quality=85),
        f"JPEG 50 MP colour progressive, {limits.max_jpeg_scans} scans": lambda: many_scans_jpeg_image(gradient(h, w, channels=3), limits.max_jpeg_scans),
        "BMP 50 MP gray 8-bit": lambda: pil_bytes(Image.fromarray(gradient(gh, gw)).convert("P"), "BMP"),
        "TIFF 50 MP gray 16-bit deflate": lambda: pil_bytes(Image.fromarray(gradient(gh, gw, dtype=np.uint16, scale=60000.0) & 0xFF00), "TIFF", compression="tiff_adobe_deflate"),
        "WebP 50 MP colour": lambda: pil_bytes(gradient(h, w, channels=3), "WEBP", quality=80, method=0),
        "HEIF 12 MP colour": lambda: pil_bytes(gradient(3000, 4000, channels=3), "HEIF", quality=60),
        "DICOM native 16-bit at the byte limit (32 MP)": native16,
        "DICOM native float64 at the byte limit (8.4 MP)": double_float,
        "DICOM RLE 50 MP 16-bit + rescale + window": rle16,
        "DICOM JPEG baseline 50 MP": lambda: jpeg_dicom(gradient(gh, gw)),
        "DICOM JPEG 2000 16 MP 16-bit lossless": lambda: compressed_dicom(gradient(4096, 4096, dtype=np.uint16, scale=4000.0), JPEG2000Lossless, bits_stored=12),
        "DICOM deflated, inflating to the limit": deflated,
    }
    return cases


def many_scans_jpeg_image(arr: np.ndarray, scans: int) -> bytes:
    """A progressive JPEG of ``arr`` padded with copies of its smallest scan up to ``scans`` scans."""
    data = pil_bytes(arr, "JPEG", quality=80, progressive=True)
    found = jpeg_scans(data)
    start, end = min(found, key=lambda s: s[1] - s[0])
    eoi = data.rindex(b"\xff\xd9")
    return data[:eoi] + data[start:end] * max(0, scans - len(found)) + data[eoi:]
