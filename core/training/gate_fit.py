"""Fit the chest input gate's reference statistics: patient splits, fits, gate cards and the CLI.

The runtime checks are in :mod:`core.chest.gate`; this module is never imported by the page or the
analysis (it reads the training splits of :mod:`core.training.tasks`).

Reference statistics for the image-level score are committed (``weights/chest-gate-image-stats.npz``,
card ``chest-gate-image-stats``), fitted by ``python -m core.training.gate_fit fit-image`` on NIH
ChestX-ray14 images and CC BY ieee8023 images of patients with an even SHA-256 of their id; the
other patients are held out for measurement.

Feature statistics (``python -m core.training.gate_fit fit-features --model NAME``, alias ``fit``) are
fitted on the training-split patients of :mod:`core.training.tasks` only (:func:`feature_split`); their
threshold is chosen on other real films (validation patients + half of the other cxr/covid patients),
and the test patients are left for the figures. A model without a ``<model>-gate`` card gets one
(pinned locally); a bundled card's file is written under ``weights/`` and the card's checksum updated.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.chest.gate import THUMB, PcaReference, descriptor, feature_card_name
from core.training.tasks import nih_task, screening_task

if TYPE_CHECKING:
    from core.chest.model import ChestModel

PERMISSIVE = {"CC BY", "CC BY 3.0", "CC BY 4.0", "Apache 2.0"}


LATERAL_VIEW_CODES = {"L", "LL", "RL", "LATERAL"}


def parity(text: str) -> int:
    """SHA-256 parity of ``text`` (0 or 1): how patients are split into fit and held-out halves."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 2


def covid_frontal_rows(meta_csv: Path) -> Iterator[dict[str, str]]:
    """The rows of ``cxr/covid/metadata.csv`` that are not lateral views.

    Raises:
        FileNotFoundError: no ``meta_csv``.
    """
    with meta_csv.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("view", "").strip().upper() not in LATERAL_VIEW_CODES:
                yield row


def read_gray(path: Path) -> np.ndarray:
    """A film decoded as the page does (``core.imaging.load_image``), grey.

    Raises:
        OSError: the file cannot be read; core.imaging.ImageError: it cannot be decoded.
    """
    from core.chest.preprocess import gray_of
    from core.imaging import load_image

    return gray_of(load_image(path.read_bytes(), path.name).pixels)


@dataclass(frozen=True)
class FrontalSplit:
    """Real frontal radiographs of ``../shared/data`` split by patient (SHA-256 parity of the id)."""

    fit: tuple[Path, ...]
    held_out: tuple[Path, ...]


def frontal_split(data_dir: Path) -> FrontalSplit:
    """Fit set: NIH14 + permissively licensed ieee8023 images of even-parity patients; held-out: the
    rest of NIH14, cxr/covid (all licences, evaluation only) and cxr/samples.

    Raises:
        FileNotFoundError: the data folder lacks the label files.
    """
    fit: list[Path] = []
    held: list[Path] = []
    with (data_dir / "cxr" / "nih14" / "labels.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            path = data_dir / "cxr" / "nih14" / "images" / row["image"]
            (fit if parity(row["patient"]) == 0 else held).append(path)
    for row in covid_frontal_rows(data_dir / "cxr" / "covid" / "metadata.csv"):
        path = data_dir / "cxr" / "covid" / "images" / row["image"]
        ok = row.get("license", "").strip() in PERMISSIVE and parity(row["patient"]) == 0
        (fit if ok else held).append(path)
    held.extend(sorted(p for p in (data_dir / "cxr" / "samples").glob("*") if p.is_file()))
    return FrontalSplit(tuple(fit), tuple(held))


def fit_image_reference(paths: Iterable[Path], k: int = 8) -> PcaReference:
    """Fit the model-free reference on the given radiographs."""
    X = np.stack([descriptor(read_gray(p)) for p in paths])
    meta = {
        "kind": "image-thumbnail-pca", "thumb": THUMB, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": "NIH ChestX-ray14 + ieee8023 CC BY rows, patients with even sha256(id) parity",
    }
    return PcaReference.fit(X, k=k, meta=meta)


def has_pooled_features(model: ChestModel) -> bool:
    """True when ``model``'s predictions carry pooled features (not only logits) for the feature check."""
    from core.chest.model import PooledLinearChestModel

    return isinstance(model, PooledLinearChestModel) or getattr(model, "features_fn", None) is not None


def model_features(model: ChestModel, paths: Sequence[Path], batch: int = 16) -> np.ndarray:
    """``(n, K)`` pooled features of ``model`` on the images at ``paths`` (decoded as the page does)."""
    from core.imaging import load_image

    feats = []
    for start in range(0, len(paths), batch):
        images = [load_image(p.read_bytes(), p.name) for p in paths[start:start + batch]]
        feats.extend(pred.features for pred in model.predict_batch(images))
    return np.stack(feats)


def fit_feature_reference(model: ChestModel, paths: Sequence[Path], tune_paths: Sequence[Path] = (), k: int = 32,
                          batch: int = 16, meta: dict[str, Any] | None = None) -> PcaReference:
    """Fit the pooled-feature reference of ``model`` on the radiographs at ``paths``; with ``tune_paths``
    (real films not in ``paths``) the threshold is chosen on them (:meth:`PcaReference.tuned`), else
    on the fit set itself.

    Raises:
        ValueError: fewer than ``k + 2`` fit images.
    """
    info = {
        "kind": "pooled-features-pca", "model": model.name, "model_version": model.version,
        "model_sha256": model.sha256, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "features_sha256": getattr(getattr(model, "identity", None), "features_sha256", ""),
    }
    info.update(meta or {})
    ref = PcaReference.fit(model_features(model, paths, batch), k=k, meta=info)
    if tune_paths:
        ref = ref.tuned(model_features(model, tune_paths, batch))
    return ref


@dataclass(frozen=True)
class FeatureSplit:
    """Real frontal radiographs of ``../shared/data`` for a model's pooled-feature statistics, split by
    patient exactly as the starter models were trained (:mod:`core.training.tasks`, same seed).

    ``fit``: training-split patients only (NIH ChestX-ray14 ``train`` + the CC BY ieee8023 rows of the
    screening task's ``train``), all permissively licensed. ``tune`` (chooses the threshold; never
    fitted): NIH ``val`` + CC BY ieee8023 ``val`` + the cxr/covid patients with no permissive image
    (other licences and hospitals: ieee8023, Figure 1, Actualmed) whose SHA-256 of ``source:patient``
    is even. ``test`` (figures only): NIH ``test`` + the odd-parity cxr/covid patients + cxr/samples.
    """

    fit: tuple[Path, ...]
    tune: tuple[Path, ...]
    test: tuple[Path, ...]
    description: str = ""


def feature_split(data_dir: Path, seed: int = 0) -> FeatureSplit:
    """The :class:`FeatureSplit` of ``data_dir`` (cxr/covid and cxr/samples are optional).

    Raises:
        FileNotFoundError: no ``cxr/nih14/labels.csv``.
    """
    data_dir = Path(data_dir)
    nih = nih_task(data_dir, seed)
    fit = [s.path for s in nih.train.samples]
    tune = [s.path for s in nih.val.samples]
    test = [s.path for s in nih.test.samples]
    n_cov = {"fit": 0, "tune": 0, "test": 0}
    meta_csv = data_dir / "cxr" / "covid" / "metadata.csv"
    if meta_csv.is_file():
        screening = screening_task(data_dir, seed)
        perm_train = [s for s in screening.train.samples if s.source != "nih14"]
        perm_val = [s for s in screening.val.samples if s.source != "nih14"]
        fit += [s.path for s in perm_train]
        tune += [s.path for s in perm_val]
        n_cov["fit"], n_cov["tune"] = len(perm_train), len(perm_val)
        seen = {s.patient for s in perm_train + perm_val}
        for row in covid_frontal_rows(meta_csv):
            patient = f"{row.get('source', 'covid')}:{row['patient']}"
            if patient in seen:
                continue
            part = "tune" if parity(patient) == 0 else "test"
            (tune if part == "tune" else test).append(meta_csv.parent / "images" / row["image"])
            n_cov[part] += 1
    samples = data_dir / "cxr" / "samples"
    if samples.is_dir():
        test.extend(sorted(p for p in samples.glob("*") if p.is_file()))
    text = (f"core.training.tasks seed {seed}: fit = NIH train ({len(nih.train)}) + CC BY ieee8023 train ({n_cov['fit']}); "
            f"tune = NIH val ({len(nih.val)}) + CC BY ieee8023 val + other cxr/covid patients with even sha256 parity "
            f"({n_cov['tune']} covid in all); test = NIH test ({len(nih.test)}) + odd-parity cxr/covid patients ({n_cov['test']}) + cxr/samples")
    return FeatureSplit(tuple(fit), tuple(tune), tuple(test), text)


def _thin(paths: Sequence[Path], limit: int) -> tuple[Path, ...]:
    """At most ``limit`` paths spread over ``paths`` (all when ``limit`` is 0)."""
    if not limit:
        return tuple(paths)
    return tuple(paths[:: max(1, len(paths) // limit)][:limit])


# --- gate cards ---------------------------------------------------------------------------------
def gate_card_template(model_card: Any) -> dict[str, Any]:
    """A (not bundled, locally pinned) ``<model>-gate`` card for ``model_card``'s feature statistics."""
    return {
        "name": feature_card_name(model_card.name),
        "task": "reference-stats",
        "title": f"Chest X-ray input gate: pooled-feature statistics of {model_card.title}",
        "version": "features-pca-v1",
        "architecture": "pca",
        "loader": "npz",
        "file": f"{model_card.name}.gate-features.npz",
        "sha256": None,
        "size_bytes": None,
        "urls": [],
        "licence": "Apache-2.0 (statistics computed locally from real frontal radiographs)",
        "labels": [],
        "input": {
            "descriptor": f"globally pooled features of {model_card.name}'s forward pass",
            "score": "max(T^2/k, Q/median Q) (core.chest.gate.PcaReference)",
            "model": f"{model_card.name} (the statistics store the model file's SHA-256 and are ignored for any other file)",
        },
        "metrics": {},
        "intended_use": "Out-of-distribution check on the model's own features, for the chest X-ray input gate. "
                        "Computed on the site from the installed weights; never downloaded.",
        "limitations": ["Valid only for the exact weights file it was fitted with."],
        "references": ["core/chest/gate.py", "core/training/gate_fit.py", "docs/chest.md"],
        "bundled": False,
        "train_command": f"python -m core.training.gate_fit fit-features --model {model_card.name}",
        "translations": {"ko": {
            "title": f"흉부 X선 입력 검사: {model_card.title}의 특징 통계",
            "intended_use": "흉부 X선 입력 검사에서 모델 자체 특징으로 분포 밖 영상을 판별합니다. 설치된 가중치로 기관에서 직접 계산하며 내려받지 않습니다.",
            "limitations": ["계산에 쓴 바로 그 가중치 파일에만 유효합니다."],
        }},
    }


def ensure_gate_card(model_name: str, cards_dir: Path | None = None) -> Any:
    """The ``<model>-gate`` card, written from :func:`gate_card_template` when the model has none.

    Raises:
        KeyError: no card for ``model_name`` itself.
    """
    from core.models import registry
    from core.models.card import ModelCard

    folder = Path(cards_dir or registry.CARDS_DIR)
    try:
        return registry.get_card(feature_card_name(model_name), cards_dir=folder)
    except KeyError:
        pass
    data = gate_card_template(registry.get_card(model_name, cards_dir=folder))
    card = ModelCard.from_dict(data)
    path = folder / f"{card.name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote a new card {path} (statistics pinned locally on first fit)")
    return card


def update_bundled_card(card: Any, sha: str, size: int) -> Path:
    """Write ``sha``/``size`` into the committed card of a bundled reference file (after a refit)."""
    from core.models import registry

    for path in sorted(registry.CARDS_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("name") == card.name:
            data["sha256"], data["size_bytes"] = sha, size
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            return path
    raise KeyError(card.name)


# --- CLI -----------------------------------------------------------------------------------------
def _cmd_fit_image(args: argparse.Namespace) -> int:
    split = frontal_split(Path(args.data))
    ref = fit_image_reference(split.fit, k=args.k)
    out = Path(args.out)
    ref.save(out)
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"fitted on {len(split.fit)} images; threshold {ref.threshold:.3f}; wrote {out} (sha256 {sha}, {out.stat().st_size} bytes)")
    return 0


def _cmd_fit_features(args: argparse.Namespace) -> int:
    """Fit, then store: ``--out`` (only written), a bundled card's file under ``weights/`` (its card's
    checksum updated), else the weights folder with the checksum pinned locally."""
    from core.chest.loader import load_model
    from core.models import registry

    registry.get_card(args.model)  # before any heavy work: KeyError for an unknown model
    path = registry.require(args.model)  # MissingModelError when it is not installed
    model = load_model(args.model, path)
    if not has_pooled_features(model):
        print(f"{args.model} has no pooled-feature head: its predictions carry no features to fit", file=sys.stderr)
        return 2
    split = feature_split(Path(args.data), seed=args.seed)
    fit, tune = _thin(split.fit, args.limit), _thin(split.tune, args.limit)
    meta = {"split": split.description, "fit_images": len(fit), "tune_images": len(tune)}
    ref = fit_feature_reference(model, fit, tune, k=args.k, meta=meta)
    card = None if args.out else ensure_gate_card(args.model)  # a new card only for a registered result
    if card is None:
        out = Path(args.out)
    elif card.bundled:
        out = registry.BUNDLED_DIR / card.file
    else:
        out = registry.install_dir() / card.file
    ref.save(out)
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    if card is None:
        where = "not registered (--out)"
    elif card.bundled:
        where = f"updated the checksum in {update_bundled_card(card, sha, out.stat().st_size)}"
    else:
        registry.pin(card, sha)
        where = "pinned its sha256 locally"
    print(f"fitted on {len(fit)} images, threshold chosen on {len(tune)} others, with {model.name} ({model.sha256[:12]}): "
          f"k {ref.meta['k']}, threshold {ref.threshold:.3f}; wrote {out} ({out.stat().st_size} bytes, sha256 {sha}); {where}")
    return 0


def cli_parser(module: str, doc: str) -> tuple[argparse.ArgumentParser, Any, Path]:
    """The argument parser of ``python -m <module>`` (described by the first line of ``doc``), its
    subcommand group, and the default ``--data`` folder (``DRDC_SAMPLES_DIR``, else ``../shared/data``)."""
    from core.settings import PROJECT_ROOT, get_settings

    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    default_data = get_settings().samples_dir or (PROJECT_ROOT.parent / "shared" / "data")
    return parser, parser.add_subparsers(dest="cmd", required=True), Path(default_data)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.training.gate_fit fit-image|fit-features`` (see module docstring)."""
    from core.settings import PROJECT_ROOT

    parser, sub, default_data = cli_parser("core.training.gate_fit", __doc__ or "")
    img = sub.add_parser("fit-image", help="fit the committed model-free reference statistics")
    img.add_argument("--data", default=str(default_data))
    img.add_argument("--k", type=int, default=8)
    img.add_argument("--out", default=str(PROJECT_ROOT / "weights" / "chest-gate-image-stats.npz"))
    img.set_defaults(func=_cmd_fit_image)
    feat = sub.add_parser("fit-features", aliases=["fit"], help="fit pooled-feature statistics for an installed model")
    feat.add_argument("--model", default="xrv-densenet121-res224-all")
    feat.add_argument("--data", default=str(default_data))
    feat.add_argument("--k", type=int, default=32)
    feat.add_argument("--seed", type=int, default=0, help="seed of the patient split (core.training.tasks)")
    feat.add_argument("--limit", type=int, default=0, help="use only this many fit (and tuning) images (quick runs)")
    feat.add_argument("--out", default="", help="write here only (no pin, no card update)")
    feat.set_defaults(func=_cmd_fit_features)
    args = parser.parse_args(argv)
    from core.errors import UserError

    try:
        return int(args.func(args))
    except KeyError as err:
        print(f"unknown model: {err}", file=sys.stderr)
    except (UserError, FileNotFoundError) as err:
        print(str(err), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
