"""Training/evaluation CLI end to end on a tiny dataset in the AI Hub layout, and its reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.scalp.dataset import DatasetError, parse_labels, read_aihub, split_of, train_val
from core.scalp.severity import CONDITIONS
from core.scalp.train import confusion_matrix, macro_f1, main, metrics_from
from tests.scalp.aihub import write_tiny_aihub


@pytest.fixture(scope="module")
def aihub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_aihub(tmp_path_factory.mktemp("aihub"), n_train=12, n_val=6)


def test_reader_finds_every_labelled_image_and_its_split(aihub: Path) -> None:
    report = read_aihub(aihub)
    assert len(report.samples) == 18 and report.json_files == 18
    assert sum(s.split == "train" for s in report.samples) == 12
    assert all(s.image.is_file() and len(s.labels) == 6 for s in report.samples)
    counts = report.counts()
    assert set(counts) == {"train", "val"} and sum(counts["val"]["dandruff"]) == 6
    train, val = train_val(report.samples)
    assert len(train) == 12 and len(val) == 6


def test_reader_skips_bad_labels_missing_images_and_duplicates(aihub: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(aihub, root)
    label = next(root.glob("Training/[[]라벨[]]*/*.json"))
    data = json.loads(label.read_text(encoding="utf-8"))
    other = root / "Training" / "[라벨]비듬_9.기타"
    other.mkdir()
    (other / label.name).write_text(json.dumps(data), encoding="utf-8")  # same image under another folder
    (other / "bad.json").write_text(json.dumps({**data, "image_id": "x", "value_3": "7"}), encoding="utf-8")
    (other / "lost.json").write_text(json.dumps({**data, "image_id": "y", "image_file_name": "nowhere.jpg"}),
                                     encoding="utf-8")
    (other / "junk.json").write_text("{not json", encoding="utf-8")
    report = read_aihub(root)
    assert len(report.samples) == 18
    assert report.duplicates == 1 and report.skipped_no_image == 1 and report.skipped_bad_label == 2


def test_labels_and_splits() -> None:
    assert parse_labels({f"value_{i}": str(i % 4) for i in range(1, 7)}) == (1, 2, 3, 0, 1, 2)
    assert parse_labels({"value_1": "0"}) is None
    root = Path("/d")
    assert split_of(Path("/d/1.Training/라벨/x.json"), root) == "train"
    assert split_of(Path("/d/2.Validation/x.json"), root) == "val"
    assert split_of(Path("/d/x.json"), root) == "train"


def test_random_split_keeps_subjects_together(aihub: Path) -> None:
    samples = [s for s in read_aihub(aihub).samples if s.split == "train"]
    train, val = train_val(samples, val_fraction=0.3, seed=1)
    assert train and val and len(train) + len(val) == len(samples)
    prefixes = {s.image_id.split("_")[0] for s in val}
    assert not prefixes & {s.image_id.split("_")[0] for s in train}


def test_metrics_match_sklearn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, size=(50, 6))
    pred = np.where(rng.random((50, 6)) < 0.6, true, rng.integers(0, 3, size=(50, 6)))
    metrics = metrics_from(true, pred)
    for i, m in enumerate(metrics):
        assert m.condition == CONDITIONS[i]
        assert m.accuracy == pytest.approx(float(np.mean(true[:, i] == pred[:, i])))
        assert m.macro_f1 == pytest.approx(f1_score(true[:, i], pred[:, i], average="macro"))
        assert np.array(m.confusion).sum() == 50
    cm = confusion_matrix(np.array([0, 0, 3]), np.array([0, 1, 3]))
    assert cm.tolist() == [[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    assert macro_f1(cm) == pytest.approx(f1_score([0, 0, 3], [0, 1, 3], average="macro"))


@pytest.mark.slow
def test_fit_install_evaluate_and_the_app_uses_it(aihub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from core.models import registry
    from core.scalp import Questionnaire, analyse
    from core.scalp.model import CARD_NAME, load_installed
    from core.scalp.synthetic import make_phantom

    monkeypatch.setenv("DRDC_WEIGHTS_DIR", str(tmp_path / "weights"))
    assert registry.status(CARD_NAME).state == "missing"
    assert load_installed() is None
    ckpt = tmp_path / "scalp.pt"
    rc = main(["fit", "--data", str(aihub), "--epochs", "1", "--batch-size", "6", "--image-size", "64",
               "--no-pretrained", "--out", str(ckpt), "--install"])
    out = capsys.readouterr().out
    assert rc == 0 and ckpt.is_file()
    assert "macro-F1" in out and "87-95" in out and "75-82" in out
    assert registry.status(CARD_NAME).state == "installed"

    report, cams = tmp_path / "report.json", tmp_path / "cams"
    rc = main(["evaluate", "--data", str(aihub), "--weights", str(ckpt), "--split", "val",
               "--report", str(report), "--cam-dir", str(cams), "--cams", "2"])
    assert rc == 0
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["n"] == 6 and set(data["conditions"]) == set(CONDITIONS)
    for m in data["conditions"].values():
        assert 0.0 <= m["accuracy"] <= 1.0 and 0.0 <= m["macro_f1"] <= 1.0
        assert np.array(m["confusion"]).shape == (4, 4) and np.array(m["confusion"]).sum() == 6
    assert len(list(cams.glob("*.png"))) == 2

    model = load_installed()
    assert model is not None and model.image_size == 64
    answers = Questionnaire.from_form({"age_group": "20s", "gender": "male", "shampoo_frequency": "daily",
                                       "perm_cycle": "never", "dye_cycle": "never", "hair_state": ["normal"]})
    result = analyse(make_phantom(seed=2, hairs=15).rgb, answers, model=model, with_cams=True)
    assert result.source == "model" and result.model_name == CARD_NAME
    assert all(g.probabilities is not None and g.evidence for g in result.grades)
    assert result.cams is not None and set(result.cams) == set(CONDITIONS)


def test_cli_reports_an_unusable_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "--data", str(tmp_path), "--epochs", "1"]) == 2
    assert "no labelled images" in capsys.readouterr().err
    with pytest.raises(DatasetError):
        read_aihub(tmp_path / "absent")
