"""StarterChestModel: calibration maps each operating point to 0.5; one pass gives every CAM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.chest.model import linear_head_cams
from core.chest.nets import build
from core.chest.starter import OP_KEY, StarterChestModel, build_from_tensors
from core.models.card import ModelCard


def _card(op: list[float]) -> ModelCard:
    return ModelCard.from_dict({
        "name": "starter-test-cnn5", "task": "chest-multilabel", "title": "test", "version": "0",
        "architecture": "cnn5", "file": "x.safetensors", "licence": "test", "intended_use": "tests",
        "labels": ["Effusion", "Mass"], "loader": "core.chest.starter",
        "input": {"size": 32, "channels": 1, "value_range": [0.0, 1.0], "mean": None, "std": None, "op_threshs": op},
    })


def _tensors(op: list[float], bias: list[float] | None = None) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = build("cnn5", 2)
    if bias is not None:
        with torch.no_grad():
            net.classifier.weight.zero_()
            net.classifier.bias.copy_(torch.tensor(bias))
    t = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    t[OP_KEY] = torch.tensor(op)
    return t


def test_operating_point_maps_to_half() -> None:
    op = [0.3, 0.7]
    logit = [float(np.log(p / (1 - p))) for p in op]
    model = build_from_tensors(_card(op), _tensors(op, bias=logit))
    assert isinstance(model, StarterChestModel)
    pred = model.predict_pixels(np.random.default_rng(0).random((40, 50), dtype=np.float32))
    assert pred.probabilities == pytest.approx([0.5, 0.5], abs=1e-3)
    # above the operating point -> above 0.5, monotone
    above = build_from_tensors(_card(op), _tensors(op, bias=[logit[0] + 1, logit[1] - 1]))
    p = above.predict_pixels(np.zeros((32, 32), np.float32)).probabilities
    assert p[0] > 0.5 > p[1]


def test_one_pass_gives_probabilities_features_and_exact_cams() -> None:
    op = [0.4, 0.6]
    model = build_from_tensors(_card(op), _tensors(op))
    img = np.random.default_rng(1).random((64, 48), dtype=np.float32)
    pred = model.predict_pixels(img)
    assert pred.labels == ("Effusion", "Mass") and pred.cam_method == "cam-linear-head"
    assert pred.probabilities.shape == (2,) and ((pred.probabilities >= 0) & (pred.probabilities <= 1)).all()
    assert pred.features.shape == (256,) and pred.cams.shape[0] == 2
    assert pred.crop.size == 48  # centred square crop of the short side
    arr, _ = model.preprocess(img)
    with torch.no_grad():
        fmap = model.net.feature_map(torch.from_numpy(arr[None]))
        raw = linear_head_cams(fmap, model.net.classifier.weight)[0].numpy()
    for c in range(2):
        if raw[c].max() > raw[c].min():
            expect = (raw[c] - raw[c].min()) / (raw[c].max() - raw[c].min())
            assert np.allclose(pred.cams[c], expect, atol=1e-4)
    assert not pred.probabilities.flags.writeable


def test_wrong_tensors_are_refused() -> None:
    op = [0.5, 0.5]
    bad = _tensors(op)
    bad["classifier.weight"] = torch.zeros(3, 256)
    with pytest.raises(RuntimeError):
        build_from_tensors(_card(op), bad)
