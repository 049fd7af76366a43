"""The multitask recipe end to end at smoke size: a candidate run (validation only), a continued run
from it keeping every epoch, and shipping one head from one epoch (real NIH and Kermany films)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.training.cli import main


@pytest.mark.slow
def test_candidate_continue_and_ship_one_head(shared_data: Path, tmp_path: Path) -> None:
    first, second, weights = tmp_path / "first", tmp_path / "second", tmp_path / "weights"
    common = ["--shared", str(shared_data), "--cache", str(tmp_path / "cache"), "--threads", "2"]
    assert main(["multitask", *common, "--preset", "smoke", "--candidate", "--out", str(first)]) == 0
    summary = json.loads((first / "summary.json").read_text(encoding="utf-8"))
    assert summary["held_out"] == "not scored (candidate run)"  # a candidate never reads the test patients
    assert not (first / "held_out_probs.npz").exists() and (first / "val_probs.npz").is_file()

    assert main(["multitask", *common, "--preset", "smoke", "--candidate", "--every-epoch",
                 "--init", str(first / "model.pt"), "--out", str(second)]) == 0
    assert (second / "model_e1.pt").is_file()
    assert json.loads((second / "summary.json").read_text(encoding="utf-8"))["init"] == str(first / "model.pt")

    assert main(["ship-multitask", *common, "--run", str(second), "--weights-dir", str(weights),
                 "--checkpoint", "model_e1.pt", "--heads", "screening", "--version", "9.1", "--n-boot", "20"]) == 0
    assert sorted(p.name for p in weights.glob("*.safetensors")) == ["starter-screening-efficientnet-lite0.safetensors"]
    card = json.loads((weights / "cards" / "starter-screening-efficientnet-lite0.json").read_text(encoding="utf-8"))
    assert card["version"].startswith("9.1 ")
    assert "--init RUN_V2/model.pt" in card["train_command"] and "--heads screening" in card["train_command"]
    assert "--checkpoint model_e1.pt" in card["train_command"]
    assert card["metrics"]["training"]["epoch"] == 1


def test_the_screening_epoch_is_the_best_on_validation() -> None:
    from core.training.multitask_ship import best_screening_epoch

    history = [{"epoch": 1, "screen_score": 0.91}, {"epoch": 2, "screen_score": 0.95}, {"epoch": 3, "screen_score": 0.93},
               {"epoch": 4, "screen_score": float("nan")}]
    assert best_screening_epoch({"history": history}) == "model_e2.pt"
    with pytest.raises(ValueError):
        best_screening_epoch({"history": [{"epoch": 1, "score": 0.8}]})
