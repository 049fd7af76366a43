"""Property: for any bytes, load_image returns an ImageInput or raises ImageError, nothing else."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.imaging import ImageError, ImageInput, Limits, load_image

from .helpers import build_dicom, gray8, pil_bytes

# Small pixel limit: a mutation that inflates a header must be refused, not decoded slowly.
LIMITS = Limits(max_bytes=1 << 20, max_pixels=250_000, min_side=8)
_GRAY = gray8(48, 40)
_RGB = np.stack([_GRAY, _GRAY[::-1], _GRAY[:, ::-1]], axis=2)
SEEDS: list[bytes] = [
    pil_bytes(Image.fromarray(_GRAY, "L"), "PNG"),
    pil_bytes(Image.fromarray(_RGB, "RGB"), "PNG"),
    pil_bytes(Image.fromarray(_RGB, "RGB"), "JPEG", quality=80),
    pil_bytes(Image.fromarray(_GRAY, "L"), "JPEG", quality=80),
    pil_bytes(Image.fromarray(_GRAY, "L"), "TIFF"),
    pil_bytes(Image.fromarray(_GRAY, "L"), "BMP"),
    pil_bytes(Image.fromarray(_RGB, "RGB"), "WEBP", quality=80),
    build_dicom(_GRAY, "MONOCHROME2", 8, WindowCenter=128, WindowWidth=200, PixelSpacing=[0.2, 0.2]),
    build_dicom((_GRAY.astype(np.int16) * 8 - 900), "MONOCHROME1", 12, RescaleSlope=1, RescaleIntercept=-24),
]


def _check(data: bytes, filename: str | None) -> None:
    try:
        result = load_image(data, filename, LIMITS)
    except ImageError as err:
        assert err.key.startswith("imaging.error.")
        assert err.message("ko") and err.message("en")
        return
    assert isinstance(result, ImageInput)
    px = result.pixels
    assert px.dtype == np.float32 and px.ndim in (2, 3)
    assert np.isfinite(px).all() and px.min() >= 0.0 and px.max() <= 1.0


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        else:
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[pos : pos + len(chunk)] = chunk
    return bytes(data)


FILENAMES = st.sampled_from([None, "scan.dcm", "photo.jpg", "x.png"])
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=mutated(), filename=FILENAMES)
def test_mutated_images_never_escape_as_other_exceptions(data: bytes, filename: str | None) -> None:
    _check(data, filename)


@settings(max_examples=100, deadline=None, database=None)
@given(data=st.binary(max_size=2048), filename=FILENAMES)
def test_random_bytes_never_escape_as_other_exceptions(data: bytes, filename: str | None) -> None:
    _check(data, filename)


@settings(max_examples=60, deadline=None, database=None)
@given(body=st.binary(max_size=600), filename=FILENAMES)
def test_random_bytes_behind_a_dicom_preamble(body: bytes, filename: str | None) -> None:
    _check(bytes(128) + b"DICM" + body, filename)


def test_every_seed_loads() -> None:
    for seed in SEEDS:
        assert isinstance(load_image(seed, None, LIMITS), ImageInput)
