"""What the Models page shows doctors about the chest models, built from their cards (no Streamlit):
per-finding held-out figures, the operating point and band of each finding, and which chest model
and screening model the chest page uses now. (Here, not in :mod:`core.models`, because it reads the
chest labels and loader: the registry sits below the feature packages.)"""

from __future__ import annotations

from typing import Any

from core.chest.labels import localized_name
from core.chest.screening import SCREENING_NAME
from core.i18n import t
from core.models.card import ModelCard
from core.models.registry import get_card, status


def _fmt(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, int | float) else "–"


def per_finding_rows(card: ModelCard, lang: str) -> list[dict[str, str]]:
    """One row per finding of a multi-label card's held-out figures ([] when the card has none)."""
    held = (card.metrics or {}).get("held_out_test") or {}
    per = held.get("per_label") or {}
    ops = (card.input or {}).get("op_threshs") or []
    bands = (card.input or {}).get("uncertain_band") or []
    reported = (card.input or {}).get("reported") or []
    rows = []
    for i, label in enumerate(card.labels):
        entry = per.get(label)
        if not isinstance(entry, dict):
            continue
        ci = entry.get("ci95") or [None, None]
        ok = reported[i] if i < len(reported) else (ci[0] is not None and ci[0] > 0.5)
        rows.append({
            t("models.per_finding.col.finding", lang): localized_name(label, lang),
            t("models.per_finding.col.auc", lang): _fmt(entry.get("auc")),
            t("models.per_finding.col.ci", lang): f"{_fmt(ci[0])}–{_fmt(ci[1])}",
            t("models.per_finding.col.positives", lang): f"{entry.get('positives', '–')} / {entry.get('n', '–')}",
            t("models.per_finding.col.op", lang): f"{ops[i]:.3f}" if i < len(ops) else "–",
            t("models.per_finding.col.band", lang): f"{bands[i]:.2f}" if i < len(bands) else "0.10",
            t("models.per_finding.col.reported", lang): t("models.per_finding.yes" if ok else "models.per_finding.no", lang),
        })
    return rows


def mean_line(card: ModelCard, lang: str) -> str:
    """"Mean AUC 0.78 (95% CI ...) on N held-out films; k of 14 intervals exclude 0.5" ("" without figures)."""
    held = (card.metrics or {}).get("held_out_test") or {}
    if held.get("mean_auc") is None:
        return ""
    ci = held.get("mean_auc_ci95") or [None, None]
    per = held.get("per_label") or {}
    k = sum(1 for e in per.values() if isinstance(e, dict) and (e.get("ci95") or [None])[0] not in (None,) and e["ci95"][0] > 0.5)
    return t("models.per_finding.mean", lang, auc=_fmt(held["mean_auc"]), lo=_fmt(ci[0]), hi=_fmt(ci[1]), n=held.get("n", "?"),
             k=k, total=len(per))


def pair_lines(card: ModelCard) -> list[str]:
    """"set: AUC [lo, hi] (n)" lines of a screening card's held-out pairs."""
    pairs = ((card.metrics or {}).get("held_out_test") or {}).get("pairs") or {}
    out = []
    for name, entry in pairs.items():
        if isinstance(entry, dict) and "auc" in entry:
            ci = entry.get("ci95") or [None, None]
            out.append(f"{name}: {_fmt(entry['auc'])} [{_fmt(ci[0])}, {_fmt(ci[1])}] (n {entry.get('n', '?')})")
    return out


def training_data(card: ModelCard) -> str:
    """The card's training-data sentence ("" when it states none)."""
    return str(((card.metrics or {}).get("training") or {}).get("data") or "")


def in_use() -> dict[str, str | None]:
    """Registry names of the models the pages use now (None: none installed)."""
    # lazy: the loader imports torch, which the Models page needs only here
    from core.chest.loader import availability

    out: dict[str, str | None] = {"chest": availability().name}
    try:
        card = get_card(SCREENING_NAME)
        out["screening"] = SCREENING_NAME if status(SCREENING_NAME).installed and tuple(card.labels) == ("Pneumonia",) else None
    except KeyError:
        out["screening"] = None
    return out
