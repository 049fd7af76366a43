"""AppTest for the scalp page: a built photo through the questionnaire to six severities and a care plan
in both languages; bad inputs give translated advice; history, sharing and an installed model."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.i18n import t
from core.imaging import ImageError, load_image
from core.scalp.history import CODE_MIN_CHARS, CODE_MIN_DISTINCT, HistoryEntry, HistoryStore, check_code
from core.scalp.severity import CONDITIONS, THRESHOLDS_VERSION
from core.scalp.synthetic import encode_jpeg, encode_png, make_phantom
from core.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
TIMEOUT = 300
REQUIRED = {"age_group": "40s", "gender": "female", "shampoo_frequency": "every_3plus_days",
            "perm_cycle": "never", "dye_cycle": "under_3_months"}


@pytest.fixture(scope="module")
def photo() -> bytes:
    return encode_jpeg(make_phantom(seed=3, hairs=20, pustules=1).rgb)


@pytest.fixture(autouse=True)
def _no_installed_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path / "weights"))
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def _scalp(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("views/scalp.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _upload(at: AppTest, name: str, data: bytes, mime: str) -> None:
    at.file_uploader(key="scalp_upload").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]


def _submit(at: AppTest, lang: str, answers: dict[str, str] | None = None, hair_state: list[str] | None = None) -> None:
    for name, value in (REQUIRED if answers is None else answers).items():
        at.selectbox(key=f"scalp_q_{name}").set_value(value)
    at.multiselect(key="scalp_q_hair_state").set_value(["oily", "itchy"] if hair_state is None else hair_state)
    label = t("scalp.q.submit", lang)
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success,
                               *at.subheader)]
    return "\n".join(str(p) for p in parts)


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_built_photo_and_the_questionnaire_give_six_severities_and_a_plan(lang: str, photo: bytes) -> None:
    at = _scalp(lang)
    assert t("scalp.model.not_installed", lang) in [i.value for i in at.info]
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, lang)
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {t(f"scalp.condition.{c}", lang) for c in CONDITIONS}
    grade_words = {t(f"scalp.grade.{g}", lang) for g in range(4)}
    hair_loss = t("scalp.condition.hair_loss", lang)
    assert all(any(w in v for w in grade_words) for k, v in metrics.items() if k != hair_loss), metrics
    assert metrics[hair_loss] == t("scalp.grade.not_assessed", lang)  # no field of view given
    text = _texts(at)
    assert t("scalp.heuristic.notice", lang) in text  # the UI says the grades are heuristic
    assert t("scalp.plan.title", lang) in text
    assert t("scalp.plan.W-BASE.text", lang) in text and t("scalp.plan.D-ALWAYS.text", lang) in text
    assert t("scalp.plan.W-FREQ.text", lang) in text  # every 3+ days + findings
    assert t("scalp.adjust.ADJ-SEBUM-WASH", lang) in text  # the reason for the raised sebum grade
    assert t("scalp.plan.section.doctor", lang) in text
    assert len(at.get("image")) >= 6  # the photo and the five overlays


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_bad_inputs_get_translated_advice(lang: str, photo: bytes) -> None:
    at = _scalp(lang)
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    with pytest.raises(ImageError) as info:
        load_image(pdf, "report.pdf")
    for name, mime in (("report.pdf", "application/pdf"), ("renamed.jpg", "image/jpeg")):
        _upload(at, name, pdf, mime)
        assert [e.value for e in at.error] == [info.value.message(lang)]  # the loader's translated advice
        assert not at.metric

    tiny = make_phantom(seed=1, width=200, height=150, hairs=3).to_uint8()
    _upload(at, "tiny.png", _png(tiny), "image/png")
    assert t("scalp.quality.too_small", lang) in " ".join(e.value for e in at.error)

    dark = (make_phantom(seed=1, hairs=10).rgb * 0.1)
    _upload(at, "dark.png", encode_png(dark), "image/png")
    assert t("scalp.quality.too_dark", lang) in " ".join(e.value for e in at.error)
    _submit(at, lang)
    assert not at.metric  # a blocked photo gives no grades
    assert t("scalp.quality.too_dark", lang) in " ".join(e.value for e in at.error)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_missing_answer_names_the_question(lang: str, photo: bytes) -> None:
    at = _scalp(lang)
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, lang, answers={k: v for k, v in REQUIRED.items() if k != "gender"})
    assert t("scalp.error.required", lang, field=t("scalp.q.gender", lang)) in [e.value for e in at.error]
    assert not at.metric


def test_submitting_without_a_photo_asks_for_one() -> None:
    at = _scalp("en")
    _submit(at, "en")
    assert t("scalp.error.no_photo", "en") in [e.value for e in at.error]


def _history_table(at: AppTest, lang: str):  # noqa: ANN202
    """The history table (the measurement table is another one), or None."""
    return next((tb.value for tb in at.table if t("scalp.history.col_time", lang) in tb.value.columns), None)


def _history_files() -> list[Path]:
    return list(Path(os.environ["DRDC_DATA_DIR"]).glob("scalp/history/*.jsonl"))


def test_the_test_photo_button_history_and_share(tmp_path: Path) -> None:
    at = _scalp("ko")
    at.button(key="scalp_demo_button").click().run()
    _submit(at, "ko", hair_state=["flaky"])
    assert len(at.metric) == 6
    text = _texts(at)
    assert t("board.share.heading", "ko") in text  # share_to_board offers the summary
    at.toggle(key="scalp_history_on").set_value(True).run()
    # a weak code is refused, with the reason, and nothing is stored
    at.text_input(key="scalp_history_code").set_value("my-history-code").run()
    assert t("scalp.error.history_code_weak", "ko", low=CODE_MIN_CHARS, distinct=CODE_MIN_DISTINCT) in [
        e.value for e in at.error]
    assert all(b.key != "scalp_history_save" for b in at.button) and not _history_files()
    # the page makes a strong code and shows it once to keep
    at.button(key="scalp_history_new").click().run()
    assert not at.exception, [e.value for e in at.exception]
    code = at.text_input(key="scalp_history_code").value
    assert check_code(code) and t("scalp.history.new_code", "ko") in [i.value for i in at.info]
    assert code in [c.value for c in at.code]
    at.button(key="scalp_history_save").click().run()
    assert t("scalp.history.saved", "ko") in [s.value for s in at.success]
    table = _history_table(at, "ko")
    assert table is not None, "the saved checks are listed"
    assert t("scalp.history.col_method", "ko") in table.columns
    assert table[t("scalp.history.col_method", "ko")].tolist() == [
        t("scalp.history.method_heuristic", "ko", version=THRESHOLDS_VERSION)]
    files = _history_files()
    assert len(files) == 1 and code not in files[0].read_text(encoding="utf-8")
    # deleting asks first; "cancel" keeps the history
    at.button(key="scalp_history_delete").click().run()
    assert t("scalp.history.delete_confirm", "ko", n=1) in [w.value for w in at.warning]
    assert _history_files() == files
    at.button(key="scalp_history_delete_no").click().run()
    assert t("scalp.history.delete_confirm", "ko", n=1) not in [w.value for w in at.warning]
    assert _history_files() == files
    # ... and only "yes, delete" deletes
    at.button(key="scalp_history_delete").click().run()
    at.button(key="scalp_history_delete_yes").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("scalp.history.deleted", "ko", n=1) in [i.value for i in at.info]
    assert not _history_files() and _history_table(at, "ko") is None


def test_history_does_not_compare_checks_graded_by_different_methods(photo: bytes) -> None:
    code = "amber-falcon-2718-quartz"
    HistoryStore().add(code, HistoryEntry("2026-01-01T09:00:00+00:00", "model", "1.0",
                                          {c: 3 for c in CONDITIONS}, {c: 3 for c in CONDITIONS}, {},
                                          method="scalp-effnetb0-6head"))
    at = _scalp("en")
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, "en")
    at.toggle(key="scalp_history_on").set_value(True).run()
    at.text_input(key="scalp_history_code").set_value(code).run()
    at.button(key="scalp_history_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    methods = _history_table(at, "en")[t("scalp.history.col_method", "en")].tolist()
    model_label = t("scalp.history.method_model", "en", name="scalp-effnetb0-6head", version="1.0")
    heuristic_label = t("scalp.history.method_heuristic", "en", version=THRESHOLDS_VERSION)
    assert methods == [model_label, heuristic_label]
    captions = [c.value for c in at.caption]
    assert t("scalp.history.not_compared_method", "en", time="2026-01-01 09:00", before=model_label,
             after=heuristic_label) in captions
    assert t("scalp.history.no_same_method", "en", method=heuristic_label) in captions
    assert not any(" (better)." in c or " (worse)." in c for c in captions)  # no spurious change


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_page_says_what_was_and_was_not_assessed(lang: str, photo: bytes) -> None:
    at = _scalp(lang)
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, lang)  # no field of view
    names = [t(f"scalp.condition.{c}", lang) for c in CONDITIONS]
    hair_loss = t("scalp.condition.hair_loss", lang)
    captions = [c.value for c in at.caption]
    assert t("scalp.result.assessed", lang, conditions=", ".join(n for n in names if n != hair_loss)) in captions
    assert t("scalp.result.not_assessed", lang, conditions=hair_loss) in [i.value for i in at.info]
    assert t("scalp.note.hair_loss_no_scale", lang) in captions
    assert {m.label: m.value for m in at.metric}[hair_loss] == t("scalp.grade.not_assessed", lang)
    # with the field of view, hair loss is graded from density too
    at.number_input(key="scalp_q_fov").set_value(8.0)
    _submit(at, lang)
    value = {m.label: m.value for m in at.metric}[hair_loss]
    assert any(t(f"scalp.grade.{g}", lang) in value for g in range(4)), value
    assert t("scalp.result.assessed", lang, conditions=", ".join(names)) in [c.value for c in at.caption]
    assert not any(i.value == t("scalp.result.not_assessed", lang, conditions=hair_loss) for i in at.info)


def test_an_installed_model_is_used_automatically(tmp_path: Path, photo: bytes) -> None:
    import torch

    from core.scalp.model import ScalpModel, ScalpNet, save_checkpoint
    from core.scalp.train import install

    torch.manual_seed(0)
    ckpt = save_checkpoint(ScalpModel(net=ScalpNet(), image_size=64, meta={"version": "apptest"}),
                           tmp_path / "scalp.pt")
    install(ckpt)
    at = _scalp("en")
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, "en")
    success = [s.value for s in at.success]
    assert t("scalp.model.used", "en", name="scalp-effnetb0-6head", version="apptest") in success
    assert len(at.metric) == 6
    assert t("scalp.heuristic.notice", "en") not in _texts(at)
    assert any(t("scalp.result.probabilities", "en", values="").strip(": ") in c.value for c in at.caption)


def test_a_camera_photo_is_checked_like_an_upload(photo: bytes) -> None:
    at = _scalp("en")
    at.camera_input(key="scalp_camera").set_value(("shot.jpg", photo, "image/jpeg")).run()
    assert not at.exception, [e.value for e in at.exception]
    _submit(at, "en")
    assert len(at.metric) == 6


# --- personalised plan through a (patched) language model --------------------------------------
class _FakePlanLLM:
    kind, name, max_time = "llm", "transformers", 30.0

    def __init__(self, text: str, stop: str = "eos") -> None:
        self.text, self.last_stop = text, stop

    def available(self) -> bool:
        return True

    def write(self, facts, lang):  # noqa: ANN001, ANN202
        yield from self.text.split(" ")[:1]
        yield " " + " ".join(self.text.split(" ")[1:])


class _Verdict:
    def __init__(self, ok: bool) -> None:
        self.ok, self.asserted_not_found, self.omitted, self.problems = ok, (), (), ()

    def note(self, lang: str | None) -> str:
        return "PLAN-GUARD-NOTE"


def _patch_llm(monkeypatch: pytest.MonkeyPatch, text: str, ok: bool) -> list:
    from core.llm import careplan_guard, writer

    seen: list = []

    def check(draft, grades, lang, **kw):  # noqa: ANN001, ANN003, ANN202
        seen.append((draft, dict(grades), lang))
        return _Verdict(ok)

    monkeypatch.setitem(writer._FACTORIES, "transformers", lambda: _FakePlanLLM(text))
    monkeypatch.setattr(careplan_guard, "check_care_plan", check)
    return seen


@pytest.mark.parametrize(("lang", "ok"), [("ko", True), ("en", False)])
def test_the_plan_can_be_personalised_and_is_shown_only_when_checked(lang: str, ok: bool, photo: bytes,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _patch_llm(monkeypatch, "PERSONAL-PLAN-TEXT wash gently every day", ok)
    at = _scalp(lang)
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, lang)
    toggle = at.toggle(key="scalp_llm_on")
    assert toggle.value is False and not seen  # off by default: no model runs
    toggle.set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="scalp_llm_writer").set_value("transformers").run()
    at.button(key="scalp_llm_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(seen) == 1 and seen[0][0] == "PERSONAL-PLAN-TEXT wash gently every day" and seen[0][2] == lang
    assert set(seen[0][1]) == set(CONDITIONS)  # checked against the six final grades
    markdown = "\n".join(m.value for m in at.markdown)
    assert t("scalp.plan.W-BASE.text", lang) in markdown  # the knowledge-base plan is still shown
    machine = t("llm.ui.plan_machine", lang, title=t("llm.writer.transformers", lang))
    if ok:
        assert "PERSONAL-PLAN-TEXT" in markdown and machine in [i.value for i in at.info]
    else:
        assert "PERSONAL-PLAN-TEXT" not in markdown and machine not in [i.value for i in at.info]
        assert "PLAN-GUARD-NOTE" in [w.value for w in at.warning]
    at.toggle(key="scalp_llm_on").set_value(False).run()
    assert "PERSONAL-PLAN-TEXT" not in "\n".join(m.value for m in at.markdown)
    assert len(seen) == 1


def test_without_a_language_model_the_option_says_how_to_set_one_up(photo: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.llm import writer

    monkeypatch.delenv("DRDC_LLM_PATH", raising=False)
    for name in [n for n in writer._FACTORIES if n != "structured"]:
        if name != "transformers":
            monkeypatch.delitem(writer._FACTORIES, name)
    at = _scalp("en")
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, "en")
    at.toggle(key="scalp_llm_on").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("llm.ui.no_llm", "en") in [i.value for i in at.info]
    assert any("DRDC_LLM_PATH" in c.value for c in at.code)
    assert all(b.key != "scalp_llm_run" for b in at.button)


class _ChestOnlyLLM(_FakePlanLLM):
    name, handles = "gemma-lora", ("chest",)

    def write(self, facts, lang):  # noqa: ANN001, ANN202
        raise TypeError("chest reports only")  # what the image-prefix writer does with a care plan


def test_a_chest_only_language_model_is_not_offered_for_care_plans(photo: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_llm(monkeypatch, "PERSONAL-PLAN-TEXT wash gently every day", True)
    from core.llm import writer

    monkeypatch.setitem(writer._FACTORIES, "gemma-lora", lambda: _ChestOnlyLLM("unused"))
    at = _scalp("en")
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, "en")
    at.toggle(key="scalp_llm_on").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    options = at.selectbox(key="scalp_llm_writer").options
    assert t("llm.writer.transformers", "en") in options
    assert t("llm.writer.gemma-lora", "en") not in options


def test_a_photo_from_the_samples_folder_is_analysed_like_an_upload(tmp_path: Path, photo: bytes,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "samples" / "scalp").mkdir(parents=True)
    (tmp_path / "samples" / "scalp" / "presenter.jpg").write_bytes(photo)
    monkeypatch.setenv("DRDC_SAMPLES_DIR", str(tmp_path / "samples"))
    at = _scalp("en")
    assert at.selectbox(key="scalp_sample_choice").options == ["scalp/presenter.jpg"]
    at.button(key="scalp_sample_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["scalp_demo"] == ("presenter.jpg", photo)
    _submit(at, "en")
    assert t("scalp.result.title", "en") in [s.value for s in at.subheader]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_all_missing_answers_are_named_at_once(lang: str, photo: bytes) -> None:
    at = _scalp(lang)
    _upload(at, "scalp.jpg", photo, "image/jpeg")
    _submit(at, lang, answers={"age_group": REQUIRED["age_group"]}, hair_state=[])
    names = [t(f"scalp.q.{f}", lang) for f in ("gender", "shampoo_frequency", "perm_cycle", "dye_cycle", "hair_state")]
    [error] = [e.value for e in at.error]
    assert error == t("scalp.error.required_many", lang, count=5, fields=", ".join(names))
    assert not at.metric


def test_questions_read_in_form_order_when_the_columns_stack() -> None:
    """On a phone each row's two columns stack; rows of pairs keep 성별 right after 나이대."""
    from core.scalp.questionnaire import SINGLE

    at = _scalp("ko")
    order = [s.key.removeprefix("scalp_q_") for s in at.selectbox if s.key and s.key.startswith("scalp_q_")]
    assert order == list(SINGLE)
    assert order.index("gender") == order.index("age_group") + 1 and order.index("gender") < order.index("smoking")
