"""The export cache keeps a few built exports and builds each only once."""

from __future__ import annotations

import pytest

from core.export.cache import cached


def test_a_kept_export_is_built_once_and_the_oldest_goes_first() -> None:
    built: list[str] = []

    def build(name: str):  # noqa: ANN202
        return lambda: built.append(name) or name.encode()

    cache: dict = {}
    assert cached(cache, "a", build("a"), keep=2) == b"a"
    assert cached(cache, "a", build("a"), keep=2) == b"a"
    assert built == ["a"]
    cached(cache, "b", build("b"), keep=2)
    cached(cache, "c", build("c"), keep=2)
    assert list(cache) == ["b", "c"]  # "a" was the oldest
    assert cached(cache, "a", build("a"), keep=2) == b"a" and built == ["a", "b", "c", "a"]
    assert list(cache) == ["c", "a"]


def test_a_failed_build_keeps_nothing_and_drops_nothing() -> None:
    cache: dict = {"old": b"x"}

    def fail() -> bytes:
        raise OSError("disk full")

    with pytest.raises(OSError):
        cached(cache, "new", fail, keep=1)
    assert cache == {"old": b"x"}


def test_keep_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        cached({}, "k", lambda: b"", keep=0)
