"""Batch augmentation for radiographs, on tensors (CPU or GPU), seeded through a generator.

What changes and why:

* small rotations (default +-7 degrees), scale (0.9-1.1, i.e. zoom/crop) and shifts (+-6%):
  patient positioning varies, anatomy does not;
* gamma (0.8-1.25), contrast (0.85-1.15) and brightness (+-0.05): exposure, detector and
  windowing differ between sites;
* optional down/up-sampling blur (``blur_p``, by a factor drawn from ``blur_factors``): lowers the
  resolution cue that separates sources and teaches the network low-resolution films (e.g. 28 px
  PneumoniaMNIST thumbnails are 8x below 224 px, figure crops from papers);
* optional tight crops (``zoom_p``: magnify by ``zoom`` and widen by ``stretch``): films cropped
  or collimated to the lungs, or resized from a wider film to a square (PneumoniaMNIST's thumbnails
  are centre crops of Kermany's films; the films in ``cxr/kermany`` are whole films squeezed square);
* **no horizontal flip by default**: the heart, aortic knob and gastric bubble are on the left, so
  a flipped film is not a plausible radiograph and a finding's side (e.g. cardiomegaly,
  dextrocardia) would be lost. ``hflip_p`` is there for tasks where laterality does not matter.

Input and output are ``(B, 1, H, W)`` floats in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F  # noqa: N812


@dataclass(frozen=True)
class Augment:
    rotation_deg: float = 7.0
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.06
    gamma: tuple[float, float] = (0.8, 1.25)
    contrast: tuple[float, float] = (0.85, 1.15)
    brightness: float = 0.05
    hflip_p: float = 0.0
    blur_p: float = 0.0
    blur_factors: tuple[int, ...] = (4,)
    zoom_p: float = 0.0
    zoom: tuple[float, float] = (1.0, 1.0)
    stretch: tuple[float, float] = (1.0, 1.0)

    def __call__(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch; each image draws its own parameters from ``gen``."""
        b = x.shape[0]
        dev = x.device

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return (lo + (hi - lo) * torch.rand(b, generator=gen)).to(dev)

        ang = uniform(-self.rotation_deg, self.rotation_deg) * math.pi / 180
        s = uniform(*self.scale)
        tx, ty = uniform(-self.translate, self.translate) * 2, uniform(-self.translate, self.translate) * 2
        flip = torch.where(torch.rand(b, generator=gen).to(dev) < self.hflip_p, -1.0, 1.0)
        my = s
        mx = s
        if self.zoom_p > 0:  # a tight crop: magnified, wider than tall
            crop = (torch.rand(b, generator=gen) < self.zoom_p).to(dev)
            z, sx = uniform(*self.zoom), uniform(*self.stretch)
            my = torch.where(crop, s * z, s)
            mx = torch.where(crop, s * z * sx, s)
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.stack([torch.stack([cos / mx * flip, -sin / my, tx], 1),
                             torch.stack([sin / mx * flip, cos / my, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        # border padding: a radiograph's edge continues rather than turning black
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if self.blur_p > 0:
            pick = (torch.rand(b, generator=gen) < self.blur_p).to(dev)
            which = torch.randint(len(self.blur_factors), (b,), generator=gen).to(dev)
            if pick.any():
                x = x.clone()
                for k, factor in enumerate(self.blur_factors):
                    sel = pick & (which == k)
                    if sel.any():
                        small = F.interpolate(x[sel], scale_factor=1.0 / factor, mode="area")
                        x[sel] = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
        g = uniform(*self.gamma).view(b, 1, 1, 1)
        x = x.clamp(0.0, 1.0) ** g
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * uniform(*self.contrast).view(b, 1, 1, 1) + mean
        x = x + uniform(-self.brightness, self.brightness).view(b, 1, 1, 1)
        return x.clamp(0.0, 1.0)


NO_AUGMENT = Augment(rotation_deg=0.0, scale=(1.0, 1.0), translate=0.0, gamma=(1.0, 1.0), contrast=(1.0, 1.0),
                     brightness=0.0)
