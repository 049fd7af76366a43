"""The input gate on real radiographs and on built non-chest inputs (photos, documents, negatives,
lateral/CT DICOM tags, tiny, flat and blurred images). Full figures: ``bench/bench_chest.py gate``."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.chest.gate import GateResult, PcaReference, check_input, descriptor, image_reference
from core.imaging import load_image
from core.training.gate_fit import frontal_split


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    a = arr if arr.dtype == np.uint8 else np.uint8(np.clip(arr, 0, 1) * 255 + 0.5)
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def _document(seed: int = 0) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    from core.export.pdf import FONT_PATH

    rng = np.random.default_rng(seed)
    page = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT_PATH), 18)
    words = ["검사", "결과", "report", "patient", "흉부", "lorem", "ipsum", "2024"]
    y = 40
    while y < 760:
        if rng.random() < 0.15:
            draw.rectangle([40, y, 560, y + int(rng.integers(30, 120))], outline=0, width=2)
            y += 130
            continue
        draw.text((40, y), " ".join(words[i] for i in rng.integers(0, len(words), 8)), fill=0, font=font)
        y += 28
    return np.asarray(page)


def _codes(result: GateResult) -> set[str]:
    return {i.code for i in result.issues}


def test_the_committed_reference_is_verified_by_the_registry() -> None:
    ref = image_reference()
    assert ref is not None and ref.meta["k"] == 8 and ref.meta["n_fit"] >= 200
    assert 3.0 < ref.threshold < 8.0


def test_held_out_real_frontals_are_accepted(shared_data: Path) -> None:
    held = frontal_split(shared_data).held_out
    sample = list(held[::25])
    decisions = [check_input(load_image(p.read_bytes(), p.name)).decision for p in sample]
    refused = [p.name for p, d in zip(sample, decisions, strict=True) if d == "refuse"]
    assert len(sample) >= 30
    assert len(refused) <= 1, refused


@pytest.mark.parametrize("rel", ["cxr/samples/00000001_000.png", "cxr/samples/16747_3_1.jpg", "cxr/samples/tb0005.png",
                                 "cxr/samples/covid-19-pneumonia-58-prior.jpg", "dicom/siim_pneumothorax_sample.dcm"])
def test_sample_radiographs_pass(rel: str, load) -> None:
    result = check_input(load(rel))
    assert result.decision != "refuse", [i.code for i in result.issues]


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "retina"])
def test_colour_photos_are_refused(name: str) -> None:
    import skimage.data

    img = load_image(_png(getattr(skimage.data, name)()[..., :3]), "photo.png")
    result = check_input(img)
    assert result.decision == "refuse" and "colour" in _codes(result)
    assert not result.can_override  # no "analyse anyway" for a photo (a dog photo got "hernia possible")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_documents_are_refused(seed: int) -> None:
    result = check_input(load_image(_png(_document(seed)), "doc.png"))
    assert result.decision == "refuse" and "not_chest" in _codes(result)


@pytest.mark.parametrize("name", ["camera", "coins", "moon", "page"])
def test_grey_photos_and_scans_are_refused(name: str) -> None:
    import skimage.data

    result = check_input(load_image(_png(getattr(skimage.data, name)()), "grey.png"))
    # the image-level checks alone may read a grey photo as one lung field ("lateral"); with a model the
    # feature check names it (tests/chest/test_chest_gate_view.py)
    assert result.decision == "refuse" and _codes(result) & {"not_chest", "inverted", "lateral"}


@pytest.mark.parametrize("rel", ["cxr/samples/00000001_000.png", "cxr/samples/h0001.png", "cxr/covid/images/figure1_COVID-00001.jpg"])
def test_inverted_radiographs_are_recognised_as_inverted(rel: str, load) -> None:
    img = load(rel)
    negative = replace(img, pixels=np.ascontiguousarray(1.0 - np.asarray(img.pixels), dtype=np.float32))
    result = check_input(negative)
    assert result.decision == "refuse" and result.inverted and not result.can_override


def _dicom_with(shared_data: Path, **tags: str) -> bytes:
    import pydicom

    ds = pydicom.dcmread(shared_data / "dicom" / "siim_pneumothorax_sample.dcm")
    for key, value in tags.items():
        setattr(ds, key, value)
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


@pytest.mark.parametrize(("tags", "code"), [
    ({"ViewPosition": "LL"}, "dicom_lateral"),
    ({"ViewPosition": "RL"}, "dicom_lateral"),
    ({"Modality": "CT"}, "dicom_modality"),
    ({"BodyPartExamined": "HAND"}, "dicom_body_part"),
])
def test_dicom_tags_refuse_laterals_and_other_exams(tags: dict[str, str], code: str, shared_data: Path) -> None:
    result = check_input(load_image(_dicom_with(shared_data, **tags), "x.dcm"))
    assert result.decision == "refuse" and code in _codes(result)


def test_decubitus_view_tag_warns(shared_data: Path) -> None:
    result = check_input(load_image(_dicom_with(shared_data, ViewPosition="LLD"), "x.dcm"))
    assert result.decision == "warn" and "dicom_decubitus" in _codes(result)


def test_tiny_flat_and_blurred_images(load) -> None:
    import cv2

    img = load("cxr/samples/00000001_000.png")
    px = np.asarray(img.pixels)
    tiny = check_input(replace(img, pixels=np.ascontiguousarray(cv2.resize(px, (100, 100), interpolation=cv2.INTER_AREA))))
    assert tiny.decision == "refuse" and "too_small" in _codes(tiny) and not tiny.can_override
    small = check_input(replace(img, pixels=np.ascontiguousarray(cv2.resize(px, (180, 180), interpolation=cv2.INTER_AREA))))
    assert "low_resolution" in _codes(small) and small.decision != "refuse"
    flat = check_input(replace(img, pixels=np.ascontiguousarray(0.5 + (px - 0.5) * 0.08, dtype=np.float32)))
    assert flat.decision == "refuse" and "low_contrast" in _codes(flat)
    blurred = check_input(replace(img, pixels=np.ascontiguousarray(cv2.GaussianBlur(px, (0, 0), 6))))
    assert blurred.decision == "refuse" and "blurry" in _codes(blurred)


def test_override_runs_the_analysis_and_the_report_says_so(test_model) -> None:
    from core.chest.analysis import analyse
    from core.chest.reading import OperatingPoint

    doc = load_image(_png(_document(5)), "doc.png")
    refused = analyse(doc, test_model, feature_ref=None)
    assert not refused.analysed and refused.gate.can_override
    forced = analyse(doc, test_model, override=True, feature_ref=None)
    assert forced.analysed and forced.gate.overridden and forced.gate.decision == "warn"
    facts = forced.facts(OperatingPoint.of("balanced"))
    assert "chest.gate.not_chest" in facts.gate_notes


def test_reference_roundtrip_and_feature_check(tmp_path: Path, test_model, load) -> None:
    from core.chest.gate import check_features

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 20))
    ref = PcaReference.fit(X, k=4, meta={"kind": "test"})
    ref.save(tmp_path / "r.npz")
    back = PcaReference.load(tmp_path / "r.npz")
    assert back.threshold == pytest.approx(ref.threshold) and back.meta["kind"] == "test"
    assert back.score(X[0]) == pytest.approx(ref.score(X[0]))
    assert back.score(X[0] + 50) > back.threshold
    # feature statistics of the (random) test model: its own frontal features are in, a document is out
    frontals = [load(r) for r in ("cxr/samples/00000001_000.png", "cxr/samples/00027426_000.png", "cxr/samples/h0001.png",
                                 "cxr/samples/tb0005.png", "cxr/samples/tb0007.png", "dicom/siim_pneumothorax_sample.dcm")]
    feats = np.stack([p.features for p in test_model.predict_batch(frontals)])
    fref = PcaReference.fit(np.concatenate([feats, feats + rng.normal(scale=1e-3, size=feats.shape)]), k=3)
    assert check_features(test_model.predict(frontals[0]), fref).decision == "accept"
    doc = test_model.predict(load_image(_png(_document(1)), "d.png"))
    assert check_features(doc, fref).decision == "refuse"


def test_descriptor_is_contrast_invariant(load) -> None:
    px = np.asarray(load("cxr/samples/00000001_000.png").pixels)
    a, b = descriptor(px), descriptor(0.2 + 0.5 * px)
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_fit_features_cli_writes_pins_and_binds_the_statistics_to_the_model_file(shared_data: Path, tmp_path: Path, monkeypatch, test_model) -> None:
    """The CLI plumbing with the (random) test model standing in for installed weights, in a temporary
    weights folder: statistics are written beside the weights, pinned in the registry, and used only
    for a model file with the same SHA-256."""
    from core.chest import gate, loader
    from core.chest.model import ModelIdentity, PooledLinearChestModel
    from core.models import registry
    from core.training import gate_fit

    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(registry, "require", lambda name, *a, **k: tmp_path / "w.pt")
    monkeypatch.setattr(loader, "load_model", lambda name, path: test_model)
    assert gate_fit.main(["fit", "--model", "xrv-densenet121-res224-all", "--data", str(shared_data), "--k", "4", "--limit", "12"]) == 0
    st = registry.status("xrv-densenet121-res224-all-gate")
    assert st.installed and st.path is not None and st.path.parent == tmp_path
    ref = PcaReference.load(st.path)
    assert ref.meta["model_sha256"] == test_model.sha256 and ref.meta["n_fit"] == 12
    as_real = PooledLinearChestModel(test_model.net, test_model.calibration, test_model.labels,
                                     ModelIdentity("xrv-densenet121-res224-all", "x", "v", test_model.sha256), test_model.preprocess)
    assert gate.feature_reference(as_real) is not None
    other = PooledLinearChestModel(test_model.net, test_model.calibration, test_model.labels,
                                   ModelIdentity("xrv-densenet121-res224-all", "x", "v", "f" * 64), test_model.preprocess)
    assert gate.feature_reference(other) is None  # statistics of another file are ignored
    assert gate.feature_reference(test_model) is None  # never for test models


def test_the_runtime_gate_imports_no_fitting_or_training_code() -> None:
    """The page and the analysis import :mod:`core.chest.gate` and :mod:`core.chest.view`: neither may
    pull in the fitting modules, the training package or torch (checked in a fresh interpreter)."""
    import subprocess
    import sys

    code = ("import sys, core.chest.gate, core.chest.view, core.shoulder.gate; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch' or m.startswith("
            "('core.training', 'core.training.gate_fit', 'core.training.view_fit'))))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
