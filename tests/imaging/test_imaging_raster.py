"""Raster formats built in memory with Pillow: modes, bit depths, alpha, palettes, EXIF
orientation, multi-frame files, colour detection."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from core.imaging import load_image

from .helpers import gray8, pil_bytes, xray_like


def test_8bit_png_is_exact() -> None:
    arr = gray8()
    data = pil_bytes(Image.fromarray(arr, "L"), "PNG")
    img = load_image(data, "x.png")
    assert img.source_format == "PNG" and img.photometric == "L" and img.bit_depth == 8
    assert img.pixels.shape == arr.shape and img.pixels.dtype == np.float32
    np.testing.assert_allclose(img.pixels, arr / 255.0, atol=1e-7)
    assert img.sha256 == hashlib.sha256(data).hexdigest()
    assert not img.pixels.flags.writeable


def test_16bit_png_with_12bit_data_is_windowed_to_full_range() -> None:
    ramp = np.tile(np.linspace(200, 3900, 128).astype(np.uint16), (64, 1))
    im = Image.fromarray(ramp)
    assert im.mode == "I;16"
    img = load_image(pil_bytes(im, "PNG"))
    assert img.bit_depth == 16 and img.photometric == "I;16" and not img.is_color
    assert img.meta["window"] == "percentile"
    row = img.pixels[0]
    assert row[0] == 0.0 and row[-1] == 1.0
    assert np.all(np.diff(row) >= 0)  # monotonic
    assert 0.45 < row[64] < 0.55  # linear in between


@pytest.mark.parametrize(("mode", "dtype"), [("I", np.int32), ("F", np.float32)])
def test_32bit_tiff_grayscale(mode: str, dtype: type) -> None:
    arr = (xray_like(64, 48) * 100000 - 20000).astype(dtype)
    im = Image.fromarray(arr, mode)
    img = load_image(pil_bytes(im, "TIFF"))
    assert img.source_format == "TIFF" and img.bit_depth == 32 and img.pixels.shape == (64, 48)
    assert 0.0 == img.pixels.min() and img.pixels.max() == 1.0
    # order preserved: the brightest stored pixel is white
    assert img.pixels.flat[int(np.argmax(arr))] == 1.0


def test_rgb_file_of_a_gray_image_is_gray() -> None:
    arr = gray8()
    im = Image.fromarray(np.stack([arr] * 3, axis=2), "RGB")
    for fmt, tol in (("PNG", 1e-7), ("JPEG", 0.04), ("BMP", 1e-7), ("WEBP", 0.04)):
        img = load_image(pil_bytes(im, fmt, **({"quality": 75} if fmt in ("JPEG", "WEBP") else {})))
        assert img.source_format == fmt
        assert img.is_color is False and img.pixels.shape == arr.shape, fmt
        assert float(np.abs(img.pixels - arr / 255.0).mean()) < tol, fmt


def test_colour_image_stays_rgb() -> None:
    h, w = 64, 96
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, w)[None, :]
    rgb[..., 1] = np.linspace(0, 255, h)[:, None]
    rgb[..., 2] = 90
    img = load_image(pil_bytes(Image.fromarray(rgb, "RGB"), "PNG"))
    assert img.is_color is True and img.pixels.shape == (h, w, 3)
    np.testing.assert_allclose(img.pixels, rgb / 255.0, atol=1e-7)


def test_gray_radiograph_with_a_small_coloured_arrow_is_colour() -> None:
    arr = gray8(256, 256)
    rgb = np.stack([arr] * 3, axis=2)
    rgb[100:108, 40:70] = (230, 30, 30)  # a red annotation, 0.4 % of the image
    img = load_image(pil_bytes(Image.fromarray(rgb, "RGB"), "JPEG", quality=90))
    assert img.is_color is True


def test_rgba_is_composited_on_black() -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 255
    rgba[:, :20, 3] = 0  # left half fully transparent
    rgba[:, 20:30, 3] = 128
    img = load_image(pil_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert img.meta["alpha"] == "composited_on_black" and img.is_color is False
    assert img.pixels[:, :20].max() == 0.0
    assert img.pixels[0, 25] == pytest.approx(200 / 255 * 128 / 255, abs=1e-3)
    assert img.pixels[0, 35] == pytest.approx(200 / 255, abs=1e-3)


def test_la_and_bilevel_modes() -> None:
    la = np.zeros((40, 40, 2), np.uint8)
    la[..., 0] = 180
    la[..., 1] = 255
    la[:10, :, 1] = 0
    img = load_image(pil_bytes(Image.fromarray(la, "LA"), "PNG"))
    assert img.pixels.shape == (40, 40) and img.pixels[:10].max() == 0.0
    assert img.pixels[20, 20] == pytest.approx(180 / 255)

    bits = Image.fromarray((np.indices((40, 40)).sum(axis=0) % 2 * 255).astype(np.uint8), "L").convert("1")
    img = load_image(pil_bytes(bits, "PNG"))
    assert img.bit_depth == 1 and set(np.unique(img.pixels)) == {0.0, 1.0}


def test_palette_images() -> None:
    gray_p = Image.fromarray(gray8(), "L").convert("P")
    img = load_image(pil_bytes(gray_p, "PNG"))
    assert img.photometric == "P" and img.is_color is False and img.pixels.ndim == 2

    colour = np.zeros((48, 48, 3), np.uint8)
    colour[:, :24] = (255, 0, 0)
    colour[:, 24:] = (0, 0, 255)
    img = load_image(pil_bytes(Image.fromarray(colour, "RGB").convert("P"), "PNG"))
    assert img.is_color is True and img.pixels.shape == (48, 48, 3)
    np.testing.assert_allclose(img.pixels[0, 0], (1, 0, 0))
    np.testing.assert_allclose(img.pixels[0, 47], (0, 0, 1))

    trans = Image.fromarray(colour, "RGB").convert("P")
    trans.info["transparency"] = trans.getpixel((0, 0))  # red becomes transparent
    img = load_image(pil_bytes(trans, "PNG", transparency=trans.getpixel((0, 0))))
    assert img.meta["alpha"] == "composited_on_black"
    np.testing.assert_allclose(img.rgb()[0, 0], (0, 0, 0))
    np.testing.assert_allclose(img.rgb()[0, 47], (0, 0, 1))


def test_cmyk_jpeg_and_tiff() -> None:
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (0, 128, 255)
    rgb[:, 32:] = (250, 250, 250)
    cmyk = Image.fromarray(rgb, "RGB").convert("CMYK")
    for fmt in ("JPEG", "TIFF"):
        img = load_image(pil_bytes(cmyk, fmt, **({"quality": 95} if fmt == "JPEG" else {})))
        assert img.photometric == "CMYK" and img.is_color is True, fmt
        assert img.meta["converted_from"] == "CMYK"
        np.testing.assert_allclose(img.pixels[24, 10], np.array((0, 128, 255)) / 255, atol=0.05)


@pytest.mark.parametrize(
    ("orientation", "marker_at"),
    [
        (3, "bottom-right"),  # rotated 180 degrees
        (6, "top-right"),  # display = stored rotated 90 degrees clockwise
        (8, "bottom-left"),  # display = stored rotated 90 degrees counter-clockwise
    ],
)
def test_exif_orientation_is_applied(orientation: int, marker_at: str) -> None:
    h, w = 60, 100  # stored landscape
    arr = np.full((h, w), 40, np.uint8)
    arr[:12, :12] = 255  # bright marker in the stored top-left corner
    im = Image.fromarray(arr, "L")
    exif = Image.Exif()
    exif[0x0112] = orientation
    img = load_image(pil_bytes(im, "JPEG", quality=95, exif=exif.tobytes()), "photo.jpg")
    assert img.meta["exif_orientation"] == orientation
    expected_shape = (h, w) if orientation == 3 else (w, h)
    assert img.pixels.shape == expected_shape
    rows, cols = img.pixels.shape
    corners = {
        "top-left": img.pixels[:6, :6],
        "top-right": img.pixels[:6, cols - 6 :],
        "bottom-left": img.pixels[rows - 6 :, :6],
        "bottom-right": img.pixels[rows - 6 :, cols - 6 :],
    }
    for name, patch in corners.items():
        if name == marker_at:
            assert patch.mean() > 0.9, name
        else:
            assert patch.mean() < 0.3, name


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_camera_named_in_exif_is_flagged_but_not_named(fmt: str) -> None:
    """The gates' photo check reads this flag from the decoded upload (no second decode); the
    maker and model themselves never reach the metadata."""
    im = Image.fromarray((xray_like(96, 80) * 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Phone Maker", "Phone 12"
    img = load_image(pil_bytes(im, fmt, exif=exif.tobytes()))
    assert img.meta["exif_camera"] is True
    assert "Phone" not in repr(img.meta)
    plain = Image.Exif()
    plain[0x0112] = 1
    assert "exif_camera" not in load_image(pil_bytes(im, fmt, exif=plain.tobytes())).meta
    assert "exif_camera" not in load_image(pil_bytes(im, fmt)).meta


def test_multipage_tiff_and_animated_webp_give_the_first_frame() -> None:
    first = Image.fromarray(np.full((40, 50), 30, np.uint8), "L")
    second = Image.fromarray(np.full((40, 50), 220, np.uint8), "L")
    img = load_image(pil_bytes(first, "TIFF", save_all=True, append_images=[second]))
    assert img.meta["multi_frame"] is True and img.meta["frame_index"] == 0
    assert img.pixels.mean() == pytest.approx(30 / 255)

    a = Image.fromarray(np.full((40, 50, 3), (200, 20, 20), np.uint8), "RGB")
    b = Image.fromarray(np.full((40, 50, 3), (20, 20, 200), np.uint8), "RGB")
    img = load_image(pil_bytes(a, "WEBP", save_all=True, append_images=[b], lossless=True, duration=100))
    assert img.source_format == "WEBP" and img.meta.get("multi_frame") is True
    np.testing.assert_allclose(img.pixels[20, 25], np.array((200, 20, 20)) / 255, atol=0.02)


def test_heif() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, :32] = (220, 40, 40)
    rgb[:, 32:] = (40, 40, 220)
    try:
        data = pil_bytes(Image.fromarray(rgb, "RGB"), "HEIF", quality=90)
    except Exception as exc:  # pragma: no cover - wheel without an HEVC encoder
        pytest.skip(f"pillow-heif {pillow_heif.__version__} cannot encode HEIF here: {exc}")
    img = load_image(data, "IMG_0001.HEIC")
    assert img.source_format == "HEIF" and img.is_color is True and img.pixels.shape == (64, 64, 3)
    np.testing.assert_allclose(img.pixels[32, 8], np.array((220, 40, 40)) / 255, atol=0.08)

    # a phone photo taken in portrait: stored landscape, EXIF orientation 6
    arr = np.full((64, 96, 3), 40, np.uint8)
    arr[:16, :16] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    img = load_image(pil_bytes(Image.fromarray(arr, "RGB"), "HEIF", quality=95, exif=exif.tobytes()))
    assert img.pixels.shape == (96, 64) and img.meta["exif_orientation"] == 6
    assert img.pixels[:8, -8:].mean() > 0.9 and img.pixels[:8, :8].mean() < 0.3  # marker top-right


def test_type_comes_from_the_bytes_not_the_name() -> None:
    data = pil_bytes(Image.fromarray(gray8(), "L"), "PNG")
    for name in ("scan.jpg", "scan.dcm", "scan", None, "scan.PDF"):
        assert load_image(data, name).source_format == "PNG"
    jpeg = pil_bytes(Image.fromarray(gray8(), "L"), "JPEG")
    assert load_image(jpeg, "scan.png").source_format == "JPEG"
