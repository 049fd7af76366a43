"""Issue 14: opening /home or any page's URL directly opens that page (no English "Page not found"
dialog), and Streamlit's own uploader texts are shown in the session's language. Streamlit's
test ids for the uploader are what ``ui.common.streamlit_texts`` styles: this test notices when a
Streamlit upgrade changes them."""

from __future__ import annotations

import pytest

from core.i18n import t
from tests.browser.conftest import shot, wait_for_app

pytestmark = pytest.mark.browser

PAGES = {"home": "app.home.welcome", "chest": "app.page.chest", "shoulder": "app.page.shoulder",
         "scalp": "app.page.scalp", "community": "app.page.community", "models": "app.page.models"}
ENGLISH = ("Page not found", "Choose an option", "Choose options", "Drag and drop", "Browse files")


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_url_opens_its_page(app_url: str, page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/{name}")
    wait_for_app(page)
    page.get_by_role("heading", name=t(PAGES[name], "ko")).first.wait_for(timeout=90_000)
    page.wait_for_timeout(500)  # Streamlit's "Page not found" dialog comes after the first run
    assert page.get_by_role("dialog").count() == 0, [d.inner_text() for d in page.get_by_role("dialog").all()]
    body = page.locator("body").inner_text()
    assert not [w for w in ENGLISH if w in body], body[:500]
    assert page.get_by_test_id("stException").count() == 0
    assert not page.errors, page.errors


def _uploader_texts(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(text, font size, ::after content) of the drop zone's button label and instructions."""
    return page.locator("[data-testid=stFileUploaderDropzone]").first.evaluate(
        """zone => [
          zone.querySelector("[data-testid=stBaseButton-secondary] [data-testid=stMarkdownContainer] p"),
          zone.parentElement.querySelector("[data-testid=stFileUploaderDropzoneInstructions] span"),
        ].map(e => [e ? getComputedStyle(e).fontSize : "missing",
                    e ? getComputedStyle(e, "::after").content : "missing"])"""
    )


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_uploader_speaks_the_session_language(app_url: str, browser, lang: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="ko-KR" if lang == "ko" else "en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        for name in ("shoulder", "scalp", "chest"):
            page.goto(f"{app_url}/{name}")
            wait_for_app(page)
            page.locator("[data-testid=stFileUploaderDropzone]").first.wait_for(timeout=90_000)
            (button_size, button_text), (limit_size, limit_text) = _uploader_texts(page)
            assert button_size == "0px" and limit_size == "0px"  # Streamlit's English, hidden
            assert button_text == f'"{t("app.st.upload", lang)}"'
            assert limit_text == f'"{t("app.st.per_file", lang, limit=200)}"'
        shot(page, f"uploader-{lang}")
    finally:
        context.close()
