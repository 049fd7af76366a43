"""Learned path of the shoulder page: self-supervised pre-training on chest radiographs, then
fine-tuning on a site's own labelled shoulder radiographs, then evaluation.

    python -m core.shoulder.train pretrain --data ../shared/data/cxr/nih14/images --minutes 5
    python -m core.shoulder.train finetune --data /site/shoulders --encoder weights/downloads/shoulder-mae-vit-encoder.pt
    python -m core.shoulder.train evaluate --data /site/shoulders-test --model weights/downloads/shoulder-osteoporosis-vit.pt
    python -m core.shoulder.train probe --npz ../shared/data/pneumoniamnist.npz   # encoder sanity check

A labelled folder holds one sub-folder per class, ``normal/``, ``osteopenia/`` and
``osteoporosis/`` (DXA-defined), with PNG, JPEG or DICOM files. An optional ``patients.csv``
(columns ``file,patient``; ``file`` relative to the folder) keeps all images of a patient on
the same side of the train/validation split; without it each image counts as its own patient.

The runtime side (loading a checkpoint, probabilities, Grad-CAM) is :mod:`core.shoulder.inference`
and the data layout :mod:`core.shoulder.dataset`; the app never imports this module.

Nothing here runs at import time or downloads anything. Checkpoints are written outside git
(``weights/downloads/`` by default). No weights are shipped: without real labelled shoulder
radiographs the page relies on the measurements.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from core.settings import get_settings
from core.shoulder.dataset import labelled_items, list_images, load_cache, read_gray, split_by_patient
from core.shoulder.inference import (
    gradcam_overlays,
    load_classifier,
    overlay_rgb,
    predict_probs,
    resize_square,
)
from core.shoulder.metrics import auc, binary_report, youden_threshold
from core.shoulder.net import LABELS, MEAN, STD, EncoderConfig, MaskedAutoencoder, ShoulderClassifier

ENCODER_FILE = "shoulder-mae-vit-encoder.pt"
CLASSIFIER_FILE = "shoulder-osteoporosis-vit.pt"


def to_tensor(gray: np.ndarray, size: int) -> torch.Tensor:
    """(1, 1, size, size) normalised tensor for the networks."""
    x = torch.from_numpy(resize_square(gray, size))
    return ((x - MEAN) / STD)[None, None]


def _augment(batch: torch.Tensor, size: int, gen: torch.Generator, scale: tuple[float, float] = (0.5, 1.0)) -> torch.Tensor:
    """Random resized crops, horizontal flips, brightness/contrast jitter on a (B, 1, S, S) batch."""
    b, _, h, w = batch.shape
    out = torch.empty(b, 1, size, size)
    for i in range(b):
        area = float(torch.empty(1).uniform_(*scale, generator=gen))
        aspect = math.exp(float(torch.empty(1).uniform_(math.log(3 / 4), math.log(4 / 3), generator=gen)))
        ch = min(h, max(8, int(round(math.sqrt(area * h * w / aspect)))))
        cw = min(w, max(8, int(round(math.sqrt(area * h * w * aspect)))))
        y0 = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
        crop = batch[i:i + 1, :, y0:y0 + ch, x0:x0 + cw]
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)
        if float(torch.rand(1, generator=gen)) < 0.5:
            crop = crop.flip(-1)
        gain = float(torch.empty(1).uniform_(0.8, 1.2, generator=gen))
        bias = float(torch.empty(1).uniform_(-0.1, 0.1, generator=gen))
        out[i] = crop[0] * gain + bias
    return (out - MEAN) / STD


# --- pre-training --------------------------------------------------------------------------------
@dataclass
class PretrainResult:
    steps: int
    seconds: float
    history: list[tuple[int, float]]
    out: Path


def pretrain(
    data: Sequence[Path],
    out: Path,
    cfg: EncoderConfig | None = None,
    minutes: float = 5.0,
    max_steps: int | None = None,
    batch_size: int = 32,
    lr: float = 1.5e-4,
    mask_ratio: float = 0.75,
    seed: int = 0,
    figure: Path | None = None,
    log=print,  # noqa: ANN001
) -> PretrainResult:
    """Masked-autoencoder pre-training of the ViT encoder on the radiographs under ``data``.

    Stops after ``minutes`` of wall time or ``max_steps`` steps, whichever comes first, and saves
    ``{"kind": "mae-encoder", "config", "state_dict" (encoder only), "history", ...}`` to ``out``.
    """
    cfg = cfg or EncoderConfig()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    paths = [p for folder in data for p in list_images(Path(folder))]
    log(f"pretrain: {len(paths)} images, encoder {cfg.to_dict()}")
    cache = load_cache(paths, int(cfg.img_size * 1.25), log)
    model = MaskedAutoencoder(cfg, mask_ratio)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.05)
    history: list[tuple[int, float]] = []
    start = time.monotonic()
    step = 0
    ema = None
    model.train()
    while True:
        if max_steps is not None and step >= max_steps:
            break
        if time.monotonic() - start > minutes * 60:
            break
        idx = torch.randint(0, len(cache), (batch_size,), generator=gen)
        batch = _augment(cache[idx], cfg.img_size, gen)
        warm = min(1.0, (step + 1) / 50)
        for g in opt.param_groups:
            g["lr"] = lr * warm
        loss, _ = model(batch, generator=gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = float(loss.detach())
        history.append((step, value))
        ema = value if ema is None else 0.95 * ema + 0.05 * value
        if step % 25 == 0 or step == 1:
            log(f"step {step} loss {value:.4f} (ema {ema:.4f}) {time.monotonic() - start:.0f}s")
    seconds = time.monotonic() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "kind": "mae-encoder", "config": cfg.to_dict(), "state_dict": model.encoder.state_dict(),
        "mae_state_dict": model.state_dict(),
        "history": history, "images": len(cache), "seconds": seconds, "mask_ratio": mask_ratio,
    }, out)
    log(f"saved encoder to {out} after {step} steps in {seconds:.0f}s")
    if figure is not None:
        plot_loss(history, figure)
        sample = F.interpolate(cache[:4], size=(cfg.img_size, cfg.img_size), mode="bilinear", align_corners=False)
        plot_reconstructions(model, (sample - MEAN) / STD, figure.with_name(figure.stem + "_recon.png"))
    return PretrainResult(step, seconds, history, out)


@torch.no_grad()
def plot_reconstructions(model: MaskedAutoencoder, images: torch.Tensor, path: Path, seed: int = 1) -> None:
    """Rows of (input, visible 25%, reconstruction with visible patches pasted back) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model.eval()
    gen = torch.Generator().manual_seed(seed)
    b = images.shape[0]
    noise = torch.rand(b, model.n_patches, generator=gen)
    _, pred = model(images, generator=torch.Generator().manual_seed(seed))
    n_keep = max(1, int(round(model.n_patches * (1.0 - model.mask_ratio))))
    keep = noise.argsort(dim=1)[:, :n_keep]
    target = model.patchify(images)
    mu, sd = target.mean(-1, keepdim=True), (target.var(-1, keepdim=True) + 1e-6).sqrt()
    recon = pred * sd + mu  # undo the per-patch normalisation of the target
    visible = torch.zeros(b, model.n_patches, dtype=torch.bool)
    visible[torch.arange(b)[:, None], keep] = True
    masked = torch.where(visible[..., None], target, torch.full_like(target, float(target.min())))
    pasted = torch.where(visible[..., None], target, recon)
    g, p = model.cfg.grid, model.cfg.patch_size

    def unpatch(x: torch.Tensor) -> np.ndarray:
        return x.reshape(b, g, g, p, p).permute(0, 1, 3, 2, 4).reshape(b, g * p, g * p).numpy()

    cols = [unpatch(target), unpatch(masked), unpatch(pasted)]
    fig, axes = plt.subplots(b, 3, figsize=(6, 2 * b), dpi=100)
    axes = np.atleast_2d(axes)
    for i in range(b):
        for j, (arr, name) in enumerate(zip(cols, ("input", "visible 25%", "reconstruction"), strict=True)):
            axes[i, j].imshow(arr[i], cmap="gray", vmin=float(cols[0][i].min()), vmax=float(cols[0][i].max()))
            axes[i, j].set_axis_off()
            if i == 0:
                axes[i, j].set_title(name, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


@torch.no_grad()
def encode(encoder: torch.nn.Module, images: np.ndarray, size: int, batch_size: int = 128) -> np.ndarray:
    """Average-pooled encoder features of (N, H, W) images in [0, 1]."""
    encoder.eval()
    feats = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(images[i:i + batch_size].astype(np.float32))[:, None]
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        feats.append(encoder((x - MEAN) / STD).numpy())
    return np.concatenate(feats)


def linear_probe(encoder_path: Path, npz: Path, max_train: int = 2000, n_boot: int = 500, seed: int = 0,
                 finetune_epochs: int = 0, log=print) -> dict[str, object]:  # noqa: ANN001
    """Quality check of a pre-trained encoder without shoulder labels: logistic regression on frozen
    features of a labelled MedMNIST-style ``.npz`` (``train_images``/``train_labels``/``test_*``),
    compared with the same architecture at random initialisation. With ``finetune_epochs`` > 0 the
    whole network is also fine-tuned (the protocol MAE is meant for). Returns test AUCs with CIs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from core.shoulder.metrics import bootstrap_auc_ci
    from core.shoulder.net import build_encoder

    cfg, state = load_encoder_checkpoint(encoder_path)
    data = np.load(npz)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(data["train_images"]))[:max_train]
    xtr = data["train_images"][idx] / 255.0
    ytr = data["train_labels"][idx].ravel()
    xte, yte = data["test_images"] / 255.0, data["test_labels"].ravel()
    out: dict[str, object] = {"train": int(len(ytr)), "test": int(len(yte)), "encoder": str(encoder_path)}
    torch.manual_seed(seed)
    for name in ("pretrained", "random_init"):
        enc = build_encoder(cfg)
        if name == "pretrained":
            enc.load_state_dict(state)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
        clf.fit(encode(enc, xtr, cfg.img_size), ytr)
        score = clf.predict_proba(encode(enc, xte, cfg.img_size))[:, 1]
        value = auc(yte.astype(bool), score)
        out[name] = {"auc": value, "auc_ci": bootstrap_auc_ci(yte.astype(bool), score, n_boot=n_boot)}
        log(f"{name}: linear-probe test AUC {value:.3f}")
        if finetune_epochs > 0:
            score = _finetune_binary(enc, cfg, xtr, ytr, xte, finetune_epochs, seed)
            value = auc(yte.astype(bool), score)
            out[name + "_finetuned"] = {"auc": value, "auc_ci": bootstrap_auc_ci(yte.astype(bool), score, n_boot=n_boot),
                                        "epochs": finetune_epochs}
            log(f"{name}: fine-tuned test AUC {value:.3f}")
    return out


def _finetune_binary(encoder: torch.nn.Module, cfg: EncoderConfig, xtr: np.ndarray, ytr: np.ndarray,
                     xte: np.ndarray, epochs: int, seed: int, batch_size: int = 32) -> np.ndarray:
    """Fine-tune encoder + linear head on a binary task; returns test scores."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = torch.nn.Linear(cfg.embed_dim, 2)
    opt = torch.optim.AdamW([{"params": encoder.parameters(), "lr": 1e-4}, {"params": head.parameters(), "lr": 1e-3}],
                            weight_decay=0.05)
    x_all = F.interpolate(torch.from_numpy(xtr.astype(np.float32))[:, None], size=(cfg.img_size, cfg.img_size),
                          mode="bilinear", align_corners=False)
    y_all = torch.from_numpy(ytr.astype(np.int64))
    for _ in range(epochs):
        encoder.train()
        perm = torch.randperm(len(x_all), generator=gen)
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            x = _augment(x_all[idx], cfg.img_size, gen, scale=(0.8, 1.0))
            loss = F.cross_entropy(head(encoder(x)), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    encoder.eval()
    with torch.no_grad():
        feats = torch.from_numpy(encode(encoder, xte, cfg.img_size))
        return torch.softmax(head(feats), dim=1)[:, 1].numpy()


def plot_loss(history: Sequence[tuple[int, float]], path: Path) -> None:
    """Save the loss curve (raw and moving average) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([h[0] for h in history])
    vals = np.array([h[1] for h in history])
    k = max(1, len(vals) // 30)
    smooth = np.convolve(vals, np.ones(k) / k, mode="valid")
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    ax.plot(steps, vals, alpha=0.3, label="loss")
    ax.plot(steps[k - 1:], smooth, label=f"moving average ({k})")
    ax.set_xlabel("step")
    ax.set_ylabel("MAE loss (normalised pixels, hidden patches)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def load_encoder_checkpoint(path: Path) -> tuple[EncoderConfig, dict[str, torch.Tensor]]:
    """(config, encoder state dict) from a pre-training checkpoint.

    Raises:
        ValueError: the file is not an encoder checkpoint.
    """
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "mae-encoder":
        raise ValueError(f"{path} is not an MAE encoder checkpoint")
    return EncoderConfig(**ckpt["config"]), ckpt["state_dict"]


# --- fine-tuning ---------------------------------------------------------------------------------
def scores_from_probs(probs: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of the two binary endpoints: osteoporosis vs rest, low bone mass vs normal."""
    return {"osteoporosis": probs[:, 2], "low_bone_mass": probs[:, 1] + probs[:, 2]}


def truths_from_labels(labels: np.ndarray) -> dict[str, np.ndarray]:
    return {"osteoporosis": labels == 2, "low_bone_mass": labels >= 1}


def finetune(
    data: Path,
    out: Path,
    encoder: Path | None = None,
    cfg: EncoderConfig | None = None,
    epochs: int = 30,
    batch_size: int = 16,
    lr: float = 3e-4,
    encoder_lr_scale: float = 0.3,
    val_fraction: float = 0.25,
    seed: int = 0,
    report_dir: Path | None = None,
    gradcam: int = 8,
    n_boot: int = 1000,
    log=print,  # noqa: ANN001
) -> dict[str, object]:
    """Fine-tune the classifier on a labelled folder; keep the epoch with the best validation AUC.

    Saves ``{"kind": "shoulder-classifier", "config", "labels", "state_dict", "thresholds", "report"}``
    to ``out`` and, with ``report_dir``, ``report.json``, ROC plots and Grad-CAM overlays there.
    Returns the validation report.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if encoder is not None:
        cfg, enc_state = load_encoder_checkpoint(encoder)
    else:
        cfg, enc_state = cfg or EncoderConfig(), None
    paths, labels, groups = labelled_items(data)
    tr_idx, va_idx = split_by_patient(labels, groups, val_fraction, seed)
    if len(va_idx) == 0 or len(tr_idx) == 0:
        raise SystemExit("too few patients for a train/validation split")
    cache = load_cache(paths, int(cfg.img_size * 1.15), log)
    val_images = F.interpolate(cache[va_idx], size=(cfg.img_size, cfg.img_size), mode="bilinear", align_corners=False)
    model = ShoulderClassifier(cfg)
    if enc_state is not None:
        model.encoder.load_state_dict(enc_state)
    log(f"finetune: {len(tr_idx)} train / {len(va_idx)} validation images, pretrained={enc_state is not None}")
    opt = torch.optim.AdamW([
        {"params": model.encoder.parameters(), "lr": lr * encoder_lr_scale},
        {"params": model.head.parameters(), "lr": lr},
    ], weight_decay=0.05)
    counts = np.bincount(labels[tr_idx], minlength=len(LABELS)).astype(float)
    weights = torch.tensor(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(LABELS), 0.0), dtype=torch.float32)
    best: tuple[float, dict[str, torch.Tensor], int] | None = None
    steps_per_epoch = max(1, math.ceil(len(tr_idx) / batch_size))
    for epoch in range(1, epochs + 1):
        model.train()
        perm = tr_idx[torch.randperm(len(tr_idx), generator=gen).numpy()]
        total = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            if len(idx) == 0:
                continue
            x = _augment(cache[idx], cfg.img_size, gen, scale=(0.7, 1.0))
            y = torch.from_numpy(labels[idx]).long()
            loss = F.cross_entropy(model(x), y, weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        probs = predict_probs(model, val_images)
        aucs = [auc(truths_from_labels(labels[va_idx])[k], v) for k, v in scores_from_probs(probs).items()]
        score = float(np.nanmean(aucs)) if not all(math.isnan(a) for a in aucs) else -float(total)
        log(f"epoch {epoch} loss {total / max(len(tr_idx), 1):.4f} val AUC {aucs}")
        if best is None or score > best[0]:
            best = (score, {k: v.detach().clone() for k, v in model.state_dict().items()}, epoch)
    assert best is not None
    model.load_state_dict(best[1])
    probs = predict_probs(model, val_images)
    thresholds = {k: youden_threshold(truths_from_labels(labels[va_idx])[k], v) for k, v in scores_from_probs(probs).items()}
    report = make_report(labels[va_idx], probs, thresholds, n_boot=n_boot)
    report.update({"best_epoch": best[2], "epochs": epochs, "train_images": int(len(tr_idx)),
                   "validation_images": int(len(va_idx)), "pretrained_encoder": str(encoder) if encoder else None,
                   "note": "thresholds chosen on this validation split (Youden): figures are optimistic; "
                           "confirm on an independent test set with `evaluate`."})
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"kind": "shoulder-classifier", "config": cfg.to_dict(), "labels": list(LABELS),
                "state_dict": model.state_dict(), "thresholds": thresholds, "report": json.dumps(report)}, out)
    log(f"saved classifier to {out}")
    if report_dir is not None:
        write_report(report_dir, report, labels[va_idx], probs, [paths[i] for i in va_idx], model, gradcam)
    return report


def make_report(labels: np.ndarray, probs: np.ndarray, thresholds: dict[str, float], n_boot: int = 1000) -> dict[str, object]:
    """AUC (95% bootstrap CI), sensitivity and specificity (95% Wilson CI) of both endpoints."""
    truths = truths_from_labels(labels)
    scores = scores_from_probs(probs)
    endpoints = {k: binary_report(k, truths[k], scores[k], thresholds[k], n_boot=n_boot).to_dict() for k in scores}
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for t, p in zip(labels, probs.argmax(axis=1), strict=True):
        confusion[t, p] += 1
    return {"labels": list(LABELS), "n": int(len(labels)), "endpoints": endpoints,
            "confusion_rows_true_cols_pred": confusion.tolist(),
            "accuracy": float((probs.argmax(axis=1) == labels).mean()) if len(labels) else float("nan")}


def write_report(report_dir: Path, report: dict[str, object], labels: np.ndarray, probs: np.ndarray,
                 paths: Sequence[Path], model: ShoulderClassifier, n_gradcam: int) -> None:
    """report.json, ROC curves and up to ``n_gradcam`` Grad-CAM overlays (osteoporosis class)."""
    from PIL import Image

    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot_roc(labels, probs, report_dir / "roc.png")
    if n_gradcam <= 0:
        return
    size = model.cfg.img_size
    chosen = list(range(min(n_gradcam, len(paths))))
    imgs = torch.from_numpy(np.stack([resize_square(read_gray(paths[i]), size) for i in chosen]))[:, None]
    maps = gradcam_overlays(model, imgs)
    cam_dir = report_dir / "gradcam"
    cam_dir.mkdir(exist_ok=True)
    for j, i in enumerate(chosen):
        rgb = overlay_rgb(imgs[j, 0].numpy(), maps[j])
        name = f"{j:02d}_{LABELS[labels[i]]}_p{probs[i, 2]:.2f}.png"
        Image.fromarray(rgb).save(cam_dir / name)


def plot_roc(labels: np.ndarray, probs: np.ndarray, path: Path) -> None:
    """ROC curves of both endpoints."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=110)
    truths, scores = truths_from_labels(labels), scores_from_probs(probs)
    for k in scores:
        y, s = truths[k], scores[k]
        if y.all() or not y.any():
            continue
        ts = np.unique(np.concatenate([[-np.inf], s, [np.inf]]))[::-1]
        tpr = [((s >= t) & y).sum() / y.sum() for t in ts]
        fpr = [((s >= t) & ~y).sum() / (~y).sum() for t in ts]
        ax.plot(fpr, tpr, label=k)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate(data: Path, model_path: Path, report_dir: Path | None = None, gradcam: int = 8,
             n_boot: int = 1000, log=print) -> dict[str, object]:  # noqa: ANN001
    """Figures of a fine-tuned model on a labelled folder, at the thresholds saved with it."""
    model, thresholds = load_classifier(model_path)
    paths, labels, _ = labelled_items(data)
    images = load_cache(paths, model.cfg.img_size, log)
    probs = predict_probs(model, images)
    thr = {k: thresholds.get(k, 0.5) for k in ("osteoporosis", "low_bone_mass")}
    report = make_report(labels, probs, thr, n_boot=n_boot)
    report["model"] = str(model_path)
    if report_dir is not None:
        write_report(report_dir, report, labels, probs, paths, model, gradcam)
    log(json.dumps(report["endpoints"], indent=2))
    return report


# --- CLI -----------------------------------------------------------------------------------------
def _encoder_cfg(args: argparse.Namespace) -> EncoderConfig:
    return EncoderConfig(img_size=args.img_size, patch_size=args.patch_size, embed_dim=args.embed_dim,
                         depth=args.depth, num_heads=args.heads, decoder_dim=args.decoder_dim,
                         decoder_depth=args.decoder_depth, decoder_heads=args.decoder_heads)


def _add_cfg_args(p: argparse.ArgumentParser) -> None:
    d = EncoderConfig()
    p.add_argument("--img-size", type=int, default=d.img_size)
    p.add_argument("--patch-size", type=int, default=d.patch_size)
    p.add_argument("--embed-dim", type=int, default=d.embed_dim)
    p.add_argument("--depth", type=int, default=d.depth)
    p.add_argument("--heads", type=int, default=d.num_heads)
    p.add_argument("--decoder-dim", type=int, default=d.decoder_dim)
    p.add_argument("--decoder-depth", type=int, default=d.decoder_depth)
    p.add_argument("--decoder-heads", type=int, default=d.decoder_heads)


def build_parser() -> argparse.ArgumentParser:
    weights = get_settings().weights_dir
    parser = argparse.ArgumentParser(prog="python -m core.shoulder.train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pretrain", help="MAE self-supervised pre-training on radiographs")
    p.add_argument("--data", type=Path, nargs="+", required=True, help="folders of radiographs (recursive)")
    p.add_argument("--out", type=Path, default=weights / ENCODER_FILE)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1.5e-4)
    p.add_argument("--mask-ratio", type=float, default=0.75)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figure", type=Path, default=None, help="save the loss curve PNG here")
    p.add_argument("--threads", type=int, default=None)
    _add_cfg_args(p)
    f = sub.add_parser("finetune", help="fine-tune on a labelled shoulder folder")
    f.add_argument("--data", type=Path, required=True)
    f.add_argument("--encoder", type=Path, default=None, help="pre-trained encoder (default: random init)")
    f.add_argument("--out", type=Path, default=weights / CLASSIFIER_FILE)
    f.add_argument("--epochs", type=int, default=30)
    f.add_argument("--batch-size", type=int, default=16)
    f.add_argument("--lr", type=float, default=3e-4)
    f.add_argument("--val-fraction", type=float, default=0.25)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--report-dir", type=Path, default=None)
    f.add_argument("--gradcam", type=int, default=8)
    f.add_argument("--bootstrap", type=int, default=1000)
    f.add_argument("--threads", type=int, default=None)
    _add_cfg_args(f)
    q = sub.add_parser("probe", help="linear probe of a pre-trained encoder on a labelled .npz (vs random init)")
    q.add_argument("--encoder", type=Path, default=weights / ENCODER_FILE)
    q.add_argument("--npz", type=Path, required=True, help="MedMNIST-style file, e.g. ../shared/data/pneumoniamnist.npz")
    q.add_argument("--max-train", type=int, default=2000)
    q.add_argument("--finetune-epochs", type=int, default=0, help="also fine-tune end to end for this many epochs")
    q.add_argument("--threads", type=int, default=None)
    e = sub.add_parser("evaluate", help="evaluate a fine-tuned model on a labelled folder")
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--model", type=Path, default=weights / CLASSIFIER_FILE)
    e.add_argument("--report-dir", type=Path, default=None)
    e.add_argument("--gradcam", type=int, default=8)
    e.add_argument("--bootstrap", type=int, default=1000)
    e.add_argument("--threads", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.command == "pretrain":
        pretrain(args.data, args.out, _encoder_cfg(args), minutes=args.minutes, max_steps=args.steps,
                 batch_size=args.batch_size, lr=args.lr, mask_ratio=args.mask_ratio, seed=args.seed,
                 figure=args.figure)
    elif args.command == "finetune":
        report = finetune(args.data, args.out, encoder=args.encoder,
                          cfg=None if args.encoder else _encoder_cfg(args), epochs=args.epochs,
                          batch_size=args.batch_size, lr=args.lr, val_fraction=args.val_fraction, seed=args.seed,
                          report_dir=args.report_dir, gradcam=args.gradcam, n_boot=args.bootstrap)
        print(json.dumps(report["endpoints"], indent=2))
    elif args.command == "probe":
        print(json.dumps(linear_probe(args.encoder, args.npz, args.max_train, finetune_epochs=args.finetune_epochs), indent=2))
    else:
        evaluate(args.data, args.model, args.report_dir, args.gradcam, args.bootstrap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
