"""Training loop, augmentation, model zoo and linear-probe folding on tiny separable data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.chest.nets import InputSpec, build, default_input
from core.training.probe import extract_features, fit_linear_head
from core.training.train import TrainConfig, load_checkpoint, operating_points, predict_logits, train
from core.training.transforms import NO_AUGMENT, Augment
from tests.training.helpers import blob_image


def _separable(n: int = 24, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([blob_image("left" if i % 2 else "right", i, size) for i in range(n)])
    y = np.stack([[float(i % 2), float(1 - i % 2)] for i in range(n)]).astype(np.float32)
    return x, y


def test_training_loss_falls_and_checkpoint_is_written(tmp_path: Path) -> None:
    torch.set_num_threads(2)
    x, y = _separable()
    spec = InputSpec(32, 1, (0.0, 1.0))
    net = build("cnn5", 2)
    cfg = TrainConfig(epochs=4, batch_size=8, lr=3e-3, patience=10, seed=0, progress=False, augment=NO_AUGMENT)
    ck = tmp_path / "best.pt"
    res = train(net, spec, x, y, x[:8], y[:8], cfg, checkpoint=ck, checkpoint_meta={"arch": "cnn5"}, log=lambda m: None)
    losses = [h["loss"] for h in res.history]
    assert losses[-1] < losses[0]
    assert res.best_val_auc > 0.9
    saved = load_checkpoint(ck)
    assert saved["arch"] == "cnn5" and "state_dict" in saved and saved["config"]["epochs"] == 4
    logits = predict_logits(res.net, x[:8], spec)
    assert logits.shape == (8, 2)
    op = operating_points(y[:8], logits)
    assert all(0.0 < t < 1.0 for t in op)


def test_training_is_seeded() -> None:
    x, y = _separable(16)
    spec = InputSpec(32, 1, (0.0, 1.0))
    cfg = TrainConfig(epochs=1, batch_size=8, seed=5, progress=False)
    torch.manual_seed(0)
    a = train(build("cnn5", 2), spec, x, y, x, y, cfg, log=lambda m: None).history[0]["loss"]
    torch.manual_seed(0)
    b = train(build("cnn5", 2), spec, x, y, x, y, cfg, log=lambda m: None).history[0]["loss"]
    assert a == pytest.approx(b, rel=1e-5)


def test_time_budget_stops_training() -> None:
    x, y = _separable(16)
    cfg = TrainConfig(epochs=50, batch_size=8, max_minutes=0.0, progress=False)
    res = train(build("cnn5", 2), InputSpec(32, 1), x, y, x, y, cfg, log=lambda m: None)
    assert res.stopped == "time-budget" and len(res.history) == 1


def test_augment_keeps_shape_range_and_no_flip_by_default() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 32, 32)
    out = Augment()(x, gen)
    assert out.shape == x.shape and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.allclose(NO_AUGMENT(x, gen), x, atol=1e-5)
    # left blob stays on the left without flips (laterality preserved)
    img = torch.from_numpy(blob_image("left", 0, 32)).float()[None, None] / 255
    aug = Augment()(img.repeat(8, 1, 1, 1), gen)
    assert (aug[:, 0, :, :16].mean((1, 2)) > aug[:, 0, :, 16:].mean((1, 2))).all()
    flipped = Augment(rotation_deg=0, scale=(1, 1), translate=0, hflip_p=1.0, gamma=(1, 1), contrast=(1, 1),
                      brightness=0)(img, gen)
    assert torch.allclose(flipped, img.flip(-1), atol=1e-4)


def test_blur_factor_8_leaves_a_28_px_image_at_224_px() -> None:
    """Down/up-sampling by 8 at 224 px keeps only what a 28 px thumbnail holds (PneumoniaMNIST)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 224, 224)
    still = {"rotation_deg": 0.0, "scale": (1.0, 1.0), "translate": 0.0, "gamma": (1.0, 1.0),
             "contrast": (1.0, 1.0), "brightness": 0.0, "blur_p": 1.0}

    def fine_detail(img: torch.Tensor) -> float:  # energy left after removing each 8x8 block's mean
        blocks = torch.nn.functional.avg_pool2d(img, 8)
        return float((img - torch.nn.functional.interpolate(blocks, scale_factor=8)).pow(2).mean())

    by8, by2 = Augment(**still, blur_factors=(8,))(x, gen), Augment(**still, blur_factors=(2,))(x, gen)
    assert fine_detail(by8) < 0.25 * fine_detail(by2) < 0.25 * fine_detail(x)
    mixed = Augment(**still, blur_factors=(2, 4, 8))(x, gen)  # each image by one of the factors
    assert all(fine_detail(mixed[i:i + 1]) < 0.5 * fine_detail(x[i:i + 1]) for i in range(len(x)))
    assert torch.allclose(Augment(**{**still, "blur_p": 0.0})(x, gen), x, atol=1e-3)


def test_tight_crop_magnifies_and_widens() -> None:
    """``zoom`` magnifies about the centre, ``stretch`` widens only horizontally (no flip, no tilt)."""
    gen = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    disk = (((yy - 31.5) ** 2 + (xx - 31.5) ** 2) < 10.0 ** 2).float()[None, None].repeat(4, 1, 1, 1)
    still = {"rotation_deg": 0.0, "scale": (1.0, 1.0), "translate": 0.0, "gamma": (1.0, 1.0),
             "contrast": (1.0, 1.0), "brightness": 0.0}

    def extent(img: torch.Tensor, dim: int) -> torch.Tensor:  # width (dim -1) or height (dim -2) of the disk
        return (img[:, 0] > 0.5).any(dim=dim).sum(-1).float()

    zoomed = Augment(**still, zoom_p=1.0, zoom=(1.5, 1.5))(disk, gen)
    assert torch.allclose(extent(zoomed, -2), extent(disk, -2) * 1.5, atol=2)  # width
    assert torch.allclose(extent(zoomed, -1), extent(disk, -1) * 1.5, atol=2)  # height
    wide = Augment(**still, zoom_p=1.0, zoom=(1.0, 1.0), stretch=(1.4, 1.4))(disk, gen)
    assert torch.allclose(extent(wide, -2), extent(disk, -2) * 1.4, atol=2)
    assert torch.allclose(extent(wide, -1), extent(disk, -1), atol=1)
    assert torch.allclose(Augment(**still, zoom_p=0.0, zoom=(1.5, 1.5))(disk, gen), disk, atol=1e-4)


@pytest.mark.parametrize("arch", ["cnn5", "resnet18", "densenet121"])
def test_scratch_models_are_pooled_linear(arch: str) -> None:
    net = build(arch, 3).eval()
    spec = default_input(arch, 32)
    x = spec.normalize(torch.rand(2, 1, 32, 32))
    with torch.no_grad():
        fmap = net.feature_map(x)
        assert torch.allclose(net(x), net.classifier(fmap.mean((2, 3))), atol=1e-4)


def test_linear_probe_folds_standardisation_into_the_head() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, (60, 8)).astype(np.float32)
    y = np.stack([(x[:, 0] > 5), (x[:, 1] + x[:, 2] > 10)], 1).astype(float)
    head = fit_linear_head(x[:40], y[:40], x[40:], y[40:], Cs=(0.1, 1.0))
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ref = make_pipeline(StandardScaler(), LogisticRegression(C=head.C, class_weight="balanced", max_iter=3000))
    ref.fit(x[:40], y[:40, 0])
    assert np.allclose(head.logits(x[40:])[:, 0], ref.decision_function(x[40:]), atol=1e-3)


def test_probe_head_installed_in_net_equals_feature_logits() -> None:
    net = build("cnn5", 2).eval()
    x, y = _separable(12)
    spec = InputSpec(32, 1)
    feats = extract_features(net, x, spec)
    head = fit_linear_head(feats, y, C=1.0)
    head.install(net)
    assert np.allclose(predict_logits(net, x, spec), head.logits(feats), atol=1e-3)
