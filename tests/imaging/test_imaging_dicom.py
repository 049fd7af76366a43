"""DICOM built in memory with pydicom: photometrics, modality LUT, VOI LUT / windows, signed
data, multi-frame, colour, compression, spacing, missing pixels, and PHI."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.pixels import get_encoder
from pydicom.pixels.processing import convert_color_space
from pydicom.sequence import Sequence
from pydicom.uid import MPEG2MPML, JPEG2000Lossless, JPEGBaseline8Bit, RLELossless

from core.imaging import ImageError, load_image
from core.imaging.dicom_meta import DICOM_META_KEYS

from .helpers import (
    PHI,
    build_dicom,
    dicom_bytes,
    dicom_dataset,
    pil_bytes,
    structured_report,
    voi_lut_item,
    xray_like,
)


def _u12(height: int = 64, width: int = 48, seed: int = 0) -> np.ndarray:
    return np.rint(xray_like(height, width, seed) * 4095).astype(np.uint16)


def test_monochrome1_and_monochrome2_give_the_same_display() -> None:
    stored = _u12()
    mono2 = load_image(build_dicom(stored, "MONOCHROME2", 12))
    mono1 = load_image(build_dicom((4095 - stored).astype(np.uint16), "MONOCHROME1", 12))
    assert mono1.meta["inverted"] is True and "inverted" not in mono2.meta
    assert mono2.bit_depth == 12 and mono2.meta["voi"] == "percentile"
    assert float(np.abs(mono1.pixels - mono2.pixels).max()) < 1e-5
    # bright stored value = bright display for MONOCHROME2
    assert mono2.pixels.flat[int(np.argmax(stored))] == 1.0


def test_monochrome1_with_a_window_is_inverted_after_windowing() -> None:
    stored = _u12()
    mono2 = load_image(build_dicom(stored, "MONOCHROME2", 12, WindowCenter=2048, WindowWidth=4096))
    mono1 = load_image(build_dicom((4095 - stored).astype(np.uint16), "MONOCHROME1", 12, WindowCenter=2047, WindowWidth=4096))
    assert mono2.meta["voi"] == "window"
    assert float(np.abs(mono1.pixels - mono2.pixels).max()) < 2e-3


def test_rescale_slope_intercept_then_window() -> None:
    stored = np.tile(np.arange(0, 1001, 10, dtype=np.uint16), (40, 1))  # 40 x 101
    img = load_image(
        build_dicom(stored, "MONOCHROME2", 16, RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=0, WindowWidth=1000)
    )
    hu = stored.astype(np.float64) * 2 - 1000
    c, w = 0 - 0.5, 1000 - 1  # DICOM LINEAR window, PS3.3 C.11.2.1.2.1
    expected = np.clip((hu - c) / w + 0.5, 0, 1)
    np.testing.assert_allclose(img.pixels, expected, atol=1e-4)
    assert img.meta["modality_lut"] == "rescale"
    assert (img.meta["rescale_slope"], img.meta["rescale_intercept"]) == (2.0, -1000.0)
    assert (img.meta["window_center"], img.meta["window_width"]) == (0.0, 1000.0)


def test_negative_rescale_slope_reverses_the_display() -> None:
    stored = _u12()
    plain = load_image(build_dicom(stored, "MONOCHROME2", 12))
    flipped = load_image(build_dicom(stored, "MONOCHROME2", 12, RescaleSlope=-1, RescaleIntercept=4095))
    assert float(np.abs((1 - flipped.pixels) - plain.pixels).max()) < 1e-5


def test_multi_valued_window_uses_the_first() -> None:
    stored = _u12()
    ds = dicom_dataset(stored, "MONOCHROME2", 12)
    ds.WindowCenter = [1000, 3000]
    ds.WindowWidth = [500, 2000]
    img = load_image(dicom_bytes(ds))
    assert (img.meta["window_center"], img.meta["window_width"]) == (1000.0, 500.0)
    below, above = stored <= 1000 - 0.5 - 499 / 2, stored > 1000 - 0.5 + 499 / 2
    assert np.all(img.pixels[below] == 0.0) and np.all(img.pixels[above] == 1.0)


def test_sigmoid_window() -> None:
    stored = _u12()
    img = load_image(build_dicom(stored, "MONOCHROME2", 12, WindowCenter=2048, WindowWidth=1000, VOILUTFunction="SIGMOID"))
    expected = 1 / (1 + np.exp(-4 * (stored - 2048.0) / 1000))
    np.testing.assert_allclose(img.pixels, expected, atol=1e-4)
    assert img.meta["voi_lut_function"] == "SIGMOID"


def test_voi_lut_sequence_is_preferred_over_the_window() -> None:
    stored = (np.arange(64 * 48) % 256).astype(np.uint8).reshape(64, 48)
    lut = [min(255, 2 * i) for i in range(256)]  # doubles contrast, saturates at 128
    ds = dicom_dataset(stored, "MONOCHROME2", 8, WindowCenter=10, WindowWidth=5)
    ds.VOILUTSequence = Sequence([voi_lut_item(0, 256, 8, lut)])
    img = load_image(dicom_bytes(ds))
    assert img.meta["voi"] == "lut"
    np.testing.assert_allclose(img.pixels, np.minimum(255, 2 * stored.astype(float)) / 255, atol=1e-6)


def test_invalid_window_falls_back_to_percentiles() -> None:
    stored = _u12()
    img = load_image(build_dicom(stored, "MONOCHROME2", 12, WindowCenter=100, WindowWidth=0))
    assert img.meta["voi"] == "percentile" and "voi_note" in img.meta
    assert img.pixels.min() == 0.0 and img.pixels.max() == 1.0


def test_signed_16bit_with_ct_style_rescale_and_window() -> None:
    hu = np.rint(xray_like(64, 64) * 2000 - 1000).astype(np.int16)  # -1000..1000
    stored = (hu + 1024).astype(np.int16)  # stored signed, rescale intercept -1024
    stored[0, 0] = -2000  # padding-like outlier below zero
    img = load_image(
        build_dicom(stored, "MONOCHROME2", 16, RescaleSlope=1, RescaleIntercept=-1024, WindowCenter=40, WindowWidth=400)
    )
    assert img.meta["pixel_representation"] == "signed"
    value = hu.astype(float)
    expected = np.clip((value - 39.5) / 399 + 0.5, 0, 1)
    expected[0, 0] = 0.0
    np.testing.assert_allclose(img.pixels, expected, atol=1e-4)


def test_signed_data_without_window_keeps_order() -> None:
    stored = np.rint(xray_like(64, 64) * 3000 - 1500).astype(np.int16)
    img = load_image(build_dicom(stored, "MONOCHROME2", 16))
    assert img.pixels.flat[int(np.argmin(stored))] == 0.0
    assert img.pixels.flat[int(np.argmax(stored))] == 1.0
    corr = np.corrcoef(img.pixels.ravel(), stored.ravel())[0, 1]
    assert corr > 0.99


def test_multi_frame_decodes_the_first_frame_only() -> None:
    frames = np.stack([_u12(seed=s) for s in range(3)])
    frames[1:] = 0
    img = load_image(build_dicom(frames, "MONOCHROME2", 12))
    single = load_image(build_dicom(frames[0], "MONOCHROME2", 12))
    assert img.meta["number_of_frames"] == 3 and img.meta["frame_index"] == 0
    np.testing.assert_array_equal(img.pixels, single.pixels)


def test_rgb_and_ybr_dicom() -> None:
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (200, 30, 30)
    rgb[:, 32:] = (30, 30, 200)
    img = load_image(build_dicom(rgb, "RGB", 8))
    assert img.is_color and img.pixels.shape == (48, 64, 3) and img.photometric == "RGB"
    np.testing.assert_allclose(img.pixels[5, 5], np.array((200, 30, 30)) / 255, atol=1e-6)

    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    img = load_image(build_dicom(ybr, "YBR_FULL", 8))
    assert img.photometric == "YBR_FULL" and img.meta["decoded_photometric"] == "RGB"
    np.testing.assert_allclose(img.pixels[5, 5], np.array((200, 30, 30)) / 255, atol=0.02)

    gray = np.repeat(np.rint(xray_like(48, 64) * 255).astype(np.uint8)[..., None], 3, axis=2)
    img = load_image(build_dicom(gray, "RGB", 8))
    assert img.is_color is False and img.pixels.ndim == 2


def test_jpeg_baseline_ycbcr_colour_dicom() -> None:
    """The usual colour secondary capture: a YCbCr JPEG stream, YBR_FULL_422."""
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (200, 30, 30)
    rgb[:, 32:] = (30, 30, 200)
    ds = dicom_dataset(rgb, "RGB", 8)
    ds.PixelData = encapsulate([pil_bytes(Image.fromarray(rgb, "RGB"), "JPEG", quality=95)])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    img = load_image(dicom_bytes(ds))
    assert img.is_color and img.photometric == "YBR_FULL_422" and img.meta["decoded_photometric"] == "RGB"
    np.testing.assert_allclose(img.pixels[5, 5], np.array((200, 30, 30)) / 255, atol=0.03)


def test_palette_color_dicom() -> None:
    stored = np.zeros((40, 40), np.uint8)
    stored[:, 20:] = 1
    ds = dicom_dataset(stored, "MONOCHROME2", 8)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    red, green, blue = np.zeros(256, "<u2"), np.zeros(256, "<u2"), np.zeros(256, "<u2")
    red[0], blue[1], green[1] = 65535, 65535, 32768
    for colour, lut in (("Red", red), ("Green", green), ("Blue", blue)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut.tobytes())
    img = load_image(dicom_bytes(ds))
    assert img.is_color and img.photometric == "PALETTE COLOR" and img.meta["palette_bits"] == 16
    np.testing.assert_allclose(img.pixels[0, 0], (1, 0, 0), atol=1e-4)
    np.testing.assert_allclose(img.pixels[0, 39], (0, 32768 / 65535, 1), atol=1e-4)


def test_rle_compressed() -> None:
    stored = _u12()
    ds = dicom_dataset(stored, "MONOCHROME2", 12)
    ds.compress(RLELossless)
    img = load_image(dicom_bytes(ds))
    native = load_image(build_dicom(stored, "MONOCHROME2", 12))
    assert img.meta["transfer_syntax"] == "RLE Lossless"
    np.testing.assert_array_equal(img.pixels, native.pixels)


def test_jpeg2000_lossless_compressed() -> None:
    if not get_encoder(JPEG2000Lossless).is_available:
        pytest.skip("no JPEG 2000 encoder plugin (pylibjpeg-openjpeg) installed")
    stored = _u12()
    ds = dicom_dataset(stored, "MONOCHROME2", 12)
    ds.compress(JPEG2000Lossless)
    img = load_image(dicom_bytes(ds))
    native = load_image(build_dicom(stored, "MONOCHROME2", 12))
    np.testing.assert_array_equal(img.pixels, native.pixels)


def test_undecodable_transfer_syntax() -> None:
    ds = dicom_dataset(_u12(), "MONOCHROME2", 12)
    ds.compress(RLELossless)
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    with pytest.raises(ImageError) as info:
        load_image(dicom_bytes(ds))
    assert info.value.key == "imaging.error.dicom_unsupported"
    assert "MPEG2" in str(info.value)


def test_spacing_sources() -> None:
    stored = _u12()
    both = load_image(build_dicom(stored, PixelSpacing=[0.2, 0.25], ImagerPixelSpacing=[0.15, 0.15]))
    assert both.spacing_mm == (0.2, 0.25) and both.meta["spacing_source"] == "PixelSpacing"
    imager = load_image(build_dicom(stored, ImagerPixelSpacing=[0.139, 0.14]))
    assert imager.spacing_mm == (0.139, 0.14) and imager.meta["spacing_source"] == "ImagerPixelSpacing"
    bad = load_image(build_dicom(stored, PixelSpacing=[0, 0], ImagerPixelSpacing=[0.1, 0.1]))
    assert bad.spacing_mm == (0.1, 0.1) and bad.meta["spacing_source"] == "ImagerPixelSpacing"
    none = load_image(build_dicom(stored))
    assert none.spacing_mm is None and "spacing_source" not in none.meta
    assert both.meta["spacing_plane"] == "patient" and imager.meta["spacing_plane"] == "detector"


def test_detector_spacing_is_corrected_by_the_magnification_factor() -> None:
    """Imager Pixel Spacing is at the detector: a 1.15x magnified projection overstates every
    length by 15 % unless the spacing is divided by the file's magnification factor."""
    stored = _u12()
    img = load_image(build_dicom(stored, ImagerPixelSpacing=[0.15, 0.15], EstimatedRadiographicMagnificationFactor="1.15"))
    assert img.spacing_mm == pytest.approx((0.15 / 1.15, 0.15 / 1.15))
    assert img.meta["spacing_plane"] == "patient" and img.meta["magnification_factor"] == pytest.approx(1.15)
    calibrated = load_image(build_dicom(stored, PixelSpacing=[0.13, 0.13], ImagerPixelSpacing=[0.15, 0.15],
                                        EstimatedRadiographicMagnificationFactor="1.15"))
    assert calibrated.spacing_mm == (0.13, 0.13)  # Pixel Spacing is already in the patient plane
    for junk in ("0.5", "7", "nan"):
        odd = load_image(build_dicom(stored, ImagerPixelSpacing=[0.15, 0.15], EstimatedRadiographicMagnificationFactor=junk))
        assert odd.spacing_mm == (0.15, 0.15) and odd.meta["spacing_plane"] == "detector"


def test_modality_body_part_view(caplog: pytest.LogCaptureFixture) -> None:
    img = load_image(build_dicom(_u12(), Modality="DX", BodyPartExamined="SHOULDER", ViewPosition="AP"))
    assert (img.modality, img.body_part, img.view_position) == ("DX", "SHOULDER", "AP")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid value while building
        data = build_dicom(_u12(), BodyPartExamined="lung of Hong Gildong")
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        odd = load_image(data)
    assert odd.body_part == "LUNG"  # only the listed term is kept, never the text around it
    # pydicom's validation messages quote values; the loader keeps them out of warnings and logs
    assert not [w for w in caught if "Hong" in str(w.message)]
    assert "Hong" not in caplog.text and "HONG" not in repr(odd)
    typed = load_image(build_dicom(_u12(), Modality="JOHN", BodyPartExamined="HONG GILDONG", ViewPosition="KIM 010 1234"))
    assert (typed.modality, typed.body_part, typed.view_position) == ("OTHER", "OTHER", "OTHER")
    assert not [v for v in typed.meta.values() if isinstance(v, str) and ("HONG" in v or "KIM" in v or "JOHN" in v)]


def test_preamble_less_dicom_needs_a_dcm_name() -> None:
    ds = dicom_dataset(_u12(), "MONOCHROME2", 12, Modality="CR")
    data = dicom_bytes(ds, preamble=False)
    assert data[128:132] != b"DICM"
    img = load_image(data, "IMG0001.DCM")
    assert img.source_format == "DICOM" and img.modality == "CR"
    assert img.meta["transfer_syntax"] == "Implicit VR Little Endian"
    for name in (None, "IMG0001", "IMG0001.png"):
        with pytest.raises(ImageError) as info:
            load_image(data, name)
        assert info.value.key == "imaging.error.unknown_type"


def test_dicom_without_pixel_data() -> None:
    with pytest.raises(ImageError) as info:
        load_image(structured_report(), "report.dcm")
    assert info.value.key == "imaging.error.dicom_no_pixels"
    assert info.value.params["sop_class"] == "Basic Text SR Storage"


def test_huge_declared_dicom_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def decoded(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pixel data was decoded before the refusal")

    monkeypatch.setattr("core.imaging.dicom._decode_first_frame", decoded)  # refused from the header
    ds = dicom_dataset(_u12(), "MONOCHROME2", 12)
    ds.Rows, ds.Columns = 65535, 65535  # 4.3 gigapixels declared, 6 kB of data
    with pytest.raises(ImageError) as info:
        load_image(dicom_bytes(ds))
    assert info.value.key == "imaging.error.too_many_pixels"

    frames = dicom_dataset(_u12(512, 512), "MONOCHROME2", 12)
    frames.NumberOfFrames = 1000  # 262 megapixels in all
    with pytest.raises(ImageError) as info:
        load_image(dicom_bytes(frames))
    assert info.value.key == "imaging.error.too_many_pixels"
    assert info.value.params["frames"] == 1000


def test_truncated_dicom() -> None:
    data = build_dicom(_u12(), "MONOCHROME2", 12)
    for cut in (len(data) - 1000, len(data) // 2):
        with pytest.raises(ImageError) as info:
            load_image(data[:cut])
        assert info.value.key == "imaging.error.truncated", cut


def test_built_dicom_phi_is_absent_from_results_errors_and_warnings() -> None:
    secrets = [v for v in PHI.values() if len(v) >= 6]
    inputs = [
        build_dicom(_u12(), "MONOCHROME2", 12, PixelSpacing=[0.2, 0.2]),
        build_dicom(_u12(), "MONOCHROME1", 12, WindowCenter=[1, 2], WindowWidth=[0, 0]),  # invalid window
    ]
    for data in inputs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            img = load_image(data, "Hong_Gildong.dcm")
        said = "\n".join([repr(img), str(img.meta), *(str(w.message) for w in caught)])
        assert not [s for s in secrets if s in said]
        assert "Hong_Gildong" not in said
        assert set(img.meta) <= DICOM_META_KEYS

    failing = [structured_report(), build_dicom(_u12())[:-1500], build_dicom(_u12())[:600]]
    for data in failing:
        with pytest.raises(ImageError) as info:
            load_image(data, "Hong_Gildong.dcm")
        err = info.value
        text = " ".join([str(err), err.message("ko"), err.message("en"), repr(err.params)])
        assert not [s for s in secrets if s in text] and "Hong_Gildong" not in text
        assert err.__cause__ is None and err.__context__ is None


def test_pixel_padding_value_is_left_out_of_the_percentile_window() -> None:
    stored = _u12(64, 64)
    stored[:, :40] = 0  # a large padded border (62 % of the image)
    padded = load_image(build_dicom(stored, "MONOCHROME2", 12, PixelPaddingValue=0))
    plain = load_image(build_dicom(stored, "MONOCHROME2", 12))
    body = stored[:, 40:]
    assert padded.meta["window_low"] == pytest.approx(np.percentile(body, 0.5), abs=1)
    assert plain.meta["window_low"] == 0.0
    rescaled = load_image(
        build_dicom(stored, "MONOCHROME2", 12, PixelPaddingValue=0, RescaleSlope=1, RescaleIntercept=-1024)
    )
    assert rescaled.meta["window_low"] == pytest.approx(padded.meta["window_low"] - 1024)
