"""A person opens the chest page, uploads a real radiograph and sees what the app says.

The browser server has no chest weights (they cannot be downloaded here), so what a person must see
is: the no-model message with the exact install command, their image, the input check passing, and
no findings, heatmaps or report anywhere.
"""

from __future__ import annotations

from pathlib import Path

from core.i18n import t
from tests.browser.conftest import shot, wait_for_app


def _open_chest(page, app_url: str, lang: str) -> None:
    """Open the app and go to the chest page through the navigation, as a person does."""
    page.goto(app_url)
    wait_for_app(page)
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    page.get_by_text(t("app.home.welcome", lang)).wait_for()
    page.get_by_test_id("stSidebarNav").get_by_text(t("app.page.chest", lang), exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name=t("app.page.chest", lang)).first.wait_for()


def test_upload_a_real_radiograph_without_a_model(app_url: str, page, shared_data: Path) -> None:
    _open_chest(page, app_url, "ko")
    assert page.get_by_text(t("app.intended_use", "ko")).is_visible()
    page.get_by_text(t("chest.model.missing_page", "ko", name="xrv-densenet121-res224-all")).wait_for()
    codes = page.locator("pre")
    codes.first.wait_for()
    assert "python -m core.models fetch xrv-densenet121-res224-all" in codes.all_inner_texts()

    radiograph = shared_data / "cxr" / "samples" / "00000001_000.png"
    page.locator("input[type=file]").first.set_input_files(str(radiograph))
    wait_for_app(page)
    page.get_by_text(t("chest.gate.ok", "ko")).wait_for(timeout=90_000)
    wait_for_app(page)
    assert page.get_by_text(t("chest.batch.title", "ko", n=1)).is_visible()
    page.get_by_test_id("stImage").first.wait_for(timeout=60_000)  # the uploaded film is shown
    assert page.get_by_text(t("chest.findings.title", "ko"), exact=True).count() == 0
    assert page.get_by_text(t("chest.report.title", "ko"), exact=True).count() == 0
    assert page.get_by_text(t("export.download_pdf", "ko")).count() == 0
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "chest_no_model_ko")
    page.get_by_text(t("chest.gate.ok", "ko")).scroll_into_view_if_needed()
    shot(page, "chest_no_model_ko_upload")
    assert not page.errors, page.errors


def test_a_colour_photo_is_refused_in_english(app_url: str, page, tmp_path: Path) -> None:
    import numpy as np
    import skimage.data
    from PIL import Image

    photo = tmp_path / "holiday.jpg"
    Image.fromarray(np.asarray(skimage.data.coffee())).save(photo)
    _open_chest(page, app_url, "en")
    page.locator("input[type=file]").first.set_input_files(str(photo))
    wait_for_app(page)
    page.get_by_text(t("chest.gate.colour", "en")).wait_for(timeout=90_000)
    assert page.get_by_test_id("stException").count() == 0
    page.get_by_text(t("chest.gate.colour", "en")).scroll_into_view_if_needed()
    shot(page, "chest_photo_refused_en")
