"""Built radiograph-like images of other body parts (hand, knee), to measure the chest input gate.

They are projections, like :mod:`core.shoulder.phantom`: bones are capsules (a cylinder with round
ends) of dense cortex around a less dense marrow canal, inside soft tissue made of wider capsules;
each pixel shows the attenuation summed along the ray (bone bright, air dark), blurred by a
Gaussian point-spread function, with quantum (Poisson) and detector (Gaussian) noise. They are
not anatomy: they share what a real hand or knee film has and a chest film lacks (long bones,
joints, air around a limb, no lung fields), so a gate that lets them through would also let real
non-chest radiographs through. ``bench/bench_chest.py gate`` and ``tests/chest`` use them.

Usage::

    from core.chest.phantoms import hand_like, knee_like
    img = hand_like(seed=0)      # float32 (H, W) in [0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


def _chord(radius: np.ndarray | float, d: np.ndarray) -> np.ndarray:
    """Chord length through a circle of ``radius`` at distance ``d`` from its centre (0 outside).

    The same projection as :mod:`core.shoulder.phantom` (a sibling package, so not imported).
    """
    return 2.0 * np.sqrt(np.clip(np.asarray(radius) ** 2 - d * d, 0.0, None))


@dataclass(frozen=True)
class Capsule:
    """A segment ``(x0, y0) -> (x1, y1)`` (pixels) swept by a disc of ``radius`` pixels.

    ``mu``: attenuation per pixel of path; ``canal``: radius of a hollow core with ``mu_canal``
    (a long bone's marrow canal), 0 for none.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    radius: float
    mu: float
    canal: float = 0.0
    mu_canal: float = 0.0


def _distance(xs: np.ndarray, ys: np.ndarray, c: Capsule) -> np.ndarray:
    dx, dy = c.x1 - c.x0, c.y1 - c.y0
    length2 = dx * dx + dy * dy or 1.0
    t = np.clip(((xs - c.x0) * dx + (ys - c.y0) * dy) / length2, 0.0, 1.0)
    return np.hypot(xs - (c.x0 + t * dx), ys - (c.y0 + t * dy))


def _rotated_adder(caps: list[Capsule], cx: float, cy: float, tilt: float) -> Callable[..., None]:
    """``add(x0, y0, x1, y1, r, mu, bone=True)``: append a capsule (a bone with a cortex, or soft
    tissue) given upright, rotated by ``tilt`` about (``cx``, ``cy``)."""

    def rot(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - cx, y - cy
        return cx + dx * math.cos(tilt) - dy * math.sin(tilt), cy + dx * math.sin(tilt) + dy * math.cos(tilt)

    def add(x0: float, y0: float, x1: float, y1: float, r: float, mu: float, bone: bool = True) -> None:
        a, b = rot(x0, y0), rot(x1, y1)
        caps.append(_bone(a[0], a[1], b[0], b[1], r, mu) if bone else Capsule(a[0], a[1], b[0], b[1], r, mu))

    return add


def render(shape: tuple[int, int], capsules: list[Capsule], *, blur: float = 1.2, photons: float = 3000.0,
           noise_sd: float = 0.004, seed: int = 0) -> np.ndarray:
    """Project ``capsules`` onto a ``shape`` (rows, cols) detector; float32 [0, 1], dense = bright."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    atten = np.zeros((h, w))
    for c in capsules:
        d = _distance(xs, ys, c)
        outer = _chord(c.radius, d)
        if c.canal > 0:
            inner = _chord(c.canal, d)
            atten += c.mu * (outer - inner) + c.mu_canal * inner
        else:
            atten += c.mu * outer
    if blur > 0:
        atten = ndimage.gaussian_filter(atten, blur, mode="nearest")
    peak = float(atten.max()) or 1.0
    img = 0.06 + 0.86 * atten / peak
    rng = np.random.default_rng(seed)
    if photons > 0:
        signal = np.exp(-atten / peak * 2.0)
        counts = rng.poisson(photons * signal) / photons
        img = img + (signal - counts) * 0.4
    if noise_sd > 0:
        img = img + rng.normal(0.0, noise_sd, img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def _bone(x0: float, y0: float, x1: float, y1: float, r: float, mu: float = 0.05) -> Capsule:
    return Capsule(x0, y0, x1, y1, r, mu, canal=0.6 * r, mu_canal=0.3 * mu)


def hand_like(seed: int = 0, shape: tuple[int, int] = (640, 512)) -> np.ndarray:
    """A PA hand-like film: forearm bones, carpals, five metacarpals and phalanges, soft tissue.

    Pose, spread of the fingers, bone sizes and noise vary with ``seed``.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    soft = 0.004
    cx = w * rng.uniform(0.45, 0.55)
    wrist_y = h * rng.uniform(0.78, 0.84)
    tilt = math.radians(rng.uniform(-12, 12))
    spread = rng.uniform(0.7, 1.2)
    caps: list[Capsule] = []

    cap = _rotated_adder(caps, cx, wrist_y, tilt)  # parts placed upright, rotated about the wrist centre

    # forearm soft tissue, radius and ulna running off the bottom edge
    cap(cx, wrist_y, cx, h + 200, w * 0.17, soft, False)
    cap(cx - w * 0.07, wrist_y + 10, cx - w * 0.08, h + 200, w * 0.045, 0.05, True)
    cap(cx + w * 0.075, wrist_y + 18, cx + w * 0.085, h + 200, w * 0.03, 0.05, True)
    # palm soft tissue and carpals
    palm_top = wrist_y - h * 0.36
    cap(cx, wrist_y - 10, cx, palm_top + 20, w * 0.19, soft * 0.6, False)  # the palm is flat: thinner than round
    for i in range(8):
        px = cx + (i % 4 - 1.5) * w * 0.045 + rng.normal(0, 3)
        py = wrist_y - 25 - (i // 4) * 30 + rng.normal(0, 3)
        cap(px, py, px + rng.normal(0, 4), py - 8, w * rng.uniform(0.018, 0.026), 0.045, False)
    # digits: thumb (2 phalanges) + four fingers (3 phalanges)
    angles = np.array([-48, -18, -5, 7, 20]) * spread + rng.normal(0, 2, 5)
    lengths = np.array([0.72, 1.0, 1.08, 1.02, 0.82]) * h * 0.17
    for digit in range(5):
        ang = math.radians(angles[digit])
        ux, uy = math.sin(ang), -math.cos(ang)
        base_x = cx + (digit - 2) * w * 0.055 + (-w * 0.06 if digit == 0 else 0)
        base_y = wrist_y - 70 + (50 if digit == 0 else 0)
        meta_len = lengths[digit] * (0.9 if digit == 0 else 1.35)
        x, y = base_x, base_y
        x2, y2 = x + ux * meta_len, y + uy * meta_len
        cap(x, y, x2, y2, w * 0.02, 0.05, True)  # metacarpal
        fx, fy = x2 + ux * 8, y2 + uy * 8
        finger_end = (fx + ux * lengths[digit] * 1.6, fy + uy * lengths[digit] * 1.6)
        cap(x2, y2, *finger_end, w * 0.036, soft * 1.8, False)  # finger soft tissue
        segs = (0.5, 0.3, 0.2) if digit else (0.58, 0.42)
        for j, frac in enumerate(segs):
            seg = lengths[digit] * 1.5 * frac
            nx, ny = fx + ux * seg, fy + uy * seg
            cap(fx, fy, nx, ny, w * (0.017 - 0.003 * j), 0.05, True)
            fx, fy = nx + ux * 7, ny + uy * 7
    return render(shape, caps, blur=rng.uniform(1.0, 1.6), photons=rng.uniform(2000, 5000), seed=seed)


def knee_like(seed: int = 0, shape: tuple[int, int] = (640, 560)) -> np.ndarray:
    """An AP knee-like film: femur with condyles, tibia with its plateau, fibula, patella, soft tissue.

    Flexion angle, joint space, bone widths and noise vary with ``seed``.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    cx = w * rng.uniform(0.45, 0.55)
    joint_y = h * rng.uniform(0.45, 0.55)
    gap = rng.uniform(8, 18)
    tilt = math.radians(rng.uniform(-8, 8))
    shaft = w * rng.uniform(0.07, 0.09)
    soft = 0.0035
    caps: list[Capsule] = []

    add = _rotated_adder(caps, cx, joint_y, tilt)  # parts placed upright, rotated about the joint centre

    add(cx, -200, cx, h + 200, w * rng.uniform(0.3, 0.36), soft, bone=False)  # thigh / leg
    add(cx, -200, cx, joint_y - gap - 2.2 * shaft, shaft, 0.05)  # femoral shaft
    for side in (-1, 1):  # condyles
        add(cx + side * 0.9 * shaft, joint_y - gap - 2.4 * shaft, cx + side * 1.1 * shaft, joint_y - gap - 1.1 * shaft,
            1.05 * shaft, 0.04)
    add(cx, joint_y - gap - 1.6 * shaft, cx, joint_y - gap - 1.2 * shaft, 0.85 * shaft, 0.025, bone=False)  # patella
    add(cx - 1.7 * shaft, joint_y + gap + 0.7 * shaft, cx + 1.7 * shaft, joint_y + gap + 0.7 * shaft, 0.7 * shaft, 0.04)  # plateau
    add(cx, joint_y + gap + shaft, cx, h + 200, 0.85 * shaft, 0.05)  # tibial shaft
    add(cx + 2.1 * shaft, joint_y + gap + 1.6 * shaft, cx + 2.3 * shaft, h + 200, 0.3 * shaft, 0.05)  # fibula
    return render(shape, caps, blur=rng.uniform(1.0, 1.8), photons=rng.uniform(2000, 5000), seed=seed)
