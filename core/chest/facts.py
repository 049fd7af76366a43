"""What a chest report may say: structured, verified facts (never pixels, never patient data).

:meth:`core.chest.analysis.ChestAnalysis.facts` builds :class:`ChestReportFacts` from the
classifier, the heatmaps and the lung zones. Every report writer in :mod:`core.llm` (the
structured template, the transformers / Gemma backends, the image-prefix adapter) turns the same
facts into text, and :mod:`core.llm.guard` checks a language model's text finding by finding
against them. They live here, with the analysis that produces them, so the writers depend on the
chest package and never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["positive", "uncertain", "negative"]
Certainty = Literal["high", "moderate", "low"]
Side = Literal["right", "left", "bilateral"]
Level = Literal["upper", "middle", "lower"]
Region = Literal["lung", "pleura", "heart", "mediastinum", "bone", "diaphragm"]


@dataclass(frozen=True)
class FindingFact:
    """One finding as the report may state it.

    Attributes:
        label: the model's label (``"Effusion"``).
        slug: translation slug (``chest.finding.<slug>``).
        probability: calibrated probability (0.5 = operating point of the balanced preset).
        status: ``positive`` (above the uncertain band), ``uncertain`` (inside it) or ``negative``.
        certainty: ``high`` / ``moderate`` for positives, ``low`` inside the band.
        region: anatomical region the finding refers to.
        side: patient side from the heatmap (lung/pleura/bone findings only), or None.
        level: lung zone (upper/middle/lower) of the heatmap's hot region, or None.
        outside: the heatmap's peak lies outside the area where this finding can be (outside the
            lung fields for a lung finding; on a marker, a border, the shoulder): the location is
            low-confidence and no side, zone or organ is named.
        edge: the peak is where the finding can be, but within the lung-box estimate's typical error
            of a lung box's edge: the side and zone are named with "location approximate".
    """

    label: str
    slug: str
    probability: float
    status: Status
    certainty: Certainty
    region: Region = "lung"
    side: Side | None = None
    level: Level | None = None
    outside: bool = False
    edge: bool = False


@dataclass(frozen=True)
class ChestReportFacts:
    """Everything a chest report may say, in one immutable object."""

    findings: tuple[FindingFact, ...]
    preset: str
    operating_point: float
    band: float
    model_title: str
    model_version: str
    n_assessed: int
    gate_notes: tuple[str, ...] = field(default=())  # translation keys of gate warnings
    test_model: bool = False
    kind: str = "chest"
    #: The chest model's pooled image features from the same forward pass (a read-only float32
    #: array or a tuple of floats), for writers that condition on the image (``gemma-lora``).
    #: Numbers only, never pixels; left out of equality, hashing and repr.
    image_embedding: tuple[float, ...] | Any | None = field(default=None, compare=False, repr=False)
    #: ``model_title`` in other languages (``(("ko", "..."),)``), for the text a person reads;
    #: ``model_title`` stays the canonical name that writers and adapters bind to
    model_titles: tuple[tuple[str, str], ...] = ()

    def title_in(self, lang: str) -> str:
        """The model's title in ``lang`` when its card translates it, else ``model_title``."""
        return dict(self.model_titles).get(lang, self.model_title)

    @property
    def positives(self) -> tuple[FindingFact, ...]:
        return tuple(f for f in self.findings if f.status == "positive")

    @property
    def uncertain(self) -> tuple[FindingFact, ...]:
        return tuple(f for f in self.findings if f.status == "uncertain")
