"""Within-source COVID-19 vs Normal by patient-grouped cross-validation (an experiment, never shipped).

The shipped screening model may only be trained on permissively licensed images, which puts the
COVID-19 and Normal training images in different sources (ieee8023 CC BY rows vs NIH), so it can
learn the source instead of the disease (DeGrave et al. 2021). This experiment answers the
question the shortcut hides: *how well can COVID-19 be told from Normal within one hospital?*
Actualmed has both classes from one site. A frozen ImageNet trunk (multi-stage EfficientNet-Lite0)
gives features; a logistic regression is trained and scored by stratified, patient-grouped k-fold
cross-validation on that source alone, repeated over seeds. The Actualmed licence allows research
use, not redistribution of trained weights: nothing from this run is written to ``weights/``.

    python -m core.training within --source actualmed
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.chest.nets import build, default_input
from core.training.data import LabelledSet, load_covid
from core.training.experiment import PROBE_ARCH, cached_features
from core.training.metrics import auc, bootstrap_auc


@dataclass(frozen=True)
class WithinResult:
    source: str
    n_covid: int
    n_normal: int
    patients: int
    folds: int
    repeats: int
    auc: float
    ci95: tuple[float, float]
    fold_aucs: tuple[float, ...]
    C: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def source_subset(data: LabelledSet, source: str) -> LabelledSet:
    """COVID-19 and Normal images of one ``source`` (substring match, case-insensitive)."""
    labels = data.labels
    keep = [s for s in data.samples if source.lower() in s.source.lower()
            and labels[int(np.argmax(s.target))] in ("COVID-19", "Normal") and max(s.target) > 0]
    return LabelledSet(f"{data.name}-{source}", data.labels, data.kind, tuple(keep))


def grouped_cv_scores(x: np.ndarray, y: np.ndarray, groups: np.ndarray, C: float, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold decision scores of a standardised, balanced logistic regression; patients
    never straddle folds. Raises ``ValueError`` when a class has fewer patients than ``folds``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    oof = np.zeros(len(y), dtype=np.float64)
    for tr, va in StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(x, y, groups):
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-6
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit((x[tr] - mu) / sd, y[tr])
        oof[va] = clf.decision_function((x[va] - mu) / sd)
    return oof


def run_within(shared: Path, cache: Path, source: str = "actualmed", folds: int = 5, repeats: int = 5,
               C: float = 1e-3, n_boot: int = 1000, seed: int = 0) -> WithinResult:
    """Cross-validated COVID-19 vs Normal AUC within ``source`` (see module doc).

    Raises:
        FileNotFoundError: no shared data. ValueError: the source lacks one of the classes.
    """
    data = source_subset(load_covid(shared), source)
    y = np.array([int(data.labels[int(np.argmax(s.target))] == "COVID-19") for s in data.samples])
    if y.min() == y.max():
        raise ValueError(f"{source}: needs both COVID-19 and Normal images")
    groups = np.array([s.patient for s in data.samples])
    net = build(PROBE_ARCH, 3, pretrained=True)
    x = cached_features(net, data, default_input(PROBE_ARCH), cache)
    fold_aucs, all_scores = [], np.zeros(len(y))
    for r in range(repeats):
        oof = grouped_cv_scores(x, y, groups, C, folds, seed + r)
        fold_aucs.append(auc(y, oof))
        all_scores += oof / repeats
    _, lo, hi = bootstrap_auc(y, all_scores, n=n_boot, seed=seed)
    return WithinResult(source, int(y.sum()), int((1 - y).sum()), len(set(groups)), folds, repeats,
                        float(np.mean(fold_aucs)), (lo, hi), tuple(round(a, 4) for a in fold_aucs), C)
