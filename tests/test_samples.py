"""Demo mode: sample cases come from the samples folder, never from the repository."""

from __future__ import annotations

from pathlib import Path

from core.samples import MANIFEST, list_samples
from core.settings import get_settings


def test_no_samples_folder_means_no_samples(tmp_path: Path) -> None:
    settings = get_settings({"DRDC_SAMPLES_DIR": str(tmp_path / "absent")})
    assert list_samples("chest", settings) == []


def test_samples_follow_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "dicom").mkdir()
    (tmp_path / "dicom" / "a.dcm").write_bytes(b"x")
    (tmp_path / "dicom" / "notes.txt").write_bytes(b"x")
    (tmp_path / "scalp").mkdir()
    (tmp_path / "scalp" / "me.jpg").write_bytes(b"y")
    settings = get_settings({"DRDC_SAMPLES_DIR": str(tmp_path)})
    chest = list_samples("chest", settings)
    assert [s.name for s in chest] == ["dicom/a.dcm"]
    assert chest[0].read_bytes() == b"x"
    assert [s.name for s in list_samples("scalp", settings)] == ["scalp/me.jpg"]
    assert list_samples("unknown-page", settings) == []


def test_real_samples_folder_gives_chest_cases(shared_data: Path) -> None:
    samples = list_samples("chest", get_settings({"DRDC_SAMPLES_DIR": str(shared_data)}))
    names = {s.name for s in samples}
    assert "dicom/fake_monochrome1.dcm" in names and "cxr/samples/00000001_000.png" in names
    expect = {s.name: s.expect for s in samples}
    assert expect["dicom/fake_monochrome1.dcm"] == "inverted" and expect["dicom/siim_pneumothorax_sample.dcm"] == ""
    assert len(names) == len(samples)  # a file matched by two patterns is listed once
    assert len([n for n in names if n.startswith("cxr/nih14/")]) == 6
    assert MANIFEST.is_file()
