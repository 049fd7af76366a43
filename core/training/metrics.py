"""Evaluation figures: AUC with bootstrap 95% intervals, operating points, confusion matrices,
accuracy, precision, recall and F1.

All functions take plain numpy arrays. Probabilities are the model's calibrated outputs (0.5 is
each label's operating point), so decisions are ``prob >= 0.5`` for multi-label tasks and the
arg-max for multi-class tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC, ``nan`` when ``y`` holds one class only."""
    y = np.asarray(y).astype(int)
    if y.min(initial=1) == y.max(initial=0) or len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, score))


def bootstrap_auc(y: np.ndarray, score: np.ndarray, n: int = 1000, seed: int = 0,
                  alpha: float = 0.05) -> tuple[float, float, float]:
    """``(auc, low, high)``: percentile bootstrap interval over cases, stratified by class.

    Resampling positives and negatives separately keeps both classes in every replicate (so no
    replicate is dropped, which would bias the interval on small sets). ``nan`` for one-class ``y``.
    """
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=float)
    point = auc(y, score)
    if np.isnan(point):
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    reps = np.empty(n)
    for b in range(n):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        reps[b] = _fast_auc(y[idx], score[idx])
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)


def _fast_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC with mid-ranks for ties (equals sklearn's ``roc_auc_score``)."""
    from scipy.stats import rankdata

    r = rankdata(s)
    npos = int(y.sum())
    nneg = len(y) - npos
    return float((r[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def bootstrap_mean_auc(y: np.ndarray, scores: np.ndarray, n: int = 1000, seed: int = 0,
                       alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean AUC over labels (columns with both classes) and its bootstrap interval over cases.

    Replicates where a label loses all its positives or negatives average over the remaining
    labels (a label with one positive in the set is in most but not all replicates).
    """
    y = np.asarray(y).astype(int)
    scores = np.asarray(scores, dtype=float)
    cols = [j for j in range(y.shape[1]) if 0 < y[:, j].sum() < len(y)]
    if not cols:
        return float("nan"), float("nan"), float("nan")
    point = float(np.mean([_fast_auc(y[:, j], scores[:, j]) for j in cols]))
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        vals = [_fast_auc(y[idx, j], scores[idx, j]) for j in cols if 0 < y[idx, j].sum() < len(idx)]
        if vals:
            reps.append(np.mean(vals))
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)


def youden_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """Score threshold maximising Youden's J = sensitivity + specificity - 1 (``nan``: one class).

    Returns the midpoint between the chosen score and the next lower one, so the cut is robust
    to tiny numeric differences (e.g. fp16 weights).
    """
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        return float("nan")
    fpr, tpr, thr = roc_curve(y, score)
    k = int(np.argmax(tpr - fpr))
    hi = float(thr[k])
    if not np.isfinite(hi):
        return float(np.max(score))
    lower = np.asarray(score)[np.asarray(score) < hi]
    return (hi + float(lower.max())) / 2 if lower.size else hi


def binary_counts(y: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    y, pred = np.asarray(y).astype(bool), np.asarray(pred).astype(bool)
    return {"tp": int((y & pred).sum()), "fp": int((~y & pred).sum()),
            "fn": int((y & ~pred).sum()), "tn": int((~y & ~pred).sum())}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 (0 where undefined, as sklearn's ``zero_division=0``)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """``(k, k)`` counts, rows = true class, columns = predicted class."""
    m = np.zeros((k, k), dtype=int)
    for t, p in zip(np.asarray(y_true, int), np.asarray(y_pred, int), strict=True):
        m[t, p] += 1
    return m


def _ci(t: tuple[float, float, float]) -> dict[str, float | None]:
    def clean(v: float) -> float | None:
        return None if np.isnan(v) else round(float(v), 4)

    return {"auc": clean(t[0]), "ci95": [clean(t[1]), clean(t[2])]}


def multilabel_report(y: np.ndarray, probs: np.ndarray, labels: Sequence[str], n_boot: int = 1000,
                      seed: int = 0) -> dict[str, Any]:
    """Per-label AUC (95% CI), prevalence and decisions at 0.5; mean AUC (95% CI), macro-F1.

    Labels with no positives (or no negatives) in ``y`` get ``auc: null`` and are left out of
    the mean.
    """
    y = np.asarray(y).astype(int)
    probs = np.asarray(probs, dtype=float)
    per: dict[str, Any] = {}
    f1s, accs = [], []
    for j, lab in enumerate(labels):
        c = binary_counts(y[:, j], probs[:, j] >= 0.5)
        p, r, f = prf(c["tp"], c["fp"], c["fn"])
        acc = (c["tp"] + c["tn"]) / max(1, len(y))
        entry = {**_ci(bootstrap_auc(y[:, j], probs[:, j], n_boot, seed)), "positives": int(y[:, j].sum()),
                 "n": len(y), "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                 "specificity": round(c["tn"] / (c["tn"] + c["fp"]), 4) if c["tn"] + c["fp"] else None,
                 "accuracy": round(acc, 4), "confusion": [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]}
        per[lab] = entry
        if entry["auc"] is not None:
            f1s.append(f)
            accs.append(acc)
    mean = bootstrap_mean_auc(y, probs, n_boot, seed)
    return {
        "kind": "multilabel", "n": len(y), "labels": list(labels), "per_label": per,
        "mean_auc": _ci(mean)["auc"], "mean_auc_ci95": _ci(mean)["ci95"],
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        "mean_accuracy": round(float(np.mean(accs)), 4) if accs else None,
        "decision": "probability >= 0.5 (calibrated operating point)",
    }


def multiclass_report(y: np.ndarray, probs: np.ndarray, labels: Sequence[str], n_boot: int = 1000,
                      seed: int = 0) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1 and one-vs-rest AUC (95% CI), confusion.

    ``y`` is one-hot ``(N, K)`` (or class indices ``(N,)``); the predicted class is the arg-max of
    the calibrated probabilities.
    """
    probs = np.asarray(probs, dtype=float)
    y = np.asarray(y)
    true = y.argmax(axis=1) if y.ndim == 2 else y.astype(int)
    pred = probs.argmax(axis=1)
    k = len(labels)
    cm = confusion(true, pred, k)
    per: dict[str, Any] = {}
    f1s = []
    for j, lab in enumerate(labels):
        tp, fp, fn = int(cm[j, j]), int(cm[:, j].sum() - cm[j, j]), int(cm[j, :].sum() - cm[j, j])
        p, r, f = prf(tp, fp, fn)
        per[lab] = {**_ci(bootstrap_auc(true == j, probs[:, j], n_boot, seed)), "support": int((true == j).sum()),
                    "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}
        if (true == j).any():
            f1s.append(f)
    return {
        "kind": "multiclass", "n": int(len(true)), "labels": list(labels), "per_class": per,
        "accuracy": round(float((pred == true).mean()), 4) if len(true) else None,
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        "confusion": cm.tolist(), "confusion_axes": "rows = true class, columns = predicted class",
        "decision": "arg-max of the calibrated probabilities",
    }


def pair_auc(y: np.ndarray, probs: np.ndarray, labels: Sequence[str], pos: str, neg: str,
             n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """AUC of ``P(pos)`` separating true ``pos`` cases from true ``neg`` cases (others ignored)."""
    true = np.asarray(y).argmax(axis=1)
    ip, ineg = labels.index(pos), labels.index(neg)
    keep = (true == ip) | (true == ineg)
    res = _ci(bootstrap_auc(true[keep] == ip, probs[keep, ip], n_boot, seed))
    return {**res, "positives": int((true == ip).sum()), "negatives": int((true == ineg).sum()),
            "score": f"P({pos})", "pair": f"{pos} vs {neg}"}
