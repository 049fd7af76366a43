"""A site administrator installs the site's own chest model from a file through the Models page, in a
real browser, as on a hospital machine without internet: a tampered copy is refused with its checksum
named and nothing installed; the right file is checked, installed, and the chest page switches to it.

The server gets a site cards folder (``DRDC_SITE_CARDS_DIR``) with one card whose weights are not
installed (the bundled starter's bytes under another name: see ``tests/app/test_models_install.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.i18n import t
from tests.app.test_models_install import write_site_card
from tests.browser.conftest import serve_app, shot, wait_for_app


@pytest.fixture(scope="module")
def site_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, object, bytes]]:
    root = tmp_path_factory.mktemp("site-install")
    card, data = write_site_card(root / "site-cards")
    weights = root / "weights"
    env = {"DRDC_SITE_CARDS_DIR": str(root / "site-cards"), "DRDC_WEIGHTS_DIR": str(weights), "HOME": str(root)}
    with serve_app(root, env) as url:
        yield url, weights, card, data


def _open(page, url: str, page_key: str, lang: str) -> None:
    page.goto(url)
    wait_for_app(page)
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
        wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_text(t(page_key, lang), exact=True).click()
    wait_for_app(page)


def _panel(page, card, lang: str):  # type: ignore[no-untyped-def]
    """The site model's expander on the Models page, opened, with its install-from-file toggle on."""
    title = card.localized("title", lang)
    panel = page.get_by_test_id("stExpander").filter(has_text=title).first
    if panel.locator("input[type=file]").count() == 0:
        panel.get_by_text(title).first.click()
        panel.get_by_text(t("models.install.from_file", lang), exact=True).click()
        wait_for_app(page)
    return panel


def _upload(page, card, lang: str, path: Path) -> None:
    panel = _panel(page, card, lang)
    panel.locator("input[type=file]").first.set_input_files(str(path))
    wait_for_app(page)
    panel.get_by_role("button", name=t("models.install.upload_button", lang)).click()
    wait_for_app(page)


def test_a_tampered_file_is_refused_then_the_right_one_installs_and_the_chest_page_switches(
    site_app, page, tmp_path: Path
) -> None:
    url, weights, card, data = site_app
    lang = "en"
    tampered = tmp_path / card.file
    tampered.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    _open(page, url, "app.page.models", lang)
    _upload(page, card, lang, tampered)
    alert = page.get_by_test_id("stAlert").filter(has_text=hashlib.sha256(tampered.read_bytes()).hexdigest())
    alert.first.wait_for(timeout=60_000)
    shot(page, "models_install_tampered_en")
    assert not (weights / card.file).exists() and not list(weights.glob("*.safetensors"))

    good = tmp_path / "good" / card.file
    good.parent.mkdir()
    good.write_bytes(data)
    _upload(page, card, lang, good)
    page.get_by_text(t("models.install.done", lang, title=card.localized("title", lang))).wait_for(timeout=90_000)
    shot(page, "models_install_done_en")
    assert hashlib.sha256((weights / card.file).read_bytes()).hexdigest() == card.sha256
    assert page.get_by_test_id("stException").count() == 0

    # the chest page now runs the site's model: its notice gives the site card's held-out AUC (0.99)
    page.get_by_test_id("stSidebarNav").get_by_text(t("app.page.chest", lang), exact=True).click()
    wait_for_app(page)
    page.get_by_text("mean AUC 0.99", exact=False).first.wait_for(timeout=90_000)
    _open(page, url, "app.page.models", lang)
    in_use = page.get_by_text(t("models.in_use.chest", lang)).first
    in_use.wait_for()
    assert card.localized("title", lang) in (in_use.locator("xpath=ancestor::p[1]").text_content() or "")
    assert not page.errors, page.errors
