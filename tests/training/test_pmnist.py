"""Matching PneumoniaMNIST thumbnails to their films, on built films and on the real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from core.training.pmnist import MIN_CORRELATION, match_thumbnails, thumbnail_patients, upscale


def _films(n: int, side: int = 112, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (n, 1, 14, 14)).astype(np.float32)  # smooth films: structure at 28 px
    return F.interpolate(torch.from_numpy(coarse), size=(side, side), mode="bilinear")[:, 0].numpy()


def test_a_centre_crop_thumbnail_finds_its_film() -> None:
    films = _films(40)
    side = films.shape[-1]
    picks = [3, 17, 29]
    thumbs = []
    for k, i in enumerate(picks):  # crops 1.0x, 1.4x and 1.8x wider than tall, as PneumoniaMNIST's
        w = round(side / (1.0, 1.4, 1.8)[k])
        left = (side - w) // 2
        crop = torch.from_numpy(films[i][None, None, :, left:left + w])
        thumbs.append(F.interpolate(crop, size=(28, 28), mode="area")[0, 0].numpy())
    index, corr = match_thumbnails(np.stack(thumbs).round().astype(np.uint8), films)
    assert list(index) == picks
    assert (corr > MIN_CORRELATION).all()
    # a thumbnail of an unrelated film matches nothing well
    stranger = F.interpolate(torch.from_numpy(_films(1, seed=9)[None]), size=(28, 28), mode="area")[0].numpy()
    _, low = match_thumbnails(stranger.astype(np.uint8), films)
    assert low[0] < MIN_CORRELATION


def test_upscale_keeps_the_thumbnail() -> None:
    thumbs = np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    up = upscale(thumbs, 224)
    assert up.shape == (2, 224, 224) and up.dtype == np.uint8
    back = F.interpolate(torch.from_numpy(up).float()[:, None], size=(28, 28), mode="area")[:, 0].numpy()
    assert np.corrcoef(back.ravel(), thumbs.ravel().astype(float))[0, 1] > 0.9


@pytest.mark.slow
def test_real_thumbnails_match_films_of_the_same_label(shared_data: Path, tmp_path: Path) -> None:
    if not (shared_data / "pneumoniamnist.npz").is_file():
        pytest.skip("needs ../shared/data/pneumoniamnist.npz")
    thumbs, labels, keys, corr = thumbnail_patients(shared_data, tmp_path)
    assert len(keys) == len(thumbs) == len(labels)
    assert np.median(corr) > MIN_CORRELATION and (corr >= MIN_CORRELATION).mean() > 0.9
    import csv

    with (shared_data / "cxr" / "kermany" / "labels.csv").open(newline="", encoding="utf-8") as fh:
        label_of = {}
        for row in csv.DictReader(fh):
            label_of.setdefault(f"kermany:{row['patient']}", set()).add(row["label"].strip().lower() == "pneumonia")
    agree = np.mean([bool(lab) in label_of[k] for lab, k in zip(labels, keys, strict=True)])
    assert agree > 0.99  # a matched film is the thumbnail's film: same diagnosis
    again = thumbnail_patients(shared_data, tmp_path)  # cached
    assert (again[2] == keys).all()
