"""Inputs the loader must refuse, with the right translation key, quickly, in both languages."""

from __future__ import annotations

import io
import re
import string
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from core.i18n import catalog
from core.imaging import ImageError, Limits, load_image

from .helpers import bomb_png, build_dicom, gray8, pil_bytes

ROOT = Path(__file__).resolve().parents[2]
PNG = pil_bytes(Image.fromarray(gray8(), "L"), "PNG")
JPEG = pil_bytes(Image.fromarray(gray8(), "L"), "JPEG", quality=90)


def _refused(data: bytes, filename: str | None = None, limits: Limits | None = None) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(data, filename, limits)
    err = info.value
    assert isinstance(err, UserError)
    assert err.key.startswith("imaging.error.")
    assert err.__cause__ is None and err.__context__ is None
    for lang in ("en", "ko"):
        text = err.message(lang)
        assert text and text != err.key and "{" not in text, (lang, text)
    return err


def test_empty() -> None:
    err = _refused(b"", "x.png")
    assert err.key == "imaging.error.empty"
    assert err.message("ko") == "파일이 비어 있습니다."
    assert err.message("en") == "The file is empty."


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any pixel decoding fail the test: a refusal must come from the size or header checks."""
    def decoded(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pixels were decoded before the refusal")

    monkeypatch.setattr("core.imaging.loader.decode_raster", decoded)
    monkeypatch.setattr("core.imaging.loader.decode_dicom", decoded)


def test_too_large_is_checked_first_and_states_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _refused(PNG, limits=Limits(max_bytes=1000))
    assert err.key == "imaging.error.too_large"
    assert err.params["limit_mb"] == "0.000954"
    assert f"{len(PNG) / 1048576:.3g} MB" in err.message("en")

    huge = b"\x89PNG\r\n\x1a\n" + bytes(70 * 1024 * 1024)
    with monkeypatch.context() as m:
        _no_decoding(m)  # refused on its size alone: no decoder ever sees it
        err = _refused(huge)
    assert err.message("en") == "The file is 70 MB, which exceeds the 64 MB limit."
    assert err.message("ko") == "파일 크기가 70 MB로, 최대 허용 크기인 64 MB를 넘습니다."

    just_over = bytes(64 * 1024 * 1024 + 1)
    err = _refused(just_over)
    assert err.params["size_mb"] != err.params["limit_mb"] and err.params["limit_mb"].startswith("64")


def test_too_small() -> None:
    tiny = pil_bytes(Image.fromarray(np.zeros((16, 200), np.uint8), "L"), "PNG")
    err = _refused(tiny)
    assert err.key == "imaging.error.too_small"
    assert "200 × 16" in err.message("en") and "32" in err.message("ko")
    assert load_image(tiny, limits=Limits(min_side=8)).pixels.shape == (16, 200)


def test_decompression_bomb_png_is_refused_from_its_header_with_our_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    def load(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the bomb's pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)  # refused from the header, never decoded
    for side in (30000, 8000):  # 900 MP (beyond Pillow's own bomb limit) and 64 MP (just over ours)
        data = bomb_png(side, side)
        assert len(data) < 200
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no Pillow DecompressionBombWarning may escape
            err = _refused(data)
        assert err.key == "imaging.error.too_many_pixels"
        assert f"{side * side / 1e6:.0f}" in err.message("en")
        assert "50.0 megapixel limit" in err.message("en")


def test_pixel_limit_is_configurable() -> None:
    err = _refused(PNG, limits=Limits(max_pixels=1000))
    assert err.key == "imaging.error.too_many_pixels"
    assert load_image(PNG, limits=Limits(max_pixels=96 * 80)).pixels.shape == (96, 80)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "WEBP", "BMP"])
def test_truncated_rasters(fmt: str) -> None:
    im = Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 160), dtype=np.uint8), "L")
    data = pil_bytes(im, fmt)
    err = _refused(data[: len(data) // 2])
    assert err.key in ("imaging.error.truncated", "imaging.error.corrupt")
    if fmt in ("PNG", "JPEG", "TIFF", "WEBP", "BMP"):
        assert err.key == "imaging.error.truncated"
        assert err.params["format"] == fmt


def test_corrupt_rasters() -> None:
    broken = bytearray(PNG)
    broken[40:60] = b"\xff" * 20  # inside IHDR/IDAT: CRC and zlib errors
    err = _refused(bytes(broken))
    assert err.key in ("imaging.error.corrupt", "imaging.error.truncated")
    header_only = b"\xff\xd8\xff\xe0" + b"\x00" * 300
    assert _refused(header_only).key in ("imaging.error.corrupt", "imaging.error.truncated")
    bmp = b"BM" + b"\x00" * 12 + (40).to_bytes(4, "little") + b"\xff" * 100
    assert _refused(bmp).key in ("imaging.error.corrupt", "imaging.error.truncated")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("scan.dcm", b"not really")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (_zip(), "ZIP"),
        (pil_bytes(Image.fromarray(gray8(), "L"), "GIF"), "GIF"),
        ("환자 기록입니다.\nHello, this is text.\n".encode(), "TXT"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41", "MP4/MOV"),
    ],
)
def test_wrong_types_are_named(data: bytes, kind: str) -> None:
    err = _refused(data, "upload.png")
    assert err.key == "imaging.error.unsupported_type"
    assert err.params["kind"] == kind
    assert kind in err.message("ko") and "지원하지 않습니다" in err.message("ko")


def test_unknown_binary() -> None:
    noise = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert _refused(noise).key == "imaging.error.unknown_type"
    assert _refused(b"\x00").key == "imaging.error.unknown_type"


def test_garbage_named_dcm_is_corrupt_not_a_crash() -> None:
    noise = np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert _refused(noise, "scan.dcm").key in ("imaging.error.corrupt", "imaging.error.truncated")
    assert _refused(b"DICM" * 10, "scan.dcm").key in ("imaging.error.corrupt", "imaging.error.truncated")


def test_dicom_preamble_with_nothing_after() -> None:
    err = _refused(bytes(128) + b"DICM")
    assert err.key in ("imaging.error.truncated", "imaging.error.corrupt")


def test_non_bytes_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        load_image("not bytes")  # type: ignore[arg-type]
    assert load_image(bytearray(PNG)).source_format == "PNG"
    assert load_image(memoryview(PNG)).source_format == "PNG"


def test_error_keys_are_distinct_and_all_translated() -> None:
    used = set()
    for path in (ROOT / "core" / "imaging").glob("*.py"):
        used |= set(re.findall(r'"(imaging\.error\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    en = {k: v for k, v in catalog("en").items() if k.startswith("imaging.")}
    ko = {k: v for k, v in catalog("ko").items() if k.startswith("imaging.")}
    assert used and used <= set(en), f"keys used but not in locales: {used - set(en)}"
    assert set(en) == set(ko)

    def names(text: str) -> set[str]:
        return {n for _, n, _, _ in string.Formatter().parse(text) if n}

    assert all(names(en[k]) == names(ko[k]) for k in en)
    assert all(re.search(r"[\uac00-\ud7a3]", v) for v in ko.values())
    for key in ("imaging.error.empty", "imaging.error.truncated", "imaging.error.corrupt",
                "imaging.error.unsupported_type", "imaging.error.unknown_type", "imaging.error.too_small",
                "imaging.error.too_large", "imaging.error.too_many_pixels", "imaging.error.dicom_no_pixels"):
        assert key in used, key


def test_limits_validate_themselves() -> None:
    with pytest.raises(ValueError):
        Limits(max_bytes=0)
    with pytest.raises(ValueError):
        Limits(min_side=-1)
    assert Limits() == Limits(64 * 1024 * 1024, 50_000_000, 32)


def test_truncated_dicom_via_preamble_and_good_file_still_loads() -> None:
    data = build_dicom(gray8())
    assert load_image(data).source_format == "DICOM"
    assert _refused(data[:-2000]).key == "imaging.error.truncated"
