"""PneumoniaMNIST's train/val thumbnails as training data, without leaking held-out patients.

PneumoniaMNIST (MedMNIST, CC BY 4.0) is Kermany's collection at 28 x 28: centre crops of the original
films. Its ``train_*``/``val_*`` images are films of Kermany's training split, the same films as
``cxr/kermany`` (whole films squeezed to 224 x 224), but without patient ids. So each thumbnail is
matched to its film here: every ``cxr/kermany`` film is cut to centre crops of several widths and
heights, reduced to 28 x 28, and the thumbnail takes the patient of the film it correlates with best
(normalised cross-correlation; on this data the median best correlation is 0.98 and the matched
film's label agrees with the thumbnail's for 99.98 % of thumbnails).

A thumbnail joins the split of its patient in :func:`core.training.multitask.split_sets`: those of
training patients may be trained on, those of validation patients help choose, and those of **test**
patients, or matched below ``MIN_CORRELATION``, are never used. PneumoniaMNIST's ``test_*`` images
(Kermany's official test patients) stay an external test, never trained on or chosen with.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

MIN_CORRELATION = 0.95
# centre crops tried (width factor, height factor) of the 224 px squeezed films
_STRETCH = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8)
_ZOOM = (1.0, 1.1, 1.2)


def _unit_rows(a: np.ndarray) -> torch.Tensor:
    flat = torch.from_numpy(a.reshape(len(a), -1).astype(np.float32))
    flat = flat - flat.mean(1, keepdim=True)
    return flat / (flat.norm(dim=1, keepdim=True) + 1e-6)


def match_thumbnails(thumbs: np.ndarray, films: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each ``(N, 28, 28)`` thumbnail, the index of the best-matching ``(M, S, S)`` film and the
    correlation (over centre crops of the film of several widths and heights)."""
    x = torch.from_numpy(films.astype(np.float32))[:, None]
    side = films.shape[-1]
    thumb_rows = _unit_rows(thumbs)
    best = torch.full((len(thumbs),), -1.0)
    arg = torch.zeros(len(thumbs), dtype=torch.long)
    for stretch in _STRETCH:
        for zoom in _ZOOM:
            h, w = round(side / zoom), round(side / (zoom * stretch))
            top, left = (side - h) // 2, (side - w) // 2
            small = F.interpolate(x[:, :, top:top + h, left:left + w], size=thumbs.shape[-2:], mode="area")[:, 0]
            value, index = (thumb_rows @ _unit_rows(small.numpy()).T).max(1)
            better = value > best
            best[better], arg[better] = value[better], index[better]
    return arg.numpy(), best.numpy()


def upscale(thumbs: np.ndarray, size: int) -> np.ndarray:
    """28 px thumbnails -> ``size`` px uint8 squares (bilinear), as the external test is read."""
    x = torch.from_numpy(thumbs).float()[:, None]
    up = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return up[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def thumbnail_patients(shared: Path, cache: Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PneumoniaMNIST ``train_*`` + ``val_*``: (thumbnails, labels, matched ``kermany:<patient>`` keys,
    correlations); cached in ``cache`` (a minute to compute on 2 cores).

    Raises:
        FileNotFoundError: ``pneumoniamnist.npz`` or ``cxr/kermany/labels.csv`` is missing.
    """
    from PIL import Image

    data = np.load(Path(shared) / "pneumoniamnist.npz")
    thumbs = np.concatenate([data["train_images"], data["val_images"]])
    labels = np.concatenate([data["train_labels"], data["val_labels"]]).reshape(-1).astype(np.float32)
    stored = Path(cache) / "pneumoniamnist-match.npz" if cache is not None else None
    if stored is not None and stored.is_file():
        saved = np.load(stored)
        if len(saved["keys"]) == len(thumbs):
            return thumbs, labels, saved["keys"].astype(str), saved["corr"]
    csv_path = Path(shared) / "cxr" / "kermany" / "labels.csv"
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    films = np.stack([np.asarray(Image.open(csv_path.parent / r["image"]).convert("L")) for r in rows])
    index, corr = match_thumbnails(thumbs, films)
    keys = np.array([f"kermany:{rows[i]['patient']}" for i in index])
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(stored, keys=keys, corr=corr)
    return thumbs, labels, keys, corr
