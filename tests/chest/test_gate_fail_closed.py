"""The input gate fails closed: a missing, damaged or unverified reference file refuses analysis
with the fix named, instead of silently skipping its out-of-distribution check (hardening issue:
with one byte flipped in a reference, hand/knee/shoulder films and a text page were "Accepted")."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.chest import gate
from core.chest.analysis import analyse
from core.chest.gate import IMAGE_STATS_CARD, check_input, feature_card_name
from core.chest.starter import STARTER_MULTILABEL, load_starter
from core.imaging import load_image
from core.models import registry

STARTER_GATE = feature_card_name(STARTER_MULTILABEL)


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.uint8(np.clip(arr, 0, 1) * 255 + 0.5)).save(buf, format="PNG")
    return buf.getvalue()


def _chest_like() -> np.ndarray:
    """A built frontal-film-like image: bright mediastinum and body, two darker lung fields."""
    h, w = 512, 512
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = 0.75 - 0.1 * yy
    for cx in (0.3, 0.7):
        lung = ((xx - cx) / 0.17) ** 2 + ((yy - 0.48) / 0.32) ** 2 < 1
        img = np.where(lung, 0.3 + 0.08 * np.sin(xx * 60) * np.sin(yy * 60), img)
    rng = np.random.default_rng(0)
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_damaged_image_reference_refuses_analysis_and_names_the_fix(weights_copy: Path, damage: str) -> None:
    img = load_image(_png(_chest_like()), "film.png")
    assert "reference_unavailable" not in {i.code for i in check_input(img).issues}
    target = weights_copy / registry.get_card(IMAGE_STATS_CARD).file
    _flip_one_byte(target) if damage == "flip" else target.unlink()
    result = check_input(img)
    codes = {i.code for i in result.issues}
    assert "reference_unavailable" in codes
    assert result.decision == "refuse" and not result.can_override
    issue = next(i for i in result.issues if i.code == "reference_unavailable")
    file = registry.get_card(IMAGE_STATS_CARD).file
    assert f"git checkout -- weights/{file}" in issue.message("en") and IMAGE_STATS_CARD in issue.message("ko")
    with pytest.raises(ValueError):
        result.override()


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_damaged_feature_reference_refuses_the_starter_analysis(weights_copy: Path, damage: str) -> None:
    starter = load_starter(STARTER_MULTILABEL)
    img = load_image(_png(_chest_like()), "film.png")
    target = weights_copy / registry.get_card(STARTER_GATE).file
    _flip_one_byte(target) if damage == "flip" else target.unlink()
    for override in (False, True):
        result = analyse(img, starter, override=override)
        codes = {i.code for i in result.gate.issues}
        assert "feature_reference_unavailable" in codes, codes
        assert result.gate.decision == "refuse"
        assert not result.findings, "findings were produced without the feature check"


def test_an_intact_install_has_no_reference_problem(weights_copy: Path) -> None:
    starter = load_starter(STARTER_MULTILABEL)
    img = load_image(_png(_chest_like()), "film.png")
    result = analyse(img, starter, override=True)
    codes = {i.code for i in result.gate.issues}
    assert not codes & {"reference_unavailable", "feature_reference_unavailable", "feature_check_unavailable"}


XRV = "xrv-densenet121-res224-all"


def _model(name: str, sha: str = "0" * 64) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(is_test_model=False, name=name, sha256=sha)


def _plant_trusted(weights_copy: Path, data: bytes) -> Path:
    """Write ``data`` as the xrv feature reference (a site-fitted card without a published checksum) and
    pin its checksum, as ``core.models verify --trust-unknown`` does: the bytes are trusted."""
    card = registry.get_card(feature_card_name(XRV))
    target = weights_copy.parent / "downloads" / card.file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    registry.pin(card, registry.sha256_of(target))
    assert registry.status(card.name).installed
    return target


def _starter_reference_bytes(weights_copy: Path) -> bytes:
    return (weights_copy / registry.get_card(STARTER_GATE).file).read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "garbled", "not-a-zip"])
def test_a_trusted_but_damaged_reference_refuses_instead_of_crashing(weights_copy: Path, damage: str) -> None:
    """Bytes whose checksum is trusted but that do not parse (a zip cut short, a deflate stream
    garbled, no zip at all) refuse analysis with the fix named; no exception reaches the page."""
    good = _starter_reference_bytes(weights_copy)
    if damage == "truncated":
        data = good[: len(good) // 2]
    elif damage == "garbled":
        data = bytearray(good)
        for i in range(200, len(good) // 2, 97):  # inside the compressed members, not the directory
            data[i] ^= 0x5A
        data = bytes(data)
    else:
        data = b"PK\x03\x04" + bytes(range(256)) * 4
    _plant_trusted(weights_copy, data)
    ref, state, command = gate._registry_reference(feature_card_name(XRV))
    assert ref is None and state.startswith("unreadable"), state
    ref, issue = gate.feature_reference_or_issue(_model(XRV))
    assert ref is None and issue is not None
    assert issue.code == "feature_reference_unavailable" and issue.severity == "refuse" and not issue.overridable
    assert "python -m core.training.gate_fit fit-features --model xrv-densenet121-res224-all" in issue.message("en")
    assert feature_card_name(XRV) in issue.message("ko")


def test_a_model_with_a_feature_card_but_no_fitted_reference_is_refused(weights_copy: Path) -> None:
    """torchxrayvision's DenseNet has a card for its feature reference; never fitted, the model's own
    check cannot run, so analysis is refused with the fit command (fail closed), not merely warned."""
    ref, issue = gate.feature_reference_or_issue(_model(XRV))
    assert ref is None and issue is not None
    assert issue.code == "feature_reference_unavailable" and issue.severity == "refuse" and not issue.overridable
    assert "missing" in issue.message("en")
    assert "python -m core.training.gate_fit fit-features --model xrv-densenet121-res224-all" in issue.message("en")


def test_a_feature_reference_fitted_for_other_weights_is_refused(weights_copy: Path) -> None:
    _plant_trusted(weights_copy, _starter_reference_bytes(weights_copy))  # readable, but not xrv's statistics
    ref, issue = gate.feature_reference_or_issue(_model(XRV, sha="a" * 64))
    assert ref is None and issue is not None
    assert issue.code == "feature_reference_unavailable" and issue.severity == "refuse"
    assert "fitted for other weights" in issue.message("en")


def test_a_model_without_any_feature_card_warns_that_only_the_image_check_ran(weights_copy: Path) -> None:
    """No ``<model>-gate`` card at all: the image-statistics gate alone applies, and the result says so."""
    ref, issue = gate.feature_reference_or_issue(_model("site-chest-model"))
    assert ref is None and issue is not None
    assert issue.code == "feature_check_unavailable" and issue.severity == "warn"
    assert "no feature reference card" in issue.message("en")
    assert "fit-features --model site-chest-model" in issue.message("en")
