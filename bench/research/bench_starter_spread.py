"""Why most findings read "uncertain" with the NIH starter model, and what Platt rescaling would change.

The shipped probe (C = 1e-4) gives logits that vary little between films; after the calibration
that maps each finding's operating point to 0.5, most scores fall inside the uncertain band
(0.5 +- 0.10 at the balanced preset). This script counts, on the 104 held-out patients, how many
findings per film read positive / uncertain / negative with the shipped model, and with a
per-finding Platt rescaling ``sigmoid(a * logit + b)`` fitted on the same 5-fold out-of-fold
predictions that set the operating points (a monotone change per finding: AUCs and heatmaps stay).
It also prints each finding's fitted slope ``a``: a slope <= 0 means the out-of-fold predictions
carry no usable signal for that finding.

Needs ``../shared/data``; says why and exits 0 without it.

    python -m bench research spread
"""

from __future__ import annotations

import sys

import numpy as np


def _statuses(scores: np.ndarray, op: float = 0.5, band: float = 0.10) -> tuple[float, float, float]:
    """Mean (positive, uncertain, negative) findings per film."""
    pos = (scores >= op + band).sum(1)
    neg = (scores <= op - band).sum(1)
    return float(pos.mean()), float((scores.shape[1] - pos - neg).mean()), float(neg.mean())


def main() -> int:
    import torch
    from sklearn.linear_model import LogisticRegression

    from bench import shared_nih_task
    from core.chest.model import Calibration
    from core.chest.nets import build, default_input
    from core.chest.reading import BAND, PRESETS
    from core.chest.starter import STARTER_MULTILABEL, load_starter
    from core.settings import get_settings
    from core.training.experiment import PROBE_ARCH, _cv_logits, cached_features

    task = shared_nih_task()
    if task is None:
        return 0
    model = load_starter(STARTER_MULTILABEL)
    C = float(model.card.metrics["training"]["settings"]["C"])
    cache = get_settings().weights_dir / "training-cache"
    trval = task.trval
    spec = default_input(PROBE_ARCH)
    trunk = build(PROBE_ARCH, len(task.labels), pretrained=True)
    x_tv, x_te = cached_features(trunk, trval, spec, cache), cached_features(trunk, task.test, spec, cache)
    y_tv = trval.targets()
    linear = model.net.classifier
    w, b = linear.weight.detach().double().numpy(), linear.bias.detach().double().numpy()
    logits = x_te.astype(np.float64) @ w.T + b
    op = model.calibration.op_threshs.double().numpy()
    oof = _cv_logits(x_tv.astype(np.float64), y_tv, C, 5, 0).astype(np.float64)
    slope, icpt = np.zeros(len(task.labels)), np.zeros(len(task.labels))
    for j in range(len(task.labels)):
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(oof[:, j:j + 1], y_tv[:, j].astype(int))
        slope[j], icpt[j] = fit.coef_[0, 0], fit.intercept_[0]
    # the page's own calibration: the shipped thresholds, and the same thresholds moved through the rescaling
    platt_op = 1 / (1 + np.exp(-(slope * np.log(op / (1 - op)) + icpt)))
    with torch.no_grad():
        shipped = model.calibration(torch.from_numpy(logits).float()).double().numpy()
        platt = Calibration(platt_op.tolist())(torch.from_numpy(slope * logits + icpt).float()).double().numpy()
    balanced = PRESETS["balanced"]
    print(f"NIH starter, {len(task.test)} held-out films, balanced preset (0.5 +- {BAND:.2f}); per film: "
          "positive / uncertain / negative")
    for name, scores in (("shipped", shipped), ("Platt-rescaled", platt)):
        p, u, n = _statuses(scores, balanced, BAND)
        print(f"{name:15s} {p:5.2f} / {u:5.2f} / {n:5.2f}   score spread (mean SD per finding) {scores.std(0).mean():.3f}")
    print("Platt slope per finding (<= 0: no out-of-fold signal): " + ", ".join(
        f"{label} {a:.1f}" for label, a in zip(task.labels, slope, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
