"""The gate names what is wrong with a film's geometry (issue 13): rotated by 90/180/270 degrees (with
a one-step "turn upright and analyse"), left-right mirrored, lateral view, cropped through the lungs;
colour photos can never be analysed anyway; a result analysed after an override is never shared and
its exports say so. Real films from ``../shared/data``; figures: ``bench/bench_chest.py gate-view``."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.chest import gate
from core.chest.analysis import analyse, rotated
from core.chest.gate import VIEW_CARD, check_input, view_net_or_issue
from core.chest.reading import OperatingPoint
from core.chest.view import COMP, ViewNet, dihedral, read_view
from core.imaging import ImageInput, load_image
from core.models import registry
from core.training.view_fit import lateral_films, view_split

FRONTALS = ["cxr/samples/00000001_000.png", "cxr/samples/h0001.png", "cxr/samples/16747_3_1.jpg"]


def _codes(result) -> set[str]:
    return {i.code for i in result.issues}


def _with(img: ImageInput, pixels: np.ndarray) -> ImageInput:
    return replace(img, pixels=np.ascontiguousarray(pixels, dtype=np.float32))


@pytest.fixture(scope="module")
def kermany_test_film(request) -> str:
    """A paediatric film of a held-out (test) patient, as a path relative to the data folder."""
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "cxr" / "kermany" / "labels.csv").is_file():
        pytest.skip("no cxr/kermany in the data folder")
    film = next(f for f in view_split(SHARED_DATA)["test"] if f.source == "kermany")
    return str(film.path.relative_to(SHARED_DATA))


def test_the_view_network_is_committed_verified_and_never_unpickled() -> None:
    net, problem = view_net_or_issue()
    assert problem is None and net is not None
    card = registry.get_card(VIEW_CARD)
    assert card.bundled and card.sha256 and card.size_bytes == (registry.BUNDLED_DIR / card.file).stat().st_size
    assert set(net.meta["thresholds"]) == {"mirror", "one_field", "one_field_alone", "rotation"}
    with np.load(registry.BUNDLED_DIR / card.file, allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype != object for k in z.files)


def test_the_dihedral_table_composes_symmetries() -> None:
    a = np.arange(12.0).reshape(3, 4)
    for g in range(8):
        for h in range(8):
            assert np.array_equal(dihedral(dihedral(a, h), g), dihedral(a, int(COMP[g, h])))


def test_a_film_and_its_mirror_image_get_opposite_mirror_scores(load) -> None:
    net = view_net_or_issue()[0]
    gray = np.asarray(load(FRONTALS[0]).gray())
    a, b = read_view(gray, net), read_view(gray[:, ::-1], net)
    assert a.mirror_score == pytest.approx(-b.mirror_score, abs=1e-4)


@pytest.mark.parametrize("rel", FRONTALS)
def test_upright_real_frontals_have_no_view_issue(rel: str, load) -> None:
    result = check_input(load(rel))
    assert not _codes(result) & {"rotated", "mirrored", "lateral", "cropped", "inverted"}, _codes(result)
    assert result.decision != "refuse"


def test_a_paediatric_held_out_film_passes(kermany_test_film: str, load) -> None:
    result = check_input(load(kermany_test_film))
    assert result.decision != "refuse" and not _codes(result) & {"rotated", "mirrored", "lateral", "cropped"}


@pytest.mark.parametrize("rel", FRONTALS)
@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_a_rotated_real_film_is_named_rotated_with_its_angle(rel: str, clockwise: int, load) -> None:
    result = check_input(rotated(load(rel), clockwise))
    assert result.decision == "refuse" and "rotated" in _codes(result)
    issue = next(i for i in result.issues if i.code == "rotated")
    assert dict(issue.params)["angle"] == str(clockwise)
    assert result.rotation == (360 - clockwise) % 360
    assert not result.can_override  # the page offers to turn it instead
    assert f"{clockwise}°" in issue.message("en") and f"{clockwise}°" in issue.message("ko")
    assert not _codes(result) & {"inverted", "not_chest", "lateral"}


@pytest.mark.parametrize("rel", FRONTALS)
def test_a_mirrored_real_film_is_warned_not_refused(rel: str, load) -> None:
    img = load(rel)
    result = check_input(_with(img, np.asarray(img.pixels)[:, ::-1]))
    assert "mirrored" in _codes(result) and result.decision == "warn", _codes(result)


def test_a_mirrored_paediatric_film_is_warned(kermany_test_film: str, load) -> None:
    img = load(kermany_test_film)
    assert "mirrored" in _codes(check_input(_with(img, np.asarray(img.pixels)[:, ::-1])))


def test_lateral_films_are_named_lateral(shared_data: Path) -> None:
    films = lateral_films(shared_data)
    assert len(films) >= 20
    results = [check_input(load_image(path.read_bytes(), path.name)) for _, path, _ in films]
    named = [r for r in results if "lateral" in _codes(r)]
    assert len(named) >= 0.9 * len(films), [sorted(_codes(r)) for r in results]
    assert all(r.decision == "refuse" and r.can_override for r in named)  # the user may insist it is frontal
    assert "PA/AP" in named[0].issues[0].message("en") or any("PA/AP" in i.message("en") for i in named[0].issues)


def _radiograph_like_non_chest() -> list[tuple[str, ImageInput]]:
    """Knee-, hand- and shoulder-like phantoms and grey photos, several of which the image-level
    checks alone read as one lung field."""
    import skimage.data
    from PIL import Image

    from core.shoulder.phantom import demo_case
    from tests.chest.phantoms import hand_like, knee_like

    arrays = [("knee", knee_like(3)), ("hand", hand_like(3)), ("shoulder", demo_case()[0].image),
              ("camera", skimage.data.camera() / 255.0), ("clock", skimage.data.clock() / 255.0)]
    out = []
    for name, arr in arrays:
        buf = io.BytesIO()
        Image.fromarray(np.uint8(np.clip(np.asarray(arr, dtype=np.float64), 0, 1) * 255 + 0.5)).save(buf, format="PNG")
        out.append((name, load_image(buf.getvalue(), f"{name}.png")))
    return out


def test_other_radiographs_read_as_one_field_are_named_by_the_models_features() -> None:
    """The image-level checks alone call these "lateral"; the page's model knows they are no chest film."""
    from core.chest.starter import STARTER_MULTILABEL, load_starter

    starter = load_starter(STARTER_MULTILABEL)
    read_as_lateral = [(n, img) for n, img in _radiograph_like_non_chest() if "lateral" in _codes(check_input(img))]
    assert len(read_as_lateral) >= 2, "expected some non-chest images that the image-level checks read as one field"
    for name, img in read_as_lateral:
        result = analyse(img, starter)
        assert not result.analysed and "not_chest_features" in _codes(result.gate), name
        assert "lateral" not in _codes(result.gate), name


def test_a_lateral_stays_lateral_with_the_models_feature_check(shared_data: Path) -> None:
    from core.chest.starter import STARTER_MULTILABEL, load_starter

    _, path, _ = lateral_films(shared_data)[0]
    result = analyse(load_image(path.read_bytes(), path.name), load_starter(STARTER_MULTILABEL))
    assert not result.analysed and "lateral" in _codes(result.gate) and "not_chest_features" not in _codes(result.gate)
    assert result.gate.score("ood_features") is not None  # the feature check did run


@pytest.mark.parametrize("rel", FRONTALS[:2])
@pytest.mark.parametrize("side", ["left", "right"])
def test_a_half_width_crop_is_warned_as_cropped_not_inverted(rel: str, side: str, load, test_model) -> None:
    img = load(rel)
    px = np.asarray(img.pixels)
    w = px.shape[1]
    half = _with(img, px[:, : w // 2] if side == "left" else px[:, w // 2:])
    result = check_input(half)
    assert "cropped" in _codes(result) and "inverted" not in _codes(result), _codes(result)
    assert result.decision == "warn"
    analysed = analyse(half, test_model, feature_ref=None)
    assert analysed.analysed and "chest.gate.cropped" in analysed.facts(OperatingPoint.of("balanced")).gate_notes


def test_turn_upright_and_analyse_gives_the_upright_result(load, test_model) -> None:
    upright = load(FRONTALS[0])
    sideways = rotated(upright, 90)
    refused = analyse(sideways, test_model, feature_ref=None)
    assert not refused.analysed and refused.gate.rotation == 270
    fixed = analyse(sideways, test_model, rotate=refused.gate.rotation, feature_ref=None)
    direct = analyse(upright, test_model, feature_ref=None)
    assert fixed.analysed and fixed.rotation_applied == 270 and not fixed.gate.overridden
    assert fixed.image.pixels.shape == upright.pixels.shape
    np.testing.assert_array_equal(fixed.image.pixels, upright.pixels)
    np.testing.assert_allclose(fixed.prediction.probabilities, direct.prediction.probabilities, atol=1e-5)
    assert "rotated" not in _codes(fixed.gate)
    assert "chest.gate.rotated_applied" in fixed.facts(OperatingPoint.of("balanced")).gate_notes
    with pytest.raises(ValueError):
        rotated(upright, 45)


def _photo(name: str = "astronaut") -> ImageInput:
    import skimage.data
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(getattr(skimage.data, name)()[..., :3]).save(buf, format="PNG")
    return load_image(buf.getvalue(), "photo.png")


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_a_colour_photo_cannot_be_analysed_anyway(name: str, test_model) -> None:
    photo = _photo(name)
    result = check_input(photo)
    assert result.decision == "refuse" and "colour" in _codes(result) and not result.can_override
    with pytest.raises(ValueError):
        result.override()
    forced = analyse(photo, test_model, override=True, feature_ref=None)
    assert not forced.analysed and not forced.findings
    assert not _codes(result) & {"rotated", "lateral", "mirrored", "cropped"}  # a photo's geometry is not read


def _document() -> ImageInput:
    from PIL import Image, ImageDraw

    page = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(page)
    for y in range(40, 760, 28):
        draw.text((40, y), "lorem ipsum report patient 2024 " * 2, fill=0)
    buf = io.BytesIO()
    page.save(buf, format="PNG")
    return load_image(buf.getvalue(), "doc.png")


def test_an_overridden_result_is_never_shared_and_its_exports_say_so(test_model, load, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.export import chest as export
    from core.export import pdf as pdf_module

    forced = analyse(_document(), test_model, override=True, feature_ref=None)
    assert forced.analysed and forced.overridden
    op = OperatingPoint.of("balanced")
    with pytest.raises(ValueError):
        export.share_summary(forced, op, "en")
    for lang in ("en", "ko"):
        data = json.loads(export.to_json(forced, op, lang, "text"))
        assert data["overridden"] is True and data["gate"]["overridden"] is True
        refused = next(i for i in forced.gate.issues if i.severity == "refuse")
        assert refused.message(lang) in data["override_notice"]
    written: list[str] = []
    original = pdf_module.PdfBuilder._safe
    monkeypatch.setattr(pdf_module.PdfBuilder, "_safe", lambda self, text: written.append(str(text)) or original(self, text))
    for lang in ("en", "ko"):
        written.clear()
        assert export.to_pdf(forced, op, lang, "report text").startswith(b"%PDF")
        notice = export.to_dict(forced, op, lang)["override_notice"]
        assert any(notice in w for w in written), "the PDF does not say the result was overridden"
    normal = analyse(load(FRONTALS[0]), test_model, feature_ref=None)
    assert normal.analysed and not normal.overridden
    assert "override_notice" not in export.to_dict(normal, op, "en")
    assert export.share_summary(normal, op, "en")["task"] == "chest"


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_damaged_view_network_refuses_analysis_and_names_the_fix(weights_copy: Path, damage: str, load) -> None:
    img = load(FRONTALS[0])
    assert "reference_unavailable" not in _codes(check_input(img))
    target = weights_copy / registry.get_card(VIEW_CARD).file
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    else:
        target.unlink()
    result = check_input(img)
    issue = next(i for i in result.issues if i.code == "reference_unavailable")
    assert VIEW_CARD in issue.message("en") and f"git checkout -- weights/{target.name}" in issue.message("ko")
    assert result.decision == "refuse" and not result.can_override


def test_a_file_that_is_not_a_view_network_is_refused_on_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, meta=np.frombuffer(b"{}", dtype=np.uint8))
    with pytest.raises((KeyError, ValueError)):
        ViewNet.load(bad)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, m0_fc_w=np.array([{"a": 1}], dtype=object), meta=np.frombuffer(b"{}", dtype=np.uint8))
    with pytest.raises(ValueError):  # allow_pickle=False: object arrays are never unpickled
        ViewNet.load(pickled)
    gate._view_net_cached.cache_clear()
