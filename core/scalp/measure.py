"""Measurements on a scalp close-up without trained weights.

Every measurement is computed on the *analysis image*: the photo downscaled (area averaging)
so that its long side is at most :data:`ANALYSIS_LONG_SIDE` pixels. Each returns the pixels it
counted (:class:`MeasurementMasks`) so the page can overlay them.

What is measured, and how (details and reasoning in ``docs/scalp.md``):

* **Hair** - dark thin structures: lightness below a local background (alternating
  closing/opening of L* at 1/8 scale) by more than half the typical hair contrast. Components
  that are not elongated are dropped (pores, dark dots). The mask is skeletonised and spurs are
  pruned. *Hair count* = hair ends / 2, where the ends are the skeleton's end points plus one
  hidden end for every crossing region with an odd number of branches (a hair ending on or
  under another); crossings keep both shafts. *Shaft width* = 2 x Euclidean distance to the
  background along the skeleton, away from crossings, minus a quarter-pixel sampling bias.
* **Redness** - CIELAB a* of skin pixels (not hair, flake, shine). Baseline = 20th percentile
  of skin a*; *erythema* = skin redder than baseline by at least half the way to the
  99.5th percentile (>= 6 a* units). a* is reported around hair ends (follicle openings and
  cut tips, not told apart) and between them.
* **Shine** - specular highlights: near-clipped (V >= 0.94), unsaturated pixels.
* **Flakes** - pixels lighter than the skin (L* >= skin + 6) and much less coloured than it
  (C* <= 0.6 x skin C*). Flakes smaller than :data:`FINE_FLAKE_MAX_DIAMETER` of the frame
  width count as *fine scale*, larger ones as *dandruff*.
* **Pustule candidates** - round yellow-white spots (b* >= skin + 10, L* >= skin) with a red
  halo (ring a* >= baseline + 5).

Physical units: the camera's magnification is unknown unless the user gives the width of
the field of view in millimetres; only then are density per cm^2 and width in micrometres given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.morphology import skeletonize

ANALYSIS_LONG_SIDE = 1024
BG_SCALE = 8  # background of L* is estimated at 1/BG_SCALE resolution
BG_KERNEL = 7  # ... with a KxK ellipse there (=> features up to ~50 px wide are "foreground")
HAIR_MIN_CONTRAST = 8.0  # L* units
HAIR_STRONG_CONTRAST = 18.0
HAIR_MIN_LENGTH_FRAC = 0.02  # a hair component must span >= 2 % of the long side
WIDTH_BIAS_PX = 0.25  # 2*DT over-reads a sampled band's width by ~1/4 pixel (calibrated on phantoms)
JUNCTION_REACH = 1.0  # junction pixels within 1 hair width form one crossing region
DOUBLE_WIDTH = 1.3  # a piece >= 1.3 x hair width between two regions = two shafts side by side
SHALLOW_BRIDGE = 2.0  # two odd regions joined by <= 2 hair widths = one shallow crossing
FLAKE_DL = 6.0  # L* above skin
FLAKE_CHROMA_RATIO = 0.6  # C* at most this share of skin C*
FINE_FLAKE_MAX_DIAMETER = 0.02  # equivalent diameter as a share of frame width
SHINE_V = 0.94
SHINE_MAX_SAT = 0.25
ERYTHEMA_MIN_DELTA = 6.0  # a* units
FOLLICLE_DA = 5.0  # a* above the between-follicle median for a "red ring" at a hair end
PUSTULE_DB = 10.0  # b* above skin
PUSTULE_HALO_DA = 5.0  # a* above baseline in the halo ring


@dataclass(frozen=True)
class MeasurementMasks:
    """The pixels each measurement counted, at analysis resolution (bool arrays)."""

    hair: np.ndarray
    skeleton: np.ndarray
    hair_ends: np.ndarray  # (N, 2) int array of (row, col) skeleton end points
    follicle_zone: np.ndarray
    between_zone: np.ndarray
    erythema: np.ndarray
    shine: np.ndarray
    fine_flakes: np.ndarray
    large_flakes: np.ndarray
    pustules: tuple[tuple[float, float, float], ...]  # (row, col, radius)
    a_star: np.ndarray  # float32 a* map (for a heat overlay)


@dataclass(frozen=True)
class Measurements:
    """Numbers measured on one photo. Areas are shares of the analysed frame (0-1).

    Attributes:
        analysed_shape: (height, width) of the analysis image.
        scale: analysis pixels per original pixel (<= 1).
        hair_count: hair shafts visible in the frame.
        hair_width_px: mean shaft width in analysis pixels (None when no hair).
        hair_width_frac: the same as a share of the frame width.
        thin_hair_share: share of shaft length thinner than 60 % of the thick-hair width.
        hair_coverage: share of the frame covered by hair.
        skin_share: share of the frame that is visible skin (not hair/flake/shine).
        a_star_baseline: 20th percentile of skin a* (the least red skin).
        a_star_between: median a* between hair ends (interfollicular).
        a_star_follicular: mean a* around hair ends (perifollicular), None without ends.
        red_end_share: share of hair ends with a red ring (disc median a* >= between + 5).
        erythema_share: share of visible skin counted as erythema.
        erythema_a_star: mean a* of the erythema pixels (None when none).
        shine_share: share of the frame that is specular highlight.
        flake_share, fine_scale_share, dandruff_share: white flakes (all / small / large).
        flake_count: number of flake components.
        pustule_count: pustule candidates.
        field_of_view_mm: frame width in mm when the user gave it.
        hair_density_per_cm2, hair_width_um: physical values (only with field_of_view_mm).
    """

    analysed_shape: tuple[int, int]
    scale: float
    hair_count: int
    hair_width_px: float | None
    hair_width_frac: float | None
    thin_hair_share: float | None
    hair_coverage: float
    skin_share: float
    a_star_baseline: float
    a_star_between: float
    a_star_follicular: float | None
    red_end_share: float | None
    erythema_share: float
    erythema_a_star: float | None
    shine_share: float
    flake_share: float
    fine_scale_share: float
    dandruff_share: float
    flake_count: int
    pustule_count: int
    field_of_view_mm: float | None = None
    hair_density_per_cm2: float | None = None
    hair_width_um: float | None = None

    def as_dict(self) -> dict[str, float | int | None | list[int]]:
        out: dict[str, float | int | None | list[int]] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, tuple):
                out[key] = list(value)
            elif isinstance(value, float):
                out[key] = round(value, 6)
            else:
                out[key] = value
        return out


@dataclass(frozen=True)
class Analysed:
    """Measurements plus the analysis image and the masks behind them."""

    measurements: Measurements
    masks: MeasurementMasks
    image: np.ndarray = field(repr=False)  # float32 RGB analysis image


def downscale(rgb: np.ndarray, long_side: int = ANALYSIS_LONG_SIDE) -> tuple[np.ndarray, float]:
    """Area-average ``rgb`` so its long side is at most ``long_side``. Returns (image, scale)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, long_side / float(max(h, w)))
    if scale >= 1.0:
        return np.ascontiguousarray(rgb, dtype=np.float32), 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(np.asarray(rgb, dtype=np.float32), size, interpolation=cv2.INTER_AREA)
    return small, size[0] / float(w)


def _neighbours(mask: np.ndarray) -> np.ndarray:
    """8-neighbour count of each pixel of a 0/1 uint8 image."""
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    return cv2.filter2D(mask, cv2.CV_8U, kernel, borderType=cv2.BORDER_CONSTANT)


def _background_lightness(lightness: np.ndarray) -> np.ndarray:
    """Local background of L*: dark and bright details removed at 1/BG_SCALE resolution."""
    h, w = lightness.shape
    small = cv2.resize(lightness, (max(1, w // BG_SCALE), max(1, h // BG_SCALE)), interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (BG_KERNEL, BG_KERNEL))
    small = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    small = cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)
    small = cv2.GaussianBlur(small, (0, 0), 1.0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _hair_mask(lightness: np.ndarray, background: np.ndarray) -> np.ndarray:
    depth = background - lightness
    strong = depth[depth > HAIR_STRONG_CONTRAST]
    if strong.size < 50:
        return np.zeros(lightness.shape, bool)
    threshold = float(np.clip(0.5 * np.median(strong), HAIR_MIN_CONTRAST, 40.0))
    mask = (depth > threshold).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    min_span = HAIR_MIN_LENGTH_FRAC * max(lightness.shape)
    span = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]).astype(float)
    # elongated: the bounding-box diagonal is long and the blob is not a filled disc
    keep = (span >= min_span) & (stats[:, cv2.CC_STAT_AREA] <= 0.6 * span * span)
    keep[0] = False
    return keep[labels]


def _prune(skeleton: np.ndarray, iterations: int) -> np.ndarray:
    """Remove ``iterations`` pixels from every skeleton end (kills spurs shorter than that)."""
    skel = skeleton.astype(np.uint8)
    for _ in range(iterations):
        ends = (skel == 1) & (_neighbours(skel) <= 1)
        if not ends.any():
            break
        skel[ends] = 0
    return skel.astype(bool)


def _count_ends(skeleton: np.ndarray, dist: np.ndarray, width: float) -> np.ndarray:
    """Hair end points of a pruned skeleton, including ends hidden under another hair.

    Junction pixels close to each other form one crossing region; regions joined by a piece
    about twice as wide as a hair (two shafts lying side by side), or two odd regions joined
    by a short piece (the two junctions of a shallow crossing), are merged. A hair passing
    through a region adds two branches to it and a hair ending in it one, so a region with an
    odd number of branches hides one end (a "T": a hair ending on, or under, another one).
    Returns the (row, col) positions of the ends.
    """
    skel8 = skeleton.astype(np.uint8)
    nb = _neighbours(skel8)
    junctions = (skel8 == 1) & (nb >= 3)
    if not junctions.any():
        return np.argwhere(skeleton & (nb == 1))
    reach = max(3, int(np.ceil(width * JUNCTION_REACH)))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)
    region = cv2.dilate(junctions.astype(np.uint8), disk)
    n_regions, region_labels, _, region_centres = cv2.connectedComponentsWithStats(region, connectivity=8)
    seg8 = ((skel8 == 1) & (region == 0)).astype(np.uint8)
    n_seg, seg_labels, seg_stats, _ = cv2.connectedComponentsWithStats(seg8, connectivity=8)
    seg_width = 2.0 * np.bincount(seg_labels.ravel(), weights=dist.ravel(), minlength=n_seg) / np.maximum(
        seg_stats[:, cv2.CC_STAT_AREA], 1)
    seg_nb = _neighbours(seg8)
    padded = np.pad(region_labels, 1)

    # the region(s) each skeleton piece touches at its ends
    attached: dict[int, list[int]] = {}
    ends_rows, ends_cols = np.nonzero((seg8 == 1) & (seg_nb <= 1))
    for r, c in zip(ends_rows.tolist(), ends_cols.tolist(), strict=True):
        near = [int(v) for v in np.unique(padded[r:r + 3, c:c + 3]) if v > 0]
        sid = int(seg_labels[r, c])
        if seg_nb[r, c] == 0:  # a one-pixel piece: both of its ends are here
            attached.setdefault(sid, []).extend(near[:2])
        elif near:
            attached.setdefault(sid, []).append(near[0])

    parent = list(range(n_regions))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    bridges: set[int] = set()
    # pieces about twice as wide as a hair: two shafts lying side by side
    for sid, rids in attached.items():
        if len(rids) == 2 and rids[0] != rids[1]:
            if seg_width[sid] >= DOUBLE_WIDTH * width:
                parent[find(rids[0])] = find(rids[1])
                bridges.add(sid)
    degree = np.zeros(n_regions, np.int64)
    for sid, rids in attached.items():
        if sid not in bridges:
            for rid in rids:
                degree[find(rid)] += 1
    # every end of the skeleton is a hair end; one inside a crossing region also pairs with
    # that hair's own branch leaving the region, so it counts towards the region's parity
    tips = np.argwhere((skel8 == 1) & (nb == 1))
    for r, c in tips:
        rid = int(region_labels[r, c])
        if rid > 0:
            degree[find(rid)] += 1
    free = [(int(r), int(c)) for r, c in tips]
    # a shallow crossing splits into two junctions joined by a short piece: two odd regions.
    # Join such pairs (shortest first): the joined region has d1 + d2 - 2 branches (even).
    odd_bridge = SHALLOW_BRIDGE * width
    pairs = sorted(
        (int(seg_stats[sid, cv2.CC_STAT_AREA]), sid, rids[0], rids[1])
        for sid, rids in attached.items()
        if len(rids) == 2 and rids[0] != rids[1] and sid not in bridges
    )
    for length, sid, r1, r2 in pairs:
        if length > odd_bridge:
            break
        a, b = find(r1), find(r2)
        if a != b and degree[a] % 2 == 1 and degree[b] % 2 == 1:
            parent[a] = b
            degree[b] = degree[a] + degree[b] - 2
            bridges.add(sid)
    odd = [r for r in range(1, n_regions) if find(r) == r and degree[r] % 2 == 1]
    hidden = [(int(round(region_centres[r][1])), int(round(region_centres[r][0]))) for r in odd]
    ends = free + hidden
    return np.array(ends, dtype=int).reshape(-1, 2)


def _hair_geometry(hair: np.ndarray) -> tuple[np.ndarray, np.ndarray, float | None, float | None]:
    """Skeleton, end points, mean width (px) and thin-hair share of a hair mask."""
    if not hair.any():
        return np.zeros_like(hair), np.zeros((0, 2), int), None, None
    dist = cv2.distanceTransform(hair.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    skeleton = skeletonize(hair)
    rough_width = 2.0 * float(np.median(dist[skeleton])) if skeleton.any() else 2.0
    skeleton = _prune(skeleton, int(np.ceil(rough_width / 2.0)) + 2)
    if not skeleton.any():
        return skeleton, np.zeros((0, 2), int), None, None
    ends = _count_ends(skeleton, dist, rough_width)
    reach = max(3, int(np.ceil(rough_width * 1.5)))
    junctions = (skeleton & (_neighbours(skeleton.astype(np.uint8)) >= 3)).astype(np.uint8)
    near_junction = cv2.dilate(junctions, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)) > 0
    clean = skeleton & ~near_junction
    samples = dist[clean] if clean.sum() >= 10 else dist[skeleton]
    widths = 2.0 * samples - WIDTH_BIAS_PX
    width = float(np.mean(widths))
    thick = float(np.percentile(widths, 75))
    thin_share = float(np.mean(widths < 0.6 * thick))
    return skeleton, ends, width, thin_share


def _zones(hair: np.ndarray, skin: np.ndarray, ends: np.ndarray, width: float | None
           ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Skin around hair ends, skin between them, and the skin pixels of each end's disc.

    Both zones keep a 2-px gap from the shaft: its anti-aliased edge mixes hair colour into a*.
    """
    h, w = hair.shape
    radius = int(round(max(6.0, 2.5 * (width or 4.0))))
    hair_halo = cv2.dilate(hair.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    usable = skin & ~hair_halo
    around = np.zeros((h, w), np.uint8)
    discs: list[np.ndarray] = []
    for r, c in ends:
        r, c = int(r), int(c)
        if not (2 <= r < h - 2 and 2 <= c < w - 2):
            continue  # a shaft cut by the frame edge: not a follicle
        cv2.circle(around, (c, r), radius, 1, -1)
        y0, y1, x0, x1 = max(0, r - radius), min(h, r + radius + 1), max(0, c - radius), min(w, c + radius + 1)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        disc = ((yy - r) ** 2 + (xx - c) ** 2 <= radius * radius) & usable[y0:y1, x0:x1]
        discs.append(np.stack(np.nonzero(disc)) + np.array([[y0], [x0]]))
    far = cv2.dilate(around, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (radius + 1,) * 2)) > 0
    return (around > 0) & usable, ~far & usable, discs


def _flakes(lab: np.ndarray, chroma: np.ndarray, skin_l: float, skin_c: float, hair_wide: np.ndarray,
            shine_wide: np.ndarray, hair_width: float | None) -> tuple[np.ndarray, np.ndarray, int]:
    """(fine-scale mask, dandruff mask, number of flakes).

    A flake crossed by a hair is seen as two pieces; the hair pixels right next to flake pixels
    join them again before the flake's size is judged.
    """
    mask = (lab[..., 0] >= skin_l + FLAKE_DL) & (chroma <= FLAKE_CHROMA_RATIO * skin_c) & ~hair_wide & ~shine_wide
    frame_w = mask.shape[1]
    if not mask.any():
        empty = np.zeros(mask.shape, bool)
        return empty, empty, 0
    mask8 = mask.view(np.uint8)
    reach = int(np.ceil(hair_width or 0.0)) + 3
    near = cv2.dilate(mask8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))) > 0
    joined = (mask | (hair_wide & near)).view(np.uint8)
    n, labels = cv2.connectedComponents(joined, connectivity=8)
    areas = np.bincount(labels[mask], minlength=n).astype(float)  # flake pixels only
    diameter = np.sqrt(4.0 * areas / np.pi)
    valid = areas >= 3
    valid[0] = False
    is_large = valid & (diameter > FINE_FLAKE_MAX_DIAMETER * frame_w)
    is_fine = valid & ~is_large
    return is_fine[labels] & mask, is_large[labels] & mask, int(valid.sum())


def _pustules(lab: np.ndarray, skin_l: float, skin_b: float, a_base: float, excluded: np.ndarray,
              frame_w: int) -> tuple[tuple[float, float, float], ...]:
    yellow = (lab[..., 2] >= skin_b + PUSTULE_DB) & (lab[..., 0] >= skin_l) & ~excluded
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(yellow.astype(np.uint8), connectivity=8)
    found: list[tuple[float, float, float]] = []
    max_r = 0.04 * frame_w
    for i in range(1, n):
        area = float(stats[i, cv2.CC_STAT_AREA])
        radius = float(np.sqrt(area / np.pi))
        if radius < 2.0 or radius > max_r:
            continue
        x, y, bw, bh = (int(stats[i, k]) for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP,
                                                   cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
        if area < 0.5 * bw * bh or max(bw, bh) > 2.2 * min(bw, bh):  # round-ish only
            continue
        cx, cy = centroids[i]
        ring_r = int(np.ceil(radius * 1.8)) + 1
        y0, y1 = max(0, int(cy) - ring_r), min(lab.shape[0], int(cy) + ring_r + 1)
        x0, x1 = max(0, int(cx) - ring_r), min(lab.shape[1], int(cx) + ring_r + 1)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = np.hypot(yy - cy, xx - cx)
        ring = (d > radius + 1.0) & (d <= ring_r) & (labels[y0:y1, x0:x1] != i)
        if not ring.any():
            continue
        if float(np.median(lab[y0:y1, x0:x1, 1][ring])) >= a_base + PUSTULE_HALO_DA:
            found.append((float(cy), float(cx), radius))
    return tuple(found)


def measure(rgb: np.ndarray, field_of_view_mm: float | None = None,
            source_shape: tuple[int, int] | None = None) -> Analysed:
    """Measure hair, redness, shine, flakes and pustule candidates on an RGB photo.

    Args:
        rgb: float32 (H, W, 3) in [0, 1] (any size; downscaled internally).
        field_of_view_mm: width of the photographed area in millimetres, if known.
        source_shape: (H, W) of the original photo when ``rgb`` was already downscaled
            (only for the reported ``scale``).

    Raises:
        ValueError: ``rgb`` is not an (H, W, 3) array.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB array, got shape {rgb.shape}")
    image, scale = downscale(rgb)
    h, w = image.shape[:2]
    if source_shape is not None:
        scale = w / float(source_shape[1])
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
    lightness = lab[..., 0]

    background = _background_lightness(lightness)
    hair = _hair_mask(lightness, background)
    skeleton, ends, width, thin_share = _hair_geometry(hair)

    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    value = np.maximum(np.maximum(red, green), blue)
    low = np.minimum(np.minimum(red, green), blue)
    shine = (value >= SHINE_V) & (value - low <= SHINE_MAX_SAT * value)

    hair_wide = cv2.dilate(hair.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    shine_wide = cv2.dilate(shine.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    a_star, b_star = lab[..., 1], lab[..., 2]
    chroma = cv2.magnitude(a_star, b_star)
    # skin reference from pixels that are plainly neither hair nor shine (subsampled: speed)
    sub = ~(hair_wide[::3, ::3] | shine_wide[::3, ::3])
    have_skin = bool(sub.any())
    skin_l = float(np.median(lightness[::3, ::3][sub])) if have_skin else 60.0
    skin_c = float(np.median(chroma[::3, ::3][sub])) if have_skin else 20.0
    skin_b = float(np.median(b_star[::3, ::3][sub])) if have_skin else 15.0

    fine, large, flake_count = _flakes(lab, chroma, skin_l, skin_c, hair_wide, shine_wide, width)
    flakes = fine | large
    not_skin = hair | flakes | shine_wide
    skin = ~not_skin
    skin_sub = a_star[::2, ::2][skin[::2, ::2]]
    if skin_sub.size:
        a_base, a_high = (float(v) for v in np.percentile(skin_sub, (20, 99.5)))
    else:
        a_base = a_high = 0.0
    ery_threshold = a_base + max(ERYTHEMA_MIN_DELTA, 0.5 * (a_high - a_base))
    pustules = _pustules(lab, skin_l, skin_b, a_base, hair_wide | flakes | shine_wide, w)
    pustule_mask = np.zeros((h, w), np.uint8)
    for r, c, rad in pustules:
        cv2.circle(pustule_mask, (round(c), round(r)), int(np.ceil(rad * 2.2)), 1, -1)
    erythema = skin & (a_star >= ery_threshold) & (pustule_mask == 0)

    around, between, discs = _zones(hair, skin, ends, width)
    if between.any():
        a_between = float(np.median(a_star[between]))
    else:
        a_between = float(np.median(skin_sub)) if skin_sub.size else 0.0
    a_around = float(np.mean(a_star[around])) if np.count_nonzero(around) >= 20 else None
    disc_medians = [float(np.median(a_star[d[0], d[1]])) for d in discs if d.shape[1] >= 10]
    red_ends = sum(1 for v in disc_medians if v >= a_between + FOLLICLE_DA)
    red_end_share = red_ends / len(disc_medians) if disc_medians else None
    hair_count = int(round(len(ends) / 2.0))
    skin_px = float(np.count_nonzero(skin))
    ery_px = np.count_nonzero(erythema)

    frame = float(h * w)
    density = width_um = None
    if field_of_view_mm and field_of_view_mm > 0:
        area_cm2 = (field_of_view_mm / 10.0) * (field_of_view_mm * h / w / 10.0)
        density = hair_count / area_cm2
        width_um = width * field_of_view_mm * 1000.0 / w if width is not None else None

    m = Measurements(
        analysed_shape=(h, w),
        scale=scale,
        hair_count=hair_count,
        hair_width_px=width,
        hair_width_frac=(width / w) if width is not None else None,
        thin_hair_share=thin_share,
        hair_coverage=float(np.count_nonzero(hair)) / frame,
        skin_share=skin_px / frame,
        a_star_baseline=a_base,
        a_star_between=a_between,
        a_star_follicular=a_around,
        red_end_share=red_end_share,
        erythema_share=ery_px / max(1.0, skin_px),
        erythema_a_star=float(np.mean(a_star[erythema])) if ery_px else None,
        shine_share=float(np.count_nonzero(shine)) / frame,
        flake_share=float(np.count_nonzero(flakes)) / frame,
        fine_scale_share=float(np.count_nonzero(fine)) / frame,
        dandruff_share=float(np.count_nonzero(large)) / frame,
        flake_count=flake_count,
        pustule_count=len(pustules),
        field_of_view_mm=field_of_view_mm,
        hair_density_per_cm2=density,
        hair_width_um=width_um,
    )
    masks = MeasurementMasks(
        hair=hair, skeleton=skeleton, hair_ends=ends, follicle_zone=around, between_zone=between,
        erythema=erythema, shine=shine, fine_flakes=fine, large_flakes=large, pustules=pustules,
        a_star=a_star,
    )
    return Analysed(measurements=m, masks=masks, image=image)
