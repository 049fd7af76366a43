"""Find model cards, locate installed weights, and verify them by checksum.

Status is computed without side effects. A card that states a SHA-256 is checked against it and
nothing else: no local file can re-trust a changed file. For a publisher that states none, a
checksum is pinned only through an explicit ``--trust-unknown`` (install or verify), which prints it.

Pins live in the *data* folder (``$DRDC_DATA_DIR/model-pins.json``), not beside the weights, and every
entry carries an HMAC-SHA256 made with the installation's secret key (``$DRDC_DATA_DIR/.pins-key``,
0600). Whoever can write the weights folder, or edits the pins file without the key, cannot make a
changed file trusted: a pin whose signature does not verify is ignored (the file reads as
``unpinned`` and is never loaded).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from core.errors import MissingModelError
from core.models.card import ModelCard
from core.settings import PROJECT_ROOT, Settings, get_settings

CARDS_DIR = PROJECT_ROOT / "weights" / "cards"
BUNDLED_DIR = PROJECT_ROOT / "weights"
PINS_FILE = "model-pins.json"
PINS_KEY = ".pins-key"
logger = logging.getLogger(__name__)

State = Literal["installed", "missing", "corrupt", "unpinned"]


@dataclass(frozen=True)
class ModelStatus:
    """Install state of one model.

    ``installed``: file present and its checksum matches the card's or the local pin.
    ``missing``: no file. ``corrupt``: file present but checksum or size differs.
    ``unpinned``: file present, but neither the card nor a local pin gives a checksum
    to check it against (run ``python -m core.models verify NAME --trust-unknown``).
    """

    name: str
    state: State
    path: Path | None
    sha256: str | None = None
    pinned_locally: bool = False

    @property
    def installed(self) -> bool:
        return self.state == "installed"


@lru_cache(maxsize=8)
def _load_cards(cards_dir: str, _stamp: float) -> tuple[ModelCard, ...]:
    folder = Path(cards_dir)
    cards = [ModelCard.from_file(p) for p in sorted(folder.glob("*.json"))]
    names = [c.name for c in cards]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate model card names: {sorted(duplicates)}")
    return tuple(cards)


@lru_cache(maxsize=8)
def _load_site_cards(cards_dir: str, _stamp: float, bundled: frozenset[str]) -> tuple[ModelCard, ...]:
    """A site's own cards: never bundled, and a card that cannot be read, or that would shadow a
    bundled card or another site card, is left out with a warning (a site's mistake must not take
    the pages down, nor replace a model the project ships)."""
    cards: list[ModelCard] = []
    for path in sorted(Path(cards_dir).glob("*.json")):
        try:
            card = ModelCard.from_file(path)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            logger.warning("site model card %s left out: %s", path.name, exc)
            continue
        if card.name in bundled or any(c.name == card.name for c in cards):
            logger.warning("site model card %s left out: the name %r is already taken", path.name, card.name)
            continue
        cards.append(replace(card, bundled=False))
    return tuple(cards)


def _stamp(folder: Path) -> float:
    try:
        return max((p.stat().st_mtime for p in folder.glob("*.json")), default=0.0)
    except OSError:
        return 0.0


def list_cards(task: str | None = None, cards_dir: Path | None = None) -> list[ModelCard]:
    """All model cards (optionally of one task): the project's own (``weights/cards``), then the
    site's (``DRDC_SITE_CARDS_DIR``, when set), each sorted by name. With ``cards_dir``, only the
    cards in that folder.

    Raises:
        ValueError: one of the project's card files is invalid or two share a name (a site card
            with a problem is left out with a warning instead).
    """
    folder = CARDS_DIR if cards_dir is None else cards_dir
    cards = _load_cards(str(folder), _stamp(folder))
    site = get_settings().site_cards_dir if cards_dir is None else None
    if site is not None and site.is_dir():
        cards = cards + _load_site_cards(str(site), _stamp(site), frozenset(c.name for c in cards))
    return [c for c in cards if task is None or c.task == task]


def get_card(name: str, cards_dir: Path | None = None) -> ModelCard:
    """The card called ``name`` (among the cards :func:`list_cards` gives).

    Raises:
        KeyError: there is none.
    """
    cards = list_cards(cards_dir=cards_dir)
    for card in cards:
        if card.name == name:
            return card
    raise KeyError(f"no model card named {name!r}; known: {[c.name for c in cards]}")


def install_dir(settings: Settings | None = None) -> Path:
    """Folder where downloaded / offline-installed weights go."""
    return (settings or get_settings()).weights_dir


def candidate_paths(card: ModelCard, settings: Settings | None = None) -> list[Path]:
    """Where the card's file may be, in order of preference."""
    paths = []
    if card.bundled:
        paths.append(BUNDLED_DIR / card.file)
    paths.append(install_dir(settings) / card.file)
    paths.extend(Path(os.path.expanduser(d)) / card.file for d in card.alt_dirs)
    return paths


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, cached by (path, inode, size, mtime, ctime) so repeated checks are free.

    A file changed within the last two seconds is hashed again every time and not cached
    (file-system timestamps are coarse: a same-size rewrite inside one tick keeps the same key;
    git's "racy timestamp" rule).
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key in _HASH_CACHE:
        return _HASH_CACHE[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    value = digest.hexdigest()
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > 2_000_000_000:
        _HASH_CACHE[key] = value
    return value


def pins_path(settings: Settings | None = None) -> Path:
    """Where the signed pins live (the data folder, never the weights folder)."""
    return (settings or get_settings()).data_dir / PINS_FILE


def _pins_key(settings: Settings | None = None, create: bool = False) -> bytes | None:
    """The installation's pin-signing key (32 random bytes, 0600), made on first ``create``.

    Raises:
        OSError: the data folder is not writable when the key must be created.
    """
    path = (settings or get_settings()).data_dir / PINS_KEY
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{PINS_KEY}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # atomic; never replaces a key another process made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return key if len(key) >= 16 else None


def _pin_mac(key: bytes, name: str, file: str, sha256: str) -> str:
    return hmac.new(key, f"drdc-pin-v1\n{name}\n{file}\n{sha256}".encode(), hashlib.sha256).hexdigest()


def _read_pin_file(settings: Settings | None = None) -> dict[str, dict[str, str]]:
    path = pins_path(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_pins(settings: Settings | None = None) -> dict[str, dict[str, str]]:
    """Locally pinned checksums whose signature verifies with this installation's key.

    Entries that are unsigned, malformed or signed with another key are left out.
    """
    key = _pins_key(settings)
    if key is None:
        return {}
    good = {}
    for name, entry in _read_pin_file(settings).items():
        if not isinstance(entry, dict):
            continue
        sha, file, mac = entry.get("sha256"), entry.get("file"), entry.get("hmac")
        if not all(isinstance(v, str) for v in (sha, file, mac)):
            continue
        if hmac.compare_digest(_pin_mac(key, name, file, sha), mac):
            good[name] = entry
    return good


def pin(card: ModelCard, sha256: str, settings: Settings | None = None) -> None:
    """Record ``sha256`` as the trusted checksum of ``card``'s file, signed with the installation key.

    Raises:
        ValueError: the card publishes its own checksum (pins never override a card), or ``sha256``
            is not a SHA-256 hex digest.
        OSError: the data folder is not writable.
    """
    if card.sha256:
        raise ValueError(f"{card.name} publishes its checksum; a local pin cannot replace it")
    sha256 = sha256.lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    key = _pins_key(settings, create=True)
    if key is None:
        raise OSError(f"the pin key in {(settings or get_settings()).data_dir} is unreadable or damaged")
    pins = _read_pin_file(settings)
    pins[card.name] = {
        "sha256": sha256,
        "file": card.file,
        "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "hmac": _pin_mac(key, card.name, card.file, sha256),
    }
    path = pins_path(settings)
    tmp = path.with_name(f"{PINS_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(pins, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def expected_sha256(card: ModelCard, settings: Settings | None = None) -> tuple[str | None, bool]:
    """(checksum to verify against, True if it comes from a local pin rather than the card)."""
    if card.sha256:
        return card.sha256, False
    entry = read_pins(settings).get(card.name, {})
    pinned = entry.get("sha256") if entry.get("file") == card.file else None
    return (pinned, True) if pinned else (None, False)


def status(name: str, settings: Settings | None = None) -> ModelStatus:
    """Install state of model ``name`` (no side effects). Raises ``KeyError`` for unknown names."""
    card = get_card(name)
    expected, from_pin = expected_sha256(card, settings)
    for path in candidate_paths(card, settings):
        if not path.is_file():
            continue
        if card.size_bytes is not None and path.stat().st_size != card.size_bytes:
            return ModelStatus(name, "corrupt", path)
        actual = sha256_of(path)
        if expected is None:
            return ModelStatus(name, "unpinned", path, actual)
        if actual != expected:
            return ModelStatus(name, "corrupt", path, actual, from_pin)
        return ModelStatus(name, "installed", path, actual, from_pin)
    return ModelStatus(name, "missing", None)


def install_command(card: ModelCard) -> str:
    """The exact command a user runs to install ``card`` (or to train it when it cannot be downloaded)."""
    if card.urls:
        return f"python -m core.models fetch {card.name}   # offline: --from /path/to/folder"
    if card.train_command:
        return card.train_command
    return f"python -m core.models fetch {card.name} --from /path/to/folder"


def trust_command(name: str) -> str:
    """The command that trusts (pins) a found file of a card that publishes no checksum."""
    return f"python -m core.models verify {name} --trust-unknown"


def installed_path(name: str, settings: Settings | None = None) -> Path | None:
    """Path of the verified weights file, or ``None`` when not installed and verified."""
    st = status(name, settings)
    return st.path if st.installed else None


def require(name: str, settings: Settings | None = None) -> Path:
    """Path of the verified weights file.

    Raises:
        MissingModelError: not installed, corrupt or unverified; the message names the fix.
        KeyError: no card called ``name``.
    """
    st = status(name, settings)
    if st.installed and st.path is not None:
        return st.path
    card = get_card(name)
    key = {
        "missing": "models.error.missing",
        "corrupt": "models.error.corrupt",
        "unpinned": "models.error.unpinned",
    }[st.state]
    command = install_command(card) if st.state != "unpinned" else trust_command(name)
    raise MissingModelError(key, name=name, command=command, path=str(st.path or ""))
