"""ImageInput's contract: frozen, read-only float32 pixels, gray()/rgb()/to_uint8(), repr."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from core.imaging import ImageInput, load_image

from .helpers import build_dicom, gray8, pil_bytes


def _make(pixels: np.ndarray, **overrides: object) -> ImageInput:
    fields: dict[str, object] = dict(
        pixels=pixels, source_format="PNG", is_color=pixels.ndim == 3, bit_depth=8, spacing_mm=None,
        modality=None, body_part=None, view_position=None, photometric="RGB", sha256="0" * 64, meta={},
    )
    fields.update(overrides)
    return ImageInput(**fields)  # type: ignore[arg-type]


def test_gray_rgb_uint8_for_grayscale() -> None:
    arr = gray8()
    img = load_image(pil_bytes(Image.fromarray(arr, "L"), "PNG"))
    assert img.gray() is img.pixels
    rgb = img.rgb()
    assert rgb.shape == (*arr.shape, 3) and rgb.dtype == np.float32
    assert np.array_equal(rgb[..., 0], img.pixels) and np.array_equal(rgb[..., 2], img.pixels)
    np.testing.assert_array_equal(img.to_uint8(), arr)
    assert (img.height, img.width) == arr.shape


def test_gray_of_colour_is_bt601_luma() -> None:
    px = np.zeros((4, 4, 3), np.float32)
    px[0, 0] = (1, 0, 0)
    px[0, 1] = (0, 1, 0)
    px[0, 2] = (0, 0, 1)
    px[0, 3] = (1, 1, 1)
    img = _make(px)
    np.testing.assert_allclose(img.gray()[0], (0.299, 0.587, 0.114, 1.0), atol=1e-6)
    assert img.gray().dtype == np.float32 and img.rgb() is img.pixels
    assert img.to_uint8()[0, 3].tolist() == [255, 255, 255]


def test_frozen_and_read_only() -> None:
    px = np.zeros((40, 40), np.float32)
    img = _make(px, is_color=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        img.is_color = True  # type: ignore[misc]
    with pytest.raises(ValueError):
        img.pixels[0, 0] = 1.0
    px[0, 0] = 0.5  # the caller's own array stays writable (the field is a read-only view)


def test_contract_is_enforced() -> None:
    with pytest.raises(TypeError):
        _make(np.zeros((4, 4), np.float64))
    with pytest.raises(ValueError):
        _make(np.zeros((4, 4, 4), np.float32))


def test_meta_is_json_serialisable() -> None:
    png = load_image(pil_bytes(Image.fromarray(gray8(), "L"), "PNG"))
    dcm = load_image(build_dicom(gray8(), "MONOCHROME1", 8, PixelSpacing=[0.2, 0.2], WindowCenter=100, WindowWidth=50))
    for img in (png, dcm):
        assert json.loads(json.dumps(img.meta)) == json.loads(json.dumps(img.meta, default=str))


def test_repr_is_short_and_informative() -> None:
    img = load_image(pil_bytes(Image.fromarray(gray8(), "L"), "PNG"), "Patient_Name.png")
    text = repr(img)
    assert text.startswith("ImageInput(source_format='PNG', shape=(96, 80)")
    assert "Patient_Name" not in text and len(text) < 600
    assert str(img) == text
