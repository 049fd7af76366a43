"""Frozen features + logistic-regression heads ("linear probe"), folded back into the network.

The pooled features of a frozen pretrained trunk are standardised and one L2-regularised
logistic regression is fitted per label (one-vs-rest for multi-class tasks, balanced class
weights). Standardisation is linear, so ``w' = w / sigma``, ``b' = b - sum(w * mu / sigma)`` puts
the whole head into the network's own ``nn.Linear``: the result is an ordinary
:class:`~core.chest.model.PooledLinearNet` whose CAMs stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.chest.model import PooledLinearNet
from core.chest.nets import InputSpec
from core.training.metrics import auc


def pick_device(device: str | None = None) -> torch.device:
    """``device`` if given, else CUDA when present, else CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def extract_features(net: PooledLinearNet, squares: np.ndarray, spec: InputSpec, batch: int = 32,
                     device: str | None = None, progress: bool = False) -> np.ndarray:
    """Pooled features ``(N, K)`` of uint8 squares ``(N, S, S)`` (``S`` must equal ``spec.size``)."""
    dev = pick_device(device)
    net = net.eval().to(dev)
    out = []
    starts = range(0, len(squares), batch)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="features", unit="batch")
    for i in starts:
        x = torch.from_numpy(squares[i:i + batch]).to(dev).float().div_(255.0)[:, None]
        out.append(net.pool(net.feature_map(spec.normalize(x))).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, net.classifier.in_features), np.float32)


@dataclass(frozen=True)
class LinearHead:
    """A fitted head in raw-feature space: ``logits = features @ weight.T + bias``."""

    weight: np.ndarray  # (L, K)
    bias: np.ndarray  # (L,)
    C: float
    val_mean_auc: float | None

    def logits(self, feats: np.ndarray) -> np.ndarray:
        return feats @ self.weight.T + self.bias

    def install(self, net: PooledLinearNet) -> PooledLinearNet:
        """Copy the head into ``net.classifier`` (shapes must match). Returns ``net``."""
        with torch.no_grad():
            net.classifier.weight.copy_(torch.from_numpy(self.weight).float())
            net.classifier.bias.copy_(torch.from_numpy(self.bias).float())
        return net


def _fit_one(x: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():  # no positives (or no negatives): constant logit
        p = np.clip(y.mean(), 1e-3, 1 - 1e-3)
        return np.zeros(x.shape[1]), float(np.log(p / (1 - p)))
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    clf.fit(x, y)
    return clf.coef_[0], float(clf.intercept_[0])


def fit_linear_head(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray | None = None,
                    y_val: np.ndarray | None = None, Cs: Sequence[float] = (0.001, 0.003, 0.01, 0.03, 0.1),
                    C: float | None = None) -> LinearHead:
    """Fit one logistic regression per label on standardised features.

    ``C`` (inverse L2 strength) is chosen from ``Cs`` by the mean validation AUC over labels unless
    given. Returns a :class:`LinearHead` in raw-feature space (standardisation folded in).

    Raises:
        ValueError: no ``C`` and no validation data to choose one.
    """
    mu = x_train.mean(axis=0)
    sd = x_train.std(axis=0) + 1e-6
    zt = (x_train - mu) / sd
    y_train = np.asarray(y_train).astype(int)

    def fit(c: float) -> tuple[np.ndarray, np.ndarray]:
        ws, bs = zip(*(_fit_one(zt, y_train[:, j], c) for j in range(y_train.shape[1])), strict=True)
        w = np.stack(ws) / sd
        return w, np.asarray(bs) - w @ mu

    best: tuple[float, float | None, tuple[np.ndarray, np.ndarray]] | None = None
    if C is None:
        if x_val is None or y_val is None:
            raise ValueError("give C or validation data")
        for c in Cs:
            w, b = fit(c)
            logits = x_val @ w.T + b
            aucs = [auc(y_val[:, j], logits[:, j]) for j in range(y_val.shape[1])]
            score = float(np.nanmean(aucs))
            if best is None or score > (best[1] or -1):
                best = (c, score, (w, b))
        assert best is not None
        c, score, (w, b) = best
        return LinearHead(w.astype(np.float32), b.astype(np.float32), c, score)
    w, b = fit(C)
    return LinearHead(w.astype(np.float32), b.astype(np.float32), C, None)


def head_from_linear(linear: nn.Linear) -> LinearHead:
    return LinearHead(linear.weight.detach().cpu().numpy(), linear.bias.detach().cpu().numpy(), float("nan"), None)
