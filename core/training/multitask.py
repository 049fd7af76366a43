"""Fine-tune the whole chest backbone on every permissively licensed chest film, multi-task.

Data (``../shared/data``, data README): the 1,072 adult NIH ChestX-ray14 films (``cxr/nih14/`` +
``cxr/nih1000/``, 14 findings) and the 5,216 paediatric Kermany films (normal / pneumonia,
CC BY 4.0). Heads (one sigmoid output each, on one EfficientNet-Lite0 trunk):

* the 14 NIH findings, trained on NIH films only (masked on Kermany films);
* ``Pneumonia_screen`` (normal vs pneumonia): Kermany's label, and NIH films labelled
  ``Pneumonia`` (positive) or ``No_Finding`` (negative); other NIH films are masked.

Splits are by patient and fixed by the seed: NIH 70 / 10 / 20 % (train / val / test, stratified by
finding), Kermany 80 / 10 / 10 %. *Only* the val patients choose anything (epoch, EMA,
operating points, uncertain bands); the test patients are scored once at the end. PneumoniaMNIST's
``test_*`` arrays (Kermany's official test split, upscaled from 28 px) are a second, external
pneumonia check that nothing is tuned to.

Usage::

    python -m core.training multitask --preset full --out runs/multitask      # ~1-1.5 h on 2 CPU cores
    python -m core.training multitask --preset smoke --out /tmp/mt            # a minute: wiring check

Each epoch shows a progress bar with the time left; the best state (by validation score of the EMA
weights) is checkpointed after every epoch, so an interrupted run keeps its best epoch.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.chest.nets import InputSpec, build, default_input
from core.training.data import NIH_LABELS, LabelledSet, Sample, _find, patient_split
from core.training.images import load_squares
from core.training.metrics import auc, bootstrap_auc
from core.training.pmnist import MIN_CORRELATION, thumbnail_patients, upscale
from core.training.train import _to_input, seed_everything
from core.training.transforms import Augment

SCREEN_LABEL = "Pneumonia_screen"
HEADS: tuple[str, ...] = (*NIH_LABELS, SCREEN_LABEL)
SCREEN = len(NIH_LABELS)  # column of the pneumonia head
NIH_FRACTIONS = (0.7, 0.1, 0.2)
KERMANY_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Preset:
    """Training settings; ``full`` is the shipped recipe, ``smoke`` checks the wiring in a minute."""

    size: int = 224
    epochs: int = 10
    kermany_per_epoch: int = 1600
    nih_repeats: int = 2
    batch_size: int = 32
    lr: float = 6e-4
    weight_decay: float = 1e-4
    ema_decay: float = 0.99
    warmup_steps: int = 60
    blur_p: float = 0.25
    blur_factors: tuple[int, ...] = (2, 4, 8)  # 8x: 28 px thumbnails at 224 px
    zoom_p: float = 0.25  # tight crops: magnified 1-1.5x, widened 1-1.4x
    zoom: tuple[float, float] = (1.0, 1.5)
    stretch: tuple[float, float] = (1.0, 1.4)
    pmnist_per_epoch: int = 0  # PneumoniaMNIST train/val thumbnails of training patients (core.training.pmnist)
    limit: int | None = None  # images per source (smoke runs)
    arch: str = "efficientnet_lite0_ms"  # the shipped files; efficientnet_lite2_ms is a research candidate


PRESETS: dict[str, Preset] = {
    "full": Preset(),
    # the v2 weights (shipped 2026-12-06): blur only 4x, 10 % of images; stopped after epoch 5 of 10
    "v2": Preset(blur_p=0.1, blur_factors=(4,), zoom_p=0.0),
    # v3: v2's epoch-5 state trained for the second half of its cosine schedule (lr 3e-4 = v2's lr at
    # epoch 5, down to 2 %), with 2/4/8x blur; use with ``--init RUN/model.pt``
    "continue": Preset(epochs=5, lr=3e-4, warmup_steps=30),
    # v3 screening: as continue, plus 800 PneumoniaMNIST thumbnails of training patients per epoch, and
    # crops up to 1.8x wider (the thumbnails' crops matched their films at 1.5-1.8x)
    "continue-pm": Preset(epochs=5, lr=3e-4, warmup_steps=30, pmnist_per_epoch=800, stretch=(1.0, 1.8)),
    # v2's recipe at 320 px (a candidate for small findings: nodules, masses); use with --stop-after 5
    "v2-320": Preset(size=320, blur_p=0.1, blur_factors=(4,), zoom_p=0.0),
    # v2's recipe on EfficientNet-Lite2 (multi-stage, 816 channels); a research candidate, not shippable yet
    "v2-lite2": Preset(blur_p=0.1, blur_factors=(4,), zoom_p=0.0, arch="efficientnet_lite2_ms"),
    "fast": Preset(size=192, epochs=6, kermany_per_epoch=1200),
    "smoke": Preset(size=96, epochs=1, kermany_per_epoch=64, nih_repeats=1, batch_size=16, warmup_steps=2, limit=96),
}


# --- data ----------------------------------------------------------------------------------------
def load_nih_folder(root: Path, folder: str) -> LabelledSet:
    """One NIH folder (``nih14`` or ``nih1000``) with its 14 findings; ``finding`` keeps No_Finding.

    Raises:
        FileNotFoundError: no ``labels.csv`` under ``root``.
    """
    csv_path = _find(root, "cxr", folder, "labels.csv")
    samples = []
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            target = tuple(float(int(row[lab])) for lab in NIH_LABELS)
            finding = "No Finding" if row.get("No_Finding") == "1" else "|".join(
                lab for lab, v in zip(NIH_LABELS, target, strict=True) if v)
            samples.append(Sample(key=row["image"], patient=f"nih:{row['patient']}", target=target,
                                  path=csv_path.parent / "images" / row["image"], source=folder,
                                  view=row.get("view", "PA/AP"), license="NIH ChestX-ray14 public release",
                                  finding=finding))
    return LabelledSet(folder, NIH_LABELS, "multilabel", tuple(samples))


def load_kermany(root: Path) -> LabelledSet:
    """Kermany's paediatric films as a one-label set (``Pneumonia`` 1 / 0).

    Raises:
        FileNotFoundError: no ``cxr/kermany/labels.csv`` under ``root``.
    """
    csv_path = _find(root, "cxr", "kermany", "labels.csv")
    samples = []
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pos = row["label"].strip().lower() == "pneumonia"
            samples.append(Sample(key=row["image"], patient=f"kermany:{row['patient']}", target=(float(pos),),
                                  path=csv_path.parent / row["image"], source="kermany", view="AP",
                                  license="CC BY 4.0", finding=row["label"]))
    return LabelledSet("kermany", ("Pneumonia",), "multilabel", tuple(samples))


@dataclass
class Part:
    """Images of one split of one source with their multi-task targets and masks."""

    name: str
    squares: np.ndarray  # (N, S, S) uint8
    y: np.ndarray  # (N, len(HEADS)) float32
    mask: np.ndarray  # (N, len(HEADS)) float32, 1 where the target is known
    samples: tuple[Sample, ...]

    def __len__(self) -> int:
        return len(self.y)


def nih_targets(data: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
    """Multi-task targets and masks of NIH films (pneumonia head: Pneumonia 1, No Finding 0)."""
    n = len(data)
    y = np.zeros((n, len(HEADS)), np.float32)
    m = np.zeros((n, len(HEADS)), np.float32)
    y[:, :SCREEN] = data.targets()
    m[:, :SCREEN] = 1.0
    for i, s in enumerate(data.samples):
        if y[i, NIH_LABELS.index("Pneumonia")] == 1:
            y[i, SCREEN], m[i, SCREEN] = 1.0, 1.0
        elif s.finding == "No Finding":
            m[i, SCREEN] = 1.0
    return y, m


def kermany_targets(data: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
    """Multi-task targets and masks of Kermany films (only the pneumonia head is known)."""
    n = len(data)
    y = np.zeros((n, len(HEADS)), np.float32)
    m = np.zeros((n, len(HEADS)), np.float32)
    y[:, SCREEN] = data.targets()[:, 0]
    m[:, SCREEN] = 1.0
    return y, m


def _head(data: LabelledSet, limit: int | None) -> LabelledSet:
    return data if limit is None else data.subset(range(min(limit, len(data))))


def split_sets(shared: Path, seed: int = 0, limit: int | None = None) -> dict[str, LabelledSet]:
    """``nih-train/val/test`` and ``kermany-train/val/test`` sets, split by patient with ``seed``
    (no pixels read; benches use it to find the held-out patients).

    Raises:
        FileNotFoundError: a data folder is missing.
    """
    nih = LabelledSet("nih", NIH_LABELS, "multilabel",
                      _head(load_nih_folder(shared, "nih14"), limit).samples
                      + _head(load_nih_folder(shared, "nih1000"), limit).samples)
    ker = _head(load_kermany(shared), limit)
    out: dict[str, LabelledSet] = {}
    for src, data, fractions in (("nih", nih, NIH_FRACTIONS), ("kermany", ker, KERMANY_FRACTIONS)):
        for split, subset in patient_split(data, fractions, seed=seed).items():
            out[f"{src}-{split}"] = subset
    return out


def build_splits(shared: Path, size: int, cache: Path | None, seed: int = 0, limit: int | None = None,
                 progress: bool = True, pmnist: bool = False) -> dict[str, Part]:
    """The :func:`split_sets` with their ``size`` px squares, multi-task targets and masks; with
    ``pmnist``, also ``pmnist-train``/``pmnist-val``: PneumoniaMNIST train/val thumbnails of the
    Kermany training / validation patients (those of test patients are left out).

    Raises:
        FileNotFoundError: a data folder is missing.
    """
    parts: dict[str, Part] = {}
    for name, subset in split_sets(shared, seed, limit).items():
        targets = nih_targets if name.startswith("nih") else kermany_targets
        squares = load_squares(subset.subset(range(len(subset)), name=name), size, cache, progress=progress)
        y, m = targets(subset)
        parts[name] = Part(name, squares, y, m, subset.samples)
    if pmnist:
        thumbs, labels, keys, corr = thumbnail_patients(shared, cache)
        for split in ("train", "val"):
            patients = {s.patient for s in parts[f"kermany-{split}"].samples}
            keep = np.array([k in patients for k in keys]) & (corr >= MIN_CORRELATION)
            if limit is not None:
                keep &= np.cumsum(keep) <= limit
            y = np.zeros((int(keep.sum()), len(HEADS)), np.float32)
            m = np.zeros_like(y)
            y[:, SCREEN], m[:, SCREEN] = labels[keep], 1.0
            parts[f"pmnist-{split}"] = Part(f"pmnist-{split}", upscale(thumbs[keep], size), y, m, ())
    return parts


def pneumoniamnist_test(shared: Path, size: int) -> Part:
    """PneumoniaMNIST's official test split (Kermany's test patients), upscaled to ``size``.

    Raises:
        FileNotFoundError: no ``pneumoniamnist.npz``.
    """
    path = Path(shared) / "pneumoniamnist.npz"
    if not path.is_file():
        raise FileNotFoundError(path)
    data = np.load(path)
    imgs, labels = data["test_images"], data["test_labels"].reshape(-1).astype(np.float32)
    squares = upscale(imgs, size)
    y = np.zeros((len(labels), len(HEADS)), np.float32)
    m = np.zeros_like(y)
    y[:, SCREEN], m[:, SCREEN] = labels, 1.0
    return Part("pneumoniamnist-test", squares, y, m, ())


# --- model and loop ------------------------------------------------------------------------------
def input_spec(size: int, arch: str = "efficientnet_lite0_ms") -> InputSpec:
    return default_input(arch, size)


def build_net(pretrained: bool = True, arch: str = "efficientnet_lite0_ms") -> nn.Module:
    return build(arch, len(HEADS), pretrained=pretrained)


def masked_loss(logits: torch.Tensor, y: torch.Tensor, m: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy over the known targets only, each head weighted equally."""
    per = nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
    per_head = (per * m).sum(0) / m.sum(0).clamp(min=1.0)
    present = (m.sum(0) > 0).float()
    return (per_head * present).sum() / present.sum().clamp(min=1.0)


def head_pos_weights(parts: list[Part], cap: float = 20.0) -> torch.Tensor:
    y = np.concatenate([p.y for p in parts])
    m = np.concatenate([p.mask for p in parts])
    pos = (y * m).sum(0)
    neg = ((1 - y) * m).sum(0)
    return torch.tensor(np.clip(neg / np.maximum(pos, 1.0), 1.0 / cap, cap), dtype=torch.float32)


@torch.inference_mode()
def predict(net: nn.Module, squares: np.ndarray, spec: InputSpec, batch: int = 64) -> np.ndarray:
    """Sigmoid probabilities ``(N, len(HEADS))`` of uint8 squares."""
    net.eval()
    dev = next(net.parameters()).device
    outs = [torch.sigmoid(net(spec.normalize(_to_input(squares[i:i + batch], spec, dev)))).float().cpu().numpy()
            for i in range(0, len(squares), batch)]
    return np.concatenate(outs) if outs else np.zeros((0, len(HEADS)), np.float32)


def nih_mean_auc(part: Part, probs: np.ndarray) -> float:
    vals = [auc(part.y[:, j], probs[:, j]) for j in range(SCREEN)]
    vals = [v for v in vals if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def screen_auc(part: Part, probs: np.ndarray) -> float:
    keep = part.mask[:, SCREEN] > 0
    return auc(part.y[keep, SCREEN], probs[keep, SCREEN])


def val_score(parts: dict[str, Part], probs: dict[str, np.ndarray]) -> dict[str, float]:
    """Validation figures; ``score`` (what picks the run's epoch) weighs the NIH findings 2:1 over
    pneumonia; ``screen_score`` (what picks the screening file's epoch, ``--checkpoint auto-screening``)
    is the mean of the pneumonia AUCs: Kermany films, PneumoniaMNIST thumbnails (when trained with them)
    and adult NIH Pneumonia vs No_Finding."""
    nih = nih_mean_auc(parts["nih-val"], probs["nih-val"])
    ker = screen_auc(parts["kermany-val"], probs["kermany-val"])
    adult = screen_auc(parts["nih-val"], probs["nih-val"])
    figs = {"nih_val_auc": nih, "kermany_val_auc": ker, "adult_pneumonia_val_auc": adult, "score": (2 * nih + ker) / 3}
    screens = [ker, adult]
    if "pmnist-val" in parts and "pmnist-val" in probs:
        figs["pmnist_val_auc"] = screen_auc(parts["pmnist-val"], probs["pmnist-val"])
        screens.append(figs["pmnist_val_auc"])
    figs["screen_score"] = float(np.mean(screens))
    return figs


@dataclass
class RunResult:
    net: nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def train_multitask(parts: dict[str, Part], preset: Preset, seed: int = 0, checkpoint: Path | None = None,
                    max_minutes: float | None = None, log: Callable[[str], None] = print,
                    progress: bool = True, pretrained: bool = True, init: Path | None = None,
                    stop_after: int | None = None, every_epoch: bool = False,
                    train_seed: int | None = None) -> RunResult:
    """Fine-tune the whole network; keep the EMA state with the best validation score.

    ``init``: start from a :func:`save` checkpoint's weights (the epochs then draw another data
    order); ``stop_after``: end after that many epochs without changing the schedule; ``every_epoch``:
    also keep each epoch's EMA state beside the checkpoint (``model_e<N>.pt``) for choosing a head's
    epoch on its own validation figures. ``train_seed``: seeds the head's initialisation, the data order
    and the augmentation (default: ``seed``) without changing the patient split, which ``seed`` fixed
    (a second ensemble member must train on the same patients).
    """
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    base = seed if train_seed is None else train_seed
    gen = seed_everything(base if init is None else base + 1)
    spec = input_spec(preset.size, preset.arch)
    net = build_net(pretrained and init is None, preset.arch)
    if init is not None:
        net.load_state_dict(torch.load(Path(init), map_location="cpu", weights_only=True)["state_dict"])
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(preset.ema_decay), use_buffers=True)
    nih, ker = parts["nih-train"], parts["kermany-train"]
    pm = parts.get("pmnist-train")
    pos_weight = head_pos_weights([nih, ker])
    opt = torch.optim.AdamW(net.parameters(), lr=preset.lr, weight_decay=preset.weight_decay)
    n_pm = min(preset.pmnist_per_epoch, len(pm)) if pm is not None else 0
    n_epoch = len(nih) * preset.nih_repeats + min(preset.kermany_per_epoch, len(ker)) + n_pm
    steps_per_epoch = max(1, n_epoch // preset.batch_size)
    total_steps = steps_per_epoch * preset.epochs

    def lr_at(step: int) -> float:  # linear warm-up, then cosine to 2 % of the peak
        if step < preset.warmup_steps:
            return (step + 1) / preset.warmup_steps
        t = (step - preset.warmup_steps) / max(1, total_steps - preset.warmup_steps)
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    augment = Augment(rotation_deg=10.0, scale=(0.85, 1.15), translate=0.08, gamma=(0.7, 1.4),
                      contrast=(0.8, 1.2), brightness=0.06, blur_p=preset.blur_p,
                      blur_factors=tuple(preset.blur_factors), zoom_p=preset.zoom_p, zoom=tuple(preset.zoom),
                      stretch=tuple(preset.stretch))
    extra = [pm] if pm is not None and n_pm else []
    x_all = torch.from_numpy(np.concatenate([nih.squares, ker.squares, *(p.squares for p in extra)]))
    y_all = torch.from_numpy(np.concatenate([nih.y, ker.y, *(p.y for p in extra)]))
    m_all = torch.from_numpy(np.concatenate([nih.mask, ker.mask, *(p.mask for p in extra)]))
    n_nih = len(nih)
    result = RunResult(net=copy.deepcopy(ema.module))
    best_score = -1.0
    start = time.perf_counter()
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, unit="step", desc="multitask", smoothing=0.05)
    for epoch in range(1, preset.epochs + 1):
        net.train()
        k_idx = torch.randperm(len(ker), generator=gen)[:preset.kermany_per_epoch] + n_nih
        p_idx = torch.randperm(len(pm), generator=gen)[:n_pm] + n_nih + len(ker) if extra else torch.zeros(0, dtype=torch.long)
        idx = torch.cat([torch.arange(n_nih).repeat(preset.nih_repeats), k_idx, p_idx])
        idx = idx[torch.randperm(len(idx), generator=gen)]
        total, seen = 0.0, 0
        for b in range(steps_per_epoch):
            sel = idx[b * preset.batch_size:(b + 1) * preset.batch_size]
            if len(sel) < 2:
                continue
            x = augment(_to_input(x_all[sel], spec, torch.device("cpu")), gen)
            loss = masked_loss(net(spec.normalize(x)), y_all[sel], m_all[sel], pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(net)
            total += loss.item() * len(sel)
            seen += len(sel)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{total / seen:.3f}")
        probs = {k: predict(ema.module, parts[k].squares, spec) for k in ("nih-val", "kermany-val", "pmnist-val") if k in parts}
        figs = val_score(parts, probs)
        row = {"epoch": epoch, "loss": total / max(1, seen), **figs, "seconds": time.perf_counter() - start}
        result.history.append(row)
        log(f"epoch {epoch}: loss {row['loss']:.4f}  NIH val mean AUC {figs['nih_val_auc']:.4f}  "
            f"Kermany val AUC {figs['kermany_val_auc']:.4f}  screening val {figs['screen_score']:.4f}  "
            f"({row['seconds'] / 60:.1f} min)")
        if every_epoch and checkpoint is not None:
            save(checkpoint.with_name(f"model_e{epoch}.pt"), ema.module, preset, result.history, {"best_epoch": epoch, "seed": seed, "train_seed": base})
        score = figs["score"] if not math.isnan(figs["score"]) else -0.5  # tiny sets: keep an epoch anyway
        if score > best_score:
            best_score = score
            result.best_epoch, result.best = epoch, figs
            result.net = copy.deepcopy(ema.module).eval()
            if checkpoint is not None:
                save(checkpoint, result.net, preset, result.history, {"best_epoch": epoch, "seed": seed, "train_seed": base})
        if max_minutes is not None and (time.perf_counter() - start) / 60 > max_minutes:
            log(f"time budget of {max_minutes} min spent after epoch {epoch}")
            break
        if stop_after is not None and epoch >= stop_after:
            log(f"stopped after epoch {epoch} (--stop-after)")
            break
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - start
    return result


def save(path: Path, net: nn.Module, preset: Preset, history: list[dict[str, float]], meta: dict[str, Any]) -> None:
    """Best state + preset + history (``torch.save`` of tensors and plain data, atomic rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "preset": asdict(preset), "history": history, "heads": list(HEADS), **meta}, tmp)
    tmp.replace(path)


def load(path: Path) -> tuple[nn.Module, Preset, dict[str, Any]]:
    """Rebuild a checkpoint written by :func:`save` (``weights_only`` loading: no code runs)."""
    ck = torch.load(Path(path), map_location="cpu", weights_only=True)
    preset = preset_of(ck["preset"])
    net = build_net(pretrained=False, arch=preset.arch)
    net.load_state_dict(ck["state_dict"])
    return net.eval(), preset, ck


def preset_of(saved: dict[str, Any]) -> Preset:
    """The :class:`Preset` a checkpoint was trained with (older checkpoints: the v2 recipe's defaults)."""
    old = {"blur_p": 0.1, "blur_factors": (4,), "zoom_p": 0.0}
    values = {**{k: v for k, v in old.items() if k not in saved}, **saved}
    return Preset(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


# --- evaluation ----------------------------------------------------------------------------------
def report(parts: dict[str, Part], probs: dict[str, np.ndarray], n_boot: int = 1000) -> dict[str, Any]:
    """Held-out figures with 95 % bootstrap intervals (test patients, PneumoniaMNIST test)."""
    out: dict[str, Any] = {}
    test = parts["nih-test"]
    p = probs["nih-test"]
    per = {}
    for j, lab in enumerate(NIH_LABELS):
        a, lo, hi = bootstrap_auc(test.y[:, j], p[:, j], n_boot)
        per[lab] = {"auc": _r(a), "ci95": [_r(lo), _r(hi)], "positives": int(test.y[:, j].sum()), "n": len(test),
                    "excludes_chance": bool(lo > 0.5) if not math.isnan(lo) else False}
    aucs = [v["auc"] for v in per.values() if v["auc"] is not None]
    out["nih14_findings"] = {"n": len(test), "mean_auc": _r(float(np.mean(aucs))), "per_label": per,
                             "intervals_excluding_chance": sum(v["excludes_chance"] for v in per.values())}
    # the same figures on the randomly drawn part (nih14) alone: nih1000 was drawn half Pneumonia
    rnd = np.array([s.source == "nih14" for s in test.samples])
    vals = [auc(test.y[rnd, j], p[rnd, j]) for j in range(SCREEN)]
    out["nih14_findings"]["mean_auc_random_draw"] = _r(float(np.nanmean(vals)))
    out["nih14_findings"]["n_random_draw"] = int(rnd.sum())
    for name, key in (("adult_pneumonia_vs_no_finding", "nih-test"), ("paediatric_pneumonia_kermany_test", "kermany-test"),
                      ("paediatric_pneumonia_pneumoniamnist_test", "pneumoniamnist-test")):
        if key not in parts:
            continue
        part, pr = parts[key], probs[key]
        keep = part.mask[:, SCREEN] > 0
        a, lo, hi = bootstrap_auc(part.y[keep, SCREEN], pr[keep, SCREEN], n_boot)
        out[name] = {"auc": _r(a), "ci95": [_r(lo), _r(hi)], "positives": int(part.y[keep, SCREEN].sum()),
                     "n": int(keep.sum())}
    return out


def _r(v: float) -> float | None:
    return None if v is None or math.isnan(v) else round(float(v), 4)


def run(shared: Path, out: Path, preset_name: str = "full", seed: int = 0, cache: Path | None = None,
        max_minutes: float | None = None, threads: int = 2, n_boot: int = 1000,
        log: Callable[[str], None] = print, init: Path | None = None,
        stop_after: int | None = None, held_out: bool = True, every_epoch: bool = False,
        train_seed: int | None = None) -> dict[str, Any]:
    """Train, score once on the held-out patients, write ``summary.json`` and ``model.pt`` to ``out``.

    ``held_out=False`` (a candidate run, compared with others on validation only): the test
    patients and PneumoniaMNIST are not scored at all.
    """
    torch.set_num_threads(threads)
    preset = PRESETS[preset_name]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    parts = build_splits(shared, preset.size, cache, seed, preset.limit, pmnist=preset.pmnist_per_epoch > 0)
    log("split (images): " + ", ".join(f"{k} {len(v)}" for k, v in parts.items())
        + f"  [{time.perf_counter() - t0:.0f} s to read]")
    res = train_multitask(parts, preset, seed, out / "model.pt", max_minutes, log, init=init, stop_after=stop_after,
                          every_epoch=every_epoch, train_seed=train_seed)
    spec = input_spec(preset.size, preset.arch)
    if held_out:
        try:
            parts["pneumoniamnist-test"] = pneumoniamnist_test(shared, preset.size)
        except FileNotFoundError:
            log("PneumoniaMNIST not found: its external check is skipped")
    scored = [k for k in parts if k.endswith("-val") or (held_out and not k.endswith("-train"))]
    probs = {k: predict(res.net, parts[k].squares, spec) for k in scored}
    np.savez_compressed(out / "held_out_probs.npz" if held_out else out / "val_probs.npz", **probs)
    summary = {"preset": preset_name, "settings": asdict(preset), "seed": seed, "train_seed": train_seed,
               "best_epoch": res.best_epoch,
               "init": str(init) if init is not None else None, "stop_after": stop_after,
               "validation": res.best, "history": res.history, "train_minutes": round(res.seconds / 60, 1),
               "split": {k: {"images": len(v), "patients": len({s.patient for s in v.samples}) or None}
                         for k, v in parts.items()},
               "held_out": report(parts, probs, n_boot) if held_out else "not scored (candidate run)"}
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if held_out:
        log(json.dumps(summary["held_out"], indent=1))
    return summary
