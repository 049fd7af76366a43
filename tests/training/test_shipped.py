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
        assert card.labels == ("Normal", "Pneumonia", "COVID-19")
        assert "within actualmed" in held["pairs"]["COVID-19 vs Normal"]
        assert any("shortcut" in lim.lower() for lim in card.limitations)
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


@pytest.mark.slow
def test_multilabel_reproduces_held_out_auc(shared_data: Path) -> None:
    from core.training.tasks import nih_task

    card = registry.get_card(STARTER_MULTILABEL)
    task = nih_task(shared_data, seed=card.metrics["split"]["seed"])
    assert [s.key for s in task.test.samples] == card.metrics["split"]["test_images"]
    train_patients = task.train.patients() | task.val.patients()
    assert not (train_patients & task.test.patients())
    model = load_starter(STARTER_MULTILABEL)
    probs = _predict(model, [s.path for s in task.test.samples])
    y = task.test.targets()
    aucs = [auc(y[:, j], probs[:, j]) for j in range(len(card.labels))]
    recorded = card.metrics["held_out_test"]["mean_auc"]
    assert np.nanmean(aucs) == pytest.approx(recorded, abs=0.01)


@pytest.mark.slow
def test_screening_reproduces_within_source_auc(shared_data: Path) -> None:
    from core.training.tasks import screening_task

    card = registry.get_card(STARTER_SCREENING)
    task = screening_task(shared_data, seed=card.metrics["split"]["seed"])
    trained = {s.key for s in task.train.samples} | {s.key for s in task.val.samples}
    actual = [s for s in task.test.samples if s.source == "actualmed" and s.target != (0.0, 1.0, 0.0)]
    assert actual and not any(s.key in trained for s in actual)
    model = load_starter(STARTER_SCREENING)
    probs = _predict(model, [s.path for s in actual])
    y = np.array([s.target[2] for s in actual])
    got = auc(y, probs[:, 2])
    recorded = card.metrics["held_out_test"]["pairs"]["COVID-19 vs Normal"]["within actualmed"]["auc"]
    assert got == pytest.approx(recorded, abs=0.02)
