"""Translation layer: every user-facing string goes through :func:`t`.

Strings live in ``locales/<lang>/<namespace>.json`` as flat ``{"namespace.key": "text"}``
maps. Every key in a file must start with that file's namespace, so each feature owns
its own files (``board.json``, ``chest.json``...). Korean is the default language,
English the fallback: a key missing in Korean shows the English text, a key missing
everywhere shows the key itself (and the completeness test fails).

Placeholders use ``str.format`` syntax: ``t("imaging.error.too_large", "en", limit_mb=64)``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED: tuple[str, ...] = ("ko", "en")
DEFAULT_LANG = "ko"
FALLBACK_LANG = "en"
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


@cache
def catalog(lang: str) -> dict[str, str]:
    """Return the merged key -> text map for ``lang``.

    Raises:
        ValueError: a locale file holds a key outside its namespace, a non-string value,
            or the same key twice across files.
    """
    merged: dict[str, str] = {}
    folder = LOCALES_DIR / lang
    if not folder.is_dir():
        return merged
    for path in sorted(folder.glob("*.json")):
        namespace = path.stem
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, value in data.items():
            if not key.startswith(namespace + "."):
                raise ValueError(f"{path}: key {key!r} must start with {namespace!r}.")
            if not isinstance(value, str):
                raise ValueError(f"{path}: value of {key!r} must be a string.")
            if key in merged:
                raise ValueError(f"{path}: duplicate key {key!r}.")
            merged[key] = value
    return merged


def normalize_lang(lang: str | None) -> str:
    """Map a language or locale tag (``"ko-KR"``, ``"en_US"``, ``None``) to a supported code."""
    if not lang:
        return DEFAULT_LANG
    code = lang.replace("_", "-").split("-")[0].lower()
    return code if code in SUPPORTED else FALLBACK_LANG


def has_key(key: str) -> bool:
    """True when ``key`` exists in the fallback (English) catalogue."""
    return key in catalog(FALLBACK_LANG)


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """Translate ``key`` into ``lang`` and fill ``params``.

    Falls back to English, then to the key itself. Never raises: a missing placeholder
    leaves the template unformatted rather than breaking a page.
    """
    lang = normalize_lang(lang)
    text = catalog(lang).get(key)
    if text is None:
        text = catalog(FALLBACK_LANG).get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def reload() -> None:
    """Drop cached catalogues (tests and live editing of locale files)."""
    catalog.cache_clear()
