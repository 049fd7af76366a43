"""Load the best installed chest model through the weights registry.

Preference: torchxrayvision's DenseNet (``xrv-densenet121-res224-all``), then the project's starter
models (cards with task ``chest-multilabel``), best first by the mean AUC their card reports.
Nothing here downloads anything; a model is used only when the registry has verified its file's
SHA-256. Random-weight test models are never returned.

Starter-model cards (written by the training CLI) describe how to build and feed the network:
``architecture`` is a timm model name (``densenet121``, ``efficientnet_b0``...), ``loader`` is
``state-dict`` or ``safetensors``, and ``input`` may hold ``size``, ``channels``, ``range``
(``[low, high]`` for [0, 1] pixels), ``mean``/``std`` and ``op_threshs`` (raw-sigmoid operating
points; 0.5 when absent).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.chest.model import (
    Calibration,
    ChestModel,
    GradCamChestModel,
    ModelIdentity,
    PooledLinearChestModel,
    PooledLinearNet,
    wrap_xrv_densenet,
    xrv_op_threshs,
)
from core.chest.preprocess import generic_array
from core.chest.starter import build_from_tensors
from core.errors import MissingModelError
from core.models import registry

TASK = "chest-multilabel"
XRV_NAME = "xrv-densenet121-res224-all"


class ModelLoadError(MissingModelError):
    """An installed, verified weights file could not be turned into a model."""


@dataclass(frozen=True)
class Availability:
    """What the page needs to decide whether it can analyse: the model to use or how to get one."""

    name: str | None
    install_command: str
    candidates: tuple[str, ...]
    held_back: tuple[tuple[str, str], ...] = ()  # (model, command to fit its input check): installed, not used


def _card_rank(card: Any) -> tuple[int, float, str]:
    metrics = card.metrics or {}
    held = metrics.get("held_out_test") if isinstance(metrics.get("held_out_test"), dict) else {}
    auc = metrics.get("auc_mean") or metrics.get("mean_auc") or held.get("mean_auc") or 0.0
    try:
        auc = float(auc)
    except (TypeError, ValueError):
        auc = 0.0
    return (0 if card.name == XRV_NAME else 1, -auc, card.name)


def chest_cards() -> list[Any]:
    """Chest multi-label model cards in preference order (xrv first, then starters by mean AUC)."""
    return sorted(registry.list_cards(task=TASK), key=_card_rank)


def gate_reference_missing(name: str) -> str | None:
    """The command that fits model ``name``'s own input check when the model has a feature-reference
    card (``<name>-gate``) whose file is not installed and verified; None when the check can run (or
    the model has no such card and runs on the image-statistics check alone, as the page says)."""
    gate = f"{name}-gate"
    try:
        card = registry.get_card(gate)
    except (KeyError, ValueError, OSError):
        return None
    if registry.installed_path(gate) is not None:
        return None
    return registry.install_command(card)


def availability() -> Availability:
    """Which chest model would be loaded (``name`` None when none is installed and verified).

    An installed model whose own input check has no fitted reference is held back (the gate would
    refuse every film with it: fail closed) and the next installed model is used; ``held_back`` names
    it with the command that makes it usable.
    """
    cards = chest_cards()
    held: list[tuple[str, str]] = []
    for card in cards:
        if registry.installed_path(card.name) is None:
            continue
        fit = gate_reference_missing(card.name)
        if fit is not None:
            held.append((card.name, fit))
            continue
        return Availability(card.name, registry.install_command(card), tuple(c.name for c in cards), tuple(held))
    first = registry.get_card(XRV_NAME) if any(c.name == XRV_NAME for c in cards) else (cards[0] if cards else None)
    command = registry.install_command(first) if first else f"python -m core.models fetch {XRV_NAME}"
    return Availability(None, command, tuple(c.name for c in cards), tuple(held))


def load_best_model() -> ChestModel:
    """The best installed chest model.

    Raises:
        MissingModelError: no chest model is installed and verified (message names the command).
        ModelLoadError: a verified file could not be loaded.
    """
    avail = availability()
    if avail.name is None:
        raise MissingModelError("chest.model.missing", name=XRV_NAME, command=avail.install_command)
    return load_model(avail.name, registry.require(avail.name))


def load_model(name: str, path: Path) -> ChestModel:
    """Load registry model ``name`` from its verified file ``path``.

    Raises:
        ModelLoadError: the file does not hold what the card says, or its bytes changed since the
            registry verified them.
    """
    card = registry.get_card(name)
    st = registry.status(name)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if st.sha256 is None or sha != st.sha256:
        raise ModelLoadError("chest.model.changed", name=name, command=registry.install_command(card))
    identity = ModelIdentity(name=card.name, title=card.title, version=card.version, sha256=sha, titles=card.titles())
    try:
        if card.loader == "xrv-pickle":
            return load_xrv_bytes(data, identity)
        if card.loader == "core.chest.starter":
            from safetensors.torch import load as load_safetensors

            return build_from_tensors(card, load_safetensors(data))
        return load_starter_bytes(data, card, identity)
    except MissingModelError:
        raise
    except Exception as exc:  # a verified file that still fails to load: say which and why
        raise ModelLoadError("chest.model.broken", name=name, detail=str(exc)[:200]) from exc


#: SHA-256 of the torchxrayvision files this code will ever unpickle (published release v1 files,
#: confirmed by several independent projects). A whole pickled model can run code when loaded, so
#: any other bytes are refused *before* unpickling, whatever the registry or a local pin says.
XRV_PUBLISHED_SHA256 = {
    "56524913dd16a906422e8d8b66a7a5c46be1d82eb7ac012d8103776f1aa68899": "densenet121-res224-all (28,382,008 bytes)",
}
#: The only classes a torchxrayvision DenseNet pickle may name (checked before loading).
XRV_ALLOWED_GLOBALS = (
    "torch.nn.modules.conv.Conv2d", "torch.nn.modules.batchnorm.BatchNorm2d", "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.pooling.MaxPool2d", "torch.nn.modules.pooling.AvgPool2d", "torch.nn.modules.linear.Linear",
    "torch.nn.modules.container.Sequential", "torchxrayvision.models.DenseNet", "torchxrayvision.models._DenseBlock",
    "torchxrayvision.models._DenseLayer", "torchxrayvision.models._Transition",
)


def _resolve(qualname: str) -> Any:
    import importlib

    module, _, attr = qualname.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def unpickle_xrv(data: bytes, name: str = XRV_NAME) -> nn.Module:
    """The model object in a torchxrayvision release file, never running code from an unknown file.

    1. The bytes' SHA-256 must be one of :data:`XRV_PUBLISHED_SHA256` (else refused unread).
    2. A zip-format checkpoint is opened with ``torch.load(weights_only=True)``, allowing only the
       classes in :data:`XRV_ALLOWED_GLOBALS` (listed from the file before loading).
    3. Only a legacy-format file (which ``weights_only`` cannot read) whose bytes are exactly a
       published file falls back to a full unpickle, as torchxrayvision itself does.

    Raises:
        ModelLoadError: unknown bytes, or a file naming classes outside the allow-list.
    """
    from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals

    sha = hashlib.sha256(data).hexdigest()
    if sha not in XRV_PUBLISHED_SHA256:
        raise ModelLoadError("models.error.unsafe_pickle", name=name, detail=f"unknown file, sha256 {sha[:16]}...")
    try:
        names = get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    except (ValueError, RuntimeError):  # legacy (pre-zip) format: the published bytes only, checked above
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)  # noqa: S614 (published file)
    unexpected = sorted(set(names) - set(XRV_ALLOWED_GLOBALS))
    if unexpected:
        raise ModelLoadError("models.error.unsafe_pickle", name=name, detail=", ".join(unexpected)[:200])
    with safe_globals([_resolve(n) for n in names]):
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def load_xrv_bytes(data: bytes, identity: ModelIdentity) -> PooledLinearChestModel:
    """A torchxrayvision DenseNet from the bytes of its released file (a whole pickled model).

    Mirrors ``xrv.models.DenseNet(weights=...)``: unpickle safely (:func:`unpickle_xrv`), copy the
    state dict into a fresh ``DenseNet(weights=None)``, and use xrv's ``op_threshs`` for
    ``densenet121-res224-all``.

    Raises:
        ModelLoadError: the bytes are not a published file, or name classes outside the allow-list.
    """
    import torchxrayvision as xrv

    saved = unpickle_xrv(data, identity.name)
    for mod in saved.modules():  # xrv's patch for models pickled by older torch
        if not hasattr(mod, "_non_persistent_buffers_set"):
            mod._non_persistent_buffers_set = set()
    model = xrv.models.DenseNet(weights=None)
    model.load_state_dict(saved.state_dict())
    model.targets = list(xrv.models.model_urls["densenet121-res224-all"]["labels"])
    return wrap_xrv_densenet(model.eval(), identity, xrv_op_threshs())


def _pooled_linear_from_timm(model: nn.Module) -> PooledLinearNet | None:
    """Split a timm classifier into features/activation/linear when its head is avg-pool + linear."""
    pool = getattr(model, "global_pool", None)
    pool_type = getattr(pool, "pool_type", None)
    classifier = model.get_classifier() if hasattr(model, "get_classifier") else None
    if pool_type != "avg" or not isinstance(classifier, nn.Linear) or not hasattr(model, "forward_features"):
        return None

    class _Features(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner.forward_features(x)

    # timm's forward_features already ends with the activation (BatchNormAct / ReLU), so the hookable
    # activation module is an identity on top of it.
    return PooledLinearNet(_Features(model), nn.Identity(), classifier)


def load_starter_bytes(data: bytes, card: Any, identity: ModelIdentity) -> ChestModel:
    """A starter model (timm architecture + state dict or safetensors) described by ``card``."""
    import timm

    spec = dict(card.input or {})
    labels = tuple(card.labels)
    channels = int(spec.get("channels", 1))
    size = int(spec.get("size", 224))
    model = timm.create_model(card.architecture, pretrained=False, num_classes=len(labels), in_chans=channels)
    if card.loader == "safetensors":
        from safetensors.torch import load as load_safetensors

        state = load_safetensors(data)
    else:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    model.load_state_dict(state)
    model.eval()
    value_range = tuple(spec.get("range", (0.0, 1.0)))
    preprocess = partial(
        generic_array,
        size=size,
        channels=channels,
        value_range=(float(value_range[0]), float(value_range[1])),
        mean=tuple(spec["mean"]) if "mean" in spec else None,
        std=tuple(spec["std"]) if "std" in spec else None,
    )
    calibration = Calibration(spec.get("op_threshs"))
    net = _pooled_linear_from_timm(model)
    if net is not None:
        return PooledLinearChestModel(net, calibration, labels, identity, preprocess=preprocess)
    target = _last_conv(model)
    return GradCamChestModel(model, target, calibration, labels, identity, preprocess=preprocess)


def _last_conv(model: nn.Module) -> nn.Module:
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("model has no convolution layer for GradCAM")
    return convs[-1]


def starter_summary(name: str) -> dict[str, Any]:
    """Held-out figures of a starter model's card for the page's notice: mean AUC with its 95%
    interval and the number of training images ("?" where the card lacks them).

    Raises:
        KeyError: no card called ``name``.
    """
    metrics = registry.get_card(name).metrics or {}
    held = metrics.get("held_out_test") or {}
    ci = held.get("mean_auc_ci95") or ["?", "?"]
    training = metrics.get("training") or {}

    def fmt(v: Any) -> str:
        return f"{v:.2f}" if isinstance(v, int | float) else "?"

    return {"auc": fmt(held.get("mean_auc")), "lo": fmt(ci[0]), "hi": fmt(ci[1]), "n": training.get("images", "?")}

