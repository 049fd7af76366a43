"""A small cache of built exports (a PDF takes 0.3-0.8 s to build): kept per session, the oldest go
first. No Streamlit: the page passes the mapping it keeps in its session state."""

from __future__ import annotations

from collections.abc import Callable, Hashable, MutableMapping
from typing import TypeVar

T = TypeVar("T")

KEEP = 4  # a few PDFs per session


def cached(cache: MutableMapping[Hashable, T], key: Hashable, build: Callable[[], T], keep: int = KEEP) -> T:
    """The value kept under ``key`` in ``cache``; when absent, ``build()`` is kept there first, after the
    oldest entries went so that at most ``keep`` are kept (insertion order: a dict's).

    Raises:
        ValueError: ``keep`` is below 1.
        Whatever ``build`` raises (nothing is kept then).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    if key in cache:
        return cache[key]
    value = build()
    while len(cache) >= keep:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value
