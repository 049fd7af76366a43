"""Weights registry: cards, install state, offline install, resumable checksummed download, CLI."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import MissingModelError
from core.models import registry
from core.models.card import ModelCard
from core.models.fetch import FetchError, download, install
from core.settings import PROJECT_ROOT, get_settings

XRV = "xrv-densenet121-res224-all"
UNKNOWN = "xrv-densenet121-res224-all-gate"  # a non-bundled card whose publisher states no checksum


def _card(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "demo-model", "task": "chest-multilabel", "title": "Demo", "version": "1",
        "architecture": "cnn", "file": "demo.pt", "licence": "MIT", "intended_use": "tests",
    }
    base.update(overrides)
    return base


def test_every_committed_card_is_valid_and_names_are_unique() -> None:
    cards = registry.list_cards()
    assert XRV in [c.name for c in cards]
    for card in cards:
        assert card.intended_use.strip(), card.name
        assert card.licence.strip(), card.name
        if card.bundled:
            path = registry.BUNDLED_DIR / card.file
            assert path.is_file(), f"bundled weights of {card.name} are not committed"
            assert registry.sha256_of(path) == card.sha256, f"bundled {card.name} checksum differs from its card"


def test_every_committed_card_speaks_korean() -> None:
    """The Models & data page shows each card's title, intended use and limitations in the UI language."""
    for card in registry.list_cards():
        for field in ("title", "intended_use", "limitations"):
            english, korean = getattr(card, field), card.localized(field, "ko")
            if not english:
                continue
            assert korean and korean != english, f"{card.name}: no Korean {field}"
            text = korean if isinstance(korean, str) else " ".join(korean)
            assert any("\uac00" <= ch <= "\ud7a3" for ch in text), f"{card.name}: Korean {field} holds no Hangul"
        assert card.localized("title", "en") == card.title


def test_xrv_card_points_at_the_real_release() -> None:
    card = registry.get_card(XRV)
    assert card.urls[0].startswith("https://github.com/mlmed/torchxrayvision/releases/download/v1/")
    assert card.urls[0].endswith(card.file)
    assert len(card.labels) == 18 and card.input["size"] == 224


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Bad Name"}, "lowercase"),
        ({"task": "weather"}, "task"),
        ({"sha256": "abc"}, "sha256"),
        ({"file": "../etc/passwd"}, "plain file name"),
        ({"bundled": True}, "bundled"),
        ({"urls": ["ftp://x/y"]}, "URL scheme"),
    ],
)
def test_invalid_cards_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelCard.from_dict(_card(**overrides))


def test_unknown_card_keys_are_refused() -> None:
    with pytest.raises(TypeError):
        ModelCard.from_dict(_card(colour="red"))


def test_missing_model_is_reported_with_the_install_command(weights_dir: Path) -> None:
    assert registry.status(XRV).state == "missing"
    assert registry.installed_path(XRV) is None
    with pytest.raises(MissingModelError) as info:
        registry.require(XRV)
    assert f"python -m core.models fetch {XRV}" in str(info.value)
    assert "python -m core.models fetch" in info.value.message("ko")


def test_offline_install_from_a_folder_pins_and_detects_tampering(weights_dir: Path, tmp_path: Path) -> None:
    card = registry.get_card(UNKNOWN)
    assert card.sha256 is None and not card.bundled
    usb = tmp_path / "usb"
    usb.mkdir()
    payload = os.urandom(300_000)
    (usb / card.file).write_bytes(payload)

    with pytest.raises(FetchError, match=hashlib.sha256(payload).hexdigest()):  # trust is never implicit
        install(UNKNOWN, from_dir=usb)
    assert not (weights_dir / card.file).exists()

    path = install(UNKNOWN, from_dir=usb, trust_unknown=True)
    assert path == weights_dir / card.file and path.read_bytes() == payload
    st = registry.status(UNKNOWN)
    assert st.state == "installed" and st.pinned_locally
    assert st.sha256 == hashlib.sha256(payload).hexdigest()
    assert registry.require(UNKNOWN) == path

    # The file changes on disk: it is no longer trusted.
    path.write_bytes(payload[:-1] + b"\x00")
    assert registry.status(UNKNOWN).state == "corrupt"
    with pytest.raises(MissingModelError, match="damaged"):
        registry.require(UNKNOWN)


def test_offline_install_with_a_wrong_expected_checksum_installs_nothing(weights_dir: Path, tmp_path: Path) -> None:
    card = registry.get_card(UNKNOWN)
    (tmp_path / card.file).write_bytes(b"not the real weights")
    with pytest.raises(FetchError, match="does not match"):
        install(UNKNOWN, from_dir=tmp_path, sha256="0" * 64)
    assert not (weights_dir / card.file).exists()


def test_offline_install_from_a_folder_without_the_file(weights_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="not found"):
        install(XRV, from_dir=tmp_path)


def test_a_file_in_the_xrv_cache_is_used_only_when_it_is_the_published_file(weights_dir: Path, tmp_path: Path) -> None:
    card = registry.get_card(XRV)
    assert card.sha256 and card.size_bytes  # published file: size and SHA-256 are in the card
    cache = tmp_path / "home" / ".torchxrayvision" / "models_data"
    cache.mkdir(parents=True)
    (cache / card.file).write_bytes(b"weights from the torchxrayvision cache")
    st = registry.status(XRV)
    assert st.state == "corrupt" and st.path == cache / card.file
    with pytest.raises(MissingModelError, match="damaged"):
        registry.require(XRV)
    with pytest.raises(ValueError, match="publishes its checksum"):  # no pin can stand in for the card
        registry.pin(card, hashlib.sha256(b"weights from the torchxrayvision cache").hexdigest())


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = b""
    served: list[int] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}")
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        # recorded before the body goes out: the client may finish reading (and the test check)
        # before this server thread runs again
        type(self).served.append(len(body))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_payload() -> Iterator[tuple[str, bytes, type[_RangeHandler]]]:
    payload = os.urandom(200_000)
    handler = type("H", (_RangeHandler,), {"payload": payload, "served": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/w.pt", payload, handler
    finally:
        server.shutdown()


def test_download_resumes_a_partial_file_and_checks_the_checksum(tmp_path: Path, http_payload) -> None:
    url, payload, handler = http_payload
    dest = tmp_path / "w.pt"
    (tmp_path / "w.pt.part").write_bytes(payload[:150_000])
    seen: list[tuple[int, int | None]] = []
    download(url, dest, expected_sha=hashlib.sha256(payload).hexdigest(), progress=lambda d, t: seen.append((d, t)))
    assert dest.read_bytes() == payload
    assert handler.served == [50_000], "only the missing tail should have been transferred"
    assert seen[-1] == (200_000, 200_000)
    assert not (tmp_path / "w.pt.part").exists()


def test_download_with_a_wrong_checksum_leaves_nothing_installed(tmp_path: Path, http_payload) -> None:
    url, _, _ = http_payload
    dest = tmp_path / "w.pt"
    with pytest.raises(FetchError, match="does not match"):
        download(url, dest, expected_sha="f" * 64)
    assert not dest.exists() and not (tmp_path / "w.pt.part").exists()


def test_download_failure_keeps_the_partial_file_for_resume(tmp_path: Path) -> None:
    part = tmp_path / "w.pt.part"
    part.write_bytes(b"12345")
    with pytest.raises(FetchError, match="resume"):
        download("http://127.0.0.1:9/nothing", tmp_path / "w.pt", timeout=2)
    assert part.read_bytes() == b"12345"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.models", *args], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )


def test_cli_list_fetch_from_folder_and_verify(weights_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DRDC_WEIGHTS_DIR": str(weights_dir), "HOME": str(tmp_path / "home")}
    card = registry.get_card(UNKNOWN)
    out = _cli("list", env=env)
    assert out.returncode == 0 and XRV in out.stdout and "missing" in out.stdout
    (tmp_path / card.file).write_bytes(b"offline copy")
    out = _cli("fetch", UNKNOWN, "--from", str(tmp_path), env=env)
    assert out.returncode == 1 and hashlib.sha256(b"offline copy").hexdigest() in out.stderr
    out = _cli("fetch", UNKNOWN, "--from", str(tmp_path), "--trust-unknown", env=env)
    assert out.returncode == 0, out.stderr
    assert "--trust-unknown" in out.stdout and hashlib.sha256(b"offline copy").hexdigest() in out.stdout
    out = _cli("verify", UNKNOWN, env=env)
    assert out.returncode == 0 and "installed" in out.stdout
    (weights_dir / card.file).write_bytes(b"tampered")
    assert _cli("verify", UNKNOWN, env=env).returncode == 1
    info = json.loads(_cli("info", UNKNOWN, env=env).stdout)
    assert info["status"]["state"] == "corrupt"
    assert _cli("fetch", "no-such-model", env=env).returncode == 2


def test_settings_default_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = get_settings({"DRDC_DATA_DIR": str(tmp_path)})
    assert s.db_path == tmp_path / "board.sqlite3"
    assert s.weights_dir == PROJECT_ROOT / "weights" / "downloads"
    assert get_settings({"DRDC_SAMPLES_DIR": str(tmp_path)}).samples_dir == tmp_path


def test_a_same_size_rewrite_is_never_served_from_the_hash_cache(tmp_path: Path) -> None:
    """Timestamps are coarse: two same-size writes inside one tick must still give two hashes."""
    path = tmp_path / "w.bin"
    path.write_bytes(b"a" * 64)
    first = registry.sha256_of(path)
    stamp = path.stat().st_mtime_ns
    path.write_bytes(b"b" * 64)
    os.utime(path, ns=(stamp, stamp))  # the same size and mtime as before, as within one tick
    assert registry.sha256_of(path) == hashlib.sha256(b"b" * 64).hexdigest() != first


# ----------------------------------------------------------------------------- a site's own cards


def _write_card(folder: Path, name: str, **overrides: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(_card(name=name, file=f"{name}.pt", **overrides)), encoding="utf-8")
    return path


def test_site_cards_join_the_project_cards_and_never_count_as_bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-cards"
    _write_card(site, "site-chest", bundled=True, sha256="ab" * 32)  # a site cannot claim a committed file
    monkeypatch.setenv("DRDC_SITE_CARDS_DIR", str(site))
    names = [c.name for c in registry.list_cards()]
    assert "site-chest" in names and XRV in names
    card = registry.get_card("site-chest")
    assert card.bundled is False
    assert registry.candidate_paths(card)[0] == get_settings().weights_dir / "site-chest.pt"
    assert [c.name for c in registry.list_cards(task="chest-multilabel") if c.name == "site-chest"]
    # an explicit folder lists that folder only
    assert "site-chest" not in [c.name for c in registry.list_cards(cards_dir=registry.CARDS_DIR)]
    monkeypatch.delenv("DRDC_SITE_CARDS_DIR")
    assert "site-chest" not in [c.name for c in registry.list_cards()]


def test_a_broken_or_shadowing_site_card_is_left_out_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    site = tmp_path / "site-cards"
    _write_card(site, XRV, title="A site's file under the project's name")  # would shadow a project card
    (site / "broken.json").write_text("{ not json", encoding="utf-8")
    _write_card(site, "fine-model")
    monkeypatch.setenv("DRDC_SITE_CARDS_DIR", str(site))
    with caplog.at_level("WARNING", logger="core.models.registry"):
        cards = registry.list_cards()
    assert [c.name for c in cards].count(XRV) == 1
    assert registry.get_card(XRV).title != "A site's file under the project's name"
    assert "fine-model" in [c.name for c in cards]
    assert "broken.json" in caplog.text and "already taken" in caplog.text
