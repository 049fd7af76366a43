"""Evaluate a chest model on any labelled folder or CSV: figures, JSON and PNG plots.

    python -m core.training evaluate --model starter-nih14-efficientnet-lite0 --data ../shared/data/cxr/nih14
    python -m core.training evaluate --model runs/x/best.pt --data my_site/labels.csv --out eval/
    python -m core.training evaluate --model starter-screening-efficientnet-lite0 --data covid --shared ../shared/data

The model's labels are matched to the data's labels by name (case, spaces and underscores
ignored); only shared labels are scored. Multi-class data whose labels include COVID-19 and
Normal also get the COVID-19 vs Normal (and vs Pneumonia) AUC overall and within each source,
because across sources a model can score the hospital instead of the disease.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.chest.model import Calibration, PooledLinearNet
from core.chest.nets import InputSpec, build
from core.chest.starter import load_starter
from core.training.data import LabelledSet
from core.training.images import load_squares
from core.training.metrics import multiclass_report, multilabel_report, pair_auc
from core.training.train import load_checkpoint, predict_logits


def _norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", label.lower())


class Predictor:
    """A network + input spec + calibration that scores uint8 squares in batches."""

    def __init__(self, net: PooledLinearNet, spec: InputSpec, labels: Sequence[str], op_threshs: Sequence[float] | None,
                 name: str) -> None:
        self.net = net.eval()
        self.spec = spec
        self.labels = tuple(labels)
        self.calibration = Calibration(list(op_threshs) if op_threshs is not None else None).eval()
        self.name = name

    @classmethod
    def load(cls, model: str) -> Predictor:
        """A starter card name, a ``.safetensors`` starter file with its card, or a training checkpoint.

        Raises:
            MissingModelError: a named starter model is not installed or fails its checksum.
            FileNotFoundError: no such checkpoint.
        """
        path = Path(model)
        if path.suffix == ".pt" and path.is_file():
            ck = load_checkpoint(path)
            net = build(ck["arch"], len(ck["labels"]), pretrained=False)
            net.load_state_dict(ck["state_dict"])
            return cls(net, InputSpec.from_dict(ck["input"]), ck["labels"], ck.get("op_threshs"), path.stem)
        if path.suffix in (".pt", ".safetensors") and not path.is_file():
            raise FileNotFoundError(path)
        sm = load_starter(model)
        return cls(sm.net, sm.spec, sm.labels, sm.calibration.op_threshs.tolist(), sm.name)

    def probabilities(self, squares: np.ndarray, device: str | None = None) -> np.ndarray:
        """Calibrated probabilities ``(N, L)`` of uint8 squares of size ``spec.size``."""
        logits = predict_logits(self.net, squares, self.spec, device=device)
        with torch.inference_mode():
            return self.calibration(torch.from_numpy(logits)).numpy()


def match_labels(model_labels: Sequence[str], data_labels: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(model_index, data_index, label)`` for labels both sides have (names compared loosely)."""
    data_by = {_norm(lab): j for j, lab in enumerate(data_labels)}
    return [(i, data_by[_norm(lab)], lab) for i, lab in enumerate(model_labels) if _norm(lab) in data_by]


def full_report(data: LabelledSet, probs: np.ndarray, labels: Sequence[str], n_boot: int = 1000,
                seed: int = 0) -> dict[str, Any]:
    """The task's report on ``data`` (targets already in ``labels`` order), plus per-source pairs."""
    y = data.targets()
    if data.kind == "multilabel":
        rep = multilabel_report(y, probs, labels, n_boot, seed)
    else:
        rep = multiclass_report(y, probs, labels, n_boot, seed)
        rep["pairs"] = pair_report(data, y, probs, labels, n_boot, seed)
    sources = sorted({s.source for s in data.samples})
    rep["sources"] = {src: int(sum(s.source == src for s in data.samples)) for src in sources}
    return rep


def pair_report(data: LabelledSet, y: np.ndarray, probs: np.ndarray, labels: Sequence[str], n_boot: int = 1000,
                seed: int = 0) -> dict[str, Any]:
    """COVID-19 vs Normal / vs Pneumonia AUCs, across all sources and within each source.

    A pair needs at least 2 cases of each class to be reported.
    """
    out: dict[str, Any] = {}
    pairs = [(p, n) for p, n in (("COVID-19", "Normal"), ("COVID-19", "Pneumonia"), ("Pneumonia", "Normal"))
             if p in labels and n in labels]
    if not pairs:
        return out
    src = np.array([s.source for s in data.samples])
    true = y.argmax(axis=1)
    for pos, neg in pairs:
        ip, ineg = labels.index(pos), labels.index(neg)
        groups = {"all sources": np.ones(len(src), bool)} | {f"within {s}": src == s for s in sorted(set(src))}
        entry = {}
        for gname, mask in groups.items():
            if (true[mask] == ip).sum() >= 2 and (true[mask] == ineg).sum() >= 2:
                entry[gname] = pair_auc(y[mask], probs[mask], list(labels), pos, neg, n_boot, seed)
        if entry:
            out[f"{pos} vs {neg}"] = entry
    return out


def write_outputs(out_dir: Path, report: dict[str, Any], data: LabelledSet, probs: np.ndarray,
                  labels: Sequence[str], title: str) -> dict[str, str]:
    """``report.json``, ``roc.png``, ``confusion*.png`` and ``predictions.csv`` in ``out_dir``."""
    from core.training.plots import confusion_png, roc_png

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    y = data.targets()
    files = {"roc": str(roc_png(out_dir / "roc.png", y, probs, labels, f"ROC - {title}"))}
    if data.kind == "multiclass":
        files["confusion"] = str(confusion_png(out_dir / "confusion.png", report["confusion"], labels, title))
    else:
        grid = [[0, 0], [0, 0]]
        for lab in labels:
            c = report["per_label"][lab]["confusion"]
            grid = [[grid[r][k] + c[r][k] for k in range(2)] for r in range(2)]
        files["confusion"] = str(confusion_png(out_dir / "confusion.png", grid, ["negative", "positive"],
                                               f"{title} (all labels pooled, decision at 0.5)"))
    with (out_dir / "predictions.csv").open("w", encoding="utf-8") as fh:
        fh.write("key,patient,source," + ",".join(f"true_{lab}" for lab in labels) + "," +
                 ",".join(f"prob_{lab}" for lab in labels) + "\n")
        for s, t, p in zip(data.samples, y, probs, strict=True):
            fh.write(f"{s.key},{s.patient},{s.source}," + ",".join(str(int(v)) for v in t) + "," +
                     ",".join(f"{v:.5f}" for v in p) + "\n")
    files["predictions"] = str(out_dir / "predictions.csv")
    report = {**report, "files": files}
    (out_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    files["report"] = str(out_dir / "report.json")
    return files


def evaluate(model: str | Predictor, data: LabelledSet, out_dir: Path | None = None, cache_dir: Path | None = None,
             n_boot: int = 1000, device: str | None = None) -> dict[str, Any]:
    """Score ``data`` with ``model`` and build (and optionally write) the full report.

    Raises:
        ValueError: the model and the data share no label.
    """
    pred = model if isinstance(model, Predictor) else Predictor.load(model)
    pairs = match_labels(pred.labels, data.labels)
    if not pairs:
        raise ValueError(f"model labels {pred.labels} and data labels {data.labels} have nothing in common")
    squares = load_squares(data, pred.spec.size, cache_dir)
    probs_all = pred.probabilities(squares, device)
    mi = [m for m, _, _ in pairs]
    di = [d for _, d, _ in pairs]
    labels = [lab for _, _, lab in pairs]
    sub = LabelledSet(data.name, tuple(labels), data.kind, tuple(
        s.__class__(**{**s.__dict__, "target": tuple(s.target[j] for j in di)}) for s in data.samples))
    if data.kind == "multiclass":
        keep = [i for i, s in enumerate(sub.samples) if sum(s.target) > 0]  # classes the model lacks
        sub = sub.subset(keep)
        probs = probs_all[keep][:, mi]
    else:
        probs = probs_all[:, mi]
    report = full_report(sub, probs, labels, n_boot)
    report = {"model": pred.name, "data": data.name, "images": len(sub), "patients": len(sub.patients()),
              "unmatched_model_labels": [lab for lab in pred.labels if lab not in labels], **report}
    if out_dir is not None:
        report["files"] = write_outputs(out_dir, report, sub, probs, labels, f"{pred.name} on {data.name}")
    return report
