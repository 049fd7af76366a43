"""The frozen (TorchScript) trunk the app runs for inference (:class:`core.chest.frozen.FrozenTrunk`):
the same outputs as the eager network, any size that cannot be frozen faithfully runs eagerly, and
several analysis slots may run one model object at once."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from core.chest.frozen import FrozenTrunk, torchscript_enabled, warmed
from core.chest.model import PooledLinearChestModel, PooledLinearNet, _Threads, build_test_model
from core.chest.nets import build_efficientnet_lite


def _lite_net(seed: int = 0) -> PooledLinearNet:
    torch.manual_seed(seed)
    net = build_efficientnet_lite(0, 3, pretrained=False, multiscale=True).eval()
    for m in net.modules():  # non-trivial batch-norm statistics, so that folding them is really tested
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net.to(memory_format=torch.channels_last)


def _inputs(n: int, size: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand((n, 3, size, size), generator=gen).contiguous(memory_format=torch.channels_last)


def test_the_frozen_trunk_gives_the_eager_feature_maps_for_any_batch() -> None:
    net = _lite_net()
    trunk = FrozenTrunk(net)
    with torch.inference_mode():
        for n in (1, 5, 7):  # frozen once for the size; the batch dimension stays free
            x = _inputs(n, 96, seed=n)
            want, got = net.feature_map(x), trunk(x)
            assert got.shape == want.shape
            assert float((got - want).abs().max()) <= 1e-4 * (1 + float(want.abs().max()))
    assert trunk.sizes == {(3, 96, 96): True}
    with torch.inference_mode():
        trunk(_inputs(2, 64, seed=9))  # another size: its own frozen copy ("same" padding depends on it)
    assert trunk.sizes == {(3, 96, 96): True, (3, 64, 64): True}


class _TracesWrong(nn.Module):
    """Behaves differently while traced: a frozen copy would silently give other numbers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if torch.jit.is_tracing() else x


class _CannotTrace(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_tracing():
            raise RuntimeError("not traceable")
        return x + 1


@pytest.mark.parametrize("features", [_TracesWrong(), _CannotTrace()], ids=["differs", "fails"])
def test_a_size_that_cannot_be_frozen_faithfully_runs_eagerly(features: nn.Module, caplog: pytest.LogCaptureFixture) -> None:
    net = PooledLinearNet(features, nn.Identity(), nn.Linear(3, 2)).eval()
    trunk = FrozenTrunk(net)
    x = _inputs(2, 8, seed=1)
    with torch.inference_mode():
        assert torch.equal(trunk(x), net.feature_map(x))
    assert trunk.sizes == {(3, 8, 8): False}
    assert "running eagerly" in caplog.text


def test_the_app_model_runs_frozen_by_default_and_eagerly_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    base = build_test_model(seed=0)  # a random-weight DenseNet-121 (test model)
    monkeypatch.setenv("DRDC_TORCHSCRIPT", "0")
    assert not torchscript_enabled()
    eager = PooledLinearChestModel(base.net, base.calibration, base.labels, base.identity)
    monkeypatch.setenv("DRDC_TORCHSCRIPT", "1")
    frozen = PooledLinearChestModel(base.net, base.calibration, base.labels, base.identity)
    assert eager.trunk is None and isinstance(frozen.trunk, FrozenTrunk)
    pixels = np.random.default_rng(0).random((256, 256), dtype=np.float32)
    a, b = eager.predict_pixels(pixels), frozen.predict_pixels(pixels)
    assert frozen.trunk.sizes == {(1, 224, 224): True}
    assert np.abs(a.probabilities - b.probabilities).max() <= 1e-4
    assert np.abs(a.cams - b.cams).max() <= 1e-3 and np.abs(a.features - b.features).max() <= 1e-3


def test_several_slots_may_run_one_model_at_once_with_the_same_results() -> None:
    """Two analysis slots share one loaded model: concurrent passes give exactly what one pass alone
    gives, and the process's intra-op thread count is restored only when the last pass ends."""
    net = _lite_net(seed=1)
    model = PooledLinearChestModel(net, _calibration(), ["a", "b", "c"], _identity(), preprocess=_as_rgb)
    films = [np.random.default_rng(i).random((224, 224), dtype=np.float32) for i in range(4)]
    alone = [model.predict_pixels(f).probabilities for f in films]
    before = torch.get_num_threads()
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run(i: int) -> None:
        try:
            start.wait(10)
            for _ in range(3):
                results[i] = model.predict_pixels(films[i]).probabilities
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors and len(results) == 4
    for i in range(4):
        assert np.array_equal(results[i], alone[i])
    assert torch.get_num_threads() == before


def test_overlapping_thread_blocks_restore_the_count_once_the_last_ends() -> None:
    before = torch.get_num_threads()
    first, second = _Threads(1), _Threads(1)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first block ends while the second still runs
    assert torch.get_num_threads() == 1
    second.__exit__(None, None, None)
    assert torch.get_num_threads() == before


def _as_rgb(pixels: np.ndarray):  # noqa: ANN202 - a preprocess: (C, H, W) array and its crop box
    from core.chest.preprocess import CropBox

    arr = np.repeat(pixels[None].astype(np.float32), 3, axis=0)
    return arr, CropBox(0, 0, pixels.shape[0], pixels.shape[0], pixels.shape[1])


def _calibration():  # noqa: ANN202
    from core.chest.model import Calibration

    return Calibration()


def _identity():  # noqa: ANN202
    from core.chest.model import ModelIdentity

    return ModelIdentity(name="test-lite", title="test", version="0", sha256="0" * 64, is_test_model=True)


def test_warming_makes_the_frozen_trunk_before_the_first_film(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page loads each model once and warms it, so the first person's first film does not wait
    for the freezing; an eager model (``DRDC_TORCHSCRIPT=0``) and other objects pass through."""
    net = _lite_net(seed=2)
    model = PooledLinearChestModel(net, _calibration(), ["a", "b", "c"], _identity(), preprocess=_as_rgb)
    assert model.trunk is not None and model.trunk.sizes == {}
    assert warmed(model) is model and model.trunk.sizes == {(3, 256, 256): True}  # _as_rgb keeps the size
    monkeypatch.setenv("DRDC_TORCHSCRIPT", "0")
    eager = PooledLinearChestModel(net, _calibration(), ["a", "b", "c"], _identity(), preprocess=_as_rgb)
    assert warmed(eager) is eager and eager.trunk is None
    other = object()
    assert warmed(other) is other
