"""Install a model from the app (Models page): the uploaded file is checked against the card's size and
SHA-256 before it is ever loaded, a tampered file is refused and nothing is installed, and the chest
page switches to the newly installed model without a restart. Also the per-finding table."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.errors import UserError
from core.i18n import t
from core.models import registry
from core.models.card import ModelCard
from core.models.fetch import FetchError, install_bytes, progress_text
from core.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
SITE = "site-chest-test"
STARTER = "starter-nih14-efficientnet-lite0"


def write_site_card(folder: Path) -> tuple[ModelCard, bytes]:
    """A site's own chest model card in ``folder`` (as ``DRDC_SITE_CARDS_DIR`` reads it): the bundled
    starter's weights under a name the project does not ship, claiming a better held-out AUC (so the
    chest page prefers it once installed). Returns the card and the bytes that match it."""
    starter = registry.get_card(STARTER, cards_dir=registry.CARDS_DIR)
    data = (registry.BUNDLED_DIR / starter.file).read_bytes()
    draft = json.loads(json.dumps(starter.to_dict()))
    draft.update(name=SITE, file=f"{SITE}.safetensors", bundled=False, sha256=hashlib.sha256(data).hexdigest(),
                 size_bytes=len(data), title="Site chest model (test)")
    draft["metrics"]["held_out_test"]["mean_auc"] = 0.99
    draft.get("translations", {}).get("ko", {})["title"] = "사이트 흉부 모델(시험)"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{SITE}.json").write_text(json.dumps(draft, ensure_ascii=False), encoding="utf-8")
    return ModelCard.from_dict(draft), data


@pytest.fixture()
def site_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModelCard, bytes]:
    """The site card of :func:`write_site_card`, found through ``DRDC_SITE_CARDS_DIR``."""
    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("DRDC_SITE_CARDS_DIR", str(tmp_path / "site-cards"))
    monkeypatch.setenv("HOME", str(tmp_path))
    card, data = write_site_card(tmp_path / "site-cards")
    st.cache_resource.clear()
    yield card, data
    st.cache_resource.clear()


def test_install_bytes_checks_before_installing(site_card) -> None:
    card, data = site_card
    with pytest.raises(FetchError, match="does not match"):
        install_bytes(SITE, data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(FetchError):
        install_bytes(SITE, data + b"x")  # size differs
    assert registry.status(SITE).state == "missing"
    path = install_bytes(SITE, data)
    assert path.read_bytes() == data and registry.status(SITE).installed
    with pytest.raises(FetchError, match="nobody published|Nobody published"):
        install_bytes("xrv-densenet121-res224-all-gate", b"stats")  # no checksum: the app never trusts it
    with pytest.raises(UserError):
        install_bytes(STARTER, data)  # bundled: nothing to install


def test_progress_figures() -> None:
    fig = progress_text(5 * 2**20, 20 * 2**20, 2.0)
    assert fig["fraction"] == pytest.approx(0.25) and fig["done"] == "5.0 MB" and fig["total"] == "20.0 MB"
    assert fig["speed"] == "2.50 MB/s" and fig["left"] == "6 s"
    assert progress_text(10, None, 0.0)["fraction"] is None


def _models(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("views/models.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_models_page_installs_from_a_file_and_refuses_a_tampered_one(site_card, lang: str) -> None:
    from core.chest.loader import availability

    card, data = site_card
    assert availability().name == STARTER
    at = _models(lang)
    at.toggle(key=f"install_{SITE}_file").set_value(True).run()
    uploader = next(u for u in at.get("file_uploader") if u.key == f"install_{SITE}_up")
    tampered = data[:100] + bytes([data[100] ^ 1]) + data[101:]
    uploader.set_value((card.file, tampered, "application/octet-stream")).run()
    at.button(key=f"install_{SITE}_upbtn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert hashlib.sha256(tampered).hexdigest() in errors
    assert registry.status(SITE).state == "missing" and availability().name == STARTER

    uploader = next(u for u in at.get("file_uploader") if u.key == f"install_{SITE}_up")
    uploader.set_value((card.file, data, "application/octet-stream")).run()
    at.button(key=f"install_{SITE}_upbtn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("models.install.done", lang, title=card.localized("title", lang)) in [s.value for s in at.success]
    assert registry.status(SITE).installed
    assert availability().name == SITE  # the chest page's next run loads it (its cache is keyed by the model)


def test_models_page_shows_the_per_finding_table_and_the_models_in_use() -> None:
    at = _models("en")
    text = " ".join(str(m.value) for m in at.markdown)
    assert t("models.in_use.chest", "en") in text and t("models.in_use.screening", "en") in text
    frames = [df.value for df in at.dataframe]
    assert any(t("models.per_finding.col.auc", "en") in list(f.columns) and len(f) == 14 for f in frames)
