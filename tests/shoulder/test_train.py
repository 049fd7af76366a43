"""The learned path on a tiny built data set: metrics, MAE pre-training, fine-tuning, evaluation,
Grad-CAM overlays and the page-side predict. Tiny encoder, a few seconds on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.shoulder import metrics
from core.shoulder.net import LABELS, EncoderConfig, MaskedAutoencoder
from core.shoulder.phantom import PhantomSpec, render_phantom
from core.shoulder.train import load_classifier, load_encoder_checkpoint, main

TINY = ["--img-size", "32", "--patch-size", "8", "--embed-dim", "32", "--depth", "2", "--heads", "2",
        "--decoder-dim", "32", "--decoder-depth", "1", "--decoder-heads", "2"]
# cortex thickness (mm) of each class's shaft (outer diameter 20 mm): thick, medium, thin
THICKNESS = {"normal": 5.0, "osteopenia": 3.4, "osteoporosis": 1.8}


def test_auc_matches_a_direct_count_and_handles_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(bool)
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounded: many ties
    pairs = [(a > b) + 0.5 * (a == b) for a in s[y] for b in s[~y]]
    assert metrics.auc(y, s) == pytest.approx(np.mean(pairs))
    assert metrics.auc(np.ones(5, bool), np.arange(5)) != metrics.auc(np.ones(5, bool), np.arange(5))  # NaN
    lo, hi = metrics.bootstrap_auc_ci(y, s, n_boot=300)
    assert lo < metrics.auc(y, s) < hi


def test_wilson_interval_and_youden_threshold() -> None:
    lo, hi = metrics.wilson_ci(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert metrics.wilson_ci(0, 0) != metrics.wilson_ci(0, 0)  # NaN
    y = np.array([0, 0, 0, 1, 1, 1], bool)
    assert metrics.youden_threshold(y, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])) == pytest.approx(0.7)
    rep = metrics.binary_report("x", y, np.array([0.1, 0.2, 0.8, 0.7, 0.8, 0.9]), 0.5, n_boot=50)
    assert rep.sensitivity == 1.0 and rep.specificity == pytest.approx(2 / 3) and rep.n_pos == 3


@pytest.mark.slow
def test_masked_autoencoder_hides_three_quarters_and_learns() -> None:
    torch.manual_seed(0)
    cfg = EncoderConfig(img_size=32, patch_size=8, embed_dim=32, depth=1, num_heads=2, decoder_dim=32,
                        decoder_depth=1, decoder_heads=2)
    mae = MaskedAutoencoder(cfg)
    x = torch.randn(4, 1, 32, 32).cumsum(-1) / 8  # smooth-ish images
    assert mae.patchify(x).shape == (4, 16, 64)
    opt = torch.optim.AdamW(mae.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        loss, pred = mae(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else float(loss.detach())
    assert pred.shape == (4, 16, 64)
    assert float(loss.detach()) < 0.8 * first


def _write_shaft(path: Path, cortex_mm: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spec = PhantomSpec(shape=(64, 64), spacing_mm=0.5, outer_d_mm=20.0, inner_d_mm=20.0 - 2 * cortex_mm,
                       axis_deg=float(rng.uniform(-15, 15)), blur_px=float(rng.uniform(0.6, 1.2)),
                       centre_px=(float(rng.uniform(26, 38)), 31.5), photons=800.0, seed=seed)
    img = render_phantom(spec).image
    Image.fromarray((img * 255).astype(np.uint8)).save(path)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labelled folder (normal / osteopenia / osteoporosis), 14 images each, with patients.csv."""
    root = tmp_path_factory.mktemp("shoulders")
    rows = ["file,patient"]
    for k, name in enumerate(LABELS):
        (root / name).mkdir()
        for i in range(14):
            rel = f"{name}/img{i:02d}.png"
            _write_shaft(root / rel, THICKNESS[name] + float(np.random.default_rng(i).uniform(-0.3, 0.3)), 100 * k + i)
            rows.append(f"{rel},p{k}_{i // 2}")  # two images per patient
    (root / "patients.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.slow
def test_pretrain_finetune_evaluate_cli(labelled: Path, tmp_path: Path) -> None:
    enc = tmp_path / "enc.pt"
    fig = tmp_path / "loss.png"
    assert main(["pretrain", "--data", str(labelled), "--out", str(enc), "--steps", "6", "--batch-size", "8",
                 "--figure", str(fig), *TINY]) == 0
    cfg, state = load_encoder_checkpoint(enc)
    assert cfg.img_size == 32 and any(k.startswith("blocks.") for k in state)
    assert fig.stat().st_size > 1000
    ckpt = torch.load(enc, weights_only=True)
    assert ckpt["kind"] == "mae-encoder" and len(ckpt["history"]) == 6

    # encoder sanity check without shoulder labels: linear probe (and a short fine-tune) on a .npz
    rng = np.random.default_rng(0)
    imgs = np.stack([np.asarray(Image.open(p).resize((28, 28))) for p in sorted(labelled.rglob("*.png"))])
    labels = np.array([0 if "normal" in str(p) else 1 for p in sorted(labelled.rglob("*.png"))])
    order = rng.permutation(len(imgs))
    npz = tmp_path / "tiny.npz"
    np.savez(npz, train_images=imgs[order[:30]], train_labels=labels[order[:30], None],
             test_images=imgs[order[30:]], test_labels=labels[order[30:], None])
    from core.shoulder.train import linear_probe

    probe = linear_probe(enc, npz, max_train=30, n_boot=50, finetune_epochs=1, log=lambda *_: None)
    assert set(probe) >= {"pretrained", "random_init", "pretrained_finetuned", "random_init_finetuned"}
    assert 0.0 <= probe["pretrained"]["auc"] <= 1.0

    model_path = tmp_path / "clf.pt"
    report_dir = tmp_path / "report"
    assert main(["finetune", "--data", str(labelled), "--encoder", str(enc), "--out", str(model_path),
                 "--epochs", "12", "--batch-size", "12", "--lr", "2e-3", "--report-dir", str(report_dir),
                 "--gradcam", "3", "--bootstrap", "200"]) == 0
    report = json.loads((report_dir / "report.json").read_text())
    ep = report["endpoints"]["osteoporosis"]
    assert report["validation_images"] + report["train_images"] == 42
    assert set(ep) >= {"auc", "auc_ci", "sensitivity", "sensitivity_ci", "specificity", "specificity_ci", "threshold"}
    # cortical thickness is learnable from these images: the tiny model must beat chance clearly
    assert report["endpoints"]["low_bone_mass"]["auc"] >= 0.7 or ep["auc"] >= 0.7, report["endpoints"]
    cams = sorted((report_dir / "gradcam").glob("*.png"))
    assert len(cams) == 3
    overlay = np.asarray(Image.open(cams[0]))
    assert overlay.shape == (32, 32, 3) and overlay.std() > 5
    assert (report_dir / "roc.png").is_file()

    model, thresholds = load_classifier(model_path)
    assert set(thresholds) == {"osteoporosis", "low_bone_mass"}
    out_dir = tmp_path / "eval"
    assert main(["evaluate", "--data", str(labelled), "--model", str(model_path), "--report-dir", str(out_dir),
                 "--gradcam", "0", "--bootstrap", "100"]) == 0
    ev = json.loads((out_dir / "report.json").read_text())
    assert ev["n"] == 42 and sum(map(sum, ev["confusion_rows_true_cols_pred"])) == 42
    lo, hi = ev["endpoints"]["osteoporosis"]["auc_ci"]
    assert lo <= ev["endpoints"]["osteoporosis"]["auc"] <= hi

    from core.shoulder.model import predict

    gray = np.asarray(Image.open(next((labelled / "osteoporosis").glob("*.png"))), dtype=np.float32) / 255
    pred = predict(model, gray)
    assert set(pred["probs"]) == set(LABELS) and sum(pred["probs"].values()) == pytest.approx(1.0, abs=1e-5)
    assert pred["cam"].shape == (32, 32)


def test_patients_stay_on_one_side_of_the_split(labelled: Path) -> None:
    from core.shoulder.train import labelled_items, split_by_patient

    paths, labels, groups = labelled_items(labelled)
    tr, va = split_by_patient(labels, groups, 0.25, seed=0)
    assert not {groups[i] for i in tr} & {groups[i] for i in va}
    assert set(labels[va]) == {0, 1, 2}


def test_an_unlabelled_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["finetune", "--data", str(tmp_path), "--epochs", "1", *TINY])
