"""Evaluation figures on inputs whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.training.metrics import (
    _fast_auc,
    auc,
    bootstrap_auc,
    bootstrap_mean_auc,
    confusion,
    multiclass_report,
    multilabel_report,
    pair_auc,
    prf,
    youden_threshold,
)


def test_auc_known_values() -> None:
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(np.array([0, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auc(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert np.isnan(auc(np.array([1, 1, 1]), np.array([0.1, 0.2, 0.3])))
    # one discordant pair out of four: 3/4
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.5, 0.9])) == pytest.approx(0.75)


def test_fast_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.random(200) + 0.3 * y, 1)  # many ties
    assert _fast_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_bootstrap_interval_sanity() -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(100), np.ones(100)].astype(int)
    s = rng.normal(0, 1, 200) + 1.2 * y
    point, low, high = bootstrap_auc(y, s, n=500, seed=0)
    assert low < point < high and 0.7 < point < 0.9
    _, low_small, high_small = bootstrap_auc(y[::5], s[::5], n=500, seed=0)
    assert high_small - low_small > high - low  # fewer cases, wider interval
    assert bootstrap_auc(y, s, n=200, seed=7) == bootstrap_auc(y, s, n=200, seed=7)  # seeded
    perfect = bootstrap_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), n=100)
    assert perfect == (1.0, 1.0, 1.0)
    assert all(np.isnan(v) for v in bootstrap_auc(np.ones(5, int), np.arange(5.0)))


def test_bootstrap_mean_auc_covers_point() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random((150, 3)) < [0.3, 0.2, 0.1]).astype(int)
    s = rng.normal(0, 1, (150, 3)) + y
    point, low, high = bootstrap_mean_auc(y, s, n=300)
    assert low < point < high
    assert point == pytest.approx(np.mean([roc_auc_score(y[:, j], s[:, j]) for j in range(3)]))


def test_youden_threshold_separates_perfectly() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    thr = youden_threshold(y, s)
    assert 0.3 < thr <= 0.7
    assert ((s >= thr) == y.astype(bool)).all()


def test_prf_and_confusion() -> None:
    assert prf(8, 2, 2) == pytest.approx((0.8, 0.8, 0.8))
    assert prf(0, 0, 5) == (0.0, 0.0, 0.0)
    m = confusion(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_multiclass_report_known_confusion() -> None:
    labels = ["Normal", "Pneumonia", "COVID-19"]
    true = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 2, 2, 0, 2]] * 0.8 + 0.05
    rep = multiclass_report(np.eye(3)[true], probs, labels, n_boot=50)
    assert rep["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 3]]
    assert rep["accuracy"] == pytest.approx(6 / 8)
    f1 = [2 / 4, 2 * (2 / 3) * 1 / (2 / 3 + 1), 2 * 1 * 0.75 / 1.75]
    assert rep["macro_f1"] == pytest.approx(np.mean(f1), abs=1e-4)
    assert rep["per_class"]["Pneumonia"]["recall"] == 1.0
    pair = pair_auc(np.eye(3)[true], probs, labels, "COVID-19", "Normal", n_boot=50)
    assert pair["positives"] == 4 and pair["negatives"] == 2


def test_multilabel_report_decides_at_half() -> None:
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    probs = np.array([[0.9, 0.1], [0.2, 0.7], [0.6, 0.4], [0.4, 0.2]])
    rep = multilabel_report(y, probs, ["a", "b"], n_boot=50)
    assert rep["per_label"]["a"]["confusion"] == [[2, 0], [0, 2]]
    assert rep["per_label"]["b"]["confusion"] == [[2, 0], [1, 1]]
    assert rep["per_label"]["a"]["auc"] == 1.0 and rep["mean_auc"] == pytest.approx((1.0 + 1.0) / 2)
