"""Builders for in-memory test inputs: rasters written with Pillow, DICOMs with pydicom,
and hand-made PNG chunks (decompression bombs)."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

# Patient data planted in every built DICOM; none of it may leave the loader.
PHI = {
    "PatientName": "Hong^Gildong^Secret",
    "PatientID": "PID-0xDEADBEEF-778",
    "PatientBirthDate": "19450817",
    "PatientSex": "F",
    "PatientAge": "079Y",
    "InstitutionName": "Seoul Hidden Hospital",
    "AccessionNumber": "ACC99887766",
    "ReferringPhysicianName": "Kim^Referrer^Doctor",
    "StudyDate": "20240229",
    "StudyDescription": "Chest for Hong Gildong",
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.111222333444",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.555666777888",
}


def xray_like(height: int = 96, width: int = 80, seed: int = 0) -> np.ndarray:
    """A smooth float image in [0, 1] with structure in both directions (not symmetric)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    base = 0.5 + 0.3 * np.sin(yy / 9.0) * np.cos(xx / 13.0) + 0.15 * (xx / width) - 0.1 * (yy / height)
    base += rng.normal(0, 0.02, size=base.shape)
    return np.clip(base, 0, 1)


def pil_bytes(im: Image.Image, fmt: str, **save: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


def gray8(height: int = 96, width: int = 80, seed: int = 0) -> np.ndarray:
    return np.rint(xray_like(height, width, seed) * 255).astype(np.uint8)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A valid-looking 8-bit grayscale PNG declaring ``width`` x ``height`` with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def dicom_dataset(
    arr: np.ndarray | None,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    *,
    phi: bool = True,
    sop_class: str = SecondaryCaptureImageStorage,
    **elements: Any,
) -> Dataset:
    """A Part-10-ready dataset holding ``arr`` (None for no pixel data) plus ``elements``."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    if phi:
        for keyword, value in PHI.items():
            setattr(ds, keyword, value)
    if arr is not None:
        if bits_stored is None:
            bits_stored = arr.dtype.itemsize * 8
        ds.set_pixel_data(arr, photometric, bits_stored, generate_instance_uid=False)
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return ds


def dicom_bytes(ds: Dataset, *, preamble: bool = True) -> bytes:
    buf = io.BytesIO()
    if preamble:
        ds.save_as(buf, enforce_file_format=True)
    else:  # no preamble, no file meta: a bare implicit-VR little-endian dataset
        ds.file_meta = FileMetaDataset()
        ds.save_as(buf, implicit_vr=True, little_endian=True)
    return buf.getvalue()


def build_dicom(arr: np.ndarray | None, photometric: str = "MONOCHROME2", bits_stored: int | None = None, **elements: Any) -> bytes:
    return dicom_bytes(dicom_dataset(arr, photometric, bits_stored, **elements))


def structured_report() -> bytes:
    ds = dicom_dataset(None, sop_class=BasicTextSRStorage, Modality="SR")
    ds.ContentSequence = Sequence([])
    return dicom_bytes(ds)


def voi_lut_item(first: int, entries: int, bits: int, data: list[int]) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [entries, first, bits]
    item.LUTData = data
    item["LUTDescriptor"].VR = "US"
    item["LUTData"].VR = "US"
    return item


def forbid_decoding_here(monkeypatch: Any) -> list[str]:
    """Make ``PIL.Image.open`` and ``pydicom.dcmread`` fail in this process (the app's) and record
    each call: uploads must be decoded only in the worker. Returns the list of calls made."""
    import pydicom
    import pydicom.filereader

    calls: list[str] = []

    def forbidden(name: str) -> Any:
        def call(*_args: Any, **_kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} called in the app process")
        return call

    monkeypatch.setattr(Image, "open", forbidden("PIL.Image.open"))
    monkeypatch.setattr(pydicom, "dcmread", forbidden("pydicom.dcmread"))
    monkeypatch.setattr(pydicom.filereader, "dcmread", forbidden("pydicom.filereader.dcmread"))
    return calls
