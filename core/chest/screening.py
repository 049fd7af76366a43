"""Pneumonia screening beside the 14 findings, and the model limits every export carries.

The pneumonia model (card ``starter-screening-efficientnet-lite0``, task ``chest-screening``) gives
one calibrated score: 0.5 is its operating point (Youden's J on validation films), with the usual
uncertain band. It runs only on an image the input gate accepted for the findings model (the same
pixels, inverted when the user chose that). COVID-19 and tuberculosis are not assessed: no model
for either is installed (COVID-19 stays research-only because of the source shortcut, see
``docs/starter_models.md``), and the page and exports say so.

Usage::

    from core.chest.screening import load_screening_model, screen
    result = screen(analysis, load_screening_model(), op)     # ScreeningResult | None
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.chest.reading import OperatingPoint
from core.models.registry import get_card

if TYPE_CHECKING:
    from core.chest.analysis import ChestAnalysis
    from core.chest.model import ChestModel

SCREENING_NAME = "starter-screening-efficientnet-lite0"
LABEL = "Pneumonia"


@dataclass(frozen=True)
class ScreeningResult:
    """One pneumonia screening score with its reading and the model's held-out figures."""

    probability: float
    status: str  # positive / uncertain / negative at the page's operating point
    model_name: str
    model_title: str
    model_version: str
    model_sha256: str
    figures: tuple[tuple[str, float | None, float | None, float | None], ...]  # (set, auc, lo, hi)

    def figures_text(self) -> str:
        """The held-out figures in one line: "set AUC [lo, hi]; ..." ("" when none is complete)."""
        return "; ".join(f"{name} {a:.2f} [{lo:.2f}, {hi:.2f}]" for name, a, lo, hi in self.figures
                         if a is not None and lo is not None and hi is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"label": LABEL, "probability": round(self.probability, 5), "status": self.status,
                "model": {"name": self.model_name, "title": self.model_title, "version": self.model_version,
                          "sha256": self.model_sha256},
                "held_out_auc": [{"set": s, "auc": a, "ci95": [lo, hi]} for s, a, lo, hi in self.figures],
                "not_assessed": ["COVID-19", "Tuberculosis"]}


def load_screening_model() -> ChestModel:
    """The verified pneumonia screening model.

    Raises:
        MissingModelError: not installed or its file fails its checksum.
        ValueError: the installed card is not a one-label pneumonia model (an old bundle).
    """
    from core.chest.starter import load_starter  # lazy: imports torch

    model = load_starter(SCREENING_NAME)
    if tuple(model.labels) != (LABEL,):
        raise ValueError(f"{SCREENING_NAME} has labels {model.labels}, expected ({LABEL!r},)")
    return model


def figures(card_name: str = SCREENING_NAME) -> tuple[tuple[str, float | None, float | None, float | None], ...]:
    """Held-out AUCs recorded in the screening card (empty when it records none).

    Raises:
        KeyError: no such card.
    """
    pairs = (get_card(card_name).metrics or {}).get("held_out_test", {}).get("pairs", {})
    out = []
    for name, entry in pairs.items():
        if isinstance(entry, dict) and "auc" in entry:
            ci = entry.get("ci95") or [None, None]
            out.append((str(name), entry.get("auc"), ci[0], ci[1]))
    return tuple(out)


def screen(analysis: ChestAnalysis, model: ChestModel | None, op: OperatingPoint) -> ScreeningResult | None:
    """Pneumonia score of an analysed image (None when the gate refused it or no model is given)."""
    if model is None or not analysis.analysed:
        return None
    pred = model.predict(analysis.image)  # the analysed pixels (the negative when the user chose to invert)
    p = float(pred.probabilities[0])
    ident = pred.model
    return ScreeningResult(p, op.status(p), ident.name, ident.title, ident.version, ident.sha256, figures(ident.name))


def model_limits(analysis: ChestAnalysis) -> dict[str, Any]:
    """What an export must state about the findings model: held-out AUC, the weak-model notice, override.

    Cards without held-out figures (torchxrayvision's DenseNet) point to the published benchmarks.
    """
    model = analysis.model
    out: dict[str, Any] = {"overridden": analysis.gate.overridden, "inverted_applied": analysis.inverted_applied}
    if model is None:
        return out
    out["model"] = model.name
    try:
        held = (get_card(model.name).metrics or {}).get("held_out_test") or {}
    except KeyError:
        held = {}
    if "mean_auc" in held:
        out["held_out_mean_auc"] = held.get("mean_auc")
        out["held_out_mean_auc_ci95"] = held.get("mean_auc_ci95")
        out["held_out_n"] = held.get("n")
        out["findings_reported"] = held.get("intervals_excluding_chance")
    out["weak_model"] = model.name != "xrv-densenet121-res224-all"
    out["test_model"] = model.is_test_model
    return out
