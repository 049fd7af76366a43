"""The pooled-feature check of the input gate for the committed starter model (the model a fresh clone
runs): its committed statistics load through the registry and are used; real frontal films pass;
the shoulder page's phantom and other radiograph-like non-chest images are refused; ``fit-features``
works for the starter. Full figures: ``bench/bench_chest.py gate``."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.chest.analysis import analyse
from core.chest.gate import PcaReference, feature_reference
from core.chest.starter import STARTER_MULTILABEL, load_starter
from core.imaging import load_image
from core.models import registry
from core.training import gate_fit
from core.training.gate_fit import feature_split

STARTER_GATE = f"{STARTER_MULTILABEL}-gate"


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.uint8(np.clip(arr, 0, 1) * 255 + 0.5)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def starter():
    return load_starter(STARTER_MULTILABEL)


def test_the_starter_reference_is_committed_verified_and_bound_to_the_starter(starter) -> None:
    st = registry.status(STARTER_GATE)
    assert st.installed and st.path == registry.BUNDLED_DIR / registry.get_card(STARTER_GATE).file
    ref = feature_reference(starter)
    assert ref is not None, "the starter's gate statistics are not used"
    assert ref.meta["model"] == STARTER_MULTILABEL and ref.meta["model_sha256"] == starter.sha256
    assert ref.meta["k"] == 16 and ref.meta["n_fit"] >= 300 and ref.meta["n_tune"] >= 300
    assert ref.components.shape[1] == starter.predict_pixels(np.full((256, 256), 0.5, np.float32)).features.shape[0]
    assert 3.0 < ref.threshold < 10.0


def _codes(result) -> set[str]:
    return {i.code for i in result.gate.issues}


def test_the_shoulder_phantom_is_refused_for_the_starter(starter) -> None:
    """The image-level statistics alone let this phantom through (score 3.0 < 4.62); the features do not."""
    from core.shoulder.phantom import demo_case

    img = load_image(_png(demo_case()[0].image), "shoulder.png")
    result = analyse(img, starter)
    assert result.gate.decision in {"refuse", "warn"}
    assert "not_chest_features" in _codes(result) and not result.analysed  # no findings are shown
    assert result.gate.can_override  # the user may still insist
    assert result.gate.score("ood_features") > 1.5 * result.gate.score("ood_features_threshold")


@pytest.mark.parametrize("kind", ["hand", "knee"])
def test_hand_and_knee_like_projections_are_refused_for_the_starter(kind: str, starter) -> None:
    from tests.chest.phantoms import hand_like, knee_like

    pixels = (hand_like if kind == "hand" else knee_like)(seed=3)
    result = analyse(load_image(_png(pixels), f"{kind}.png"), starter)
    assert result.gate.decision == "refuse" and "not_chest_features" in _codes(result)


def test_real_held_out_nih_frontals_pass_the_starter_gate(shared_data: Path, starter) -> None:
    test = [p for p in feature_split(shared_data).test if p.parent.parent.name == "nih14"]
    sample = test[::10]
    assert len(sample) >= 10
    results = [analyse(load_image(p.read_bytes(), p.name), starter) for p in sample]
    refused = [p.name for p, r in zip(sample, results, strict=True) if r.gate.decision == "refuse"]
    assert not refused, refused
    assert all(r.analysed and r.gate.score("ood_features") is not None for r in results)


def test_the_feature_split_follows_the_training_split(shared_data: Path) -> None:
    """Fit only on training-split patients (permissive licences); tune and test never overlap it."""
    from core.training.tasks import nih_task, screening_task

    split = feature_split(shared_data)
    fit, tune, test = set(split.fit), set(split.tune), set(split.test)
    assert not fit & tune and not fit & test and not tune & test
    nih = nih_task(shared_data)
    trainable = {s.path for s in nih.train.samples} | {s.path for s in screening_task(shared_data).train.samples}
    assert fit <= trainable
    assert not fit & {s.path for s in nih.test.samples} and {s.path for s in nih.test.samples} <= test
    with (shared_data / "cxr" / "covid" / "metadata.csv").open(encoding="utf-8") as fh:
        licence = {row["image"]: row["license"].strip() for row in csv.DictReader(fh)}
    covid_fit = [p for p in fit if p.parent.parent.name == "covid"]
    assert covid_fit and all(licence[p.name] in {"CC BY", "CC BY 3.0", "CC BY 4.0", "Apache 2.0"} for p in covid_fit)


def _tiny_data(shared_data: Path, root: Path, n: int = 20) -> Path:
    """A data folder with only ``n`` NIH images and their label rows (no cxr/covid, no samples)."""
    src = shared_data / "cxr" / "nih14"
    dst = root / "cxr" / "nih14"
    (dst / "images").mkdir(parents=True)
    with (src / "labels.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)[:n]
        fields = reader.fieldnames
    with (dst / "labels.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        shutil.copy(src / "images" / row["image"], dst / "images" / row["image"])
    return root


def test_fit_features_cli_works_for_the_starter(shared_data: Path, tmp_path: Path, monkeypatch, starter) -> None:
    """The command that produced the committed statistics, on a tiny set in a temporary copy of the
    bundled folders: it writes the file beside the bundled weights and updates its card's checksum."""
    data = _tiny_data(shared_data, tmp_path / "data")
    committed = registry.sha256_of(registry.BUNDLED_DIR / registry.get_card(STARTER_GATE).file)
    cards = tmp_path / "cards"
    shutil.copytree(registry.CARDS_DIR, cards)
    bundled = tmp_path / "weights"
    bundled.mkdir()
    shutil.copy(registry.BUNDLED_DIR / registry.get_card(STARTER_MULTILABEL).file, bundled)
    monkeypatch.setattr(registry, "CARDS_DIR", cards)
    monkeypatch.setattr(registry, "BUNDLED_DIR", bundled)
    assert gate_fit.main(["fit-features", "--model", STARTER_MULTILABEL, "--data", str(data), "--k", "4"]) == 0
    out = bundled / f"{STARTER_MULTILABEL}.gate-features.npz"
    ref = PcaReference.load(out)
    assert ref.meta["model"] == STARTER_MULTILABEL and ref.meta["model_sha256"] == starter.sha256
    assert ref.meta["n_fit"] == 12 and ref.meta["n_tune"] == 3  # NIH train / val of 20 patients; the test 5 unused
    card = json.loads((cards / f"{STARTER_GATE}.json").read_text(encoding="utf-8"))
    assert card["sha256"] == registry.sha256_of(out) and card["size_bytes"] == out.stat().st_size
    # --out writes only there; the committed statistics were never touched
    assert gate_fit.main(["fit-features", "--model", STARTER_MULTILABEL, "--data", str(data), "--k", "4",
                          "--out", str(tmp_path / "elsewhere.npz")]) == 0
    assert PcaReference.load(tmp_path / "elsewhere.npz").meta["n_fit"] == 12
    assert registry.sha256_of(registry.PROJECT_ROOT / "weights" / f"{STARTER_MULTILABEL}.gate-features.npz") == committed


def test_a_model_without_a_gate_card_gets_one(tmp_path: Path) -> None:
    """``fit-features`` no longer fails with a KeyError (after computing every feature) for a model
    whose ``<name>-gate`` card does not exist: it writes one first, pinned locally on fit."""
    from core.models.card import ModelCard

    shutil.copy(registry.CARDS_DIR / "starter-screening-efficientnet-lite0.json", tmp_path)
    card = gate_fit.ensure_gate_card("starter-screening-efficientnet-lite0", cards_dir=tmp_path)
    again = ModelCard.from_file(tmp_path / "starter-screening-efficientnet-lite0-gate.json")
    assert card == again and card.task == "reference-stats" and not card.bundled and card.sha256 is None
    korean = " ".join([card.localized("title", "ko"), card.localized("intended_use", "ko"), *card.localized("limitations", "ko")])
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean)
    assert gate_fit.ensure_gate_card("starter-screening-efficientnet-lite0", cards_dir=tmp_path) == card
    with pytest.raises(KeyError):
        gate_fit.ensure_gate_card("no-such-model", cards_dir=tmp_path)


def test_fit_features_refuses_bad_input_before_any_work(tmp_path: Path, monkeypatch, capsys) -> None:
    """An unknown model, a model that is not installed, or a missing data folder: exit 2 with a
    message, and no card is written into the repository."""
    cards = tmp_path / "cards"
    shutil.copytree(registry.CARDS_DIR, cards)
    monkeypatch.setattr(registry, "CARDS_DIR", cards)
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path / "weights"))
    before = sorted(p.name for p in cards.iterdir())
    assert gate_fit.main(["fit-features", "--model", "no-such-model", "--data", str(tmp_path)]) == 2
    assert "no-such-model" in capsys.readouterr().err
    assert gate_fit.main(["fit-features", "--model", "starter-screening-efficientnet-lite0",
                          "--data", str(tmp_path / "absent")]) == 2  # installed, but no data there
    assert gate_fit.main(["fit-features", "--model", "xrv-densenet121-res224-all", "--data", str(tmp_path)]) == 2
    assert sorted(p.name for p in cards.iterdir()) == before
