"""Training the chest gate's view/orientation network (:mod:`core.chest.view`) and choosing its thresholds.

Training uses only NIH ChestX-ray14 (``cxr/nih14``, ``cxr/nih1000``) and Kermany (``cxr/kermany``,
CC BY 4.0) films of *training* patients (:func:`view_split`: SHA-256 of the patient id, 60 % train,
20 % choose for thresholds, 20 % test for the figures). Lateral films never train it; the
thresholds are chosen on the choose patients' frontal films (:func:`choose_thresholds`).

    python -m core.training.view_fit train [--data ../shared/data] [--epochs 40] [--seed 2] [--members 1] [--width 24]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.chest.gate import UNUSUAL_FRACTION, VIEW_CARD, descriptor, image_reference
from core.chest.view import N_CLASSES, ONE_FIELD, SIDE, ViewNet, ViewReading, read_view, thumbnail
from core.training.gate_fit import cli_parser, covid_frontal_rows, parity, read_gray, update_bundled_card

PARTS = ("train", "choose", "test")

THRESHOLD_RULE = (
    "mirror, one_field, rotation: max over NIH and Kermany of the 99.5th percentile on upright films of the choose "
    "patients (rotation at least 2.0); one_field_alone: max over NIH choose, Kermany choose and cxr/covid tuning "
    "patients (even parity) of the 99.9th percentile among films the image statistics do not find unusual"
)
MIN_ROTATION = 2.0  # log-odds; turned films of the choose patients score >= 2.1, text pages and photos <= 1.8

# --- data and split -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Film:
    """One real frontal film: ``source`` (nih14, nih1000, kermany), patient id and path."""

    source: str
    patient: str
    path: Path

    @property
    def group(self) -> str:
        """NIH's two folders share one patient namespace (disjoint patients); Kermany has its own."""
        return "nih" if self.source.startswith("nih") else self.source


def part_of(group: str, patient: str) -> str:
    """``train`` (60 %), ``choose`` (20 %) or ``test`` (20 %) by SHA-256 of the patient id."""
    h = int(hashlib.sha256(f"gate-view:{group}:{patient}".encode()).hexdigest(), 16) % 10
    return "train" if h < 6 else ("choose" if h < 8 else "test")


def frontal_films(data_dir: Path) -> list[Film]:
    """The permissively licensed frontal films of ``data_dir`` (NIH ChestX-ray14 and Kermany).

    Raises:
        FileNotFoundError: none of their label files exists.
    """
    cxr = Path(data_dir) / "cxr"
    films: list[Film] = []
    for source in ("nih14", "nih1000"):
        labels = cxr / source / "labels.csv"
        if labels.is_file():
            with labels.open(encoding="utf-8") as fh:
                films += [Film(source, r["patient"], cxr / source / "images" / r["image"]) for r in csv.DictReader(fh)]
    labels = cxr / "kermany" / "labels.csv"
    if labels.is_file():
        with labels.open(encoding="utf-8") as fh:
            films += [Film("kermany", r["patient"], cxr / "kermany" / r["image"]) for r in csv.DictReader(fh)]
    if not films:
        raise FileNotFoundError(f"no cxr/nih14, cxr/nih1000 or cxr/kermany labels under {data_dir}")
    return films


def view_split(data_dir: Path) -> dict[str, list[Film]]:
    """``{"train": [...], "choose": [...], "test": [...]}`` by patient (:func:`part_of`)."""
    out: dict[str, list[Film]] = {p: [] for p in PARTS}
    for film in frontal_films(data_dir):
        out[part_of(film.group, film.patient)].append(film)
    return out


def lateral_films(data_dir: Path) -> list[tuple[str, Path, str]]:
    """``(patient, path, half)`` of ``cxr/laterals`` (evaluation and thresholds only, never training):
    ``half`` is ``choose`` or ``report`` by SHA-256 parity of the patient id."""
    labels = Path(data_dir) / "cxr" / "laterals" / "labels.csv"
    if not labels.is_file():
        return []
    out = []
    with labels.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            parity = int(hashlib.sha256(f"gate-lateral:{r['patient']}".encode()).hexdigest(), 16) % 2
            out.append((r["patient"], labels.parent / r["image"], "choose" if parity == 0 else "report"))
    return out


def thumbnails(paths: Sequence[Path]) -> np.ndarray:
    """``(n, 64, 64)`` thumbnails (not standardised) of the films at ``paths``."""
    return np.stack([thumbnail(read_gray(p)) for p in paths]) if paths else np.zeros((0, SIDE, SIDE), np.float32)


# --- training (torch; CPU is enough: about 25 min on 2 cores) ----------------------------------------
def _torch_net(width: int = 16) -> Any:
    import torch.nn as nn

    def block(i: int, o: int) -> list[Any]:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

    w = width
    return nn.Sequential(*block(1, w), *block(w, 2 * w), *block(2 * w, 4 * w), *block(4 * w, 4 * w),
                         nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * w * (SIDE // 16) ** 2, N_CLASSES))


def from_torch(modules: Sequence[Any], meta: dict[str, Any]) -> ViewNet:
    """The numpy :class:`ViewNet` of trained :func:`_torch_net` members (eval mode; batch norm folded)."""
    import torch.nn as nn

    members = []
    for module in modules:
        layers = list(module)
        convs = []
        for i, layer in enumerate(layers):
            if isinstance(layer, nn.Conv2d):
                bn = layers[i + 1]
                scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().numpy()
                w = layer.weight.detach().numpy() * scale[:, None, None, None]  # (O, C, 3, 3)
                b = bn.bias.detach().numpy() - bn.running_mean.detach().numpy() * scale
                convs.append((np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])), b))
        fc = layers[-1]
        members.append((tuple(convs), (np.ascontiguousarray(fc.weight.detach().numpy().T), fc.bias.detach().numpy())))
    return ViewNet(tuple(members), meta)


def train(thumbs: np.ndarray, sources: Sequence[str], epochs: int = 30, seed: int = 0, width: int = 16,
          batch: int = 64, progress: bool = True) -> Any:
    """Train the torch network on ``(n, 64, 64)`` thumbnails of upright frontal films.

    Each step draws films with NIH and Kermany equally likely, augments them (affine: +-10 degrees,
    scale +-15 %, aspect +-15 %, shift +-8 %; gamma 0.67-1.5), makes 1 in 9 of them "one lung field"
    (a 40-60 % cut, either half stretched to the full width), then applies a random symmetry of the
    square; the label is that symmetry, or class 8.
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    torch.manual_seed(seed)
    x_all = torch.as_tensor(np.asarray(thumbs, np.float32))[:, None]
    kermany = np.asarray([s == "kermany" for s in sources])
    weights = np.where(kermany, 1.0 / max(1, kermany.sum()), 1.0 / max(1, (~kermany).sum()))
    weights = torch.as_tensor(weights / weights.sum())
    model = _torch_net(width)
    opt = torch.optim.AdamW(model.parameters(), 2e-3, weight_decay=1e-4)
    per_epoch = max(1, len(x_all) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * per_epoch)

    def augment(x: Any) -> Any:
        n = x.shape[0]
        ang = (torch.rand(n) - 0.5) * 2 * np.deg2rad(10)
        sc = 1 + (torch.rand(n) - 0.5) * 0.3
        asp = torch.exp((torch.rand(n) - 0.5) * 0.3)
        tx, ty = (torch.rand(n) - 0.5) * 0.16, (torch.rand(n) - 0.5) * 0.16
        cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
        theta = torch.stack([torch.stack([cos * asp, -sin, tx], 1), torch.stack([sin, cos / asp, ty], 1)], 1)
        x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), padding_mode="border", align_corners=False)
        return x.clamp(0, 1) ** torch.exp((torch.rand(n, 1, 1, 1) - 0.5) * 0.8)

    def one_field(x: Any) -> Any:
        out = []
        for j in range(x.shape[0]):
            cut = int(SIDE * (0.4 + 0.2 * torch.rand(1).item()))
            part = x[j:j + 1, :, :, :cut] if torch.rand(1).item() < 0.5 else x[j:j + 1, :, :, cut:]
            out.append(F.interpolate(part, size=(SIDE, SIDE), mode="bilinear", align_corners=False))
        return torch.cat(out)

    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        for _ in range(per_epoch):
            idx = torch.multinomial(weights, batch, replacement=True)
            x = augment(x_all[idx])
            k = torch.randint(0, 8, (batch,))
            half = torch.rand(batch) < 1 / N_CLASSES
            if half.any():
                x[half] = one_field(x[half])
            x = torch.stack([torch.rot90(x[j].flip(-1) if k[j] >= 4 else x[j], int(k[j]) % 4, dims=(-2, -1)) for j in range(batch)])
            x = (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + 1e-6)
            loss = F.cross_entropy(model(x), torch.where(half, torch.tensor(ONE_FIELD), k), label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            done = time.time() - t0
            eta = done / (epoch + 1) * (epochs - epoch - 1)
            print(f"  epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}, {done:.0f} s, ETA {eta:.0f} s", flush=True)
    return model.eval()


def readings(thumbs: np.ndarray, net: ViewNet) -> list[ViewReading]:
    """:func:`read_view` of thumbnails (already 64 x 64): the same reading as from the full image."""
    return [read_view(t, net) for t in thumbs]


def choose_thresholds(choose: dict[str, np.ndarray], net: ViewNet, quantile: float = 99.5) -> dict[str, float]:
    """Thresholds from upright frontal films of the *choose* patients only, per source (``choose``:
    source -> thumbnails); for each score, the largest over the sources of its ``quantile``-th
    percentile, so that at most 0.5 % of each source's upright films are flagged by it:
    ``mirror`` (mirror_score), ``one_field`` and ``rotation`` (rotation_score; at least
    :data:`MIN_ROTATION`, which keeps text pages and photos from being read as turned films)."""
    out = {"mirror": -np.inf, "one_field": -np.inf, "rotation": MIN_ROTATION}
    for thumbs in choose.values():
        rs = readings(thumbs, net)
        out["mirror"] = max(out["mirror"], float(np.percentile([r.mirror_score for r in rs], quantile)))
        out["one_field"] = max(out["one_field"], float(np.percentile([r.one_field for r in rs], quantile)))
        out["rotation"] = max(out["rotation"], float(np.percentile([r.rotation_score for r in rs], quantile)))
    return out


def covid_tuning_films(data_dir: Path) -> list[Path]:
    """Frontal films of ``cxr/covid`` (other hospitals, every licence: thresholds only, never training)
    whose SHA-256 of ``source:patient`` is even, as the feature statistics' tuning films
    (:func:`core.training.gate_fit.feature_split`); the odd ones stay held out."""
    meta = Path(data_dir) / "cxr" / "covid" / "metadata.csv"
    if not meta.is_file():
        return []
    return [meta.parent / "images" / r["image"] for r in covid_frontal_rows(meta)
            if parity(f"{r.get('source', 'covid')}:{r['patient']}") == 0]


def choose_one_field_alone(groups: dict[str, Sequence[Path]], net: ViewNet, quantile: float = 99.9) -> float:
    """The one-field probability from which a film is called lateral on the network's word alone: the
    largest over ``groups`` (source -> real frontal films not used for training) of the
    ``quantile``-th percentile among the films the image-level statistics do not find unusual. Below
    it (and above ``one_field``), a film is called lateral only when the image statistics find it
    unusual too (:func:`core.chest.gate.check_view`).

    Raises:
        FileNotFoundError: the image-level statistics are not installed.
    """
    reference = image_reference()
    if reference is None:
        raise FileNotFoundError("the image-level statistics (chest-gate-image-stats) are not installed")
    out = 0.0
    for paths in groups.values():
        values = []
        for path in paths:
            gray = read_gray(path)
            if reference.score(descriptor(gray)) < UNUSUAL_FRACTION * reference.threshold:
                values.append(read_view(gray, net).one_field)
        if values:
            out = max(out, float(np.percentile(values, quantile)))
    return out


# --- CLI --------------------------------------------------------------------------------------------
def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    from core.models import registry

    torch.set_num_threads(args.threads)
    split = view_split(Path(args.data))
    train_films = split["train"]
    print(f"split by patient: train {len(train_films)}, choose {len(split['choose'])}, test {len(split['test'])} films; reading thumbnails")
    thumbs = thumbnails([f.path for f in train_films])
    seeds = list(range(args.seed, args.seed + args.members))
    models = []
    for seed in seeds:
        print(f"member {len(models) + 1}/{len(seeds)} (seed {seed}):")
        models.append(train(thumbs, [f.source for f in train_films], epochs=args.epochs, seed=seed, width=args.width))
    meta: dict[str, Any] = {
        "kind": "chest-gate-view-cnn", "side": SIDE, "classes": [f"dihedral{k}" for k in range(8)] + ["one_field"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "epochs": args.epochs, "seeds": seeds, "width": args.width,
        "train_films": {s: sum(f.source == s for f in train_films) for s in ("nih14", "nih1000", "kermany")},
        "split": "sha256('gate-view:<nih|kermany>:<patient>') % 10: 0-5 train, 6-7 choose, 8-9 test",
    }
    net = from_torch(models, meta)
    choose = {g: thumbnails([f.path for f in split["choose"] if f.group == g]) for g in ("nih", "kermany")}
    thresholds = choose_thresholds(choose, net)
    groups = {g: [f.path for f in split["choose"] if f.group == g] for g in ("nih", "kermany")}
    groups["covid"] = covid_tuning_films(Path(args.data))
    thresholds["one_field_alone"] = choose_one_field_alone(groups, net)
    meta["thresholds"] = thresholds
    meta["threshold_rule"] = THRESHOLD_RULE
    net = ViewNet(net.members, meta)
    out = Path(args.out) if args.out else registry.BUNDLED_DIR / registry.get_card(VIEW_CARD).file
    net.save(out)
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    where = "not registered (--out)"
    if not args.out:
        where = f"updated the checksum in {update_bundled_card(registry.get_card(VIEW_CARD), sha, out.stat().st_size)}"
    print(f"thresholds {json.dumps(thresholds)}; wrote {out} ({out.stat().st_size} bytes, sha256 {sha}); {where}")
    print("figures on held-out patients: python bench/bench_chest.py gate-view")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.training.view_fit train`` (see the module docstring)."""
    parser, sub, default_data = cli_parser("core.training.view_fit", __doc__ or "")
    tr = sub.add_parser("train", help="train the committed view/orientation network and choose its thresholds")
    tr.add_argument("--data", default=str(default_data))
    tr.add_argument("--epochs", type=int, default=40)
    tr.add_argument("--seed", type=int, default=2, help="seed of the first member (the others: seed + 1, ...)")
    tr.add_argument("--members", type=int, default=1, help="independently trained members, probabilities averaged")
    tr.add_argument("--width", type=int, default=24, help="channels of the first block (then 2x, 4x, 4x)")
    tr.add_argument("--threads", type=int, default=2)
    tr.add_argument("--out", default="", help="write here only (the card is not updated)")
    tr.set_defaults(func=_cmd_train)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except FileNotFoundError as err:
        print(str(err), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
