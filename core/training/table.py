"""Markdown tables of ``compare`` results (the figures in docs/starter_models.md come from here).

    python -m core.training table weights/downloads/training-runs/compare-nih14/results.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _ci(value: Any, ci: Any) -> str:
    if value is None:
        return "n/a"
    if not ci or ci[0] is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _pair(test: dict[str, Any], pair: str, group: str) -> str:
    entry = test.get("pairs", {}).get(pair, {}).get(group)
    return _ci(entry["auc"], entry["ci95"]) if entry else "n/a"


def markdown(results: dict[str, Any]) -> str:
    """One row per model: validation figure, test figures with 95% CIs, minutes."""
    rows = results["rows"]
    runs = results["runs"]
    best = results.get("best")
    lines = []
    if results["task"] == "nih14":
        lines.append("| model | method | val mean AUC | test mean AUC [95% CI] | test macro-F1 | minutes |")
        lines.append("|---|---|---|---|---|---|")
        for r in rows:
            mark = " **(shipped)**" if r["model"] == best else ""
            lines.append(f"| {r['model']}{mark} | {r['method']} | {r['val_figure']:.3f} | "
                         f"{_ci(r['test_mean_auc'], r['test_mean_auc_ci95'])} | {r['test_macro_f1']:.3f} | {r['minutes']} |")
    else:
        lines.append("| model | dev figure | COVID vs Normal within Actualmed | COVID vs Normal within ieee8023 | "
                     "COVID vs Pneumonia within ieee8023 | COVID vs Normal all sources | accuracy | macro-F1 | minutes |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            t = runs[r["model"]]["test"]
            mark = " **(shipped)**" if r["model"] == best else ""
            lines.append(
                f"| {r['model']}{mark} | {r['val_figure']:.3f} | {_pair(t, 'COVID-19 vs Normal', 'within actualmed')} | "
                f"{_pair(t, 'COVID-19 vs Normal', 'within ieee8023-covid-chestxray')} | "
                f"{_pair(t, 'COVID-19 vs Pneumonia', 'within ieee8023-covid-chestxray')} | "
                f"{_pair(t, 'COVID-19 vs Normal', 'all sources')} | {t['accuracy']:.3f} | {t['macro_f1']:.3f} | {r['minutes']} |")
    return "\n".join(lines)


def per_label(results: dict[str, Any], model: str) -> str:
    """Per-label test AUCs with 95% CIs of one model."""
    test = results["runs"][model]["test"]
    per = test.get("per_label") or test.get("per_class")
    lines = ["| label | positives | AUC [95% CI] | precision | recall | F1 |", "|---|---|---|---|---|---|"]
    for lab, e in per.items():
        n = e.get("positives", e.get("support"))
        lines.append(f"| {lab} | {n} | {_ci(e['auc'], e['ci95'])} | {e['precision']:.2f} | {e['recall']:.2f} | {e['f1']:.2f} |")
    return "\n".join(lines)


def main(paths: list[str]) -> int:
    for p in paths:
        res = json.loads(Path(p).read_text(encoding="utf-8"))
        print(f"\n### {res['task']}\n\n{markdown(res)}\n\nPer label, {res['best']}:\n\n{per_label(res, res['best'])}")
    return 0
