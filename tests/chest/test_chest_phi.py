"""PHI edges of issue 16: free text typed into technical DICOM tags never reaches the page's
messages, the JSON or PDF export, the audit trail or the board summary; an image whose file says
BurnedInAnnotation YES stays out of the PDF unless the user confirms."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.chest import batch
from core.chest.analysis import analyse_bytes
from core.chest.reading import OperatingPoint
from core.export import chest as export
from core.llm.writer import report_stream

TYPED = {"BodyPartExamined": "HONG GILDONG", "ViewPosition": "KIM 0101234"}
SECRETS = ["HONG", "GILDONG", "Hong", "KIM", "0101234"]


def _siim_with(shared_data: Path, **tags: str) -> bytes:
    import pydicom

    ds = pydicom.dcmread(shared_data / "dicom" / "siim_pneumothorax_sample.dcm")
    for key, value in tags.items():
        setattr(ds, key, value)
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


class _PdfSpy:
    """Records every text and image block a PdfBuilder receives."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from core.export import pdf as pdf_module

        self.texts: list[str] = []
        self.images = 0
        safe, images = pdf_module.PdfBuilder._safe, pdf_module.PdfBuilder.images

        def spy_safe(builder, text):  # type: ignore[no-untyped-def]
            self.texts.append(str(text))
            return safe(builder, text)

        def spy_images(builder, items, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.images += len(items)
            return images(builder, items, *args, **kwargs)

        monkeypatch.setattr(pdf_module.PdfBuilder, "_safe", spy_safe)
        monkeypatch.setattr(pdf_module.PdfBuilder, "images", spy_images)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def test_text_typed_into_body_part_and_view_never_leaves_the_loader(shared_data: Path, test_model,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = _siim_with(shared_data, **TYPED)
    refused = analyse_bytes(data, "x.dcm", test_model, feature_ref=None)
    assert refused.image.body_part == "OTHER" and refused.image.view_position == "OTHER"
    assert "dicom_body_part" in [i.code for i in refused.gate.issues]  # an unlisted body part is not a chest
    result = analyse_bytes(data, "x.dcm", test_model, feature_ref=None, override=True)
    assert result.analysed
    op = OperatingPoint.of("balanced")
    spy = _PdfSpy(monkeypatch)
    said = []
    for lang in ("ko", "en"):
        text = "".join(report_stream(result, op, lang))
        said += [text, export.to_json(result, op, lang, text).decode("utf-8")]
        said += [i.message(lang) for i in result.gate.issues]
        export.to_pdf(result, op, lang, text)
        with pytest.raises(ValueError):  # an overridden result is never shared
            export.share_summary(result, op, lang)
    said += [spy.text, json.dumps(batch.audit_fields(result, op)), repr(result.image), json.dumps(result.image.meta)]
    blob = "\n".join(said)
    assert not [s for s in SECRETS if s in blob]
    summary = json.loads(export.to_json(result, op, "en"))["input"]
    assert (summary["body_part"], summary["view_position"]) == ("OTHER", "OTHER")


def test_listed_terms_are_kept(shared_data: Path, test_model) -> None:
    result = analyse_bytes(_siim_with(shared_data, BodyPartExamined="PORTABLE CHEST", ViewPosition="AP"),
                           "x.dcm", test_model, feature_ref=None)
    assert (result.image.body_part, result.image.view_position) == ("CHEST", "AP")
    assert "dicom_body_part" not in [i.code for i in result.gate.issues]


def test_burned_in_annotation_keeps_the_image_out_of_the_pdf_by_default(shared_data: Path, test_model,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from core.i18n import t

    result = analyse_bytes(_siim_with(shared_data, BurnedInAnnotation="YES"), "x.dcm", test_model, feature_ref=None)
    assert result.analysed and export.burned_in(result)
    op = OperatingPoint.of("balanced")
    text = "".join(report_stream(result, op, "en"))
    assert json.loads(export.to_json(result, op, "en", text))["input"]["burned_in_annotation"] is True
    spy = _PdfSpy(monkeypatch)
    export.to_pdf(result, op, "en", text)
    assert spy.images == 0 and t("chest.pdf.images_left_out", "en") in spy.text
    export.to_pdf(result, op, "en", text, include_images=True)  # the user confirmed
    assert spy.images >= 2


def test_without_the_flag_the_pdf_has_the_images(shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    result = analyse_bytes(_siim_with(shared_data, BurnedInAnnotation="NO"), "x.dcm", test_model, feature_ref=None)
    assert not export.burned_in(result)
    spy = _PdfSpy(monkeypatch)
    op = OperatingPoint.of("balanced")
    export.to_pdf(result, op, "en", "".join(report_stream(result, op, "en")))
    assert spy.images >= 2
