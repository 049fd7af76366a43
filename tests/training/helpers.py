"""Tiny, carefully built data for the training tests (no real images needed)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image


def blob_image(side: str, seed: int, size: int = 48) -> np.ndarray:
    """A grey 'radiograph' with a bright blob on the ``left`` or ``right`` (uint8)."""
    rng = np.random.default_rng(seed)
    img = rng.normal(90, 12, (size, size))
    yy, xx = np.mgrid[0:size, 0:size]
    cx = size * (0.3 if side == "left" else 0.7)
    img += 120 * np.exp(-((xx - cx) ** 2 + (yy - size / 2) ** 2) / (2 * (size / 8) ** 2))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_image_folder(root: Path, per_class: int = 8, size: int = 48, patients_csv: bool = True) -> Path:
    """``root/left/*.png`` and ``root/right/*.png``; two images per patient when ``patients_csv``."""
    rows = []
    for c, side in enumerate(("left", "right")):
        (root / side).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            name = f"{side}/img{i:02d}.png"
            Image.fromarray(blob_image(side, 100 * c + i, size)).save(root / name)
            rows.append((name, f"p-{side}-{i // 2}"))
    if patients_csv:
        with (root / "patients.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "patient"])
            w.writerows(rows)
    return root


def make_shared_like(root: Path) -> Path:
    """A miniature ``shared/data`` with the real CSV layouts (NIH labels.csv, covid metadata.csv)."""
    nih = root / "cxr" / "nih14"
    (nih / "images").mkdir(parents=True)
    labels = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
              "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia"]
    with (nih / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient", *labels, "No_Finding"])
        for i in range(12):
            name = f"{i:08d}_000.png"
            Image.fromarray(blob_image("left" if i % 2 else "right", i)).save(nih / "images" / name)
            flags = [1 if (j == i % 3) and i % 4 else 0 for j in range(14)]
            if i % 5 == 0:
                flags[6] = 1  # Pneumonia
            w.writerow([name, f"{i:08d}", *flags, int(not any(flags))])
    cov = root / "cxr" / "covid"
    (cov / "images").mkdir(parents=True)
    rows = [
        ("a.jpg", "ieee8023-covid-chestxray", "1", "COVID-19", "PA", "CC BY 4.0"),
        ("b.jpg", "ieee8023-covid-chestxray", "1", "COVID-19", "AP", "CC BY 4.0"),
        ("c.jpg", "ieee8023-covid-chestxray", "2", "Streptococcus", "PA", "CC BY-NC-SA"),
        ("d.jpg", "ieee8023-covid-chestxray", "3", "todo", "PA", "CC BY 3.0"),
        ("e.jpg", "actualmed", "ANON1", "No finding", "PA", "research use (COVID-Net data initiative; no licence stated)"),
        ("f.jpg", "actualmed", "ANON2", "COVID-19", "AP", "research use (COVID-Net data initiative; no licence stated)"),
        ("g.jpg", "ieee8023-covid-chestxray", "4", "COVID-19, ARDS", "AP Supine", "CC BY 3.0"),
        ("h.jpg", "ieee8023-covid-chestxray", "5", "No Finding", "PA", ""),
        ("i.jpg", "ieee8023-covid-chestxray", "6", "Unknown", "PA", "CC BY"),
    ]
    with (cov / "metadata.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "source", "patient", "finding", "view", "sex", "age", "license", "doi", "url", "lung_boxes_xywh"])
        for k, (name, src, pat, finding, view, lic) in enumerate(rows):
            Image.fromarray(blob_image("left", 50 + k)).convert("RGB").save(cov / "images" / name)
            w.writerow([name, src, pat, finding, view, "M", "60", lic, "", "", ""])
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 10), ("val", 4), ("test", 4)):
        arrays[f"{split}_images"] = rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).reshape(-1, 1)
    np.savez(root / "pneumoniamnist.npz", **arrays)
    return root
