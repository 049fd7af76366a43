"""The image-prefix writer runs only on the chest model whose features it was trained on
(core.llm.prefix_writer.vision_matches): same weights file, or the same feature trunk."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.llm import prefix_writer

VISION = "starter-nih14-efficientnet-lite0"


@pytest.fixture()
def active(monkeypatch: pytest.MonkeyPatch) -> dict:
    """The active chest model: a card with a file SHA-256 and a features digest."""
    state = {"name": VISION, "sha": "1" * 64, "features": "f" * 64}
    import core.chest.loader as loader

    monkeypatch.setattr(loader, "availability", lambda: SimpleNamespace(name=state["name"]))

    def card(name: str) -> SimpleNamespace:
        if name != state["name"]:
            raise KeyError(name)
        return SimpleNamespace(sha256=state["sha"], input={"features_sha256": state["features"]})

    monkeypatch.setattr(prefix_writer.registry, "get_card", card)
    monkeypatch.setattr(prefix_writer.registry, "status", lambda name: SimpleNamespace(sha256=state["sha"]))
    return state


def _adapter(sha: str, feats: str | None = None) -> SimpleNamespace:
    inp = {"vision_model": VISION, "vision_sha256": sha}
    if feats is not None:
        inp["vision_features_sha256"] = feats
    return SimpleNamespace(input=inp)


def test_same_weights_file_matches(active: dict) -> None:
    assert prefix_writer.vision_matches(_adapter("1" * 64))


def test_a_new_file_with_the_same_feature_trunk_still_matches(active: dict) -> None:
    """An ensemble or new operating points change the file but not the features the adapter reads."""
    assert prefix_writer.vision_matches(_adapter("0" * 64, feats="f" * 64))


def test_other_weights_and_other_features_do_not_match(active: dict) -> None:
    assert not prefix_writer.vision_matches(_adapter("0" * 64))
    assert not prefix_writer.vision_matches(_adapter("0" * 64, feats="e" * 64))
    active["features"] = ""
    assert not prefix_writer.vision_matches(_adapter("0" * 64, feats=""))


def test_another_active_model_never_matches(active: dict) -> None:
    active["name"] = "xrv-densenet121-res224-all"
    assert not prefix_writer.vision_matches(_adapter("1" * 64, feats="f" * 64))
