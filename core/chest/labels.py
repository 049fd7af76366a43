"""Chest findings: model label -> translation key and the anatomical region it refers to.

Model labels are the strings a model outputs (torchxrayvision spells them ``Pleural_Thickening``,
``Lung Opacity``...). Everything shown to a person goes through a *slug*: ``chest.finding.<slug>``
is the medical term, ``chest.plain.<slug>`` the plain-language explanation (Korean and English in
``locales/*/chest.json``). The region says how the report names the location of a finding:
lung and pleural findings get a lung zone from the heatmap; heart and mediastinum findings are
named by their organ, because a lung zone would be wrong for them.
"""

from __future__ import annotations

import re
from typing import Literal

from core.i18n import has_key, t

Region = Literal["lung", "pleura", "heart", "mediastinum", "bone", "diaphragm"]

#: The 18 outputs of torchxrayvision's ``densenet121-res224-all``, in model order.
XRV_LABELS: tuple[str, ...] = (
    "Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema",
    "Fibrosis", "Effusion", "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule", "Mass",
    "Hernia", "Lung Lesion", "Fracture", "Lung Opacity", "Enlarged Cardiomediastinum",
)

_REGIONS: dict[str, Region] = {
    "atelectasis": "lung",
    "consolidation": "lung",
    "infiltration": "lung",
    "pneumothorax": "pleura",
    "edema": "lung",
    "emphysema": "lung",
    "fibrosis": "lung",
    "effusion": "pleura",
    "pneumonia": "lung",
    "pleural_thickening": "pleura",
    "cardiomegaly": "heart",
    "nodule": "lung",
    "mass": "lung",
    "hernia": "diaphragm",
    "lung_lesion": "lung",
    "fracture": "bone",
    "lung_opacity": "lung",
    "enlarged_cardiomediastinum": "mediastinum",
}

#: Slugs that have translations (a starter model's labels must map onto these).
KNOWN_SLUGS: tuple[str, ...] = tuple(_REGIONS)


def slug(label: str) -> str:
    """``"Pleural_Thickening"`` -> ``"pleural_thickening"``, ``"Lung Opacity"`` -> ``"lung_opacity"``."""
    return re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")


def region(label: str) -> Region:
    """Anatomical region of a finding (``"lung"`` for labels this module does not know)."""
    return _REGIONS.get(slug(label), "lung")


def name_key(label: str) -> str:
    """Translation key of the finding's medical name (falls back to the raw label for unknown ones)."""
    return f"chest.finding.{slug(label)}"


def plain_key(label: str) -> str:
    """Translation key of the finding's plain-language explanation."""
    return f"chest.plain.{slug(label)}"


def localized_name(label: str, lang: str | None) -> str:
    """The finding's name in ``lang``; an unknown label is shown as the model spells it."""
    key = name_key(label)
    return t(key, lang) if has_key(key) else label.replace("_", " ")


def localized_plain(label: str, lang: str | None) -> str:
    """Plain-language explanation in ``lang`` (empty for unknown labels)."""
    key = plain_key(label)
    return t(key, lang) if has_key(key) else ""
