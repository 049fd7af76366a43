"""DICOM through pydicom >= 3 (compressed transfer syntaxes via the pylibjpeg plugins).

Privacy: only the allow-listed technical elements of :mod:`core.imaging.dicom_meta` are ever read into the result.
Patient, study, institution and UID elements are never accessed, so their values cannot
reach ``meta``, ``repr`` or an error message. Modality, Body Part Examined and View Position
keep only enumerated terms (:mod:`core.imaging.tags`; anything else becomes ``"OTHER"``), and
Burned In Annotation is kept as a flag so pages can keep such pixels out of reports.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels import get_decoder
from pydicom.pixels.processing import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi,
    apply_voi_lut,
    convert_color_space,
)
from pydicom.pixels.utils import as_pixel_options
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000TransferSyntaxes,
    JPEGLSTransferSyntaxes,
    JPEGTransferSyntaxes,
)

from core.imaging import tags
from core.imaging.dicom_meta import (
    CODE_STRING,
    DICOM_FORMAT,
    code_string,
    finite_number,
    first_value,
    is_present,
    patient_spacing,
    safe_get,
    sop_class,
    technical_meta,
    uid_name,
)
from core.imaging.pixels import is_color, luma, robust_window, scale_to_unit
from core.imaging.precheck import CountingReader, ReadBudgetExceeded, bounded_inflate, j2k_header, jpeg_header
from core.imaging.quiet import quiet_pydicom
from core.imaging.raster import check_dimensions
from core.imaging.types import ImageError, Limits

_FMT = DICOM_FORMAT
_MONO = ("MONOCHROME1", "MONOCHROME2")


def decode_dicom(data: bytes, forced: bool, limits: Limits) -> dict[str, Any]:
    """Decode a DICOM file into the fields of an ImageInput (first frame only).

    Before anything is decoded: a deflated data set is inflated in bounded steps (refused past
    ``limits.max_inflated_bytes``), parsing stops after ``limits.max_dicom_elements`` data
    elements, Rows x Columns x Number of Frames (x Samples per Pixel) are checked against the
    pixel limits, and a compressed first frame's own codestream header (JPEG SOF, JPEG 2000 SIZ)
    must declare the same size, with at most ``limits.max_jpeg_scans`` JPEG scans.

    Raises:
        ImageError: ``corrupt`` / ``truncated`` (unreadable), ``dicom_no_pixels`` (no image,
            e.g. a structured report), ``dicom_too_many_elements``, ``inflated_too_large``,
            ``too_many_pixels`` / ``too_small`` (from Rows, Columns and Number of Frames,
            before any pixel is decoded), ``too_many_scans``, ``dicom_unsupported`` (no
            decoder for the transfer syntax), ``unsupported_pixels``.
    """
    with quiet_pydicom():
        ds, stored_syntax = _read(data, forced, limits)
        header = _header(ds, forced)
        header["stored_syntax"] = stored_syntax
        check_dimensions(
            header["columns"], header["rows"], header["number_of_frames"], limits,
            samples=header["samples_per_pixel"],
        )
        arr, decoded_pi = _decode_first_frame(ds, header, limits)
        meta = technical_meta(ds, header)
        meta["decoded_photometric"] = tags.photometric(decoded_pi)
        pixels, color = _display(arr, ds, header, decoded_pi, meta)
        spacing = patient_spacing(ds, meta)
    return {
        "pixels": pixels,
        "is_color": color,
        "bit_depth": header["bits_stored"],
        "spacing_mm": spacing,
        "modality": meta.get("modality"),
        "body_part": meta.get("body_part_examined"),
        "view_position": meta.get("view_position"),
        "photometric": tags.photometric(header["photometric"]),
        "meta": meta,
    }


# ----------------------------------------------------------------------------- reading


def _read(data: bytes, forced: bool, limits: Limits) -> tuple[Dataset, str | None]:
    """Parse ``data``; returns the dataset and, for a deflated file, the name of the transfer
    syntax it was stored with (the dataset itself then reads as Explicit VR Little Endian).

    Raises:
        ImageError: ``dicom_too_many_elements``, ``inflated_too_large``, ``corrupt``, ``truncated``.
    """
    budget = 2 * limits.max_dicom_elements + 64  # reads: each element costs one or two
    reader: CountingReader | None = None
    try:
        data, stored_syntax = _inflated(data, forced, limits, budget)
        reader = CountingReader(data, budget)
        ds = pydicom.dcmread(reader, force=forced)
    except ImageError:
        raise
    except Exception as exc:
        # pydicom turns some errors inside sequences into OSError: the reader knows the cause
        if isinstance(exc, ReadBudgetExceeded) or (reader is not None and reader.reads > reader.max_reads):
            raise ImageError("imaging.error.dicom_too_many_elements", limit=limits.max_dicom_elements) from None
        text = str(exc).lower()
        key = "imaging.error.truncated" if isinstance(exc, EOFError) or "end of file" in text else "imaging.error.corrupt"
        raise ImageError(key, format=_FMT, reason=type(exc).__name__) from None
    if not isinstance(ds, Dataset):
        raise ImageError("imaging.error.corrupt", format=_FMT, reason="not a dataset")
    return ds, stored_syntax


def _inflated(data: bytes, forced: bool, limits: Limits, budget: int) -> tuple[bytes, str | None]:
    """``data`` itself, or, when its file meta says Deflated Explicit VR Little Endian, the same
    file with the data set inflated (at most ``limits.max_inflated_bytes``, never more is
    produced) and the file meta saying Explicit VR Little Endian. pydicom would inflate the
    whole data set in one unbounded ``zlib.decompress``: a 1 MB file can hold gigabytes.

    Raises:
        ImageError: ``inflated_too_large`` or ``corrupt`` (not deflate data).
        ReadBudgetExceeded: the file meta group alone holds too many elements.
    """
    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import _read_file_meta_info, read_preamble
    from pydicom.filewriter import write_file_meta_info

    reader = CountingReader(data, budget)
    try:
        read_preamble(reader, forced)
        meta = _read_file_meta_info(reader)
        syntax = meta.get("TransferSyntaxUID")
    except ReadBudgetExceeded:
        raise
    except Exception:
        if reader.reads > reader.max_reads:
            raise ReadBudgetExceeded(reader.reads) from None
        return data, None  # dcmread reports what is wrong
    if syntax is None or UID(str(syntax)) != DeflatedExplicitVRLittleEndian:
        return data, None
    inflated = bounded_inflate(memoryview(data)[reader.tell() :], limits.max_inflated_bytes, _FMT)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if "FileMetaInformationGroupLength" in meta:
        del meta.FileMetaInformationGroupLength
    out = DicomBytesIO()
    out.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=False)
    out.write(inflated)
    return out.getvalue(), DeflatedExplicitVRLittleEndian.name


def _header(ds: Dataset, forced: bool) -> dict[str, Any]:
    """Validated Image Pixel module values. Touches no pixel data.

    Raises:
        ImageError: see :func:`decode_dicom`.
    """
    pixel_keyword = next((k for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData") if k in ds), None)
    if pixel_keyword is None:
        _raise_no_pixels(ds, forced)
    try:
        rows = int(ds.Rows)
        columns = int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits_allocated = int(ds.BitsAllocated)
        bits_stored = int(ds.get("BitsStored", bits_allocated) or bits_allocated)
        representation = int(ds.get("PixelRepresentation", 0) or 0)
        photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
        frames = _frames(ds)
    except Exception as exc:
        raise ImageError("imaging.error.corrupt", format=_FMT, reason=type(exc).__name__) from None
    if rows < 1 or columns < 1 or bits_allocated < 1:
        raise ImageError("imaging.error.corrupt", format=_FMT, reason="empty image module")
    if samples not in (1, 3):
        raise ImageError("imaging.error.unsupported_pixels", detail=f"SamplesPerPixel={samples}")
    if not 1 <= bits_stored <= bits_allocated:
        bits_stored = bits_allocated
    if not photometric:  # required, but some writers leave it out; decoders need it
        photometric = "MONOCHROME2" if samples == 1 else "RGB"
        ds.PhotometricInterpretation = photometric
    if "SamplesPerPixel" not in ds:
        ds.SamplesPerPixel = samples
    if not CODE_STRING.match(photometric):
        raise ImageError("imaging.error.unsupported_pixels", detail="PhotometricInterpretation")
    return {
        "pixel_keyword": pixel_keyword,
        "rows": rows,
        "columns": columns,
        "samples_per_pixel": samples,
        "bits_allocated": bits_allocated,
        "bits_stored": bits_stored,
        "pixel_representation": representation,
        "photometric": photometric,
        "number_of_frames": frames,
    }


def _frames(ds: Dataset) -> int:
    value = ds.get("NumberOfFrames", 1)
    try:
        frames = int(value) if value not in (None, "") else 1
    except (TypeError, ValueError):
        frames = 1
    return max(frames, 1)


def _raise_no_pixels(ds: Dataset, forced: bool) -> None:
    """No pixel data. An image object cut short is 'truncated', a forced read of something
    that is not DICOM 'corrupt', anything else (structured report, presentation state,
    DICOMDIR...) 'dicom_no_pixels'."""
    sop = sop_class(ds)
    if sop is not None:
        if "Image Storage" in sop and "Rows" in ds:
            raise ImageError("imaging.error.truncated", format=_FMT, reason="no pixel data", sop_class=sop)
        raise ImageError("imaging.error.dicom_no_pixels", format=_FMT, sop_class=sop)
    if forced:
        raise ImageError("imaging.error.corrupt", format=_FMT, reason="no pixel data")
    if len(ds) == 0:
        raise ImageError("imaging.error.truncated", format=_FMT, reason="no elements")
    raise ImageError("imaging.error.dicom_no_pixels", format=_FMT)


# ----------------------------------------------------------------------------- decoding


def _transfer_syntax(ds: Dataset) -> UID:
    """The dataset's transfer syntax; for a preamble-less file without file meta, the
    encoding it was read with (only native pixel data can be decoded that way).

    Raises:
        ImageError: ``corrupt`` when it cannot be determined.
    """
    file_meta = getattr(ds, "file_meta", None)
    tsyntax = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    if tsyntax:
        return UID(str(tsyntax))
    try:
        implicit, little = ds.original_encoding
        encapsulated = ds["PixelData"].is_undefined_length if "PixelData" in ds else False
    except Exception:
        implicit, little, encapsulated = None, None, True
    if encapsulated or implicit is None or little is None:
        raise ImageError("imaging.error.corrupt", format=_FMT, reason="no transfer syntax")
    if implicit:
        tsyntax = ImplicitVRLittleEndian
    else:
        tsyntax = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    ds.file_meta.TransferSyntaxUID = tsyntax
    return UID(tsyntax)


def _decode_first_frame(ds: Dataset, header: dict[str, Any], limits: Limits) -> tuple[np.ndarray, str]:
    """Decode frame 0 only; returns the array and the photometric interpretation after
    decoding (YCbCr is converted to RGB by pydicom).

    Raises:
        ImageError: ``dicom_unsupported``, ``too_many_scans``, ``truncated`` or ``corrupt``.
    """
    tsyntax = _transfer_syntax(ds)
    syntax_name = uid_name(tsyntax) or "unknown"
    try:
        decoder = get_decoder(tsyntax)
    except Exception:
        raise ImageError("imaging.error.dicom_unsupported", syntax=syntax_name) from None
    if not decoder.is_available:
        raise ImageError("imaging.error.dicom_unsupported", syntax=syntax_name, reason="no plugin")
    if tsyntax.is_encapsulated:
        _check_codestream(ds, tsyntax, header, limits)
    try:
        opts = as_pixel_options(ds)
        arr, props = decoder.as_array(ds, index=0, validate=True, raw=False, **opts)
    except Exception as exc:
        text = str(exc).lower()
        if isinstance(exc, MemoryError):
            raise ImageError("imaging.error.out_of_memory", reason="MemoryError") from None
        if "less than expected" in text or "truncated" in text or "end of" in text:
            raise ImageError("imaging.error.truncated", format=_FMT, reason=type(exc).__name__) from None
        raise ImageError("imaging.error.corrupt", format=_FMT, reason=type(exc).__name__) from None
    if arr.ndim == 3 and header["samples_per_pixel"] == 1 and arr.shape[0] >= 1:
        arr = arr[0]  # a decoder that ignored `index`
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ImageError("imaging.error.unsupported_pixels", detail=f"shape {arr.shape}")
    decoded_pi = str(props.get("photometric_interpretation", header["photometric"])).strip().upper()
    return arr, decoded_pi


def _check_codestream(ds: Dataset, tsyntax: UID, header: dict[str, Any], limits: Limits) -> None:
    """Check frame 0's own JPEG / JPEG 2000 header before decoding it: the decoders allocate
    what the codestream declares, not what Rows and Columns say (a 20 KB JPEG 2000 frame
    declaring 12000 x 12000 in a 64 x 64 file allocated 700 MB before pydicom noticed).

    Raises:
        ImageError: ``corrupt`` (no readable frame, no codestream header, or a size that differs
            from Rows x Columns), ``too_many_scans``.
    """
    jpeg = tsyntax in JPEGTransferSyntaxes or tsyntax in JPEGLSTransferSyntaxes
    if not (jpeg or tsyntax in JPEG2000TransferSyntaxes):
        return
    try:
        frame = get_frame(ds.PixelData, 0, number_of_frames=header["number_of_frames"])
    except Exception as exc:
        raise ImageError("imaging.error.corrupt", format=_FMT, reason=type(exc).__name__) from None
    if jpeg:
        info = jpeg_header(frame, limits.max_jpeg_scans, _FMT)
        size, components = (info.width, info.height), info.components
    else:
        j2k = j2k_header(frame)
        if j2k is None:
            raise ImageError("imaging.error.corrupt", format=_FMT, reason="no JPEG 2000 codestream")
        size, components = (j2k.width, j2k.height), j2k.components
    if size != (header["columns"], header["rows"]) or not 1 <= components <= 4:
        raise ImageError("imaging.error.corrupt", format=_FMT, reason="codestream header differs from the image module")


# ----------------------------------------------------------------------------- display


def _display(
    arr: np.ndarray, ds: Dataset, header: dict[str, Any], decoded_pi: str, meta: dict[str, Any]
) -> tuple[np.ndarray, bool]:
    """Turn decoded stored values into display-ready float32 pixels.

    Raises:
        ImageError: ``unsupported_pixels`` for colour models that cannot be shown.
    """
    if decoded_pi == "PALETTE COLOR" and arr.ndim == 2:
        return _palette(arr, ds, meta)
    if arr.ndim == 3:
        return _color(arr, decoded_pi, header, meta)
    return _grayscale(arr, ds, header, meta), False


def _grayscale(arr: np.ndarray, ds: Dataset, header: dict[str, Any], meta: dict[str, Any]) -> np.ndarray:
    values = arr
    if header["pixel_keyword"] == "PixelData":
        values = _modality_lut(arr, ds, meta)
        out = _voi(values, ds, meta)
    else:
        out = None
    if out is None:
        padding = _padding_value(ds)
        if padding is not None and meta.get("modality_lut") == "rescale":
            padding = padding * meta["rescale_slope"] + meta["rescale_intercept"]
        elif padding is not None and meta.get("modality_lut") is not None:
            padding = None  # a LUT-mapped padding value is not tracked
        out, low, high = robust_window(values, exclude=padding)
        meta.update(voi="percentile", window_low=finite_number(low), window_high=finite_number(high))
    if header["photometric"] == "MONOCHROME1":
        out = np.subtract(np.float32(1.0), out, out=out if out.flags.writeable else None)
        meta["inverted"] = True
    return out


def _modality_lut(arr: np.ndarray, ds: Dataset, meta: dict[str, Any]) -> np.ndarray:
    """Apply the Modality LUT (via pydicom) or Rescale Slope/Intercept (in float32, in place:
    pydicom's float64 copies of a 50-megapixel frame would take 400 MB each); invalid values
    are ignored (noted in meta) rather than refusing the image."""
    try:
        if ds.get("ModalityLUTSequence"):
            out = apply_modality_lut(arr, ds)
            meta["modality_lut"] = "lut"
            return out
        if "RescaleSlope" in ds and "RescaleIntercept" in ds:
            slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
            if not (math.isfinite(slope) and math.isfinite(intercept) and slope != 0):
                raise ValueError("invalid rescale")
            out = arr.astype(np.float32)
            with np.errstate(over="ignore", invalid="ignore"):
                out *= np.float32(slope)
                out += np.float32(intercept)
            meta.update(modality_lut="rescale", rescale_slope=slope, rescale_intercept=intercept)
            return out
    except Exception:
        meta["modality_lut"] = "invalid, ignored"
        for keyword in ("ModalityLUTSequence", "RescaleSlope", "RescaleIntercept"):
            if keyword in ds:
                del ds[keyword]  # so windowing does not use them either
    return arr


def _voi(values: np.ndarray, ds: Dataset, meta: dict[str, Any]) -> np.ndarray | None:
    """Apply the VOI LUT (via pydicom, first of several) or the window (first of several, in
    float32 without full-size temporaries) and scale the output range to [0, 1]; None when the
    file has no usable VOI."""
    has_lut = _has_voi_lut(ds)
    has_window = is_present(safe_get(ds, "WindowCenter")) and is_present(safe_get(ds, "WindowWidth"))
    if not (has_lut or has_window):
        return None
    try:
        if has_lut:
            ints = values if np.issubdtype(values.dtype, np.integer) else np.rint(values).astype(np.int64)
            out = apply_voi_lut(ints, ds, index=0, prefer_lut=True)
            low, high = _voi_lut_range(ds)
            meta["voi"] = "lut"
            if not (math.isfinite(low) and math.isfinite(high)) or high == low:
                raise ValueError("empty VOI output range")
            return scale_to_unit(np.asarray(out), low, high)
        center, width = float(first_value(ds.WindowCenter)), float(first_value(ds.WindowWidth))
        function = code_string(ds.get("VOILUTFunction")) or "LINEAR"
        out = window(values, center, width, function)
        meta.update(voi="window", window_center=finite_number(center), window_width=finite_number(width), voi_lut_function=function)
        return out
    except Exception:
        for key in ("voi", "window_center", "window_width", "voi_lut_function"):
            meta.pop(key, None)
        meta["voi_note"] = "invalid VOI, percentile window used"
        return None


def window(values: np.ndarray, center: float, width: float, function: str = "LINEAR") -> np.ndarray:
    """A DICOM VOI window (PS3.3 C.11.2.1.2) mapped to float32 [0, 1]: ``LINEAR``,
    ``LINEAR_EXACT`` or ``SIGMOID``, computed in place on one float32 copy.

    Raises:
        ValueError: a width the function does not allow (LINEAR < 1, others <= 0), a centre or
            width that is not finite, or an unknown function.
    """
    if not (math.isfinite(center) and math.isfinite(width)):
        raise ValueError("window centre and width must be finite")
    if function == "LINEAR":
        if width < 1:
            raise ValueError("LINEAR window width must be at least 1")
        center, width = center - 0.5, width - 1.0
        if width == 0:
            return (np.asarray(values) > center).astype(np.float32)
    elif function in ("LINEAR_EXACT", "SIGMOID"):
        if width <= 0:
            raise ValueError(f"{function} window width must be positive")
    else:
        raise ValueError(f"unknown VOI LUT function {function!r}")
    out = np.array(values, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out -= np.float32(center)
        if function == "SIGMOID":
            out *= np.float32(-4.0 / width)
            np.exp(out, out=out)
            out += np.float32(1.0)
            np.reciprocal(out, out=out)
        else:
            out /= np.float32(width)
            out += np.float32(0.5)
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(out, 0.0, 1.0, out=out)


def _has_voi_lut(ds: Dataset) -> bool:
    seq = ds.get("VOILUTSequence")
    if not seq:
        return False
    item = seq[0]
    return item.get("LUTDescriptor") is not None and item.get("LUTData") is not None


def _voi_lut_range(ds: Dataset) -> tuple[float, float]:
    """Smallest and largest output of the first VOI LUT (its whole input domain)."""
    descriptor = ds.VOILUTSequence[0].LUTDescriptor
    entries = int(descriptor[0]) or 2**16
    first = int(descriptor[1])
    lut = apply_voi(np.arange(first, first + entries, dtype=np.int64), ds, 0)
    return float(lut.min()), float(lut.max())


def _padding_value(ds: Dataset) -> float | None:
    try:
        padding = ds.get("PixelPaddingValue")
        return None if padding is None else float(padding)
    except Exception:
        return None


def _color(arr: np.ndarray, decoded_pi: str, header: dict[str, Any], meta: dict[str, Any]) -> tuple[np.ndarray, bool]:
    if decoded_pi.startswith("YBR") and decoded_pi not in ("YBR_ICT", "YBR_RCT"):
        try:
            arr = convert_color_space(arr, decoded_pi, "RGB")
        except Exception:
            raise ImageError("imaging.error.unsupported_pixels", detail=decoded_pi) from None
    elif decoded_pi not in ("RGB", "YBR_ICT", "YBR_RCT"):
        raise ImageError("imaging.error.unsupported_pixels", detail=decoded_pi)
    full = float(2 ** min(header["bits_stored"], 32) - 1)
    if np.issubdtype(arr.dtype, np.floating):
        full = max(float(np.nanmax(arr)), 1.0)
    return _rgb_result(arr, full)


def _palette(arr: np.ndarray, ds: Dataset, meta: dict[str, Any]) -> tuple[np.ndarray, bool]:
    try:
        rgb = apply_color_lut(arr, ds)[..., :3]
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    except Exception:
        raise ImageError("imaging.error.corrupt", format=_FMT, reason="palette") from None
    bits = bits if bits in (8, 16) else (8 if rgb.dtype == np.uint8 else 16)
    meta["palette_bits"] = bits
    return _rgb_result(rgb, float(2**bits - 1))


def _rgb_result(rgb: np.ndarray, full_scale: float) -> tuple[np.ndarray, bool]:
    unit = scale_to_unit(rgb, 0.0, full_scale)
    if is_color(unit, 1.0):
        return unit, True
    return np.clip(luma(unit), 0.0, 1.0), False


