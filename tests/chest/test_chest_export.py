"""End-to-end analysis, PDF/JSON export and the audit trail: no patient data anywhere."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest

from core import audit
from core.chest import batch
from core.chest.analysis import analyse_bytes
from core.chest.labels import localized_name
from core.chest.reading import OperatingPoint
from core.export import chest as export
from core.i18n import t
from core.llm.writer import report_stream

PHI = {"PatientName": "DOE^JANE", "PatientID": "PID-998877", "PatientBirthDate": "19450102",
       "InstitutionName": "General Hospital X", "ReferringPhysicianName": "HOUSE^GREGORY", "AccessionNumber": "ACC-445566"}
PHI_STRINGS = ["DOE", "JANE", "PID-998877", "19450102", "General Hospital", "HOUSE", "ACC-445566", "secret_name"]


@pytest.fixture(scope="module")
def phi_dicom(shared_data: Path) -> bytes:
    import pydicom

    ds = pydicom.dcmread(shared_data / "dicom" / "siim_pneumothorax_sample.dcm")
    for key, value in PHI.items():
        setattr(ds, key, value)
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def analysed(phi_dicom: bytes, test_model):
    return analyse_bytes(phi_dicom, "secret_name.dcm", test_model, feature_ref=None)


def test_the_analysis_has_every_step_and_sorted_findings(analysed) -> None:
    assert analysed.analysed and analysed.gate.decision == "accept"
    assert [k for k, _ in analysed.timings] == ["load", "gate", "classify_and_cams", "zones"]
    probs = [f.probability for f in analysed.findings]
    assert probs == sorted(probs, reverse=True) and len(probs) == 18
    assert analysed.lungs is not None


def test_json_export_has_model_identity_and_no_patient_data(analysed) -> None:
    op = OperatingPoint.of("balanced")
    text = "".join(report_stream(analysed, op, "en"))
    raw = export.to_json(analysed, op, "en", text)
    data = json.loads(raw)
    assert data["model"]["name"] == "test-random-densenet121" and data["model"]["test_model"] is True
    assert len(data["model"]["sha256"]) == 64 and data["model"]["cam_method"] == "cam-linear-head"
    assert data["operating_point"] == {"preset": "balanced", "threshold": 0.5, "uncertain_band": 0.1}
    assert len(data["findings"]) == 18 and data["report"]["text"] == text
    assert data["input"]["sha256"] == analysed.image.sha256
    decoded = raw.decode("utf-8")
    for s in PHI_STRINGS:
        assert s not in decoded


def test_pdf_export_is_built_from_phi_free_text_only(analysed, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.export import pdf as pdf_module

    seen: list[str] = []
    original = pdf_module.PdfBuilder._safe

    def spy(self, text):
        seen.append(str(text))
        return original(self, text)

    monkeypatch.setattr(pdf_module.PdfBuilder, "_safe", spy)
    op = OperatingPoint.of("sensitive")
    for lang in ("ko", "en"):
        text = "".join(report_stream(analysed, op, lang))
        data = export.to_pdf(analysed, op, lang, text, opacity=0.6)
        assert data.startswith(b"%PDF") and len(data) < 3_000_000
        assert b"NotoSansKR" in data
    joined = "\n".join(seen)
    assert analysed.prediction.model.sha256 in joined and "흉수" in joined and "Pleural effusion" in joined
    for s in PHI_STRINGS:
        assert s not in joined
    machine = t("llm.ui.machine_written", "en", title=t("llm.writer.gemma-lora", "en"))
    assert machine not in joined  # the structured text is not labelled as machine-written
    seen.clear()
    export.to_pdf(analysed, op, "en", "FINDINGS\n- Pleural effusion.", writer="gemma-lora")
    assert machine in seen


def test_audit_trail_records_hashes_and_model_and_never_patient_data(analysed) -> None:
    op = OperatingPoint.of("specific")
    first = audit.record(batch.audit_fields(analysed, op))
    audit.record(batch.audit_fields(analysed, OperatingPoint.of("balanced")))
    rows = list(audit.read())
    assert len(rows) == 2 and rows[0] == first
    assert rows[0]["input_sha256"] == analysed.image.sha256
    assert rows[0]["model_name"] == "test-random-densenet121" and rows[0]["preset"] == "specific"
    assert rows[0]["operating_point"] == 0.65 and rows[1]["preset"] == "balanced"
    blob = audit.audit_path().read_text(encoding="utf-8") + audit.export_csv().decode("utf-8")
    for s in PHI_STRINGS:
        assert s not in blob
    assert audit.export_csv().decode("utf-8-sig").splitlines()[0].startswith("time,feature,input_sha256")
    assert len(audit.export_jsonl().splitlines()) == 2


def test_an_analysis_is_audited_once_per_operating_point_and_choice(analysed) -> None:
    from dataclasses import replace

    recorded: set = set()
    op, other = OperatingPoint.of("specific"), OperatingPoint.of("balanced")
    for _ in range(3):  # the page reruns on every click
        audit.record_once(batch.audit_fields(analysed, op), batch.audit_key(analysed, op), recorded)
    audit.record_once(batch.audit_fields(analysed, other), batch.audit_key(analysed, other), recorded)
    turned = replace(analysed, rotation_applied=90)
    assert batch.audit_key(turned, op) != batch.audit_key(analysed, op)
    audit.record_once(batch.audit_fields(turned, op), batch.audit_key(turned, op), recorded)
    assert [r["preset"] for r in audit.read()] == ["specific", "balanced", "specific"]
    assert batch.audit_key(analysed, op)[:3] == (analysed.image.sha256, analysed.model.sha256, "specific")


def test_audit_rejects_fields_outside_the_allow_list() -> None:
    with pytest.raises(audit.AuditError):
        audit.record({"feature": "chest", "patient_name": "DOE^JANE"})
    with pytest.raises(audit.AuditError):
        audit.record({"feature": "chest", "input_sha256": "not-a-hash"})
    with pytest.raises(audit.AuditError):
        audit.record({"feature": "chest\nDOE^JANE"})
    assert audit.count() == 0


def test_the_audit_cli_exports(tmp_path: Path, capsys) -> None:
    audit.record({"feature": "chest", "input_sha256": "a" * 64, "preset": "balanced", "operating_point": 0.5})
    out = tmp_path / "a.csv"
    assert audit.main(["export", "--format", "csv", "--out", str(out)]) == 0
    assert "a" * 64 in out.read_text(encoding="utf-8-sig")


def test_refused_image_exports_no_findings(test_model) -> None:
    import skimage.data
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buf, format="PNG")
    result = analyse_bytes(buf.getvalue(), None, test_model, feature_ref=None)
    assert not result.analysed and result.gate.decision == "refuse"
    data = export.to_dict(result, OperatingPoint.of("balanced"), "en")
    assert data["findings"] == [] and data["gate"]["decision"] == "refuse"
    with pytest.raises(ValueError):
        export.to_pdf(result, OperatingPoint.of("balanced"), "en", "")
    fields = batch.audit_fields(result, OperatingPoint.of("balanced"))
    assert fields["gate_decision"] == "refuse" and "model_name" not in fields


def test_overlay_blends_only_where_hot() -> None:
    from core.chest.analysis import overlay

    base = np.full((10, 10), 0.5, np.float32)
    heat = np.zeros((10, 10), np.float32)
    heat[5, 5] = 1.0
    out = overlay(base, heat, 0.8)
    assert out.shape == (10, 10, 3) and out.dtype == np.uint8
    assert (out[0, 0] == 128).all() and not (out[5, 5] == 128).all()
    assert (overlay(base, heat, 0.0) == 128).all()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_board_summary_holds_findings_and_the_verdict_only(analysed, lang: str) -> None:
    from core.board import validate_summary

    op = OperatingPoint.of("balanced")
    summary = export.share_summary(analysed, op, lang)
    assert validate_summary(summary) is not None  # the board accepts it (no image, no patient field)
    flagged = [f for f in analysed.findings if op.status(f.probability) != "negative"]
    assert len(summary["findings"]) == max(export.SHARE_TOP, len(flagged))
    assert summary["findings"][0]["score"] == round(analysed.findings[0].probability, 3)
    assert localized_name(analysed.findings[0].label, lang) in summary["findings"][0]["label"]
    assert t(f"chest.gate.decision.{analysed.gate.decision}", lang) in summary["note"]
    blob = json.dumps(summary, ensure_ascii=False)
    for s in [*PHI_STRINGS, "secret_name"]:
        assert s not in blob


def test_only_a_real_model_s_analysis_within_the_input_check_is_offered_for_sharing(analysed) -> None:
    from dataclasses import replace

    assert export.share_refusal(analysed) == "chest.share.test_model"  # random weights: never on the board
    real = replace(analysed.prediction.model, is_test_model=False)  # the prediction's model identity
    shared = replace(analysed, prediction=replace(analysed.prediction, model=real))
    assert export.share_refusal(shared) is None
    overridden = replace(shared, gate=replace(shared.gate, overridden=True))
    assert export.share_refusal(overridden) == "chest.share.overridden"
    with pytest.raises(ValueError):
        export.share_summary(overridden, OperatingPoint.of("balanced"), "en")
    assert export.share_refusal(replace(analysed, prediction=None)) == "chest.share.test_model"


def test_the_screening_figures_in_one_line() -> None:
    from core.chest.screening import ScreeningResult

    result = ScreeningResult(0.7, "positive", "m", "M", "v1", "a" * 64,
                             (("PneumoniaMNIST", 0.912, 0.9, 0.93), ("no interval", 0.8, None, None)))
    assert result.figures_text() == "PneumoniaMNIST 0.91 [0.90, 0.93]"
    assert dataclasses.replace(result, figures=()).figures_text() == ""


def test_the_pdf_names_the_model_in_the_readers_language(analysed, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from core.export import pdf as pdf_module

    model = analysed.prediction.model  # the model's identity
    analysed = replace(analysed, prediction=replace(analysed.prediction, model=replace(model, titles=(("ko", "시험용 모델 제목"),))))
    seen: list[str] = []
    original = pdf_module.PdfBuilder._safe
    monkeypatch.setattr(pdf_module.PdfBuilder, "_safe", lambda self, text: seen.append(str(text)) or original(self, text))
    op = OperatingPoint.of("balanced")
    export.to_pdf(analysed, op, "ko", "".join(report_stream(analysed, op, "ko")))
    assert "시험용 모델 제목" in "\n".join(seen) and model.title not in "\n".join(seen)
    seen.clear()
    export.to_pdf(analysed, op, "en", "".join(report_stream(analysed, op, "en")))
    assert model.title in "\n".join(seen) and "시험용 모델 제목" not in "\n".join(seen)
