"""Build a tiny dataset in the AI Hub "유형별 두피 이미지" layout from phantoms with known grades."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.scalp.synthetic import encode_jpeg, make_phantom

FOLDERS = ("미세각질", "피지과다", "모낭사이홍반", "모낭홍반농포", "비듬", "탈모")
GRADE_NAMES = ("0.양호", "1.경증", "2.중등도", "3.중증")


def phantom_for(grades: tuple[int, ...], seed: int, size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """A small phantom whose drawn features grow with each grade."""
    w, h = size
    fine, sebum, red, pustule, dandruff, loss = grades
    return make_phantom(
        width=w, height=h, seed=seed, hairs=max(1, 12 - 3 * loss), hair_width=3.0,
        fine_flakes=6 * fine, fine_flake_radius=(1.0, 2.0), large_flakes=dandruff, large_flake_radius=(5.0, 8.0),
        red_blotches=red, red_radius=(10.0, 18.0), pustules=pustule, pustule_radius=3.0,
        shine_spots=4 * sebum, shine_radius=(2.0, 4.0),
    ).rgb


def write_tiny_aihub(root: Path, n_train: int = 16, n_val: int = 8, seed: int = 0) -> Path:
    """Write Training/ and Validation/ folders with [원천] images and [라벨] JSON labels."""
    rng = np.random.default_rng(seed)
    for split, n in (("Training", n_train), ("Validation", n_val)):
        for i in range(n):
            grades = tuple(int(v) for v in rng.integers(0, 4, size=6))
            main = int(np.argmax(grades))
            folder = f"{FOLDERS[main]}_{GRADE_NAMES[grades[main]]}"
            image_id = f"{i:04d}_A2LEBJJDE{split[0]}{i:05d}_{1600000000000 + i}_{i % 7}_TH"
            img_dir = root / split / f"[원천]{folder}"
            lab_dir = root / split / f"[라벨]{folder}"
            img_dir.mkdir(parents=True, exist_ok=True)
            lab_dir.mkdir(parents=True, exist_ok=True)
            (img_dir / f"{image_id}.jpg").write_bytes(encode_jpeg(phantom_for(grades, seed * 1000 + i)))
            label = {"image_id": image_id, "image_file_name": f"{image_id}.jpg"}
            label.update({f"value_{k + 1}": str(g) for k, g in enumerate(grades)})
            (lab_dir / f"{image_id}.json").write_text(json.dumps(label, ensure_ascii=False), encoding="utf-8")
    return root
