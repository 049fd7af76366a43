"""Loaders and patient-level splits on tiny built data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.training.data import (
    NIH_LABELS,
    SCREENING_LABELS,
    LabelledSet,
    Sample,
    is_permissive,
    load_any,
    load_covid,
    load_csv,
    load_image_folder,
    load_nih,
    load_nih_screening,
    load_pneumoniamnist,
    patient_split,
    screening_class,
)
from tests.training.helpers import make_image_folder, make_shared_like


@pytest.fixture(scope="module")
def shared_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shared_like(tmp_path_factory.mktemp("shared"))


def test_nih_loader_reads_14_findings_and_patients(shared_like: Path) -> None:
    nih = load_nih(shared_like)
    assert nih.labels == NIH_LABELS and nih.kind == "multilabel" and len(nih) == 12
    t = nih.targets()
    assert t.shape == (12, 14)
    first = nih.samples[0]
    assert first.path is not None and first.path.is_file()
    assert first.patient == "nih:00000000"
    assert all((s.finding == "No Finding") == (sum(s.target) == 0) for s in nih.samples)


@pytest.mark.parametrize(("finding", "expected"), [
    ("COVID-19", "COVID-19"), ("COVID-19, ARDS", "COVID-19"), ("No Finding", "Normal"), ("No finding", "Normal"),
    ("Streptococcus", "Pneumonia"), ("SARS", "Pneumonia"), ("todo", None), ("Unknown", None), ("", None),
])
def test_screening_mapping(finding: str, expected: str | None) -> None:
    assert screening_class(finding) == expected


def test_covid_loader_skips_unlabelled_keeps_views_and_filters_licences(shared_like: Path) -> None:
    cov = load_covid(shared_like)
    keys = {s.key for s in cov.samples}
    assert "d.jpg" not in keys and "i.jpg" not in keys  # todo / Unknown skipped
    assert len(cov) == 7 and cov.labels == SCREENING_LABELS
    by = {s.key: s for s in cov.samples}
    assert by["g.jpg"].view == "AP Supine" and by["g.jpg"].target == (0.0, 0.0, 1.0)
    assert by["e.jpg"].target == (1.0, 0.0, 0.0) and by["e.jpg"].source == "actualmed"
    perm = load_covid(shared_like, permissive_only=True)
    assert {s.key for s in perm.samples} == {"a.jpg", "b.jpg", "g.jpg"}
    assert len(load_covid(shared_like, include_unlabelled=True)) == 9


def test_permissive_licences() -> None:
    for ok in ("CC BY", "CC BY 3.0", "CC BY 4.0", "Apache 2.0", " CC BY 4.0 "):
        assert is_permissive(ok)
    for bad in ("CC BY-NC-SA", "CC BY-NC-ND 4.0", "CC BY-SA", "", None,
                "research use (COVID-Net data initiative; no licence stated)", "listed as authorized for everyone"):
        assert not is_permissive(bad)


def test_nih_screening_maps_no_finding_and_pneumonia_only(shared_like: Path) -> None:
    s = load_nih_screening(shared_like)
    nih = {x.key: x for x in load_nih(shared_like).samples}
    for x in s.samples:
        src = nih[x.key]
        if x.target == (0.0, 1.0, 0.0):
            assert src.target[NIH_LABELS.index("Pneumonia")] == 1
        else:
            assert x.target == (1.0, 0.0, 0.0) and src.finding == "No Finding"


def test_pneumoniamnist_loader(shared_like: Path) -> None:
    p = load_pneumoniamnist(shared_like / "pneumoniamnist.npz", labels=SCREENING_LABELS)
    assert len(p) == 18 and p.samples[0].pixels.shape == (28, 28)
    assert p.targets()[:, 2].sum() == 0  # no COVID-19 in PneumoniaMNIST
    assert len(load_pneumoniamnist(shared_like, splits=("test",))) == 4


def test_image_folder_and_csv(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "f", per_class=4)
    data = load_image_folder(root)
    assert data.labels == ("left", "right") and len(data) == 8
    assert len(data.patients()) == 4  # patients.csv groups two images each
    csv_path = tmp_path / "f" / "list.csv"
    csv_path.write_text("image,patient,label\nleft/img00.png,a,left\nright/img00.png,b,right\n", encoding="utf-8")
    mc = load_csv(csv_path)
    assert mc.kind == "multiclass" and mc.labels == ("left", "right")
    ml_path = tmp_path / "f" / "ml.csv"
    ml_path.write_text("image,patient,Effusion,Mass\nleft/img00.png,a,1,0\nright/img00.png,b,0,1\n", encoding="utf-8")
    ml = load_csv(ml_path)
    assert ml.kind == "multilabel" and ml.labels == ("Effusion", "Mass")
    assert load_any(root).kind == "multiclass"


def _many_image_set(n_patients: int = 60, seed: int = 0) -> LabelledSet:
    rng = np.random.default_rng(seed)
    samples = []
    for p in range(n_patients):
        target = tuple(float(v) for v in (rng.random(3) < [0.5, 0.2, 0.05]))
        for k in range(int(rng.integers(1, 4))):  # 1-3 images per patient
            samples.append(Sample(key=f"p{p}_{k}", patient=f"p{p}", target=target))
    return LabelledSet("synthetic", ("a", "b", "c"), "multilabel", tuple(samples))


def test_patient_split_has_no_leakage_and_is_deterministic() -> None:
    data = _many_image_set()
    sp = patient_split(data, seed=3)
    pats = [s.patients() for s in sp.values()]
    assert not (pats[0] & pats[1]) and not (pats[0] & pats[2]) and not (pats[1] & pats[2])
    assert sum(len(s) for s in sp.values()) == len(data)
    again = patient_split(data, seed=3)
    assert all([x.key for x in sp[k].samples] == [x.key for x in again[k].samples] for k in sp)
    other = patient_split(data, seed=4)
    assert [x.key for x in other["test"].samples] != [x.key for x in sp["test"].samples]


def test_patient_split_stratifies_rare_labels() -> None:
    data = _many_image_set(120, seed=1)
    sp = patient_split(data, (0.6, 0.2, 0.2), seed=0)
    total = {lab: len({s.patient for s in data.samples if s.target[j]}) for j, lab in enumerate(data.labels)}
    for j, lab in enumerate(data.labels):
        if total[lab] >= 5:
            for name in ("train", "val", "test"):
                assert any(s.target[j] for s in sp[name].samples), (lab, name)


def test_split_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError):
        patient_split(_many_image_set(10), (0.5, 0.2))
