"""Chest X-ray analysis: input gate, classifier interface, heatmaps, lung zones, report facts.

Data flow (each arrow one call)::

    bytes -> core.imaging.load_image -> gate.check_input -> ChestModel.predict (probabilities,
    pooled features, CAMs for every finding in one pass) -> gate.check_features -> zones.locate
    -> ChestAnalysis.facts(OperatingPoint) -> core.llm writer -> core.export.chest.to_pdf / to_json

Public API::

    from core.chest import analyse, analyse_bytes, load_best_model, availability, OperatingPoint

Submodules: ``model`` (ChestModel, ChestPrediction, build_test_model), ``nets`` (architectures and
their InputSpec), ``loader`` (registry), ``starter``, ``gate``, ``zones``, ``reading`` (presets),
``analysis``, ``facts`` (what a report may say), ``labels``, ``preprocess``. The writers
(:mod:`core.llm`) and the exports (:mod:`core.export.chest`) sit above this package.
Importing this package does not import torch; the model modules do, so ``analysis`` and ``loader``
are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.chest.reading import DEFAULT_PRESET, PRESETS, OperatingPoint

if TYPE_CHECKING:
    from core.chest.analysis import ChestAnalysis, analyse, analyse_bytes
    from core.chest.loader import availability, load_best_model

__all__ = [
    "DEFAULT_PRESET", "PRESETS", "ChestAnalysis", "OperatingPoint", "analyse", "analyse_bytes",
    "availability", "load_best_model",
]


def __getattr__(name: str) -> Any:
    # lazy: the analysis and loader modules import torch, which a page should pay for only when used
    if name in ("ChestAnalysis", "analyse", "analyse_bytes"):
        from core.chest import analysis

        return getattr(analysis, name)
    if name in ("availability", "load_best_model"):
        from core.chest import loader

        return getattr(loader, name)
    raise AttributeError(name)
