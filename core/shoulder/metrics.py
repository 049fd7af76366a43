"""Evaluation figures with uncertainty: AUC with a bootstrap interval, sensitivity and
specificity with Wilson intervals, and the Youden operating point. Pure NumPy."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


def auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties count half). NaN when one class is absent."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=float)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):  # average ranks over ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    r_pos = r[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def bootstrap_auc_ci(
    y_true: np.ndarray, score: np.ndarray, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC (resamples with both classes present)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=float)
    rng = np.random.default_rng(seed)
    vals = []
    n = len(y)
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        if y[idx].all() or not y[idx].any():
            continue
        vals.append(auc(y[idx], s[idx]))
    if not vals:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def wilson_ci(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (NaN for n = 0)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def youden_threshold(y_true: np.ndarray, score: np.ndarray) -> float:
    """The score threshold maximising sensitivity + specificity - 1 (0.5 when undefined)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=float)
    if y.all() or not y.any():
        return 0.5
    best, best_t = -1.0, 0.5
    for t in np.unique(s):
        pred = s >= t
        sens = (pred & y).sum() / y.sum()
        spec = (~pred & ~y).sum() / (~y).sum()
        if sens + spec - 1 > best:
            best, best_t = sens + spec - 1, float(t)
    return best_t


@dataclass(frozen=True)
class BinaryReport:
    """Figures for one binary endpoint at one threshold."""

    endpoint: str
    n_pos: int
    n_neg: int
    auc: float
    auc_ci: tuple[float, float]
    threshold: float
    sensitivity: float
    sensitivity_ci: tuple[float, float]
    specificity: float
    specificity_ci: tuple[float, float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def binary_report(endpoint: str, y_true: np.ndarray, score: np.ndarray, threshold: float,
                  n_boot: int = 1000) -> BinaryReport:
    """AUC with its bootstrap interval, and sensitivity/specificity at ``threshold``."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=float)
    pred = s >= threshold
    tp, fn = int((pred & y).sum()), int((~pred & y).sum())
    tn, fp = int((~pred & ~y).sum()), int((pred & ~y).sum())
    sens = tp / (tp + fn) if tp + fn else float("nan")
    spec = tn / (tn + fp) if tn + fp else float("nan")
    return BinaryReport(
        endpoint=endpoint, n_pos=int(y.sum()), n_neg=int((~y).sum()), auc=auc(y, s),
        auc_ci=bootstrap_auc_ci(y, s, n_boot=n_boot), threshold=float(threshold),
        sensitivity=sens, sensitivity_ci=wilson_ci(tp, tp + fn),
        specificity=spec, specificity_ci=wilson_ci(tn, tn + fp),
    )
