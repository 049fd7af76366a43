"""Training data of the shoulder model: image folders, the labelled folder layout
(``normal/``, ``osteopenia/``, ``osteoporosis/`` and an optional ``patients.csv``), the
patient-level split and the resized image cache. Used by :mod:`core.shoulder.train` only.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from core.errors import UserError
from core.shoulder.inference import resize_square
from core.shoulder.net import LABELS

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".dcm", ".dicom", ".tif", ".tiff", ".bmp"}


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted)."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_gray(path: Path) -> np.ndarray:
    """A display-ready grayscale float32 image in [0, 1] via the shared loader (DICOM included).

    Raises:
        core.imaging.ImageError: the file is not a readable image.
    """
    try:
        from core.imaging import load_image
    except ImportError:  # the shared loader is not installed: plain PNG/JPEG only
        from PIL import Image

        with Image.open(path) as im:
            return np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    return np.asarray(load_image(path.read_bytes(), path.name).gray(), dtype=np.float32)


def load_cache(paths: Sequence[Path], size: int, log=print) -> torch.Tensor:  # noqa: ANN001
    """Read and resize every image once: (N, 1, size, size) float tensor in [0, 1]. Unreadable files are skipped.

    Raises:
        SystemExit: no file could be read.
    """
    arrays = []
    for p in paths:
        try:
            arrays.append(resize_square(read_gray(p), size))
        except (UserError, OSError, ValueError) as exc:
            log(f"skip {p}: {exc}")
    if not arrays:
        raise SystemExit("no readable images found")
    return torch.from_numpy(np.stack(arrays))[:, None]


def labelled_items(folder: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """(paths, labels as indices into :data:`LABELS`, patient ids) of a labelled folder.

    Raises:
        SystemExit: no class sub-folder holds an image.
    """
    folder = Path(folder)
    patients: dict[str, str] = {}
    pfile = folder / "patients.csv"
    if pfile.is_file():
        with pfile.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                patients[row["file"]] = row["patient"]
    paths: list[Path] = []
    labels: list[int] = []
    groups: list[str] = []
    for k, name in enumerate(LABELS):
        for p in list_images(folder / name):
            rel = p.relative_to(folder).as_posix()
            paths.append(p)
            labels.append(k)
            groups.append(patients.get(rel, rel))
    if not paths:
        raise SystemExit(f"{folder}: no images in {', '.join(LABELS)} sub-folders")
    return paths, np.array(labels), groups


def split_by_patient(labels: np.ndarray, groups: list[str], val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): patients are shuffled within each class and never split."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for k in np.unique(labels):
        pats = sorted({g for g, lab in zip(groups, labels, strict=True) if lab == k})
        rng.shuffle(pats)
        n_val = max(1, int(round(len(pats) * val_fraction))) if len(pats) > 1 else 0
        val_p = set(pats[:n_val])
        for i, (g, lab) in enumerate(zip(groups, labels, strict=True)):
            if lab == k:
                (val if g in val_p else train).append(i)
    return np.array(sorted(train)), np.array(sorted(val))
