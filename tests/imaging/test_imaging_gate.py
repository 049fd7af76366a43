"""The input-gate types and measures shared by the chest and shoulder gates (core/imaging/gate.py)."""

from __future__ import annotations

import numpy as np

from core.chest import gate as chest_gate
from core.i18n import t
from core.imaging.gate import GateIssue, GateResult, colourfulness, quality
from core.shoulder import gate as shoulder_gate


def test_each_page_names_its_own_translation_keys() -> None:
    assert chest_gate.GateIssue("colour", "refuse").key == "chest.gate.colour"
    assert shoulder_gate.GateIssue("colour", "refuse").key == "shoulder.gate.colour"
    issue = shoulder_gate.GateIssue("too_small", "refuse", overridable=False, params=(("pixels", "90"),))
    assert issue.message("en") == t("shoulder.gate.too_small", "en", pixels="90") and "90" in issue.message("en")
    assert chest_gate.GateIssue("blurry", "warn") != shoulder_gate.GateIssue("blurry", "warn")


def test_decided_refuses_only_refusals_not_overridden() -> None:
    refuse = GateIssue("a", "refuse")
    hard = GateIssue("b", "refuse", overridable=False)
    warn = GateIssue("c", "warn")
    assert GateResult().decided(False) == "accept"
    assert GateResult((warn,)).decided(False) == "warn"
    result = GateResult((refuse, warn), (("x", 1.0),))
    assert result.decided(False) == "refuse" and result.decided(True) == "warn"
    assert result.refusals == (refuse,) and result.warnings == (warn,) and result.can_override
    assert result.score("x") == 1.0 and result.score("y") is None
    assert not GateResult((refuse, hard)).can_override and not GateResult((warn,)).can_override


def test_the_pages_decide_an_override_as_before() -> None:
    """Chest: the override is recorded on the result (``override()`` refuses hard failures); shoulder:
    the page passes it, and it counts only when every refusal may be overridden."""
    soft = chest_gate.GateResult((chest_gate.GateIssue("not_chest", "refuse"),))
    assert soft.decision == "refuse" and soft.override().decision == "warn" and soft.override().overridden_refusals
    hard = chest_gate.GateResult((chest_gate.GateIssue("colour", "refuse", overridable=False),))
    try:
        hard.override()
    except ValueError:
        pass
    else:
        raise AssertionError("a hard refusal was overridden")
    shoulder_hard = shoulder_gate.GateResult((shoulder_gate.GateIssue("too_small", "refuse", overridable=False),))
    assert shoulder_hard.decision(overridden=True) == "refuse"
    shoulder_soft = shoulder_gate.GateResult((shoulder_gate.GateIssue("colour", "refuse"),))
    assert shoulder_soft.decision() == "refuse" and shoulder_soft.decision(overridden=True) == "warn"


def test_colourfulness_and_quality() -> None:
    rng = np.random.default_rng(0)
    grey = rng.random((300, 300)).astype(np.float32)
    assert colourfulness(grey) == 0.0 and colourfulness(np.repeat(grey[..., None], 3, axis=2)) < 1e-6
    red = np.zeros((64, 64, 3), np.float32)
    red[:32, :, 0] = 1.0
    assert colourfulness(red) > 0.04
    flat_contrast, _ = quality(np.full((300, 300), 0.5, np.float32))
    assert flat_contrast < 0.01
    contrast, sharp = quality(grey)
    assert contrast > 0.5 and sharp > 0.5  # noise: wide range, sharp everywhere
