"""Operating points, the uncertain band, and per-finding status.

Probabilities are calibrated so that **0.5 is each finding's operating point** (torchxrayvision's
``op_threshs``, mapped to 0.5 by ``op_norm``). Presets move that point on the calibrated scale:

| preset | operating point | meaning |
|---|---|---|
| ``sensitive`` | 0.35 | flag more: fewer missed findings, more false alarms |
| ``balanced`` | 0.50 | the published operating point of each finding |
| ``specific`` | 0.65 | flag less: fewer false alarms, more missed findings |

On xrv's calibrated scale 0.35 is 0.7x the raw threshold and 0.65 is 70 % of the way from the raw
threshold to 1 (``op_norm`` is linear on each side of the threshold).

A finding is **positive** at ``p >= op + band``, **uncertain** within ``op ± band``, **negative**
below ``op - band``. The band is the finding's own when the model card gives one (sized from that
finding's score spread on validation patients, see ``docs/chest_models.md``), else 0.10.
Positives have **high** certainty at ``p >= op + 0.25``, otherwise **moderate**; uncertain
findings have **low** certainty. A finding the model cannot tell from chance on held-out patients
(its AUC interval includes 0.5) is **unreliable**: shown greyed, never reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Preset = Literal["sensitive", "balanced", "specific"]
PRESETS: dict[str, float] = {"sensitive": 0.35, "balanced": 0.50, "specific": 0.65}
DEFAULT_PRESET: Preset = "balanced"
BAND = 0.10
HIGH_MARGIN = 0.25


@dataclass(frozen=True)
class OperatingPoint:
    """A preset and its numbers."""

    preset: str
    threshold: float
    band: float = BAND

    @classmethod
    def of(cls, preset: str) -> OperatingPoint:
        """The named preset. Raises ``KeyError`` for unknown names."""
        if preset not in PRESETS:
            raise KeyError(f"unknown operating point preset {preset!r}; known: {list(PRESETS)}")
        return cls(preset, PRESETS[preset])

    def status(self, p: float, band: float | None = None) -> Literal["positive", "uncertain", "negative"]:
        """Status of calibrated probability ``p`` (``band``: the finding's own half-width, if any)."""
        b = self.band if band is None else band
        if p >= self.threshold + b:
            return "positive"
        if p > self.threshold - b:
            return "uncertain"
        return "negative"

    def certainty(self, p: float, band: float | None = None) -> Literal["high", "moderate", "low"]:
        status = self.status(p, band)
        if status == "positive":
            return "high" if p >= self.threshold + HIGH_MARGIN else "moderate"
        return "low" if status == "uncertain" else ("high" if p <= self.threshold - HIGH_MARGIN else "moderate")
