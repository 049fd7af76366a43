"""AppTest for the shoulder page: demo phantom, PNG and DICOM uploads measured through the numeric
path, calibration, tilt correction, manual edges, level 2 placement, errors and the model status."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from streamlit.testing.v1 import AppTest

from core.i18n import t
from core.settings import PROJECT_ROOT
from core.shoulder.phantom import DEMO_SPEC, PhantomSpec, render_phantom
from ui.shoulder_state import GENERATIONS, key_for

PAGE = str(PROJECT_ROOT / "views" / "shoulder.py")
SPEC = PhantomSpec(shape=(320, 260), spacing_mm=0.2, outer_d_mm=20.0, inner_d_mm=13.0, axis_deg=3.0, seed=3)


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _dicom(img: np.ndarray, spacing: tuple[float, float], tag: str = "PixelSpacing", magnification: str | None = None) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition, ds.PatientName = "CR", "SHOULDER", "AP", "Test^Phantom"
    ds.Rows, ds.Columns = img.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    setattr(ds, tag, [f"{spacing[0]:.4f}", f"{spacing[1]:.4f}"])
    if magnification is not None:
        ds.EstimatedRadiographicMagnificationFactor = magnification
    ds.PixelData = (np.clip(img, 0, 1) * 4095).astype(np.uint16).tobytes()
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def _app(lang: str = "en") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lang"] = lang
    return at.run()


def _metric(at: AppTest, key: str) -> str:
    label = t(key, "en")
    return next(m.value for m in at.metric if m.label == label)


def _number(at: AppTest, name: str):  # type: ignore[no-untyped-def]
    """The number input bound to ``name`` (its key changes each time the page sets the value)."""
    generations = at.session_state[GENERATIONS] if GENERATIONS in at.session_state else {}
    return at.number_input(key=key_for(name, generations.get(name, 0)))


def _set_line(at: AppTest, name: str, line: tuple[float, float, float, float]) -> AppTest:
    at.session_state["sh_target"] = name
    at.run()
    for coord, value in zip(("x1", "y1", "x2", "y2"), line, strict=True):
        _number(at, f"{name}_{coord}").set_value(round(value, 1))
    return at.run()


def _upload(at: AppTest, name: str, data: bytes, mime: str) -> AppTest:
    at.file_uploader(key="sh_upload").set_value((name, data, mime))
    return at.run()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_page_renders_and_shows_the_model_as_not_installed(lang: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path))
    at = _app(lang)
    assert not at.exception
    assert at.title[0].value == t("app.page.shoulder", lang)
    infos = [i.value for i in at.info]
    assert t("shoulder.input.none", lang) in infos
    state = t("shoulder.model.state_missing", lang)
    assert any(t("shoulder.model.not_installed", lang, state=state) == i for i in infos)
    assert any("core.shoulder.train finetune" in c.value for c in at.code)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_demo_phantom_gives_the_true_values_and_advises_dxa(lang: str) -> None:
    at = _app(lang)
    at.session_state["sh_source"] = "demo"
    at.run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    dti = float(labels[t("shoulder.result.dti", lang)])
    cct = float(labels[t("shoulder.result.cct", lang)].split()[0])
    assert dti == pytest.approx(DEMO_SPEC.true_dti, rel=0.03)  # shown to 2 decimals
    assert cct == pytest.approx(DEMO_SPEC.true_cct_mm, abs=0.3)
    assert [e.value for e in at.error] == [t("shoulder.overall.low", lang)]
    assert t("shoulder.advice.dxa", lang) in [w.value for w in at.warning]
    captions = " ".join(c.value for c in at.caption)
    buttons = at.get("download_button")
    assert buttons and buttons[0].proto.label == t("shoulder.export.pdf", lang)  # PDF export offered
    corrected = t("shoulder.edges.tilt_corrected", lang).split("{deg}")[0]
    assert corrected in captions  # the DTI line, drawn 8 degrees off, was measured again perpendicular


def test_png_upload_measured_through_the_numeric_path_then_calibrated() -> None:
    ph = render_phantom(SPEC)
    at = _upload(_app(), "shoulder.png", _png(ph.image), "image/png")
    assert not at.exception
    assert _metric(at, "shoulder.result.dti") == "—"
    at.session_state["sh_tool"] = "numbers"
    at = _set_line(at, "dti", ph.line_across(tilt_deg=12.0).as_tuple())
    assert float(_metric(at, "shoulder.result.dti")) == pytest.approx(SPEC.true_dti, rel=0.03)
    # no spacing in a PNG: thickness needs a calibration and says so
    at = _set_line(at, "cct1", ph.line_across(along_mm=-10).as_tuple())
    assert _metric(at, "shoulder.result.cct") == "—"
    assert t("shoulder.result.cct_needs_spacing", "en") in [c.value for c in at.caption]
    # calibrate with a 40 mm object drawn as a line of 200 px
    at.session_state["sh_cal_mode"] = "object"
    at.run()
    at = _set_line(at, "calib", (20.0, 300.0, 220.0, 300.0))
    _number(at, "cal_mm").set_value(40.0).run()
    assert not at.exception
    cct = float(_metric(at, "shoulder.result.cct").split()[0])
    assert cct == pytest.approx(SPEC.true_cct_mm, abs=0.3)


def test_dicom_spacing_gives_millimetres_and_level_two_is_placed_20_mm_below() -> None:
    ph = render_phantom(SPEC)
    at = _upload(_app(), "shoulder.dcm", _dicom(ph.image, (0.2, 0.2)), "application/dicom")
    assert not at.exception
    assert t("shoulder.cal.dicom", "en", row="0.2000", col="0.2000") in [c.value for c in at.caption]
    at.session_state["sh_tool"] = "numbers"
    at = _set_line(at, "cct1", ph.line_across(along_mm=-12).as_tuple())
    at.session_state["sh_target"] = "cct2"
    at.run()
    at.button(key="sh_level2_btn").click().run()
    assert not at.exception
    y1 = _number(at, "cct2_y1").value
    assert y1 == pytest.approx(ph.line_across(along_mm=8).y1, abs=2.0)  # 20 mm = 100 px further down
    cct = float(_metric(at, "shoulder.result.cct").split()[0])
    assert cct == pytest.approx(SPEC.true_cct_mm, abs=0.3)
    assert t("shoulder.result.cct_levels", "en", n=2) in [c.value for c in at.caption]
    assert t("shoulder.result.cct_provisional", "en") not in [w.value for w in at.warning]
    assert t("shoulder.cal.detector", "en") not in [w.value for w in at.warning]


def test_one_thickness_level_is_provisional_and_detector_spacing_is_flagged() -> None:
    ph = render_phantom(SPEC)
    at = _upload(_app(), "shoulder.dcm", _dicom(ph.image, (0.2, 0.2), tag="ImagerPixelSpacing"), "application/dicom")
    assert not at.exception
    assert t("shoulder.cal.detector", "en") in [w.value for w in at.warning]  # lengths at the detector are magnified
    at.session_state["sh_tool"] = "numbers"
    at = _set_line(at, "cct1", ph.line_across(along_mm=-12).as_tuple())
    assert t("shoulder.result.cct_levels", "en", n=1) in [c.value for c in at.caption]
    assert t("shoulder.result.cct_provisional", "en") in [w.value for w in at.warning]
    corrected = _upload(_app(), "shoulder.dcm", _dicom(ph.image, (0.23, 0.23), tag="ImagerPixelSpacing", magnification="1.15"),
                        "application/dicom")
    assert t("shoulder.cal.detector", "en") not in [w.value for w in corrected.warning]
    assert t("shoulder.cal.magnified", "en", factor="1.150") in [c.value for c in corrected.caption]
    assert t("shoulder.cal.dicom", "en", row="0.2000", col="0.2000") in [c.value for c in corrected.caption]  # 0.23 / 1.15


def test_edges_can_be_adjusted_by_hand() -> None:
    at = _app()
    at.session_state["sh_source"] = "demo"
    at.run()
    before = float(_metric(at, "shoulder.result.dti"))
    at.toggle(key="sh_dti_manual").set_value(True).run()
    e0 = _number(at, "dti_e0").value
    e3 = _number(at, "dti_e3").value
    _number(at, "dti_e0").set_value(round(e0 - 10, 2))
    _number(at, "dti_e3").set_value(round(e3 + 10, 2)).run()
    assert not at.exception
    assert float(_metric(at, "shoulder.result.dti")) > before + 0.1
    assert t("shoulder.method.manual", "en") in " ".join(c.value for c in at.caption)


def test_bad_inputs_show_user_errors_not_exceptions() -> None:
    at = _upload(_app(), "broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")
    assert not at.exception
    assert at.error, "a corrupt file must show an error box"
    ph = render_phantom(SPEC)
    at = _upload(_app(), "shoulder.png", _png(ph.image), "image/png")
    at.session_state["sh_tool"] = "numbers"
    at = _set_line(at, "dti", (5.0, 5.0, 12.0, 5.0))  # too short
    assert not at.exception
    assert t("shoulder.error.line_too_short", "en", min_px=12) in [e.value for e in at.error]


def test_a_site_trained_model_once_installed_and_pinned_is_shown_beside_the_measurements(tmp_path, monkeypatch) -> None:
    """The plumbing for a site's own model: checkpoint in the weights folder + pinned checksum."""
    import torch

    from core.models.registry import get_card, pin, sha256_of
    from core.shoulder.net import LABELS, EncoderConfig, ShoulderClassifier

    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path))
    cfg = EncoderConfig(img_size=32, patch_size=8, embed_dim=32, depth=1, num_heads=2)
    torch.manual_seed(0)
    path = tmp_path / get_card("shoulder-osteoporosis-vit").file
    torch.save({"kind": "shoulder-classifier", "config": cfg.to_dict(), "labels": list(LABELS),
                "state_dict": ShoulderClassifier(cfg).state_dict(), "thresholds": {"osteoporosis": 0.5}}, path)
    at = _app()
    at.session_state["sh_source"] = "demo"
    at.run()
    assert t("shoulder.model.state_unpinned", "en") in " ".join(i.value for i in at.info)
    assert any("verify shoulder-osteoporosis-vit --trust-unknown" in c.value for c in at.code)
    pin(get_card("shoulder-osteoporosis-vit"), sha256_of(path))
    at.run()
    assert not at.exception
    assert t("shoulder.model.installed", "en") in [s.value for s in at.success]
    probs = {m.label: m.value for m in at.metric if m.label in {t(f"shoulder.model.label_{k}", "en") for k in LABELS}}
    assert len(probs) == 3 and all(v.endswith("%") for v in probs.values())
    # the screening result still comes from the measurements
    assert [e.value for e in at.error] == [t("shoulder.overall.low", "en")]


# --- any file reaches the loader; sharing the measurements ------------------------------------
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_wrong_file_gets_the_loaders_translated_error(lang: str) -> None:
    from core.imaging import ImageError, load_image

    at = _app(lang)
    at.session_state["sh_source"] = "upload"
    at.run()
    assert list(at.file_uploader(key="sh_upload").proto.type) == []  # no extension filter in the browser
    text = "어깨 사진 아님: plain text\n".encode() * 20
    for name, data, mime in (("x.pdf", PDF, "application/pdf"), ("IM000009", text, "application/octet-stream")):
        with pytest.raises(ImageError) as info:
            load_image(data, name)
        at = _upload(at, name, data, mime)
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == [info.value.message(lang)]  # the loader's advice, translated
        assert not at.metric
        if name == "x.pdf":
            assert info.value.message(lang) == t("imaging.error.unsupported_type", lang, kind="PDF")


def _share(at: AppTest, lang: str, nickname: str) -> AppTest:
    at.text_input(key=next(w.key for w in at.text_input if w.key.endswith("__nickname"))).input(nickname)
    at.text_input(key=next(w.key for w in at.text_input if w.key.endswith("__password"))).input("pw-1234")
    next(b for b in at.button if b.label == t("board.share.button", lang)).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_an_extensionless_dicom_is_measured_and_shared_without_patient_tags(lang: str, tmp_path, monkeypatch) -> None:
    import json

    from core.board import Board

    db_path = tmp_path / "board.sqlite3"
    monkeypatch.setenv("DRDC_DB_PATH", str(db_path))
    ph = render_phantom(SPEC)
    data = _dicom(ph.image, (0.2, 0.2))
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Hong^Gildong", "PID-0042-XYZ", "19450817"
    ds.InstitutionName, ds.AccessionNumber = "Seoul Test Hospital", "ACC987654"
    buf = io.BytesIO()
    ds.save_as(buf)
    name = "IM000001"  # as on a PACS or CD export: no extension
    phi = ["Hong", "Gildong", "PID-0042-XYZ", "19450817", "Seoul Test Hospital", "ACC987654", name,
           str(ds.SOPInstanceUID)]

    at = _app(lang)
    assert t("shoulder.share.title", lang) not in [s.value for s in at.subheader]  # nothing to share yet
    at = _upload(at, name, buf.getvalue(), "application/octet-stream")
    assert not at.exception, [e.value for e in at.exception]
    assert t("shoulder.cal.dicom", lang, row="0.2000", col="0.2000") in [c.value for c in at.caption]
    assert t("shoulder.share.title", lang) not in [s.value for s in at.subheader]  # no line placed: no result
    at.session_state["sh_tool"] = "numbers"
    at = _set_line(at, "dti", ph.line_across(tilt_deg=5.0).as_tuple())
    at = _set_line(at, "cct1", ph.line_across(along_mm=-10).as_tuple())
    labels = {m.label: m.value for m in at.metric}
    dti = float(labels[t("shoulder.result.dti", lang)])
    cct = float(labels[t("shoulder.result.cct", lang)].split()[0])
    assert dti == pytest.approx(SPEC.true_dti, rel=0.03) and cct == pytest.approx(SPEC.true_cct_mm, abs=0.3)

    assert t("shoulder.share.title", lang) in [s.value for s in at.subheader]  # offered once there is a result
    preview = "\n".join(x.value for x in at.text)
    assert t("shoulder.share.dti", lang) in preview and t("shoulder.share.cct", lang) in preview
    at = _share(at, lang, "어깨공유")
    [post] = Board(db_path).list_posts().items
    assert t("board.share.done", lang, id=post.id) in [s.value for s in at.success]
    assert post.category == "bone" and post.summary is not None and post.summary["task"] == "shoulder"
    shared = {f["label"]: f for f in post.summary["findings"]}
    assert len(shared) == 2
    dti_item = next(f for label, f in shared.items() if label.startswith(t("shoulder.share.dti", lang)))
    cct_item = next(f for label, f in shared.items() if label.startswith(t("shoulder.share.cct", lang)))
    assert dti_item["score"] == pytest.approx(dti, abs=0.006) and "unit" not in dti_item
    assert cct_item["score"] == pytest.approx(cct, abs=0.06) and cct_item["unit"] == "mm"
    overall = next(k for k in ("low", "borderline", "not_low") if t(f"shoulder.overall.{k}", lang) in
                   [b.value for b in (*at.error, *at.warning, *at.success)])
    assert t(f"shoulder.share.overall.{overall}", lang) in post.summary["note"]
    assert t("shoulder.share.spacing", lang, source=t("shoulder.cal.mode_dicom", lang)) in post.summary["note"]
    posted = "\n".join([post.title, post.body, json.dumps(post.summary, ensure_ascii=False), preview])
    leaked = [v for v in phi if v.lower() in posted.lower()]
    assert not leaked, f"patient or file data reached the board: {leaked}"


def test_the_demo_result_can_be_shared_and_says_it_is_the_phantom(tmp_path, monkeypatch) -> None:
    from core.board import Board

    db_path = tmp_path / "board.sqlite3"
    monkeypatch.setenv("DRDC_DB_PATH", str(db_path))
    at = _app("ko")
    at.session_state["sh_source"] = "demo"
    at.run()
    at = _share(at, "ko", "팬텀공유")
    [post] = Board(db_path).list_posts().items
    note = post.summary["note"]
    assert t("shoulder.share.overall.low", "ko") in note and t("shoulder.share.demo", "ko") in note
    assert t("shoulder.share.radiograph", "ko") not in note  # not both "AP radiograph" and "phantom"
    assert t("shoulder.share.spacing", "ko", source=t("shoulder.cal.mode_phantom", "ko")) in note
    assert [f["score"] for f in post.summary["findings"]] == [
        pytest.approx(DEMO_SPEC.true_dti, rel=0.03), pytest.approx(DEMO_SPEC.true_cct_mm, abs=0.3)]


def test_a_radiograph_from_the_samples_folder_is_measured_like_an_upload(tmp_path, monkeypatch) -> None:
    ph = render_phantom(SPEC)
    (tmp_path / "shoulder").mkdir()
    (tmp_path / "shoulder" / "case1.dcm").write_bytes(_dicom(ph.image, (0.2, 0.2)))
    monkeypatch.setenv("DRDC_SAMPLES_DIR", str(tmp_path))
    at = _app()
    assert at.selectbox(key="sh_sample_choice").options == ["shoulder/case1.dcm"]
    at.button(key="sh_sample_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("shoulder.cal.dicom", "en", row="0.2000", col="0.2000") in [c.value for c in at.caption]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_colour_photo_is_refused_before_anything_is_measured(lang: str) -> None:
    """Issue 14: a colour photo of a cat was accepted as an AP shoulder radiograph."""
    from tests.shoulder.test_gate import colour_photo, encode

    at = _upload(_app(lang), "cat.jpg", encode(colour_photo()), "image/jpeg")
    assert not at.exception
    assert t("shoulder.gate.colour", lang) in [e.value for e in at.error]
    assert t("shoulder.gate.needs_radiograph", lang) in [i.value for i in at.info]
    assert t("shoulder.draw.title", lang) not in [s.value for s in at.subheader]  # nothing to draw on
    assert not at.metric
    # "this is a radiograph" lets a person go on; the refusal stays on the page as a warning
    at.checkbox(key=next(c.key for c in at.checkbox if c.key.startswith("sh_gate_override_"))).check().run()
    assert not at.exception
    assert t("shoulder.gate.colour", lang) in [w.value for w in at.warning]
    assert t("shoulder.draw.title", lang) in [s.value for s in at.subheader]


# --- issue 16: no decode of the raw upload in the app's process; burned-in annotations ------------
def test_uploads_are_gated_and_refused_without_any_decode_in_the_app_process(monkeypatch) -> None:
    """The gate's facts come from the worker's session copy; a pixel bomb is refused by the worker.
    Pillow and pydicom must not be asked to read an upload in the app's process at all."""
    from tests.imaging import corpus
    from tests.imaging.helpers import forbid_decoding_here
    from tests.shoulder.test_gate import colour_photo, encode

    photo, bomb = encode(colour_photo()), corpus.pixel_bomb_png()
    ph = render_phantom(SPEC)
    mr = pydicom.dcmread(io.BytesIO(_dicom(ph.image, (0.2, 0.2))))
    mr.Modality = "MR"
    buf = io.BytesIO()
    mr.save_as(buf)
    calls = forbid_decoding_here(monkeypatch)
    at = _upload(_app(), "cat.jpg", photo, "image/jpeg")
    assert not at.exception, [e.value for e in at.exception]
    assert t("shoulder.gate.colour", "en") in [e.value for e in at.error]
    at = _upload(at, "bomb.png", bomb, "image/png")
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.value.startswith(t("imaging.error.too_many_pixels", "en", megapixels="900", limit_mp="X").split("900")[0])
               for e in at.error)
    at = _upload(at, "mr.dcm", buf.getvalue(), "application/dicom")
    assert not at.exception, [e.value for e in at.exception]
    assert t("shoulder.gate.modality", "en", value="MR") in [e.value for e in at.error]
    assert not calls, calls


def test_burned_in_annotation_warns_and_the_pdf_leaves_the_image_out_unless_confirmed(monkeypatch) -> None:
    import ui.shoulder_panels as panels

    pdfs: list[bytes] = []
    real_build = panels.build_pdf

    def build_and_keep(*args, **kwargs) -> bytes:  # type: ignore[no-untyped-def]
        pdfs.append(real_build(*args, **kwargs))
        return pdfs[-1]

    monkeypatch.setattr(panels, "build_pdf", build_and_keep)
    ph = render_phantom(SPEC)
    ds = pydicom.dcmread(io.BytesIO(_dicom(ph.image, (0.2, 0.2))))
    ds.BurnedInAnnotation = "YES"
    buf = io.BytesIO()
    ds.save_as(buf)
    at = _upload(_app(), "burned.dcm", buf.getvalue(), "application/dicom")
    assert not at.exception, [e.value for e in at.exception]
    assert t("shoulder.burned_in.warning", "en") in [w.value for w in at.warning]
    at.session_state["sh_tool"] = "numbers"
    at = _set_line(at, "dti", ph.line_across(tilt_deg=5.0).as_tuple())
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("download_button"), "a measured level: the PDF is offered"
    box = next(c for c in at.checkbox if c.label == t("shoulder.burned_in.include", "en"))
    assert box.value is False  # default: no image in the PDF
    assert pdfs and b"/Subtype /Image" not in pdfs[-1]
    pdfs.clear()
    box.check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert pdfs and b"/Subtype /Image" in pdfs[-1]  # confirmed: the overview and the zoomed view are in

    other = pydicom.dcmread(io.BytesIO(_dicom(render_phantom(PhantomSpec(shape=(320, 260), spacing_mm=0.2, outer_d_mm=20.0,
                                                                          inner_d_mm=13.0, axis_deg=3.0, seed=4)).image, (0.2, 0.2))))
    other.BurnedInAnnotation = "YES"
    buf = io.BytesIO()
    other.save_as(buf)
    at = _upload(at, "burned2.dcm", buf.getvalue(), "application/dicom")  # the confirmation was for the first image
    at = _set_line(at, "dti", ph.line_across(tilt_deg=5.0).as_tuple())
    assert not at.exception, [e.value for e in at.exception]
    box = next(c for c in at.checkbox if c.label == t("shoulder.burned_in.include", "en"))
    assert box.value is False and b"/Subtype /Image" not in pdfs[-1]

    plain = _upload(_app(), "plain.dcm", _dicom(ph.image, (0.2, 0.2)), "application/dicom")
    assert t("shoulder.burned_in.warning", "en") not in [w.value for w in plain.warning]
    assert t("shoulder.burned_in.include", "en") not in [c.label for c in plain.checkbox]
