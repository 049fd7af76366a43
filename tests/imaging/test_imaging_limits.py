"""Reproducers of issue 16 (uploads within the byte limit that tied up the server) and the
decoder panic: each is generated in memory (tests.imaging.corpus) and must be refused with its
translated error before the expensive step, or, for the panic, turned into the usual error."""

from __future__ import annotations

import time
import tracemalloc
import zlib

import numpy as np
import pytest

from core.imaging import ImageError, Limits, load_image
from core.imaging.precheck import bounded_inflate, jpeg_header
from tests.imaging import corpus

# Loose wall-clock bounds: the attacks took 23-70 s before; a refusal takes well under a second
# on any current CPU, so these only fail if the expensive path runs again.
FAST_S = 10.0


def _refused(data: bytes, filename: str | None = "upload.dcm", limits: Limits | None = None) -> tuple[ImageError, float]:
    start = time.perf_counter()
    with pytest.raises(ImageError) as info:
        load_image(data, filename, limits)
    err = info.value
    assert err.key.startswith("imaging.error.")
    for lang in ("en", "ko"):
        assert err.message(lang) and "{" not in err.message(lang)
    return err, time.perf_counter() - start


def _no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a DICOM pixel decoder or Pillow's decoder runs."""
    from PIL import ImageFile
    from pydicom.pixels.decoders.base import Decoder

    def decoded(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pixels were decoded before the refusal")

    monkeypatch.setattr(Decoder, "as_array", decoded)
    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)


# --- DICOM data elements ---------------------------------------------------------------------


def test_an_8_3_million_element_dicom_under_the_byte_limit_is_refused_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    data = corpus.many_elements_dicom(8_300_000)
    assert len(data) < Limits().max_bytes  # 66 MB: within the byte limit
    _no_pixel_decoding(monkeypatch)
    err, seconds = _refused(data)
    assert err.key == "imaging.error.dicom_too_many_elements"
    assert err.params["limit"] == Limits().max_dicom_elements
    assert seconds < FAST_S


def test_the_element_budget_leaves_ordinary_files_alone() -> None:
    data = corpus.many_elements_dicom(2_000)
    assert load_image(data).source_format == "DICOM"
    err, _ = _refused(data, limits=Limits(max_dicom_elements=500))
    assert err.key == "imaging.error.dicom_too_many_elements"


# --- deflated DICOM ----------------------------------------------------------------------------


def test_a_deflated_dicom_bomb_is_refused_without_inflating_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import pydicom.filereader

    data = corpus.deflate_bomb_dicom(256 << 20)  # inflates to 256 MiB, four times the limit
    assert len(data) < 2 << 20

    def unbounded(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pydicom's unbounded zlib.decompress was called")

    monkeypatch.setattr(pydicom.filereader.zlib, "decompress", unbounded)
    tracemalloc.start()
    try:
        err, seconds = _refused(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.key == "imaging.error.inflated_too_large"
    assert peak < 2 * Limits().max_inflated_bytes + (16 << 20)  # never more than the limit was produced
    assert seconds < FAST_S


def test_a_deflated_dicom_within_the_limit_loads() -> None:
    seeds = corpus.seeds()
    img = load_image(seeds["dicom-deflate"])
    assert img.meta["transfer_syntax"] == "Deflated Explicit VR Little Endian"
    assert img.pixels.shape == (96, 80)
    err, _ = _refused(seeds["dicom-deflate"], limits=Limits(max_inflated_bytes=4096))
    assert err.key == "imaging.error.inflated_too_large"


def test_bounded_inflate_stops_at_the_limit() -> None:
    packer = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = packer.compress(bytes(64 << 20)) + packer.flush()
    assert bounded_inflate(bomb, 64 << 20) == bytes(64 << 20)
    with pytest.raises(ImageError) as info:
        bounded_inflate(bomb, (64 << 20) - 1)
    assert info.value.key == "imaging.error.inflated_too_large"
    with pytest.raises(ImageError) as info:
        bounded_inflate(b"not deflate data \xff\xff\xff", 1000)
    assert info.value.key == "imaging.error.corrupt"


# --- JPEG scans --------------------------------------------------------------------------------


def test_a_progressive_jpeg_with_thousands_of_scans_is_refused_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    data = corpus.many_scans_jpeg(20_000)
    _no_pixel_decoding(monkeypatch)
    err, seconds = _refused(data, "photo.jpg")
    assert err.key == "imaging.error.too_many_scans"
    assert err.params["limit"] == Limits().max_jpeg_scans
    assert seconds < FAST_S


def test_ordinary_progressive_jpegs_load_and_the_scan_limit_is_exact() -> None:
    seeds = corpus.seeds()
    assert jpeg_header(seeds["jpeg-progressive"], 1000).scans == 10  # libjpeg's colour script
    assert jpeg_header(seeds["jpeg-baseline"], 1000).scans == 1
    assert load_image(seeds["jpeg-progressive"]).is_color
    twenty = corpus.many_scans_jpeg_image(corpus.smooth(64, 64), 20)
    assert jpeg_header(twenty, 1000).scans == 20
    assert load_image(twenty, limits=Limits(max_jpeg_scans=20)).pixels.shape == (64, 64)
    err, _ = _refused(twenty, limits=Limits(max_jpeg_scans=19))
    assert err.key == "imaging.error.too_many_scans"


# --- pixel bombs --------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [
    corpus.pixel_bomb_png,
    corpus.pixel_bomb_jpeg,
    corpus.pixel_bomb_dicom,
    lambda: corpus.pixel_bomb_dicom(4096, 4096, 4000),
], ids=["png-30000", "jpeg-60000", "dicom-30000", "dicom-frames"])
def test_pixel_bombs_are_refused_from_the_header(build, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    data = build()
    _no_pixel_decoding(monkeypatch)
    err, seconds = _refused(data)
    assert err.key == "imaging.error.too_many_pixels"
    assert seconds < FAST_S


def test_the_sample_limit_counts_channels() -> None:
    rgb = corpus.pil_bytes(corpus.smooth(64, 64, channels=3), "PNG")
    gray = corpus.pil_bytes(corpus.smooth(64, 64), "PNG")
    limits = Limits(max_pixels=10_000, max_elements=3 * 64 * 64 - 1)
    assert load_image(gray, limits=limits).pixels.shape == (64, 64)
    err, _ = _refused(rgb, limits=limits)
    assert err.key == "imaging.error.too_many_pixels" and err.params["samples"] == 3


@pytest.mark.parametrize("kind", ["j2k", "jpeg"])
def test_a_compressed_frame_declaring_more_than_rows_and_columns_is_refused_before_decoding(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = corpus.codestream_bomb_dicom(kind, 1024)  # 64 x 64 in the image module
    _no_pixel_decoding(monkeypatch)
    err, _ = _refused(data)
    assert err.key == "imaging.error.corrupt"
    assert "codestream" in err.params["reason"]


def test_compressed_dicoms_of_every_decoder_still_load() -> None:
    seeds = corpus.seeds()
    for name in ("dicom-rle", "dicom-rle-rgb", "dicom-j2k-lossless", "dicom-j2k", "dicom-jpeg-baseline"):
        img = load_image(seeds[name])
        assert img.pixels.shape[:2] == (96, 80), name


# --- decoder panics -----------------------------------------------------------------------------


def test_the_rle_panic_reproducer_really_panics_and_becomes_the_usual_error() -> None:
    import io

    from pydicom import dcmread

    data = corpus.panic_rle_dicom()
    assert data == corpus.panic_rle_dicom()  # deterministic
    with pytest.raises(BaseException) as raw:  # noqa: PT011 - the point is the exception's class
        dcmread(io.BytesIO(data)).pixel_array  # noqa: B018
    assert type(raw.value).__name__ == "PanicException" and not isinstance(raw.value, Exception)
    err, _ = _refused(data)
    assert err.key == "imaging.error.corrupt" and err.params["reason"] == "PanicException"
    assert err.__cause__ is None and err.__context__ is None


def test_after_a_panic_the_other_files_of_a_batch_still_load() -> None:
    batch = [("a.dcm", corpus.panic_rle_dicom()), ("b.png", corpus.seeds()["png-gray"]),
             ("c.dcm", corpus.seeds()["dicom-rle"])]
    results = []
    for name, data in batch:
        try:
            results.append(load_image(data, name))
        except ImageError as err:
            results.append(err)
    assert isinstance(results[0], ImageError)
    assert results[1].pixels.shape == (96, 80) and results[2].pixels.shape == (96, 80)


class _Panic(BaseException):
    """Stands in for pyo3_runtime.PanicException (a BaseException, not an Exception)."""


@pytest.mark.parametrize("raised", [_Panic("index out of bounds"), MemoryError()])
def test_any_decoder_base_exception_becomes_an_image_error(raised: BaseException, monkeypatch: pytest.MonkeyPatch) -> None:
    def decoder(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise raised

    monkeypatch.setattr("core.imaging.loader.decode_raster", decoder)
    err, _ = _refused(corpus.seeds()["png-gray"])
    assert err.key in ("imaging.error.corrupt", "imaging.error.out_of_memory")


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_interrupts_and_exits_are_not_swallowed(raised: type[BaseException], monkeypatch: pytest.MonkeyPatch) -> None:
    def decoder(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise raised()

    monkeypatch.setattr("core.imaging.loader.decode_raster", decoder)
    with pytest.raises(raised):
        load_image(corpus.seeds()["png-gray"])


# --- windowing without float64 copies still matches pydicom ---------------------------------------


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_the_float32_window_matches_pydicom(function: str) -> None:
    from pydicom.dataset import Dataset
    from pydicom.pixels.processing import apply_windowing

    from core.imaging.dicom import window

    values = np.linspace(-1500, 3000, 4001).astype(np.float64)
    ds = Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = "MONOCHROME2", 16, 1
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 40, 400, function
    reference = apply_windowing(values, ds)
    probe = apply_windowing(np.array([-1e30, 1e30]), ds)
    expected = (reference - probe[0]) / (probe[1] - probe[0])
    np.testing.assert_allclose(window(values, 40, 400, function), expected, atol=1e-5)


def test_limits_validate_the_new_fields() -> None:
    for bad in ({"max_seconds": 0}, {"max_seconds": float("inf")}, {"max_jpeg_scans": 0},
                {"max_dicom_elements": -1}, {"max_memory_bytes": 1.5}, {"max_inflated_bytes": True}):
        with pytest.raises(ValueError):
            Limits(**bad)
    assert Limits(max_seconds=0.5).max_seconds == 0.5
