"""Model card: what a model is, where its weights come from, and what it may be used for.

In the spirit of MONAI bundle ``metadata.json``: identity, provenance (URLs, checksum, licence),
interface (labels, input spec), evidence (metrics) and intended use, validated on load like
peft's ``LoraConfig``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TASKS = (
    "chest-multilabel",
    "chest-screening",
    "shoulder-osteoporosis",
    "shoulder-encoder",
    "scalp-severity",
    "llm",
    "llm-adapter",
    "reference-stats",
)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,80}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelCard:
    """One model the app can use.

    Attributes:
        name: registry id, lowercase (``xrv-densenet121-res224-all``).
        task: one of :data:`TASKS`.
        title: human name (not translated: it is a proper name).
        version: publisher's version or release tag.
        architecture: network family (``densenet121``...).
        file: weights file name (relative to the bundled or download folder).
        sha256: expected SHA-256 of the file, or ``None`` when the publisher gives none; then the
            checksum is pinned locally on first install (trust on first use) and verified after.
        size_bytes: expected size when known.
        urls: download mirrors tried in order (empty: cannot be downloaded, see ``train_command``).
        licence: licence of the weights.
        labels: output labels in order.
        input: input specification (size, channels, range, view...).
        metrics: published or measured figures, each with its source.
        intended_use: what it is for (and not for).
        limitations: known failure modes.
        references: papers / URLs.
        bundled: True when the file is committed under ``weights/``.
        alt_dirs: other folders where an existing copy may already be (e.g. torchxrayvision's cache).
        train_command: how to produce the weights when none can be downloaded.
        loader: how core code loads it (``xrv-pickle``, ``state-dict``, ``safetensors``, ``npz``, ``peft``).
        translations: per-language overrides of text fields, e.g. ``{"ko": {"intended_use": "..."}}``.
    """

    name: str
    task: str
    title: str
    version: str
    architecture: str
    file: str
    licence: str
    intended_use: str
    sha256: str | None = None
    size_bytes: int | None = None
    urls: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    input: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    limitations: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    bundled: bool = False
    alt_dirs: tuple[str, ...] = ()
    train_command: str | None = None
    loader: str = "state-dict"
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def localized(self, attribute: str, lang: str) -> Any:
        """``attribute`` in ``lang`` when the card translates it (``translations[lang]``), else as written."""
        return self.translations.get(lang, {}).get(attribute, getattr(self, attribute))

    def titles(self) -> tuple[tuple[str, str], ...]:
        """``((lang, title), ...)`` for every language whose translation gives a title."""
        return tuple((lang, str(tr["title"])) for lang, tr in sorted(self.translations.items()) if tr.get("title"))

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"card name {self.name!r} must be lowercase letters, digits, '.', '_' or '-'")
        if self.task not in TASKS:
            raise ValueError(f"card {self.name}: task {self.task!r} is not one of {TASKS}")
        if self.sha256 is not None and not _SHA_RE.match(self.sha256):
            raise ValueError(f"card {self.name}: sha256 must be 64 lowercase hex digits")
        if "/" in self.file or "\\" in self.file or self.file in ("", ".", ".."):
            raise ValueError(f"card {self.name}: file must be a plain file name, got {self.file!r}")
        if self.bundled and self.sha256 is None:
            raise ValueError(f"card {self.name}: bundled weights must carry their sha256")
        for url in self.urls:
            if not url.startswith(("https://", "http://", "file://")):
                raise ValueError(f"card {self.name}: unsupported URL scheme in {url!r}")

    @property
    def downloadable(self) -> bool:
        """True when the card names at least one download URL."""
        return bool(self.urls)

    def to_dict(self) -> dict[str, Any]:
        """The card as a JSON-ready dict."""
        data = asdict(self)
        for key in ("urls", "labels", "limitations", "references", "alt_dirs"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """Build and validate a card. Raises ``ValueError`` (bad values) or ``TypeError`` (unknown keys)."""
        data = dict(data)
        for key in ("urls", "labels", "limitations", "references", "alt_dirs"):
            if key in data and data[key] is not None:
                data[key] = tuple(data[key])
        return cls(**data)

    @classmethod
    def from_file(cls, path: Path) -> ModelCard:
        """Read a card from JSON. Raises ``ValueError`` with the path when the card is invalid."""
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
