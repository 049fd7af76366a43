"""One check end to end (heuristic path): grades, plan, board summary, bad photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.board import validate_summary
from core.i18n import t
from core.imaging import load_image
from core.scalp import CONDITIONS, PhotoQualityError, Questionnaire, analyse
from core.scalp.overlay import OVERLAYS, cam_overlay, overlay
from core.scalp.synthetic import Phantom, encode_jpeg

ANSWERS = {"age_group": "50s", "gender": "male", "shampoo_frequency": "every_2_days", "perm_cycle": "never",
           "dye_cycle": "never", "hair_state": ["flaky", "itchy"], "family_history": "yes"}


def test_a_phantom_gets_six_grades_a_plan_and_a_shareable_summary(phantom: Phantom) -> None:
    answers = Questionnaire.from_form({**ANSWERS, "field_of_view_mm": 8})
    result = analyse(phantom.rgb, answers, input_sha256="0" * 64)
    assert [g.condition for g in result.grades] == list(CONDITIONS)
    assert all(g.final_grade in (0, 1, 2, 3) for g in result.grades)
    assert result.not_assessed() == ()
    assert result.source == "heuristic" and result.model_name is None
    assert result.grade("follicular_erythema_pustules").image_grade == 2  # three pustules drawn: 2-3 -> 2
    assert result.grade("dandruff").adjustment is not None  # flakes + itch in the answers
    assert "D-PUSTULE" in result.plan.rule_ids()
    for lang in ("ko", "en"):
        summary = validate_summary(result.share_summary(lang))
        assert summary["task"] == "scalp" and len(summary["findings"]) == 6
        assert "image" not in summary
    with pytest.raises(KeyError):
        result.grade("nails")


def test_without_the_field_of_view_hair_loss_is_not_assessed_and_left_out_of_the_plan(phantom: Phantom) -> None:
    """20 hairs of 7 px, no thin hairs: density would need the scale, so no hair-loss grade (never 0)."""
    answers = Questionnaire.from_form(ANSWERS)  # family history "yes": would raise a hair-loss grade
    result = analyse(phantom.rgb, answers)
    hair = result.grade("hair_loss")
    assert hair.image_grade is None and hair.final_grade is None and hair.adjustment is None
    assert hair.note_key == "scalp.note.hair_loss_no_scale"
    assert result.not_assessed() == ("hair_loss",)
    assert all(g.final_grade in (0, 1, 2, 3) for g in result.grades if g.condition != "hair_loss")
    # rules that need a hair-loss grade do not fire on it
    assert not {"A-TIGHT", "D-LOSS", "L-SUN", "P-MINOXIDIL"} & set(result.plan.rule_ids())
    for lang in ("ko", "en"):
        summary = validate_summary(result.share_summary(lang))
        labels = [f["label"] for f in summary["findings"]]
        name = t("scalp.condition.hair_loss", lang)
        assert len(labels) == 5 and name not in labels
        assert t("scalp.share.not_assessed", lang, conditions=name) in summary["note"]
    assert result.history_entry().final_grades["hair_loss"] is None
    assert result.history_entry().measurements["field_of_view_mm"] is None


def test_a_jpeg_through_the_image_loader_gives_the_same_grades(phantom: Phantom) -> None:
    answers = Questionnaire.from_form(ANSWERS)
    img = load_image(encode_jpeg(phantom.rgb, quality=95), "scalp.jpg")
    direct = analyse(phantom.rgb, answers)
    loaded = analyse(img.rgb(), answers, is_color=img.is_color, input_sha256=img.sha256)
    assert [g.image_grade for g in loaded.grades] == [g.image_grade for g in direct.grades]
    assert loaded.input_sha256 == img.sha256


def test_bad_photos_raise_a_translated_quality_error(phantom: Phantom) -> None:
    answers = Questionnaire.from_form(ANSWERS)
    with pytest.raises(PhotoQualityError) as info:
        analyse(cv2.GaussianBlur(phantom.rgb, (0, 0), 9), answers)
    assert "흐립" in info.value.message("ko")
    with pytest.raises(PhotoQualityError):
        analyse(np.zeros((300, 300, 3), np.float32), answers)


def test_every_overlay_renders(phantom: Phantom) -> None:
    result = analyse(phantom.rgb, Questionnaire.from_form(ANSWERS))
    assert result.analysed is not None
    for kind in OVERLAYS:
        img = overlay(result.analysed, kind)
        assert img.dtype == np.uint8 and img.shape == result.analysed.image.shape
    with pytest.raises(ValueError):
        overlay(result.analysed, "sparkles")
    cam = np.zeros(result.analysed.image.shape[:2], np.float32)
    assert cam_overlay(result.analysed.image, cam).shape == result.analysed.image.shape


def _encode(rgb8: np.ndarray, fmt: str, exif_orientation: int | None = None) -> bytes:
    import io

    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"quality": 95} if fmt != "PNG" else {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    Image.fromarray(rgb8).save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "p.jpg"), ("PNG", "p.png"), ("WEBP", "p.webp"), ("HEIF", "p.heic")])
def test_phone_formats_load_upright_and_measure_alike(phantom: Phantom, fmt: str, name: str) -> None:
    rgb8 = phantom.to_uint8()
    if fmt == "JPEG":  # stored rotated, with the EXIF tag that says "turn 90 degrees clockwise to view"
        data = _encode(np.ascontiguousarray(np.rot90(rgb8, 1)), fmt, exif_orientation=6)
    else:
        data = _encode(rgb8, fmt)
    img = load_image(data, name)
    assert img.pixels.shape == phantom.rgb.shape and img.is_color
    assert float(np.abs(img.pixels - phantom.rgb).mean()) < 0.01  # upright, same picture
    answers = Questionnaire.from_form(ANSWERS)
    got = analyse(img.rgb(), answers).measurements
    ref = analyse(phantom.rgb, answers).measurements
    assert abs(got.hair_count - ref.hair_count) <= 2
    # lossy codecs soften small white flakes (HEIC at quality 95 loses about a quarter of their area)
    assert got.flake_share == pytest.approx(ref.flake_share, rel=0.3)
    assert got.erythema_share == pytest.approx(ref.erythema_share, rel=0.15)


def test_the_heuristic_path_does_not_import_torch() -> None:
    import subprocess
    import sys

    from core.settings import PROJECT_ROOT

    code = ("import sys, core.scalp, core.scalp.overlay, core.models.registry; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=False).returncode == 0


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (300, 400), (400, 300)])
@pytest.mark.parametrize("kind", ["noise", "black", "white", "skin"])
def test_odd_pixels_never_crash_the_gate_or_the_measurements(shape: tuple[int, int], kind: str) -> None:
    rng = np.random.default_rng(0)
    rgb = {
        "noise": rng.random((*shape, 3), dtype=np.float32),
        "black": np.zeros((*shape, 3), np.float32),
        "white": np.ones((*shape, 3), np.float32),
        "skin": np.broadcast_to(np.array([0.86, 0.68, 0.6], np.float32), (*shape, 3)).copy(),
    }[kind]
    answers = Questionnaire.from_form(ANSWERS)
    try:
        result = analyse(rgb, answers)
    except PhotoQualityError:
        return
    assert len(result.grades) == 6
    measure_only = result.measurements
    assert 0.0 <= measure_only.flake_share <= 1.0
