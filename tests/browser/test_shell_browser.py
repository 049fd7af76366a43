"""A person opens the app in a real browser, switches the language and visits every page."""

from __future__ import annotations

from core.i18n import t
from tests.browser.conftest import shot, wait_for_app

PAGES = ["chest", "shoulder", "scalp", "community", "models"]


def test_switch_language_and_visit_every_page(app_url: str, page) -> None:
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text(t("app.home.welcome", "ko")).wait_for()
    assert page.get_by_text(t("app.intended_use", "ko")).is_visible()
    shot(page, "shell_home_ko")

    page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    page.get_by_text(t("app.home.welcome", "en")).wait_for()

    for name in PAGES:
        page.get_by_test_id("stSidebarNav").get_by_text(t(f"app.page.{name}", "en"), exact=True).click()
        wait_for_app(page)
        page.get_by_role("heading", name=t(f"app.page.{name}", "en")).first.wait_for()
        assert page.get_by_text(t("app.intended_use", "en")).is_visible()
        assert page.get_by_test_id("stException").count() == 0, f"exception shown on {name}"
        shot(page, f"shell_{name}_en")
    assert not page.errors, page.errors


def test_a_deep_link_on_a_fresh_server_goes_through_the_app_shell(browser, tmp_path) -> None:
    """Regression: with a pages/ folder, Streamlit ran /chest without app.py on a new server."""
    import os
    import subprocess
    import sys

    from deploy.local import free_port
    from tests.browser.conftest import ROOT, _wait_healthy

    port = free_port()
    env = {**os.environ, "DRDC_DATA_DIR": str(tmp_path), "STREAMLIT_SERVER_HEADLESS": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    context = browser.new_context(locale="en-US")
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        pg = context.new_page()
        pg.goto(url + "/chest")  # the very first session of this server is a deep link
        wait_for_app(pg)
        pg.get_by_role("heading", name=t("app.page.chest", "en")).first.wait_for(timeout=60_000)
        assert pg.get_by_text(t("app.intended_use", "en")).is_visible()
        nav = pg.get_by_test_id("stSidebarNav").inner_text()
        assert t("app.page.models", "en") in nav and "community" not in nav.split()
    finally:
        context.close()
        proc.terminate()
        proc.wait(timeout=15)


def test_browser_locale_is_the_first_guess(app_url: str, browser) -> None:
    context = browser.new_context(locale="en-US")
    try:
        pg = context.new_page()
        pg.goto(app_url)
        wait_for_app(pg)
        pg.get_by_text(t("app.home.welcome", "en")).wait_for(timeout=60_000)
    finally:
        context.close()
