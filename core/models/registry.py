"""Find model cards, locate installed weights, and verify them by checksum.

Status is computed without side effects; pinning a checksum (for publishers who publish none)
happens only through an explicit install or ``verify --pin``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from core.errors import MissingModelError
from core.models.card import ModelCard
from core.settings import PROJECT_ROOT, Settings, get_settings

CARDS_DIR = PROJECT_ROOT / "weights" / "cards"
BUNDLED_DIR = PROJECT_ROOT / "weights"
PINS_FILE = "pins.json"

State = Literal["installed", "missing", "corrupt", "unpinned"]


@dataclass(frozen=True)
class ModelStatus:
    """Install state of one model.

    ``installed``: file present and its checksum matches the card's or the local pin.
    ``missing``: no file. ``corrupt``: file present but checksum or size differs.
    ``unpinned``: file present, but neither the card nor a local pin gives a checksum
    to check it against (run ``python -m core.models verify NAME --pin``).
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


def list_cards(task: str | None = None, cards_dir: Path = CARDS_DIR) -> list[ModelCard]:
    """All model cards (optionally of one task), sorted by name.

    Raises:
        ValueError: a card file is invalid or two cards share a name.
    """
    stamp = max((p.stat().st_mtime for p in cards_dir.glob("*.json")), default=0.0)
    cards = _load_cards(str(cards_dir), stamp)
    return [c for c in cards if task is None or c.task == task]


def get_card(name: str, cards_dir: Path = CARDS_DIR) -> ModelCard:
    """The card called ``name``. Raises ``KeyError`` when there is none."""
    for card in list_cards(cards_dir=cards_dir):
        if card.name == name:
            return card
    raise KeyError(f"no model card named {name!r}; known: {[c.name for c in list_cards(cards_dir=cards_dir)]}")


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


def read_pins(settings: Settings | None = None) -> dict[str, dict[str, str]]:
    """Locally pinned checksums (for cards that carry none)."""
    path = install_dir(settings) / PINS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pin(card: ModelCard, sha256: str, settings: Settings | None = None) -> None:
    """Record ``sha256`` as the trusted checksum of ``card``'s file (trust on first use)."""
    folder = install_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    pins = read_pins(settings)
    pins[card.name] = {
        "sha256": sha256,
        "file": card.file,
        "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = folder / (PINS_FILE + ".tmp")
    tmp.write_text(json.dumps(pins, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(folder / PINS_FILE)


def expected_sha256(card: ModelCard, settings: Settings | None = None) -> tuple[str | None, bool]:
    """(checksum to verify against, True if it comes from a local pin rather than the card)."""
    if card.sha256:
        return card.sha256, False
    pinned = read_pins(settings).get(card.name, {}).get("sha256")
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
    command = install_command(card) if st.state != "unpinned" else f"python -m core.models verify {name} --pin"
    raise MissingModelError(key, name=name, command=command, path=str(st.path or ""))
