"""The bundled starter models: present, checksum-verified through the registry, loadable, and
(with ../shared/data) reproducing the held-out figures recorded in their cards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.chest.starter import LOADER, STARTER_MULTILABEL, STARTER_SCREENING, load_starter, starter_names
from core.models import registry
from core.training.metrics import auc

CARDS = {STARTER_MULTILABEL: "chest-multilabel", STARTER_SCREENING: "chest-screening"}


@pytest.mark.parametrize("name", list(CARDS))
def test_card_and_file_are_consistent(name: str) -> None:
    card = registry.get_card(name)
    assert card.task == CARDS[name] and card.bundled and card.loader == LOADER
    assert name in starter_names(card.task)
    st = registry.status(name)
    assert st.state == "installed", st  # size and sha256 match the card
    assert st.path is not None and st.path.stat().st_size == card.size_bytes < 30 * 2**20
    held = card.metrics["held_out_test"]
    if card.task == "chest-multilabel":
        assert len(card.labels) == 14 and held["mean_auc_ci95"][0] <= held["mean_auc"] <= held["mean_auc_ci95"][1]
        for entry in held["per_label"].values():
            assert entry["auc"] is None or entry["ci95"][0] <= entry["auc"] <= entry["ci95"][1]
    else:
        assert card.labels == ("Pneumonia",)
        pairs = held["pairs"]
        assert any(k.startswith("adult") for k in pairs) and any(k.startswith("paediatric Kermany") for k in pairs)
        for entry in pairs.values():
            assert entry["ci95"][0] <= entry["auc"] <= entry["ci95"][1]
        assert any("COVID-19" in lim for lim in card.limitations)  # not assessed, and said so
    assert "ko" in card.translations and len(card.input["op_threshs"]) == len(card.labels)


@pytest.mark.parametrize("name", list(CARDS))
def test_loads_and_predicts(name: str) -> None:
    model = load_starter(name)
    card = registry.get_card(name)
    assert model.sha256 == card.sha256 and not model.is_test_model
    assert np.allclose(model.calibration.op_threshs.numpy(), card.input["op_threshs"], atol=1e-6)
    yy, xx = np.mgrid[0:300, 0:260]
    img = (0.5 + 0.3 * np.cos(xx / 20.0) * np.sin(yy / 30.0)).astype(np.float32)
    pred = model.predict_pixels(img)
    assert pred.probabilities.shape == (len(card.labels),)
    assert ((pred.probabilities >= 0) & (pred.probabilities <= 1)).all()
    assert pred.cams.shape[0] == len(card.labels) and pred.cams.shape[1] == pred.cams.shape[2] == 14


def _predict(model, paths: list[Path]) -> np.ndarray:  # noqa: ANN001
    from core.imaging import load_image

    out = []
    for i in range(0, len(paths), 16):
        imgs = [load_image(p.read_bytes(), p.name) for p in paths[i:i + 16]]
        out.extend(pr.probabilities for pr in model.predict_batch(imgs))
    return np.stack(out)


def _multitask_test(shared_data: Path):  # noqa: ANN202
    from core.training.multitask import split_sets

    sets = split_sets(shared_data, seed=registry.get_card(STARTER_MULTILABEL).metrics["split"]["seed"])
    test = sets["nih-test"]
    trained = sets["nih-train"].patients() | sets["nih-val"].patients()
    assert not (trained & test.patients())  # held out: never trained on, never used to choose
    return test


@pytest.mark.slow
def test_multilabel_reproduces_held_out_auc(shared_data: Path) -> None:
    """The committed file, run through the page's path (decode, crop, resize, fp16 weights), gives the
    held-out mean AUC its card records."""
    card = registry.get_card(STARTER_MULTILABEL)
    test = _multitask_test(shared_data)
    assert len(test) == card.metrics["held_out_test"]["n"]
    model = load_starter(STARTER_MULTILABEL)
    probs = _predict(model, [s.path for s in test.samples])
    y = test.targets()
    aucs = [auc(y[:, j], probs[:, j]) for j in range(len(card.labels))]
    assert np.nanmean(aucs) == pytest.approx(card.metrics["held_out_test"]["mean_auc"], abs=0.01)
    reported = card.input["reported"]
    assert sum(reported) == card.metrics["held_out_test"]["intervals_excluding_chance"]


@pytest.mark.slow
def test_screening_reproduces_the_adult_held_out_auc(shared_data: Path) -> None:
    card = registry.get_card(STARTER_SCREENING)
    test = _multitask_test(shared_data)
    keep = [s for s in test.samples if s.finding == "No Finding" or "Pneumonia" in s.finding.split("|")]
    model = load_starter(STARTER_SCREENING)
    probs = _predict(model, [s.path for s in keep])[:, 0]
    y = np.array([float("Pneumonia" in s.finding.split("|")) for s in keep])
    recorded = next(v for k, v in card.metrics["held_out_test"]["pairs"].items() if k.startswith("adult"))
    assert len(keep) == recorded["n"]
    assert auc(y, probs) == pytest.approx(recorded["auc"], abs=0.02)


def test_the_gate_reference_and_the_report_writer_are_bound_to_the_shipped_features() -> None:
    """The 14-finding file records the digest of the trunk whose features the gate and the report
    writer read; the gate statistics and the adapter card name the same digest, so neither is used
    with other features (and both stay valid when only the head or the views change)."""
    from safetensors.torch import load_file

    from core.chest.gate import PcaReference, feature_card_name
    from core.chest.starter import features_digest

    card = registry.get_card(STARTER_MULTILABEL)
    digest = features_digest(load_file(str(registry.status(STARTER_MULTILABEL).path)))
    assert card.input["features_sha256"] == digest
    ref = PcaReference.load(registry.status(feature_card_name(STARTER_MULTILABEL)).path)
    assert ref.meta["features_sha256"] == digest and ref.meta["model_sha256"] == card.sha256
    adapter = registry.get_card("gemma-lora-drdc-prefix")
    assert adapter.input["vision_model"] == STARTER_MULTILABEL and adapter.input["vision_features_sha256"] == digest
