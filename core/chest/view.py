"""View and orientation of a chest film, for the input gate: upright, rotated by 90/180/270 degrees,
left-right mirrored, or one lung field only (a lateral view, or a crop that cut a lung off).

A tiny CNN (4 conv blocks, 149 k parameters, committed as ``weights/chest-gate-view.npz``, card
``chest-gate-view``) reads the whole image squashed to a 64 x 64 thumbnail, standardised. Its 9
classes are the 8 symmetries of the square applied to an upright frontal film (:func:`dihedral`:
rotation ``k % 4`` quarter turns counter-clockwise, mirrored first when ``k >= 4``) and class 8, "one
lung field": a frontal film cut at 40-60 % of its width, either half stretched to the full width.

It runs with numpy only (batch norm folded into the convolutions) on 4 symmetric copies of the
thumbnail at once (:data:`COPIES`: as given, turned 180 degrees, and both mirrored): the score of each
hypothesis ``h`` (the film is ``dihedral(upright, h)``) is the mean log-probability the copies give to
the class ``h`` becomes under each copy's transform, so that a film and its mirror image get exactly
opposite mirror scores. About 5 ms per image on one core.

This module is the inference only; the data split, the training and the choice of thresholds are in
:mod:`core.training.view_fit` (``python -m core.training.view_fit train``).
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

SIDE = 64
ONE_FIELD = 8
N_CLASSES = 9


# --- the dihedral group of the square -----------------------------------------------------------
def dihedral(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` (``(..., H, W)``) under symmetry ``k`` in 0..7: mirrored left-right first when ``k >= 4``,
    then turned ``k % 4`` quarter turns counter-clockwise (``np.rot90``)."""
    if k >= 4:
        a = a[..., ::-1]
    return np.rot90(a, k % 4, axes=(-2, -1))


def _composition() -> np.ndarray:
    """``comp[g, h]``: the symmetry ``dihedral(dihedral(x, h), g)`` equals."""
    probe = np.arange(16.0).reshape(4, 4)
    views = [dihedral(probe, k) for k in range(8)]
    comp = np.zeros((8, 8), dtype=np.int64)
    for g in range(8):
        for h in range(8):
            both = dihedral(dihedral(probe, h), g)
            comp[g, h] = next(k for k, v in enumerate(views) if np.array_equal(v, both))
    return comp


COMP = _composition()
#: the copies read at test time: as given, turned 180 degrees, mirrored, mirrored and turned 180 degrees
#: (a subgroup, so a film and its mirror image get exactly opposite mirror scores); all 8 symmetries
#: gave the same figures at twice the cost
COPIES = (0, 2, 4, 6)


def thumbnail(gray: np.ndarray, side: int = SIDE) -> np.ndarray:
    """The whole image squashed to ``side x side`` (area resize), float32."""
    import cv2

    return cv2.resize(np.ascontiguousarray(gray, dtype=np.float32), (side, side), interpolation=cv2.INTER_AREA)


def standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation over the last two axes."""
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=(-2, -1), keepdims=True)
    std = x.std(axis=(-2, -1), keepdims=True)
    return (x - mean) / (std + 1e-6)


# --- the network in numpy -------------------------------------------------------------------------
def _conv3x3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'Same' 3x3 convolution, channels last: ``x`` (N, H, W, C), ``w`` (9*C, O) in (dy, dx, c) order -> (N, H, W, O)."""
    n, h, wd, c = x.shape
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    if c == 1:  # one input channel: OpenCV's 3x3 correlation per output channel, the images stacked in one tall
        import cv2  # image with a zero row between them (8x faster than a matrix product with K = 9)

        tall = p[:, :, 1:-1, 0].reshape(n * (h + 2), wd)
        out = np.empty((n, h, wd, w.shape[1]), dtype=np.float32)
        for o in range(w.shape[1]):
            res = cv2.filter2D(tall, cv2.CV_32F, w[:, o].reshape(3, 3), borderType=cv2.BORDER_CONSTANT, delta=float(b[o]))
            out[..., o] = res.reshape(n, h + 2, wd)[:, 1:h + 1]
        return out
    cols = np.empty((n, h, wd, 9, c), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            cols[:, :, :, dy * 3 + dx, :] = p[:, dy:dy + h, dx:dx + wd, :]
    return (cols.reshape(n * h * wd, 9 * c) @ w + b).reshape(n, h, wd, -1)


def _pool_relu(x: np.ndarray) -> np.ndarray:
    """2x2 max-pool, then ReLU (the same as ReLU then pool)."""
    top = np.maximum(x[:, 0::2, 0::2], x[:, 0::2, 1::2])
    bottom = np.maximum(x[:, 1::2, 0::2], x[:, 1::2, 1::2])
    return np.maximum(np.maximum(top, bottom), 0.0)


Member = tuple[tuple[tuple[np.ndarray, np.ndarray], ...], tuple[np.ndarray, np.ndarray]]


def _member_logits(member: Member, x: np.ndarray) -> np.ndarray:
    convs, fc = member
    h = np.asarray(x, dtype=np.float32)[..., None]
    for w, b in convs:
        h = _pool_relu(_conv3x3(h, w, b))
    flat = np.ascontiguousarray(h.transpose(0, 3, 1, 2)).reshape(len(h), -1)
    return flat @ fc[0] + fc[1]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ViewNet:
    """The gate's view/orientation network (numpy inference): one or more independently trained
    members whose class probabilities are averaged, and the thresholds (``meta``).

    Each member is ``(convs, fc)``: ``convs`` holds ``(weight (9*C_in, C_out) in (dy, dx, c_in) order,
    bias (C_out,))`` per block, batch norm folded in, each block conv -> ReLU -> 2x2 max-pool; ``fc`` is
    ``(weight (F, 9), bias (9,))`` on the channels-first flattened last block (as torch's ``nn.Flatten``).
    """

    members: tuple[Member, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(N, 9)`` class probabilities of standardised ``(N, 64, 64)`` thumbnails (mean over members)."""
        return np.mean([_softmax(_member_logits(m, x)) for m in self.members], axis=0)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        for j, (convs, fc) in enumerate(self.members):
            for i, (w, b) in enumerate(convs):
                arrays[f"m{j}_conv{i}_w"], arrays[f"m{j}_conv{i}_b"] = w.astype(np.float32), b.astype(np.float32)
            arrays[f"m{j}_fc_w"], arrays[f"m{j}_fc_b"] = fc[0].astype(np.float32), fc[1].astype(np.float32)
        arrays["meta"] = np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)

    @classmethod
    def load(cls, path: Path) -> ViewNet:
        """Read a file written by :meth:`save` (never unpickles). Raises ``OSError``/``ValueError``/``KeyError``."""
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            members = []
            while f"m{len(members)}_fc_w" in files:
                j = len(members)
                n = sum(1 for k in files if k.startswith(f"m{j}_conv") and k.endswith("_w"))
                convs = tuple((np.asarray(z[f"m{j}_conv{i}_w"], np.float32), np.asarray(z[f"m{j}_conv{i}_b"], np.float32))
                              for i in range(n))
                fc = (np.asarray(z[f"m{j}_fc_w"], np.float32), np.asarray(z[f"m{j}_fc_b"], np.float32))
                if not convs or fc[0].ndim != 2 or fc[0].shape[1] != N_CLASSES:
                    raise ValueError(f"member {j}: expected convolutions and {N_CLASSES} outputs")
                members.append((convs, fc))
            if not members:
                raise KeyError("m0_fc_w")
            meta = json.loads(bytes(z["meta"]).decode())
        return cls(tuple(members), meta)

    def threshold(self, name: str, default: float) -> float:
        return float(self.meta.get("thresholds", {}).get(name, default))


# --- reading a film ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ViewReading:
    """What the network says about one image.

    ``hypotheses``: mean log-probability of each of the 8 symmetries (the film is
    ``dihedral(upright, h)``). ``turns``: quarter turns counter-clockwise of the most likely
    symmetry (0 upright); ``rotation_score``: log-odds of that rotation against upright (0 when
    upright). ``mirror_score``: log-odds of "mirrored" against "as is" at the most likely rotation
    (exactly negated for the mirror image). ``one_field``: mean probability of class 8 (one lung field).
    """

    hypotheses: tuple[float, ...]
    turns: int
    rotation_score: float
    mirror_score: float
    one_field: float

    @property
    def clockwise(self) -> int:
        """Degrees the film is turned clockwise from upright (0, 90, 180 or 270)."""
        return (360 - 90 * self.turns) % 360

    @property
    def correction(self) -> int:
        """Degrees to turn the film clockwise to make it upright."""
        return (90 * self.turns) % 360


def _logsumexp(v: np.ndarray) -> float:
    m = float(np.max(v))
    return m + float(np.log(np.sum(np.exp(v - m))))


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return None
    return ThreadpoolController()


def _one_blas_thread() -> Any:
    """A context with BLAS on one thread: the small matrix products here cost 4x the CPU time when
    spread over the cores that the chest model is using."""
    ctl = _blas_controller()
    return ctl.limit(limits=1, user_api="blas") if ctl is not None else nullcontext()


def read_view(gray: np.ndarray, net: ViewNet) -> ViewReading:
    """Read view and orientation of a grey ``(H, W)`` image in [0, 1] (the :data:`COPIES`, one batch)."""
    thumb = standardise(thumbnail(gray))
    batch = np.stack([np.ascontiguousarray(dihedral(thumb, g)) for g in COPIES])
    with _one_blas_thread():
        probs = net.probabilities(batch)
    logp = np.log(np.clip(probs, 1e-6, 1.0))
    hyp = np.array([np.mean([logp[j, COMP[g, h]] for j, g in enumerate(COPIES)]) for h in range(8)])
    by_turn = np.array([_logsumexp(hyp[[r, r + 4]]) for r in range(4)])
    turns = int(np.argmax(by_turn))
    rotation = 0.0 if turns == 0 else float(by_turn[turns] - by_turn[0])
    mirror = float(hyp[turns + 4] - hyp[turns])
    return ViewReading(tuple(float(v) for v in hyp), turns, rotation, mirror, float(probs[:, ONE_FIELD].mean()))


def turned(gray: np.ndarray, degrees_clockwise: int) -> np.ndarray:
    """``gray`` turned clockwise by a multiple of 90 degrees."""
    return np.ascontiguousarray(np.rot90(gray, -(int(degrees_clockwise) // 90) % 4, axes=(0, 1)))
