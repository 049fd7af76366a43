"""The session copy of a decoded upload: downscaled, uint8 or float16, same metadata."""

from __future__ import annotations

import numpy as np
import pytest

from core.imaging import load_image
from core.imaging.compact import CompactImage
from tests.imaging import corpus


def test_a_small_8bit_image_is_kept_exactly_as_uint8() -> None:
    image = load_image(corpus.seeds()["png-gray"])
    compact = CompactImage.of(image)
    assert compact.pixels.dtype == np.uint8 and not compact.reduced and not compact.pixels.flags.writeable
    back = compact.to_input()
    np.testing.assert_array_equal(back.pixels, image.pixels)
    assert (back.sha256, back.source_format, back.is_color) == (image.sha256, image.source_format, image.is_color)
    assert compact.to_uint8().dtype == np.uint8


def test_a_large_deep_image_is_reduced_to_float16_with_scaled_spacing() -> None:
    stored = corpus.gradient(3000, 2400, dtype=np.uint16, scale=4000.0)
    data = corpus.dicom_bytes(corpus.dicom_dataset(stored, bits_stored=12, PixelSpacing=[0.1, 0.1]))
    image = load_image(data)
    compact = CompactImage.of(image, max_side=1000)
    assert compact.pixels.dtype == np.float16 and compact.pixels.shape == (1000, 800) and compact.reduced
    assert compact.original_size == (3000, 2400)
    back = compact.to_input()
    assert back.spacing_mm == pytest.approx((0.3, 0.3))
    assert back.meta["original_width"] == 2400 and back.meta["original_height"] == 3000
    assert compact.nbytes < image.pixels.nbytes / 10
    assert abs(float(back.pixels.mean()) - float(image.pixels.mean())) < 1e-3


def test_colour_is_kept_as_colour() -> None:
    image = load_image(corpus.seeds()["png-rgb"])
    compact = CompactImage.of(image, precise=True)
    assert compact.pixels.dtype == np.float16 and compact.is_color and compact.to_input().pixels.shape == (96, 80, 3)


def test_a_planar_decoder_layout_is_stored_contiguously() -> None:
    """RLE colour DICOMs decode to a planar (non-contiguous) array; the fuzz bench found the worker
    could not send such a session copy."""
    from core.imaging.worker import decode_isolated

    data = corpus.seeds()["dicom-rle-rgb"]
    assert not load_image(data).pixels.flags.c_contiguous
    compact = CompactImage.of(load_image(data))
    assert compact.pixels.flags.c_contiguous
    kept, stats = decode_isolated(data, compact=(2048, False))
    assert stats.outcome == "ok" and np.array_equal(kept.pixels, compact.pixels)
