"""AppTest for the chest page: the no-model state, and a real radiograph through an injected test model.

The injected model is a seeded random-weight DenseNet (``build_test_model``), flagged as a test
model: the page must say so in both languages. It is injected by patching the loader the page's
cached ``get_model`` calls, and the Streamlit resource cache is cleared around each test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.i18n import t
from core.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
TIMEOUT = 300


@pytest.fixture(autouse=True)
def _no_installed_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("HOME", str(tmp_path))  # xrv's cache folder (~/.torchxrayvision) is an alt_dir
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def test_model():
    from core.chest.model import build_test_model

    return build_test_model(seed=0)


def _chest(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("views/chest.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success, *at.subheader)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_without_a_model_the_page_says_how_to_install_and_shows_no_results(lang: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader

    # as on a checkout without the bundled starter model: only the (uninstalled) xrv card is known
    cards = [c for c in loader.chest_cards() if c.name == loader.XRV_NAME]
    monkeypatch.setattr(loader, "chest_cards", lambda: cards)
    at = _chest(lang)
    warnings = [w.value for w in at.warning]
    assert any(t("chest.model.missing_page", lang, name="xrv-densenet121-res224-all") == w for w in warnings)
    codes = [c.value for c in at.code]
    assert "python -m core.models fetch xrv-densenet121-res224-all" in codes
    assert "python -m core.models fetch xrv-densenet121-res224-all --from DIR" in codes

    data = (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes()
    at.file_uploader[0].set_value(("00000001_000.png", data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    text = _texts(at)
    assert t("chest.gate.ok", lang) in text  # the input gate still runs without a model
    subheaders = [s.value for s in at.subheader]
    assert t("chest.findings.title", lang) not in subheaders
    assert t("chest.report.title", lang) not in subheaders
    assert t("llm.report.findings_header", lang) not in text
    assert not at.get("download_button"), "nothing to export without a model"
    assert not any(t("chest.test_model", lang) in e.value for e in at.error)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_bundled_starter_model_analyses_a_real_radiograph_and_says_what_it_is(lang: str, shared_data: Path) -> None:
    from core.chest import loader

    name = loader.availability().name
    if name is None or name == loader.XRV_NAME:
        pytest.skip("needs the bundled starter model as the best installed chest model")
    at = _chest(lang)
    summary = loader.starter_summary(name)
    assert t("chest.model.starter_notice", lang, **summary) in [i.value for i in at.info]
    assert summary["auc"] != "?" and float(summary["auc"]) > 0.6  # the card's measured held-out figure
    assert not any(t("chest.test_model", lang) in e.value for e in at.error)
    data = (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes()
    at.file_uploader[0].set_value(("00000001_000.png", data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("chest.findings.title", lang) in [s.value for s in at.subheader]
    assert t("llm.report.findings_header", lang) in _texts(at)
    assert t("board.share.heading", lang) in _texts(at)  # a real model's findings may be shared
    assert name in "\n".join(x.value for x in at.text)


def test_an_installed_model_held_back_for_its_unfitted_input_check_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from core.chest import loader

    real = loader.availability()
    if real.name is None or real.name == loader.XRV_NAME:
        pytest.skip("needs the bundled starter model as the best installed chest model")
    fit = "python -m core.training.gate_fit fit-features --model xrv-densenet121-res224-all"
    monkeypatch.setattr(loader, "availability", lambda: replace(real, held_back=((loader.XRV_NAME, fit),)))
    at = _chest("en")
    assert t("chest.model.held_back", "en", name=loader.XRV_NAME, command=fit) in [w.value for w in at.warning]
    assert t("chest.model.starter_upgrade", "en") not in [e.label for e in at.expander]  # it is installed already
    assert any(t("chest.model.starter_notice", "en", **loader.starter_summary(real.name)) == i.value for i in at.info)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_real_radiograph_through_the_test_model_shows_findings(lang: str, shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import audit
    from core.chest import loader

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    at = _chest(lang)
    assert any(t("chest.test_model", lang) in e.value for e in at.error), "a test model must be labelled as such"
    data = (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes()
    at.file_uploader[0].set_value(("00000001_000.png", data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]

    text = _texts(at)
    assert t("chest.gate.ok", lang) in text
    assert t("chest.findings.title", lang) in [s.value for s in at.subheader]
    findings = at.dataframe[1].value  # [0] is the batch summary
    names = findings[t("chest.col.finding", lang)].tolist()
    assert len(names) == 18 and t("chest.finding.effusion", lang) in names
    probs = findings[t("chest.col.probability", lang)].tolist()
    assert probs == sorted(probs, reverse=True), "findings are sorted by probability"
    statuses = set(findings[t("chest.col.status", lang)])
    assert statuses <= {t(f"chest.status.{s}", lang) for s in ("positive", "uncertain", "negative")}
    assert t("llm.report.findings_header", lang) in text and t("llm.report.impression_header", lang) in text
    assert t("llm.report.test_model", lang) in text
    labels = [b.proto.label for b in at.get("download_button")]
    assert t("export.download_pdf", lang) in labels and t("export.download_json", lang) in labels
    assert len(at.get("imgs")) >= 1 or len(at.get("image")) >= 1
    records = list(audit.read())
    assert len(records) == 1 and records[0]["input_sha256"] and records[0]["test_model"] is True
    # a random-weight test model's output is never offered for sharing
    assert t("chest.share.test_model", lang) in [c.value for c in at.caption]
    assert t("board.share.heading", lang) not in text and not [b for b in at.button if b.label == t("board.share.button", lang)]


def test_operating_point_preset_changes_the_statuses(shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    at = _chest("en")
    data = (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes()
    at.file_uploader[0].set_value(("x.png", data, "image/png")).run()
    flagged = {}
    for preset in ("sensitive", "balanced", "specific"):
        at.segmented_control(key="chest_preset").set_value(preset).run()
        assert not at.exception
        table = at.dataframe[1].value
        flagged[preset] = int((table[t("chest.col.status", "en")] == t("chest.status.positive", "en")).sum())
    assert flagged["sensitive"] >= flagged["balanced"] >= flagged["specific"]


def test_a_batch_gives_a_summary_row_per_image_and_refuses_a_photo(shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import numpy as np
    from PIL import Image

    from core.chest import loader

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    rng = np.random.default_rng(0)
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[..., 0], photo[..., 1], photo[..., 2] = 200, 120, 60
    photo = np.clip(photo + rng.integers(0, 40, photo.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="JPEG")
    at = _chest("en")
    files = [
        ("a.png", (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes(), "image/png"),
        ("b.dcm", (shared_data / "dicom" / "siim_pneumothorax_sample.dcm").read_bytes(), "application/dicom"),
        ("photo.jpg", buf.getvalue(), "image/jpeg"),
    ]
    at.file_uploader[0].set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    summary = at.dataframe[0].value
    assert len(summary) == 3
    from core import audit

    audited = {r["input_sha256"] for r in audit.read()}
    assert len(audited) == 2  # both radiographs are in the audit trail before either is opened; the photo is not
    gate_col = summary[t("chest.col.gate", "en")].tolist()
    assert gate_col[2] == t("chest.gate.decision.refuse", "en")
    at.selectbox(key="chest_open").set_value(2).run()
    errors = [e.value for e in at.error]
    assert t("chest.gate.colour", "en") in errors and t("chest.gate.refused", "en") in errors
    assert t("chest.findings.title", "en") not in [s.value for s in at.subheader]


def test_demo_mode_loads_a_sample_case(shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader

    monkeypatch.setenv("DRDC_SAMPLES_DIR", str(shared_data))
    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    at = _chest("ko")
    assert t("chest.empty", "ko") in [i.value for i in at.info]
    names = at.selectbox(key="chest_sample_choice").options
    assert any("dicom/siim_pneumothorax_sample.dcm" in n for n in names)
    index = next(i for i, n in enumerate(names) if "siim_pneumothorax_sample.dcm" in n)
    at.selectbox(key="chest_sample_choice").set_value(index).run()
    at.button(key="chest_sample_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe[0].value) == 1
    assert t("chest.findings.title", "ko") in [s.value for s in at.subheader]


def test_on_a_fresh_clone_demo_mode_lists_described_cases_and_analyses_one(tmp_path: Path, test_model,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader

    monkeypatch.setenv("DRDC_SAMPLES_DIR", str(tmp_path / "no-shared-data"))
    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    at = _chest("en")
    names = at.selectbox(key="chest_sample_choice").options
    assert 8 <= len(names) <= 12
    assert any(n.startswith("NIH ChestX-ray14: ") and "Cardiomegaly" in n for n in names), names
    assert any("no finding" in n for n in names)
    index = next(i for i, n in enumerate(names) if "Cardiomegaly" in n)
    at.selectbox(key="chest_sample_choice").set_value(index).run()
    at.button(key="chest_sample_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe[0].value) == 1
    assert t("chest.findings.title", "en") in [s.value for s in at.subheader]


# --- LLM report writers (patched: no model is loaded) ------------------------------------------
class _FakeLLM:
    """Stands in for the ``transformers`` writer: streams ``text``; ``stop`` is why it ended."""

    kind = "llm"
    name = "transformers"
    max_time = 30.0

    def __init__(self, text: str, stop: str = "eos") -> None:
        self.text, self.last_stop = text, stop

    def available(self) -> bool:
        return True

    def write(self, facts, lang):  # noqa: ANN001, ANN202
        yield from self.text.splitlines(keepends=True)


@dataclass(frozen=True)
class _Verdict:
    ok: bool
    asserted_not_found: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def note(self, lang: str | None) -> str:
        return "GUARD-NOTE"


def _with_llm(monkeypatch: pytest.MonkeyPatch, test_model, text: str, ok: bool, stop: str = "eos") -> list:
    from core.chest import loader
    from core.llm import report_guard, writer

    checked: list = []

    def check(draft, facts, lang):  # noqa: ANN001, ANN202
        checked.append((draft, facts, lang))
        return _Verdict(ok, asserted_not_found=() if ok else ("Pneumothorax",))

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    monkeypatch.setitem(writer._FACTORIES, "transformers", lambda: _FakeLLM(text, stop))
    monkeypatch.setattr(report_guard, "check_chest_report", check)
    return checked


def _report_with(at: AppTest, shared_data: Path, name: str) -> None:
    at.selectbox(key="chest_writer").set_value(name).run()
    data = (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes()
    at.file_uploader[0].set_value(("00000001_000.png", data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_checked_llm_report_is_shown_labelled_as_machine_written(lang: str, shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    llm_text = "FINDINGS\nLLM-WRITTEN-LINE about the film\n\nIMPRESSION\nLLM-IMPRESSION-LINE\n"
    checked = _with_llm(monkeypatch, test_model, llm_text, ok=True, stop="time")
    at = _chest(lang)
    _report_with(at, shared_data, "transformers")
    assert len(checked) == 1 and checked[0][0] == llm_text and checked[0][2] == lang
    markdown = "\n".join(m.value for m in at.markdown)
    assert "LLM-WRITTEN-LINE" in markdown and "LLM-IMPRESSION-LINE" in markdown
    assert t("llm.report.test_model", lang) not in markdown  # the template's text is not shown
    infos = [i.value for i in at.info]
    assert t("llm.ui.machine_written", lang, title=t("llm.writer.transformers", lang)) in infos
    assert t("llm.ui.time_limit", lang, seconds="30") in [w.value for w in at.warning]
    # rerun (e.g. a slider move) reuses the checked report: no second generation
    at.slider(key="chest_opacity").set_value(0.3).run()
    assert len(checked) == 1 and "LLM-WRITTEN-LINE" in "\n".join(m.value for m in at.markdown)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_failed_check_shows_the_structured_report_and_the_guard_note(lang: str, shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    llm_text = "FINDINGS\nHALLUCINATED large pneumothorax\n\nIMPRESSION\n1. HALLUCINATED\n"
    checked = _with_llm(monkeypatch, test_model, llm_text, ok=False)
    at = _chest(lang)
    _report_with(at, shared_data, "transformers")
    assert len(checked) == 1
    markdown = "\n".join(m.value for m in at.markdown)
    assert "HALLUCINATED" not in markdown, "unchecked text must never be shown as the report"
    assert t("llm.report.findings_header", lang) in markdown and t("llm.report.test_model", lang) in markdown
    warnings = [w.value for w in at.warning]
    assert "GUARD-NOTE" in warnings
    assert t("llm.ui.machine_written", lang, title=t("llm.writer.transformers", lang)) not in [i.value for i in at.info]


def test_an_unavailable_writer_says_why_and_how_to_set_it_up(shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader

    monkeypatch.delenv("DRDC_LLM_PATH", raising=False)
    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    at = _chest("ko")
    options = at.selectbox(key="chest_writer").options
    assert options[0] == t("llm.writer.structured", "ko")
    assert t("llm.ui.unavailable_option", "ko", title=t("llm.writer.transformers", "ko")) in options
    _report_with(at, shared_data, "transformers")
    reason = t("llm.error.not_configured", "ko", name="transformers", command=__import__("core.llm.hf", fromlist=["x"]).SET_PATH_COMMAND)
    assert t("llm.ui.unavailable", "ko", title=t("llm.writer.transformers", "ko"), reason=reason) in [w.value for w in at.warning]
    assert any("DRDC_LLM_PATH" in c.value for c in at.code)
    assert t("llm.report.findings_header", "ko") in "\n".join(m.value for m in at.markdown)  # structured report


# --- any file reaches the loader; sharing the findings summary --------------------------------
PHI = {"PatientName": "Hong^Gildong", "PatientID": "PID-0042-XYZ", "PatientBirthDate": "19450817",
       "InstitutionName": "Seoul Test Hospital", "ReferringPhysicianName": "Kim^Referrer",
       "AccessionNumber": "ACC987654", "OtherPatientIDs": "OTHER-77"}


@pytest.fixture(scope="module")
def stand_in_model(test_model):
    """The test model's network (an xrv DenseNet-121 with random weights) under the identity of the real xrv
    model: stands in for an installed model, since the page (rightly) never shares a test model's output."""
    import copy
    from dataclasses import replace

    from core.chest import loader

    model = copy.copy(test_model)
    model.identity = replace(test_model.identity, name=loader.XRV_NAME, is_test_model=False,
                             title="AppTest stand-in for an installed chest model")
    return model


@pytest.fixture()
def installed_stand_in(stand_in_model):
    """The stand-in with its feature reference installed and verified, as a site has after
    ``gate_fit fit-features``: the page refuses an xrv model whose own check cannot run. The stand-in's
    random features have no meaningful statistics, so this reference (pinned like a fitted one) accepts
    every feature vector; the image-level checks still run for real."""
    import numpy as np

    from core.chest.gate import PcaReference, feature_card_name
    from core.models import registry
    from core.settings import get_settings

    card = registry.get_card(feature_card_name(stand_in_model.name))
    target = get_settings().weights_dir / card.file
    dim = 1024  # DenseNet-121's pooled features
    PcaReference(np.zeros(dim, np.float32), np.eye(4, dim, dtype=np.float32), np.ones(4, np.float32), 1.0,
                 float("inf"), {"model_sha256": stand_in_model.sha256}).save(target)
    registry.pin(card, registry.sha256_of(target))
    return stand_in_model


def test_an_xrv_model_whose_feature_reference_was_never_fitted_is_refused_on_the_page(
        shared_data: Path, stand_in_model, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: the model has a card for its feature reference but none is installed, so its own
    check cannot run; the page refuses (not overridable) and names the fit command."""
    from core.chest import loader
    from core.chest.gate import feature_card_name

    monkeypatch.setattr(loader, "load_best_model", lambda: stand_in_model)
    name, data, _ = _dicom_with_phi(shared_data)
    at = _chest("en")
    at.file_uploader(key="chest_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = "\n".join(e.value for e in at.error)
    assert feature_card_name(loader.XRV_NAME) in errors and "gate_fit fit-features" in errors
    assert t("chest.findings.title", "en") not in [s.value for s in at.subheader]
    assert t("chest.gate.override_button", "en") not in [b.label for b in at.button]


def _dicom_with_phi(shared_data: Path) -> tuple[str, bytes, list[str]]:
    """The real SIIM DICOM with patient/site tags filled in, named by its SOP Instance UID (no extension,
    as on a PACS or CD export); returns (name, bytes, every identifying value in it)."""
    import io

    import pydicom

    ds = pydicom.dcmread(shared_data / "dicom" / "siim_pneumothorax_sample.dcm")
    for keyword, value in PHI.items():
        setattr(ds, keyword, value)
    buf = io.BytesIO()
    ds.save_as(buf)
    name = str(ds.SOPInstanceUID)
    values = [*PHI.values(), "Gildong", "Referrer", name, str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)]
    values += [str(ds.get(k)) for k in ("PatientID", "StudyID") if ds.get(k)]
    return name, buf.getvalue(), values


def test_the_uploader_filters_no_extension_and_streamlit_never_refuses_before_the_loader() -> None:
    import tomllib

    from core.imaging.types import MIB, Limits

    at = _chest("en")
    assert list(at.file_uploader(key="chest_upload").proto.type) == []  # no extension filter
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * MIB > Limits().max_bytes, "Streamlit's English size error would fire first"


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_wrong_file_gets_the_loaders_translated_error(lang: str, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader
    from core.imaging import ImageError, load_image

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    text = "검사 결과 메모: not an image at all\n".encode() * 20
    at = _chest(lang)
    for name, data, mime in (("x.pdf", pdf, "application/pdf"), ("notes.pdf", text, "application/pdf"),
                             ("IM000002", text, "application/octet-stream")):
        with pytest.raises(ImageError) as info:
            load_image(data, name)
        at.file_uploader(key="chest_upload").set_value((name, data, mime)).run()
        assert not at.exception, [e.value for e in at.exception]
        assert info.value.message(lang) in [e.value for e in at.error]  # the loader's advice, translated
        assert at.dataframe[0].value[t("chest.col.gate", lang)].tolist() == [t("chest.summary.error", lang)]
        assert t("chest.findings.title", lang) not in [s.value for s in at.subheader]
        if name == "x.pdf":
            assert t("imaging.error.unsupported_type", lang, kind="PDF") in [e.value for e in at.error]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_an_extensionless_real_dicom_is_analysed_and_its_summary_shared_without_patient_tags(
        lang: str, shared_data: Path, installed_stand_in, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from core.board import Board
    from core.chest import loader

    db_path = tmp_path / "board.sqlite3"
    monkeypatch.setenv("DRDC_DB_PATH", str(db_path))
    monkeypatch.setattr(loader, "load_best_model", lambda: installed_stand_in)
    name, data, phi = _dicom_with_phi(shared_data)
    assert "." in name and not name.endswith(".dcm")
    at = _chest(lang)
    at.file_uploader(key="chest_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("chest.findings.title", lang) in [s.value for s in at.subheader]  # analysed, not refused
    assert len(at.dataframe[1].value) == 18

    # the share control appears after the result and shows exactly what will be posted
    assert t("chest.share.title", lang) in [s.value for s in at.subheader]
    assert t("board.share.heading", lang) in [m.value for m in at.markdown]
    preview = "\n".join(x.value for x in at.text)
    assert loader.XRV_NAME in preview
    assert t("chest.gate.decision.accept", lang) in preview or t("chest.gate.decision.warn", lang) in preview
    nickname = next(w for w in at.text_input if w.key.endswith("__nickname"))
    password = next(w for w in at.text_input if w.key.endswith("__password"))
    nickname.input("흉부공유")
    password.input("pw-1234")
    next(b for b in at.button if b.label == t("board.share.button", lang)).click().run()
    assert not at.exception, [e.value for e in at.exception]

    [post] = Board(db_path).list_posts().items
    assert t("board.share.done", lang, id=post.id) in [s.value for s in at.success]
    assert post.category == "chest" and post.nickname == "흉부공유"
    summary = post.summary
    assert summary is not None and summary["task"] == "chest" and summary["model"] == loader.XRV_NAME
    findings = summary["findings"]
    assert 3 <= len(findings) <= 18 and all(0.0 <= f["score"] <= 1.0 for f in findings)
    table = at.dataframe[1].value
    top = table[t("chest.col.finding", lang)].iloc[0]
    assert findings[0]["label"].startswith(top) and findings[0]["score"] == pytest.approx(table[t("chest.col.probability", lang)].iloc[0], abs=5e-4)
    posted = "\n".join([post.title, post.body, post.nickname, json.dumps(summary, ensure_ascii=False), preview])
    leaked = [v for v in phi if v and v.lower() in posted.lower()]
    assert not leaked, f"patient or file data reached the board: {leaked}"


# --- issue 16: hostile uploads, burned-in annotations, the session's memory budget ---------------
def test_a_panicking_dicom_in_a_batch_gets_the_usual_error_and_the_other_file_is_analysed(
        shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader
    from tests.imaging import corpus

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    at = _chest("en")
    files = [
        ("panic.dcm", corpus.panic_rle_dicom(), "application/dicom"),
        ("good.png", (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes(), "image/png"),
    ]
    at.file_uploader(key="chest_upload").set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    gates = at.dataframe[0].value[t("chest.col.gate", "en")].tolist()
    assert gates[0] == t("chest.summary.error", "en") and gates[1] != t("chest.summary.error", "en")
    assert t("imaging.error.corrupt", "en", format="DICOM") in [e.value for e in at.error]  # the panic's file is opened first
    at.selectbox(key="chest_open").set_value(1).run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("chest.findings.title", "en") in [s.value for s in at.subheader]


def test_burned_in_annotation_warns_and_the_pdf_leaves_the_image_out_unless_confirmed(
        shared_data: Path, installed_stand_in, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import pydicom

    from core.chest import loader

    monkeypatch.setattr(loader, "load_best_model", lambda: installed_stand_in)
    ds = pydicom.dcmread(shared_data / "dicom" / "siim_pneumothorax_sample.dcm")
    ds.BurnedInAnnotation = "YES"
    ds.BodyPartExamined = "HONG GILDONG"
    buf = io.BytesIO()
    ds.save_as(buf)
    at = _chest("en")
    at.file_uploader(key="chest_upload").set_value(("burned.dcm", buf.getvalue(), "application/dicom")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("chest.burned_in.warning", "en") in [w.value for w in at.warning]
    texts = "\n".join(str(x.value) for x in (*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.text))
    assert "HONG" not in texts and "GILDONG" not in texts  # the typed body part: "OTHER", refused (overridable)
    assert t("chest.gate.dicom_body_part", "en", value="OTHER") in [e.value for e in at.error]
    next(b for b in at.button if b.label == t("chest.gate.override_button", "en")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    box = next(c for c in at.checkbox if c.label == t("chest.burned_in.include", "en"))
    assert box.value is False  # default: no image in the PDF
    box.check().run()
    assert not at.exception, [e.value for e in at.exception]


def test_the_session_budget_drops_the_oldest_images_and_the_page_says_so(shared_data: Path, test_model,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from core.chest import loader
    from core.chest.batch import ChestSession
    from core.session_memory import UploadStore

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("views/chest.py").run()
    at.session_state["chest_state"] = ChestSession(store=UploadStore(limit=2 * 1024 * 1024))
    samples = sorted((shared_data / "cxr" / "nih14" / "images").glob("*.png"))[:3]
    assert len(samples) == 3
    at.file_uploader(key="chest_upload").set_value([(p.name, p.read_bytes(), "image/png") for p in samples]).run()
    assert not at.exception, [e.value for e in at.exception]
    dropped = t("chest.summary.dropped", "en")
    gates = at.dataframe[0].value[t("chest.col.gate", "en")].tolist()
    assert 1 <= gates.count(dropped) < 3  # ~1.3 MB per analysed image: the older ones went
    assert any(t("chest.memory.dropped", "en", n=gates.count(dropped), budget=2) == w.value for w in at.warning)
    first_dropped = gates.index(dropped)
    at.selectbox(key="chest_open").set_value(first_dropped).run()  # opening a dropped image analyses it again
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe[0].value[t("chest.col.gate", "en")].tolist()[first_dropped] != dropped
    assert t("chest.findings.title", "en") in [s.value for s in at.subheader]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_rotated_film_is_named_and_turned_upright_in_one_click(lang: str, shared_data: Path, test_model, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import numpy as np
    from PIL import Image

    from core.chest import loader

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    film = np.asarray(Image.open(shared_data / "cxr" / "samples" / "00000001_000.png").convert("L"))
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.rot90(film, -1))).save(buf, format="PNG")  # 90 degrees clockwise
    at = _chest(lang)
    at.file_uploader[0].set_value(("sideways.png", buf.getvalue(), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert t("chest.gate.rotated", lang, angle=90, correction=270) in errors and t("chest.gate.refused", lang) in errors
    assert t("chest.findings.title", lang) not in [s.value for s in at.subheader]
    labels = [b.label for b in at.button]
    assert t("chest.gate.override_button", lang) not in labels  # a sideways film is turned, not "analysed anyway"
    next(b for b in at.button if b.label == t("chest.gate.rotate_button", lang, correction=270)).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("chest.gate.rotated_applied", lang) in [i.value for i in at.info]
    assert t("chest.findings.title", lang) in [s.value for s in at.subheader]
    assert len(at.dataframe[1].value) == 18


def test_a_shared_store_that_does_not_answer_leaves_the_results_and_says_so(shared_data: Path, test_model,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """DRDC_DB_URL's database down (StorageUnavailableError, an OSError): the analysis is still shown, its
    audit record is skipped, and the audit panel says it cannot read the trail instead of crashing."""
    from core import audit
    from core.chest import loader
    from core.storage import StorageUnavailableError

    def down(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise StorageUnavailableError("database unreachable")

    monkeypatch.setattr(loader, "load_best_model", lambda: test_model)
    monkeypatch.setattr(audit, "count", down)
    monkeypatch.setattr(audit, "record", down)
    at = _chest("en")
    data = (shared_data / "cxr" / "samples" / "00000001_000.png").read_bytes()
    at.file_uploader[0].set_value(("00000001_000.png", data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("chest.findings.title", "en") in [s.value for s in at.subheader]
    assert t("export.audit.unavailable", "en") in [w.value for w in at.warning]
    assert not any(b.key == "chest_audit_csv" for b in at.get("download_button"))
