"""PDF and JSON exports of one chest analysis, and its audit-trail record.

Nothing here reads DICOM tags: exports are built only from the analysis (pixels, model outputs,
the technical fields of :class:`~core.imaging.ImageInput` listed in :data:`INPUT_FIELDS`), so
patient names, IDs, dates of birth and the upload's file name can never reach a PDF, a JSON file or
the audit trail. The technical tag values are enumerated terms only (:mod:`core.imaging.tags`,
applied again here), and an image whose DICOM file says BurnedInAnnotation YES goes into the PDF
only when the user confirmed it (``include_images``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from core.chest.analysis import ChestAnalysis, heatmap, overlay, thumbnail
from core.chest.labels import localized_name, localized_plain
from core.chest.reading import OperatingPoint
from core.chest.screening import ScreeningResult, model_limits
from core.export.pdf import PdfBuilder
from core.i18n import t
from core.imaging import tags
from core.llm.structured import location_phrase

SCHEMA = "drdeepchest.chest-analysis/1"
INPUT_FIELDS = ("source_format", "width", "height", "bit_depth", "is_color", "modality", "body_part", "view_position", "photometric")
PDF_IMAGE_PX = 1024
PDF_HEATMAPS = 3


_ENUMERATED = {"modality": tags.modality, "body_part": tags.body_part, "view_position": tags.view_position,
               "photometric": lambda v: None if v is None else str(v)}


def input_summary(analysis: ChestAnalysis) -> dict[str, Any]:
    """Technical description of the input (no patient data, no file name)."""
    img = analysis.image
    out: dict[str, Any] = {"sha256": img.sha256}
    for name in INPUT_FIELDS:
        value = getattr(img, name, None)
        if name in _ENUMERATED:
            value = _ENUMERATED[name](value)
        out[name] = value if isinstance(value, (int, float, bool)) or value is None else str(value)
    out["burned_in_annotation"] = burned_in(analysis)
    return out


def burned_in(analysis: ChestAnalysis) -> bool:
    """True when the input's DICOM file says patient details are burned into the pixels."""
    return analysis.image.meta.get("burned_in_annotation") is True


def to_dict(analysis: ChestAnalysis, op: OperatingPoint, lang: str, report_text: str | None = None, writer: str = "structured",
            screening: ScreeningResult | None = None) -> dict[str, Any]:
    """The analysis as a JSON-ready dict (schema :data:`SCHEMA`), with the model's limits (held-out AUC,
    weak-model notice, override state) and the pneumonia screening result when given."""
    gate = analysis.gate
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "created_at": analysis.created_at,
        "input": input_summary(analysis),
        "inverted_applied": analysis.inverted_applied,
        "rotation_applied": analysis.rotation_applied,
        "overridden": gate.overridden,
        "gate": {
            "decision": gate.decision,
            "overridden": gate.overridden,
            "issues": [{"code": i.code, "severity": i.severity, "message": i.message(lang)} for i in gate.issues],
            "scores": {k: round(float(v), 5) for k, v in gate.scores},
        },
        "intended_use": t("chest.notice.intended_use", lang),
    }
    if gate.overridden:
        data["override_notice"] = _override_notice(analysis, lang)
    if analysis.prediction is None:
        data["findings"] = []
        return data
    pred = analysis.prediction
    facts = analysis.facts(op)
    by_label = {f.label: f for f in facts.findings}
    data["model"] = {
        "name": pred.model.name, "title": pred.model.title, "version": pred.model.version,
        "sha256": pred.model.sha256, "test_model": pred.model.is_test_model, "cam_method": pred.cam_method,
    }
    data["operating_point"] = {"preset": op.preset, "threshold": op.threshold, "uncertain_band": op.band}
    limits = model_limits(analysis)
    limits["notice"] = limits_notice(analysis, lang)
    data["model_limits"] = limits
    data["not_assessed"] = t("chest.screening.not_assessed", lang)
    if screening is not None:
        data["screening"] = screening.to_dict()
    findings = []
    for f in analysis.reported_findings:
        fact = by_label[f.label]
        findings.append({
            "label": f.label,
            "name": localized_name(f.label, lang),
            "plain": localized_plain(f.label, lang),
            "probability": round(f.probability, 5),
            "status": fact.status,
            "certainty": fact.certainty,
            "region": f.region,
            "side": fact.side,
            "zone": fact.level,
            "location": location_phrase(fact, lang),
            "heatmap_peak_xy": None if f.location is None else [round(v, 1) for v in f.location.peak],
            "heatmap_peak_in_lung": None if f.location is None else f.location.peak_in_lung,
            "uncertain_band": round(f.band if f.band is not None else op.band, 4),
        })
    data["findings"] = findings
    data["not_reported"] = [{"label": f.label, "name": localized_name(f.label, lang),
                             "reason": t("chest.status.unreliable_reason", lang)}
                            for f in analysis.findings if not f.reported]
    if analysis.lungs is not None:
        data["lung_fields"] = {
            "method": analysis.lungs.method, "right_xywh": analysis.lungs.right.as_list(), "left_xywh": analysis.lungs.left.as_list(),
        }
    if report_text is not None:
        data["report"] = {"lang": lang, "writer": writer, "text": report_text}
    return data


def _override_notice(analysis: ChestAnalysis, lang: str) -> str:
    """What the user overrode, for the PDF and JSON of an overridden result."""
    refused = "; ".join(i.message(lang) for i in analysis.gate.overridden_refusals)
    return t("chest.export.overridden", lang, issues=refused)


def to_json(analysis: ChestAnalysis, op: OperatingPoint, lang: str, report_text: str | None = None, writer: str = "structured",
            screening: ScreeningResult | None = None) -> bytes:
    """UTF-8 JSON bytes of :func:`to_dict`."""
    return json.dumps(to_dict(analysis, op, lang, report_text, writer, screening), ensure_ascii=False, indent=2).encode("utf-8")


def limits_notice(analysis: ChestAnalysis, lang: str) -> str:
    """The notice the page shows about the findings model, in ``lang`` ("" for torchxrayvision's)."""
    limits = model_limits(analysis)
    parts = []
    if limits.get("weak_model") and limits.get("held_out_mean_auc") is not None:
        ci = limits.get("held_out_mean_auc_ci95") or [None, None]
        parts.append(t("chest.limits.weak_model", lang, auc=f"{limits['held_out_mean_auc']:.2f}",
                       lo=f"{ci[0]:.2f}" if ci[0] is not None else "?", hi=f"{ci[1]:.2f}" if ci[1] is not None else "?",
                       n=limits.get("held_out_n", "?")))
    if limits.get("overridden"):
        parts.append(t("chest.limits.overridden", lang))
    return " ".join(parts)


def _heatmap_images(analysis: ChestAnalysis, op: OperatingPoint, lang: str, opacity: float) -> list[tuple[np.ndarray, str]]:
    pred = analysis.prediction
    assert pred is not None
    base = thumbnail(np.asarray(analysis.image.pixels), PDF_IMAGE_PX)
    h, w = base.shape[:2]
    chosen = [f for f in analysis.reported_findings
              if op.status(f.probability, f.band) != "negative" and pred.cam_peak[f.index] > 0][:PDF_HEATMAPS]
    if not chosen:
        chosen = [f for f in analysis.findings if pred.cam_peak[f.index] > 0][:1]
    items = []
    for f in chosen:
        heat = heatmap(pred, f.index, h, w)
        items.append((overlay(base, heat, opacity), t("chest.pdf.heatmap_caption", lang, name=localized_name(f.label, lang), score=f"{f.probability:.2f}")))
    return items


def to_pdf(analysis: ChestAnalysis, op: OperatingPoint, lang: str, report_text: str, opacity: float = 0.5,
           writer: str = "structured", screening: ScreeningResult | None = None,
           include_images: bool | None = None) -> bytes:
    """The PDF report: notice, model and input, images with heatmaps, findings table, report text.

    ``writer``: who wrote ``report_text`` (a registry name); text from a language model is labelled
    as machine-written and checked, as on the page. ``include_images``: put the image and its
    heatmaps in; None (default) means yes unless the DICOM file says BurnedInAnnotation YES (then
    only an explicit True, the user's confirmation, puts them in).

    Raises:
        ValueError: the image was not analysed (gate refusal).
    """
    pred = analysis.prediction
    if pred is None:
        raise ValueError("no prediction to export: the input gate refused this image")
    facts = analysis.facts(op)
    by_label = {f.label: f for f in facts.findings}
    pdf = PdfBuilder(
        t("chest.pdf.title", lang),
        t("chest.pdf.subtitle", lang, date=analysis.created_at.replace("T", " ").replace("+00:00", " UTC")),
        footer=t("chest.pdf.footer", lang),
    )
    if pred.model.is_test_model:
        pdf.notice(t("chest.test_model", lang))
    if analysis.gate.overridden:
        pdf.notice(_override_notice(analysis, lang))
    pdf.notice(t("chest.notice.intended_use", lang))
    notice = limits_notice(analysis, lang)
    if notice:
        pdf.notice(notice)
    pdf.heading(t("chest.pdf.section.model", lang))
    pdf.key_values([
        (t("chest.pdf.model", lang), pred.model.title_in(lang)),
        (t("chest.pdf.model_name", lang), pred.model.name),
        (t("chest.pdf.version", lang), pred.model.version),
        (t("chest.pdf.checksum", lang), pred.model.sha256),
        (t("chest.pdf.heatmap_method", lang), t(f"chest.cam_method.{pred.cam_method}", lang)),
        (t("chest.pdf.operating_point", lang), t("chest.pdf.operating_point_value", lang, preset=t(f"chest.preset.{op.preset}", lang), threshold=f"{op.threshold:.2f}", band=f"{op.band:.2f}")),
        (t("chest.pdf.input_hash", lang), analysis.image.sha256),
        (t("chest.pdf.input", lang), f"{analysis.image.source_format} {analysis.image.width}x{analysis.image.height}"),
        (t("chest.pdf.gate", lang), t(f"chest.gate.decision.{analysis.gate.decision}", lang)),
        (t("chest.pdf.override", lang), t("chest.pdf.override_yes" if analysis.gate.overridden else "chest.pdf.override_no", lang)),
    ])
    if analysis.inverted_applied:
        pdf.paragraph("• " + t("chest.gate.inverted_applied", lang), size=9)
    if analysis.rotation_applied:
        pdf.paragraph("• " + t("chest.gate.rotated_applied", lang), size=9)
    for issue in analysis.gate.issues:
        pdf.paragraph("• " + issue.message(lang), size=9)
    pdf.heading(t("chest.pdf.section.images", lang))
    if include_images is None:
        include_images = not burned_in(analysis)
    if include_images:
        base = thumbnail(np.asarray(analysis.image.pixels), PDF_IMAGE_PX)
        heat_items = _heatmap_images(analysis, op, lang, opacity)
        pdf.images([(base, t("chest.pdf.original", lang)), heat_items[0]] if heat_items else [(base, t("chest.pdf.original", lang))])
        if len(heat_items) > 1:
            pdf.images(heat_items[1:])
    else:
        pdf.notice(t("chest.pdf.images_left_out", lang))
    pdf.heading(t("chest.pdf.section.findings", lang))
    rows = []
    for f in analysis.reported_findings:
        fact = by_label[f.label]
        rows.append([
            localized_name(f.label, lang),
            f"{f.probability:.2f}",
            t(f"chest.pdf.status.{fact.status}", lang),
            location_phrase(fact, lang) or "-",
        ])
    pdf.table(
        [t("chest.col.finding", lang), t("chest.col.probability", lang), t("chest.col.status", lang), t("chest.col.location", lang)],
        rows, widths=[4, 1.3, 1.6, 3],
    )
    unreliable = [localized_name(f.label, lang) for f in analysis.findings if not f.reported]
    if unreliable:
        pdf.paragraph(t("chest.status.unreliable_list", lang, names=", ".join(unreliable)), size=8.5)
    if screening is not None:
        pdf.key_values([(t("chest.screening.title", lang), t("chest.screening.value", lang, p=f"{screening.probability:.2f}",
                                                               status=t(f"chest.status.{screening.status}", lang)))])
    pdf.paragraph(t("chest.screening.not_assessed", lang), size=8.5)
    pdf.heading(t("chest.pdf.section.report", lang))
    if writer != "structured":
        pdf.paragraph(t("llm.ui.machine_written", lang, title=t(f"llm.writer.{writer}", lang)), size=8.5)
    pdf.paragraph(report_text.strip(), size=9.5)
    pdf.notice(t("chest.notice.intended_use", lang) + "\n" + t("chest.notice.location", lang))
    return pdf.build()


SHARE_TOP = 3  # a shared summary lists every finding not read as unlikely, and at least the top three


def share_refusal(result: ChestAnalysis) -> str | None:
    """The translation key of why an analysis is not offered for sharing (a random-weight test model, or
    analysed against the input check), or None when it may be shared."""
    if result.model is None or result.model.is_test_model:
        return "chest.share.test_model"
    if result.overridden:
        return "chest.share.overridden"
    return None


def share_summary(result: ChestAnalysis, op: OperatingPoint, code: str) -> dict[str, Any]:
    """The board summary of one analysis: finding names with their status and score, the model name, the
    operating point and the input check's verdict. Built from the model outputs and the gate only: never
    the image, the file name or a DICOM tag. ``code``: the language of the labels and the note.

    Raises:
        ValueError: the result was analysed after overriding the input check (never shared), or not
            analysed at all.
    """
    if result.gate.overridden:
        raise ValueError("an analysis made after overriding the input check is never shared")
    if result.prediction is None:
        raise ValueError("no prediction to share: the input gate refused this image")
    findings = [
        {"label": t("chest.share.finding", code, name=localized_name(f.label, code),
                    status=t(f"chest.status.{op.status(f.probability, f.band)}", code)),
         "score": round(float(f.probability), 3)}
        for i, f in enumerate(result.reported_findings) if i < SHARE_TOP or op.status(f.probability, f.band) != "negative"
    ]
    verdict = t(f"chest.gate.decision.{result.gate.decision}", code)
    note = t("chest.share.note", code, gate=verdict, preset=t(f"chest.preset.{op.preset}", code),
             op=f"{op.threshold:.2f}", band=f"{op.band:.2f}")
    return {"task": "chest", "model": result.model.name, "findings": findings, "note": note}
