"""The training loop: AdamW, ReduceLROnPlateau, early stopping, class balancing, seeds,
progress bar, checkpoints; CPU by default, the GPU when one is present.

Every task is trained with one sigmoid output per label (``BCEWithLogits``): multi-label tasks
naturally, multi-class tasks one-vs-rest. The app's calibration (``op_norm(sigmoid(logit))``) then
applies to both, and the arg-max of the calibrated outputs is the multi-class decision.
Class imbalance: ``pos_weight = negatives / positives`` per label (capped), which weights each
label's rare class as much as its common one.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.chest.model import PooledLinearNet
from core.chest.nets import InputSpec
from core.training.metrics import auc, youden_threshold
from core.training.probe import pick_device
from core.training.transforms import Augment


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; returns a torch generator for augmentation and shuffling."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class TrainConfig:
    """Settings of one training run (all recorded in the checkpoint)."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr_scale: float = 0.1
    weight_decay: float = 1e-4
    patience: int = 5
    plateau_patience: int = 2
    plateau_factor: float = 0.3
    min_lr: float = 1e-6
    seed: int = 0
    max_minutes: float | None = None
    pos_weight_cap: float = 20.0
    freeze_bn: bool = False
    freeze_backbone: bool = False
    device: str | None = None
    augment: Augment = field(default_factory=Augment)
    progress: bool = True
    eval_initial: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = asdict(self.augment)
        return d


@dataclass
class TrainResult:
    net: PooledLinearNet
    history: list[dict[str, float]]
    best_epoch: int
    best_val_auc: float
    seconds: float
    stopped: str


def mean_column_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Mean AUC over the columns that hold both classes (``nan`` when none does)."""
    vals = [auc(y[:, j], scores[:, j]) for j in range(y.shape[1])]
    vals = [v for v in vals if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def pos_weights(y: np.ndarray, cap: float) -> torch.Tensor:
    pos = y.sum(axis=0)
    neg = len(y) - pos
    return torch.tensor(np.clip(neg / np.maximum(pos, 1.0), 1.0 / cap, cap), dtype=torch.float32)


def _to_input(batch_u8: np.ndarray | torch.Tensor, spec: InputSpec, dev: torch.device) -> torch.Tensor:
    x = torch.as_tensor(batch_u8).to(dev)
    x = x.float().div_(255.0)[:, None]
    if x.shape[-1] != spec.size:
        x = nn.functional.interpolate(x, size=(spec.size, spec.size), mode="area")
    return x


@torch.inference_mode()
def predict_logits(net: nn.Module, squares: np.ndarray, spec: InputSpec, batch: int = 32,
                   device: str | None = None) -> np.ndarray:
    """Logits ``(N, L)`` for uint8 squares (resized with area interpolation when not ``spec.size``)."""
    dev = pick_device(device)
    net = net.eval().to(dev)
    outs = [net(spec.normalize(_to_input(squares[i:i + batch], spec, dev))).float().cpu().numpy()
            for i in range(0, len(squares), batch)]
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def operating_points(y: np.ndarray, logits: np.ndarray) -> list[float]:
    """Per-label probability thresholds at Youden's J (``nan`` when a label has one class only).

    These become the calibration's ``op_threshs``: ``op_norm`` maps each to 0.5.
    """
    probs = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
    # a saturated model can put the threshold at exactly 0 or 1, where op_norm divides by zero
    return [float(np.clip(youden_threshold(y[:, j], probs[:, j]), 1e-6, 1 - 1e-6)) for j in range(y.shape[1])]


def _param_groups(net: PooledLinearNet, cfg: TrainConfig, pretrained: bool) -> list[dict[str, Any]]:
    head = list(net.classifier.parameters())
    body = [p for n, p in net.named_parameters() if not n.startswith("classifier.")]
    if cfg.freeze_backbone:
        for p in body:
            p.requires_grad_(False)
        return [{"params": head, "lr": cfg.lr}]
    scale = cfg.backbone_lr_scale if pretrained else 1.0
    return [{"params": body, "lr": cfg.lr * scale}, {"params": head, "lr": cfg.lr}]


def _set_train(net: nn.Module, cfg: TrainConfig) -> None:
    net.train()
    if cfg.freeze_bn or cfg.freeze_backbone:
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


def train(
    net: PooledLinearNet,
    spec: InputSpec,
    train_squares: np.ndarray,
    train_y: np.ndarray,
    val_squares: np.ndarray,
    val_y: np.ndarray,
    cfg: TrainConfig,
    *,
    pretrained: bool = False,
    checkpoint: Path | None = None,
    checkpoint_meta: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train ``net`` on uint8 squares; keep the epoch with the best validation mean AUC.

    Stops after ``cfg.epochs``, after ``cfg.patience`` epochs without improvement, or when
    ``cfg.max_minutes`` is spent. Writes ``checkpoint`` (best state, config, history) when given.
    Returns the net loaded with its best state.
    """
    gen = seed_everything(cfg.seed)
    dev = pick_device(cfg.device)
    net = net.to(dev)
    train_y = np.asarray(train_y, dtype=np.float32)
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weights(train_y, cfg.pos_weight_cap).to(dev))
    opt = torch.optim.AdamW(_param_groups(net, cfg, pretrained), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=cfg.plateau_factor,
                                                       patience=cfg.plateau_patience, min_lr=cfg.min_lr)
    x_all = torch.from_numpy(np.ascontiguousarray(train_squares))
    y_all = torch.from_numpy(train_y)
    best_state = copy.deepcopy(net.state_dict())
    best_auc, best_epoch, history, bad = -1.0, 0, [], 0
    start = time.perf_counter()
    stopped = "epochs"
    if cfg.eval_initial:  # warm starts: training must beat the starting point to be kept
        best_auc = mean_column_auc(val_y, predict_logits(net, val_squares, spec, device=str(dev)))
        history.append({"epoch": 0, "loss": float("nan"), "val_auc": best_auc, "lr": cfg.lr, "seconds": 0.0})
        log(f"epoch 0 (initial): val mean AUC {best_auc:.4f}")
    for epoch in range(1, cfg.epochs + 1):
        _set_train(net, cfg)
        order = torch.randperm(len(x_all), generator=gen)
        batches = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        if len(batches) > 1 and len(batches[-1]) < 2:  # BatchNorm cannot train on one image
            batches = batches[:-1]
        iterator: Any = batches
        if cfg.progress:
            from tqdm import tqdm

            iterator = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", leave=False)
        total, seen = 0.0, 0
        for idx in iterator:
            x = cfg.augment(_to_input(x_all[idx], spec, dev), gen)
            logits = net(spec.normalize(x))
            loss = criterion(logits, y_all[idx].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        val_logits = predict_logits(net, val_squares, spec, device=str(dev))
        val_auc = mean_column_auc(val_y, val_logits)
        sched.step(val_auc if not math.isnan(val_auc) else -1.0)
        lr_now = max(g["lr"] for g in opt.param_groups)
        history.append({"epoch": epoch, "loss": total / max(1, seen), "val_auc": val_auc, "lr": lr_now,
                        "seconds": time.perf_counter() - start})
        log(f"epoch {epoch}: loss {total / max(1, seen):.4f}  val mean AUC {val_auc:.4f}  lr {lr_now:.2e}")
        if val_auc > best_auc:
            best_auc, best_epoch, bad = val_auc, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
            if checkpoint is not None:
                save_checkpoint(checkpoint, net, cfg, history, checkpoint_meta or {})
        else:
            bad += 1
            if bad >= cfg.patience:
                stopped = "early-stopping"
                break
        if cfg.max_minutes is not None and (time.perf_counter() - start) / 60 > cfg.max_minutes:
            stopped = "time-budget"
            break
    net.load_state_dict(best_state)
    if checkpoint is not None:  # best state with the whole history (wall time, epochs run)
        save_checkpoint(checkpoint, net, cfg, history, {**(checkpoint_meta or {}), "best_epoch": best_epoch,
                                                        "stopped": stopped})
    return TrainResult(net.eval(), history, best_epoch, best_auc, time.perf_counter() - start, stopped)


def save_checkpoint(path: Path, net: nn.Module, cfg: TrainConfig, history: list[dict[str, float]],
                    meta: dict[str, Any]) -> None:
    """``{state_dict, config, history, **meta}`` with ``torch.save`` (atomic rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "config": json.loads(json.dumps(cfg.to_dict(), default=str)), "history": history, **meta}, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain data only)."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)
