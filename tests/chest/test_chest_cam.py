"""Heatmaps from one forward pass equal pytorch-grad-cam's GradCAM on the same layer.

For a head of global average pooling + linear, GradCAM's channel weights on the pooled activation
are ``w_ck / HW``, so ``relu(sum_k w_ck A_k)`` is the same map up to a positive scale, which
min-max scaling removes. xrv's calibration ``op_norm(sigmoid(.))`` is increasing per class, so
GradCAM on the calibrated output gives the same normalised map too. Checked for all 18 findings.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from core.chest.analysis import heatmap
from core.chest.model import Calibration, upsample_cam


class CalibratedNet(nn.Module):
    """A :class:`PooledLinearNet` (or any logits network) followed by its calibration."""

    def __init__(self, net: nn.Module, calibration: Calibration) -> None:
        super().__init__()
        self.net = net
        self.calibration = calibration

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.calibration(self.net(x))

ATOL = 1e-4


def _gradcam_maps(net: torch.nn.Module, layer: torch.nn.Module, x: torch.Tensor, classes) -> np.ndarray:
    """pytorch-grad-cam's GradCAM for each class (the image repeated in one batch, one target each:
    GradCAM computes every item of a batch independently)."""
    classes = list(range(classes)) if isinstance(classes, int) else list(classes)
    with GradCAM(model=net, target_layers=[layer]) as cam:
        return cam(input_tensor=x.repeat(len(classes), 1, 1, 1), targets=[ClassifierOutputTarget(c) for c in classes])


@pytest.mark.slow
@pytest.mark.parametrize("target", ["logits", "calibrated"])
def test_one_pass_cams_equal_gradcam_for_all_findings(target: str, test_model, load) -> None:
    img = load("cxr/samples/00000001_000.png")
    pred = test_model.predict(img)
    arr, _ = test_model.preprocess(img.pixels)
    x = torch.from_numpy(arr[None])
    net = test_model.net if target == "logits" else CalibratedNet(test_model.net, test_model.calibration)
    reference = _gradcam_maps(net, test_model.net.activation, x, 18)
    ours = np.stack([upsample_cam(pred.cams[c], 224, 224) for c in range(18)])
    assert reference.shape == ours.shape == (18, 224, 224)
    nonempty = [c for c in range(18) if pred.cam_peak[c] > 0]
    assert len(nonempty) >= 9, "the test model should give non-empty maps for most findings"
    np.testing.assert_allclose(ours, reference, atol=ATOL)
    # multi-label maps must not all look alike (a common pytorch-grad-cam pitfall)
    flat = ours[nonempty].reshape(len(nonempty), -1)
    corr = np.corrcoef(flat)
    assert (corr[np.triu_indices(len(nonempty), 1)] < 0.99).any()


@pytest.mark.slow
def test_gradcam_on_xrv_pre_relu_features_is_not_the_same_map(test_model, load) -> None:
    """Why the target layer matters: xrv applies ReLU functionally after ``features``; GradCAM there
    masks gradients by the ReLU and differs from the CAM. The exact shortcut targets the ReLU output."""
    img = load("cxr/samples/00000001_000.png")
    arr, _ = test_model.preprocess(img.pixels)
    x = torch.from_numpy(arr[None])
    pred = test_model.predict(img)
    classes = [int(c) for c in np.argsort(-pred.cam_peak)[:3]]
    wrong = _gradcam_maps(test_model.net, test_model.net.features, x, classes)
    ours = np.stack([upsample_cam(pred.cams[c], 224, 224) for c in classes])
    assert np.abs(wrong - ours).max() > 0.05


def test_timm_efficientnet_head_gives_exact_cams_too() -> None:
    import timm

    from core.chest.loader import _pooled_linear_from_timm
    from core.chest.model import linear_head_cams, minmax

    torch.manual_seed(1)
    model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=4, in_chans=1).eval()
    net = _pooled_linear_from_timm(model)
    assert net is not None
    x = torch.randn(1, 1, 160, 160)
    with torch.inference_mode():
        fmap = net.feature_map(x)
        np.testing.assert_allclose(net(x).numpy(), model(x).numpy(), atol=1e-5)
        scaled, _ = minmax(linear_head_cams(fmap, net.classifier.weight)[0].numpy())
    ours = np.stack([upsample_cam(scaled[c], 160, 160) for c in range(4)])
    reference = _gradcam_maps(net, net.activation, x, 4)
    np.testing.assert_allclose(ours, reference, atol=ATOL)


def test_the_gradcam_fallback_batches_all_findings_in_one_call() -> None:
    """A head that is not pooled-linear (here an MLP) uses pytorch-grad-cam; one batched call must
    equal one GradCAM call per finding."""
    from torch import nn

    from core.chest.model import Calibration, GradCamChestModel, ModelIdentity
    from core.chest.preprocess import generic_array

    torch.manual_seed(2)
    conv = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
    net = nn.Sequential(conv, nn.AdaptiveMaxPool2d(4), nn.Flatten(), nn.Linear(256, 32), nn.Tanh(), nn.Linear(32, 3)).eval()
    model = GradCamChestModel(
        net, conv[2], Calibration(None), ("A", "B", "C"), ModelIdentity("mlp", "mlp", "1", "0" * 64),
        preprocess=lambda p: generic_array(p, 64),
    )
    pixels = np.random.default_rng(3).random((80, 90), dtype=np.float32)
    pred = model.predict_pixels(pixels)
    x = torch.from_numpy(generic_array(pixels, 64)[0][None])
    reference = _gradcam_maps(net, conv[2], x, 3)
    assert pred.cam_method == "gradcam" and pred.cams.shape == (3, 64, 64)
    np.testing.assert_allclose(pred.cams, reference, atol=ATOL)


def test_full_resolution_heatmap_covers_the_crop_only(test_model) -> None:
    pixels = np.random.default_rng(0).random((300, 500), dtype=np.float32)
    pred = test_model.predict_pixels(pixels)
    c = int(np.argmax(pred.cam_peak))
    heat = heatmap(pred, c, 300, 500)
    assert heat.shape == (300, 500) and heat.dtype == np.float32
    assert heat[:, :100].max() == 0 and heat[:, 400:].max() == 0  # outside the centre square
    assert heat[:, 100:400].max() == pytest.approx(1.0, abs=1e-3)
    half = heatmap(pred, c, 150, 250)  # a scaled copy for display/export
    assert half.shape == (150, 250) and half[:, :50].max() == 0
