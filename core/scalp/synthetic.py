"""Scalp phantoms with known truth, for tests, the benchmark and the demo button.

A phantom is a close-up "scalp photo" drawn from scratch: a skin-tone background with a smooth
illumination gradient and fine texture, then red blotches of a known CIELAB a*, pustules
(yellow-white centre, red halo), white flakes of known area, hair shafts (curved quadratic
Bezier strokes of a known width) and specular highlights. Every feature is rendered at 4x
and area-averaged down, so its anti-aliased coverage is exact and the truth (visible area of
each feature after everything drawn above it) is computed from the same coverage maps.

This is not a model of real scalp appearance; it is a ruler for the measurement code.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SUPER = 4  # supersampling factor used for anti-aliased coverage

SKIN_RGB = (0.86, 0.68, 0.60)
HAIR_RGB = (0.13, 0.10, 0.09)
FLAKE_RGB = (0.88, 0.86, 0.82)
SHINE_RGB = (0.995, 0.995, 0.99)
PUSTULE_RGB = (0.95, 0.90, 0.60)


@dataclass(frozen=True)
class PhantomSpec:
    """What to draw. Sizes are in output pixels; counts are exact."""

    width: int = 1024
    height: int = 768
    hairs: int = 30
    hair_width: float = 7.0
    hair_length: tuple[float, float] = (0.2, 0.45)  # share of the frame's long side
    thin_hairs: int = 0
    thin_hair_width: float = 3.0
    fine_flakes: int = 40
    fine_flake_radius: tuple[float, float] = (2.5, 5.0)
    large_flakes: int = 4
    large_flake_radius: tuple[float, float] = (16.0, 26.0)
    red_blotches: int = 3
    red_radius: tuple[float, float] = (40.0, 70.0)
    red_a_star: float = 30.0
    pustules: int = 0
    follicle_a_star: float | None = None  # red ring (perifollicular erythema) at each hair root
    pustule_radius: float = 7.0
    shine_spots: int = 12
    shine_radius: tuple[float, float] = (4.0, 9.0)
    texture: float = 0.012
    seed: int = 0


@dataclass(frozen=True)
class PhantomTruth:
    """Known values of a phantom (areas in output pixels, visible part only)."""

    hair_count: int
    hair_width: float
    thin_hair_share: float
    flake_area: float
    fine_flake_area: float
    large_flake_area: float
    red_area: float
    red_a_star: float
    skin_a_star: float
    shine_area: float
    pustule_count: int
    pustule_centres: tuple[tuple[float, float], ...]

    def fraction(self, area: float, shape: tuple[int, int]) -> float:
        return area / float(shape[0] * shape[1])


@dataclass(frozen=True)
class Phantom:
    rgb: np.ndarray  # float32 (H, W, 3) in [0, 1]
    truth: PhantomTruth
    spec: PhantomSpec

    def to_uint8(self) -> np.ndarray:
        return np.clip(self.rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def lab_to_rgb(lab: tuple[float, float, float]) -> tuple[float, float, float]:
    """One CIELAB colour (L 0-100) to sRGB in [0, 1] using OpenCV's D65 conversion."""
    px = np.array([[lab]], dtype=np.float32)
    rgb = cv2.cvtColor(px, cv2.COLOR_Lab2RGB)[0, 0]
    return tuple(float(v) for v in np.clip(rgb, 0.0, 1.0))  # type: ignore[return-value]


def rgb_to_lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    px = np.array([[rgb]], dtype=np.float32)
    lab = cv2.cvtColor(px, cv2.COLOR_RGB2Lab)[0, 0]
    return float(lab[0]), float(lab[1]), float(lab[2])


class _Canvas:
    """Coverage maps drawn at SUPER x and reduced by area averaging."""

    def __init__(self, height: int, width: int) -> None:
        self.h, self.w = height, width

    def blank(self) -> np.ndarray:
        return np.zeros((self.h * SUPER, self.w * SUPER), np.uint8)

    def reduce(self, big: np.ndarray) -> np.ndarray:
        small = cv2.resize(big.astype(np.float32), (self.w, self.h), interpolation=cv2.INTER_AREA)
        return np.clip(small, 0.0, 1.0)

    @staticmethod
    def pts(points: np.ndarray) -> np.ndarray:
        return np.round(points * SUPER).astype(np.int32).reshape(-1, 1, 2)


def _blob(rng: np.random.Generator, cx: float, cy: float, r: float, n: int = 14) -> np.ndarray:
    """Irregular closed polygon around (cx, cy) with mean radius r."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = r * rng.uniform(0.7, 1.25, n)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 64) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _hair_path(rng: np.random.Generator, w: int, h: int, margin: float,
               length_range: tuple[float, float]) -> np.ndarray:
    """A curved shaft lying fully inside the frame, its length a share of the long side."""
    long_side = max(w, h)
    while True:
        p0 = np.array([rng.uniform(margin, w - margin), rng.uniform(margin, h - margin)])
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(*length_range) * long_side
        p2 = p0 + length * np.array([np.cos(angle), np.sin(angle)])
        if not (margin <= p2[0] <= w - margin and margin <= p2[1] <= h - margin):
            continue
        normal = np.array([-np.sin(angle), np.cos(angle)])
        p1 = (p0 + p2) / 2 + normal * rng.uniform(-0.18, 0.18) * length
        path = _bezier(p0, p1, p2)
        if (path[:, 0].min() >= margin and path[:, 0].max() <= w - margin
                and path[:, 1].min() >= margin and path[:, 1].max() <= h - margin):
            return path


def _skin(rng: np.random.Generator, h: int, w: int, texture: float) -> np.ndarray:
    base = np.array(SKIN_RGB, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # smooth illumination fall-off towards the corners (ring-light vignetting), +-4 %
    r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
    shade = 1.02 - 0.16 * r2
    noise = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    fine = cv2.GaussianBlur(noise, (0, 0), 1.0) * texture * 2.0
    coarse = cv2.GaussianBlur(rng.normal(0.0, 1.0, (h, w)).astype(np.float32), (0, 0), 12.0) * texture * 8.0
    img = base[None, None, :] * shade[..., None] + (fine + coarse)[..., None]
    return img.astype(np.float32)


def make_phantom(spec: PhantomSpec | None = None, **overrides: object) -> Phantom:
    """Draw a phantom. ``overrides`` replace fields of ``spec`` (or of the default spec)."""
    spec = spec or PhantomSpec()
    if overrides:
        spec = PhantomSpec(**{**spec.__dict__, **overrides})  # type: ignore[arg-type]
    rng = np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    canvas = _Canvas(h, w)
    img = _skin(rng, h, w, spec.texture)
    skin_lab = rgb_to_lab(SKIN_RGB)

    def paint(cov: np.ndarray, colour: tuple[float, float, float], jitter: float = 0.0) -> None:
        col = np.array(colour, np.float32)
        if jitter:
            tex = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5) * jitter
            layer = col[None, None, :] + tex[..., None]
        else:
            layer = np.broadcast_to(col, img.shape)
        img[:] = img * (1 - cov[..., None]) + layer * cov[..., None]

    visible: dict[str, np.ndarray] = {}

    def occlude(cov: np.ndarray) -> None:
        for key in visible:
            visible[key] = visible[key] * (1 - cov)

    # hair paths are drawn last but chosen first, so perifollicular redness can sit at their roots
    widths = [spec.thin_hair_width if i >= spec.hairs else spec.hair_width
              for i in range(spec.hairs + spec.thin_hairs)]
    paths = [_hair_path(rng, w, h, 3 * spec.hair_width, spec.hair_length) for _ in widths]

    # red blotches (erythema) of a known a*
    red_colour = lab_to_rgb((skin_lab[0] - 4.0, spec.red_a_star, skin_lab[2] + 2.0))
    big = canvas.blank()
    for _ in range(spec.red_blotches):
        r = rng.uniform(*spec.red_radius)
        cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
        cv2.fillPoly(big, [canvas.pts(_blob(rng, cx, cy, r, 18))], 1, cv2.LINE_8)
    red = canvas.reduce(big)
    paint(red, red_colour)
    visible["red"] = red.copy()
    if spec.follicle_a_star is not None:
        ring_big = canvas.blank()
        for path, width in zip(paths, widths, strict=True):
            x, y = path[0]
            cv2.circle(ring_big, (round(x * SUPER), round(y * SUPER)), round(2.5 * width * SUPER), 1, -1)
        paint(canvas.reduce(ring_big), lab_to_rgb((skin_lab[0] - 3.0, spec.follicle_a_star, skin_lab[2] + 1.0)))

    # pustules: red halo then a yellow-white centre, placed apart from each other
    centres: list[tuple[float, float]] = []
    halo_colour = lab_to_rgb((skin_lab[0] - 6.0, 34.0, skin_lab[2] + 4.0))
    tries = 0
    while len(centres) < spec.pustules and tries < 1000:
        tries += 1
        r = spec.pustule_radius
        cx, cy = rng.uniform(4 * r, w - 4 * r), rng.uniform(4 * r, h - 4 * r)
        if any((cx - x) ** 2 + (cy - y) ** 2 < (10 * r) ** 2 for x, y in centres):
            continue
        centres.append((cx, cy))
        halo, core = canvas.blank(), canvas.blank()
        cv2.circle(halo, (round(cx * SUPER), round(cy * SUPER)), round(2.0 * r * SUPER), 1, -1)
        cv2.circle(core, (round(cx * SUPER), round(cy * SUPER)), round(r * SUPER), 1, -1)
        paint(canvas.reduce(halo), halo_colour)
        paint(canvas.reduce(core), PUSTULE_RGB)
        occlude(canvas.reduce(halo))

    # flakes: small ones (fine scale) and large ones (dandruff)
    fine_big, large_big = canvas.blank(), canvas.blank()
    for count, radius, target in ((spec.fine_flakes, spec.fine_flake_radius, fine_big),
                                  (spec.large_flakes, spec.large_flake_radius, large_big)):
        for _ in range(count):
            r = rng.uniform(*radius)
            cx, cy = rng.uniform(2 * r, w - 2 * r), rng.uniform(2 * r, h - 2 * r)
            cv2.fillPoly(target, [canvas.pts(_blob(rng, cx, cy, r))], 1, cv2.LINE_8)
    fine, large = canvas.reduce(fine_big), canvas.reduce(large_big)
    large_only = large
    fine_only = fine * (1 - large)
    flakes = np.clip(fine_only + large_only, 0, 1)
    occlude(flakes)
    paint(flakes, FLAKE_RGB, jitter=0.015)
    visible["fine"] = fine_only
    visible["large"] = large_only

    # hair shafts
    hair_big, thin_big = canvas.blank(), canvas.blank()
    thick_len = thin_len = 0.0
    for i, (path, width) in enumerate(zip(paths, widths, strict=True)):
        is_thin = i >= spec.hairs
        length = float(np.sum(np.hypot(*np.diff(path, axis=0).T)))
        if is_thin:
            thin_len += length
        else:
            thick_len += length
        cv2.polylines(thin_big if is_thin else hair_big, [canvas.pts(path)], False, 1,
                      thickness=max(1, round(width * SUPER)), lineType=cv2.LINE_8)
    hair = canvas.reduce(np.maximum(hair_big, thin_big))
    occlude(hair)
    paint(hair, HAIR_RGB, jitter=0.02)

    # specular highlights (sebum shine)
    shine_big = canvas.blank()
    for _ in range(spec.shine_spots):
        r = rng.uniform(*spec.shine_radius)
        cx, cy = rng.uniform(2 * r, w - 2 * r), rng.uniform(2 * r, h - 2 * r)
        cv2.ellipse(shine_big, (round(cx * SUPER), round(cy * SUPER)),
                    (round(r * SUPER), round(r * 0.6 * SUPER)), float(rng.uniform(0, 180)), 0, 360, 1, -1)
    shine = canvas.reduce(shine_big)
    occlude(shine)
    paint(shine, SHINE_RGB)
    visible["shine"] = shine

    rgb = np.clip(img, 0.0, 1.0).astype(np.float32)
    total_len = thick_len + thin_len
    truth = PhantomTruth(
        hair_count=spec.hairs + spec.thin_hairs,
        hair_width=spec.hair_width,
        thin_hair_share=(thin_len / total_len) if total_len else 0.0,
        flake_area=float(visible["fine"].sum() + visible["large"].sum()),
        fine_flake_area=float(visible["fine"].sum()),
        large_flake_area=float(visible["large"].sum()),
        red_area=float(visible["red"].sum()),
        red_a_star=spec.red_a_star,
        skin_a_star=skin_lab[1],
        shine_area=float(visible["shine"].sum()),
        pustule_count=len(centres),
        pustule_centres=tuple(centres),
    )
    return Phantom(rgb=rgb, truth=truth, spec=spec)


def encode_jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    """JPEG bytes of a float [0, 1] or uint8 RGB image (OpenCV encoder; no EXIF)."""
    arr = rgb if rgb.dtype == np.uint8 else np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid array
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def encode_png(rgb: np.ndarray) -> bytes:
    arr = rgb if rgb.dtype == np.uint8 else np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()
