"""The per-session memory budget: oldest entries dropped first, dropped uploads remembered."""

from __future__ import annotations

import numpy as np
import pytest

from core.imaging import load_image
from core.imaging.compact import CompactImage
from core.session_memory import MIB, MemoryBudget, UploadStore, nbytes_of
from tests.imaging import corpus


def test_sizes_are_estimated_from_arrays_inside_containers() -> None:
    arr = np.zeros((100, 100), np.float32)
    assert nbytes_of(arr) == 40_000
    assert nbytes_of(arr[::2]) == 40_000  # a view holds its base
    assert 40_000 < nbytes_of({"a": [arr, (arr[:1],)]}) < 90_000
    image = load_image(corpus.seeds()["png-gray"])
    assert nbytes_of(image) >= image.pixels.nbytes
    compact = CompactImage.of(image)
    assert nbytes_of(compact) == compact.nbytes


def test_the_budget_drops_the_least_recently_used_first() -> None:
    budget = MemoryBudget(limit=300)
    assert budget.put("a", "x", 100) == [] and budget.put("b", "y", 100) == [] and budget.put("c", "z", 100) == []
    assert budget.get("a") == "x"  # a is now the most recent
    assert budget.put("d", "w", 100) == ["b"]
    assert list(budget.keys()) == ["c", "a", "d"] and budget.used == 300
    assert budget.put("big", "v", 1000) == ["c", "a", "d"]  # kept although alone over the budget
    assert list(budget.keys()) == ["big"] and "big" in budget and len(budget) == 1
    assert budget.pop("big") == "v" and budget.used == 0 and budget.pop("nope") is None
    with pytest.raises(ValueError):
        MemoryBudget(0)


def test_an_upload_store_remembers_dropped_images_and_revives_them_on_request() -> None:
    store = UploadStore(limit=250)
    loads: list[str] = []

    def loader(name: str, size: int):  # type: ignore[no-untyped-def]
        def load():  # type: ignore[no-untyped-def]
            loads.append(name)
            return np.zeros(size, np.uint8)
        return load

    store.image("a", loader("a", 100))
    store.result(("a", "model"), lambda: np.zeros(50, np.uint8))
    store.image("b", loader("b", 100))
    store.image("c", loader("c", 100))  # over 250 bytes: a (and its result) go, oldest first
    assert store.dropped == {"a"} and ("result", "a", "model") not in store.budget
    assert store.image("a", loader("a", 100)) is None and loads == ["a", "b", "c"]  # not decoded again by itself
    assert store.image("a", loader("a", 100), revive=True) is not None and loads[-1] == "a"
    assert "a" not in store.dropped and "b" in store.dropped
    store.forget_except({"c"})
    assert list(store.budget.keys()) == [("image", "c")] and store.dropped == set()


def test_eight_large_uploads_stay_within_the_session_budget() -> None:
    """Issue 16: 8 uploads of ~60 MP held 1.8 GiB as float32; the session copies stay small."""
    big = load_image(corpus.pil_bytes(corpus.gradient(6000, 8000), "PNG", compress_level=1))
    store = UploadStore()
    for i in range(8):
        store.image(f"upload-{i}", lambda: CompactImage.of(big))
    assert store.budget.used < 64 * MIB and not store.dropped
    assert big.pixels.nbytes > 150 * MIB


def test_an_upload_never_loses_its_image_to_its_own_result_and_the_pinned_one_stays() -> None:
    store = UploadStore(limit=100)
    store.image("a", lambda: np.zeros(80, np.uint8))
    store.result(("a", "m"), lambda: np.zeros(80, np.uint8))  # a alone is over the budget: it stays whole
    assert "a" not in store.dropped and ("result", "a", "m") in store.budget
    store.pin("a")
    store.image("b", lambda: np.zeros(80, np.uint8))
    assert "a" not in store.dropped and "b" not in store.dropped  # a is pinned, b is the one being put
    store.pin(None)
    store.image("c", lambda: np.zeros(10, np.uint8))
    assert store.dropped == {"a"}  # the oldest went first, with its result; b fits again
