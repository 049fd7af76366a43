"""The six-head EfficientNet-B0: shapes, weights-only checkpoints, exact Grad-CAM per condition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.scalp.model import (
    CONDITIONS,
    ScalpModel,
    ScalpNet,
    contrast_cams,
    load_checkpoint,
    predict,
    preprocess,
    save_checkpoint,
)
from core.scalp.synthetic import Phantom

SIZE = 96


@pytest.fixture(scope="module")
def model() -> ScalpModel:
    torch.manual_seed(0)
    net = ScalpNet(pretrained=False).eval()
    with torch.no_grad():  # make the heads' grades differ, so the maps have something to show
        net.heads.weight.normal_(0.0, 0.5)
    return ScalpModel(net=net, image_size=SIZE, meta={"version": "test"})


def test_six_heads_of_four_grades(model: ScalpModel, phantom: Phantom) -> None:
    x = torch.from_numpy(preprocess(phantom.rgb, SIZE))[None]
    assert x.shape == (1, 3, SIZE, SIZE)
    assert model.net(x).shape == (1, 6, 4)
    out = predict(model, phantom.rgb, with_cams=True)
    assert out.probabilities.shape == (6, 4)
    assert np.allclose(out.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert len(out.grades) == 6 and out.cams is not None and set(out.cams) == set(CONDITIONS)
    for cam in out.cams.values():
        assert cam.shape == phantom.rgb.shape[:2] and 0.0 <= cam.min() and cam.max() <= 1.0


@pytest.mark.slow
def test_contrast_cams_equal_pytorch_grad_cam(model: ScalpModel, phantom: Phantom) -> None:
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.image import scale_cam_image

    x = torch.from_numpy(preprocess(phantom.rgb, SIZE))[None]
    with torch.no_grad():
        feats = model.net.features(x)
        grades = tuple(int(v) for v in model.net(x)[0].argmax(dim=-1))
    mine = contrast_cams(model.net, feats, grades)
    checked = 0
    with GradCAM(model=model.net, target_layers=[model.net.backbone.bn2]) as cam:
        for head, grade in enumerate(grades):
            if grade == 0:
                assert not mine[head].any()
                continue
            ref = cam(input_tensor=x, targets=[lambda o, h=head, g=grade: o[h, g] - o[h, 0]])[0]
            # pytorch-grad-cam normalises per layer (with the resize) and again after averaging layers
            ours = scale_cam_image(scale_cam_image(mine[head][None], (SIZE, SIZE)))[0]
            assert np.allclose(ours, ref, atol=1e-3), head
            checked += 1
    assert checked >= 2, grades
    # no hook stays attached after the context
    assert not model.net.backbone.bn2._forward_hooks


def test_maps_differ_between_conditions(model: ScalpModel, phantom: Phantom) -> None:
    out = predict(model, phantom.rgb, with_cams=True)
    assert out.cams is not None
    shown = [c for c, g in zip(CONDITIONS, out.grades, strict=True) if g > 0]
    if len(shown) >= 2:
        a, b = out.cams[shown[0]], out.cams[shown[1]]
        assert not np.allclose(a, b)


def test_checkpoint_round_trip_is_weights_only(model: ScalpModel, tmp_path: Path, phantom: Phantom) -> None:
    path = save_checkpoint(model, tmp_path / "m.pt")
    blob = torch.load(path, weights_only=True)
    assert blob["meta"]["conditions"] == list(CONDITIONS) and blob["meta"]["image_size"] == SIZE
    loaded = load_checkpoint(path)
    assert loaded.image_size == SIZE and loaded.version == "test"
    assert np.allclose(predict(loaded, phantom.rgb).probabilities, predict(model, phantom.rgb).probabilities,
                       atol=1e-5)


def test_a_foreign_checkpoint_is_refused(tmp_path: Path) -> None:
    torch.save({"weights": torch.zeros(3)}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a scalp model"):
        load_checkpoint(tmp_path / "x.pt")
    torch.save({"state_dict": {}, "meta": {"conditions": ["a"]}}, tmp_path / "y.pt")
    with pytest.raises(ValueError, match="other conditions"):
        load_checkpoint(tmp_path / "y.pt")
