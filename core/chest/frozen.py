"""The frozen (TorchScript) copy of a pooled-linear chest model's trunk that the app runs for
inference (:class:`FrozenTrunk`), the switch that turns it off (``DRDC_TORCHSCRIPT``), and the
warm-up that makes it when a page loads the model. Training never uses it."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from core.chest.model import PooledLinearNet

_LOG = logging.getLogger(__name__)


def torchscript_enabled() -> bool:
    """Whether inference runs a frozen TorchScript copy of the trunk (``DRDC_TORCHSCRIPT``, default on;
    ``0`` runs the eager modules)."""
    return os.environ.get("DRDC_TORCHSCRIPT", "1").strip().lower() not in ("0", "false", "no", "off")


def warmed(model: Any) -> Any:
    """``model`` with its frozen trunk made (:meth:`PooledLinearChestModel.warm`); other models as they are."""
    warm = getattr(model, "warm", None)
    return warm() if callable(warm) else model


class _FeatureMap(nn.Module):
    """``net.feature_map`` as a module's ``forward`` (what is traced)."""

    def __init__(self, net: PooledLinearNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.feature_map(x)


class FrozenTrunk:
    """``net.feature_map`` traced and frozen (TorchScript) once per input size, for inference.

    Why: the eager trunk returns to Python between its ~300 operations and needs the GIL each time;
    while other sessions' scripts run Python in the same process, each return waits up to the
    interpreter's switch interval. Measured on 2 cores with two busy Python threads: 2.8 s per
    5-view pass eager, 58 ms frozen (the frozen graph runs without the GIL); alone, 91 -> 73 ms
    (batch norms folded into the convolutions).

    Every new size is checked once against the eager trunk on a random input (relative difference
    <= ``TOLERANCE``); a size that fails to trace or to match runs eagerly from then on. The batch
    dimension is free; padding of "same" convolutions depends on height and width, hence one copy per
    size. Not for training: the frozen copy has no gradients and does not follow later weight changes.
    """

    TOLERANCE = 1e-4

    def __init__(self, net: PooledLinearNet) -> None:
        self.net = net
        self._frozen: dict[tuple[int, ...], Any] = {}
        self._lock = threading.Lock()  # one thread freezes a size; the others wait for it

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        key = tuple(int(d) for d in x.shape[1:])
        if key not in self._frozen:
            with self._lock:
                if key not in self._frozen:
                    self._frozen[key] = self._freeze(key)
        frozen = self._frozen[key]
        return frozen(x) if frozen is not None else self.net.feature_map(x)

    @property
    def sizes(self) -> dict[tuple[int, ...], bool]:
        """Input sizes seen so far, and whether each runs frozen (False: eager fallback)."""
        return {k: v is not None for k, v in self._frozen.items()}

    def _freeze(self, shape: tuple[int, ...]) -> Any:
        """The frozen trunk for inputs of ``shape`` (C, H, W), or None when tracing or the check fails."""
        try:
            with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer warnings: the "same" padding is fixed per size
                gen = torch.Generator().manual_seed(0)
                example = torch.rand((2, *shape), generator=gen).contiguous(memory_format=torch.channels_last)
                module = _FeatureMap(self.net).eval()
                frozen = torch.jit.freeze(torch.jit.trace(module, example))
                probe = torch.rand((3, *shape), generator=gen).contiguous(memory_format=torch.channels_last)
                want, got = self.net.feature_map(probe), frozen(probe)
                if got.shape != want.shape or float((got - want).abs().max()) > self.TOLERANCE * (1.0 + float(want.abs().max())):
                    raise ValueError("the frozen trunk differs from the eager one")
            return frozen
        except Exception as err:  # noqa: BLE001 - any failure means: run eagerly, as before
            _LOG.warning("frozen trunk unavailable for %s (%s): running eagerly", shape, err)
            return None
