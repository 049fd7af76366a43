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


_LONGEST_MOTION_JS = """() => {
  let longest = 0;
  for (const e of document.querySelectorAll('*')) {
    for (const pseudo of [null, '::before', '::after']) {
      const s = getComputedStyle(e, pseudo);
      for (const value of [s.transitionDuration, s.animationDuration]) {
        for (const part of value.split(',')) {
          const v = part.trim();
          const seconds = v.endsWith('ms') ? parseFloat(v) / 1000 : parseFloat(v);
          if (!Number.isNaN(seconds)) longest = Math.max(longest, seconds);
        }
      }
    }
  }
  return longest;
}"""


@pytest.mark.parametrize("reduce", [False, True])
def test_a_browser_that_asks_for_reduced_motion_gets_no_fades(browser, app_url: str, reduce: bool) -> None:  # type: ignore[no-untyped-def]
    """WCAG 2.3.3: with the browser's "reduce motion" setting every transition and animation on the
    page (Streamlit's own fades and spinners included) lasts no longer than 0.01 ms; without it,
    Streamlit's usual ones are there (so the check can tell the two apart)."""
    context = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000},
                                  reduced_motion="reduce" if reduce else "no-preference")
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{app_url}/chest")
        wait_for_app(page)
        page.get_by_role("heading", name=t("app.page.chest", "ko")).first.wait_for(timeout=90_000)
        page.wait_for_function("() => [...document.querySelectorAll('style')]"
                               ".some(s => s.textContent.includes('prefers-reduced-motion'))")  # the app's style is in
        longest = page.evaluate(_LONGEST_MOTION_JS)
        if reduce:
            assert longest <= 1e-5, longest
        else:
            assert longest >= 0.1, longest
    finally:
        context.close()
