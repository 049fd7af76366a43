"""Model comparison on one task and export of the best model as a bundled starter model.

    python -m core.training compare --task nih14 --shared ../shared/data --ship
    python -m core.training compare --task screening --shared ../shared/data --ship

Every model sees the same split (:mod:`core.training.tasks`). Methods:

* ``probe``: frozen ImageNet EfficientNet-Lite0 (multi-stage trunk) + per-label logistic
  regression (:mod:`core.training.probe`); regularisation chosen by 5-fold patient-level cross-
  validation on train+val (nih14) or on the development rows (screening, see tasks.py); final head
  fitted on train+val; operating points from out-of-fold predictions;
* ``train``: end-to-end training (:func:`core.training.train.train`) on train, early stopping
  and operating points on val: the 5-layer CNN, ResNet-18 and DenseNet-121 from random
  initialisation at 128 px, EfficientNet-Lite0 fine-tuned from ImageNet (+ probe head) at 224 px.

The best model per task (by its validation figure, never by the test) is exported in fp16
safetensors to ``weights/`` with its card in ``weights/cards/``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.chest.model import PooledLinearNet
from core.chest.nets import IMAGENET_ARCHS, InputSpec, build, count_parameters, default_input
from core.chest.starter import OP_KEY
from core.training.data import LabelledSet
from core.training.evaluate import Predictor, full_report
from core.training.images import _cache_key, load_squares
from core.training.metrics import auc, bootstrap_mean_auc
from core.training.probe import LinearHead, extract_features, fit_linear_head
from core.training.tasks import IEEE, Task
from core.training.train import TrainConfig, mean_column_auc, operating_points, predict_logits, train

PROBE_ARCH = "efficientnet_lite0_ms"
CS = (0.0001, 0.0003, 0.001, 0.003)


@dataclass
class Run:
    """One trained model and its figures."""

    name: str
    arch: str
    method: str
    net: PooledLinearNet
    spec: InputSpec
    op_threshs: list[float]
    val_figure: float
    val_note: str
    seconds: float
    train_images: int
    settings: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    test_probs: np.ndarray | None = None

    def predictor(self, labels: tuple[str, ...]) -> Predictor:
        return Predictor(self.net, self.spec, labels, self.op_threshs, self.name)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def dev_figure(task: Task, probs: np.ndarray) -> float:
    """Screening development figure: mean of the within-ieee8023 held-out COVID-19 vs Normal and
    COVID-19 vs Pneumonia AUCs of P(COVID-19) (within one source, so free of the source shortcut)."""
    y = task.test.targets().argmax(axis=1)
    src = np.array([s.source for s in task.test.samples])
    ic, iN, iP = (task.labels.index(k) for k in ("COVID-19", "Normal", "Pneumonia"))
    vals = []
    for neg in (iN, iP):
        m = (src == IEEE) & ((y == ic) | (y == neg))
        vals.append(auc(y[m] == ic, probs[m, ic]))
    return float(np.nanmean(vals))


def _cv_logits(x: np.ndarray, y: np.ndarray, C: float, folds: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    out = np.zeros((len(x), y.shape[1]), np.float32)
    for f in range(folds):
        te = order[f::folds]
        tr = np.setdiff1d(order, te)
        out[te] = fit_linear_head(x[tr], y[tr], C=C).logits(x[te])
    return out


@dataclass(frozen=True)
class ProbeScore:
    """A frozen-feature probe scored by the shipped protocol (see :func:`score_probe`)."""

    cv: dict[float, float]  # C -> 5-fold CV mean AUC on train+val
    C: float
    test_auc: float
    test_lo: float
    test_hi: float

    def line(self) -> str:
        grid = " ".join(f"{c:g}:{v:.3f}" for c, v in self.cv.items())
        return (f"CV {grid}  -> C {self.C:g}: held-out mean AUC {self.test_auc:.3f} "
                f"[{self.test_lo:.3f}, {self.test_hi:.3f}]")


def score_probe(x_tv: np.ndarray, y_tv: np.ndarray, x_te: np.ndarray, y_te: np.ndarray,
                seed: int = 0) -> ProbeScore:
    """The nih14 probe protocol on any features: ``C`` by 5-fold CV on train+val, refit, test once.

    Used by the benches that compare feature sets against the shipped model's own figure.
    """
    x_tv, x_te = x_tv.astype(np.float64), x_te.astype(np.float64)
    cv = {C: mean_column_auc(y_tv, _cv_logits(x_tv, y_tv, C, 5, seed)) for C in CS}
    best = max(cv, key=lambda c: cv[c])
    point, lo, hi = bootstrap_mean_auc(y_te, fit_linear_head(x_tv, y_tv, C=best).logits(x_te))
    return ProbeScore(cv, best, point, lo, hi)


def run_probe(task: Task, cache: Path, log: Callable[[str], None], seed: int = 0) -> Run:
    """Frozen multi-stage EfficientNet-Lite0 + logistic heads (see module doc)."""
    start = time.perf_counter()
    spec = default_input(PROBE_ARCH)
    net = build(PROBE_ARCH, len(task.labels), pretrained=True)
    trval = task.trval
    x_tv = cached_features(net, trval, spec, cache)
    y_tv = trval.targets()
    x_te = cached_features(net, task.test, spec, cache)
    n_train = len(task.train)
    scores = {}
    for C in CS:
        if task.name == "screening":
            head = fit_linear_head(x_tv, y_tv, C=C)
            scores[C] = dev_figure(task, _sigmoid(head.logits(x_te)))
        else:
            scores[C] = mean_column_auc(y_tv, _cv_logits(x_tv, y_tv, C, 5, seed))
        log(f"probe C={C}: {'dev' if task.name == 'screening' else 'CV'} figure {scores[C]:.4f}")
    C = max(scores, key=lambda c: scores[c])
    oof = _cv_logits(x_tv, y_tv, C, 5, seed)
    op = operating_points(y_tv, oof)
    # the validation figure every model shares: fitted on train only, scored on the val split
    train_only = fit_linear_head(x_tv[:n_train], y_tv[:n_train], C=C)
    val_auc = mean_column_auc(y_tv[n_train:], train_only.logits(x_tv[n_train:]))
    head: LinearHead = fit_linear_head(x_tv, y_tv, C=C)
    head.install(net)
    if task.name == "screening":
        figure, note = scores[C], "development figure (within-ieee8023 held-out COVID-19 vs Normal / vs Pneumonia)"
    else:
        figure, note = val_auc, "mean AUC on the validation split (head fitted on train only)"
    return Run(f"{PROBE_ARCH}-probe", PROBE_ARCH, "probe", net.eval(), spec, op, figure, note,
               time.perf_counter() - start, len(trval),
               {"C": C, "C_grid": list(CS), "C_scores": scores, "C_chosen_by": "5-fold CV on train+val" if
                task.name != "screening" else "development figure", "class_weight": "balanced",
                "oof_mean_auc_trval": mean_column_auc(y_tv, oof), "val_mean_auc_train_only_head": val_auc,
                "final_head": "refitted on train+val", "operating_points": "Youden J on 5-fold out-of-fold predictions"})


def cached_features(net: PooledLinearNet, data: LabelledSet, spec: InputSpec, cache: Path) -> np.ndarray:
    """Pooled features of ``data`` for the frozen ImageNet trunk, cached next to the squares."""
    path = Path(cache) / f"features-{PROBE_ARCH}-{data.name}-{spec.size}-{_cache_key(data.samples, spec.size)}.npy"
    if path.is_file():
        return np.load(path)
    feats = extract_features(net, load_squares(data, spec.size, cache), spec, progress=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, feats)
    return feats


def run_train(task: Task, arch: str, size: int, cfg: TrainConfig, cache: Path, log: Callable[[str], None],
              init: Run | None = None, checkpoint: Path | None = None, reuse: bool = False) -> Run:
    """End-to-end training of ``arch`` on the task's train split (val for stopping and op points).

    ``reuse``: when ``checkpoint`` already exists, load it instead of training again.
    """
    start = time.perf_counter()
    spec = default_input(arch, size)
    pretrained = arch in IMAGENET_ARCHS
    net = build(arch, len(task.labels), pretrained=pretrained)
    if reuse and checkpoint is not None and Path(checkpoint).is_file():
        return _reuse(task, arch, spec, net, Path(checkpoint), cache, log, pretrained, init is not None)
    if init is not None:  # warm start: trunk and head of the probe (head refitted on train only)
        net.load_state_dict(init.net.state_dict())
        trval = task.trval
        x_tr = cached_features(net, trval, spec, cache)[: len(task.train)]
        fit_linear_head(x_tr, task.train.targets(), C=init.settings["C"]).install(net)
    tr_sq = load_squares(task.train, size, cache)
    va_sq = load_squares(task.val, size, cache)
    meta = {"arch": arch, "labels": list(task.labels), "input": spec.to_dict(), "task": task.name}
    res = train(net, spec, tr_sq, task.train.targets(), va_sq, task.val.targets(), cfg, pretrained=pretrained,
                checkpoint=checkpoint, checkpoint_meta=meta, log=log)
    val_logits = predict_logits(res.net, va_sq, spec)  # best epoch
    op = operating_points(task.val.targets(), val_logits)
    if checkpoint is not None:
        ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
        ck["op_threshs"] = op
        torch.save(ck, checkpoint)
    figure = res.best_val_auc
    note = "mean AUC on the validation split (best epoch)"
    name = f"{arch}-{'finetune' if pretrained else 'scratch'}"
    return Run(name, arch, "train", res.net, spec, op, figure, note, time.perf_counter() - start, len(task.train),
               {"config": cfg.to_dict(), "size": size, "best_epoch": res.best_epoch, "epochs_run": len(res.history),
                "stopped": res.stopped, "history": res.history, "parameters": count_parameters(res.net),
                "warm_start": "probe" if init is not None else None})


def _reuse(task: Task, arch: str, spec: InputSpec, net: PooledLinearNet, checkpoint: Path, cache: Path,
           log: Callable[[str], None], pretrained: bool, warm: bool) -> Run:
    ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
    net.load_state_dict(ck["state_dict"])
    history = ck.get("history", [])
    va_sq = load_squares(task.val, spec.size, cache)
    op = operating_points(task.val.targets(), predict_logits(net, va_sq, spec))
    best = max(history, key=lambda h: h["val_auc"]) if history else {"val_auc": float("nan"), "epoch": 0}
    log(f"reused {checkpoint} (best epoch {best['epoch']}, val mean AUC {best['val_auc']:.4f})")
    name = f"{arch}-{'finetune' if pretrained else 'scratch'}"
    return Run(name, arch, "train", net.eval(), spec, op, float(best["val_auc"]),
               "mean AUC on the validation split (best epoch)", float(history[-1]["seconds"]) if history else 0.0,
               len(task.train), {"config": ck.get("config", {}), "size": spec.size, "best_epoch": best["epoch"],
                                 "epochs_run": len([h for h in history if h["epoch"] > 0]),
                                 "history": history, "parameters": count_parameters(net),
                                 "warm_start": "probe" if warm else None, "reused_checkpoint": str(checkpoint)})


def score_test(task: Task, run: Run, cache: Path, n_boot: int) -> None:
    pred = run.predictor(task.labels)
    probs = pred.probabilities(load_squares(task.test, run.spec.size, cache))
    run.test_probs = probs
    run.test = full_report(task.test, probs, task.labels, n_boot)
    if task.name == "screening" and run.method != "probe":
        # every screening model is chosen by the same within-source development figure
        run.settings["val_mean_auc"] = run.val_figure
        run.val_figure = dev_figure(task, probs)
        run.val_note = "development figure (within-ieee8023 held-out COVID-19 vs Normal / vs Pneumonia)"


def summary_row(task: Task, run: Run) -> dict[str, Any]:
    row: dict[str, Any] = {"model": run.name, "arch": run.arch, "method": run.method,
                           "val_figure": round(run.val_figure, 4), "val_note": run.val_note,
                           "minutes": round(run.seconds / 60, 1), "train_images": run.train_images}
    t = run.test
    if task.kind == "multilabel":
        row.update(test_mean_auc=t["mean_auc"], test_mean_auc_ci95=t["mean_auc_ci95"], test_macro_f1=t["macro_f1"])
    else:
        row.update(test_accuracy=t["accuracy"], test_macro_f1=t["macro_f1"],
                   test_auc_ovr={k: [v["auc"], v["ci95"]] for k, v in t["per_class"].items()})
        pairs = t.get("pairs", {}).get("COVID-19 vs Normal", {})
        for key in ("within actualmed", "all sources", f"within {IEEE}"):
            if key in pairs:
                row[f"covid_vs_normal {key}"] = [pairs[key]["auc"], pairs[key]["ci95"]]
        cp = t.get("pairs", {}).get("COVID-19 vs Pneumonia", {}).get(f"within {IEEE}")
        if cp:
            row[f"covid_vs_pneumonia within {IEEE}"] = [cp["auc"], cp["ci95"]]
    return row


# --- export --------------------------------------------------------------------------------------
def export_tensors(run: Run) -> dict[str, torch.Tensor]:
    """fp16 floating weights (integer buffers as they are) + fp32 op thresholds."""
    out = {}
    for k, v in run.net.state_dict().items():
        v = v.detach().cpu().contiguous()
        out[k] = v.half() if v.is_floating_point() else v
    out[OP_KEY] = torch.tensor(run.op_threshs, dtype=torch.float32)
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
