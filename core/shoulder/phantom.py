"""Synthetic radiograph phantoms of a humeral shaft with known dimensions.

A phantom is the projection of a hollow cylinder (cortex, dense) filled with marrow (less
dense) lying inside a wider soft-tissue cylinder (the arm), imaged with a Gaussian
point-spread function, a detector transfer curve and Poisson + Gaussian noise. Because every
dimension is known, the automatic measurements can be checked against the truth: the tests
and the benchmark use these, and the page offers one as a demonstration image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from core.shoulder.profile import Line


@dataclass(frozen=True)
class PhantomSpec:
    """What to render. Lengths in millimetres unless named ``_px``.

    Attributes:
        shape: image (rows, cols).
        spacing_mm: pixel size (isotropic).
        outer_d_mm: outer (periosteal) diameter of the shaft.
        inner_d_mm: inner (endosteal) diameter.
        canal_offset_mm: shift of the canal centre across the shaft (unequal cortices).
        axis_deg: shaft axis angle from the image's vertical, counter-clockwise as seen.
        centre_px: a point on the shaft axis (x, y); default the image centre.
        arm_d_mm: soft-tissue cylinder diameter.
        blur_px: Gaussian point-spread sigma in pixels.
        photons: mean detected photons per pixel behind soft tissue (Poisson noise); 0 = none.
        noise_sd: additive Gaussian noise (display units).
        transfer: ``"linear"`` (display proportional to attenuation) or ``"exp"``
            (``1 - exp(-k * attenuation)``, a mildly non-linear detector curve).
        mu_cortex, mu_marrow, mu_soft: linear attenuation per mm (relative).
        seed: random seed of the noise.
    """

    shape: tuple[int, int] = (512, 512)
    spacing_mm: float = 0.15
    outer_d_mm: float = 22.0
    inner_d_mm: float = 14.0
    canal_offset_mm: float = 0.0
    axis_deg: float = 0.0
    centre_px: tuple[float, float] | None = None
    arm_d_mm: float = 80.0
    blur_px: float = 1.2
    photons: float = 2000.0
    noise_sd: float = 0.005
    transfer: str = "linear"
    mu_cortex: float = 0.05
    mu_marrow: float = 0.012
    mu_soft: float = 0.004
    seed: int = 0

    @property
    def true_dti(self) -> float:
        return self.outer_d_mm / self.inner_d_mm

    @property
    def true_cortices_mm(self) -> tuple[float, float]:
        """Thickness of the two cortices (the canal offset moves towards the second)."""
        half = (self.outer_d_mm - self.inner_d_mm) / 2.0
        return (half + self.canal_offset_mm, half - self.canal_offset_mm)

    @property
    def true_cct_mm(self) -> float:
        return self.outer_d_mm - self.inner_d_mm


@dataclass(frozen=True)
class Phantom:
    """A rendered phantom: ``image`` float32 in [0, 1] (bone bright) and its spec."""

    image: np.ndarray
    spec: PhantomSpec

    @property
    def centre(self) -> tuple[float, float]:
        if self.spec.centre_px is not None:
            return self.spec.centre_px
        h, w = self.spec.shape
        return ((w - 1) / 2.0, (h - 1) / 2.0)

    @property
    def axis(self) -> np.ndarray:
        """Unit vector (dx, dy) along the shaft, pointing down the image (distal)."""
        a = math.radians(self.spec.axis_deg)
        return np.array([-math.sin(a), math.cos(a)])

    def line_across(self, along_mm: float = 0.0, tilt_deg: float = 0.0, length_factor: float = 1.8) -> Line:
        """A line across the shaft through the axis, ``along_mm`` distal of the centre,
        tilted ``tilt_deg`` away from perpendicular, ``length_factor`` outer diameters long."""
        sp = self.spec
        ax = self.axis
        perp = np.array([ax[1], -ax[0]])  # perpendicular, pointing to the image's right when axis is vertical
        t = math.radians(tilt_deg)
        u = perp * math.cos(t) + ax * math.sin(t)
        cx, cy = self.centre
        c = np.array([cx, cy]) + ax * (along_mm / sp.spacing_mm)
        half = length_factor * sp.outer_d_mm / sp.spacing_mm / 2.0
        return Line(float(c[0] - u[0] * half), float(c[1] - u[1] * half),
                    float(c[0] + u[0] * half), float(c[1] + u[1] * half))


def _chord(radius: np.ndarray | float, d: np.ndarray) -> np.ndarray:
    return 2.0 * np.sqrt(np.clip(np.asarray(radius) ** 2 - d * d, 0.0, None))


def render_phantom(spec: PhantomSpec, supersample: int = 3) -> Phantom:
    """Render ``spec`` (deterministic for a given ``spec.seed``)."""
    h, w = spec.shape
    cx, cy = ((w - 1) / 2.0, (h - 1) / 2.0) if spec.centre_px is None else spec.centre_px
    a = math.radians(spec.axis_deg)
    perp = np.array([math.cos(a), math.sin(a)])  # unit vector across the shaft
    # distance across the shaft is all that matters: compute on supersampled pixel grid
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5
    xs = np.arange(w)[None, :, None, None] + sub[None, None, None, :]
    ys = np.arange(h)[:, None, None, None] + sub[None, None, :, None]
    d_mm = ((xs - cx) * perp[0] + (ys - cy) * perp[1]) * spec.spacing_mm
    big_r, small_r = spec.outer_d_mm / 2.0, spec.inner_d_mm / 2.0
    outer = _chord(big_r, d_mm)
    canal = _chord(small_r, d_mm - spec.canal_offset_mm)
    arm = _chord(spec.arm_d_mm / 2.0, d_mm)
    atten = spec.mu_cortex * (outer - canal) + spec.mu_marrow * canal + spec.mu_soft * (arm - outer)
    atten = atten.mean(axis=(2, 3))
    if spec.blur_px > 0:
        atten = ndimage.gaussian_filter(atten, spec.blur_px, mode="nearest")
    peak = float(atten.max()) or 1.0
    if spec.transfer == "exp":
        img = 0.05 + 0.95 * (1.0 - np.exp(-atten / peak))
    else:
        img = 0.08 + 0.82 * atten / peak
    rng = np.random.default_rng(spec.seed)
    if spec.photons > 0:
        # quantum noise in the detected signal, shown in display units
        signal = np.exp(-atten)
        counts = rng.poisson(spec.photons * signal) / spec.photons
        img = img + (signal - counts) * 0.82 / peak
    if spec.noise_sd > 0:
        img = img + rng.normal(0.0, spec.noise_sd, img.shape)
    return Phantom(image=np.clip(img, 0.0, 1.0).astype(np.float32), spec=spec)


DEMO_SPEC = PhantomSpec(
    shape=(640, 480), spacing_mm=0.15, outer_d_mm=21.0, inner_d_mm=15.4, canal_offset_mm=0.3,
    axis_deg=4.0, blur_px=1.3, photons=3000.0, noise_sd=0.004, seed=7,
)


def demo_case() -> tuple[Phantom, dict[str, Line]]:
    """The page's demonstration image (a phantom, true DTI 1.36 and CCT 5.6 mm) and preset lines:
    ``dti`` drawn 8 degrees off perpendicular, ``cct1`` and ``cct2`` 20 mm apart."""
    ph = render_phantom(DEMO_SPEC)
    lines = {
        "dti": ph.line_across(along_mm=14.0, tilt_deg=8.0),
        "cct1": ph.line_across(along_mm=-24.0),
        "cct2": ph.line_across(along_mm=-4.0),
    }
    rounded = {k: Line(*(round(v, 1) for v in ln.as_tuple())) for k, ln in lines.items()}
    return ph, rounded
