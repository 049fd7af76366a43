"""No code runs from a weights file: tampered or unknown pickles are refused before unpickling,
and a writer of the weights folder (or of the pins file) cannot re-trust a changed file."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from core.chest.loader import XRV_PUBLISHED_SHA256, ModelLoadError, load_model, unpickle_xrv
from core.errors import MissingModelError
from core.models import registry
from core.models.fetch import FetchError, install
from core.settings import PROJECT_ROOT

XRV = "xrv-densenet121-res224-all"
UNKNOWN = "xrv-densenet121-res224-all-gate"


class _Marker:
    """Unpickling this object creates the marker file: what a hostile weights file would do."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):  # noqa: ANN204
        return (Path.touch, (Path(self.path),))


def hostile_pickle(marker: Path, torch_format: bool) -> bytes:
    """A weights file that runs code (creates ``marker``) when unpickled with ``weights_only=False``."""
    if not torch_format:
        return pickle.dumps(_Marker(marker), protocol=2)
    import torch

    buf = io.BytesIO()
    torch.save({"state_dict": {}, "payload": _Marker(marker)}, buf)
    return buf.getvalue()


def test_the_hostile_fixture_really_runs_code_when_unpickled(tmp_path: Path) -> None:
    """Guards the tests below: the planted file does create its marker when loaded unsafely."""
    marker = tmp_path / "ran"
    pickle.loads(hostile_pickle(marker, torch_format=False))  # noqa: S301 (the point of the check)
    assert marker.exists()


@pytest.mark.parametrize("torch_format", [False, True])
def test_a_planted_pickle_is_refused_by_fetch_and_never_unpickled(weights_dir: Path, tmp_path: Path,
                                                                 torch_format: bool) -> None:
    marker = tmp_path / "pwned"
    card = registry.get_card(XRV)
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / card.file).write_bytes(hostile_pickle(marker, torch_format))
    env = {**os.environ, "DRDC_WEIGHTS_DIR": str(weights_dir), "HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-m", "core.models", "fetch", XRV, "--from", str(usb)], cwd=PROJECT_ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "error" in out.stderr
    assert not (weights_dir / card.file).exists()
    out = subprocess.run([sys.executable, "-m", "core.models", "verify", XRV], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert "installed" not in out.stdout
    assert not marker.exists()


@pytest.mark.parametrize("torch_format", [False, True])
def test_a_pickle_written_straight_into_the_weights_folder_is_never_loaded(weights_dir: Path, tmp_path: Path,
                                                                          torch_format: bool) -> None:
    marker = tmp_path / "pwned"
    card = registry.get_card(XRV)
    weights_dir.mkdir(parents=True)
    path = weights_dir / card.file
    path.write_bytes(hostile_pickle(marker, torch_format))
    assert registry.status(XRV).state == "corrupt"
    with pytest.raises(MissingModelError):
        registry.require(XRV)
    with pytest.raises(MissingModelError):  # even a caller that skips the registry check
        load_model(XRV, path)
    with pytest.raises(ModelLoadError):  # and the unpickler itself
        unpickle_xrv(path.read_bytes())
    assert not marker.exists()


def test_a_pickle_in_the_torchxrayvision_cache_is_never_loaded(weights_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    cache = tmp_path / "home" / ".torchxrayvision" / "models_data"
    cache.mkdir(parents=True)
    (cache / registry.get_card(XRV).file).write_bytes(hostile_pickle(marker, torch_format=True))
    from core.chest.loader import availability

    assert availability().name != XRV
    assert registry.status(XRV).state == "corrupt"
    assert not marker.exists()


def test_unpickle_refuses_unknown_bytes_and_names_only_published_files() -> None:
    assert set(XRV_PUBLISHED_SHA256) == {registry.get_card(XRV).sha256}
    with pytest.raises(ModelLoadError, match="unknown file"):
        unpickle_xrv(b"PK\x03\x04 not a published file")


def test_sha256_cannot_override_a_published_checksum(weights_dir: Path, tmp_path: Path) -> None:
    card = registry.get_card(XRV)
    data = b"some other file"
    (tmp_path / card.file).write_bytes(data)
    with pytest.raises(FetchError, match="cannot replace"):
        install(XRV, from_dir=tmp_path, sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(FetchError):
        install(XRV, from_dir=tmp_path, trust_unknown=True)  # --trust-unknown never beats a card's checksum
    assert not (weights_dir / card.file).exists()


def test_pins_live_outside_the_weights_folder_and_a_forged_pin_trusts_nothing(weights_dir: Path, tmp_path: Path) -> None:
    card = registry.get_card(UNKNOWN)
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / card.file).write_bytes(b"the statistics the admin trusted")
    path = install(UNKNOWN, from_dir=usb, trust_unknown=True)
    assert registry.status(UNKNOWN).state == "installed"
    pins = registry.pins_path()
    assert pins.is_file() and weights_dir not in pins.parents
    assert not (weights_dir / "pins.json").exists() and not (weights_dir / registry.PINS_FILE).exists()

    # An attacker swaps the file and rewrites the pin without the installation's key.
    evil = b"swapped statistics"
    path.write_bytes(evil)
    assert registry.status(UNKNOWN).state == "corrupt"
    data = json.loads(pins.read_text())
    data[UNKNOWN]["sha256"] = hashlib.sha256(evil).hexdigest()
    pins.write_text(json.dumps(data))
    assert registry.status(UNKNOWN).state == "unpinned"  # signature fails: the pin is ignored
    with pytest.raises(MissingModelError):
        registry.require(UNKNOWN)

    # The old, unsigned pins.json beside the weights re-trusts nothing either.
    (weights_dir / "pins.json").write_text(json.dumps({UNKNOWN: {"sha256": hashlib.sha256(evil).hexdigest(),
                                                                 "file": card.file}}))
    assert registry.status(UNKNOWN).state == "unpinned"


def test_a_pin_signed_by_another_installation_is_ignored(weights_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    card = registry.get_card(UNKNOWN)
    weights_dir.mkdir(parents=True)
    (weights_dir / card.file).write_bytes(b"stats")
    registry.pin(card, hashlib.sha256(b"stats").hexdigest())
    assert registry.status(UNKNOWN).state == "installed"
    key = Path(os.environ["DRDC_DATA_DIR"]) / registry.PINS_KEY
    assert key.stat().st_mode & 0o077 == 0, "the pin key is readable by others"
    key.write_text(os.urandom(32).hex() + "\n")  # another installation's key
    assert registry.status(UNKNOWN).state == "unpinned"


def test_verify_prints_the_checksum_and_trusts_only_with_trust_unknown(weights_dir: Path, tmp_path: Path) -> None:
    card = registry.get_card(UNKNOWN)
    weights_dir.mkdir(parents=True)
    (weights_dir / card.file).write_bytes(b"found file")
    sha = hashlib.sha256(b"found file").hexdigest()
    env = {**os.environ, "DRDC_WEIGHTS_DIR": str(weights_dir), "HOME": str(tmp_path / "home")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "core.models", *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    out = cli("verify", UNKNOWN)
    assert sha in out.stdout and "--trust-unknown" in out.stdout
    assert registry.status(UNKNOWN).state == "unpinned"
    out = cli("verify", UNKNOWN, "--trust-unknown")
    assert out.returncode == 0 and sha in out.stdout
    assert registry.status(UNKNOWN).state == "installed"
