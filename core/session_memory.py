"""A per-session memory budget for what pages keep between reruns (decoded images, results).

Pages put what they keep into a :class:`MemoryBudget` (one per session, in the session state)
instead of plain dicts. When the bytes held exceed the budget, the least recently used entries are
dropped first, and the page is told which, so it can say so (and decode again only when the user
opens a dropped file). No Streamlit here: pages call it, tests drive it directly.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import numpy as np

MIB = 1024 * 1024
#: Default budget per session.
SESSION_BUDGET = 512 * MIB


def nbytes_of(value: Any, _depth: int = 0) -> int:
    """An estimate of the memory ``value`` holds: numpy arrays by their size, containers and
    dataclasses by their parts (a few levels deep), anything else a small constant."""
    if _depth > 6:
        return 64
    if isinstance(value, np.ndarray):
        base = value.base if isinstance(value.base, np.ndarray) else None
        return int((base if base is not None else value).nbytes)
    size = getattr(value, "nbytes", None)
    if isinstance(size, int) and not isinstance(value, (bytes, bytearray)):
        return size
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, dict):
        return 64 + sum(nbytes_of(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 64 + sum(nbytes_of(v, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(nbytes_of(getattr(value, f.name, None), _depth + 1) for f in dataclasses.fields(value))
    return 64


class MemoryBudget:
    """Entries with their sizes, least recently used first; putting one may drop others.

    Args:
        limit: bytes the entries may hold together. An entry larger than the whole budget is
            still kept (the page needs what it shows now); everything older is dropped then.
    """

    def __init__(self, limit: int = SESSION_BUDGET) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        self.limit = int(limit)
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._used = 0

    @property
    def used(self) -> int:
        """Bytes held now."""
        return self._used

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> Iterator[Hashable]:
        """Keys from least to most recently used."""
        return iter(list(self._entries))

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value under ``key`` (now the most recently used), or ``default``."""
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key][0]

    def put(self, key: Hashable, value: Any, nbytes: int | None = None,
            protect: Callable[[Hashable], bool] | None = None) -> list[Hashable]:
        """Keep ``value`` under ``key`` (most recently used); returns the keys dropped to stay
        within the budget, oldest first: never ``key`` itself nor a key ``protect`` accepts (the
        budget may then stay exceeded)."""
        self.pop(key)
        size = nbytes_of(value) if nbytes is None else int(nbytes)
        self._entries[key] = (value, size)
        self._used += size
        dropped = []
        for old in list(self._entries):
            if self._used <= self.limit:
                break
            if old == key or (protect is not None and protect(old)):
                continue
            self.pop(old)
            dropped.append(old)
        return dropped

    def pop(self, key: Hashable) -> Any:
        """Remove ``key``; returns its value (None when absent)."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self._used -= entry[1]
        return entry[0]

    def drop_where(self, predicate: Callable[[Hashable], bool]) -> list[Hashable]:
        """Remove every key for which ``predicate`` is true; returns them."""
        gone = [k for k in self._entries if predicate(k)]
        for key in gone:
            self.pop(key)
        return gone


class UploadStore:
    """A page's decoded uploads and results in one session, under one :class:`MemoryBudget`.

    Images are keyed by the upload's SHA-256 (``digest``); results by tuples whose first item is
    that digest. When the budget drops an image, its digest is remembered as *dropped* and its
    results go too: the page then shows the file as dropped (and says so) instead of decoding it
    again on every rerun; :meth:`image` with ``revive=True`` (the user opened it) decodes it again.
    """

    def __init__(self, limit: int = SESSION_BUDGET) -> None:
        self.budget = MemoryBudget(limit)
        self.dropped: set[str] = set()
        self.pinned: str | None = None  # the upload open on the page: never dropped

    def pin(self, digest: str | None) -> None:
        """Keep everything of ``digest`` (the file the user is looking at) whatever the budget."""
        self.pinned = digest

    def image(self, digest: str, load: Callable[[], Any], revive: bool = False) -> Any:
        """The kept image (or error) for ``digest``; loads and keeps it when absent. Returns None
        for a dropped digest unless ``revive``."""
        key = ("image", digest)
        if key in self.budget:
            return self.budget.get(key)
        if digest in self.dropped and not revive:
            return None
        value = load()
        self.dropped.discard(digest)
        self._dropped(self.budget.put(key, value, protect=self._protect(digest)))
        return value

    def result(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The kept result under ``key`` (``key[0]``: the image's digest), computed when absent."""
        full = ("result", *key)
        if full in self.budget:
            return self.budget.get(full)
        value = compute()
        self._dropped(self.budget.put(full, value, protect=self._protect(key[0])))
        return value

    def forget_except(self, digests: set[str]) -> None:
        """Drop everything of uploads no longer present (they were removed by the user)."""
        self.budget.drop_where(lambda k: k[1] not in digests)
        self.dropped &= digests

    def _protect(self, digest: str) -> Callable[[Hashable], bool]:
        """Entries that must stay while an entry of ``digest`` is put: that upload's own (its image
        must not go for its own result) and the pinned upload's."""
        keep = {digest, self.pinned}
        return lambda k: isinstance(k, tuple) and len(k) > 1 and k[1] in keep

    def _dropped(self, keys: list[Hashable]) -> None:
        for key in keys:
            if isinstance(key, tuple) and key[0] == "image":
                digest = key[1]
                self.dropped.add(digest)
                self.budget.drop_where(lambda k, d=digest: k[0] == "result" and k[1] == d)
