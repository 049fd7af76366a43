"""ROC curves and confusion matrices as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _plt():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:  # noqa: ANN001
    """Lay out, write ``fig`` to ``path`` (parents created), close it; returns the path."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def roc_png(path: Path, y: np.ndarray, probs: np.ndarray, labels: Sequence[str], title: str) -> Path:
    """One ROC curve per label (labels with a single class are skipped) with AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _plt()
    y = np.asarray(y).astype(int)
    fig, ax = plt.subplots(figsize=(7, 7), dpi=100)
    for j, lab in enumerate(labels):
        if len(np.unique(y[:, j])) < 2:
            continue
        fpr, tpr, _ = roc_curve(y[:, j], probs[:, j])
        ax.plot(fpr, tpr, lw=1.3, label=f"{lab} ({roc_auc_score(y[:, j], probs[:, j]):.2f}, n+={int(y[:, j].sum())})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=7, loc="lower right")
    return _save(plt, fig, path)


def confusion_png(path: Path, matrix: np.ndarray | Sequence[Sequence[int]], labels: Sequence[str], title: str) -> Path:
    """A confusion matrix (rows true, columns predicted) with counts in the cells."""
    plt = _plt()
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.3 * len(labels) + 2.5, 1.2 * len(labels) + 2), dpi=100)
    ax.imshow(m, cmap="Blues")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return _save(plt, fig, path)
