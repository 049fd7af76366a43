"""Reader for the AI Hub "유형별 두피 이미지" (dataset 216) folder layout, without torch.

The release unpacks into ``Training/`` and ``Validation/`` folders, each holding image folders
(``[원천]<condition>_<grade>.<label>/``) and label folders (``[라벨]<condition>_<grade>.<label>/``)
with one JSON file per image::

    {"image_id": "0013_A2LEBJJDE00060O_1606550825417_2_TH",
     "image_file_name": "0013_A2LEBJJDE00060O_1606550825417_2_TH.jpg",
     "value_1": "0", "value_2": "1", "value_3": "0", "value_4": "0", "value_5": "0", "value_6": "2"}

``value_1``..``value_6`` are the grades (0 good .. 3 severe) of fine scale, excess sebum,
erythema between follicles, follicular erythema/pustules, dandruff and hair loss. The reader does
not depend on the folder names beyond the split: it finds every JSON with those six values and
the image it names anywhere under the root. An image that appears under several condition
folders is read once.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core.scalp.severity import CONDITIONS

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VALUE_KEYS = tuple(f"value_{i}" for i in range(1, 7))
_SPLITS = (("val", re.compile(r"valid|^val$|^va$|검증", re.I)), ("test", re.compile(r"^test|테스트", re.I)),
           ("train", re.compile(r"train|^tr$|학습|훈련", re.I)))


class DatasetError(ValueError):
    """The folder holds no usable AI Hub scalp labels."""


@dataclass(frozen=True)
class Sample:
    image: Path
    labels: tuple[int, ...]
    split: str
    image_id: str


@dataclass
class ReadReport:
    """What the reader found and skipped (printed by the CLI)."""

    samples: list[Sample] = field(default_factory=list)
    json_files: int = 0
    skipped_bad_label: int = 0
    skipped_no_image: int = 0
    duplicates: int = 0

    def counts(self) -> dict[str, dict[str, list[int]]]:
        """Per split, per condition: how many images of each grade."""
        out: dict[str, dict[str, list[int]]] = {}
        for split in sorted({s.split for s in self.samples}):
            rows = [s for s in self.samples if s.split == split]
            out[split] = {}
            for i, cond in enumerate(CONDITIONS):
                c = Counter(s.labels[i] for s in rows)
                out[split][cond] = [c.get(g, 0) for g in range(4)]
        return out


def split_of(path: Path, root: Path) -> str:
    """"train", "val" or "test" from the folder names between ``root`` and ``path``."""
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        parts = path.parts[:-1]
    for part in parts:
        for name, pattern in _SPLITS:
            if pattern.search(part):
                return name
    return "train"


def parse_labels(data: object) -> tuple[int, ...] | None:
    """The six grades of one label JSON, or None when any is missing or not 0-3."""
    if not isinstance(data, dict):
        return None
    values = []
    for key in VALUE_KEYS:
        raw = data.get(key)
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            return None
        if value not in (0, 1, 2, 3):
            return None
        values.append(value)
    return tuple(values)


def read_aihub(root: Path) -> ReadReport:
    """Read every labelled image under ``root``.

    Raises:
        DatasetError: ``root`` is not a folder or holds no usable label.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    images: dict[str, list[Path]] = {}
    for path in root.rglob("*"):
        if path.suffix.lower() in IMAGE_EXTS and path.is_file():
            images.setdefault(path.name.lower(), []).append(path)
            images.setdefault(path.stem.lower(), []).append(path)
    report = ReadReport()
    seen: set[tuple[str, str]] = set()
    for label_path in sorted(root.rglob("*.json")):
        report.json_files += 1
        try:
            data = json.loads(label_path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            report.skipped_bad_label += 1
            continue
        labels = parse_labels(data)
        if labels is None:
            report.skipped_bad_label += 1
            continue
        name = str(data.get("image_file_name") or data.get("image_id") or label_path.stem)
        image_id = str(data.get("image_id") or Path(name).stem)
        split = split_of(label_path, root)
        candidates = images.get(name.lower()) or images.get(Path(name).stem.lower()) or []
        if not candidates:
            report.skipped_no_image += 1
            continue
        same_split = [p for p in candidates if split_of(p, root) == split]
        image = (same_split or candidates)[0]
        if (split, image_id) in seen:
            report.duplicates += 1
            continue
        seen.add((split, image_id))
        report.samples.append(Sample(image, labels, split, image_id))
    if not report.samples:
        raise DatasetError(
            f"no labelled images under {root}: expected JSON files with value_1..value_6 "
            f"({report.json_files} JSON read, {report.skipped_bad_label} without valid values, "
            f"{report.skipped_no_image} without their image)"
        )
    return report


def train_val(samples: list[Sample], val_fraction: float = 0.15, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """The dataset's own train/val split when it has one, else a seeded random split.

    AI Hub image ids start with a subject/session prefix (``0013_...``); the random split keeps
    all images with one prefix on the same side so near-duplicate shots do not leak.
    """
    train = [s for s in samples if s.split == "train"]
    val = [s for s in samples if s.split == "val"]
    if train and val:
        return train, val
    pool = train or samples
    groups: dict[str, list[Sample]] = {}
    for s in pool:
        groups.setdefault(s.image_id.split("_")[0], []).append(s)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_val = max(1, round(len(keys) * val_fraction)) if len(keys) > 1 else 0
    val_keys = set(keys[:n_val])
    return ([s for k in keys if k not in val_keys for s in groups[k]],
            [s for k in keys if k in val_keys for s in groups[k]])
