"""The two starter tasks on ``../shared/data``, with their exact, seeded patient-level splits.

* ``nih14`` (card task ``chest-multilabel``): ChestX-ray14's 14 findings; 414 images of 414
  patients split 60 / 15 / 25 % (train / val / test) by :func:`~core.training.data.patient_split`.
* ``screening`` (card task ``chest-screening``): Normal / Pneumonia / COVID-19.
  Training may only use permissively licensed images (data README), which leaves COVID-19 images
  from one source (ieee8023, CC BY rows) and Normal / Pneumonia images mostly from NIH:

  - train / val: NIH-screening images of the NIH train / val split + the permissive covid rows
    split 80 / 20 by patient;
  - test (held out): NIH-screening images of the NIH test split + every covid row that is *not*
    permissive and whose patient has no permissive image (Actualmed, Figure 1 and the
    non-commercial ieee8023 rows). Evaluation may use everything.

  Within-source figures (the only ones free of the source shortcut): Actualmed COVID-19 vs
  Normal (the final check), and ieee8023 COVID-19 vs Normal / vs Pneumonia among the held-out
  rows (used as the development set to choose the regularisation, see docs/starter_models.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.training.data import (
    SCREENING_LABELS,
    LabelledSet,
    is_permissive,
    load_covid,
    load_nih,
    load_nih_screening,
    patient_split,
)

NIH_FRACTIONS = (0.6, 0.15, 0.25)
IEEE = "ieee8023-covid-chestxray"


@dataclass(frozen=True)
class Task:
    name: str
    card_task: str
    train: LabelledSet
    val: LabelledSet
    test: LabelledSet
    seed: int
    description: str

    @property
    def labels(self) -> tuple[str, ...]:
        return self.train.labels

    @property
    def kind(self) -> str:
        return self.train.kind

    @property
    def trval(self) -> LabelledSet:
        """Train and val together (cross-validation and the final probe head are fitted on it)."""
        return LabelledSet(f"{self.name}-trval", self.labels, self.kind, self.train.samples + self.val.samples)


def nih_task(root: Path, seed: int = 0) -> Task:
    """The 14-finding task. Raises ``FileNotFoundError`` without the shared data."""
    splits = patient_split(load_nih(root), NIH_FRACTIONS, seed=seed)
    return Task("nih14", "chest-multilabel", splits["train"], splits["val"], splits["test"], seed,
                f"NIH ChestX-ray14 (414 images, 414 patients), patient split {NIH_FRACTIONS} seed {seed}")


def screening_task(root: Path, seed: int = 0) -> Task:
    """The Normal / Pneumonia / COVID-19 task (see module doc). Raises ``FileNotFoundError``."""
    nih_split = patient_split(load_nih(root), NIH_FRACTIONS, seed=seed)
    where = {s.key: name for name, part in nih_split.items() for s in part.samples}
    nih_s = load_nih_screening(root)
    by = {name: nih_s.where(lambda s, n=name: where[s.key] == n, name=f"nih14-{name}") for name in nih_split}
    covid = load_covid(root)
    permissive = covid.where(lambda s: is_permissive(s.license), name="covid-permissive")
    perm_split = patient_split(permissive, (0.8, 0.2), ("train", "val"), seed=seed)
    perm_patients = permissive.patients()
    held = covid.where(lambda s: not is_permissive(s.license) and s.patient not in perm_patients, name="covid-heldout")

    def join(name: str, parts: list[LabelledSet]) -> LabelledSet:
        return LabelledSet(name, SCREENING_LABELS, "multiclass", tuple(s for p in parts for s in p.samples))

    train = join("screening-train", [by["train"], perm_split["train"]])
    val = join("screening-val", [by["val"], perm_split["val"]])
    test = join("screening-test", [by["test"], held])
    return Task("screening", "chest-screening", train, val, test, seed,
                "train/val: NIH normals+pneumonia (NIH split) + CC BY covid rows (80/20 by patient); "
                "test: NIH test split + all non-permissive covid rows of other patients")


def get_task(name: str, root: Path, seed: int = 0) -> Task:
    """``nih14`` or ``screening``. Raises ``KeyError`` for other names."""
    makers = {"nih14": nih_task, "nih": nih_task, "screening": screening_task}
    if name not in makers:
        raise KeyError(f"unknown task {name!r}; choose nih14 or screening")
    return makers[name](root, seed)
