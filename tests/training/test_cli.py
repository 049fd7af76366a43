"""The CLIs end to end on a tiny built ImageFolder: train, checkpoint, evaluate, plots, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.training.cli import main
from tests.training.helpers import make_image_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("imgs") / "blobs", per_class=10, size=40)


def test_chest_then_evaluate_end_to_end(folder: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    rc = main(["chest", "--data", str(folder), "--arch", "cnn5", "--size", "32", "--epochs", "3", "--batch-size", "8",
               "--lr", "3e-3", "--out", str(run), "--cache", str(tmp_path / "cache"), "--no-progress", "--n-boot", "50"])
    assert rc == 0
    assert (run / "best.pt").is_file() and (run / "train.log").is_file()
    assert (run / "test" / "report.json").is_file()
    out = tmp_path / "eval"
    rc = main(["evaluate", "--model", str(run / "best.pt"), "--data", str(folder), "--out", str(out),
               "--cache", str(tmp_path / "cache"), "--n-boot", "50"])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "multiclass" and report["images"] == 20
    assert set(report["per_class"]) == {"left", "right"}
    for key in ("accuracy", "macro_f1", "confusion"):
        assert key in report
    auc_entry = report["per_class"]["left"]
    assert auc_entry["ci95"][0] <= auc_entry["auc"] <= auc_entry["ci95"][1]
    for png in ("roc.png", "confusion.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (out / "predictions.csv").read_text().splitlines()
    assert len(lines) == 21 and lines[0].startswith("key,patient,source")


def test_probe_refuses_scratch_arch(folder: Path, tmp_path: Path) -> None:
    rc = main(["chest", "--data", str(folder), "--arch", "cnn5", "--method", "probe", "--out", str(tmp_path / "r"),
               "--cache", str(tmp_path / "cache")])
    assert rc == 2


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "chest" in text and "evaluate" in text and "compare" in text
