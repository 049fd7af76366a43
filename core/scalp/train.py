"""Train and evaluate the six-head scalp model on the AI Hub "유형별 두피 이미지" layout.

Usage::

    python -m core.scalp.train fit --data /path/to/aihub216 [--epochs 15] [--install]
    python -m core.scalp.train evaluate --data /path/to/aihub216 --weights model.pt \
        [--split val] [--report report.json] [--cam-dir cams/ --cams 12]

``fit`` trains EfficientNet-B0 (ImageNet weights when timm can fetch them, ``--no-pretrained``
otherwise) with one cross-entropy per condition, keeps the epoch with the best mean macro-F1 on
the validation split and writes a weights-only checkpoint. ``--install`` copies it into the
weights folder and pins its checksum in the registry, after which the scalp page uses it.
``evaluate`` reports per-condition accuracy, macro-F1 and confusion matrices, next to the
published reference figures, and can write Grad-CAM overlays per condition.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from core.scalp.dataset import DatasetError, ReadReport, Sample, read_aihub, train_val
from core.scalp.model import (
    CARD_NAME,
    DEFAULT_IMAGE_SIZE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    NUM_GRADES,
    ScalpModel,
    ScalpNet,
    load_checkpoint,
    save_checkpoint,
)
from core.scalp.severity import CONDITIONS

# Reference figures (accuracy on 4 grades) to print next to ours; test sets differ.
REFERENCES = {
    "seed baseline (issue): 87-95 % per condition": (0.87, 0.95),
    "EfficientNet-B0 platform, Appl. Sci. 2024;14:7574: 75-82 %": (0.75, 0.82),
}


def read_rgb(path: Path) -> np.ndarray:
    """float32 RGB in [0, 1]. Raises ValueError when the file cannot be decoded."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


class ScalpImages(Dataset):
    """Images resized to a square, ImageNet-normalised; light geometric/brightness augmentation
    for training (no hue changes: colour carries the redness and sebum signals)."""

    def __init__(self, samples: Sequence[Sample], size: int, train: bool, seed: int = 0) -> None:
        self.samples = list(samples)
        self.size = size
        self.train = train
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.samples[i]
        rgb = cv2.resize(read_rgb(s.image), (self.size, self.size), interpolation=cv2.INTER_AREA)
        if self.train:
            if self.rng.random() < 0.5:
                rgb = rgb[:, ::-1]
            if self.rng.random() < 0.5:
                rgb = rgb[::-1]
            rgb = np.rot90(rgb, int(self.rng.integers(0, 4)))
            rgb = np.clip(rgb * float(self.rng.uniform(0.9, 1.1)), 0.0, 1.0)
        x = ((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.tensor(s.labels, dtype=torch.long)


@dataclass(frozen=True)
class ConditionMetrics:
    condition: str
    n: int
    accuracy: float
    macro_f1: float
    confusion: list[list[int]]  # rows: true grade 0-3, columns: predicted grade 0-3

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
                "confusion": self.confusion}


def confusion_matrix(true: np.ndarray, pred: np.ndarray, k: int = NUM_GRADES) -> np.ndarray:
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (true, pred), 1)
    return cm


def macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over the grades present in the truth or the predictions (sklearn's convention
    with ``labels`` = grades seen)."""
    f1s = []
    for g in range(cm.shape[0]):
        tp = cm[g, g]
        support, predicted = cm[g].sum(), cm[:, g].sum()
        if support == 0 and predicted == 0:
            continue
        denom = support + predicted
        f1s.append(2.0 * tp / denom if denom else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


def metrics_from(true: np.ndarray, pred: np.ndarray) -> list[ConditionMetrics]:
    """Per-condition metrics from (N, 6) arrays of grades."""
    out = []
    for i, cond in enumerate(CONDITIONS):
        cm = confusion_matrix(true[:, i], pred[:, i])
        n = int(cm.sum())
        out.append(ConditionMetrics(cond, n, float(np.trace(cm)) / n if n else 0.0, macro_f1(cm), cm.tolist()))
    return out


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def predict_all(model: ScalpModel, samples: Sequence[Sample], batch_size: int = 32, workers: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """(true grades, predicted grades), both (N, 6)."""
    loader = DataLoader(ScalpImages(samples, model.image_size, train=False), batch_size=batch_size,
                        shuffle=False, num_workers=workers)
    model.net.eval()
    trues, preds = [], []
    for x, y in loader:
        logits = model.net(x.to(model.device))
        preds.append(logits.argmax(dim=-1).cpu().numpy())
        trues.append(y.numpy())
    return np.concatenate(trues), np.concatenate(preds)


def evaluate_model(model: ScalpModel, samples: Sequence[Sample], batch_size: int = 32, workers: int = 0
                   ) -> list[ConditionMetrics]:
    true, pred = predict_all(model, samples, batch_size, workers)
    return metrics_from(true, pred)


def format_metrics(metrics: Sequence[ConditionMetrics]) -> str:
    lines = [f"{'condition':32s} {'n':>6s} {'accuracy':>9s} {'macro-F1':>9s}"]
    for m in metrics:
        lines.append(f"{m.condition:32s} {m.n:6d} {m.accuracy:9.3f} {m.macro_f1:9.3f}")
    lines.append("confusion matrices (rows: true grade 0-3, columns: predicted 0-3):")
    for m in metrics:
        lines.append(f"  {m.condition}: {m.confusion}")
    lines.append("reference accuracies (other test sets): " + "; ".join(REFERENCES))
    return "\n".join(lines)


def _class_weights(samples: Sequence[Sample], device: torch.device) -> torch.Tensor:
    labels = np.array([s.labels for s in samples])
    w = np.ones((len(CONDITIONS), NUM_GRADES), np.float32)
    for i in range(len(CONDITIONS)):
        counts = np.bincount(labels[:, i], minlength=NUM_GRADES).astype(np.float32)
        present = counts > 0
        w[i, present] = counts[present].sum() / (present.sum() * counts[present])
    return torch.from_numpy(w).to(device)


def fit(train: Sequence[Sample], val: Sequence[Sample], *, epochs: int = 15, batch_size: int = 32,
        lr: float = 1e-3, image_size: int = DEFAULT_IMAGE_SIZE, pretrained: bool = True,
        balanced: bool = False, device: str = "auto", workers: int = 0, seed: int = 0,
        log: Any = print) -> tuple[ScalpModel, list[ConditionMetrics]]:
    """Train and return the best model (by mean macro-F1 on ``val``) and its validation metrics."""
    torch.manual_seed(seed)
    dev = pick_device(device)
    try:
        net = ScalpNet(pretrained=pretrained)
    except Exception as exc:  # no network for the ImageNet weights: say so and train from scratch
        if not pretrained:
            raise
        log(f"ImageNet weights unavailable ({type(exc).__name__}); training from scratch")
        net = ScalpNet(pretrained=False)
    net.to(dev)
    model = ScalpModel(net=net, image_size=image_size)
    loader = DataLoader(ScalpImages(train, image_size, train=True, seed=seed), batch_size=batch_size,
                        shuffle=True, num_workers=workers, drop_last=len(train) > batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = max(1, epochs * len(loader))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    weights = _class_weights(train, dev) if balanced else None
    use_amp = dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    best: tuple[float, dict[str, torch.Tensor], list[ConditionMetrics]] | None = None
    for epoch in range(1, epochs + 1):
        net.train()
        t0, total, seen = time.perf_counter(), 0.0, 0
        for x, y in loader:
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            with torch.autocast(dev.type, enabled=use_amp):
                logits = net(x)
            loss = sum(
                nn.functional.cross_entropy(logits[:, i].float(), y[:, i],
                                            weight=None if weights is None else weights[i])
                for i in range(len(CONDITIONS))
            )
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            total += loss.item() * len(x)
            seen += len(x)
        metrics = evaluate_model(model, val or train, batch_size, workers)
        score = float(np.mean([m.macro_f1 for m in metrics]))
        log(f"epoch {epoch}/{epochs}: loss {total / max(seen, 1):.4f}, val mean macro-F1 {score:.3f}, "
            f"mean accuracy {np.mean([m.accuracy for m in metrics]):.3f} ({time.perf_counter() - t0:.1f} s)")
        if best is None or score > best[0]:
            best = (score, {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, metrics)
    assert best is not None
    net.load_state_dict(best[1])
    net.eval()
    model.meta = {
        "version": time.strftime("local-%Y%m%d-%H%M%S"),
        "epochs": epochs, "image_size": image_size, "pretrained": pretrained, "balanced": balanced,
        "n_train": len(train), "n_val": len(val),
        "val_metrics": {m.condition: m.to_dict() for m in best[2]},
    }
    return model, best[2]


def install(checkpoint: Path) -> Path:
    """Copy a checkpoint into the registry's weights folder and pin its checksum.

    Returns the installed path. Raises KeyError when the model card is missing.
    """
    from core.models import registry

    card = registry.get_card(CARD_NAME)
    target = registry.install_dir() / card.file
    target.parent.mkdir(parents=True, exist_ok=True)
    if checkpoint.resolve() != target.resolve():
        shutil.copyfile(checkpoint, target)
    registry.pin(card, registry.sha256_of(target))
    return target


def write_cams(model: ScalpModel, samples: Sequence[Sample], folder: Path, limit: int) -> list[Path]:
    """Grad-CAM overlays (one PNG per image: the photo and one map per condition)."""
    from core.scalp.model import predict

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for s in list(samples)[:limit]:
        rgb = read_rgb(s.image)
        out = predict(model, rgb, with_cams=True)
        tiles = [np.clip(rgb * 255, 0, 255).astype(np.uint8)]
        for i, cond in enumerate(CONDITIONS):
            heat = cv2.applyColorMap(np.uint8(255 * out.cams[cond]), cv2.COLORMAP_JET)[..., ::-1]  # type: ignore[index]
            tile = (0.55 * tiles[0] + 0.45 * heat).astype(np.uint8)
            cv2.putText(tile, f"{cond} true {s.labels[i]} pred {out.grades[i]}", (8, 24),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
            tiles.append(tile)
        grid = np.concatenate([np.concatenate(tiles[:4], axis=1), np.concatenate(tiles[4:] + [tiles[0] * 0], axis=1)])
        path = folder / f"{s.image_id}_cam.png"
        cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


def _describe(report: ReadReport) -> str:
    lines = [f"{len(report.samples)} labelled images ({report.json_files} JSON files; skipped: "
             f"{report.skipped_bad_label} bad labels, {report.skipped_no_image} missing images, "
             f"{report.duplicates} duplicates)"]
    for split, table in report.counts().items():
        lines.append(f"  {split}: " + ", ".join(f"{c}={v}" for c, v in table.items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.scalp.train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_fit = sub.add_parser("fit", help="train the six-head model")
    p_fit.add_argument("--data", type=Path, required=True, help="AI Hub dataset root (Training/, Validation/)")
    p_fit.add_argument("--out", type=Path, default=None, help="checkpoint path (default: weights folder)")
    p_fit.add_argument("--epochs", type=int, default=15)
    p_fit.add_argument("--batch-size", type=int, default=32)
    p_fit.add_argument("--lr", type=float, default=1e-3)
    p_fit.add_argument("--image-size", type=int, default=DEFAULT_IMAGE_SIZE)
    p_fit.add_argument("--no-pretrained", action="store_true", help="do not fetch ImageNet weights")
    p_fit.add_argument("--balanced", action="store_true", help="inverse-frequency class weights per head")
    p_fit.add_argument("--val-fraction", type=float, default=0.15, help="used only without a Validation split")
    p_fit.add_argument("--limit", type=int, default=0, help="use at most N training images (smoke runs)")
    p_fit.add_argument("--device", default="auto")
    p_fit.add_argument("--workers", type=int, default=0)
    p_fit.add_argument("--seed", type=int, default=0)
    p_fit.add_argument("--install", action="store_true", help="install into the weights registry")
    p_ev = sub.add_parser("evaluate", help="accuracy, macro-F1 and confusion matrices")
    p_ev.add_argument("--data", type=Path, required=True)
    p_ev.add_argument("--weights", type=Path, required=True)
    p_ev.add_argument("--split", default="val", choices=("train", "val", "test", "all"))
    p_ev.add_argument("--report", type=Path, default=None, help="write the metrics as JSON")
    p_ev.add_argument("--cam-dir", type=Path, default=None, help="write Grad-CAM overlays here")
    p_ev.add_argument("--cams", type=int, default=8, help="how many images get overlays")
    p_ev.add_argument("--batch-size", type=int, default=32)
    p_ev.add_argument("--device", default="auto")
    p_ev.add_argument("--workers", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        report = read_aihub(args.data)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(_describe(report))

    if args.cmd == "fit":
        train, val = train_val(report.samples, args.val_fraction, args.seed)
        if args.limit:
            train = train[: args.limit]
        print(f"training on {len(train)} images, validating on {len(val)}")
        model, metrics = fit(train, val, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             image_size=args.image_size, pretrained=not args.no_pretrained,
                             balanced=args.balanced, device=args.device, workers=args.workers, seed=args.seed)
        print(format_metrics(metrics))
        if args.out is None:
            from core.models import registry

            out = registry.install_dir() / registry.get_card(CARD_NAME).file
        else:
            out = args.out
        save_checkpoint(model, out)
        print(f"checkpoint: {out}")
        if args.install:
            print(f"installed: {install(out)} (checksum pinned; the scalp page now uses it)")
        return 0

    model = load_checkpoint(args.weights, pick_device(args.device))
    samples = report.samples if args.split == "all" else [s for s in report.samples if s.split == args.split]
    if not samples:
        print(f"error: no images in split {args.split!r}", file=sys.stderr)
        return 2
    metrics = evaluate_model(model, samples, args.batch_size, args.workers)
    print(format_metrics(metrics))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps({
            "split": args.split, "n": len(samples), "weights": str(args.weights),
            "conditions": {m.condition: m.to_dict() for m in metrics},
            "mean_accuracy": round(float(np.mean([m.accuracy for m in metrics])), 4),
            "mean_macro_f1": round(float(np.mean([m.macro_f1 for m in metrics])), 4),
            "references": {k: list(v) for k, v in REFERENCES.items()},
        }, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"report: {args.report}")
    if args.cam_dir:
        paths = write_cams(model, samples, args.cam_dir, args.cams)
        print(f"{len(paths)} Grad-CAM overlays in {args.cam_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

