"""Labelled chest X-ray collections and patient-level splits.

Loaders (all return a :class:`LabelledSet`; nothing is read into memory but PneumoniaMNIST):

* :func:`load_nih` - ``cxr/nih14/labels.csv``: the 14 ChestX-ray14 findings, multi-label.
* :func:`load_covid` - ``cxr/covid/metadata.csv``: ``finding`` mapped to Normal / Pneumonia /
  COVID-19 (``todo``, ``Unknown`` and blank rows skipped), with ``view``, ``source`` and the
  per-image ``license`` kept; ``permissive_only=True`` keeps only the rows whose licence allows
  shipping trained weights (:data:`PERMISSIVE_LICENCES`).
* :func:`load_nih_screening` - NIH images mapped onto the screening labels
  (``No_Finding`` -> Normal, ``Pneumonia`` -> Pneumonia; other images skipped).
* :func:`load_pneumoniamnist` - ``pneumoniamnist.npz`` (28 x 28, normal / pneumonia); MedMNIST
  gives no patient ids, so every image counts as its own patient.
* :func:`load_image_folder` - ``root/<class>/*.png``: one sub-folder per class (multi-class);
  an optional ``patients.csv`` (``file,patient``) groups images of one patient.
* :func:`load_csv` - any CSV with an image column, a patient column and either 0/1 label columns
  (multi-label) or one ``label`` column of class names (multi-class).

:func:`patient_split` splits by patient (never by image) with a fixed seed, stratified so that
every split gets its share of each label's positives.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".dcm", ".dicom", ".tif", ".tiff", ".bmp"})

#: ChestX-ray14's 14 findings in the order the starter multi-label model outputs them.
NIH_LABELS: tuple[str, ...] = (
    "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
    "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
)
#: The screening task's classes.
SCREENING_LABELS: tuple[str, ...] = ("Normal", "Pneumonia", "COVID-19")
#: Licences under which images may be used to train weights the project commits (data README).
PERMISSIVE_LICENCES = frozenset({"CC BY", "CC BY 3.0", "CC BY 4.0", "Apache 2.0", "Apache-2.0"})

Kind = Literal["multilabel", "multiclass"]


@dataclass(frozen=True)
class Sample:
    """One labelled image.

    Attributes:
        key: unique id within its set (file name relative to the set's root, or ``name/index``).
        patient: patient id; splits never separate a patient's images.
        target: multi-hot (multi-label) or one-hot (multi-class) vector over the set's labels.
        path: image file, or ``None`` when the pixels are held in memory (``pixels``).
        pixels: uint8 ``(H, W)`` image for in-memory sets (PneumoniaMNIST).
        source, view, license, finding: provenance kept from the metadata ("" when unknown).
    """

    key: str
    patient: str
    target: tuple[float, ...]
    path: Path | None = None
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)
    source: str = ""
    view: str = ""
    license: str = ""
    finding: str = ""


@dataclass(frozen=True)
class LabelledSet:
    """A list of samples sharing one label space."""

    name: str
    labels: tuple[str, ...]
    kind: Kind
    samples: tuple[Sample, ...]

    def __len__(self) -> int:
        return len(self.samples)

    def targets(self) -> np.ndarray:
        """``(N, L)`` float32 targets."""
        return np.asarray([s.target for s in self.samples], dtype=np.float32).reshape(len(self.samples), len(self.labels))

    def subset(self, keep: Iterable[int] | Sequence[bool], name: str | None = None) -> LabelledSet:
        """The samples at the given indices (or where a boolean mask is True)."""
        keep = list(keep)
        if keep and isinstance(keep[0], bool | np.bool_):
            keep = [i for i, k in enumerate(keep) if k]
        return replace(self, name=name or self.name, samples=tuple(self.samples[i] for i in keep))

    def where(self, predicate, name: str | None = None) -> LabelledSet:  # noqa: ANN001
        """The samples for which ``predicate(sample)`` is true."""
        return replace(self, name=name or self.name, samples=tuple(s for s in self.samples if predicate(s)))

    def counts(self) -> dict[str, int]:
        """Positives per label."""
        t = self.targets()
        return {lab: int(t[:, i].sum()) for i, lab in enumerate(self.labels)}

    def patients(self) -> set[str]:
        return {s.patient for s in self.samples}


def concat(name: str, sets: Sequence[LabelledSet]) -> LabelledSet:
    """Join sets with identical labels and kind; keys are prefixed with each set's name.

    Raises:
        ValueError: label spaces or kinds differ.
    """
    if not sets:
        raise ValueError("nothing to concatenate")
    labels, kind = sets[0].labels, sets[0].kind
    for s in sets:
        if s.labels != labels or s.kind != kind:
            raise ValueError(f"cannot join {s.name} ({s.labels}, {s.kind}) with {labels}, {kind}")
    samples = tuple(replace(x, key=f"{s.name}:{x.key}", patient=f"{s.name}:{x.patient}") for s in sets for x in s.samples)
    return LabelledSet(name, labels, kind, samples)


def is_permissive(licence: str | None) -> bool:
    """True when an image under ``licence`` may train weights the project commits."""
    return (licence or "").strip() in PERMISSIVE_LICENCES


# --- shared data ---------------------------------------------------------------------------------
def _find(root: Path, *parts: str) -> Path:
    """``root/parts`` or, when ``root`` is already deeper, the matching tail."""
    root = Path(root)
    for k in range(len(parts)):
        candidate = root.joinpath(*parts[k:])
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{Path(*parts)} not found under {root}")


def load_nih(root: Path) -> LabelledSet:
    """ChestX-ray14 multi-label set from ``root`` (``../shared/data`` or its ``cxr/nih14``).

    Raises:
        FileNotFoundError: no ``labels.csv``.
    """
    csv_path = _find(root, "cxr", "nih14", "labels.csv")
    folder = csv_path.parent / "images"
    samples = []
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            target = tuple(float(int(row[lab])) for lab in NIH_LABELS)
            finding = "No Finding" if row.get("No_Finding") == "1" else "|".join(
                lab for lab, v in zip(NIH_LABELS, target, strict=True) if v
            )
            samples.append(Sample(
                key=row["image"], patient=f"nih:{row['patient']}", target=target, path=folder / row["image"],
                source="nih14", view="PA/AP", license="NIH ChestX-ray14 public release", finding=finding,
            ))
    return LabelledSet("nih14", NIH_LABELS, "multilabel", tuple(samples))


def screening_class(finding: str) -> str | None:
    """Map a covid-chestxray ``finding`` onto :data:`SCREENING_LABELS` (``None``: skip the row).

    ``COVID-19`` (also ``COVID-19, ARDS``) -> COVID-19; ``No finding`` -> Normal; any other named
    pneumonia or lung infection (bacterial, viral, fungal, SARS, ARDS, lipoid...) -> Pneumonia;
    ``todo`` (unlabelled), ``Unknown`` and blanks are skipped.
    """
    f = (finding or "").strip()
    low = f.lower()
    if not f or low in {"todo", "unknown", "nan"}:
        return None
    if "covid-19" in low:
        return "COVID-19"
    if low == "no finding":
        return "Normal"
    return "Pneumonia"


def _one_hot(label: str, labels: Sequence[str]) -> tuple[float, ...]:
    return tuple(1.0 if lab == label else 0.0 for lab in labels)


def load_covid(root: Path, *, permissive_only: bool = False, include_unlabelled: bool = False) -> LabelledSet:
    """The COVID-19 / pneumonia set as Normal / Pneumonia / COVID-19 (multi-class).

    Args:
        root: ``../shared/data`` or its ``cxr/covid``.
        permissive_only: keep only rows whose ``license`` allows shipping weights trained on them.
        include_unlabelled: keep ``todo`` rows with an all-zero target (self-supervised use only).

    Raises:
        FileNotFoundError: no ``metadata.csv``.
    """
    csv_path = _find(root, "cxr", "covid", "metadata.csv")
    folder = csv_path.parent / "images"
    samples = []
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            cls = screening_class(row.get("finding", ""))
            if cls is None and not include_unlabelled:
                continue
            if permissive_only and not is_permissive(row.get("license")):
                continue
            target = _one_hot(cls, SCREENING_LABELS) if cls else (0.0,) * len(SCREENING_LABELS)
            samples.append(Sample(
                key=row["image"], patient=f"{row.get('source', 'covid')}:{row['patient']}", target=target,
                path=folder / row["image"], source=row.get("source", ""), view=(row.get("view") or "").strip(),
                license=(row.get("license") or "").strip(), finding=row.get("finding", ""),
            ))
    return LabelledSet("covid", SCREENING_LABELS, "multiclass", tuple(samples))


def load_nih_screening(root: Path) -> LabelledSet:
    """NIH images as screening classes: ``No_Finding`` -> Normal, ``Pneumonia`` -> Pneumonia.

    Images with other findings only are skipped (they are neither normal nor pneumonia).
    """
    nih = load_nih(root)
    idx = NIH_LABELS.index("Pneumonia")
    samples = []
    for s in nih.samples:
        if s.target[idx]:
            cls = "Pneumonia"
        elif s.finding == "No Finding":
            cls = "Normal"
        else:
            continue
        samples.append(replace(s, target=_one_hot(cls, SCREENING_LABELS)))
    return LabelledSet("nih14-screening", SCREENING_LABELS, "multiclass", tuple(samples))


def load_pneumoniamnist(path: Path, splits: Sequence[str] = ("train", "val", "test"),
                        labels: Sequence[str] = ("Normal", "Pneumonia")) -> LabelledSet:
    """PneumoniaMNIST (0 normal, 1 pneumonia) as a multi-class set over ``labels``.

    ``labels`` may be a wider label space (e.g. :data:`SCREENING_LABELS`) that contains
    ``Normal`` and ``Pneumonia``. The official split is kept in ``Sample.view`` (``train``...).

    Raises:
        FileNotFoundError: no such file. ValueError: ``labels`` lacks Normal or Pneumonia.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "pneumoniamnist.npz"
    if not path.is_file():
        raise FileNotFoundError(path)
    if "Normal" not in labels or "Pneumonia" not in labels:
        raise ValueError("labels must contain 'Normal' and 'Pneumonia'")
    data = np.load(path)
    samples = []
    for split in splits:
        images, ys = data[f"{split}_images"], data[f"{split}_labels"].reshape(-1)
        for i, (img, y) in enumerate(zip(images, ys, strict=True)):
            cls = "Pneumonia" if int(y) == 1 else "Normal"
            samples.append(Sample(
                key=f"{split}/{i}", patient=f"pneumoniamnist:{split}/{i}", target=_one_hot(cls, labels),
                pixels=np.ascontiguousarray(img, dtype=np.uint8), source="pneumoniamnist", view=split,
                license="CC BY 4.0", finding=cls,
            ))
    return LabelledSet("pneumoniamnist", tuple(labels), "multiclass", tuple(samples))


# --- user data -----------------------------------------------------------------------------------
def _read_patients(root: Path) -> dict[str, str]:
    table = root / "patients.csv"
    if not table.is_file():
        return {}
    with table.open(newline="", encoding="utf-8") as fh:
        return {row["file"].strip(): row["patient"].strip() for row in csv.DictReader(fh)}


def load_image_folder(root: Path, labels: Sequence[str] | None = None) -> LabelledSet:
    """``root/<class>/<images>`` as a multi-class set (classes sorted by name unless ``labels``).

    Raises:
        FileNotFoundError: ``root`` is not a folder. ValueError: no class folder holds images.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(root)
    classes = [d.name for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    if labels is not None:
        classes = [c for c in labels if (root / c).is_dir()]
    classes = [c for c in classes if any(p.suffix.lower() in IMAGE_SUFFIXES for p in (root / c).rglob("*"))]
    if not classes:
        raise ValueError(f"{root} holds no class sub-folders with images")
    label_space = tuple(labels) if labels is not None else tuple(classes)
    patients = _read_patients(root)
    samples = []
    for cls in classes:
        for p in sorted((root / cls).rglob("*")):
            if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            rel = p.relative_to(root).as_posix()
            samples.append(Sample(key=rel, patient=patients.get(rel, rel), target=_one_hot(cls, label_space),
                                  path=p, source=root.name, finding=cls))
    return LabelledSet(root.name, label_space, "multiclass", tuple(samples))


def load_csv(csv_path: Path, *, image_col: str = "image", patient_col: str = "patient",
             label_cols: Sequence[str] | None = None, label_col: str = "label",
             root: Path | None = None) -> LabelledSet:
    """A CSV of images: multi-label with ``label_cols`` (0/1), else multi-class from ``label_col``.

    Image paths are relative to ``root`` (default: the CSV's folder, then its ``images/``).
    Without ``label_cols`` and without a ``label`` column, every column holding only 0/1 except
    the image and patient columns is taken as a label (multi-label). Optional ``source`` and
    ``view`` columns are kept.

    Raises:
        FileNotFoundError: missing CSV. ValueError: no usable label columns.
    """
    csv_path = Path(csv_path)
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{csv_path} has no rows")
    base = Path(root) if root else csv_path.parent
    if not (base / rows[0][image_col]).exists() and (base / "images" / rows[0][image_col]).exists():
        base = base / "images"
    columns = list(rows[0])
    multilabel = label_cols is not None or label_col not in columns
    if multilabel and label_cols is None:
        skip = {image_col, patient_col, "source", "view", "license", "sex", "age"}
        label_cols = [c for c in columns if c not in skip and all((r[c] or "").strip() in {"0", "1", "0.0", "1.0"} for r in rows)]
    if multilabel and not label_cols:
        raise ValueError(f"{csv_path}: no 0/1 label columns and no {label_col!r} column")
    labels = tuple(label_cols) if multilabel else tuple(sorted({r[label_col].strip() for r in rows if r[label_col].strip()}))
    samples = []
    for r in rows:
        if multilabel:
            target = tuple(float(float(r[c] or 0) > 0) for c in labels)
        else:
            if not r[label_col].strip():
                continue
            target = _one_hot(r[label_col].strip(), labels)
        samples.append(Sample(
            key=r[image_col], patient=(r.get(patient_col) or r[image_col]).strip(), target=target,
            path=base / r[image_col], source=(r.get("source") or csv_path.stem), view=(r.get("view") or ""),
            license=(r.get("license") or ""),
        ))
    return LabelledSet(csv_path.stem, labels, "multilabel" if multilabel else "multiclass", tuple(samples))


def load_any(spec: str | Path, shared_root: Path | None = None) -> LabelledSet:
    """Resolve a data argument of the CLIs.

    ``nih`` / ``covid`` / ``covid-permissive`` / ``nih-screening`` / ``pneumoniamnist`` name the
    shared sets (under ``shared_root``); a ``.csv`` file is read with :func:`load_csv`; a folder with
    ``labels.csv`` or ``metadata.csv`` as the matching shared set; any other folder with
    :func:`load_image_folder`.

    Raises:
        FileNotFoundError / ValueError: nothing usable there.
    """
    named = {
        "nih": lambda r: load_nih(r),
        "covid": lambda r: load_covid(r),
        "covid-permissive": lambda r: load_covid(r, permissive_only=True),
        "nih-screening": lambda r: load_nih_screening(r),
        "pneumoniamnist": lambda r: load_pneumoniamnist(_find(r, "pneumoniamnist.npz")),
    }
    text = str(spec)
    if text in named:
        if shared_root is None:
            raise FileNotFoundError(f"{text!r} needs the shared data folder (--shared)")
        return named[text](Path(shared_root))
    path = Path(spec)
    if path.suffix.lower() == ".csv":
        return load_csv(path)
    if path.suffix.lower() == ".npz":
        return load_pneumoniamnist(path)
    if (path / "labels.csv").is_file() and (path / "images").is_dir() and "nih" in path.name:
        return load_nih(path)
    if (path / "metadata.csv").is_file():
        return load_covid(path)
    if (path / "labels.csv").is_file():
        return load_csv(path / "labels.csv")
    return load_image_folder(path)


# --- splits --------------------------------------------------------------------------------------
def patient_split(
    data: LabelledSet,
    fractions: Sequence[float] = (0.6, 0.15, 0.25),
    names: Sequence[str] = ("train", "val", "test"),
    seed: int = 0,
) -> dict[str, LabelledSet]:
    """Split by patient with a fixed seed, stratified by label (iterative stratification).

    Patients are shuffled with ``seed``, then handled rarest label first: each goes to the split
    that most lacks that label's positives relative to its fraction (ties: the split furthest
    below its share of patients). Patients with no positive label fill the splits by size.
    The result is deterministic for a given set, fractions and seed; no patient is in two splits.

    Raises:
        ValueError: fractions and names differ in length or do not sum to 1.
    """
    if len(fractions) != len(names) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError("fractions must match names and sum to 1")
    by_patient: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(data.samples):
        by_patient[s.patient].append(i)
    targets = data.targets()
    patients = sorted(by_patient)
    random.Random(seed).shuffle(patients)
    pos = {p: targets[by_patient[p]].max(axis=0) for p in patients}
    label_totals = np.array([sum(pos[p][j] for p in patients) for j in range(len(data.labels))], dtype=float)
    frac = np.asarray(fractions, dtype=float)
    want_labels = np.outer(frac, label_totals)  # (S, L)
    have_labels = np.zeros_like(want_labels)
    want_patients = frac * len(patients)
    have_patients = np.zeros(len(names))

    def rarity(p: str) -> float:
        hits = [label_totals[j] for j in range(len(data.labels)) if pos[p][j] > 0]
        return min(hits) if hits else float("inf")

    order = sorted(patients, key=rarity)  # stable: keeps the seeded shuffle within equal rarity
    assignment: dict[str, int] = {}
    for p in order:
        hits = [j for j in range(len(data.labels)) if pos[p][j] > 0]
        if hits:
            j = min(hits, key=lambda k: label_totals[k])
            need = want_labels[:, j] - have_labels[:, j]
            score = [(need[s], want_patients[s] - have_patients[s]) for s in range(len(names))]
        else:
            score = [(want_patients[s] - have_patients[s], 0.0) for s in range(len(names))]
        best = max(range(len(names)), key=lambda s: score[s])
        assignment[p] = best
        have_labels[best] += pos[p]
        have_patients[best] += 1
    out = {}
    for s, name in enumerate(names):
        idx = sorted(i for p in patients if assignment[p] == s for i in by_patient[p])
        out[name] = data.subset(idx, name=f"{data.name}-{name}")
    return out


def split_summary(splits: dict[str, LabelledSet]) -> dict[str, dict[str, int]]:
    """Images, patients and positives per label for each split (for cards and docs)."""
    return {
        name: {"images": len(s), "patients": len(s.patients()), **s.counts()}
        for name, s in splits.items()
    }


def class_balance(data: LabelledSet) -> Counter:
    """Count of samples per class (multi-class) or per label (multi-label)."""
    return Counter(data.counts())
