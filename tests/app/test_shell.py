"""AppTest for the shell: every page renders in both languages with its title and the notice."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import t
from core.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")

PAGES = ["home", "chest", "shoulder", "scalp", "community", "models"]
TITLE_KEYS = {"home": "app.home.welcome"}


def _run_page(page: str, lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page != "home":
        at.switch_page(f"views/{page}.py").run()
    return at


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_both_languages(page: str, lang: str) -> None:
    at = _run_page(page, lang)
    assert not at.exception, [e.value for e in at.exception]
    expected = t(TITLE_KEYS.get(page, f"app.page.{page}"), lang)
    titles = [el.value for el in at.title]
    assert any(expected in title for title in titles), f"{page}/{lang}: expected {expected!r} in {titles}"
    if page == "home":  # AppTest.switch_page runs a page without app.py; the browser test checks every page
        notices = [el.value for el in at.info]
        assert t("app.intended_use", lang) in notices, "the intended-use notice must be on every page"


def test_language_switch_changes_the_page_and_is_remembered() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.title[0].value == t("app.home.welcome", "ko")  # Korean by default
    at.sidebar.segmented_control[0].set_value("en").run()
    assert at.title[0].value == t("app.home.welcome", "en")
    at.switch_page("views/models.py").run()
    assert at.title[0].value == t("models.title", "en"), "the choice must survive navigation"


def test_models_page_shows_the_missing_model_and_its_install_command(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    at = _run_page("models", "en")
    labels = [e.label for e in at.expander]
    xrv = [label for label in labels if "TorchXRayVision" in label]
    assert xrv and t("models.state.missing", "en") in xrv[0]
    codes = [c.value for c in at.code]
    assert any("python -m core.models fetch xrv-densenet121-res224-all" in c for c in codes)
