"""Finding the four cortical edges of a long bone along an intensity profile.

Along a line across the humeral shaft a radiograph shows, from one side to the other:
soft tissue, the near cortex (bright), the medullary canal (darker), the far cortex (bright),
soft tissue. The four edges are ``e1 < e2 < e3 < e4``: outer-1, inner-1, inner-2, outer-2.

Two methods, both sub-pixel:

* ``gradient``: extrema of the derivative of a Gaussian-smoothed profile, refined by a
  parabola through the three samples around each extremum. Fast, but biased towards the
  centre of each cortex by a fraction of the blur width, because the projected edge of a
  cylinder is not a step.
* ``model`` (default): fits the projection of a hollow cylinder. A cylinder of radius ``R``
  centred at ``c`` projects a path length ``2*sqrt(R^2 - (s-c)^2)``; the cortex is the outer
  cylinder minus the medullary one, ``2*sqrt(R^2-(s-c_o)^2) - 2*sqrt(r^2-(s-c_i)^2)``, and the
  canal contributes ``2*sqrt(r^2-(s-c_i)^2)`` with its own (lower) density. The model is those two
  path lengths times unknown densities plus a quadratic soft-tissue background, blurred by a
  Gaussian point-spread function. The edges and the blur width are fitted by non-linear least
  squares; densities and background are solved exactly at each step (variable projection).
  The inner cylinder may be off-centre, so the two cortices can differ in thickness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage, optimize

from core.shoulder.profile import Line, MeasurementError, Profile

Method = Literal["model", "gradient"]


@dataclass(frozen=True)
class CorticalEdges:
    """Four edge positions along a line, in pixels from the line's first point.

    Attributes:
        s: ``(e1, e2, e3, e4)`` = outer, inner, inner, outer, increasing.
        line: the line they lie on.
        method: ``"model"``, ``"gradient"`` or ``"manual"``.
        sigma_px: fitted Gaussian blur (model fit only).
        r2: fraction of profile variance the fit explains (model fit only).
        cnr: fitted bone contrast over the residual noise (model fit only).
    """

    s: tuple[float, float, float, float]
    line: Line
    method: str
    sigma_px: float | None = None
    r2: float | None = None
    cnr: float | None = None

    @property
    def outer_px(self) -> float:
        """Outer (periosteal) diameter along the line, pixels."""
        return self.s[3] - self.s[0]

    @property
    def inner_px(self) -> float:
        """Inner (endosteal) diameter along the line, pixels."""
        return self.s[2] - self.s[1]

    @property
    def cortex_px(self) -> tuple[float, float]:
        """Thickness of the cortex nearer the first point and of the other one, pixels."""
        return (self.s[1] - self.s[0], self.s[3] - self.s[2])

    @property
    def centre_s(self) -> float:
        return (self.s[0] + self.s[3]) / 2.0

    def points(self) -> list[tuple[float, float]]:
        """The four edges as image ``(x, y)`` points."""
        return [self.line.point_at(v) for v in self.s]


def manual_edges(line: Line, s: tuple[float, float, float, float] | list[float]) -> CorticalEdges:
    """Edges placed by the user.

    Raises:
        MeasurementError: the positions are not strictly increasing.
    """
    vals = tuple(float(v) for v in s)
    if len(vals) != 4 or not (vals[0] < vals[1] < vals[2] < vals[3]):
        raise MeasurementError("shoulder.error.edges_order")
    return CorticalEdges(s=vals, line=line, method="manual")  # type: ignore[arg-type]


def _parabolic_peak(y: np.ndarray, i: int) -> float:
    """Sub-sample position of the extremum at index ``i`` (parabola through i-1, i, i+1)."""
    if i <= 0 or i >= len(y) - 1:
        return float(i)
    a, b, c = y[i - 1], y[i], y[i + 1]
    denom = a - 2 * b + c
    if denom == 0:
        return float(i)
    return float(i + 0.5 * (a - c) / denom)


def gradient_edges(profile: Profile, smooth_px: float = 1.0, min_cortex_px: float = 0.5) -> CorticalEdges:
    """Edges at the derivative extrema of the smoothed profile.

    The outer pair is the rising/falling pair with the largest contrast; the inner pair is the
    strongest fall and rise between them, either side of the darkest point of the canal.

    Raises:
        MeasurementError: no bone-like pattern (bright band with a darker canal) on the line.
    """
    step = profile.step
    y = ndimage.gaussian_filter1d(profile.values, max(smooth_px / step, 0.5), mode="nearest")
    g = np.gradient(y, step)
    n = len(g)
    min_gap = max(2, int(np.ceil(4 * min_cortex_px / step)))
    if n < 3 * min_gap:
        raise MeasurementError("shoulder.error.no_edges")
    # outer pair: i < j maximising g[i] - g[j]
    best_i = np.maximum.accumulate(g)
    arg_i = np.zeros(n, dtype=int)
    cur = 0
    for k in range(n):
        if g[k] > g[cur]:
            cur = k
        arg_i[k] = cur
    scores = np.full(n, -np.inf)
    scores[min_gap:] = best_i[:-min_gap] - g[min_gap:]
    j = int(np.argmax(scores))
    i = int(arg_i[j - min_gap])
    if not np.isfinite(scores[j]) or g[i] <= 0 or g[j] >= 0:
        raise MeasurementError("shoulder.error.no_edges")
    lo, hi = i + 1, j
    if hi - lo < 3:
        raise MeasurementError("shoulder.error.no_edges")
    # canal: darkest point in the middle 70% of the bone
    span = hi - lo
    m_lo, m_hi = lo + int(0.15 * span), hi - int(0.15 * span)
    canal = m_lo + int(np.argmin(y[m_lo:m_hi + 1])) if m_hi > m_lo else (lo + hi) // 2
    k2 = lo + int(np.argmin(g[lo:canal + 1])) if canal >= lo else lo
    k3 = canal + int(np.argmax(g[canal:hi])) if hi > canal else hi - 1
    if not (i < k2 < k3 < j) or g[k2] >= 0 or g[k3] <= 0:
        raise MeasurementError("shoulder.error.no_edges")
    pos = [_parabolic_peak(g, i), _parabolic_peak(-g, k2), _parabolic_peak(g, k3), _parabolic_peak(-g, j)]
    s = tuple(float(profile.s[0] + p * step) for p in pos)
    if not (s[0] < s[1] < s[2] < s[3]):
        raise MeasurementError("shoulder.error.no_edges")
    return CorticalEdges(s=s, line=profile.line, method="gradient")  # type: ignore[arg-type]


MAX_FIT_SAMPLES = 320
"""Longer fit windows are averaged in bins down to this many samples (keeps the fit fast)."""
MIN_R2 = 0.6
"""A fit explaining less of the profile than this is not a bone (noise, or another structure)."""
MIN_CNR = 5.0
"""Bone contrast / residual noise below this is not a bone."""


def _chord_integral(x: np.ndarray, radius: float) -> np.ndarray:
    """Integral from 0 to ``x`` of the chord ``2*sqrt(radius^2 - t^2)`` (constant beyond +-radius)."""
    if radius <= 0:
        return np.zeros_like(x)
    xc = np.clip(x, -radius, radius)
    return xc * np.sqrt(radius * radius - xc * xc) + radius * radius * np.arcsin(xc / radius)


def _gaussian_kernel(sigma: float, n_max: int) -> np.ndarray:
    half = min(int(np.ceil(3.5 * sigma)), n_max)
    x = np.arange(-half, half + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def projected_cylinder_columns(
    s: np.ndarray, edges: np.ndarray, sigma: float, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Blurred projected path lengths (cortex, canal) of a hollow cylinder at positions ``s``.

    ``edges`` = (e1, e2, e3, e4); ``sigma`` is the Gaussian blur in pixels; ``s`` must be evenly
    spaced by ``step``. Each sample is the exact mean of the path length over its own ``step``
    interval (the chord has a closed-form integral), then the Gaussian blur is applied.
    """
    e1, e2, e3, e4 = edges
    c_o, big_r = (e1 + e4) / 2.0, (e4 - e1) / 2.0
    c_i, small_r = (e2 + e3) / 2.0, (e3 - e2) / 2.0
    bounds = np.empty(len(s) + 1)
    bounds[:-1] = s - step / 2.0
    bounds[-1] = s[-1] + step / 2.0
    outer = np.diff(_chord_integral(bounds - c_o, big_r)) / step
    canal = np.diff(_chord_integral(bounds - c_i, small_r)) / step
    cortex = outer - canal
    sig = sigma / step
    if sig > 0.05:
        k = _gaussian_kernel(sig, len(s) - 1)
        cortex = np.convolve(cortex, k, mode="same")
        canal = np.convolve(canal, k, mode="same")
    return cortex, canal


def _solve(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``a @ c ~ y`` (columns of ``y`` solved together) via the tiny
    normal equations."""
    ata = a.T @ a
    ata[np.diag_indices_from(ata)] += 1e-9 * (np.trace(ata) + 1.0)
    try:
        return np.linalg.solve(ata, a.T @ y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, y, rcond=None)[0]


def _kernels(sigma_samples: float, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Gaussian kernel and its derivative with respect to sigma (both in samples)."""
    half = max(1, min(int(np.ceil(3.5 * sigma_samples)), n_max))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma_samples) ** 2)
    dg = g * x * x / sigma_samples**3
    total = g.sum()
    k = g / total
    return k, (dg - k * dg.sum()) / total


class _CylinderFit:
    """Residuals and their Jacobian for the projected hollow-cylinder model.

    Parameters ``p = (e1, e2 - e1, e3 - e2, e4 - e3, sigma)``. Densities and the quadratic
    background are eliminated by linear least squares (variable projection); the Jacobian is
    Kaufman's approximation ``P_perp @ dA/dp @ coef`` with analytic derivatives of the
    box-averaged chords and of the blur kernel, so each iteration costs about one model evaluation.
    """

    def __init__(self, s: np.ndarray, y: np.ndarray, step: float) -> None:
        self.s, self.y, self.step = s, y, step
        self.bounds = np.concatenate([s - step / 2.0, [s[-1] + step / 2.0]])
        mid, half = float((s[0] + s[-1]) / 2.0), float(max((s[-1] - s[0]) / 2.0, 1.0))
        t = (s - mid) / half
        self.background = np.column_stack([np.ones_like(s), t, t * t])
        self._key: bytes | None = None

    @staticmethod
    def edges(p: np.ndarray) -> np.ndarray:
        return np.cumsum(p[:4])

    def _chord_terms(self, centre: float, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Box-averaged chord and its derivatives with respect to centre and radius."""
        u = self.bounds - centre
        r = max(radius, 1e-9)
        uc = np.clip(u, -r, r)
        root = np.sqrt(r * r - uc * uc)
        asin = np.arcsin(uc / r)
        value = np.diff(uc * root + r * r * asin) / self.step
        d_centre = -np.diff(2.0 * root) / self.step
        d_radius = np.diff(2.0 * r * asin) / self.step
        return value, d_centre, d_radius

    def evaluate(self, p: np.ndarray) -> None:
        key = p.tobytes()
        if key == self._key:
            return
        e1, e2, e3, e4 = self.edges(p)
        outer, do_c, do_r = self._chord_terms((e1 + e4) / 2.0, (e4 - e1) / 2.0)
        inner, di_c, di_r = self._chord_terms((e2 + e3) / 2.0, (e3 - e2) / 2.0)
        rows = np.stack([
            outer - inner, inner,
            0.5 * (do_c - do_r), 0.5 * (do_c + do_r),  # d outer / d e1, d e4
            0.5 * (di_c - di_r), 0.5 * (di_c + di_r),  # d inner / d e2, d e3
        ])
        k, dk = _kernels(max(p[4] / self.step, 0.05), len(self.s) - 1)
        blurred = ndimage.convolve1d(rows, k, axis=1, mode="constant")
        d_sigma = ndimage.convolve1d(rows[:2], dk, axis=1, mode="constant") / self.step
        a = np.column_stack([blurred[0], blurred[1], self.background])
        coef = _solve(a, self.y)
        self.design, self.coef = a, coef
        self.residual = a @ coef - self.y
        c0, c1 = coef[0], coef[1]
        v_e = np.stack([c0 * blurred[2], (c1 - c0) * blurred[4], (c1 - c0) * blurred[5], c0 * blurred[3]], axis=1)
        # p0 = e1 moves every edge, p1 moves e2..e4, p2 moves e3..e4, p3 moves e4
        v = np.empty((len(self.s), 5))
        v[:, :4] = np.cumsum(v_e[:, ::-1], axis=1)[:, ::-1]
        v[:, 4] = c0 * d_sigma[0] + c1 * d_sigma[1]
        self.jacobian = v - a @ _solve(a, v)
        self._key = key

    def fun(self, p: np.ndarray) -> np.ndarray:
        self.evaluate(p)
        return self.residual

    def jac(self, p: np.ndarray) -> np.ndarray:
        self.evaluate(p)
        return self.jacobian


def model_fit_edges(profile: Profile, init: CorticalEdges | None = None, margin: float = 0.75) -> CorticalEdges:
    """Fit the blurred projected hollow cylinder to the profile (see module docstring).

    Args:
        profile: the sampled profile.
        init: starting edges (default: :func:`gradient_edges`).
        margin: soft tissue kept each side of the bone for the fit, as a fraction of the
            outer diameter (keeps far-away structures such as the skin out of the fit).

    Raises:
        MeasurementError: no starting edges can be found, or the fit fails.
    """
    init = init or gradient_edges(profile)
    step = profile.step
    e = np.array(init.s)
    width = e[3] - e[0]
    lo = e[0] - margin * width - 3.0
    hi = e[3] + margin * width + 3.0
    keep = (profile.s >= lo) & (profile.s <= hi)
    s = profile.s[keep]
    y = profile.values[keep]
    if len(s) < 12:
        raise MeasurementError("shoulder.error.no_edges")
    factor = int(np.ceil(len(s) / MAX_FIT_SAMPLES))
    if factor > 1:  # average bins of samples: same information at the scale of the fit, fewer samples
        n = (len(s) // factor) * factor
        s = s[:n].reshape(-1, factor).mean(axis=1)
        y = y[:n].reshape(-1, factor).mean(axis=1)
        step = step * factor
    scale = float(np.std(y)) or 1.0
    y = (y - float(np.mean(y))) / scale
    gaps = np.diff(e)
    min_gap = 0.2
    x0 = np.array([e[0], max(gaps[0], 2 * min_gap), max(gaps[1], 2 * min_gap), max(gaps[2], 2 * min_gap), 1.0])
    lower = np.array([s[0], min_gap, min_gap, min_gap, 0.2])
    upper = np.array([s[-1], width, 2 * width, width, max(width / 4.0, 1.0)])
    x0 = np.clip(x0, lower + 1e-6, upper - 1e-6)
    fit = _CylinderFit(s, y, step)
    try:
        res = optimize.least_squares(fit.fun, x0, jac=fit.jac, bounds=(lower, upper),
                                     x_scale=np.array([1, 1, 1, 1, 0.5]), xtol=1e-7, ftol=1e-9, max_nfev=200)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise MeasurementError("shoulder.error.no_edges") from exc
    p = res.x
    fit.evaluate(p)
    edges = tuple(float(v) for v in fit.edges(p))
    coef = fit.coef
    ss_res = float(np.sum(fit.residual ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2)) or 1.0
    r2 = 1.0 - ss_res / ss_tot
    # contrast of the bone (peak of the fitted cortex + canal signal) against the residual noise
    bone = fit.design[:, :2] @ coef[:2]
    cnr = float(bone.max() - bone.min()) / max(float(np.std(fit.residual)), 1e-9)
    if coef[0] <= 0 or res.status <= 0 or r2 < MIN_R2 or cnr < MIN_CNR:
        raise MeasurementError("shoulder.error.no_edges")
    return CorticalEdges(s=edges, line=profile.line, method="model", sigma_px=float(p[4]), r2=r2,  # type: ignore[arg-type]
                         cnr=cnr)


def find_edges(profile: Profile, method: Method = "model") -> CorticalEdges:
    """The four cortical edges along ``profile`` by ``method`` (``"model"`` or ``"gradient"``).

    Raises:
        MeasurementError: no bone-like pattern on the line, or the fit fails.
    """
    init = gradient_edges(profile)
    if method == "gradient":
        return init
    return model_fit_edges(profile, init)
